"""The offline qfecheck: hotfix files an install after the hotfix put back at an older version.

qfecheck (KB282784) compares each file a fix recorded with the file on disk and calls the fix "not current"
when the disk has a lower version. Offline we know what a fix put on disk three ways (reference §3.4, §5):
its ``Updates\\...\\Filelist`` (the version it installed), its KB log's ``Copied file`` lines (the files it
wrote, sometimes with their version), and its ``$NtUninstall<id>$`` backup (the *previous* versions it
replaced: a disk copy no newer than the backup means the fix's copy is gone). KB888535 warns the recorded
data goes stale as later fixes replace files, so only a *lower* version is a finding.

What put the older copy back is the install session that wrote it (Q281402: "other software that has
replaced them"; Q194334/Q196269: an NT 4.0 service pack re-applied over the fix; a component re-added from
older media): a servicing-log line that wrote the file after the fix, else the install entry of the
timeline whose time matches the file's NTFS creation time. The remedy reinstalls the fixes in the order they
were first installed, so a later fix's copy of a shared file ends up on top (Q184305).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from scanner.knowledge.windows import COMPONENT_WINDOW, FILE_WINDOW
from scanner.model import (
    SERVICING_KINDS,
    Evidence,
    FileState,
    FileVersion,
    Finding,
    FindingFile,
    LogEvent,
    TimelineEntry,
    UpdateRecord,
    version_text,
)
from scanner.rules.context import (
    RuleContext,
    entry_evidence,
    file_evidence,
    finding_file,
    make_finding,
)

MAX_FILES = 10_000  # recorded files looked at per hotfix: a hostile Filelist cannot make this unbounded


@dataclass
class _Claim:
    """What one hotfix's records say about one file on disk."""

    state: FileState
    recorded: FileVersion | None = None  # the version the fix installed (Filelist / its log)
    previous: FileVersion | None = None  # the version it replaced ($NtUninstall$ backup)
    evidence: tuple[Evidence, ...] = ()

    def regressed(self) -> bool:
        have = self.state.version
        if have is None:
            return False
        if self.recorded is not None:
            return have < self.recorded
        return self.previous is not None and have <= self.previous


@dataclass(frozen=True)
class PutBack:
    """What put an older copy back: its install entry (typed), else the log line that wrote the file."""

    subject: str
    kind: str
    at: datetime | None
    evidence: Evidence


def disk_file(ctx: RuleContext, name: str, location: str | None) -> FileState | None:
    """The collected file a recorded ``name`` + ``location`` (``%SystemRoot%\\system32``) points at."""
    folder = (location or "").replace("/", "\\")
    for prefix in ("%SystemRoot%", "%windir%"):
        if folder.lower().startswith(prefix.lower()):
            folder = folder[len(prefix) :]
    hint = f"{folder.rstrip(chr(92))}\\{name}".lower()
    return next((f for f in ctx.inventory.files if f.path.lower().endswith(hint)), None)


def _claims(ctx: RuleContext, update: UpdateRecord) -> list[_Claim]:
    by_path: dict[str, _Claim] = {}
    key = update.sources[0] if update.sources else None

    def claim(state: FileState) -> _Claim:
        return by_path.setdefault(state.path.lower(), _Claim(state))

    for recorded in update.files[:MAX_FILES]:
        state = disk_file(ctx, recorded.name, recorded.location)
        version = FileVersion.parse(recorded.version)
        if state is None or version is None:
            continue
        c = claim(state)
        c.recorded = max(c.recorded, version) if c.recorded else version
        if key is not None:
            c.evidence += (Evidence(f"{update.id} Filelist: {recorded.name} {recorded.version}", key),)
    wanted = update.id.lower()
    for line in ctx.log_events:
        if line.what != "file-replaced" or (line.update_id or "").lower() != wanted or not line.file_path:
            continue
        state = ctx.file(line.file_path)
        if state is None:
            continue
        c = claim(state)
        version = FileVersion.parse(line.file_version)
        if version is not None:
            c.recorded = max(c.recorded, version) if c.recorded else version
        c.evidence += (Evidence(line.text, line.source, line.at),)
    for folder in ctx.inventory.uninstall_folders:
        if folder.kind != "hotfix-backup" or (folder.update_id or "").lower() != wanted:
            continue
        for backup in folder.files[:MAX_FILES]:
            name = backup.path.rsplit("\\", 1)[-1].lower()
            known = [c for path, c in by_path.items() if path.rsplit("\\", 1)[-1] == name]
            state = known[0].state if known else ctx.file_named(name)
            version = backup.version
            if state is None or version is None or not state.component and not known:
                continue  # a backup of a file we did not collect, or not one of a profile's components
            c = claim(state)
            c.previous = max(c.previous, version) if c.previous else version
            says = f"{folder.path} holds {name} {backup.version}, the version {update.id} replaced"
            c.evidence += (file_evidence(backup, says),)
    return list(by_path.values())


def _installs(entry: TimelineEntry, update_id: str) -> bool:
    """The entry is an install session of ``update_id`` (its subject or a typed update id)."""
    wanted = update_id.lower()
    return entry.subject.lower() == wanted or wanted in (i.lower() for i in entry.update_ids)


def _session_of(ctx: RuleContext, line: LogEvent, update: UpdateRecord) -> TimelineEntry | None:
    """The install entry a servicing-log line belongs to: the same update or SP number, else its time."""
    assert line.at is not None
    candidates = []
    for entry in ctx.entries:
        if entry.kind not in SERVICING_KINDS or entry.at is None or _installs(entry, update.id):
            continue
        same = (line.update_id is not None and _installs(entry, line.update_id)) or (
            line.sp_level is not None and entry.kind == "service-pack" and entry.sp_level == line.sp_level
        )
        inside = entry.at - FILE_WINDOW <= line.at <= (entry.end or entry.at) + FILE_WINDOW
        if same or inside:
            candidates.append((not same, abs((entry.at - line.at).total_seconds()), entry))
    return min(candidates, key=lambda c: (c[0], c[1]))[2] if candidates else None


def put_back_by(
    ctx: RuleContext, state: FileState, update: UpdateRecord, after: datetime | None
) -> PutBack | None:
    """Who wrote the older copy after ``after`` (the fix's install): a log line that wrote this file, else
    the install entry whose time matches the file's NTFS creation time (or whose sources name the file)."""
    path = state.path.lower()
    lines = [
        e
        for e in ctx.log_events
        if e.what == "file-replaced"
        and e.file_path == path
        and e.at is not None
        and (after is None or e.at > after)
        and (e.update_id or "").lower() != update.id.lower()
    ]
    if lines:
        have = state.version
        # the copy now on disk, else the latest
        line = max(lines, key=lambda e: (FileVersion.parse(e.file_version) == have, e.at))
        entry = _session_of(ctx, line, update)
        if entry is not None:
            return PutBack(entry.subject, entry.kind, line.at, Evidence(line.text, line.source, line.at))
        who = line.update_id or (ctx.sp_name(line.sp_level) if line.sp_level is not None else line.log)
        return PutBack(who, "log", line.at, Evidence(line.text, line.source, line.at))
    created = state.created_at
    best: tuple[float, TimelineEntry] | None = None
    for entry in ctx.entries:
        if entry.kind not in SERVICING_KINDS or entry.at is None or _installs(entry, update.id):
            continue
        if after is not None and entry.at <= after:
            continue
        named = any(s.provenance.artifact.lower() == path for s in entry.sources)
        window = COMPONENT_WINDOW if entry.kind == "component-install" else FILE_WINDOW
        end = entry.end or entry.at
        near = created is not None and entry.at - window <= created <= end + window
        if named or near:
            distance = 0.0 if named else abs((entry.at - created).total_seconds()) if created else 0.0
            if best is None or distance < best[0]:
                best = (distance, entry)
    if best is None:
        return None
    entry = best[1]
    says = f"{entry.subject} ({entry.kind}) at {entry.at:%Y-%m-%d %H:%M}Z" if entry.at else entry.subject
    return PutBack(entry.subject, entry.kind, entry.at, entry_evidence(entry, says))


def hotfix_files_regressed(ctx: RuleContext) -> list[Finding]:
    """One finding for every installed hotfix whose recorded files the disk no longer has (see module doc)."""
    text = ctx.rule("hotfix-files-regressed")
    rows: list[tuple[UpdateRecord, datetime | None, _Claim, PutBack | None]] = []
    for update in ctx.inventory.updates:
        if update.kind not in {"hotfix", "update"} or update.state != "installed":
            continue
        installed = ctx.installed_at(update)
        for claim in _claims(ctx, update):
            if claim.regressed():
                rows.append((update, installed, claim, put_back_by(ctx, claim.state, update, installed)))
    if not rows:
        return []
    # install order (undated fixes last), so the remedy reinstalls them as they first went in
    rows.sort(key=lambda r: (r[1] is None, r[1].timestamp() if r[1] else 0.0, r[0].id, r[2].state.path))
    order = list(dict.fromkeys(r[0].id for r in rows))
    files: list[FindingFile] = []
    evidence: list[Evidence] = []
    parts: list[str] = []
    for update, _, claim, by in rows:
        recorded = version_text(claim.recorded)
        expected = (
            f"{recorded} (recorded by {update.id})"
            if recorded
            else f"newer than {claim.previous} (the version {update.id} replaced)"
        )
        files.append(
            replace(
                finding_file(claim.state, expected),
                recorded_by=update.id,
                recorded_version=recorded,
                previous_version=version_text(claim.previous),
                replaced_by=by.subject if by else None,
                replaced_by_kind=by.kind if by else None,
                replaced_at=by.at if by else None,
            )
        )
        evidence += [*claim.evidence, file_evidence(claim.state)]
        if by is not None:
            evidence.append(by.evidence)
        name = claim.state.path.rsplit("\\", 1)[-1]
        was = f"{recorded} recorded by {update.id}"
        if not recorded:
            was = f"{update.id}'s copy (it replaced {claim.previous})"
        who = ""
        if by is not None:
            when = f" at {by.at:%Y-%m-%d %H:%M}Z" if by.at else ""
            who = f"; put back by {by.subject} ({by.kind}){when}"
        parts.append(f"{name} {claim.state.version} on disk < {was}{who}")
    culprits = list(dict.fromkeys(f.replaced_by for f in files if f.replaced_by))
    names = ", ".join(dict.fromkeys(f.path.rsplit("\\", 1)[-1] for f in files))
    summary = (
        f"{len(order)} installed hotfix(es) no longer have the file versions they installed "
        f"(offline qfecheck, KB282784): "
        + "; ".join(parts)
        + "."
        + ("" if culprits else " The evidence does not show what replaced them.")
    )
    values = {
        "product": ctx.product,
        "updates": ", ".join(order),
        "reinstall_order": ", then ".join(order),
        "files": names,
        "source": ", ".join(culprits),
        "service_pack": ctx.sp_name(ctx.service_pack),
        **ctx.sp_package(ctx.service_pack),
    }
    every = all(f.replaced_by for f in files)
    return [
        make_finding(
            text,
            values,
            summary=summary,
            files=tuple(files),
            updates=tuple(order),
            evidence=tuple(dict.fromkeys(evidence)),
            confidence="high" if every else "medium",
            attribution=", ".join(culprits) or "unknown",
            at=min((f.replaced_at for f in files if f.replaced_at), default=None),
        )
    ]
