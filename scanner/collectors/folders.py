"""Component folders: every PE file in the folders a component profile names, one ``$I30`` listing each.

A profile's file list cannot know every DLL a server holds: a hotfix, a role service or a third-party ISAPI
filter adds files to ``system32\\inetsrv`` that no list names, and a file's folder differs between Windows
releases. So each folder a component profile names (``folders`` in profiles/components/*.toml) is listed
through its NTFS directory index -- one ``$I30`` listing per folder and per subfolder down to the profile's
``depth``, never a walk of the volume -- and every file whose first bytes are a PE header (``MZ`` and the
``PE\\0\\0`` signature at ``e_lfanew``, Microsoft "PE Format" 2.1-2.2: the extension is not trusted) is
inventoried through :func:`scanner.collectors.pe_version.read_pe_version`, which reads only the headers and
the resource section. Files found only by the listing are not hashed (hashing reads the whole file; the
version resource is what the rules judge).

A file the profile lists but that is not at its listed path is looked for by name in the component's folder
listings (any depth), then by one B-tree search in each ``lookup_only`` folder (a folder too large to list,
such as ``system32``, where another Windows release keeps the file). Found there, it is found, not missing.

The cost is bounded by the folders' own sizes, never the volume's: each folder's listing is capped at
:data:`scanner.evidence.ntfs.MAX_ENTRIES`, its PE files at :data:`MAX_PE_FILES`, its subfolders at
:data:`MAX_SUBFOLDERS`; what is cut is a gap. Each folder record carries what it cost (listings, MFT
records, file bytes read).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

from scanner.collectors.files import file_state
from scanner.collectors.folder_facts import (
    MAX_DEPTH,
    MAX_PE_FILES,
    MAX_SUBFOLDERS,
    ComponentFolder,
    Cost,
    Counted,
    FolderRequest,
    FolderScan,
    is_pe_stream,
)
from scanner.collectors.folders_plain import plain_folder
from scanner.evidence import ntfs as mft
from scanner.evidence.errors import READ_ERRORS
from scanner.model import FileState, Gap, Provenance

__all__ = [
    "MAX_DEPTH",
    "MAX_PE_FILES",
    "MAX_SUBFOLDERS",
    "ComponentFolder",
    "FolderRequest",
    "FolderScan",
    "collect_component_folders",
]


def _is_pe(record: Any, cost: Cost) -> bool:
    """The record's data starts with a PE header (:func:`is_pe_stream`); the probe's bytes are counted."""
    return is_pe_stream(Counted(record.open(), cost), int(record.size()))


class _Opened:
    """An MFT record whose ``open()`` streams are counted (so ``_file_state``'s reads are measured)."""

    def __init__(self, record: Any, cost: Cost) -> None:
        self._record, self._cost = record, cost

    def __getattr__(self, name: str) -> Any:
        return getattr(self._record, name)

    def open(self) -> Counted:
        return Counted(self._record.open(), self._cost)


def _walk(
    record: Any, path: str, depth: int, cost: Cost, gaps: list[Gap]
) -> tuple[list[tuple[str, Any]], int, int, str | None]:
    """(path, record) of each file in the folder and its subfolders to ``depth``; entries, subfolders, cut."""
    files: list[tuple[str, Any]] = []
    pending, entries, subfolders, cut = [(record, path, 0)], 0, 0, None
    while pending:
        directory, where, level = pending.pop(0)
        listing = mft.listing(directory, where, gaps)
        cost.listings += 1
        cost.mft_records += len(listing)
        entries += len(listing)
        for name, child, is_dir in listing:
            child_path = f"{where}\\{name}"
            if not is_dir:
                files.append((child_path, child))
            elif level < depth and subfolders < MAX_SUBFOLDERS:
                subfolders += 1
                pending.append((child, child_path, level + 1))
            elif level < depth:
                cut = f"subfolders cut at {MAX_SUBFOLDERS}"
    return files, entries, subfolders, cut


def _folder(
    ntfs: Any,
    req: FolderRequest,
    known: set[str],
    wanted: dict[str, str],
    scan: FolderScan,
    note: str,
) -> ComponentFolder:
    """List one profile folder and inventory its PE files (see the module docstring)."""
    cost = Cost()
    try:
        record, real = mft.resolve(ntfs, req.path)
    except mft.Missing:
        scan.gaps.append(Gap(req.path, "component folder not present on the volume"))
        return _absent(req, "not present on the volume")
    except READ_ERRORS as exc:
        reason = f"component folder lookup failed: {type(exc).__name__}: {exc}"
        scan.gaps.append(Gap(req.path, reason))
        return _absent(req, reason)
    source = Provenance(real, f"MFT entry {record.segment}", note)
    gaps: list[Gap] = []
    try:
        listed, entries, subfolders, cut = _walk(record, real, req.depth, cost, gaps)
    except READ_ERRORS as exc:
        listed, entries, subfolders, cut = [], 0, 0, f"listing unreadable: {type(exc).__name__}: {exc}"
    pe_files = unlisted = not_pe = 0
    for path, child in listed:
        key = path.upper()
        if key in known:
            scan.placed.setdefault(key, req.component)
            pe_files += 1
            continue
        if pe_files >= MAX_PE_FILES:
            cut = cut or f"PE inventory cut at {MAX_PE_FILES} files"
            break
        # a listed file found here is read whatever its first bytes are: a damaged copy is a gap, not absent
        listed_as = wanted.pop(path.rsplit("\\", 1)[-1].upper(), None)
        try:
            if listed_as is None and not _is_pe(child, cost):
                not_pe += 1
                continue
        except READ_ERRORS as exc:
            gaps.append(Gap(path, f"file data unreadable: {type(exc).__name__}: {exc}", (source,)))
            continue
        pe_files += 1
        why = f"{note}; " if note else ""
        why += f"listed by the profile as {listed_as}" if listed_as else f"in component folder {real}"
        state = file_state(_Opened(child, cost), path, why, gaps, listed_as is not None)
        known.add(key)
        if listed_as:
            scan.relocated[listed_as] = path
        else:
            unlisted += 1
        scan.files.append(_with(state, req.component))
    if cut:
        gaps.append(Gap(real, cut, (source,)))
    scan.gaps += gaps
    return ComponentFolder(
        path=real,
        component=req.component,
        depth=req.depth,
        lookup_only=False,
        present=True,
        entries=entries,
        subfolders=subfolders,
        pe_files=pe_files,
        unlisted=unlisted,
        not_pe=not_pe,
        listings=cost.listings,
        mft_records=cost.mft_records,
        bytes_read=cost.bytes_read,
        gap=cut,
        sources=(source,),
    )


def _absent(req: FolderRequest, reason: str) -> ComponentFolder:
    """The record of a folder that is not on the volume: nothing listed, nothing read."""
    return ComponentFolder(
        req.path, req.component, req.depth, req.lookup_only, False, None, 0, 0, 0, 0, 0, 0, 0, reason
    )


def _with(state: FileState, component: str) -> FileState:
    return replace(state, component=component)


def _look_up_names(
    ntfs: Any, req: FolderRequest, wanted: dict[str, str], scan: FolderScan, note: str
) -> ComponentFolder:
    """Search a lookup-only folder's index for each listed name still missing (one B-tree search each)."""
    cost = Cost()
    found = 0
    try:
        record, real = mft.resolve(ntfs, req.path)
    except (mft.Missing, *READ_ERRORS):
        return _absent(req, "not present on the volume")
    for name in list(wanted):
        try:
            entry = mft.search(record, name)
            child = entry.dereference()
            cost.mft_records += 1
            if child.is_dir():
                continue
            path = f"{real}\\{entry.attribute.file_name}"
        except (mft.Missing, *READ_ERRORS):
            continue
        listed_as = wanted.pop(name)
        why = (f"{note}; " if note else "") + f"listed by the profile as {listed_as}"
        state = file_state(_Opened(child, cost), path, why, scan.gaps, True)
        scan.relocated[listed_as] = path
        scan.files.append(_with(state, req.component))
        found += 1
    source = Provenance(real, f"MFT entry {record.segment}", note)
    return ComponentFolder(
        path=real,
        component=req.component,
        depth=0,
        lookup_only=True,
        present=True,
        entries=None,
        subfolders=0,
        pe_files=found,
        unlisted=0,
        not_pe=0,
        listings=0,
        mft_records=cost.mft_records,
        bytes_read=cost.bytes_read,
        sources=(source,),
    )


def collect_component_folders(
    fs: Any,
    requests: Sequence[FolderRequest],
    *,
    known: Collection[str] = (),
    missing: Sequence[tuple[str, str]] = (),
    volume_label: str = "",
) -> FolderScan:
    """List each component folder and inventory every PE file in it.

    Args:
        fs: the system volume's dissect filesystem: NTFS (listed through its MFT), else a directory source
            (:func:`scanner.collectors.folders_plain.plain_folder`).
        requests: the folders, in profile order.
        known: paths already read (the files the profiles list, found at their paths): not read again.
        missing: (listed path, component id) of listed files not found at their path, to look for by name.
        volume_label: put in each provenance's note when given.

    Returns:
        A :class:`FolderScan`; a listed file still not found stays the caller's "not present" gap.
    """
    scan = FolderScan()
    ntfs = mft.ntfs_of(fs)
    note = f"volume {volume_label}" if volume_label else ""
    seen = {p.upper() for p in known}
    by_component: dict[str, dict[str, str]] = {}
    for path, component in missing:
        by_component.setdefault(component, {})[path.replace("/", "\\").rsplit("\\", 1)[-1].upper()] = path
    done: set[tuple[str, bool]] = set()
    ordered = [r for r in requests if not r.lookup_only] + [r for r in requests if r.lookup_only]
    for req in ordered:  # listed folders first: a name found there needs no lookup-only search
        key = (req.path.upper(), req.lookup_only)
        if key in done:
            continue
        done.add(key)
        wanted = by_component.setdefault(req.component, {})
        if ntfs is None:
            scan.folders.append(plain_folder(fs, req, seen, wanted, scan, note))
        elif req.lookup_only:
            scan.folders.append(_look_up_names(ntfs, req, wanted, scan, note))
        else:
            scan.folders.append(_folder(ntfs, req, seen, wanted, scan, note))
    return scan
