"""Folder sources: a mounted volume, a partial triage folder, a KAPE or a Velociraptor collection.

A folder (or a zip of one) is read as one or more *drive roots*: a dissect file system whose ``/`` stands for
a drive's root (``C:\\``), so collectors look up ``Windows\\System32\\winevt\\Logs`` exactly as on an
image and every artefact path in a report stays volume-relative. Layouts, tried in this order:

``velociraptor``
    a ``uploads/`` folder (the collection root, or ``uploads`` itself) holding ``<accessor>/<device>/…``:
    ``uploads/auto/C%3A/Windows/…``, ``uploads/ntfs/%5C%5C.%5CC%3A/Windows/…``. Velociraptor escapes every
    path component for its container with ``utils.SanitizeStringForZip`` (``accessors/manipulators.go``
    ``ZipFileManipulator``; ``utils/sanitize.go``): ``%``, ``:``, ``\\``, ``/``, ``*``, ``?``, ``"``, ``|``,
    ``<``, ``>``, non-printables and a leading/trailing ``.`` or space become ``%XX``, so
    ``Microsoft-Windows-WindowsUpdateClient%4Operational.evtx`` is stored as ``…%254Operational.evtx``.
    Names are decoded here (``%XX`` -> byte, UTF-8), as ``UnsanitizeComponentForZip`` does. Accessors
    collecting the same drive (``auto`` and ``ntfs``) are merged, the first copy of a file winning; shadow
    copies (``%5C%5C%3F%5CGLOBALROOT%5CDevice%5CHarddiskVolumeShadowCopy1``) are listed, not read.
``directory``
    the folder itself is a volume root whose Windows directory holds ``system32\\config`` (a mounted volume,
    a full copy).
``kape``
    drive-letter folders: KAPE copies ``--tsource C:`` into ``<tdest>\\C\\Windows\\…`` keeping Windows' own
    names (``…\\C\\Windows\\system32\\winevt\\logs\\Microsoft-Windows-…%4Operational.evtx`` as KAPE's
    EvtxECmd output cites them). ``C:``, ``C%3A`` and ``\\\\?\\C`` / ``\\\\.\\C:`` shaped folder names are
    accepted too (the long-path prefix shapes are not in KAPE's documentation: accepted, not confirmed).
``triage``
    the folder is a volume root holding only part of a system: some hives, only logs, only event logs.

Names are decoded only for Velociraptor: KAPE and plain folders keep Windows' names, where ``%4A`` is literal.
When several drives are present, each is a volume of the description (``--system N`` picks one), C: first.
A zip is read in place through :mod:`zipfile` (read-only, nothing extracted to disk); an encrypted one is
refused with a one-line error. Walks are bounded by :data:`MAX_ENTRIES` and :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import itertools
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from dissect.target.filesystem import MappedFile, VirtualFilesystem
from dissect.target.filesystems.dir import DirectoryFilesystem
from dissect.target.filesystems.zip import ZipFilesystemEntry

from scanner.errors import UnsupportedSourceError
from scanner.evidence.errors import READ_ERRORS
from scanner.evidence.sysroot import MAX_LISTING, find_windows_dir, has_hive_folder

#: Bound on the files and folders mapped from one collection (a full triage holds a few tens of thousands).
MAX_ENTRIES = 500_000
#: Bound on folder depth below a drive root (Windows paths are at most ~32k characters; real ones far fewer).
MAX_DEPTH = 64

_DRIVE = re.compile(r"(?:\\\\[.?]\\)?([A-Za-z]):?")
_SHADOW = re.compile(r"HarddiskVolumeShadowCopy\d+", re.IGNORECASE)


@dataclass(frozen=True)
class DriveRoot:
    """One drive's root inside a collection: its file system (``/`` = ``C:\\``) and where it came from."""

    fs: Any
    drive: str | None  # "C" when the layout names the drive letter
    roots: tuple[str, ...]  # folders inside the source that stand for this root, as stored ("" = the source)
    windows_dir: str | None
    iis_root: str | None  # "inetpub" as stored: IIS 7+ logs live there, outside the Windows directory


@dataclass(frozen=True)
class Collection:
    """A folder source: its layout, its drive roots (C: first), and what was seen but not read."""

    layout: str  # "directory" | "triage" | "kape" | "velociraptor"
    drives: list[DriveRoot]
    notes: list[str] = field(default_factory=list)


def decode_name(name: str) -> str:
    """A Velociraptor path component decoded (``%25`` -> ``%``, ``%3A`` -> ``:``), or as stored if unsafe.

    A decoded name holding a path separator or NUL, or ``.``/``..``, is not a Windows file name: the stored
    name is kept so a hostile collection cannot step out of its folder.
    """
    decoded = unquote(name, errors="surrogateescape")
    if decoded in ("", ".", "..") or any(c in decoded for c in "/\\\0"):
        return name
    return decoded


def drive_letter(name: str, *, encoded: bool) -> str | None:
    """``C`` for a drive folder ``C``, ``C:``, ``C%3A``, ``%5C%5C.%5CC%3A`` (``\\\\.\\C:``), ``\\\\?\\C``."""
    match = _DRIVE.fullmatch(unquote(name) if encoded else name)
    return match.group(1).upper() if match else None


class _DirTree(VirtualFilesystem):
    """Host files mapped under decoded names (a Velociraptor folder)."""

    __type__ = "dir"


class _ZipTree(VirtualFilesystem):
    """Zip members mapped under their volume-relative names; ``ZipFilesystemEntry`` reads through ``zip``."""

    __type__ = "zip"

    def __init__(self, zf: zipfile.ZipFile) -> None:
        super().__init__()
        self.zip = zf


def _children(directory: Any) -> list[Any]:
    try:
        return list(itertools.islice(directory.iterdir(), MAX_LISTING))
    except READ_ERRORS:
        return []


def _is_dir(entry: Any) -> bool:
    try:
        return bool(entry.is_dir())
    except READ_ERRORS:
        return False


def _child(directory: Any, name: str) -> Any | None:
    return next((e for e in _children(directory) if e.name.lower() == name and _is_dir(e)), None)


#: Accessors Velociraptor's Windows collectors upload through; a file collected by several is taken from the
#: first (``auto`` falls back to raw NTFS by itself for locked files, so its copy is the complete one).
_ACCESSORS = ("auto", "ntfs", "lazy_ntfs", "mft", "ntfs_vss", "file")


def _accessor_rank(entry: Any) -> tuple[int, str]:
    name = entry.name.lower()
    return (_ACCESSORS.index(name) if name in _ACCESSORS else len(_ACCESSORS), name)


def _velociraptor_devices(uploads: Any, notes: list[str]) -> dict[str, list[Any]]:
    """``{drive letter: [device folders]}`` below ``uploads/<accessor>/``, accessors in preference order."""
    devices: dict[str, list[Any]] = {}
    folders = [e for e in _children(uploads) if _is_dir(e)]
    bare = [d for d in folders if drive_letter(d.name, encoded=True)]  # a drive folder without accessor level
    accessors = sorted((a for a in folders if a not in bare), key=_accessor_rank)
    candidates = [(a, d) for a in accessors for d in sorted(_children(a), key=lambda e: e.name) if _is_dir(d)]
    candidates += [(uploads, d) for d in bare]
    for accessor, device in candidates:
        letter = drive_letter(device.name, encoded=True)
        if letter is not None:
            devices.setdefault(letter, []).append(device)
        elif accessor is not uploads:
            what = "volume shadow copy" if _SHADOW.search(unquote(device.name)) else "device"
            notes.append(f"{what} {accessor.name}/{device.name} not read (only drive roots are scanned)")
    return devices


def _kape_drives(root: Any) -> dict[str, list[Any]]:
    drives: dict[str, list[Any]] = {}
    for entry in _children(root):
        letter = drive_letter(entry.name, encoded=True) or drive_letter(entry.name, encoded=False)
        if letter is not None and _is_dir(entry):
            drives.setdefault(letter, []).append(entry)
    return drives


def _ordered(drives: dict[str, list[Any]]) -> list[tuple[str | None, list[Any]]]:
    return sorted(drives.items(), key=lambda item: (item[0] != "C", item[0]))


class _Walk:
    """Maps host folders into one virtual file system with decoded names, within the collection's bounds."""

    def __init__(self, notes: list[str]) -> None:
        self.fs = _DirTree()
        self.seen: set[str] = set()
        self.entries = 0
        self.notes = notes

    def add(self, top: Path) -> None:
        stack: list[tuple[Path, str, int]] = [(top, "", 0)]
        while stack and self.entries <= MAX_ENTRIES:
            folder, rel, depth = stack.pop()
            try:
                with os.scandir(folder) as listing:
                    items = sorted(listing, key=lambda e: e.name)
            except OSError:
                continue
            for item in items:
                self.entries += 1
                if self.entries > MAX_ENTRIES:
                    self.notes.append(f"more than {MAX_ENTRIES} entries: the rest of the collection not read")
                    return
                path = f"{rel}/{decode_name(item.name)}".lstrip("/")
                if item.is_dir(follow_symlinks=False):
                    if depth + 1 < MAX_DEPTH:
                        self.fs.makedirs(path)
                        stack.append((Path(item.path), path, depth + 1))
                elif item.is_file(follow_symlinks=False) and path.lower() not in self.seen:
                    self.seen.add(path.lower())
                    self.fs.map_file_entry(path, MappedFile(self.fs, path, item.path))


def _zip_drive(zf: zipfile.ZipFile, prefixes: list[str], decode: bool, notes: list[str]) -> Any:
    """A virtual file system over the zip members below ``prefixes``, read in place."""
    fs = _ZipTree(zf)
    seen: set[str] = set()
    for prefix in prefixes:
        for member in zf.infolist()[:MAX_ENTRIES]:
            name = member.filename
            if not name.startswith(prefix) or member.is_dir() or stat.S_ISLNK(member.external_attr >> 16):
                continue
            parts = [p for p in name[len(prefix) :].split("/") if p]
            parts = [decode_name(p) if decode else p for p in parts]
            if not parts or len(parts) > MAX_DEPTH or any(p in (".", "..") for p in parts):
                continue
            path = "/".join(parts)
            if path.lower() not in seen:
                seen.add(path.lower())
                fs.map_file_entry(path, ZipFilesystemEntry(fs, path, member))
    return fs


def _drive_root(fs: Any, letter: str | None, roots: tuple[str, ...]) -> DriveRoot:
    iis = _child(fs.path("/"), "inetpub")
    return DriveRoot(fs, letter, roots, find_windows_dir(fs), iis.name if iis is not None else None)


def _plain_layout(drive: DriveRoot) -> str:
    whole = drive.windows_dir is not None and has_hive_folder(drive.fs, drive.windows_dir)
    return "directory" if whole else "triage"


def _scannable(drive: DriveRoot) -> bool:
    return drive.windows_dir is not None or drive.iis_root is not None


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(path.open("rb"))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnsupportedSourceError(f"{path}: unreadable zip ({exc})") from exc
    # Bit 0 of the general-purpose flags: the member is encrypted (APPNOTE 4.4.4). A secured Velociraptor
    # container is a password-protected outer zip around the collection zip ("Working With Offline
    # Collection Data", docs.velociraptor.app), so its one member carries this bit.
    if any(m.flag_bits & 0x1 for m in zf.infolist()):
        raise UnsupportedSourceError(
            f"{path}: encrypted (password-protected) zip: extract it with its password and scan the folder"
        )
    return zf


def _rel(entry: Any, base: Any) -> str:
    """``uploads/auto/C%3A``: where a drive root sits in the source, as stored ("" for the source itself)."""
    if isinstance(entry, zipfile.Path):
        return str(entry.at).strip("/")
    rel = Path(entry).relative_to(base).as_posix()
    return "" if rel == "." else rel


def _drives_of(
    base: Any, zf: zipfile.ZipFile | None, drives: list[tuple[str | None, list[Any]]], decode: bool,
    notes: list[str],
) -> list[DriveRoot]:
    found = []
    for letter, folders in drives:
        roots = tuple(_rel(f, base) for f in folders)
        fs: Any
        if zf is not None:
            fs = _zip_drive(zf, [f"{r}/" if r else "" for r in roots], decode, notes)
        elif decode:
            walk = _Walk(notes)
            for folder in folders:
                walk.add(Path(folder))
            fs = walk.fs
        else:
            fs = DirectoryFilesystem(Path(folders[0]))
        found.append(_drive_root(fs, letter, roots))
    return found


def open_collection(path: Path) -> Collection | None:
    """The layout and drive roots of a folder or zip ``path``; None when it holds no Windows artefact we know.

    Raises:
        UnsupportedSourceError: ``path`` is an unreadable or encrypted zip.
    """
    zf = _open_zip(path) if path.is_file() else None
    base: Any = zipfile.Path(zf) if zf is not None else path
    if zf is not None:  # a zip of a collection folder: its content may sit in one top folder
        tops = [e for e in _children(base) if _is_dir(e)]
        if len(tops) == 1 and len(_children(base)) == 1:
            base = tops[0]
    notes: list[str] = []
    uploads = base if base.name.lower() == "uploads" else _child(base, "uploads")
    if uploads is not None:
        devices = _velociraptor_devices(uploads, notes)
        if devices:
            top = zipfile.Path(zf) if zf is not None else path
            drives = _drives_of(top, zf, _ordered(devices), True, notes)
            return Collection("velociraptor", drives, notes)
    top = zipfile.Path(zf) if zf is not None else path
    itself = _drives_of(top, zf, [(None, [base])], False, notes)[0]
    if itself.windows_dir is not None:
        return Collection(_plain_layout(itself), [itself], notes)
    kape = _kape_drives(base)
    if kape:
        drives = _drives_of(top, zf, _ordered(kape), False, notes)
        if any(_scannable(d) for d in drives):
            return Collection("kape", drives, notes)
    if _scannable(itself):
        return Collection("triage", [itself], notes)
    return None
