"""Finding artefacts on the system volume by name: case-insensitive lookups and bounded directory listings.

Windows names are case-insensitive, but a directory source (a mounted volume or a triage collection on a Linux
host) is not, so every lookup matches one path component at a time against the directory's listing. A listing
reads one directory index (never a walk of the volume), and is capped so a hostile directory with millions of
entries cannot make the scan's cost grow without bound.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from scanner.evidence import ntfs as mft
from scanner.evidence.errors import READ_ERRORS

__all__ = ["MAX_DIR_ENTRIES", "READ_ERRORS", "glob", "listdir", "lookup", "size_of", "windows_path"]

MAX_DIR_ENTRIES = 200_000


def _root(fs: Any) -> Any:
    return fs.path("/") if hasattr(fs, "path") else fs


def lookup(fs: Any, path: str) -> Any | None:
    """The entry at ``path`` (``\\`` or ``/`` separated, volume-relative), matched case-insensitively."""
    try:
        current = _root(fs)
    except READ_ERRORS:
        return None
    for part in (p for p in re.split(r"[\\/]", path) if p):
        if part in (".", ".."):
            return None
        try:
            exact = current.joinpath(part)
            if exact.exists():
                current = exact
                continue
        except READ_ERRORS:
            pass
        match = next((e for e in listdir_entries(current) if e.name.lower() == part.lower()), None)
        if match is None:
            return None
        current = match
    return current


def listdir_entries(directory: Any) -> list[Any]:
    """A directory's entries (at most :data:`MAX_DIR_ENTRIES`); empty when it is missing or unreadable."""
    try:
        return list(itertools.islice(directory.iterdir(), MAX_DIR_ENTRIES))
    except READ_ERRORS:
        return []


def listdir(fs: Any, path: str) -> list[Any]:
    """The entries of the directory at ``path``, or an empty list."""
    directory = lookup(fs, path)
    if directory is None:
        return []
    try:
        if not directory.is_dir():
            return []
    except READ_ERRORS:
        return []
    return listdir_entries(directory)


def glob(fs: Any, directory: str, pattern: str) -> Iterator[tuple[str, Any]]:
    """Files in ``directory`` whose names match the regular expression ``pattern`` (case-insensitive).

    Yields ``(windows_path, entry)`` sorted by name, ``windows_path`` being the volume-relative path with
    the names as stored (the artefact path reports cite).
    """
    regex = re.compile(pattern, re.IGNORECASE)
    found = []
    for entry in listdir(fs, directory):
        if regex.fullmatch(entry.name):
            try:
                if not entry.is_file():
                    continue
            except READ_ERRORS:
                continue
            found.append((windows_path(entry, directory), entry))
    yield from sorted(found, key=lambda item: item[0].lower())


def windows_path(entry: Any, fallback_dir: str = "") -> str:
    """``WINDOWS\\system32\\LogFiles\\W3SVC1\\ex091209.log`` for an entry below the volume root."""
    parts = getattr(entry, "parts", None)
    if parts:
        return "\\".join(p for p in parts[1:] if p not in ("/", ""))
    name = getattr(entry, "name", "")
    return f"{fallback_dir.strip(chr(92))}\\{name}" if fallback_dir else name


def created_at(fs: Any, path: str) -> tuple[datetime, str] | None:
    """The NTFS creation time of ``path`` and its locator (``MFT entry N``), or None when unknown.

    On NTFS the ``$STANDARD_INFORMATION`` creation FILETIME is read exactly (:mod:`scanner.evidence.ntfs`,
    the one NTFS lookup); a directory source has only what its host file system keeps (``st_birthtime``).
    """
    ntfs = mft.ntfs_of(fs)
    if ntfs is not None:
        try:
            record, real = mft.resolve(ntfs, path)
            when = mft.times(record, real.rsplit("\\", 1)[-1]).si_created
        except READ_ERRORS:  # mft.Missing is a LookupError, one of them
            return None
        return (when, f"MFT entry {record.segment}") if when is not None else None
    entry = lookup(fs, path)
    if entry is None:
        return None
    try:
        stat = entry.stat()
    except READ_ERRORS:
        return None
    birth = getattr(stat, "st_birthtime", None)
    if not birth:
        return None
    try:
        return datetime.fromtimestamp(float(birth), tz=timezone.utc), f"MFT entry {stat.st_ino}"
    except (OverflowError, OSError, ValueError):  # a hostile $STANDARD_INFORMATION time: unknown
        return None


def size_of(entry: Any) -> int | None:
    try:
        return int(entry.stat().st_size)
    except READ_ERRORS:
        return None
