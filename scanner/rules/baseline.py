"""Service-pack baseline checks: component files below the installed SP, and SP installs that did not finish.

The KB2009746 shape (reference §6.2, §7 #2 and #4): the OS is at SPn but some files of one component are at
an older SP's revision or lab tag. Which files, and *why* they are old, decide the fix, so each below-baseline
file is attributed from the evidence: the component was added later from older media (file created after the
SP, next to a component install), a third-party installer put it back (created at a program's install), or
the SP never replaced it (created before the SP; its logs often show errors) — else "unknown".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from scanner.knowledge.versions import FileVersion, service_pack_of
from scanner.knowledge.windows import COMPONENT_WINDOW, FILE_WINDOW
from scanner.model import Confidence, Evidence, FileState, Finding, FindingFile, TimelineEntry
from scanner.rules.context import (
    RuleContext,
    detail_text,
    entry_evidence,
    file_evidence,
    finding_file,
    make_finding,
    names,
    version_of,
)

ATTRIBUTION_TEXT = {
    "component-installed-from-older-media": "the component was installed after the service pack from older "
    "media",
    "third-party-installer": "a third-party installer put older copies back",
    "service-pack-install-incomplete": "the service pack install did not replace them",
    "unknown": "the evidence does not show what left them at the older level",
}


@dataclass(frozen=True)
class BelowFile:
    state: FileState
    level: int
    attribution: str
    because: Evidence | None
    source: TimelineEntry | None = None  # the install entry the attribution names (typed: its subject)
    named_by_sp_log: bool = False  # the SP session's typed outcome lists it as left behind
    predates_sp: bool = False  # its NTFS created (and modified) times are before the SP install

    @property
    def sp_left_it(self) -> bool:
        return self.attribution == "service-pack-install-incomplete"


def _sp_entry(ctx: RuleContext, level: int | None) -> TimelineEntry | None:
    """The latest install of SP ``level`` (a reinstall supersedes an earlier failed one)."""
    if level is None:
        return None
    found = [entry for lvl, entry in ctx.service_pack_installs() if lvl == level]
    return found[-1] if found else None


def _near(entry: TimelineEntry, when: datetime | None, window: timedelta) -> bool:
    if when is None or entry.at is None:
        return False
    end = entry.end or entry.at
    return entry.at - window <= when <= end + window


def _names_file(entry: TimelineEntry, state: FileState) -> bool:
    path = state.path.lower()
    return any(s.provenance.artifact.lower() == path for s in entry.sources)


def _volume_path(path: str) -> str:
    """A logged path (``C:\\WINDOWS\\x.dll``, ``\\??\\C:\\...``) as FileState paths are, lower case."""
    text = path.replace("/", "\\")
    for prefix in ("\\??\\", "\\\\?\\"):
        text = text[len(prefix) :] if text.startswith(prefix) else text
    return (text[3:] if len(text) > 2 and text[1] == ":" else text.lstrip("\\")).lower()


def _predates(state: FileState, sp_at: datetime | None) -> bool:
    """Both NTFS times the file has are before the SP install: the SP never wrote this copy."""
    times = [t for t in (state.created_at, state.modified_at) if t is not None]
    return sp_at is not None and bool(times) and all(t < sp_at for t in times)


def _attribute(ctx: RuleContext, state: FileState, sp: TimelineEntry | None) -> BelowFile:
    """Why a file is below the baseline (level filled in by the caller): who put it there, or the SP."""
    sp_at = sp.at if sp else None
    created = state.created_at
    for entry in ctx.entries_of("component-install"):
        after_sp = sp_at is not None and entry.at is not None and entry.at > sp_at
        if after_sp and (_names_file(entry, state) or _near(entry, created, COMPONENT_WINDOW)):
            says = f"{entry.subject} installed {entry.at:%Y-%m-%d %H:%M}Z, after the SP: {entry.summary}"
            because = entry_evidence(entry, says)
            return BelowFile(state, 0, "component-installed-from-older-media", because, entry)
    for entry in ctx.entries_of("software-install"):
        if _names_file(entry, state) or _near(entry, created, FILE_WINDOW):
            says = f"{entry.subject} installed: {entry.summary}"
            return BelowFile(state, 0, "third-party-installer", entry_evidence(entry, says), entry)
    # The SP session's typed outcome naming the file as left behind, or NTFS times before the SP: either
    # shows the SP never replaced it (KB2009746); the file's own evidence says which (see _file_says).
    left = sp.outcome.left_behind if sp is not None and sp.outcome is not None else ()
    named = state.path.lower() in {_volume_path(f.path) for f in left}
    predates = _predates(state, sp_at)
    if named or predates:
        return BelowFile(state, 0, "service-pack-install-incomplete", None, sp, named, predates)
    return BelowFile(state, 0, "unknown", None)


def _file_says(b: BelowFile, sp_at: datetime | None) -> Evidence:
    """The file's version, plus its creation time when that is what shows the SP never replaced it."""
    text = f"{b.state.path} is {b.state.version}" + (f" ({b.state.lab_tag})" if b.state.lab_tag else "")
    if b.predates_sp and b.state.created_at and sp_at:
        text += f", created {b.state.created_at:%Y-%m-%d %H:%M}Z, before the service pack ({sp_at:%Y-%m-%d}Z)"
    if b.named_by_sp_log:
        text += "; the service pack's log names it as not replaced"
    return file_evidence(b.state, text)


def below_service_pack(ctx: RuleContext) -> list[BelowFile]:
    """Component files whose revision / lab tag is below the installed SP's baseline, attributed."""
    os = ctx.os
    installed = ctx.service_pack
    if os is None or not installed or (sp := os.service_pack(installed)) is None or sp.revision is None:
        return []
    families = {c.id: c.version_family for c in ctx.knowledge.components_for(ctx.inventory.system)}
    os_family = ".".join((ctx.inventory.system.version or "").split(".")[:2]) if ctx.inventory.system else ""
    entry = _sp_entry(ctx, installed)
    out = []
    for state in ctx.inventory.files:
        version = version_of(state)
        if not state.component or state.component not in families or version is None:
            continue
        if version.family not in {families[state.component], os_family}:
            continue  # e.g. IIS 4 files (4.2.x) do not follow the OS service pack
        level = service_pack_of(version, state.lab_tag, os)
        if level is None or level >= installed:
            continue
        out.append(replace(_attribute(ctx, state, entry), level=level))
    return out


def expected_version(ctx: RuleContext, state: FileState) -> str | None:
    version = version_of(state)
    level = ctx.service_pack
    sp = ctx.os.service_pack(level) if ctx.os and level is not None else None
    if version is None or sp is None or sp.revision is None:
        return None
    return f"{FileVersion(version.major, version.minor, sp.build, sp.revision)} ({sp.name} baseline)"


def below_findings(ctx: RuleContext, below: list[BelowFile]) -> list[Finding]:
    """The files-below-service-pack findings for the files :func:`below_service_pack` judged below.

    Called by :func:`scanner.rules.levels.decide` with the same list the component table is built from
    (issue 16: the table and the finding are one decision)."""
    if not below:
        return []
    text = ctx.rule("files-below-service-pack")
    sp_name = ctx.sp_name(ctx.service_pack)
    titles = {c.id: c.title for c in ctx.knowledge.components}
    findings = []
    for component in sorted({b.state.component or "" for b in below}):
        group = [b for b in below if b.state.component == component]
        files = tuple(finding_file(b.state, expected_version(ctx, b.state)) for b in group)
        attribution = Counter(b.attribution for b in group).most_common(1)[0][0]
        at_level = [
            f for f in ctx.inventory.files if f.component == component and f not in {b.state for b in group}
        ]
        mixed = any(
            (v := version_of(f)) is not None
            and ctx.os is not None
            and service_pack_of(v, f.lab_tag, ctx.os) == ctx.service_pack
            for f in at_level
        )
        lab_says_older = all(b.state.lab_tag for b in group)
        confidence: Confidence = (
            "high" if (mixed or lab_says_older) and attribution != "unknown" else "medium"
        )
        levels = ", ".join(sorted({f"{b.state.version} ({ctx.sp_name(b.level)})" for b in group}))
        summary = (
            f"{len(group)} {titles.get(component, component)} file(s) are below the installed {sp_name} "
            f"baseline: {names(files)} at {levels}"
            + (
                f", while {len(at_level)} other file(s) of the component are at {sp_name} level"
                if mixed
                else ""
            )
            + f"; {ATTRIBUTION_TEXT[attribution]}"
            + (f" ({_source_name(group)})" if _source_name(group) else "")
            + "."
        )
        evidence = [ctx.system_evidence()]
        sp_entry = _sp_entry(ctx, ctx.service_pack)
        evidence += [_file_says(b, sp_entry.at if sp_entry else None) for b in group]
        evidence += list(dict.fromkeys(b.because for b in group if b.because is not None))
        values = {
            "product": ctx.product,
            "service_pack": sp_name,
            **ctx.sp_package(ctx.service_pack),
            "files": names(files),
            "component": titles.get(component, component),
            "source": _source_name(group),
        }
        findings.append(
            make_finding(
                text,
                values,
                summary=summary,
                files=files,
                updates=(),
                evidence=tuple(evidence),
                confidence=confidence,
                attribution=attribution,
                at=None,
                installer=_source_name(group) or None,
                details=tuple(sorted({**values, "attribution": attribution}.items())),
            )
        )
    return findings


def _source_name(group: list[BelowFile]) -> str:
    """The third-party program whose install put the files there: its timeline entry's subject."""
    for b in group:
        if b.attribution == "third-party-installer" and b.source is not None:
            return b.source.subject
    return ""


def service_pack_install_incomplete(ctx: RuleContext) -> list[Finding]:
    """The latest install of each SP level up to the installed one: log errors or files left behind."""
    text = ctx.rule("service-pack-install-incomplete")
    left_behind = [b for b in below_service_pack(ctx) if b.attribution == "service-pack-install-incomplete"]
    findings = []
    installed = ctx.service_pack  # None (not attested): every SP install is checked
    levels = {lvl for lvl, _ in ctx.service_pack_installs() if installed is None or lvl <= installed}
    for level in sorted(levels):
        entry = _sp_entry(ctx, level)
        if entry is None:
            continue
        # The typed outcome the install log gave (scanner.model.InstallOutcome), never the text.
        outcome = entry.outcome
        failed = outcome is not None and outcome.result in {"failed", "partial", "cancelled"}
        blocking = [f for f in outcome.left_behind if f.reason != "in-use-delayed"] if outcome else []
        errs = [
            e
            for e in ctx.log_events
            if e.what == "error"
            and e.at is not None
            and _near(entry, e.at, FILE_WINDOW)
            and e.log in {"svcpack", "update.exe"}
        ]
        mine = left_behind if level == ctx.service_pack else []
        # Two independent signals (issue 14 #5): what the install itself reported (typed outcome, its log's
        # error lines), and files below the baseline whose NTFS times predate the SP. Either suffices.
        reported = failed or bool(errs) or bool(blocking) or any(b.named_by_sp_log for b in mine)
        on_disk = any(b.predates_sp for b in mine)
        if not (reported or on_disk):
            continue
        reason = detail_text(entry, "reason") or entry.summary
        evidence = [entry_evidence(entry, f"{entry.subject}: {reason}")]
        evidence += [Evidence(e.text, e.source, e.at) for e in errs[:10]]
        evidence += [file_evidence(b.state) for b in mine]
        files: tuple[FindingFile, ...] = tuple(
            finding_file(b.state, expected_version(ctx, b.state)) for b in mine
        )
        parts = []
        if errs:
            parts.append(f"its logs show {len(errs)} error line(s)")
        if failed and outcome is not None and outcome.files_replaced:
            total = detail_text(entry, "files")  # the fused entry's file count, printed for people only
            of_total = f" of {total}" if total else ""
            parts.append(f"it replaced {outcome.files_replaced}{of_total} file(s)")
        if blocking:
            parts.append(
                f"its log names {len(blocking)} file(s) it did not put in place: "
                + ", ".join(f.path.rsplit("\\", 1)[-1] for f in blocking[:10])
            )
        if mine:
            why = " (created before it)" if on_disk else ""
            parts.append(
                f"{len(mine)} component file(s) it should have replaced are still older{why}: {names(files)}"
            )
        values = {
            "product": ctx.product,
            "service_pack": ctx.sp_name(level),
            "files": names(files),
            **ctx.sp_package(level),
        }
        findings.append(
            make_finding(
                text,
                values,
                summary=f"{entry.subject} ({entry.at:%Y-%m-%d %H:%M}Z) did not complete: "
                + "; ".join(parts)
                + ".",
                files=files,
                updates=(entry.subject,),
                evidence=tuple(evidence),
                confidence="high" if reported and on_disk else "medium",
                at=entry.at,
            )
        )
    return findings
