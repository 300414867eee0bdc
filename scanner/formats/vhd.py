"""Legacy VHD images (``.vhd``/``.avhd``): footer, dynamic header, parent locators, BAT and sector bitmaps.

A byte parser of the format layer: it reads one file through a handle and knows nothing of the model or of
where a parent lies (that is :mod:`scanner.evidence.vhdchain`'s job). Spec: Microsoft "Virtual Hard Disk
Image Format Specification" v1.0 (October 2006): "Hard Disk Footer Format" (``conectix``, big-endian, disk
type at +60, unique id at +68), "Dynamic Disk Header Format" (``cxsparse``; parent unique id +40, parent time
stamp +56, parent Unicode name +64 in UTF-16BE, eight 24-byte parent locators from +576), "Block Allocation
Table and Data Blocks" (BAT of big-endian sector numbers, 0xFFFFFFFF = absent; per-block sector bitmap, MSB
first, padded to a sector) and "Implementing a Differencing Hard Disk" (a sector whose bit is 0, or whose
block is absent, comes from the parent). Bits are masked one by one: libvhdi misreads bitmap bytes other
than 0x00/0xFF, which NTFS's 1 KiB MFT records produce on real disks.

Bounds: every size and offset is checked against the file's size and the spec's maxima before it is read
(virtual size <= 2040 GB, block size <= 256 MiB, a locator <= 64 KiB, the BAT only as long as the disk
needs); a read walks the requested sectors once, block by block, and keeps at most 256 bitmaps.
"""

from __future__ import annotations

import io
import struct
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import BinaryIO, Protocol
from urllib.parse import unquote, urlparse

__all__ = [
    "DIFFERENCING",
    "DYNAMIC",
    "FIXED",
    "SECTOR",
    "SectorReader",
    "VhdFormatError",
    "VhdInfo",
    "VhdLayer",
    "footer_disk_type",
    "read_info",
    "stamp",
]

SECTOR = 512
FIXED, DYNAMIC, DIFFERENCING = 2, 3, 4
MAX_VIRTUAL_SIZE = 2040 * 1024**3  # the spec's largest VHD (2040 GB)
MAX_BLOCK_SIZE = 256 * 1024**2
MAX_LOCATOR_BYTES = 65536  # a Windows path of 32767 UTF-16 code units
_NO_BLOCK = 0xFFFFFFFF
_BITMAP_CACHE = 256
_FOOTER = struct.Struct(">8sIIQI4sI4sQQIII16s")  # ... disk type, checksum, unique id
_HEADER = struct.Struct(">8sQQIIII16sI4s512s")  # ... parent uuid, parent time stamp, reserved, parent name
_LOCATOR = struct.Struct(">4sIIIQ")  # platform code, data space, data length, reserved, data offset
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class VhdFormatError(ValueError):
    """A structure that contradicts the spec; callers turn it into the right ScannerError."""


@dataclass(frozen=True)
class VhdInfo:
    """What the footer and (for dynamic/differencing disks) the dynamic header declare."""

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


def stamp(value: int) -> str:
    """A VHD time stamp (seconds since 2000-01-01 UTC) as ISO 8601 with ``Z``."""
    return (_EPOCH + timedelta(seconds=value)).isoformat().replace("+00:00", "Z")


def _checksum_ok(raw: bytes, at: int) -> bool:
    """Footer/header "Checksum": one's complement of the byte sum with the field itself taken as zero."""
    total = sum(raw) - sum(raw[at : at + 4])
    return (~total & 0xFFFFFFFF) == struct.unpack_from(">I", raw, at)[0]


def pread(fh: BinaryIO, offset: int, length: int) -> bytes:
    """Exactly ``length`` bytes at ``offset``, or :class:`VhdFormatError` (a short read)."""
    fh.seek(offset)
    data = fh.read(length)
    if len(data) != length:
        raise VhdFormatError(f"short read at offset {offset} ({len(data)} of {length} bytes)")
    return data


def _read_footer(fh: BinaryIO, file_size: int) -> tuple[bytes, list[str]]:
    """The footer at the end (512 bytes; 511 before Virtual PC 2004), else its copy at offset 0.

    The spec keeps the copy at offset 0 so a disk survives a damaged footer; a bad checksum is tolerated
    (and reported) rather than refusing the evidence.
    """
    tried = []
    for offset in (file_size - SECTOR, file_size - SECTOR + 1, 0):
        if offset < 0 or file_size < SECTOR:
            continue
        raw = pread(fh, offset, min(SECTOR, file_size - offset))
        if raw[:8] == b"conectix" and len(raw) >= 85:
            if _checksum_ok(raw, 64):
                notes = [] if offset else ["footer lost; its copy at offset 0 was used"]
                return raw.ljust(SECTOR, b"\0"), notes
            tried.append(raw)
    if tried:
        return tried[0].ljust(SECTOR, b"\0"), ["footer checksum mismatch; footer used as stored"]
    raise VhdFormatError("no VHD footer (conectix)")


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


def footer_disk_type(fh: BinaryIO) -> int | None:
    """The disk type of the footer in the file's last sector, None when there is none (reads 512 bytes)."""
    size = fh.seek(0, io.SEEK_END)
    if size < 2 * SECTOR:
        return None
    raw = pread(fh, size - SECTOR, SECTOR)
    return int(struct.unpack_from(">I", raw, 60)[0]) if raw[:8] == b"conectix" else None


def read_info(fh: BinaryIO) -> VhdInfo:
    """Parse and sanity-check footer, dynamic header and locators; every read bounded by the file's size.

    Raises:
        VhdFormatError: the file is no VHD, or declares sizes or offsets the spec or the file rule out.
        OSError: the handle cannot be read.
    """
    try:
        return _read_info(fh)
    except struct.error as exc:  # a structure shorter than the spec's: not reachable, kept as a guarantee
        raise VhdFormatError(f"truncated structure ({exc})") from exc


def _read_info(fh: BinaryIO) -> VhdInfo:
    file_size = fh.seek(0, io.SEEK_END)
    raw, problems = _read_footer(fh, file_size)
    f = _FOOTER.unpack_from(raw)
    data_offset, stamp_, size, disk_type, unique_id = f[3], f[4], f[9], f[11], uuid.UUID(bytes=f[13])
    if disk_type not in (FIXED, DYNAMIC, DIFFERENCING):
        raise VhdFormatError(f"unsupported VHD disk type {disk_type}")
    if size % SECTOR or not 0 < size <= MAX_VIRTUAL_SIZE:
        raise VhdFormatError(f"implausible virtual size {size}")
    if disk_type == FIXED:
        if file_size < size + SECTOR - 1:
            raise VhdFormatError(f"fixed VHD is truncated ({file_size} bytes for a {size}-byte disk)")
        return VhdInfo(file_size, disk_type, size, unique_id, stamp_, problems=tuple(problems))
    if data_offset % SECTOR or data_offset + 1024 > file_size:
        raise VhdFormatError(f"dynamic header offset {data_offset} outside the file")
    hdr = pread(fh, data_offset, 1024)
    h = _HEADER.unpack_from(hdr)
    if h[0] != b"cxsparse":
        raise VhdFormatError("no dynamic disk header (cxsparse)")
    if not _checksum_ok(hdr, 36):
        problems.append("dynamic header checksum mismatch; header used as stored")
    table_offset, max_entries, block_size = h[2], h[4], h[5]
    if block_size % SECTOR or not SECTOR <= block_size <= MAX_BLOCK_SIZE:
        raise VhdFormatError(f"implausible block size {block_size}")
    needed = -(-size // block_size)
    if max_entries < needed or table_offset + 4 * needed > file_size:
        raise VhdFormatError(f"BAT ({max_entries} entries at {table_offset}) does not cover the disk")
    locators = []
    for i in range(8):
        code_raw, _space, length, _reserved, offset = _LOCATOR.unpack_from(hdr, 576 + 24 * i)
        code = code_raw.decode("latin-1")
        if code_raw == bytes(4) or not 0 < length <= MAX_LOCATOR_BYTES or offset + length > file_size:
            continue
        locators.append((code, _locator_text(code, pread(fh, offset, length))))
    name = h[10].decode("utf-16-be", "replace").split("\0", 1)[0]
    return VhdInfo(file_size, disk_type, size, unique_id, stamp_, table_offset, max_entries, block_size,
                   uuid.UUID(bytes=h[7]), h[8], name, tuple(locators), tuple(problems))


class SectorReader(Protocol):
    """What a layer hands the sectors it does not hold to: its parent layer."""

    def read(self, sector: int, count: int) -> bytes: ...


class VhdLayer:
    """One file of a chain: reads sector ranges, handing what it does not hold to its parent.

    Args:
        info: the file's :func:`read_info`.
        fh: the file, opened read-only (owned by the caller).
        parent: the parent layer for a differencing disk, else None.
        label: the file's name, for error messages.

    Raises:
        VhdFormatError: the BAT cannot be read (at construction).
        OSError: a read the file cannot satisfy (a short read, a BAT entry outside the file).
    """

    def __init__(self, info: VhdInfo, fh: BinaryIO, parent: SectorReader | None, label: str) -> None:
        self.info, self.fh, self.parent, self.label = info, fh, parent, label
        self.bitmap_bytes = -(-(info.block_size // SECTOR) // 8 // SECTOR) * SECTOR if info.block_size else 0
        self._bitmaps: OrderedDict[int, bytes] = OrderedDict()
        self.bat: tuple[int, ...] = ()
        if info.disk_type != FIXED:
            needed = -(-info.size // info.block_size)
            self.bat = struct.unpack(f">{needed}I", pread(fh, info.table_offset, 4 * needed))

    def _file(self, offset: int, length: int) -> bytes:
        try:
            return pread(self.fh, offset, length)
        except VhdFormatError as exc:
            raise OSError(f"{self.label}: {exc}") from exc

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
                    raise OSError(f"{self.label}: BAT entry {block} points outside the file ({entry})")
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
