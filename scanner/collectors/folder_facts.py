"""The records of the component-folder collector (:mod:`scanner.collectors.folders`) and the stream helpers
its two trees (NTFS, one ``$I30`` listing per folder; a directory source) share.

Kept apart so the collector stays small; it re-exports the public names.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, ClassVar

from scanner.evidence.errors import READ_ERRORS
from scanner.model import FileState, Gap, Provenance
from scanner.model.codec import JsonRecord, JsonShape

MAX_PE_FILES = 2000  # PE files inventoried per profile folder (IIS 10's inetsrv holds a few hundred)
MAX_SUBFOLDERS = 256  # subfolders listed per profile folder
_PE_PROBE = 64  # IMAGE_DOS_HEADER: e_magic at 0, e_lfanew at 0x3C


@dataclass(frozen=True)
class FolderRequest:
    """One folder of a component profile, resolved against the Windows directory.

    Attributes:
        path: volume-relative path, e.g. ``WINDOWS\\system32\\inetsrv``.
        component: the profile component id the folder's files belong to.
        depth: subfolder levels listed below it (0 = the folder alone).
        lookup_only: never listed; only searched by name for a listed file missing at its path.
    """

    path: str
    component: str
    depth: int = 0
    lookup_only: bool = False


@dataclass
class Cost:
    """What listing one profile folder cost (see :class:`ComponentFolder`)."""

    listings: int = 0
    mft_records: int = 0
    bytes_read: int = 0


@dataclass(frozen=True)
class ComponentFolder(JsonRecord):
    """What one profile folder holds and what reading it cost (the ``folders[]`` record of the inventory).

    ``entries`` counts the live directory entries listed (files and subfolders, all levels); ``pe_files`` the
    files with a PE header, ``unlisted`` those of them the profile does not list; ``listings`` the ``$I30``
    listings made (1 + subfolders), ``mft_records`` the MFT records read for them, ``bytes_read`` the file
    data read (PE header probes and version resources; files already read at their listed path are not
    read again, so not counted). ``gap`` says what was not read (None: all of it).
    """

    path: str
    component: str
    depth: int
    lookup_only: bool
    present: bool
    entries: int | None
    subfolders: int
    pe_files: int
    unlisted: int
    not_pe: int
    listings: int
    mft_records: int
    bytes_read: int
    gap: str | None = None
    sources: tuple[Provenance, ...] = ()

    # What reading the folder cost is one ``cost`` object in the contract, in place of the three counters.
    json_shape: ClassVar[JsonShape] = JsonShape(
        skip=("listings", "mft_records", "bytes_read"),
        computed={"cost": lambda f: {"listings": f.listings, "mft_records": f.mft_records,
                                     "bytes_read": f.bytes_read}},
        order=("path", "component", "depth", "lookup_only", "present", "entries", "subfolders", "pe_files",
               "unlisted", "not_pe", "cost"),
    )


@dataclass
class FolderScan:
    """The folders' records, the files found only by listing them, and listed files found elsewhere.

    ``relocated`` maps a listed path (as requested) to the path it was found at;
    ``placed`` maps each already-read file seen in a folder (upper-cased path) to that folder's component.
    """

    folders: list[ComponentFolder] = field(default_factory=list)
    files: list[FileState] = field(default_factory=list)
    relocated: dict[str, str] = field(default_factory=dict)
    placed: dict[str, str] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)


class Counted:
    """A read-only stream proxy that adds the bytes handed out to a cost record."""

    def __init__(self, fh: Any, cost: Cost) -> None:
        self._fh, self._cost = fh, cost

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self._cost.bytes_read += len(data)
        return bytes(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return int(self._fh.seek(offset, whence))

    def tell(self) -> int:
        return int(self._fh.tell())


class CountedRecord:
    """An MFT record whose ``open()`` streams are counted (so ``file_state``'s reads are measured)."""

    def __init__(self, record: Any, cost: Cost) -> None:
        self._record, self._cost = record, cost

    def __getattr__(self, name: str) -> Any:
        return getattr(self._record, name)

    def open(self) -> Counted:
        return Counted(self._record.open(), self._cost)


def is_directory(entry: Any) -> bool:
    """A directory-source entry is a readable directory."""
    try:
        return bool(entry.is_dir())
    except READ_ERRORS:
        return False


def is_pe_stream(fh: Any, size: int) -> bool:
    """The file starts with ``MZ`` and its ``e_lfanew`` points at ``PE\\0\\0`` (PE Format 2.1-2.2).

    ``fh`` is a stream of ``size`` bytes at its start; its position is not restored.
    """
    if size < _PE_PROBE:
        return False
    head = fh.read(_PE_PROBE)
    if head[:2] != b"MZ" or len(head) < _PE_PROBE:
        return False
    (e_lfanew,) = struct.unpack_from("<I", head, 0x3C)
    if e_lfanew + 4 > size:
        return False
    fh.seek(e_lfanew)
    return bool(fh.read(4) == b"PE\0\0")
