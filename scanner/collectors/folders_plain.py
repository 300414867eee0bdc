"""Component folders in a directory source (a mounted volume, a triage collection): one listing per folder.

The same inventory as the NTFS reader (:mod:`scanner.collectors.folders`) -- every file with a PE header,
read only as far as its version resource, a listed file found at another path of the component -- through the
host file system's directory listing (:mod:`scanner.collectors.volume`, case-insensitive). A directory has no
MFT: ``mft_records`` stays 0, and the NTFS creation and ``$FILE_NAME`` times are a gap, never guessed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, BinaryIO, cast

from scanner.collectors.files import pe_fields, sha256_of
from scanner.collectors.folder_facts import (
    MAX_PE_FILES,
    MAX_SUBFOLDERS,
    ComponentFolder,
    Cost,
    Counted,
    FolderRequest,
    FolderScan,
    is_pe_stream,
)
from scanner.collectors.pe_version import PeUnreadable, PeVersion, read_pe_version
from scanner.collectors.volume import listdir_entries, lookup, windows_path
from scanner.evidence.errors import READ_ERRORS
from scanner.model import FileState, Gap, Provenance

__all__ = ["plain_folder"]

_NO_TIMES = "directory source: NTFS creation and $FILE_NAME times are not available"


def _walk(
    directory: Any, path: str, depth: int, cost: Cost
) -> tuple[list[tuple[str, Any]], int, int, str | None]:
    """(path, entry) of each file in the folder and its subfolders to ``depth``; entries, subfolders, cut."""
    files: list[tuple[str, Any]] = []
    pending, entries, subfolders, cut = [(directory, path, 0)], 0, 0, None
    while pending:
        current, where, level = pending.pop(0)
        listing = sorted(listdir_entries(current), key=lambda e: str(e.name).upper())
        cost.listings += 1
        entries += len(listing)
        for entry in listing:
            child = f"{where}\\{entry.name}"
            try:
                is_dir = bool(entry.is_dir())
            except READ_ERRORS:
                continue
            if not is_dir:
                files.append((child, entry))
            elif level < depth and subfolders < MAX_SUBFOLDERS:
                subfolders += 1
                pending.append((entry, child, level + 1))
            elif level < depth:
                cut = f"subfolders cut at {MAX_SUBFOLDERS}"
    return files, entries, subfolders, cut


def _state(
    entry: Any, path: str, why: str, component: str, cost: Cost, gaps: list[Gap], hash_file: bool
) -> FileState | None:
    """Version (and, for a listed file, hash) of one file; None when it is not a PE and not listed."""
    source = Provenance(path, "file in a directory source", why)
    stat = entry.stat()
    size = int(stat.st_size)
    with entry.open("rb") as raw:
        fh = Counted(raw, cost)
        if not hash_file and not is_pe_stream(fh, size):
            return None
        fh.seek(0)
        pe: PeVersion | None = None
        try:
            pe = read_pe_version(cast(BinaryIO, fh), size)  # Counted reads and seeks like one
        except PeUnreadable as exc:
            gaps.append(Gap(path, f"PE version unreadable: {exc}", (source,)))
        digest = sha256_of(fh, size) if hash_file else None
    gaps.append(Gap(path, _NO_TIMES, (source,)))
    return FileState(
        path=path,
        **pe_fields(pe),
        size=size,
        sha256=digest,
        modified_at=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
        created_at=None,
        component=component,
        sources=(source,),
    )


def plain_folder(
    fs: Any, req: FolderRequest, known: set[str], wanted: dict[str, str], scan: FolderScan, note: str
) -> ComponentFolder:
    """List one profile folder of a directory source (or look listed names up in a lookup-only one)."""
    cost = Cost()
    directory = lookup(fs, req.path)
    if directory is None or not _is_dir(directory):
        if not req.lookup_only:
            scan.gaps.append(Gap(req.path, "component folder not present in the directory source"))
        return ComponentFolder(
            req.path, req.component, req.depth, req.lookup_only, False, None, 0, 0, 0, 0, 0, 0, 0,
            "not present in the directory source",
        )  # fmt: skip
    real = windows_path(directory, req.path)
    gaps: list[Gap] = []
    if req.lookup_only:
        found = [(f"{real}\\{e.name}", e) for e in [lookup(fs, f"{real}\\{n}") for n in list(wanted)] if e]
        entries, subfolders, cut = None, 0, None
    else:
        found, listed, subfolders, cut = _walk(directory, real, req.depth, cost)
        entries = listed
    pe_files = unlisted = not_pe = 0
    for path, entry in found:
        key = path.upper()
        if key in known:
            scan.placed.setdefault(key, req.component)
            pe_files += 1
            continue
        if pe_files >= MAX_PE_FILES:
            cut = cut or f"PE inventory cut at {MAX_PE_FILES} files"
            break
        listed_as = wanted.pop(path.rsplit("\\", 1)[-1].upper(), None)
        if listed_as is None and req.lookup_only:
            continue
        why = (f"{note}; " if note else "") + (
            f"listed by the profile as {listed_as}" if listed_as else f"in component folder {real}"
        )
        try:
            state = _state(entry, path, why, req.component, cost, gaps, listed_as is not None)
        except READ_ERRORS as exc:
            gaps.append(Gap(path, f"file data unreadable: {type(exc).__name__}: {exc}"))
            continue
        if state is None:
            not_pe += 1
            continue
        pe_files += 1
        known.add(key)
        if listed_as:
            scan.relocated[listed_as] = path
        else:
            unlisted += 1
        scan.files.append(state)
    if cut:
        gaps.append(Gap(real, cut))
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
        mft_records=0,
        bytes_read=cost.bytes_read,
        gap=cut,
        sources=(Provenance(real, "folder in a directory source", note),),
    )


def _is_dir(entry: Any) -> bool:
    try:
        return bool(entry.is_dir())
    except READ_ERRORS:
        return False
