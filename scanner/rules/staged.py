"""Which update a queued file replacement belongs to, and the versions on disk versus staged.

PendingFileRenameOperations holds (staged temporary name -> target) pairs that Session Manager carries out at
the next boot (reference §3.7): update.exe and CBS copy a file in use under a temporary name and queue the
move. The temporary name says nothing about the update, so it is mapped back three ways: the update's own
log naming the target as left in use for the next boot (typed ``FileLeftBehind`` reason ``in-use-delayed``)
or as copied, an update whose ``Filelist`` records the target, and the staged file's PE version matching the
version an update recorded. The versions: the target's on disk now, and the staged copy's (its own PE
version when it was read, else the version the update recorded).
"""

from __future__ import annotations

from dataclasses import dataclass

from scanner.model import (
    Evidence,
    FileState,
    FileVersion,
    PendingRename,
    Provenance,
    UpdateRecord,
    version_text,
)
from scanner.rules.context import RuleContext

MAX_RENAMES = 10_000  # pairs looked at: a hostile multi-string cannot make this unbounded


def volume_path(nt_path: str) -> str:
    """``\\??\\C:\\Windows\\x.dll`` / ``C:\\Windows\\x.dll`` -> ``windows\\x.dll`` (lower case)."""
    text = nt_path.lstrip("!").replace("/", "\\")
    for prefix in ("\\??\\", "\\\\?\\"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if len(text) > 2 and text[1] == ":":
        text = text[3:]
    return text.lower()


@dataclass(frozen=True)
class Staged:
    """One queued replacement: its target on disk, the update it belongs to, and both versions."""

    rename: PendingRename
    target: FileState | None
    update_id: str | None
    staged_version: str | None
    how: str  # "log" | "filelist" | "staged-version" | "" (not mapped)
    evidence: tuple[Evidence, ...] = ()


def _recorded(update: UpdateRecord, name: str) -> str | None:
    return next((r.version for r in update.files if r.name.lower() == name and r.version), None)


def _from_logs(ctx: RuleContext, target: str) -> tuple[str, str | None, Evidence] | None:
    """An update whose log left ``target`` in use for the next boot, else one whose log copied it."""
    delayed, copied = None, None
    for line in ctx.log_events:
        if line.update_id is None:
            continue
        if line.what == "install-end" and line.outcome is not None:
            for left in line.outcome.left_behind:
                if left.reason == "in-use-delayed" and volume_path(left.path) == target:
                    delayed = (line.update_id, None, Evidence(line.text, line.source, line.at))
        elif line.what == "file-replaced" and line.file_path == target:
            copied = (line.update_id, line.file_version, Evidence(line.text, line.source, line.at))
    return delayed or copied


def _when(ctx: RuleContext, update: UpdateRecord) -> float:
    at = ctx.installed_at(update)
    return at.timestamp() if at is not None else float("-inf")


def map_rename(ctx: RuleContext, rename: PendingRename) -> Staged:
    target_path = volume_path(rename.destination)
    target = ctx.file(target_path)
    name = target_path.rsplit("\\", 1)[-1]
    staged_state = next(
        (f for f in ctx.inventory.staged_files if f.path.lower() == volume_path(rename.source)), None
    )
    staged_file = staged_state.version if staged_state else None  # the staged copy's own PE version
    staged_version = version_text(staged_file)
    candidates = [u for u in ctx.inventory.updates if u.kind != "service-pack"]
    found = _from_logs(ctx, target_path)
    if found is not None:
        update_id, logged, evidence = found
        update = next((u for u in candidates if u.id.lower() == update_id.lower()), None)
        version = staged_version or logged or (_recorded(update, name) if update else None)
        return Staged(rename, target, update_id, version, "log", (evidence,))
    if staged_file is not None:
        for update in candidates:
            if FileVersion.parse(_recorded(update, name)) == staged_file:
                says = f"{rename.source} is {staged_version}, the version {update.id} recorded for {name}"
                sources = staged_state.sources if staged_state else ()
                evidence = Evidence(says, sources[0] if sources else Provenance(rename.source))
                return Staged(rename, target, update.id, staged_version, "staged-version", (evidence,))
    recorders = [u for u in candidates if _recorded(u, name)]
    if recorders:
        # the newest install that recorded the file: an older fix's copy is what the disk already has
        update = max(recorders, key=lambda u: _when(ctx, u))
        version = staged_version or _recorded(update, name)
        key = update.sources[0] if update.sources else Provenance("SOFTWARE hive")
        says = f"{update.id} Filelist records {name} {_recorded(update, name)}"
        return Staged(rename, target, update.id, version, "filelist", (Evidence(says, key),))
    return Staged(rename, target, None, staged_version, "")


def staged_replacements(ctx: RuleContext) -> list[Staged]:
    """Every queued replacement of a file we know (a component file, or one an update recorded)."""
    out = []
    for rename in ctx.inventory.pending_renames[:MAX_RENAMES]:
        if not rename.destination:
            continue  # a delete at boot (the temporary copy's cleanup), not a replacement
        staged = map_rename(ctx, rename)
        if staged.target is not None or staged.update_id is not None:
            out.append(staged)
    return out
