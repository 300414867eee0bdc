"""Legacy VHD differencing chains (``.avhd``): find the parent, check its identity, read the chain.

Why: dissect.target 3.25 opens a VHD differencing disk (disk type 4; Hyper-V 2008 / Virtual Server
``.avhd``) as a standalone dynamic disk: no parent lookup, sector bitmaps ignored, so whatever the snapshot
did not change reads as zeros, silently wrong. This module implements Microsoft's "Virtual Hard Disk Image
Format Specification" v1.0 (October 2006): "Hard Disk Footer Format" (``conectix``, big-endian, disk type
at +60, unique id at +68), "Dynamic Disk Header Format" (``cxsparse``; parent unique id +40, parent time
stamp +56, parent Unicode name +64 in UTF-16BE, eight 24-byte parent locators from +576), "Block Allocation
Table and Data Blocks" (BAT of big-endian sector numbers, 0xFFFFFFFF = absent; per-block sector bitmap, MSB
first, padded to a sector) and "Implementing a Differencing Hard Disk" (a sector whose bit is 0, or whose
block is absent, comes from the parent). Bits are masked one by one: libvhdi misreads bitmap bytes other
than 0x00/0xFF, which NTFS's 1 KiB MFT records produce on real disks.

A chain whose parent is missing or is not the file the child was made from raises
:class:`~scanner.errors.IncompleteChainError` before any byte is returned. Every file is opened ``rb``.
"""

from __future__ import annotations

import io
import logging
import struct
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PureWindowsPath
from typing import Any, BinaryIO
from urllib.parse import unquote, urlparse

from scanner.errors import IncompleteChainError, SourceNotFoundError, UnsupportedSourceError

__all__ = [
    "VhdChainStream",
    "is_vhd_differencing",
    "open_chain_container",
    "open_vhd_chain",
    "resolve_chain",
    "resolve_parent",
]

log = logging.getLogger(__name__)

SECTOR = 512
FIXED, DYNAMIC, DIFFERENCING = 2, 3, 4
MAX_CHAIN_DEPTH = 16  # Hyper-V 2008 snapshot trees are shallow; a deeper chain is more likely a loop
MAX_VIRTUAL_SIZE = 2040 * 1024**3  # the spec's largest VHD (2040 GB)
MAX_BLOCK_SIZE = 256 * 1024**2
MAX_LOCATOR_BYTES = 65536  # a Windows path of 32767 UTF-16 code units
_NO_BLOCK = 0xFFFFFFFF
_BITMAP_CACHE = 256
_FOOTER = struct.Struct(">8sIIQI4sI4sQQIII16s")  # ... disk type, checksum, unique id
_HEADER = struct.Struct(">8sQQIIII16sI4s512s")  # ... parent uuid, parent time stamp, reserved, parent name
_LOCATOR = struct.Struct(">4sIIIQ")  # platform code, data space, data length, reserved, data offset
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
Opener = Callable[[Path], BinaryIO]


def _open_rb(path: Path) -> BinaryIO:
    return open(path, "rb")  # noqa: SIM115 - owned and closed by the layer


class _Malformed(ValueError):
    """A structure that contradicts the spec; callers turn it into the right ScannerError."""


@dataclass(frozen=True)
class _Info:
    """What the footer and (for dynamic/differencing disks) the dynamic header declare."""

    path: Path
    file_size: int
    disk_type: int
    size: int
    unique_id: uuid.UUID
    timestamp: int
    table_offset: int = 0
    max_entries: int = 0
    block_size: int = 0
    parent_id: uuid.UUID | None = None
    parent_timestamp: int = 0
    parent_name: str = ""
    locators: tuple[tuple[str, str], ...] = ()  # (platform code, decoded path)
    problems: tuple[str, ...] = ()  # tolerated deviations (bad checksums), reported as stream notes


def _checksum_ok(raw: bytes, at: int) -> bool:
    """Footer/header "Checksum": one's complement of the byte sum with the field itself taken as zero."""
    total = sum(raw) - sum(raw[at : at + 4])
    return (~total & 0xFFFFFFFF) == struct.unpack_from(">I", raw, at)[0]


def _pread(fh: BinaryIO, offset: int, length: int) -> bytes:
    fh.seek(offset)
    data = fh.read(length)
    if len(data) != length:
        raise _Malformed(f"short read at offset {offset} ({len(data)} of {length} bytes)")
    return data


def _stamp(value: int) -> str:
    return (_EPOCH + timedelta(seconds=value)).isoformat().replace("+00:00", "Z")


def _read_footer(fh: BinaryIO, file_size: int) -> tuple[bytes, list[str]]:
    """The footer at the end (512 bytes; 511 before Virtual PC 2004), else its copy at offset 0.

    The spec keeps the copy at offset 0 so a disk survives a damaged footer; a bad checksum is tolerated
    (and reported) rather than refusing the evidence.
    """
    tried = []
    for offset in (file_size - SECTOR, file_size - SECTOR + 1, 0):
        if offset < 0 or file_size < SECTOR:
            continue
        raw = _pread(fh, offset, min(SECTOR, file_size - offset))
        if raw[:8] == b"conectix" and len(raw) >= 85:
            if _checksum_ok(raw, 64):
                notes = [] if offset else ["footer lost; its copy at offset 0 was used"]
                return raw.ljust(SECTOR, b"\0"), notes
            tried.append(raw)
    if tried:
        return tried[0].ljust(SECTOR, b"\0"), ["footer checksum mismatch; footer used as stored"]
    raise _Malformed("no VHD footer (conectix)")


def _locator_text(code: str, data: bytes) -> str:
    """A locator's path as text. Locators are attacker-controlled: a URL ``urlparse`` rejects stays the raw
    text, and a path ends at its first NUL (no file name holds one), so a hostile locator is a parent that
    is not found, never an exception."""
    if code == "MacX":  # RFC 2396 file URL, UTF-8
        raw = data.decode("utf-8", "replace").split("\0", 1)[0]
        try:
            return unquote(urlparse(raw).path)
        except ValueError:  # e.g. "Invalid IPv6 URL"
            return raw
    if len(data) % 2 or (code in ("Wi2r", "Wi2k") and b"\0" not in data):
        return data.decode("latin-1").split("\0", 1)[0]  # deprecated ANSI form
    return data.decode("utf-16-le", "replace").split("\0", 1)[0]


def _inspect(path: Path, opener: Opener = _open_rb) -> _Info:
    """Parse and sanity-check footer, dynamic header and locators; bounded by the file's size."""
    with opener(path) as fh:
        file_size = fh.seek(0, io.SEEK_END)
        raw, problems = _read_footer(fh, file_size)
        f = _FOOTER.unpack_from(raw)
        data_offset, stamp, size, disk_type, unique_id = f[3], f[4], f[9], f[11], uuid.UUID(bytes=f[13])
        if disk_type not in (FIXED, DYNAMIC, DIFFERENCING):
            raise _Malformed(f"unsupported VHD disk type {disk_type}")
        if size % SECTOR or not 0 < size <= MAX_VIRTUAL_SIZE:
            raise _Malformed(f"implausible virtual size {size}")
        if disk_type == FIXED:
            if file_size < size + SECTOR - 1:
                raise _Malformed(f"fixed VHD is truncated ({file_size} bytes for a {size}-byte disk)")
            return _Info(path, file_size, disk_type, size, unique_id, stamp, problems=tuple(problems))
        if data_offset % SECTOR or data_offset + 1024 > file_size:
            raise _Malformed(f"dynamic header offset {data_offset} outside the file")
        hdr = _pread(fh, data_offset, 1024)
        h = _HEADER.unpack_from(hdr)
        if h[0] != b"cxsparse":
            raise _Malformed("no dynamic disk header (cxsparse)")
        if not _checksum_ok(hdr, 36):
            problems.append("dynamic header checksum mismatch; header used as stored")
        table_offset, max_entries, block_size = h[2], h[4], h[5]
        if block_size % SECTOR or not SECTOR <= block_size <= MAX_BLOCK_SIZE:
            raise _Malformed(f"implausible block size {block_size}")
        needed = -(-size // block_size)
        if max_entries < needed or table_offset + 4 * needed > file_size:
            raise _Malformed(f"BAT ({max_entries} entries at {table_offset}) does not cover the disk")
        locators = []
        for i in range(8):
            code_raw, _space, length, _reserved, offset = _LOCATOR.unpack_from(hdr, 576 + 24 * i)
            code = code_raw.decode("latin-1")
            if code_raw == bytes(4) or not 0 < length <= MAX_LOCATOR_BYTES or offset + length > file_size:
                continue
            locators.append((code, _locator_text(code, _pread(fh, offset, length))))
        name = h[10].decode("utf-16-be", "replace").split("\0", 1)[0]
        return _Info(path, file_size, disk_type, size, unique_id, stamp, table_offset, max_entries,
                     block_size, uuid.UUID(bytes=h[7]), h[8], name, tuple(locators), tuple(problems))


def _inspect_or(path: Path, error: type[Exception], opener: Opener = _open_rb) -> _Info:
    try:
        return _inspect(path, opener)
    except (_Malformed, struct.error) as exc:
        raise error(f"{path}: not a usable VHD ({exc})") from exc
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from exc


def is_vhd_differencing(path: Path) -> bool:
    """True if ``path`` ends in a valid VHD footer of disk type 4 (differencing). Reads only that footer."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, io.SEEK_END)
            if size < 2 * SECTOR:
                return False
            raw = _pread(fh, size - SECTOR, SECTOR)
    except (OSError, _Malformed):
        return False
    return raw[:8] == b"conectix" and struct.unpack_from(">I", raw, 60)[0] == DIFFERENCING


def _candidates(info: _Info) -> list[tuple[str, Path]]:
    """Where the parent may be, in the brief's order: W2ru, W2ku (as given, then its basename), name."""
    folder = info.path.parent
    by_code: dict[str, list[str]] = {}
    for code, text in info.locators:
        by_code.setdefault(code, []).append(text)
    out: list[tuple[str, Path]] = []
    for code in ("W2ru", "Wi2r"):
        for text in by_code.get(code, []):
            win = PureWindowsPath(text)
            if not win.drive and not win.root:
                out.append((f"{code} locator {text!r}", folder.joinpath(*win.parts)))
    for code in ("W2ku", "Wi2k", "MacX"):
        for text in by_code.get(code, []):
            given = Path(text.removeprefix("\\\\?\\"))
            if given.is_absolute():
                out.append((f"{code} locator {text!r}", given))
            base = PureWindowsPath(text).name if code != "MacX" else Path(text).name
            if base:
                out.append((f"{code} locator basename {base!r}", folder / base))
    if info.parent_name:
        base = PureWindowsPath(info.parent_name).name
        if base:
            out.append((f"parent Unicode name {base!r}", folder / base))
    return out


def _check_parent(child: _Info, candidate: Path, opener: Opener) -> tuple[_Info | None, str]:
    """Open a candidate parent; return it if its unique id is the child's parent UUID, else why not."""
    try:
        parent = _inspect(candidate, opener)
    except (_Malformed, struct.error, OSError, ValueError) as exc:  # ValueError: a path Python cannot open
        return None, f"{candidate}: not a readable VHD ({exc})"
    if parent.unique_id != child.parent_id:
        return None, f"{candidate}: UUID mismatch, its unique id is {parent.unique_id}"
    if parent.size != child.size:
        return None, f"{candidate}: virtual size {parent.size} differs from the child's {child.size}"
    return parent, ""


def _timestamp_note(child: _Info, parent: _Info) -> str:
    if child.parent_timestamp == parent.timestamp:
        return ""
    note = (f"{child.path.name}: parent time stamp {_stamp(child.parent_timestamp)} differs from "
            f"{parent.path.name}'s {_stamp(parent.timestamp)} (unique ids match; the parent may have been "
            "modified after the snapshot)")
    return note


def _resolve(child: _Info, override: Path | None, opener: Opener) -> tuple[_Info, str]:
    expected = f"{child.parent_name or '(unnamed)'} with unique id {child.parent_id}"
    if override is not None:
        parent, why = _check_parent(child, Path(override), opener)
        if parent is None:
            raise IncompleteChainError(f"{child.path}: the given parent does not match ({why}); "
                                       f"the child expects {expected}")
        return parent, _timestamp_note(child, parent)
    rejected: list[str] = []
    seen: set[Path] = {child.path.resolve()}
    for how, path in _candidates(child):
        try:  # a hostile locator can name a path the OS refuses outright (ENAMETOOLONG, ELOOP, EACCES)
            resolved = path.resolve()
            candidate = path.is_file()
        except (OSError, ValueError) as exc:
            rejected.append(f"{how} {str(path)[:80]!r}: {getattr(exc, 'strerror', None) or exc}")
            continue
        if resolved in seen or not candidate:
            continue
        seen.add(resolved)
        parent, why = _check_parent(child, path, opener)
        if parent is not None:
            log.debug("%s: parent %s found via %s", child.path, path, how)
            return parent, _timestamp_note(child, parent)
        rejected.append(why)
    detail = f"; rejected {'; '.join(rejected)}" if rejected else ""
    raise IncompleteChainError(f"{child.path}: parent {expected} not found next to it or at its locators"
                               f"{detail}; pass the parent file explicitly (--parent)")


def resolve_parent(child: Path, override: Path | None = None) -> Path:
    """Find the parent of a differencing VHD and prove it is the right file.

    Tried in order: the W2ru locator relative to the child's folder, the W2ku locator as given (when it is an
    absolute path on this system) and its basename in the child's folder, then the parent Unicode name in
    the child's folder. A candidate is accepted only if its footer unique id equals the child's parent UUID
    (spec "Parent Unique ID"); a differing parent time stamp is logged. ``override`` (CLI ``--parent``)
    replaces the search but must match the UUID too.

    Raises:
        SourceNotFoundError: ``child`` does not exist.
        UnsupportedSourceError: ``child`` is not a VHD differencing disk.
        IncompleteChainError: no matching parent, naming the expected file name and UUID.
    """
    info = _child_info(Path(child))
    if info.disk_type != DIFFERENCING:
        raise UnsupportedSourceError(f"{child}: not a VHD differencing disk (disk type {info.disk_type})")
    return _resolve(info, override, _open_rb)[0].path


def _child_info(child: Path, opener: Opener = _open_rb) -> _Info:
    if not child.is_file():
        raise SourceNotFoundError(f"{child}: no such file")
    return _inspect_or(child, UnsupportedSourceError, opener)


class _Layer:
    """One file of the chain: reads sector ranges, handing what it does not hold to its parent."""

    def __init__(self, info: _Info, fh: BinaryIO, parent: _Layer | None) -> None:
        self.info, self.fh, self.parent = info, fh, parent
        self.bitmap_bytes = -(-(info.block_size // SECTOR) // 8 // SECTOR) * SECTOR if info.block_size else 0
        self._bitmaps: OrderedDict[int, bytes] = OrderedDict()
        self.bat: tuple[int, ...] = ()
        if info.disk_type != FIXED:
            needed = -(-info.size // info.block_size)
            self.bat = struct.unpack(f">{needed}I", _pread(fh, info.table_offset, 4 * needed))

    def _file(self, offset: int, length: int) -> bytes:
        try:
            return _pread(self.fh, offset, length)
        except _Malformed as exc:
            raise OSError(f"{self.info.path}: {exc}") from exc

    def _bitmap(self, block: int, start: int) -> bytes:
        cached = self._bitmaps.get(block)
        if cached is None:
            cached = self._file(start, self.bitmap_bytes)
            self._bitmaps[block] = cached
            if len(self._bitmaps) > _BITMAP_CACHE:
                self._bitmaps.popitem(last=False)
        else:
            self._bitmaps.move_to_end(block)
        return cached

    def _below(self, sector: int, count: int) -> bytes:
        return self.parent.read(sector, count) if self.parent else bytes(count * SECTOR)

    def read(self, sector: int, count: int) -> bytes:
        """``count`` sectors from ``sector`` (within the virtual size)."""
        if self.info.disk_type == FIXED:
            return self._file(sector * SECTOR, count * SECTOR)
        per_block = self.info.block_size // SECTOR
        out: list[bytes] = []
        while count > 0:
            block, first = divmod(sector, per_block)
            n = min(count, per_block - first)
            entry = self.bat[block]
            if entry == _NO_BLOCK:
                out.append(self._below(sector, n))
            else:
                start = entry * SECTOR
                end = start + self.bitmap_bytes + self.info.block_size
                if start < SECTOR or end > self.info.file_size - SECTOR + 1:  # must end before the footer
                    raise OSError(f"{self.info.path}: BAT entry {block} points outside the file ({entry})")
                out.extend(self._read_in_block(sector, first, n, start, self._bitmap(block, start)))
            sector += n
            count -= n
        return b"".join(out)

    def _read_in_block(self, sector: int, first: int, n: int, start: int, bitmap: bytes) -> list[bytes]:
        """Split a block range into runs of present / absent sectors by their bitmap bits (masked)."""
        out: list[bytes] = []
        i = first
        while i < first + n:
            present = bool(bitmap[i >> 3] & (0x80 >> (i & 7)))
            j = i + 1
            while j < first + n:
                if j & 7 == 0 and j + 8 <= first + n and bitmap[j >> 3] == (0xFF if present else 0):
                    j += 8
                elif bool(bitmap[j >> 3] & (0x80 >> (j & 7))) == present:
                    j += 1
                else:
                    break
            if present:
                out.append(self._file(start + self.bitmap_bytes + i * SECTOR, (j - i) * SECTOR))
            elif self.info.disk_type == DIFFERENCING:
                out.append(self._below(sector + i - first, j - i))
            else:
                out.append(bytes((j - i) * SECTOR))  # dynamic disk: a sector never written reads as zeros
            i = j
        return out


class VhdChainStream(io.RawIOBase):
    """Seekable, read-only file-like over a whole VHD chain; reads only the blocks and sectors asked for.

    Attributes:
        size: the virtual disk size in bytes.
        chain: the files, child first.
        notes: warnings found while opening (e.g. a parent time stamp that differs).
    """

    def __init__(self, top: _Layer, files: list[BinaryIO], chain: list[Path], notes: list[str]) -> None:
        super().__init__()
        self._top, self._files = top, files
        self.size = top.info.size
        self.chain = list(chain)
        self.notes = tuple(notes)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}.get(whence)
        if base is None or base + offset < 0:
            raise ValueError(f"invalid seek ({offset}, {whence})")
        self._pos = base + offset
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("read from a closed VhdChainStream")
        remaining = max(0, self.size - self._pos)
        length = remaining if size is None or size < 0 else min(size, remaining)
        if length == 0:
            return b""
        first, last = self._pos // SECTOR, -(-(self._pos + length) // SECTOR)
        data = self._top.read(first, last - first)
        skip = self._pos - first * SECTOR
        self._pos += length
        return data[skip : skip + length]

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            for fh in self._files:
                fh.close()
        super().close()


def _resolve_infos(child: Path, parent: Path | None, opener: Opener) -> tuple[list[_Info], list[str]]:
    """Inspect the child and every ancestor (child first), proving each link by unique id."""
    infos = [_child_info(child, opener)]
    if parent is not None and infos[0].disk_type != DIFFERENCING:
        raise UnsupportedSourceError(f"{child}: a parent was given but this VHD is not a differencing disk")
    notes: list[str] = []
    ids = {infos[0].unique_id}
    while infos[-1].disk_type == DIFFERENCING:
        if len(infos) > MAX_CHAIN_DEPTH:
            raise IncompleteChainError(f"{child}: VHD chain deeper than {MAX_CHAIN_DEPTH} files")
        found, note = _resolve(infos[-1], parent if len(infos) == 1 else None, opener)
        if found.unique_id in ids:
            raise IncompleteChainError(f"{found.path}: VHD chain loops back to unique id {found.unique_id}")
        ids.add(found.unique_id)
        notes += [note] if note else []
        infos.append(found)
    return infos, notes


def resolve_chain(child: Path, parent: Path | None = None) -> list[Path]:
    """The chain's files, child first, each parent proven by unique id (see :func:`resolve_parent`).

    Raises:
        The errors of :func:`open_vhd_chain`.
    """
    return [info.path for info in _resolve_infos(Path(child), parent, _open_rb)[0]]


def open_vhd_chain(child: Path, parent: Path | None = None, *,
                   opener: Opener = _open_rb) -> tuple[VhdChainStream, list[Path]]:
    """Open a VHD (usually a differencing ``.avhd``) and every ancestor down to its fixed/dynamic base.

    Args:
        child: the disk to read (its state is what the stream presents).
        parent: the child's parent, overriding the locator search (must still match its unique id).
        opener: opens one evidence file read-only; tests pass a counting wrapper.

    Returns:
        The stream and the chain (child first) for provenance.

    Raises:
        SourceNotFoundError, UnsupportedSourceError: the child is missing or not a usable VHD.
        IncompleteChainError: a parent is missing, does not match, or the chain loops or is too deep.
    """
    child = Path(child)
    infos, notes = _resolve_infos(child, parent, opener)
    files: list[BinaryIO] = []
    layer: _Layer | None = None
    try:
        for info in reversed(infos):
            files.append(opener(info.path))
            layer = _Layer(info, files[-1], layer)
    except (OSError, _Malformed) as exc:
        for fh in files:
            fh.close()
        raise UnsupportedSourceError(f"{child}: cannot read the VHD chain ({exc})") from exc
    assert layer is not None
    chain = [info.path for info in infos]
    for info in infos:
        notes += [f"{info.path.name}: {problem}" for problem in info.problems]
    for note in notes:
        log.warning("%s", note)
    return VhdChainStream(layer, files, chain, notes), chain


def open_chain_container(child: Path, parent: Path | None = None) -> tuple[Any, list[Path]]:
    """A dissect container over the chain: our stream, named ``VhdChainContainer`` (scanner.evidence.kinds).

    dissect's own ``container.open`` would pick ``VhdContainer`` and read the child alone; this container
    presents :class:`VhdChainStream`, the chain's real content, to dissect's volume and file-system layers
    (:mod:`scanner.evidence.image`).

    Raises:
        The errors of :func:`open_vhd_chain`.
    """
    from dissect.target.containers.raw import RawContainer

    class VhdChainContainer(RawContainer):
        __type__ = "vhd-chain"

    stream, chain = open_vhd_chain(child, parent)
    return VhdChainContainer(stream), chain
