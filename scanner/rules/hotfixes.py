"""Hotfix checks: a fix installed below the SP it was built for (Q281402 cause 1), and the offline qfecheck.

Q281402: "the patch may have been installed before all components were at the required service pack
level". What a fix requires is read three ways (reference §3.4, §2.3): the ``Updates\\<product>\\SPn``
folder it registered under (n = installed SP + 1), the Hotfix key's ``Service Pack`` value (same meaning),
and the revisions of the files it recorded (a file at or above the SPn baseline was built for SPn). The SP
level at its install time comes from SP installs and 6009 boot records in the timeline.

qfecheck (KB282784) compares each file a fix recorded in ``Filelist`` with the file on disk; an older file on
disk means something replaced the fix's copy — KB888535 warns the recorded data goes stale, so only a *lower*
version is a finding, and what replaced it is named when the file's creation time matches an install.
"""

from __future__ import annotations

from datetime import timedelta

from scanner.knowledge.versions import FileVersion, service_pack_of
from scanner.model import Evidence, FileState, Finding, FindingFile, RecordedFile, UpdateRecord
from scanner.rules.context import (
    INSTALL_KINDS,
    RuleContext,
    entry_evidence,
    file_evidence,
    finding_file,
    make_finding,
    names,
)

NEAR = timedelta(minutes=15)


def required_level(ctx: RuleContext, update: UpdateRecord) -> tuple[int, list[Evidence]] | None:
    """The SP level a fix was built for, with the evidence for it; None when nothing says."""
    os = ctx.os
    if os is None:
        return None
    claims: list[tuple[int, Evidence]] = []
    key = update.sources[0] if update.sources else None
    folder_level = os.required_level_for_folder(update.sp_folder)
    if folder_level is not None:
        updates_key = next((s for s in update.sources if "\\Updates\\" in s.locator), key)
        if updates_key is not None:
            claims.append(
                (
                    folder_level,
                    Evidence(
                        f"registered under Updates\\...\\SP{update.sp_folder}: "
                        f"built for {ctx.sp_name(folder_level)}",
                        updates_key,
                    ),
                )
            )
    hotfix_sp = dict(update.details).get("hotfix_service_pack")
    if hotfix_sp and hotfix_sp.isdigit():
        level = os.required_level_for_folder(int(hotfix_sp))
        hotfix_key = next((s for s in update.sources if "\\Hotfix\\" in s.locator), key)
        if level is not None and hotfix_key is not None:
            claims.append((level, Evidence(f"Hotfix key 'Service Pack' = {hotfix_sp}", hotfix_key)))
    for recorded in update.files:
        version = FileVersion.parse(recorded.version)
        level = service_pack_of(version, None, os) if version else None
        if version and level is not None and key is not None:
            claims.append(
                (
                    level,
                    Evidence(
                        f"Filelist: {recorded.name} {recorded.version} is at or above the "
                        f"{ctx.sp_name(level)} baseline",
                        key,
                    ),
                )
            )
    if not claims:
        return None
    level = max(level for level, _ in claims)
    return level, [e for lvl, e in claims if lvl == level] + [e for lvl, e in claims if lvl != level]


def hotfix_before_service_pack(ctx: RuleContext) -> list[Finding]:
    text = ctx.knowledge.rule("hotfix-before-service-pack")
    findings = []
    for update in ctx.inventory.updates:
        if update.kind not in {"hotfix", "update"} or update.state != "installed":
            continue
        required = required_level(ctx, update)
        installed_at = ctx.installed_at(update)
        if required is None or installed_at is None:
            continue
        level_at = ctx.sp_level_at(installed_at)
        if level_at is None or level_at.level >= required[0]:
            continue
        need = ctx.sp_name(required[0])
        now = ctx.service_pack
        entry = ctx.install_entry(update.id)
        evidence = [*required[1]]
        if entry is not None:
            evidence.append(entry_evidence(entry, f"{update.id} installed {installed_at:%Y-%m-%d %H:%M}Z"))
        evidence.append(level_at.evidence)
        still_below = now is not None and now < required[0]  # None: today's level is not attested
        if still_below:
            evidence.append(ctx.system_evidence())
        files = tuple(_recorded_file(ctx, update, r) for r in update.files)
        was = ("at " if level_at.exact else "at most at ") + ctx.sp_name(level_at.level)
        summary = (
            f"{update.id} was built for {need} but installed on {installed_at:%Y-%m-%d %H:%M}Z while the "
            f"system was {was}"
            + (
                f"; it is still at {ctx.sp_name(now)} today"
                if still_below
                else f"; {need} was applied only afterwards"
                if now is not None
                else "; the level it is at today is not attested"
            )
            + "."
        )
        values = {
            "product": ctx.product,
            "service_pack": need,
            "updates": update.id,
            "trigger": update.id,
            "required_by": update.id,
            "files": names(files),
            "trigger_uninstall": dict(update.details).get("uninstall_uninstallstring", ""),
        }
        agree = len({e.says.split(":")[0] for e in required[1]}) > 1
        findings.append(
            make_finding(
                text,
                values,
                summary=summary,
                files=files,
                updates=(update.id,),
                evidence=tuple(evidence),
                confidence="high" if level_at.exact and agree else "medium",
                at=installed_at,
            )
        )
    return findings


def _recorded_file(ctx: RuleContext, update: UpdateRecord, recorded: RecordedFile) -> FindingFile:
    state = _disk_file(ctx, recorded)
    if state is None:
        return FindingFile(path=recorded.name, version=None, expected=recorded.version)
    return finding_file(state, f"{recorded.version} (recorded by {update.id})")


def _disk_file(ctx: RuleContext, recorded: RecordedFile) -> FileState | None:
    folder = (recorded.location or "").replace("/", "\\")
    for prefix in ("%SystemRoot%", "%windir%"):
        if folder.lower().startswith(prefix.lower()):
            folder = folder[len(prefix) :]
    hint = f"{folder.rstrip(chr(92))}\\{recorded.name}".lower()
    return next((f for f in ctx.inventory.files if f.path.lower().endswith(hint)), None)


def _replaced_by(ctx: RuleContext, state: FileState) -> tuple[str, Evidence] | None:
    """The install whose time matches the file's NTFS creation time: what put this copy there."""
    created = state.created_at
    if created is None:
        return None
    kinds = {*INSTALL_KINDS, "software-install"}
    for entry in ctx.entries:
        if entry.kind not in kinds or entry.at is None:
            continue
        named = any(s.provenance.artifact.lower() == state.path.lower() for s in entry.sources)
        if named or abs((entry.at - created).total_seconds()) <= NEAR.total_seconds():
            return entry.subject, entry_evidence(
                entry, f"{entry.subject} ({entry.kind}) at {entry.at:%Y-%m-%d %H:%M}Z"
            )
    return None


def hotfix_files_regressed(ctx: RuleContext) -> list[Finding]:
    text = ctx.knowledge.rule("hotfix-files-regressed")
    findings = []
    for update in ctx.inventory.updates:
        if update.state != "installed":
            continue
        regressed: list[tuple[RecordedFile, FileState]] = []
        for recorded in update.files:
            state = _disk_file(ctx, recorded)
            want = FileVersion.parse(recorded.version)
            have = FileVersion.parse(state.version) if state else None
            if state is not None and want is not None and have is not None and have < want:
                regressed.append((recorded, state))
        if not regressed:
            continue
        files = tuple(finding_file(s, f"{r.version} (recorded by {update.id})") for r, s in regressed)
        evidence: list[Evidence] = []
        culprits = []
        key = update.sources[0] if update.sources else None
        for recorded, state in regressed:
            if key is not None:
                evidence.append(Evidence(f"{update.id} recorded {recorded.name} {recorded.version}", key))
            evidence.append(file_evidence(state))
            culprit = _replaced_by(ctx, state)
            if culprit is not None:
                culprits.append(culprit[0])
                evidence.append(culprit[1])
        by = ", ".join(dict.fromkeys(culprits))
        summary = (
            f"{update.id} is recorded as installed but {len(regressed)} of its file(s) on disk are "
            f"older than "
            f"the version it recorded: "
            + "; ".join(f"{s.path.rsplit(chr(92), 1)[-1]} {s.version} < {r.version}" for r, s in regressed)
            + (f". They were put back by {by}." if by else ". The evidence does not show what replaced them.")
        )
        values = {
            "product": ctx.product,
            "updates": update.id,
            "files": names(files),
            "source": by,
            "service_pack": ctx.sp_name(ctx.service_pack),
        }
        findings.append(
            make_finding(
                text,
                values,
                summary=summary,
                files=files,
                updates=(update.id,),
                evidence=tuple(evidence),
                confidence="high" if by else "medium",
                attribution=by or "unknown",
            )
        )
    return findings
