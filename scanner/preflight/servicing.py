"""The servicing state a preflight reads first: is the update already in place, and is earlier servicing
unfinished (reference §7 #6: a restart never done, packages staged or install-pending)?

Both come from typed facts only: the update records' normalised ids and states (collectors/registry*.py, CBS
CurrentState names) and the scan's ``reboot-pending`` finding.
"""

from __future__ import annotations

from scanner.knowledge.profiles import Knowledge
from scanner.model.update_ids import normalise_update_id
from scanner.preflight.facts import PreflightFacts
from scanner.preflight.model import PreflightFile, PreflightReason
from scanner.rules.pending import UNFINISHED

#: Record states that mean the update is in place (collectors/registry.py; CBS "superseded" = a newer
#: version of the package is installed, "permanent" = installed and not removable).
INSTALLED = frozenset({"installed", "superseded", "permanent"})
#: Findings that say the last servicing is unfinished, whatever the next update is.
PENDING_RULES = ("reboot-pending",)


def installed(facts: PreflightFacts, update_id: str, knowledge: Knowledge) -> list[PreflightReason]:
    """The update's own records: installed (or superseded by an installed update), else left unfinished.

    Each registry source (Hotfix, Updates, Uninstall, CBS) is its own record, so every installed record of the
    update — or of the updates whose profile ``supersedes`` it — is one piece of evidence for one reason."""
    superseding = {u.id for u in knowledge.updates if update_id in u.supersedes}
    found = [(rid, r) for r in facts.updates
             if (rid := normalise_update_id(r.id)) in superseding | {update_id} and r.state in INSTALLED]
    if found:
        ids = tuple(dict.fromkeys(rid for rid, _ in found if rid is not None))
        summary = (f"{update_id} is already installed" if update_id in ids
                   else f"{', '.join(ids)}, installed, supersedes {update_id}")
        return [PreflightReason("already-installed", "info", summary, updates=ids,
                                evidence=tuple(s for _, r in found for s in r.sources))]
    return [
        PreflightReason("package-pending", "risk",
                        f"{update_id} itself is {record.state}: finish or remove that install first",
                        updates=(update_id,), evidence=record.sources)
        for record in facts.updates
        if normalise_update_id(record.id) == update_id and _unfinished(record.state)
    ]


def _unfinished(state: str) -> bool:
    return state in UNFINISHED or state.startswith("broken")


def server_pending(facts: PreflightFacts, update_id: str) -> list[PreflightReason]:
    """Unfinished servicing on the server (any update): a pending restart, other packages not final."""
    out = []
    for finding in facts.findings:
        if finding.rule in PENDING_RULES:
            out.append(PreflightReason(
                "reboot-pending", "risk",
                f"a restart is pending for {', '.join(finding.updates) or 'earlier servicing'}: installing "
                "more on top of half-replaced files mixes old and new binaries (reference §7 #6)",
                rule=finding.rule, updates=finding.updates,
                files=tuple(PreflightFile(f.path, f.version, None, f.component, lab_tag=f.lab_tag)
                            for f in finding.files),
                evidence=tuple(e.source for e in finding.evidence),
            ))
    others = [r for r in facts.updates if _unfinished(r.state) and normalise_update_id(r.id) != update_id]
    if others:
        listed = ", ".join(f"{r.id} ({r.state})" for r in others)
        out.append(PreflightReason(
            "package-pending", "risk", f"servicing packages not in a final state: {listed}",
            updates=tuple(r.id for r in others),
            evidence=tuple(s for r in others for s in r.sources[:1]),
        ))
    return out
