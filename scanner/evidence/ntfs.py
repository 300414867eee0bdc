"""The one NTFS lookup: bounded ``$I30`` path resolution, directory listings and exact FILETIMEs.

Every collector that needs an MFT record (component files, component folders, uninstall folders, an install
folder's creation time) reads it through here, so there is one definition of "found", "live" and "when".

Paths are looked up directly, one B-tree search of each parent's ``$I30`` index per component (NTFS: names
compare after upper-casing), never by walking the volume. dissect.ntfs's own ``Index.search`` follows node
VCNs without a depth limit, so a hostile index could loop; the search here is bounded by :data:`MAX_DEPTH`.
Directory listings read each index once and are capped at :data:`MAX_ENTRIES`; an entry whose MFT record is no
longer in use or has another sequence number (a stale entry left in an unused INDX block) is ignored.

FILETIMEs ([MS-DTYP] 2.3.3, 100 ns since 1601, UTC) are converted from the raw integers of the
``$STANDARD_INFORMATION`` and ``$FILE_NAME`` attributes: dissect's float datetimes (and
``stat().st_birthtime``) can be 1 µs off, which is enough to split one install into two timeline entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dissect.ntfs.exceptions import Error as NtfsError

from scanner.evidence.errors import READ_ERRORS
from scanner.formats.filetime import filetime
from scanner.model import Gap

__all__ = [
    "MAX_DEPTH",
    "MAX_ENTRIES",
    "FileTimes",
    "Missing",
    "filetime",
    "in_use",
    "listing",
    "ntfs_of",
    "resolve",
    "search",
    "times",
]

MAX_DEPTH = 16  # B-tree levels of one $I30 index; real directories have 1-3
MAX_ENTRIES = 20_000  # entries read from one directory listing
MAX_PARTS = 64  # path components of one lookup
_SI, _FN = 0x10, 0x30  # attribute type codes
_DOS_NAME = 2  # $FILE_NAME namespace flag of an 8.3-only name


class Missing(LookupError):
    """A path component is not in its parent's index (or names a record no longer in use)."""


@dataclass(frozen=True)
class FileTimes:
    """The four times of an MFT record that say when a file arrived, exact to the microsecond (UTC).

    ``si_*`` come from ``$STANDARD_INFORMATION`` (a copy keeps the build's modified time), ``fn_*`` from the
    ``$FILE_NAME`` carrying the record's long name (written when the name was created: the install).
    """

    si_created: datetime | None
    si_modified: datetime | None
    fn_created: datetime | None
    fn_modified: datetime | None


def ntfs_of(fs: Any) -> Any:
    """The dissect ``NTFS`` object behind a file system, or None for a directory source."""
    return getattr(fs, "ntfs", None)


def in_use(record: Any, entry: Any) -> bool:
    """The record is allocated and is the one the index entry names (same sequence number)."""
    header = record.header
    return bool(header.Flags & 0x01) and header.SequenceNumber == entry.header.FileReference.SequenceNumber


def search(directory: Any, name: str) -> Any:
    """Bounded B-tree search of a directory's ``$I30`` for ``name``; returns the IndexEntry."""
    if not directory.is_dir():
        raise Missing(name)
    index = directory.index("$I30")
    key = name.upper()
    entries = list(index.root.entries())
    for _ in range(MAX_DEPTH):
        child = None
        for entry in entries[:MAX_ENTRIES]:
            if entry.is_end:
                child = entry.node_vcn
                break
            found = entry.attribute.file_name.upper()
            if found == key:
                return entry
            if found > key:
                child = entry.node_vcn
                break
        if child is None:
            raise Missing(name)
        entries = list(index.index_buffer(child).entries())
    raise NtfsError(f"$I30 index of MFT entry {directory.segment} is deeper than {MAX_DEPTH} levels")


def child(directory: Any, name: str) -> tuple[Any, str]:
    """The live MFT record ``name`` names in ``directory`` and the name as stored on disk.

    One step of :func:`resolve`, for a caller that already holds the directory (a component folder's
    listing): the same search and the same stale-entry check, so a reused record is never read as the file.

    Raises:
        Missing: no such name, or the index entry names a stale record.
    """
    entry = search(directory, name)
    record = entry.dereference()
    if not in_use(record, entry):
        raise Missing(name)
    return record, entry.attribute.file_name


def resolve(ntfs: Any, path: str) -> tuple[Any, str]:
    """Resolve a volume-relative path; returns the MFT record and the path as spelled on disk.

    Raises:
        Missing: a component is absent or names a stale record.
        READ_ERRORS: the index or a record is damaged.
    """
    parts = [p for p in path.replace("/", "\\").split("\\") if p]
    if not parts or len(parts) > MAX_PARTS or any(p in (".", "..") for p in parts):
        raise Missing(path)
    node, names = ntfs.mft.root, []
    for part in parts:
        try:
            node, stored = child(node, part)
        except Missing as exc:
            raise Missing(path) from exc
        names.append(stored)
    return node, "\\".join(names)


def listing(directory: Any, path: str, gaps: list[Gap]) -> list[tuple[str, Any, bool]]:
    """(name, record, is_dir) of a directory's live entries, sorted; DOS names and stale entries left out."""
    out: list[tuple[str, Any, bool]] = []
    seen: set[int] = set()
    bad = 0
    for count, entry in enumerate(directory.iterdir(ignore_dos=True)):
        if count >= MAX_ENTRIES:
            gaps.append(Gap(path, f"directory listing cut at {MAX_ENTRIES} entries"))
            break
        try:
            record = entry.dereference()
            if record.segment in seen or not in_use(record, entry):
                continue
            seen.add(record.segment)
            out.append((entry.attribute.file_name, record, bool(record.is_dir())))
        except READ_ERRORS:
            bad += 1
    if bad:
        gaps.append(Gap(path, f"{bad} directory entries unreadable"))
    return sorted(out, key=lambda e: e[0].upper())


def _attr(record: Any, code: int, name: str | None = None) -> Any:
    """The first parsed attribute of a type; for $FILE_NAME the one carrying ``name`` (not the 8.3 one)."""
    attrs = [a.attribute for a in record.attributes[code] if a.attribute is not None]
    if name is not None:
        named = [a for a in attrs if a.flags != _DOS_NAME and a.file_name.upper() == name.upper()]
        attrs = named or [a for a in attrs if a.flags != _DOS_NAME] or attrs
    return attrs[0] if attrs else None


def times(record: Any, name: str) -> FileTimes:
    """The record's ``$STANDARD_INFORMATION`` and ``$FILE_NAME`` (long name ``name``) times, exact."""
    si, fn = _attr(record, _SI), _attr(record, _FN, name)
    return FileTimes(
        filetime(si.attr.CreationTime) if si is not None else None,
        filetime(si.attr.LastModificationTime) if si is not None else None,
        filetime(fn.attr.CreationTime) if fn is not None else None,
        filetime(fn.attr.LastModificationTime) if fn is not None else None,
    )
