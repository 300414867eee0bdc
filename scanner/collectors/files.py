"""Component file facts from the system volume's MFT: PE version, size, SHA-256 and NTFS times.

A file copied by update.exe or a service pack keeps its build date as ``$STANDARD_INFORMATION`` modified time
while its creation time and its ``$FILE_NAME`` times are the install time (fixtures/README "Windows-like file
times"), so both attributes are read from the MFT record itself, exact, through :mod:`scanner.evidence.ntfs`
(the one NTFS lookup: bounded ``$I30`` searches, never a walk of the volume).

A directory source (mounted volume, triage collection) has no MFT: versions and hashes are read through the
host file system and the NTFS times are a gap, never guessed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scanner.collectors.pe_version import PeUnreadable, PeVersion, read_pe_version
from scanner.collectors.volume import lookup
from scanner.evidence import ntfs as mft
from scanner.evidence.errors import READ_ERRORS
from scanner.model import FileState, FileVersion, Gap, Provenance

__all__ = [
    "MAX_HASH_SIZE",
    "FilesRead",
    "collect_files",
    "file_state",
    "pe_fields",
    "read_files",
    "sha256_of",
]

MAX_HASH_SIZE = 256 * 1024 * 1024
_CHUNK = 1024 * 1024


def sha256_of(fh: Any, size: int) -> str | None:
    """Stream the file in 1 MiB chunks; None when the stream ends before ``size``."""
    digest, left = hashlib.sha256(), size
    fh.seek(0)
    while left > 0:
        chunk = fh.read(min(_CHUNK, left))
        if not chunk:
            return None
        digest.update(chunk)
        left -= len(chunk)
    return digest.hexdigest()


def pe_fields(pe: PeVersion | None) -> dict[str, Any]:
    """The FileState fields a PE version resource provides (all None when it could not be read)."""
    return {
        "version": FileVersion.parse(pe.file_version) if pe else None,
        "lab_tag": pe.lab_tag if pe else None,
        "file_version_string": pe.file_version_string if pe else None,
        "product_version": pe.product_version if pe else None,
        "link_time": pe.link_time if pe else None,
    }


def file_state(record: Any, path: str, note: str, gaps: list[Gap], hash_files: bool) -> FileState:
    """Facts for one file record; what cannot be read becomes a Gap and a None field."""
    source = Provenance(path, f"MFT entry {record.segment}", note)
    si_c = si_m = fn_c = fn_m = None
    size: int | None = None
    digest: str | None = None
    pe: PeVersion | None = None
    try:
        when = mft.times(record, path.rsplit("\\", 1)[-1])
        si_c, si_m, fn_c, fn_m = when.si_created, when.si_modified, when.fn_created, when.fn_modified
    except READ_ERRORS as exc:
        gaps.append(Gap(path, f"$STANDARD_INFORMATION/$FILE_NAME unreadable: {exc}", (source,)))
    try:
        size = int(record.size())
        fh = record.open()
        try:
            pe = read_pe_version(fh, size)
            if pe.file_version is None:
                gaps.append(
                    Gap(path, f"no version: {'; '.join(pe.warnings[:1]) or 'no version resource'}", (source,))
                )
        except PeUnreadable as exc:
            gaps.append(Gap(path, f"PE version unreadable: {exc}", (source,)))
        if hash_files and size > MAX_HASH_SIZE:
            gaps.append(Gap(path, f"not hashed: {size} bytes is more than {MAX_HASH_SIZE}", (source,)))
        elif hash_files:
            digest = sha256_of(fh, size)
            if digest is None:
                gaps.append(Gap(path, "not hashed: the file data ends before its size", (source,)))
    except READ_ERRORS as exc:
        gaps.append(Gap(path, f"file data unreadable: {type(exc).__name__}: {exc}", (source,)))
    return FileState(
        path=path,
        **pe_fields(pe),
        size=size,
        sha256=digest,
        modified_at=si_m,
        created_at=si_c,
        fn_created_at=fn_c,
        fn_modified_at=fn_m,
        sources=(source,),
    )


def _plain_file_state(fs: Any, path: str, note: str, gaps: list[Gap], hash_files: bool) -> FileState | None:
    """A directory source (mounted volume, triage collection): versions and hashes, but no MFT times.

    The host file system's modification time is kept (a copy tool may or may not preserve it); NTFS
    creation and $FILE_NAME times are not available and are reported as a gap, never guessed.
    """
    entry = lookup(fs, path)
    if entry is None or not entry.is_file():
        gaps.append(Gap(path, "not present in the directory source"))
        return None
    real = "\\".join(entry.parts[1:]) if hasattr(entry, "parts") else path
    source = Provenance(real, "file in a directory source", note)
    gaps.append(
        Gap(path, "directory source: NTFS creation and $FILE_NAME times are not available", (source,))
    )
    try:
        stat = entry.stat()
        size = int(stat.st_size)
        with entry.open("rb") as fh:
            try:
                pe: PeVersion | None = read_pe_version(fh, size)
            except PeUnreadable as exc:
                pe = None
                gaps.append(Gap(path, f"PE version unreadable: {exc}", (source,)))
            digest = sha256_of(fh, size) if hash_files and size <= MAX_HASH_SIZE else None
    except READ_ERRORS as exc:
        gaps.append(Gap(path, f"file data unreadable: {type(exc).__name__}: {exc}", (source,)))
        return None
    return FileState(
        path=real,
        **pe_fields(pe),
        size=size,
        sha256=digest,
        modified_at=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
        created_at=None,
        sources=(source,),
    )


@dataclass(frozen=True)
class FilesRead:
    """What :func:`read_files` found: the files, the gaps, and (typed) the paths the MFT does not hold.

    ``absent`` lists the requested paths no ``$I30`` index holds (the "not present on the volume" gaps), so a
    caller deciding where else to look reads a field, not a gap's text. A directory source's missing files
    are gaps only (``absent`` stays empty), as before.
    """

    files: tuple[FileState, ...]
    gaps: tuple[Gap, ...]
    absent: tuple[str, ...]


def collect_files(
    fs: Any, paths: Sequence[str], *, volume_label: str = "", hash_files: bool = True
) -> tuple[list[FileState], list[Gap]]:
    """:func:`read_files` as (files, gaps)."""
    found = read_files(fs, paths, volume_label=volume_label, hash_files=hash_files)
    return list(found.files), list(found.gaps)


def read_files(
    fs: Any, paths: Sequence[str], *, volume_label: str = "", hash_files: bool = True
) -> FilesRead:
    """Read file facts for each path on the system volume.

    Args:
        fs: the system volume's dissect filesystem (``NtfsFilesystem``: ``Target.volumes[i].fs``).
        paths: Windows paths relative to the volume root, looked up case-insensitively.
        volume_label: put in each provenance's note (``volume <label>``) when given.
        hash_files: compute SHA-256 (files over :data:`MAX_HASH_SIZE` are skipped with a Gap).

    Returns:
        One FileState per path found (its ``path`` spelled as on disk, in request order, duplicates merged),
        the gaps (missing files, unreadable PEs, files without a version resource) and the absent paths.
    """
    note = f"volume {volume_label}" if volume_label else ""
    ntfs = mft.ntfs_of(fs)
    files: list[FileState] = []
    gaps: list[Gap] = []
    absent: list[str] = []
    seen: set[str] = set()
    for path in paths:
        key = "\\".join(p for p in path.replace("/", "\\").split("\\") if p).upper()
        if key in seen:
            continue
        seen.add(key)
        if ntfs is None:
            state = _plain_file_state(fs, path, note, gaps, hash_files)
            if state is not None:
                files.append(state)
            continue
        try:
            record, real = mft.resolve(ntfs, path)
        except mft.Missing:
            gaps.append(Gap(path, "not present on the volume"))
            absent.append(path)
            continue
        except READ_ERRORS as exc:
            gaps.append(Gap(path, f"lookup failed: {type(exc).__name__}: {exc}"))
            continue
        if record.is_dir():
            gaps.append(Gap(path, "is a directory, not a file"))
            continue
        if real.upper() != key and real.upper() in seen:
            continue
        seen.add(real.upper())
        files.append(file_state(record, real, note, gaps, hash_files))
    return FilesRead(tuple(files), tuple(gaps), tuple(absent))
