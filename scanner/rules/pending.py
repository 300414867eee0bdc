"""Unfinished servicing: a reboot that never happened, and CBS packages left in a non-final state.

Reference §7 #6: queued PendingFileRenameOperations naming patched files, UpdateExeVolatile, CBS
RebootPending — with no boot after the install — mean the fix is half applied: new files wait in temporary
names while the old ones run, and some fixes replace only part of a component until the restart (qchain).
Each queued replacement is mapped back to its update and its staged version (``staged.py``).
Reference §3.5 / TN-CBS-states: packages Staged (0x40), Install/Uninstall Pending (0x50/0x60), Partially
Installed (0x65) or negative states are not what Windows Update reports as installed.
"""

from __future__ import annotations

from dataclasses import replace

from scanner.model import Evidence, Finding, FindingFile, Provenance
from scanner.rules.context import RuleContext, entry_evidence, finding_file, make_finding, names
from scanner.rules.staged import Staged, staged_replacements

#: Package states that are not a finished install or removal (scanner.collectors.registry names them).
UNFINISHED = {"staged", "staging", "install-pending", "uninstall-pending", "partially-installed"}
SERIOUS = UNFINISHED - {"staged"}


def reboot_pending(ctx: RuleContext) -> list[Finding]:
    text = ctx.rule("reboot-pending")
    staged = staged_replacements(ctx)
    markers = [
        (n, v, prov)
        for n, v, prov in ctx.inventory.facts
        if n in {"cbs_reboot_pending", "update_exe_volatile"} and v not in {"", "0"}
    ]
    if not staged and not markers:
        return []
    installs = [
        e
        for e in ctx.entries
        if e.kind in {"hotfix", "update", "package-state-change", "service-pack"} and e.at is not None
    ]
    last = max(installs, key=lambda e: e.at) if installs else None  # type: ignore[arg-type, return-value]
    if last is None or last.at is None or ctx.boots_after(last.at):
        return []  # a boot after the newest install processed (or will not honour) these markers
    pending_ids = [u.id for u in ctx.inventory.updates if u.state in {"install-pending", "uninstall-pending"}]
    # a marker value names the package (CBS RebootPending value names are package identities)
    marker_ids = [
        u.id for u in ctx.inventory.updates if any(u.id.lower() in v.lower() for _, v, _ in markers)
    ]
    mapped = [s.update_id for s in staged if s.update_id]
    updates = tuple(dict.fromkeys([*mapped, *marker_ids, *pending_ids] or [last.subject]))
    # date it from the pending update's own install (a later, merely staged package changed nothing)
    own = [e for e in installs if e.subject in updates]
    last = max(own, key=lambda e: e.at) if own else last  # type: ignore[arg-type, return-value]
    files = [_staged_file(s) for s in staged if s.target is not None]
    evidence: list[Evidence] = []
    for s in staged:
        rename = s.rename
        source = rename.sources[0] if rename.sources else Provenance("SYSTEM hive")
        says = f"PendingFileRenameOperations: {rename.source} -> {rename.destination}"
        evidence.append(Evidence(says, source))
        evidence += s.evidence
    evidence += [Evidence(f"{name} = {value}", prov) for name, value, prov in markers]
    evidence.append(
        entry_evidence(
            last, f"last install: {last.subject} at {last.at:%Y-%m-%d %H:%M}Z; no boot recorded after it"
        )
    )
    queued = "; ".join(_queued(s) for s in staged if s.target is not None)
    summary = (
        f"{', '.join(updates)} {'is' if len(updates) == 1 else 'are'} waiting for a restart that never "
        f"happened: "
        + (
            f"{len(files)} replacement(s) of patched files are queued ({queued})"
            if files
            else "the servicing stack's reboot marker is set"
        )
        + f", and no boot is recorded after {last.subject} ({last.at:%Y-%m-%d %H:%M}Z). The running "
        "files are not the ones the update installs."
    )
    values = {
        "product": ctx.product,
        "updates": ", ".join(updates),
        "files": names(files),
        "trigger": updates[0],
    }
    return [
        make_finding(
            text,
            values,
            summary=summary,
            files=tuple(files),
            updates=updates,
            evidence=tuple(evidence),
            confidence="high" if staged and markers or any(s.how for s in staged) else "medium",
            at=last.at,
        )
    ]


def _staged_file(s: Staged) -> FindingFile:
    """The target as it is on disk, with the update whose copy waits and the staged version."""
    assert s.target is not None
    if s.update_id and s.staged_version:
        expected = f"{s.staged_version} staged by {s.update_id}, queued for the next boot"
    elif s.update_id:
        expected = f"replacement from {s.update_id} queued for the next boot"
    else:
        expected = "replacement queued for the next boot"
    return replace(
        finding_file(s.target, expected), recorded_by=s.update_id, recorded_version=s.staged_version
    )


def _queued(s: Staged) -> str:
    assert s.target is not None
    name = s.target.path.rsplit("\\", 1)[-1]
    staged = f", {s.staged_version} staged" if s.staged_version else ""
    by = f" by {s.update_id}" if s.update_id else ""
    return f"{name} {s.target.version or 'unversioned'} on disk{staged}{by}"


def package_state_broken(ctx: RuleContext) -> list[Finding]:
    text = ctx.rule("package-state-broken")
    bad = [
        u
        for u in ctx.inventory.updates
        if u.kind == "package" and (u.state in UNFINISHED or u.state.startswith("broken"))
    ]
    if not bad:
        return []
    serious = [u for u in bad if u.state in SERIOUS or u.state.startswith("broken")]
    evidence = []
    for update in bad:
        state = f"0x{update.cbs_state:x}" if update.cbs_state is not None else ""
        source = update.sources[0] if update.sources else Provenance("SOFTWARE hive")
        evidence.append(
            Evidence(f"{update.id}: CurrentState {state} = {update.state}", source, update.installed_at)
        )
    listed = "; ".join(f"{u.id} {u.state}" for u in bad)
    values = {"product": ctx.product, "updates": ", ".join(u.id for u in bad)}
    return [
        make_finding(
            text,
            values,
            severity=text.severity if serious else "info",
            summary=f"{len(bad)} servicing package(s) are not in a final state: {listed}."
            + (" Staged packages alone are downloaded but not installed." if not serious else ""),
            updates=tuple(u.id for u in bad),
            evidence=tuple(evidence),
            confidence="high",
        )
    ]
