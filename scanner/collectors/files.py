"""Component file facts from the system volume's MFT: PE version, size, SHA-256 and NTFS times.

A file copied by update.exe or a service pack keeps its build date as ``$STANDARD_INFORMATION`` modified time
while its creation time and its ``$FILE_NAME`` times are the install time (fixtures/README "Windows-like file
times"), so both attributes are read from the MFT record itself. FILETIMEs ([MS-DTYP] 2.3.3) are converted
from the raw integers: dissect's float datetimes can be 1 µs off.

Paths are looked up directly, one B-tree search of each parent's ``$I30`` index per component (NTFS: names
compare after upper-casing), never by walking the volume. dissect.ntfs's own ``Index.search`` follows node
VCNs without a depth limit, so a hostile index could loop; the search here is bounded by ``_MAX_DEPTH``.
Directory listings (uninstall folders) read each index once and are capped at ``_MAX_ENTRIES``; an entry whose
MFT record is no longer in use or has another sequence number (a stale entry left in an unused INDX block) is
ignored.

Backup folders under %SystemRoot% (Microsoft KB824994, "Description of the contents of a Windows Server 2003
product update package"): ``$NtUninstall<id>$`` holds the files a hotfix replaced,
``$NtServicePackUninstall$`` the files a service pack replaced -- their versions are the versions BEFORE the
update -- and ``$hf_mig$\\<id>`` holds the hotfix (QFE-branch) copies of a GDR update for later migration,
i.e. versions OF the update.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dissect.ntfs.exceptions import Error as NtfsError

from scanner.collectors.pe_version import PeUnreadable, PeVersion, read_pe_version
from scanner.collectors.volume import lookup
from scanner.evidence.errors import READ_ERRORS
from scanner.model import FileState, FileVersion, Gap, Provenance, iso

__all__ = ["MAX_HASH_SIZE", "UninstallFolder", "collect_files", "collect_uninstall_folders"]

MAX_HASH_SIZE = 256 * 1024 * 1024
_CHUNK = 1024 * 1024
_MAX_DEPTH = 16  # B-tree levels of one $I30 index; real directories have 1-3
_MAX_ENTRIES = 20_000  # entries read from one directory listing
_MAX_PARTS = 64
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_SI, _FN = 0x10, 0x30  # attribute type codes
_DOS_NAME = 2  # $FILE_NAME namespace flag of an 8.3-only name
_NT_UNINSTALL = re.compile(r"^\$NtUninstall(.+)\$$", re.IGNORECASE)
_SP_UNINSTALL = "$ntservicepackuninstall$"
_HF_MIG = "$hf_mig$"
_UNINSTALLER_DIR = "spuninst"  # the uninstaller's own binaries, not backups


@dataclass(frozen=True)
class UninstallFolder:
    """One update's backup folder under %SystemRoot%.

    Attributes:
        path: volume-relative path, e.g. ``WINDOWS\\$NtUninstallKB973917$``.
        update_id: ``KB973917`` / ``Q281402`` from the folder name; None for ``$NtServicePackUninstall$``.
        created_at: ``$STANDARD_INFORMATION`` creation time of the folder (when the update ran).
        fn_created_at: ``$FILE_NAME`` creation time of the folder.
        files: the files in it and in its subfolders one level down (``spuninst`` left out). For
            ``hotfix-backup`` and ``service-pack-backup`` their versions are the versions BEFORE the update.
        sources: where the folder was found.
        kind: ``hotfix-backup`` | ``service-pack-backup`` | ``hotfix-migration`` (``$hf_mig$``).
    """

    path: str
    update_id: str | None
    created_at: datetime | None
    fn_created_at: datetime | None
    files: tuple[FileState, ...]
    sources: tuple[Provenance, ...]
    kind: str = "hotfix-backup"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "update_id": self.update_id,
            "kind": self.kind,
            "created_at": iso(self.created_at),
            "fn_created_at": iso(self.fn_created_at),
            "files": [f.to_dict() for f in self.files],
            "sources": [s.to_dict() for s in self.sources],
        }


class _Missing(LookupError):
    """A path component is not in its parent's index."""


def _filetime(value: int) -> datetime | None:
    """FILETIME (100 ns since 1601, UTC) -> aware datetime exact to the µs; None for 0 / out of range."""
    if not value:
        return None
    try:
        return _FILETIME_EPOCH + timedelta(microseconds=value // 10)
    except OverflowError:
        return None


def _in_use(record: Any, entry: Any) -> bool:
    """The record is allocated and is the one the index entry names (same sequence number)."""
    header = record.header
    return bool(header.Flags & 0x01) and header.SequenceNumber == entry.header.FileReference.SequenceNumber


def _search(directory: Any, name: str) -> Any:
    """Bounded B-tree search of a directory's ``$I30`` for ``name``; returns the IndexEntry."""
    if not directory.is_dir():
        raise _Missing(name)
    index = directory.index("$I30")
    key = name.upper()
    entries = list(index.root.entries())
    for _ in range(_MAX_DEPTH):
        child = None
        for entry in entries[:_MAX_ENTRIES]:
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
            raise _Missing(name)
        entries = list(index.index_buffer(child).entries())
    raise NtfsError(f"$I30 index of MFT entry {directory.segment} is deeper than {_MAX_DEPTH} levels")


def _lookup(ntfs: Any, path: str) -> tuple[Any, str]:
    """Resolve a volume-relative path; returns the MFT record and the path as spelled on disk."""
    parts = [p for p in path.replace("/", "\\").split("\\") if p]
    if not parts or len(parts) > _MAX_PARTS or any(p in (".", "..") for p in parts):
        raise _Missing(path)
    node, names = ntfs.mft.root, []
    for part in parts:
        entry = _search(node, part)
        node = entry.dereference()
        if not _in_use(node, entry):
            raise _Missing(path)
        names.append(entry.attribute.file_name)
    return node, "\\".join(names)


def _listing(directory: Any, path: str, gaps: list[Gap]) -> list[tuple[str, Any, bool]]:
    """(name, record, is_dir) of a directory's live entries, sorted; DOS names and stale entries left out."""
    out: list[tuple[str, Any, bool]] = []
    seen: set[int] = set()
    bad = 0
    for count, entry in enumerate(directory.iterdir(ignore_dos=True)):
        if count >= _MAX_ENTRIES:
            gaps.append(Gap(path, f"directory listing cut at {_MAX_ENTRIES} entries"))
            break
        try:
            record = entry.dereference()
            if record.segment in seen or not _in_use(record, entry):
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


_Times = tuple[datetime | None, datetime | None, datetime | None, datetime | None]


def _times(record: Any, name: str) -> _Times:
    """($SI created, $SI modified, $FN created, $FN modified) from the raw FILETIMEs."""
    si, fn = _attr(record, _SI), _attr(record, _FN, name)
    si_c = _filetime(si.attr.CreationTime) if si is not None else None
    si_m = _filetime(si.attr.LastModificationTime) if si is not None else None
    fn_c = _filetime(fn.attr.CreationTime) if fn is not None else None
    fn_m = _filetime(fn.attr.LastModificationTime) if fn is not None else None
    return si_c, si_m, fn_c, fn_m


def _sha256(fh: Any, size: int) -> str | None:
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


def _pe_fields(pe: PeVersion | None) -> dict[str, Any]:
    """The FileState fields a PE version resource provides (all None when it could not be read)."""
    return {
        "version": FileVersion.parse(pe.file_version) if pe else None,
        "lab_tag": pe.lab_tag if pe else None,
        "file_version_string": pe.file_version_string if pe else None,
        "product_version": pe.product_version if pe else None,
        "link_time": pe.link_time if pe else None,
    }


def _file_state(record: Any, path: str, note: str, gaps: list[Gap], hash_files: bool) -> FileState:
    """Facts for one file record; what cannot be read becomes a Gap and a None field."""
    source = Provenance(path, f"MFT entry {record.segment}", note)
    si_c = si_m = fn_c = fn_m = None
    size: int | None = None
    digest: str | None = None
    pe: PeVersion | None = None
    try:
        si_c, si_m, fn_c, fn_m = _times(record, path.rsplit("\\", 1)[-1])
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
            digest = _sha256(fh, size)
            if digest is None:
                gaps.append(Gap(path, "not hashed: the file data ends before its size", (source,)))
    except READ_ERRORS as exc:
        gaps.append(Gap(path, f"file data unreadable: {type(exc).__name__}: {exc}", (source,)))
    return FileState(
        path=path,
        **_pe_fields(pe),
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
            digest = _sha256(fh, size) if hash_files and size <= MAX_HASH_SIZE else None
    except READ_ERRORS as exc:
        gaps.append(Gap(path, f"file data unreadable: {type(exc).__name__}: {exc}", (source,)))
        return None
    return FileState(
        path=real,
        **_pe_fields(pe),
        size=size,
        sha256=digest,
        modified_at=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
        created_at=None,
        sources=(source,),
    )


def _ntfs_of(fs: Any) -> Any:
    return getattr(fs, "ntfs", None)


def collect_files(
    fs: Any, paths: Sequence[str], *, volume_label: str = "", hash_files: bool = True
) -> tuple[list[FileState], list[Gap]]:
    """Read file facts for each path on the system volume.

    Args:
        fs: the system volume's dissect filesystem (``NtfsFilesystem``: ``Target.volumes[i].fs``).
        paths: Windows paths relative to the volume root, looked up case-insensitively.
        volume_label: put in each provenance's note (``volume <label>``) when given.
        hash_files: compute SHA-256 (files over :data:`MAX_HASH_SIZE` are skipped with a Gap).

    Returns:
        One FileState per path found (its ``path`` spelled as on disk, in request order, duplicates merged)
        and the gaps: missing files, unreadable PEs, files without a version resource.
    """
    note = f"volume {volume_label}" if volume_label else ""
    ntfs = _ntfs_of(fs)
    files: list[FileState] = []
    gaps: list[Gap] = []
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
            record, real = _lookup(ntfs, path)
        except _Missing:
            gaps.append(Gap(path, "not present on the volume"))
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
        files.append(_file_state(record, real, note, gaps, hash_files))
    return files, gaps


def _folder(
    record: Any, path: str, name: str, update_id: str | None, kind: str, gaps: list[Gap], hash_files: bool
) -> UninstallFolder:
    """One backup folder: its times and the files in it and one subfolder level down."""
    source = Provenance(path, f"MFT entry {record.segment}")
    si_c = fn_c = None
    files: list[FileState] = []
    try:
        si_c, _, fn_c, _ = _times(record, name)
        for child_name, child, is_dir in _listing(record, path, gaps):
            child_path = f"{path}\\{child_name}"
            if not is_dir:
                files.append(_file_state(child, child_path, "", gaps, hash_files))
                continue
            if child_name.lower() == _UNINSTALLER_DIR:
                continue
            for leaf_name, leaf, leaf_is_dir in _listing(child, child_path, gaps):
                if not leaf_is_dir:
                    files.append(_file_state(leaf, f"{child_path}\\{leaf_name}", "", gaps, hash_files))
    except READ_ERRORS as exc:
        gaps.append(Gap(path, f"folder listing unreadable: {type(exc).__name__}: {exc}", (source,)))
    return UninstallFolder(path, update_id, si_c, fn_c, tuple(files), (source,), kind)


def collect_uninstall_folders(
    fs: Any, system_root: str, *, hash_files: bool = True
) -> tuple[list[UninstallFolder], list[Gap]]:
    """Find the update backup folders in %SystemRoot% with one listing of it, and read their files.

    Args:
        fs: the system volume's dissect filesystem.
        system_root: %SystemRoot% relative to the volume root (``WINDOWS`` / ``WINNT``).
        hash_files: compute SHA-256 of the backed-up files.

    Returns:
        ``$NtUninstall<id>$`` and ``$NtServicePackUninstall$`` folders and one entry per ``$hf_mig$\\<id>``
        (sorted by path), and the gaps.
    """
    ntfs = _ntfs_of(fs)
    gaps: list[Gap] = []
    if ntfs is None:
        return [], [Gap(system_root, "the volume is not NTFS: uninstall folders need its MFT")]
    folders: list[UninstallFolder] = []
    try:
        root, root_path = _lookup(ntfs, system_root)
        listing = _listing(root, root_path, gaps)
        entries = [(f"{root_path}\\{name}", name, rec) for name, rec, is_dir in listing if is_dir]
    except _Missing:
        return [], [Gap(system_root, "not present on the volume")]
    except READ_ERRORS as exc:
        return [], [Gap(system_root, f"listing unreadable: {type(exc).__name__}: {exc}")]
    for path, name, record in entries:
        match = _NT_UNINSTALL.match(name)
        if match:
            folders.append(_folder(record, path, name, match.group(1), "hotfix-backup", gaps, hash_files))
        elif name.lower() == _SP_UNINSTALL:
            folders.append(_folder(record, path, name, None, "service-pack-backup", gaps, hash_files))
        elif name.lower() == _HF_MIG:
            try:
                subs = [(sub, rec) for sub, rec, is_dir in _listing(record, path, gaps) if is_dir]
            except READ_ERRORS as exc:
                gaps.append(Gap(path, f"listing unreadable: {type(exc).__name__}: {exc}"))
                continue
            for sub, rec in subs:
                folders.append(_folder(rec, f"{path}\\{sub}", sub, sub, "hotfix-migration", gaps, hash_files))
    folders.sort(key=lambda f: f.path.upper())
    return folders, gaps
