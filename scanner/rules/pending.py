"""Unfinished servicing: a reboot that never happened, and CBS packages left in a non-final state.

Reference §7 #6: queued PendingFileRenameOperations naming patched files, UpdateExeVolatile, CBS
RebootPending — with no boot after the install — mean the fix is half applied: new files wait in temporary
names while the old ones run, and some fixes replace only part of a component until the restart (qchain).
Reference §3.5 / TN-CBS-states: packages Staged (0x40), Install/Uninstall Pending (0x50/0x60), Partially
Installed (0x65) or negative states are not what Windows Update reports as installed.
"""

from __future__ import annotations

from scanner.model import Evidence, Finding, FindingFile, Provenance
from scanner.rules.context import RuleContext, entry_evidence, finding_file, make_finding, names

#: Package states that are not a finished install or removal (scanner.collectors.registry names them).
UNFINISHED = {"staged", "staging", "install-pending", "uninstall-pending", "partially-installed"}
SERIOUS = UNFINISHED - {"staged"}


def _patched_paths(ctx: RuleContext) -> dict[str, str]:
    """Lower-case volume paths of every component file and every file an update recorded -> display path."""
    paths = {f.path.lower(): f.path for f in ctx.inventory.files}
    return paths


def _volume_path(nt_path: str) -> str:
    """``\\??\\C:\\Windows\\x.dll`` / ``C:\\Windows\\x.dll`` -> ``windows\\x.dll`` (lower case)."""
    text = nt_path.lstrip("!").replace("/", "\\")
    for prefix in ("\\??\\", "\\\\?\\"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if len(text) > 2 and text[1] == ":":
        text = text[3:]
    return text.lower()


def reboot_pending(ctx: RuleContext) -> list[Finding]:
    text = ctx.rule("reboot-pending")
    patched = _patched_paths(ctx)
    renames = [
        (p, patched.get(_volume_path(p.destination)) or patched.get(_volume_path(p.source)))
        for p in ctx.inventory.pending_renames
    ]
    named = [(p, path) for p, path in renames if path]
    markers = [
        (n, v, prov)
        for n, v, prov in ctx.inventory.facts
        if n in {"cbs_reboot_pending", "update_exe_volatile"} and v not in {"", "0"}
    ]
    if not named and not markers:
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
    marker_ids = [
        u.id for u in ctx.inventory.updates if any(u.id.lower() in v.lower() for _, v, _ in markers)
    ]
    updates = tuple(dict.fromkeys([*marker_ids, *pending_ids] or [last.subject]))
    # date it from the pending update's own install (a later, merely staged package changed nothing)
    own = [e for e in installs if e.subject in updates]
    last = max(own, key=lambda e: e.at) if own else last  # type: ignore[arg-type, return-value]
    files: list[FindingFile] = []
    for _, path in named:
        state = ctx.file(path)
        if state is not None:
            files.append(finding_file(state, "replacement queued for the next boot"))
    evidence: list[Evidence] = [
        Evidence(
            f"PendingFileRenameOperations: {p.source} -> {p.destination or '(delete)'}",
            p.sources[0] if p.sources else Provenance("SYSTEM hive"),
        )
        for p, _ in named
    ]
    evidence += [Evidence(f"{name} = {value}", prov) for name, value, prov in markers]
    evidence.append(
        entry_evidence(
            last, f"last install: {last.subject} at {last.at:%Y-%m-%d %H:%M}Z; no boot recorded after it"
        )
    )
    summary = (
        f"{', '.join(updates)} {'is' if len(updates) == 1 else 'are'} waiting for a restart that never "
        f"happened: "
        + (
            f"{len(named)} replacement(s) of patched files are queued ({names(files)})"
            if named
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
            confidence="high" if named and markers else "medium",
            at=last.at,
        )
    ]


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
        state = dict(update.details).get("cbs_current_state", "")
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
