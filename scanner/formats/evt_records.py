"""Legacy ``.evt`` structures, one at a time: ``ELF_LOGFILE_HEADER``, ``EVENTLOGRECORD``, ``ELF_EOF_RECORD``.

The record-level half of the ``.evt`` reader (:mod:`scanner.formats.evt` walks the ring). Format: libyal
"Windows Event Log (EVT) format" and the Win32 ``ELF_LOGFILE_HEADER`` / ``EVENTLOGRECORD`` /
``ELF_EOF_RECORD`` documentation: a 48-byte header (``LfLe`` at offset 4), DWORD-aligned records (56-byte
fixed part, source and computer names, strings, SID and data at offsets inside the record, a copy of the
length as the last DWORD) and a 40-byte EOF record (0x28, 0x11111111 ... 0x44444444). Every offset a record
declares is checked against its own length before it is read, and every string search is bounded by it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["EOF_NEEDLE", "EOF_SIZE", "FIXED_SIZE", "HEADER_SIZE", "MAX_RECORD", "SIGNATURE", "EvtHeaderInfo",
           "RawEvtRecord", "decode_record", "parse_eof", "parse_header", "sid_string", "u32", "valid_record"]

HEADER_SIZE = 0x30
FIXED_SIZE = 0x38  # EVENTLOGRECORD without its variable part
EOF_SIZE = 0x28
MAX_RECORD = 0x40000  # far above what ReportEvent can write (~64 KiB strings + 60 KiB data)
SIGNATURE = b"LfLe"
EOF_NEEDLE = struct.pack("<5I", EOF_SIZE, 0x11111111, 0x22222222, 0x33333333, 0x44444444)
_DIRTY_FLAG = 0x1
_RECORD = struct.Struct("<I4sIIIIHHHHIIIIII")


@dataclass(frozen=True)
class EvtHeaderInfo:
    """The ring bookkeeping of an ``ELF_LOGFILE_HEADER`` or ``ELF_EOF_RECORD``."""

    start: int
    end: int
    current: int  # next record number to be written
    oldest: int
    max_size: int = 0
    flags: int = 0

    @property
    def dirty(self) -> bool:
        return bool(self.flags & _DIRTY_FLAG)


@dataclass(frozen=True)
class RawEvtRecord:
    """One kept ``EVENTLOGRECORD``, decoded; ``offset`` is where it starts in the file."""

    offset: int
    number: int
    time_generated: int  # POSIX seconds, UTC
    time_written: int
    event_id: int  # as stored (32 bits)
    event_type: int
    category: int
    source: str
    computer: str
    user_sid: str | None
    strings: tuple[str, ...]
    data: bytes
    past_header: bool
    split: bool


def u32(data: bytes, offset: int) -> int:
    """The little-endian DWORD at ``offset``."""
    return int(struct.unpack_from("<I", data, offset)[0])


def _wstr(rec: bytes, start: int, limit: int) -> tuple[str, int] | None:
    """UTF-16LE string starting at ``start``, NUL-terminated before ``limit``: (text, offset after NUL)."""
    i = rec.find(b"\0\0", start, limit)
    while i != -1 and (i - start) % 2:
        i = rec.find(b"\0\0", i + 1, limit)
    if i == -1:
        return None
    return rec[start:i].decode("utf-16-le", "replace"), i + 2


def sid_string(raw: bytes) -> str | None:
    """A binary SID ([MS-DTYP] 2.4.2.2) as ``S-1-5-18``; None when it is not a well-formed SID."""
    if len(raw) < 8 or raw[0] != 1 or len(raw) != 8 + 4 * raw[1]:
        return None
    subs = struct.unpack_from(f"<{raw[1]}I", raw, 8)
    return "-".join(["S", "1", str(int.from_bytes(raw[2:8], "big")), *map(str, subs)])


def valid_record(rec: bytes) -> str | None:
    """Structural checks of one candidate record (``rec`` holds exactly its ``Length`` bytes).

    Returns:
        The record's source name when it passes, else None.
    """
    length = len(rec)
    (_l, _s, _n, _tg, _tw, _eid, _et, nstr, _cat, _rf, _crn, str_off, sid_len, sid_off, data_len,
     data_off) = _RECORD.unpack_from(rec)
    body = length - 4
    if u32(rec, body) != length:
        return None
    if nstr and not FIXED_SIZE <= str_off < body:
        return None
    if sid_len and not (FIXED_SIZE <= sid_off and sid_off + sid_len <= body):
        return None
    if data_len and not (FIXED_SIZE <= data_off and data_off + data_len <= body):
        return None
    source = _wstr(rec, FIXED_SIZE, body)
    return source[0] if source is not None else None


def decode_record(rec: bytes, offset: int, past: bool, split: bool) -> RawEvtRecord:
    """A record :func:`valid_record` accepted, decoded; an unterminated last string keeps what is there."""
    (length, _s, number, generated, written, eid, etype, nstr, category, _rf, _crn, str_off, sid_len,
     sid_off, data_len, data_off) = _RECORD.unpack_from(rec)
    body = length - 4
    source, after = _wstr(rec, FIXED_SIZE, body) or ("", FIXED_SIZE)
    computer = (_wstr(rec, after, body) or ("", after))[0]
    strings: list[str] = []
    limit = data_off if data_len and str_off < data_off <= body else body
    pos = str_off
    for _ in range(nstr):
        got = _wstr(rec, pos, limit)
        if got is None:  # unterminated last string: keep what is there
            strings.append(rec[pos:limit].decode("utf-16-le", "replace").rstrip("\0"))
            break
        strings.append(got[0])
        pos = got[1]
    sid = sid_string(rec[sid_off : sid_off + sid_len]) if sid_len else None
    data = rec[data_off : data_off + data_len] if data_len else b""
    return RawEvtRecord(offset, number, generated, written, eid, etype, category, source, computer, sid,
                        tuple(strings), data, past, split)


def parse_header(data: bytes, size: int) -> EvtHeaderInfo | None:
    """The ``ELF_LOGFILE_HEADER`` at the file's start, None unless both size fields and the signature hold."""
    if len(data) < HEADER_SIZE:
        return None
    fields = struct.unpack_from("<I4s10I", data)
    hsize, sig, _major, _minor, start, end, current, oldest, max_size, flags, _ret, hsize2 = fields
    if sig != SIGNATURE or hsize != HEADER_SIZE or hsize2 != HEADER_SIZE:
        return None
    return EvtHeaderInfo(start, end, current, oldest, max_size, flags)


def parse_eof(raw: bytes, offset: int, size: int) -> EvtHeaderInfo | None:
    """The ``ELF_EOF_RECORD`` in ``raw`` found at ``offset``; None unless its end is its own offset and its
    first record lies inside the file."""
    if len(raw) != EOF_SIZE or raw[:20] != EOF_NEEDLE or u32(raw, 36) != EOF_SIZE:
        return None
    begin, end, current, oldest = struct.unpack_from("<4I", raw, 20)
    if end != offset or not HEADER_SIZE <= begin < size:
        return None
    return EvtHeaderInfo(begin, end, current, oldest)
