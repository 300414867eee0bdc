"""A PE file's version resource, read from only the bytes that hold it.

The scanner decides which build of a component is on disk from its ``RT_VERSION`` resource, the same data
Explorer's "Details" tab shows. Evidence files are read through dissect streams, so reading a whole 8 MB DLL
to get 1 KB of version data would be wasteful: we read the headers (bounded), locate the section holding the
resource directory (Microsoft "PE Format": optional header data directory 2, section table), read that
section's raw data (bounded), and hand pefile a compact image -- the headers with a one-section table whose
section data follows them -- then ``PE(data=..., fast_load=True)`` and ``parse_data_directories([RESOURCE])``.

A resource section larger than ``max_resource`` (shell32/imageres-style icon stores) is not read whole: the
``Type -> Name -> Language`` path to ``RT_VERSION`` (PE Format, ".rsrc Section") is walked here with small
reads, and pefile gets a sparse section holding only that path and the ``VS_VERSIONINFO`` bytes.

pefile bounds its own resource walk (``MAX_RESOURCE_ENTRIES``, ``MAX_RESOURCE_DEPTH``, visited-directory
tracking); the buffer we give it is at most ``max_header + max_resource`` bytes (or ``_MAX_SPARSE``), so its
work is bounded too. Anything that is not a readable PE raises :class:`PeUnreadable` with one sentence.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, BinaryIO

import pefile

__all__ = ["PeUnreadable", "PeVersion", "lab_tag_of", "read_pe_version"]

_HEAD_FIRST = 4096  # almost every PE's headers and section table fit here; read more only when not
_MAX_SECTIONS = 96  # PE Format, COFF header: "the Windows loader limits the number of sections to 96"
_MAX_SPARSE = 64 * 1024 * 1024  # largest sparse resource section we lay out for pefile
_MAX_DIR_ENTRIES = 4096  # entries examined per resource directory in the sparse walk
_MAX_VERSION_BLOB = 0x10000  # VS_VERSIONINFO.wLength is a WORD
_RT_VERSION = 16
_SUBDIR = 0x80000000
_VS_FFI_SIGNATURE = 0xFEEF04BD
_MACHINES = {0x014C: "i386", 0x8664: "amd64", 0x0200: "ia64", 0x01C4: "arm", 0xAA64: "arm64"}
_LAB_TAG = re.compile(r"\(([A-Za-z0-9_]+\.\d{6}-\d{4})\)")


class PeUnreadable(ValueError):
    """The bytes are not a PE, are truncated, or hold a corrupt resource directory/version resource."""


@dataclass(frozen=True)
class PeVersion:
    """What the version resource and COFF header say about one binary.

    Attributes:
        file_version: numeric ``VS_FIXEDFILEINFO`` FileVersion, e.g. ``6.0.3790.3959``.
        product_version: numeric ProductVersion.
        file_version_string: StringFileInfo ``FileVersion``, e.g.
            ``6.0.3790.3959 (srv03_sp2_rtm.070216-1710)``.
        lab_tag: the build-lab tag in its parentheses (``<lab>.<yymmdd-hhmm>``), None if there is none.
        original_filename, company, description: StringFileInfo values.
        link_time: COFF TimeDateStamp (UTC); None when 0.
        machine: ``i386`` | ``amd64`` | ``ia64`` | ``arm`` | ``arm64`` or ``0x....``.
        warnings: what was odd but not fatal (pefile warnings, truncated/sparse reads, no version resource).
    """

    file_version: str | None
    product_version: str | None
    file_version_string: str | None
    lab_tag: str | None
    original_filename: str | None
    company: str | None
    description: str | None
    link_time: datetime | None
    machine: str | None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Headers:
    machine: int
    timestamp: int
    table: int  # file offset of the section table
    sections: tuple[tuple[int, int, int, int], ...]  # (VirtualSize, VirtualAddress, SizeOfRawData, Pointer)
    file_alignment: int
    rsrc_rva: int
    rsrc_size: int


def lab_tag_of(file_version_string: str | None) -> str | None:
    """The build-lab tag in a FileVersion string's parentheses, e.g. ``srv03_sp2_gdr.091030-1513``."""
    match = _LAB_TAG.search(file_version_string or "")
    return match.group(1) if match else None


def _read_at(fh: BinaryIO, offset: int, length: int) -> bytes:
    fh.seek(offset)
    data = fh.read(length)
    if len(data) != length:
        raise PeUnreadable(f"the file data ends at offset {offset + len(data)}, before its declared size")
    return data


def _u16(buf: bytes, off: int) -> int:
    return int(struct.unpack_from("<H", buf, off)[0])


def _u32(buf: bytes, off: int) -> int:
    return int(struct.unpack_from("<I", buf, off)[0])


def _headers(fh: BinaryIO, size: int, max_header: int) -> tuple[bytes, _Headers]:
    """Read and check the DOS, COFF and optional headers and the section table (PE Format sections 2-4)."""
    head = _read_at(fh, 0, min(size, _HEAD_FIRST, max_header))
    if len(head) < 0x40 or head[:2] != b"MZ":
        raise PeUnreadable("not a PE file: no MZ header")
    pe = _u32(head, 0x3C)
    if pe + 24 > len(head) and len(head) < min(size, max_header):
        head = _read_at(fh, 0, min(size, max_header))
    if pe + 26 > len(head):
        raise PeUnreadable(f"truncated or not a PE file: the PE header at offset {pe} is out of reach")
    if head[pe : pe + 4] != b"PE\0\0":
        raise PeUnreadable("not a PE file: no PE signature")
    machine, nsec, timestamp, _, _, opt_size, _ = struct.unpack_from("<HHIIIHH", head, pe + 4)
    opt = pe + 24
    magic = _u16(head, opt)
    if magic not in (0x10B, 0x20B):
        raise PeUnreadable(f"not a PE image: optional header magic 0x{magic:x}")
    dirs = opt + (96 if magic == 0x10B else 112)
    if dirs > len(head):
        raise PeUnreadable("truncated PE: the optional header is cut off")
    count = _u32(head, dirs - 4)
    rsrc_rva = rsrc_size = 0
    if count > 2 and dirs + 24 <= opt + opt_size and dirs + 24 <= len(head):
        rsrc_rva, rsrc_size = struct.unpack_from("<II", head, dirs + 16)
    table = opt + opt_size
    if not 0 < nsec <= _MAX_SECTIONS:
        raise PeUnreadable(f"corrupt PE header: {nsec} sections")
    if table + 40 * nsec > len(head) and len(head) < min(size, max_header):
        head = _read_at(fh, 0, min(size, max_header))
    if table + 40 * nsec > len(head):
        raise PeUnreadable("truncated or corrupt PE header: the section table is out of reach")
    sections = tuple(
        struct.unpack_from("<IIII", head, table + 40 * i + 8) for i in range(nsec)
    )  # VirtualSize, VirtualAddress, SizeOfRawData, PointerToRawData
    return head, _Headers(machine, timestamp, table, sections, _u32(head, opt + 36), rsrc_rva, rsrc_size)


def _sparse_section(fh: BinaryIO, start: int, length: int, dir_off: int, va: int) -> bytes | None:
    """Walk root -> RT_VERSION -> first name -> first language -> data entry; lay out only those bytes.

    At most 3 directories of ``_MAX_DIR_ENTRIES`` entries and one 64 KiB blob are read (< 200 KiB).

    Returns:
        The sparse section (zeros except the walked path and the version data), or None without RT_VERSION.
    """
    pieces: dict[int, bytes] = {}

    def get(off: int, n: int) -> bytes:
        if off < 0 or off + n > length:
            raise PeUnreadable("corrupt resource directory: an entry points outside the resource section")
        pieces[off] = data = _read_at(fh, start + off, n)
        return data

    def entries(off: int) -> list[tuple[int, int]]:
        named, ids = struct.unpack_from("<HH", get(off, 16), 12)
        raw = get(off + 16, 8 * min(named + ids, _MAX_DIR_ENTRIES))
        return [struct.unpack_from("<II", raw, 8 * i) for i in range(len(raw) // 8)]

    version = [t for name, t in entries(dir_off) if name == _RT_VERSION and t & _SUBDIR]
    if not version:
        return None
    names = [t for _, t in entries(dir_off + (version[0] & ~_SUBDIR)) if t & _SUBDIR]
    langs = [t for _, t in entries(dir_off + (names[0] & ~_SUBDIR)) if not t & _SUBDIR] if names else []
    if not langs:
        raise PeUnreadable("corrupt resource directory: the RT_VERSION entry leads to no data")
    data_rva, data_size = struct.unpack_from("<II", get(dir_off + langs[0], 16))
    get(data_rva - va, min(data_size, _MAX_VERSION_BLOB))
    end = max(off + len(piece) for off, piece in pieces.items())
    if end > _MAX_SPARSE:
        raise PeUnreadable(f"the version resource lies {end} bytes into its section, beyond what is read")
    out = bytearray(end)
    for off, piece in pieces.items():
        out[off : off + len(piece)] = piece
    return bytes(out)


def _compact_image(head: bytes, hdr: _Headers, index: int, section: bytes) -> bytes:
    """Headers + a one-entry section table (the resource section) + that section's bytes."""
    table_end = hdr.table + 40 * len(hdr.sections)
    new_ptr = (table_end + 0x1FF) & ~0x1FF
    image = bytearray(head[:table_end].ljust(new_ptr, b"\0"))
    pe = _u32(head, 0x3C)
    struct.pack_into("<H", image, pe + 6, 1)  # NumberOfSections
    struct.pack_into("<I", image, pe + 24 + 60, new_ptr)  # SizeOfHeaders
    entry = bytearray(head[hdr.table + 40 * index : hdr.table + 40 * index + 40])
    struct.pack_into("<II", entry, 16, len(section), new_ptr)  # SizeOfRawData, PointerToRawData
    image[hdr.table : table_end] = bytes(entry).ljust(table_end - hdr.table, b"\0")
    return bytes(image + section)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value).replace("\0", "").strip() if value is not None else ""
    return text or None


def _strings(pe: Any) -> dict[str, str | None]:
    """The first StringTable of the first VS_VERSIONINFO (pefile keeps keys/values as UTF-8 bytes)."""
    for info in getattr(pe, "FileInfo", None) or []:
        for block in info:
            if getattr(block, "Key", b"") != b"StringFileInfo":
                continue
            for table in getattr(block, "StringTable", []):
                return {_text(k) or "": _text(v) for k, v in table.entries.items()}
    return {}


def _dotted(ms: int, ls: int) -> str:
    return f"{ms >> 16}.{ms & 0xFFFF}.{ls >> 16}.{ls & 0xFFFF}"


def read_pe_version(
    fh: BinaryIO, size: int, *, max_header: int = 64 * 1024, max_resource: int = 4 * 1024 * 1024
) -> PeVersion:
    """Read a PE's version resource and COFF facts, reading only headers and the resource section.

    Args:
        fh: seekable binary stream of the file (read-only; position is not restored).
        size: the file's size in bytes (the stream is never read past it).
        max_header: most bytes read for DOS/PE headers and the section table.
        max_resource: most bytes of the resource section read whole; larger ones are walked sparsely.

    Returns:
        The version facts; ``file_version`` None (with a warning) when the PE has no version resource.

    Raises:
        PeUnreadable: not a PE, truncated, or a corrupt resource directory or version resource.
    """
    head, hdr = _headers(fh, size, max_header)
    machine = _MACHINES.get(hdr.machine, f"0x{hdr.machine:04x}")
    link_time = datetime.fromtimestamp(hdr.timestamp, tz=UTC) if hdr.timestamp else None
    warnings: list[str] = []
    none = PeVersion(None, None, None, None, None, None, None, link_time, machine)
    if not hdr.rsrc_rva:
        return replace(none, warnings=("no resource directory",))
    found = [i for i, (vs, va, rs, _) in enumerate(hdr.sections) if va <= hdr.rsrc_rva < va + max(vs, rs)]
    if not found:
        raise PeUnreadable(f"corrupt PE header: resource directory RVA 0x{hdr.rsrc_rva:x} is in no section")
    _, va, raw_size, ptr = hdr.sections[found[0]]
    start = ptr & ~0x1FF if hdr.file_alignment >= 0x200 else ptr  # as the loader and pefile round it
    if start >= size or raw_size == 0:
        raise PeUnreadable("truncated PE: the resource section has no data in the file")
    length = min(raw_size, size - start)
    truncated = length < raw_size
    if length <= max_resource:
        section = _read_at(fh, start, length)
    else:
        sparse = _sparse_section(fh, start, length, hdr.rsrc_rva - va, va)
        if sparse is None:
            return replace(none, warnings=("no version resource",))
        section = sparse
        warnings.append(f"resource section of {length} bytes read sparsely")
    image = _compact_image(head, hdr, found[0], section)
    try:
        pe = pefile.PE(data=image, fast_load=True)
        pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_RESOURCE"]])
    except Exception as exc:  # noqa: BLE001 - pefile on hostile bytes may raise anything; it is one finding
        raise PeUnreadable(f"corrupt PE: pefile failed ({type(exc).__name__}: {exc})") from exc
    # The entry point lies in a section left out of the compact image: that warning is ours, not the file's.
    pe_warnings = [str(w) for w in pe.get_warnings() if not str(w).startswith("AddressOfEntryPoint")][:5]
    fixed = getattr(pe, "VS_FIXEDFILEINFO", None)
    if not fixed:
        tree = getattr(pe, "DIRECTORY_ENTRY_RESOURCE", None)
        has_version = tree is not None and any(e.id == _RT_VERSION for e in tree.entries)
        why = pe_warnings[0] if pe_warnings else "RT_VERSION yields no VS_FIXEDFILEINFO"
        if truncated:
            raise PeUnreadable(f"truncated PE: the file ends inside its resource section ({why})")
        if has_version or tree is None:
            raise PeUnreadable(f"corrupt version resource or resource directory: {why}")
        return replace(none, warnings=("no version resource", *pe_warnings))
    ffi = fixed[0]
    if ffi.Signature != _VS_FFI_SIGNATURE:
        warnings.append(f"VS_FIXEDFILEINFO signature 0x{ffi.Signature:08x}")
    if truncated:
        warnings.append("the file ends inside its resource section")
    strings = _strings(pe)
    fv_string = strings.get("FileVersion")
    lab = lab_tag_of(fv_string)
    return PeVersion(
        file_version=_dotted(ffi.FileVersionMS, ffi.FileVersionLS),
        product_version=_dotted(ffi.ProductVersionMS, ffi.ProductVersionLS),
        file_version_string=fv_string,
        lab_tag=lab,
        original_filename=strings.get("OriginalFilename"),
        company=strings.get("CompanyName"),
        description=strings.get("FileDescription"),
        link_time=link_time,
        machine=machine,
        warnings=(*warnings, *pe_warnings),
    )
