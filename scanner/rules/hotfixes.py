"""Hotfix checks: a fix installed below the SP it was built for (Q281402 cause 1), and the offline qfecheck.

Q281402: "the patch may have been installed before all components were at the required service pack
level". What a fix requires is read three ways (reference §3.4, §2.3): the ``Updates\\<product>\\SPn``
folder it registered under (n = installed SP + 1), the Hotfix key's ``Service Pack`` value (same meaning),
and the revisions of the files it recorded (a file at or above the SPn baseline was built for SPn). The SP
level at its install time comes from SP installs and 6009 boot records in the timeline.

The offline qfecheck (hotfix-files-regressed) lives in ``qfecheck.py``; ``hotfix_files_regressed`` is
re-exported here for callers that imported it from this module.
"""

from __future__ import annotations

from scanner.knowledge.versions import FileVersion, service_pack_of
from scanner.model import Evidence, Finding, FindingFile, RecordedFile, UpdateRecord
from scanner.rules.context import (
    RuleContext,
    entry_evidence,
    finding_file,
    make_finding,
    names,
    package_name,
)
from scanner.rules.qfecheck import disk_file


def required_level(ctx: RuleContext, update: UpdateRecord) -> tuple[int, list[Evidence], int] | None:
    """The SP level a fix was built for, its evidence, and how many independent kinds of record say so
    (Updates folder, Hotfix key, Filelist revisions); None when nothing says."""
    os = ctx.os
    if os is None:
        return None
    claims: list[tuple[int, str, Evidence]] = []  # (level, which record, evidence)
    key = update.sources[0] if update.sources else None
    folder_level = os.required_level_for_folder(update.sp_folder)
    if folder_level is not None:
        updates_key = next((s for s in update.sources if "\\Updates\\" in s.locator), key)
        if updates_key is not None:
            built = ctx.sp_name(folder_level)
            says = f"registered under Updates\\...\\SP{update.sp_folder}: built for {built}"
            claims.append((folder_level, "updates-folder", Evidence(says, updates_key)))
    hotfix_sp = update.hotfix_service_pack  # typed Hotfix key 'Service Pack' DWORD
    if hotfix_sp is not None:
        level = os.required_level_for_folder(hotfix_sp)
        hotfix_key = next((s for s in update.sources if "\\Hotfix\\" in s.locator), key)
        if level is not None and hotfix_key is not None:
            says = f"Hotfix key 'Service Pack' = {hotfix_sp}"
            claims.append((level, "hotfix-key", Evidence(says, hotfix_key)))
    for recorded in update.files:
        version = FileVersion.parse(recorded.version)
        level = service_pack_of(version, None, os) if version else None
        if version and level is not None and key is not None:
            says = f"Filelist: {recorded.name} {recorded.version} is at or above the {ctx.sp_name(level)} "
            says += "baseline"
            claims.append((level, "filelist", Evidence(says, key)))
    if not claims:
        return None
    level = max(level for level, _, _ in claims)
    evidence = [e for lvl, _, e in claims if lvl == level] + [e for lvl, _, e in claims if lvl != level]
    return level, evidence, len({kind for lvl, kind, _ in claims if lvl == level})


def hotfix_before_service_pack(ctx: RuleContext) -> list[Finding]:
    text = ctx.rule("hotfix-before-service-pack")
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
            "trigger_uninstall": update.uninstall_command or "",
            "trigger_package": package_name(update),
            **ctx.sp_package(required[0]),
        }
        agree = required[2] > 1  # two kinds of record name the same level
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
    state = disk_file(ctx, recorded.name, recorded.location)
    if state is None:
        return FindingFile(path=recorded.name, version=None, expected=recorded.version)
    return finding_file(state, f"{recorded.version} (recorded by {update.id})")
