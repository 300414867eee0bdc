"""The component collector: which files to read (profiles x Windows directory), then read them.

The paths come from three places: each component profile's ``files`` under the volume's Windows directory;
every file an update recorded (``Updates\\...\\Filelist``: comparing the recorded version with the one on disk
is the offline qfecheck, KB282784); and the staged copies ``PendingFileRenameOperations`` would move into
place (their versions, for rules/staged.py). Each profile's ``folders`` are then listed (one ``$I30``
listing each, :mod:`scanner.collectors.folders`): a listed file missing at its path but found there is
found, not missing, and a file a profile marks optional (an IIS 7+ module the role may not have installed) is
no gap when absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from scanner.collectors.base import KnowledgeView, SystemVolume
from scanner.collectors.files import collect_files, read_files
from scanner.collectors.folders import FolderRequest, collect_component_folders
from scanner.model import FileState, Gap, Provenance, UpdateRecord
from scanner.model.facts_bundle import Facts

__all__ = ["MAX_STAGED", "collect", "collect_none_read", "component_paths"]

MAX_STAGED = 256  # staged copies read: PendingFileRenameOperations is attacker-sized


def component_paths(
    windows_dir: str, components: Sequence[Any], updates: Sequence[UpdateRecord]
) -> dict[str, str]:
    """Volume-relative path -> component id ("" for a file only an update's Filelist names), in read order.

    Keys keep the spelling of their first appearance; a path already present (any case) is not added again.
    """
    paths: dict[str, str] = {}
    seen: set[str] = set()
    for component in components:
        for entry in component.files:
            path = f"{windows_dir}\\{entry.path}"
            if path.lower() not in seen:
                seen.add(path.lower())
                paths[path] = component.id
    for update in updates:
        for recorded in update.files:
            recorded_path = _recorded_path(windows_dir, recorded.location, recorded.name)
            if recorded_path is not None and recorded_path.lower() not in seen:
                seen.add(recorded_path.lower())
                paths[recorded_path] = ""
    return paths


def collect(volume: SystemVolume, knowledge: KnowledgeView, facts: Facts) -> Facts:
    """The component files, the staged copies of queued replacements, and the component folders."""
    fs, windows_dir = volume.fs, volume.windows_dir
    components = knowledge.components_for(facts.system)
    wanted = component_paths(windows_dir, components, facts.updates)
    component_of = {p.lower(): c for p, c in wanted.items()}
    paths = list(wanted)
    found = read_files(fs, paths)
    staged = [_volume_relative(p.source) for p in facts.pending_renames if p.destination][:MAX_STAGED]
    staged_files, _ = collect_files(fs, [p for p in staged if p], hash_files=False)  # absent ones are normal
    requests = [
        FolderRequest(f"{windows_dir}\\{f.path}", c.id, f.depth, f.lookup_only)
        for c in components
        for f in c.folders
    ]
    missing = {p.lower() for p in found.absent}
    lost = [(p, component_of[p.lower()]) for p in paths if p.lower() in missing and component_of[p.lower()]]
    scanned = collect_component_folders(fs, requests, known=[f.path for f in found.files], missing=lost)
    found_elsewhere = {p.lower() for p in scanned.relocated}
    optional = {f"{windows_dir}\\{e.path}".lower() for c in components for e in c.files if e.optional}
    # an absent file that is optional, or was found in a component folder, is no gap (an absent path has no
    # other gap than its "not present" one: it was not read)
    forgiven = missing & (optional | found_elsewhere)
    gaps = [g for g in found.gaps if g.what.lower() not in forgiven]
    placed = {p.lower(): c for p, c in scanned.placed.items()}
    owner = {**placed, **{p: c for p, c in component_of.items() if c}}  # the profile's own listing first
    read = [_with_component(f, owner.get(f.path.lower())) for f in found.files]
    return facts.adding(
        files=[*read, *scanned.files],
        staged_files=staged_files,
        folders=scanned.folders,
        gaps=[*gaps, *scanned.gaps],
    )


def collect_none_read(volume: SystemVolume, knowledge: KnowledgeView, facts: Facts) -> Facts:
    """A gap when no component file was read at all (a triage folder without binaries, or no OS version)."""
    if facts.files:
        return facts
    why = "no component profile applies without an OS version" if facts.system is None or (
        facts.system.version is None) else "none of the files the component profiles list is in the source"
    return facts.adding(gaps=[Gap("component files", f"none read: {why}", (Provenance(volume.windows_dir),))])


def _recorded_path(windows_dir: str, location: str | None, name: str) -> str | None:
    """``%SystemRoot%\\system32`` + ``netapi32.dll`` -> ``WINDOWS\\system32\\netapi32.dll``."""
    if not location or "\\" in name or "/" in name:
        return None
    folder = location.replace("/", "\\").rstrip("\\")
    for prefix in ("%SystemRoot%", "%windir%"):
        if folder.lower().startswith(prefix.lower()):
            return f"{windows_dir}{folder[len(prefix):]}\\{name}"
    if len(folder) > 2 and folder[1] == ":":
        return f"{folder[3:]}\\{name}" if len(folder) > 3 else name
    return None


def _volume_relative(path: str) -> str:
    """A pending rename's source ``C:\\Windows\\Temp\\x.dll`` -> ``Windows\\Temp\\x.dll``; "" off drive."""
    text = path.replace("/", "\\")
    return text[3:] if len(text) > 3 and text[1] == ":" and text[2] == "\\" else ""


def _with_component(state: FileState, component: str | None) -> FileState:
    return replace(state, component=component) if component and not state.component else state
