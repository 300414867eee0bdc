"""A bounded scanner for legacy ``.evt`` event logs (NT 4 / 2000 / XP / Server 2003), record by record.

This module walks the ring; one structure at a time is :mod:`scanner.formats.evt_records`'s. Format: libyal
"Windows Event Log (EVT) format" and the Win32 ``ELF_LOGFILE_HEADER`` / ``EVENTLOGRECORD`` /
``ELF_EOF_RECORD`` documentation. The file is a 48-byte header and a ring buffer of DWORD-aligned records
(``LfLe`` at offset 4, a copy of the length as the last DWORD) running to the file's end, closed by a
floating 40-byte EOF record (0x28, 0x11111111 ... 0x44444444). A record's 56-byte fixed part is never split;
the rest of a record, and the EOF record, may continue right after the header (0x30) when the ring wraps.

Why not ``dissect.eventlog.evt.Evt``: its iterator trusts the header's and EOF record's offsets and loops
forever on a clean wrapped log whose EOF record is split (tests/factory/test_evt.py). A dead server's log is
*dirty*: the header's offsets and record numbers are stale and its newest records -- the failure -- lie past
them. So the file is read linearly in chunks (memory bounded by the records kept), every ``LfLe`` candidate
is validated (lengths, trailing copy, offsets inside the record), records are deduplicated by number, and
bytes inside the live ring that no valid record explains are counted as corrupt. The live ring comes from
the floating EOF record (its BeginRecord, and its own offset as the end), which the service rewrites after
every record, so it is current even when the header is not.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from scanner.formats.evt_records import (
    EOF_NEEDLE,
    EOF_SIZE,
    FIXED_SIZE,
    HEADER_SIZE,
    MAX_RECORD,
    SIGNATURE,
    EvtHeaderInfo,
    RawEvtRecord,
    decode_record,
    parse_eof,
    parse_header,
    u32,
    valid_record,
)

__all__ = ["MAX_RECORD", "EvtHeaderInfo", "EvtScan", "RawEvtRecord", "scan_evt"]

MAX_FILE = 0xFFFFFFFF  # offsets are 32-bit
_CHUNK = 1 << 20
_MAX_RUNS = 16384  # record-number runs kept for deduplication (a real log has one or two)
_MAX_FAILED = 1 << 18  # invalid "LfLe" candidates before giving up on a file (hostile: ~0.5 s per MiB)
_WRAP_PAD = b"\x27\x00\x00\x00"

Keep = Callable[[str, int], bool]


@dataclass
class EvtScan:
    """What one scan found: kept records (file order), counts, and notes for gaps."""

    header: EvtHeaderInfo | None = None
    eof: EvtHeaderInfo | None = None
    records: list[RawEvtRecord] = field(default_factory=list)
    total: int = 0
    corrupt: int = 0
    first_corrupt: int | None = None
    past_header: int = 0  # records newer than a dirty header's bookkeeping (number >= its next record)
    leftover: int = 0  # older records outside the live ring (numbers below its oldest record)
    duplicates: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def stale_header(self) -> bool:
        """DIRTY header whose bookkeeping misses records or disagrees with the floating EOF record."""
        h, e = self.header, self.eof
        if h is None or not h.dirty:
            return False
        return self.past_header > 0 or (e is not None and (e.end, e.current) != (h.end, h.current))


class _Window:
    """A sliding read buffer over the file: one chunk (plus a record's worth) in memory at a time."""

    def __init__(self, fh: BinaryIO, size: int) -> None:
        self.fh, self.size, self.base, self.buf = fh, size, 0, b""

    def load(self, offset: int, length: int) -> bytes:
        end = min(offset + length, self.size)
        if not (self.base <= offset and end <= self.base + len(self.buf)):
            self.fh.seek(offset)
            self.buf = self.fh.read(max(end - offset, _CHUNK))
            self.base = offset
        return self.buf

    def read(self, offset: int, length: int) -> bytes:
        buf = self.load(offset, length)
        return buf[offset - self.base : offset - self.base + length]


class _Numbers:
    """Record numbers seen, as sorted runs of consecutive numbers (a live ring is one or two runs)."""

    def __init__(self) -> None:
        self.los: list[int] = []
        self.his: list[int] = []
        self.last = -1
        self.overflow = False

    def add(self, n: int) -> bool:
        """Remember ``n``; False if it was already seen."""
        i = self.last
        if i >= 0 and self.his[i] + 1 == n and (i + 1 == len(self.los) or self.los[i + 1] > n):
            self.his[i] = n
            return True
        i = bisect.bisect_right(self.los, n) - 1
        if i >= 0 and self.his[i] >= n:
            return False
        if len(self.los) >= _MAX_RUNS:
            self.overflow = True
            return True
        self.los.insert(i + 1, n)
        self.his.insert(i + 1, n)
        self.last = i + 1
        return True


def _eof_at(win: _Window, offset: int, size: int) -> EvtHeaderInfo | None:
    """The EOF record at ``offset`` (possibly split across the end of the file), if it is one."""
    if not HEADER_SIZE <= offset < size or offset % 4:
        return None
    raw = win.read(offset, EOF_SIZE)
    if len(raw) < EOF_SIZE:
        raw += win.read(HEADER_SIZE, EOF_SIZE - len(raw))
    return parse_eof(raw, offset, size)


def _find_eof(fh: BinaryIO, win: _Window, size: int) -> EvtHeaderInfo | None:
    """Search the whole file for the floating EOF record; the one with the newest record number wins."""
    best: EvtHeaderInfo | None = None
    for pos in range(HEADER_SIZE, size, _CHUNK):
        fh.seek(pos)
        buf = fh.read(min(_CHUNK + EOF_SIZE, size - pos))
        i = buf.find(EOF_NEEDLE)
        while -1 < i < _CHUNK:
            found = parse_eof(buf[i : i + EOF_SIZE], pos + i, size)
            if found and (best is None or found.current > best.current):
                best = found
            i = buf.find(EOF_NEEDLE, i + 1)
    # An EOF record split across the end of the file: the needle itself may be cut.
    for offset in range(max(HEADER_SIZE, (size - EOF_SIZE + 4) & ~3), size, 4):
        found = _eof_at(win, offset, size)
        if found and (best is None or found.current > best.current):
            best = found
    return best


class _Scanner:
    """One pass over the ring in ring order: ``[start, size)`` then ``[0x30 + continuation, start)``."""

    def __init__(self, fh: BinaryIO, size: int, keep: Keep | None, scan: EvtScan) -> None:
        self.win = _Window(fh, size)
        self.size, self.keep, self.scan = size, keep, scan
        self.numbers = _Numbers()
        self.live: list[tuple[int, int]] = [(HEADER_SIZE, size)]
        self.junk_at: int | None = None  # start of the unexplained bytes not yet closed
        self.junk_failed = 0
        self.continuation = 0  # bytes at 0x30 belonging to the record or EOF record split at the end
        self.failed = 0

    def run(self) -> None:
        h, e = self.scan.header, self.scan.eof
        start = HEADER_SIZE
        if e is not None:
            start = e.start
            if e.end + EOF_SIZE > self.size:
                self.continuation = e.end + EOF_SIZE - self.size
            if e.start <= e.end:
                self.live = [(e.start, e.end)]
            else:
                self.live = [(e.start, self.size), (HEADER_SIZE, e.end)]
        elif h is not None and HEADER_SIZE <= h.start < self.size:
            start = h.start
        start = start & ~3 if start >= HEADER_SIZE else HEADER_SIZE
        self._segment(start, self.size)
        if start > HEADER_SIZE:
            self._segment(HEADER_SIZE + self.continuation, start)
        self._close_junk()
        if self.numbers.overflow:
            self.scan.notes.append("record numbers too scattered to deduplicate them all")

    def _in_live(self, offset: int) -> bool:
        return any(lo <= offset < hi for lo, hi in self.live)

    def _note(self, a: int, b: int, buf: bytes) -> None:
        """Bytes ``[a, b)`` (inside the current window) hold no valid record: junk if inside the live ring."""
        for lo, hi in self.live:
            x, y = max(a, lo), min(b, hi)
            if x >= y or self.junk_at is not None:
                continue
            seg = buf[x - self.win.base : y - self.win.base]
            if seg.replace(_WRAP_PAD, b"").strip(b"\0"):
                self.junk_at = x

    def _close_junk(self) -> None:
        if self.junk_at is not None:
            self.scan.corrupt += max(1, self.junk_failed)
            if self.scan.first_corrupt is None:
                self.scan.first_corrupt = self.junk_at
        self.junk_at, self.junk_failed = None, 0

    def _segment(self, pos: int, stop: int) -> None:
        while pos + 8 <= stop and self.failed < _MAX_FAILED:
            buf = self.win.load(pos, MAX_RECORD)  # reloads (1 MiB) only when less than a record is left
            base = self.win.base
            end = min(base + len(buf), stop)
            i = buf.find(SIGNATURE, pos - base + 4, end - base)
            while i != -1 and (base + i - 4) % 4:
                i = buf.find(SIGNATURE, i + 1, end - base)
            if i == -1:
                nxt = stop if end >= stop else max(pos + 4, (end - 8) & ~3)
                self._note(pos, min(nxt, end), buf)
                pos = nxt
                continue
            at = base + i - 4
            self._note(pos, at, buf)
            pos = self._candidate(at)

    def _candidate(self, at: int) -> int:
        """Validate the record starting at ``at``; return where scanning continues."""
        head = self.win.read(at, 4)
        length = u32(head, 0) if len(head) == 4 else 0
        rec, split, source = b"", False, None
        if FIXED_SIZE + 4 <= length <= min(MAX_RECORD, self.size - HEADER_SIZE) and length % 4 == 0:
            rec = self.win.read(at, length)
            if len(rec) >= FIXED_SIZE and len(rec) < length:  # wrapped: the rest continues after the header
                rec += self.win.read(HEADER_SIZE, length - len(rec))
                split = True
            if len(rec) == length:
                source = valid_record(rec)
        if source is None:
            self.failed += 1
            if self.failed == _MAX_FAILED:
                self.scan.notes.append(f"scan stopped at 0x{at:x}: {_MAX_FAILED} invalid record signatures")
            if self._in_live(at):
                if self.junk_at is None:
                    self.junk_at = at
                self.junk_failed += 1
            return at + 4
        self._close_junk()
        self._accept(rec, at, split, source)
        if split:
            self.continuation = max(self.continuation, length - (self.size - at))
            return self.size
        return at + length

    def _accept(self, rec: bytes, at: int, split: bool, source: str) -> None:
        scan = self.scan
        number = u32(rec, 8)
        if not self.numbers.add(number):
            scan.duplicates += 1
            return
        scan.total += 1
        h = scan.header
        # Record numbers only grow: a record numbered at or above the header's next record number was
        # written after the header was last flushed. A record below the ring's oldest number is an older
        # one the ring has not overwritten yet (it lies outside the live ring, but it is not new).
        past = h is not None and h.dirty and number >= h.current
        scan.past_header += past
        bookkeeping = scan.eof or h
        scan.leftover += bookkeeping is not None and number < bookkeeping.oldest
        if self.keep is not None and not self.keep(source, u32(rec, 20) & 0xFFFF):
            return
        scan.records.append(decode_record(rec, at, past, split))


def scan_evt(fh: BinaryIO, size: int, keep: Keep | None = None) -> EvtScan:
    """Read every valid record of a ``.evt`` file, keeping those ``keep(source, event_id & 0xFFFF)`` accepts.

    Args:
        fh: the file, seekable, opened read-only; read in 1 MiB chunks.
        size: its size in bytes.
        keep: filter on the event source (as stored) and the 16-bit event ID; None keeps all.

    Returns:
        The scan: kept records in ring order (oldest first), counts, header and EOF bookkeeping, notes.
    """
    scan = EvtScan()
    if size > MAX_FILE:
        scan.notes.append(f"file of {size} bytes is larger than a .evt can be; only the first 4 GiB read")
        size = MAX_FILE
    win = _Window(fh, size)
    scan.header = parse_header(win.read(0, HEADER_SIZE), size)
    if scan.header is None:
        scan.notes.append("no valid ELF_LOGFILE_HEADER; records scanned without it")
    h = scan.header
    eof = _eof_at(win, h.end, size) if h is not None and not h.dirty else None
    scan.eof = eof if eof is not None else _find_eof(fh, win, size)
    if scan.eof is None and size > HEADER_SIZE:
        scan.notes.append("no end-of-file record (file truncated or damaged)")
    _Scanner(fh, size, keep, scan).run()
    scan.records.sort(key=lambda r: r.number)
    return scan
