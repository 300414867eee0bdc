"""Branch mix (info): GDR and QFE/LDR builds of one component side by side.

Reference §2.3/§2.4/§7 #5: interdependent files should share a branch; a component whose files sit on
different branches (``srv03_sp2_gdr`` next to ``srv03_sp2_qfe``, or NT6 revisions in both the 16xxx-19xxx and
the 20xxx-23xxx ranges) was patched by packages that chose differently, or had ``$hf_mig$`` deleted. It is
rarely the cause of a failure on its own, hence info.
"""

from __future__ import annotations

from collections import defaultdict

from scanner.knowledge.versions import branch_of
from scanner.model import FileState, Finding
from scanner.rules.context import RuleContext, file_evidence, finding_file, make_finding, names, version_of

#: Branches that mix badly with each other; "baseline" (the SP's own build) mixes with either.
SERVICING = {"gdr", "qfe", "ldr"}


def branch_mix(ctx: RuleContext) -> list[Finding]:
    if ctx.os is None:
        return []
    text = ctx.rule("branch-mix")
    titles = {c.id: c.title for c in ctx.knowledge.components}
    by_component: dict[str, dict[str, list[FileState]]] = defaultdict(lambda: defaultdict(list))
    for state in ctx.inventory.files:
        version = version_of(state)
        if not state.component or version is None:
            continue
        branch = branch_of(version, state.lab_tag, ctx.os)
        if branch in SERVICING:
            by_component[state.component][branch].append(state)
    findings = []
    for component, branches in sorted(by_component.items()):
        if len(branches) < 2:
            continue
        states = [s for group in branches.values() for s in group]
        files = tuple(finding_file(s) for s in states)
        listed = "; ".join(
            f"{b.upper()}: {names(finding_file(s) for s in group)}" for b, group in sorted(branches.items())
        )
        values = {
            "product": ctx.product,
            "component": titles.get(component, component),
            "files": names(files),
        }
        findings.append(
            make_finding(
                text,
                values,
                summary=f"{titles.get(component, component)} mixes servicing branches: {listed}.",
                files=files,
                evidence=tuple(file_evidence(s) for s in states),
                confidence="medium",
            )
        )
    return findings
