"""Component folders: every PE file in the folders a component profile names, one directory listing each.

A profile's file list cannot know every DLL a server holds: a hotfix, a role service or a third-party ISAPI
filter adds files to ``system32\\inetsrv`` that no list names, and a file's folder differs between Windows
releases. So each folder a component profile names (``folders`` in profiles/components/*.toml) is listed --
one listing per folder and per subfolder down to the profile's ``depth``, never a walk of the volume -- and
every file whose first bytes are a PE header (``MZ`` and the ``PE\\0\\0`` signature at ``e_lfanew``,
Microsoft "PE Format" 2.1-2.2: the extension is not trusted) is inventoried through
:func:`scanner.collectors.pe_version.read_pe_version`, which reads only the headers and the resource section.
Files found only by the listing are not hashed (hashing reads the whole file; the version resource is what
the rules judge).

A file the profile lists but that is not at its listed path is looked for by name in the component's folder
listings (any depth), then by name in each ``lookup_only`` folder (a folder too large to list, such as
``system32``, where another Windows release keeps the file). Found there, it is found, not missing.

One algorithm, two trees: on NTFS a listing is the folder's ``$I30`` index and a lookup one B-tree search
(:mod:`scanner.evidence.ntfs`), with the file's MFT times; in a directory source (a mounted volume, a triage
collection) the host file system's listing, matched case-insensitively, and NTFS times are a gap.

The cost is bounded by the folders' own sizes, never the volume's: each listing is capped, a folder's PE
files at :data:`MAX_PE_FILES`, its subfolders at :data:`MAX_SUBFOLDERS`; what is cut is a gap. Each folder
record carries what it cost (listings, MFT records, file bytes read).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, BinaryIO, Protocol, cast

from scanner.collectors.files import file_state, pe_fields, sha256_of
from scanner.collectors.folder_facts import (
    MAX_PE_FILES,
    MAX_SUBFOLDERS,
    ComponentFolder,
    Cost,
    Counted,
    CountedRecord,
    FolderRequest,
    FolderScan,
    is_directory,
    is_pe_stream,
)
from scanner.collectors.pe_version import PeUnreadable, PeVersion, read_pe_version
from scanner.collectors.volume import listdir_entries, lookup, windows_path
from scanner.evidence import ntfs as mft
from scanner.evidence.errors import READ_ERRORS
from scanner.model import FileState, Gap, Provenance

__all__ = [
    "MAX_PE_FILES",
    "MAX_SUBFOLDERS",
    "ComponentFolder",
    "FolderRequest",
    "FolderScan",
    "collect_component_folders",
]

_NOT_PE = "not-pe"
_Entry = tuple[str, Any, bool]  # (name as stored, child, is_dir)


class _Absent(LookupError):
    """The folder is not in the source: ``gap`` for a listed folder's gap, ``reason`` for its record."""

    def __init__(self, gap: str, reason: str) -> None:
        super().__init__(gap)
        self.gap, self.reason = gap, reason


class _Tree(Protocol):
    """What the component-folder inventory needs of a source (NTFS, or a directory source)."""

    absent: str  # why an absent folder holds nothing ("not present on the volume")
    counts_records: bool  # each listed entry is an MFT record read (NTFS)

    def open(self, path: str) -> tuple[Any, str, Provenance]: ...
    def children(self, directory: Any, path: str, gaps: list[Gap]) -> list[_Entry]: ...
    def find(self, directory: Any, real: str, name: str, cost: Cost) -> tuple[str, Any] | None: ...
    def read(
        self, child: Any, path: str, why: str, hashed: bool, cost: Cost, gaps: list[Gap], source: Provenance
    ) -> FileState | str | None: ...


class _Ntfs:
    """The volume's MFT: ``$I30`` listings and searches, files with their MFT times."""

    absent = "not present on the volume"
    counts_records = True

    def __init__(self, ntfs: Any, note: str) -> None:
        self._ntfs, self._note = ntfs, note

    def open(self, path: str) -> tuple[Any, str, Provenance]:
        try:
            record, real = mft.resolve(self._ntfs, path)
        except mft.Missing as exc:
            raise _Absent(f"component folder {self.absent}", self.absent) from exc
        except READ_ERRORS as exc:
            reason = f"component folder lookup failed: {type(exc).__name__}: {exc}"
            raise _Absent(reason, reason) from exc
        return record, real, Provenance(real, f"MFT entry {record.segment}", self._note)

    def children(self, directory: Any, path: str, gaps: list[Gap]) -> list[_Entry]:
        return mft.listing(directory, path, gaps)

    def find(self, directory: Any, real: str, name: str, cost: Cost) -> tuple[str, Any] | None:
        try:
            child, stored = mft.child(directory, name)  # the one lookup: a stale entry is absent
            cost.mft_records += 1
            if child.is_dir():
                return None
            return f"{real}\\{stored}", child
        except READ_ERRORS:  # mft.Missing is a LookupError, one of them
            return None

    def read(
        self, child: Any, path: str, why: str, hashed: bool, cost: Cost, gaps: list[Gap], source: Provenance
    ) -> FileState | str | None:
        try:
            if not hashed and not is_pe_stream(Counted(child.open(), cost), int(child.size())):
                return _NOT_PE
        except READ_ERRORS as exc:
            gaps.append(Gap(path, f"file data unreadable: {type(exc).__name__}: {exc}", (source,)))
            return None
        return file_state(CountedRecord(child, cost), path, why, gaps, hashed)


class _Directory:
    """A directory source: the host file system's listings, versions and hashes but no NTFS times."""

    absent = "not present in the directory source"
    counts_records = False
    _NO_TIMES = "directory source: NTFS creation and $FILE_NAME times are not available"

    def __init__(self, fs: Any, note: str) -> None:
        self._fs, self._note = fs, note

    def open(self, path: str) -> tuple[Any, str, Provenance]:
        directory = lookup(self._fs, path)
        if directory is None or not is_directory(directory):
            raise _Absent(f"component folder {self.absent}", self.absent)
        real = windows_path(directory, path)
        return directory, real, Provenance(real, "folder in a directory source", self._note)

    def children(self, directory: Any, path: str, gaps: list[Gap]) -> list[_Entry]:
        out = []
        for entry in sorted(listdir_entries(directory), key=lambda e: str(e.name).upper()):
            try:
                out.append((str(entry.name), entry, bool(entry.is_dir())))
            except READ_ERRORS:
                continue
        return out

    def find(self, directory: Any, real: str, name: str, cost: Cost) -> tuple[str, Any] | None:
        entry = lookup(self._fs, f"{real}\\{name}")
        return (f"{real}\\{entry.name}", entry) if entry is not None else None

    def read(
        self, child: Any, path: str, why: str, hashed: bool, cost: Cost, gaps: list[Gap], source: Provenance
    ) -> FileState | str | None:
        cited = Provenance(path, "file in a directory source", why)
        try:
            stat = child.stat()
            size = int(stat.st_size)
            with child.open("rb") as raw:
                fh = Counted(raw, cost)
                if not hashed and not is_pe_stream(fh, size):
                    return _NOT_PE
                fh.seek(0)
                pe: PeVersion | None = None
                try:
                    pe = read_pe_version(cast(BinaryIO, fh), size)  # Counted reads and seeks like one
                except PeUnreadable as exc:
                    gaps.append(Gap(path, f"PE version unreadable: {exc}", (cited,)))
                digest = sha256_of(fh, size) if hashed else None
        except READ_ERRORS as exc:
            gaps.append(Gap(path, f"file data unreadable: {type(exc).__name__}: {exc}"))
            return None
        gaps.append(Gap(path, self._NO_TIMES, (cited,)))
        return FileState(
            path=path,
            **pe_fields(pe),
            size=size,
            sha256=digest,
            modified_at=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
            created_at=None,
            sources=(cited,),
        )


def _walk(
    tree: _Tree, directory: Any, path: str, depth: int, cost: Cost, gaps: list[Gap]
) -> tuple[list[tuple[str, Any]], int, int, str | None]:
    """(path, child) of each file in the folder and its subfolders to ``depth``; entries, subfolders, cut."""
    files: list[tuple[str, Any]] = []
    pending, entries, subfolders, cut = [(directory, path, 0)], 0, 0, None
    while pending:
        current, where, level = pending.pop(0)
        listing = tree.children(current, where, gaps)
        cost.listings += 1
        cost.mft_records += len(listing) if tree.counts_records else 0
        entries += len(listing)
        for name, child, is_folder in listing:
            child_path = f"{where}\\{name}"
            if not is_folder:
                files.append((child_path, child))
            elif level < depth and subfolders < MAX_SUBFOLDERS:
                subfolders += 1
                pending.append((child, child_path, level + 1))
            elif level < depth:
                cut = f"subfolders cut at {MAX_SUBFOLDERS}"
    return files, entries, subfolders, cut


def _folder(
    tree: _Tree, req: FolderRequest, known: set[str], wanted: dict[str, str], scan: FolderScan, note: str
) -> ComponentFolder:
    """List one profile folder (or, lookup-only, search it by name) and inventory its PE files."""
    cost = Cost()
    try:
        directory, real, source = tree.open(req.path)
    except _Absent as absent:
        if req.lookup_only:  # only searched for names still missing: its absence is no gap of its own
            return _absent(req, tree.absent)
        scan.gaps.append(Gap(req.path, absent.gap))
        return _absent(req, absent.reason)
    gaps: list[Gap] = []
    entries: int | None = None
    subfolders, cut = 0, None
    if req.lookup_only:
        found = [hit for name in list(wanted) if (hit := tree.find(directory, real, name, cost)) is not None]
    else:
        try:
            found, entries, subfolders, cut = _walk(tree, directory, real, req.depth, cost, gaps)
        except READ_ERRORS as exc:
            found, entries, cut = [], 0, f"listing unreadable: {type(exc).__name__}: {exc}"
    pe_files = unlisted = not_pe = 0
    for path, child in found:
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
        if listed_as is None and req.lookup_only:
            continue
        why = (f"{note}; " if note else "") + (
            f"listed by the profile as {listed_as}" if listed_as else f"in component folder {real}"
        )
        state = tree.read(child, path, why, listed_as is not None, cost, gaps, source)
        if state == _NOT_PE:
            not_pe += 1
        if not isinstance(state, FileState):
            continue
        pe_files += 1
        known.add(key)
        if listed_as:
            scan.relocated[listed_as] = path
        else:
            unlisted += 1
        scan.files.append(replace(state, component=req.component))
    if cut:
        gaps.append(Gap(real, cut, (source,)))
    scan.gaps += gaps
    return ComponentFolder(
        path=real,
        component=req.component,
        depth=req.depth,
        lookup_only=req.lookup_only,
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
    """The record of a folder that is not in the source: nothing listed, nothing read."""
    return ComponentFolder(
        req.path, req.component, req.depth, req.lookup_only, False, None, 0, 0, 0, 0, 0, 0, 0, reason
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
        fs: the system volume's dissect filesystem: NTFS (listed through its MFT), else a directory source.
        requests: the folders, in profile order.
        known: paths already read (the files the profiles list, found at their paths): not read again.
        missing: (listed path, component id) of listed files not found at their path, to look for by name.
        volume_label: put in each provenance's note when given.

    Returns:
        A :class:`FolderScan`; a listed file still not found stays the caller's "not present" gap.
    """
    scan = FolderScan()
    note = f"volume {volume_label}" if volume_label else ""
    ntfs = mft.ntfs_of(fs)
    tree: _Tree = _Ntfs(ntfs, note) if ntfs is not None else _Directory(fs, note)
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
        scan.folders.append(_folder(tree, req, seen, by_component.setdefault(req.component, {}), scan, note))
    return scan
