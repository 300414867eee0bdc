"""Registry hive transaction logs (regf): dirty-state checks and in-memory replay of old and new logs.

A byte parser of the format layer (it knows nothing of the model): it takes a hive's and its logs' bytes and
returns the replayed bytes, or raises :class:`LogRejected` with the reason. The collector
(:mod:`scanner.collectors.hive`) decides which logs to try, parses the result and records what was done.

Spec: Maxim Suhanov, "Windows registry file format specification" (https://github.com/msuhanov/regf),
sections "Base block", "Format of transaction log files", "Dirty state of a hive" and "Multiple transaction
log files"; Joachim Metz, libregf "Windows NT Registry File (REGF) format".

* Old format (NT 5.x to Windows 8; ``.LOG``, and ``.LOG1/.LOG2`` on Vista-8.0): the first sector is a copy of
  the base block (File type 1), the next sector starts ``"DIRT"`` + a bitmap with one bit per 512-byte page
  of hive bins data, then every dirty page in bitmap order, each written back to ``4096 + 512 * bit``.
  python-registry refuses this format, so :func:`replay_nt5` implements it (regipy's ``recovery.py`` was
  read for comparison; regipy is a test-only dependency and is not imported here).
* New format (Windows 8.1+; ``.LOG1/.LOG2``): base block (File type 6) + HvLE log entries. Replayed with
  python-registry's ``RegistryLog``, following the eligibility and ordering rules of its recovery sample.

Bounds: nothing grows past :data:`MAX_HIVE_SIZE`; the dirty vector is cut to the declared hive bins size and
the hive-bin walk advances by at least 4096 bytes a bin; new-format pages outside an entry's hive bins size
are refused (:class:`_BoundedLog`). The format is recognised by content, never by file name; the caller's
bytes are never modified.
"""

from __future__ import annotations

import io
import struct
from functools import cmp_to_key
from typing import Any

from Registry import RegistryLog, RegistryParse

__all__ = ["BASE_BLOCK", "MAX_HIVE_SIZE", "PARSE_ERRORS", "LogRejected", "checksum_ok", "file_type",
           "is_dirty", "log_format", "replay_nt5", "replay_nt6"]

MAX_HIVE_SIZE = 512 * 1024 * 1024
"""Largest hive or log read or replayed; real SOFTWARE hives stay far below it."""
BASE_BLOCK = 4096
"""Base block size = offset of the hive bins data (spec: "Base block")."""
_BASE = BASE_BLOCK
_SECTOR = 512
_OLD_LOG_TYPES = (1, 2)  # File type 1 (2 also appears in python-registry's FileType as an old log)
_NEW_LOG_TYPE = 6
PARSE_ERRORS = (RegistryParse.RegistryException, struct.error, ValueError, IndexError, OverflowError)
"""What python-registry and :mod:`struct` raise on hostile hive bytes."""


class LogRejected(Exception):
    """A transaction log that cannot be applied; the message is the reason, without a final period."""


def _u32(data: bytes | bytearray, offset: int) -> int:
    return int(struct.unpack_from("<I", data, offset)[0])


def _checksum(block: bytes | bytearray) -> int:
    """XOR-32 of the first 508 bytes, 0 -> 1 and 0xFFFFFFFF -> 0xFFFFFFFE (spec: "Base block", Checksum)."""
    value = 0
    for (word,) in struct.iter_unpack("<I", bytes(block[:508])):
        value ^= word
    return 1 if value == 0 else 0xFFFFFFFE if value == 0xFFFFFFFF else value


def checksum_ok(block: bytes | bytearray) -> bool:
    """True when the base block's stored checksum matches its first 508 bytes."""
    return len(block) >= _SECTOR and _checksum(block) == _u32(block, 508)


def file_type(data: bytes | bytearray) -> int:
    """The base block's File type: 0 primary hive, 1 (or 2) old-format log, 6 new-format log; -1 when the
    bytes are too short to hold one."""
    return _u32(data, 28) if len(data) >= 32 else -1


def is_dirty(primary: bytes) -> bool:
    """Spec "Dirty state of a hive": wrong checksum, or primary sequence != secondary sequence."""
    return not checksum_ok(primary) or _u32(primary, 4) != _u32(primary, 8)


def seal_header(buf: bytearray, sequence: int, hbins_size: int) -> None:
    """Mark the replayed copy clean: both sequence numbers equal, File type primary, fresh checksum."""
    struct.pack_into("<II", buf, 4, sequence, sequence)
    struct.pack_into("<I", buf, 28, 0)
    struct.pack_into("<I", buf, 40, hbins_size)
    struct.pack_into("<I", buf, 508, _checksum(buf))


def log_format(data: bytes) -> str | None:
    """Recognise a log by content: ``regf`` base block, then DIRT at 512/4096 (old) or HvLE at 512 (new)."""
    if len(data) < _SECTOR + 4 or data[:4] != b"regf":  # a truncated log is still recognised
        return None
    file_type = _u32(data, 28)
    if file_type in _OLD_LOG_TYPES and b"DIRT" in (data[512:516], data[4096:4100]):
        return "nt5"
    if file_type == _NEW_LOG_TYPE and data[512:516] == b"HvLE":
        return "nt6"
    return None


# --- old format (DIRT) -------------------------------------------------------------------------------------
def replay_nt5(primary: bytes, log: bytes) -> tuple[bytes, int]:
    """Apply an old-format log to a copy of ``primary``; spec "Old format" (base block, dirty vector, pages).

    Raises:
        LogRejected: the log is not an old-format log, is invalid, belongs to another flush, is truncated,
            or yields a bad hive bin.
    """
    if log_format(log) != "nt5":
        raise LogRejected("it is not an old-format (DIRT) transaction log")
    if _u32(log, 28) not in _OLD_LOG_TYPES or not checksum_ok(log) or _u32(log, 4) != _u32(log, 8):
        raise LogRejected("its base block is invalid (bad checksum or unequal sequence numbers)")
    # "A transaction log can be applied when its Last written timestamp equals the primary's; when the
    # primary's base block is invalid, the Timestamp of the first hive bin is used instead."
    stamp_at = 12 if checksum_ok(primary) else _BASE + 20
    if len(primary) < stamp_at + 8 or log[12:20] != primary[stamp_at : stamp_at + 8]:
        raise LogRejected("its last-written time stamp differs from the hive's: it is from another flush")
    dirt = _SECTOR if log[512:516] == b"DIRT" else _BASE  # the second sector: 512, or 4096 with 4 KiB sectors
    hbins_size = _u32(log, 40)  # the in-memory size at the flush: the hive may have grown since
    if hbins_size == 0 or hbins_size % _BASE or hbins_size > MAX_HIVE_SIZE - _BASE:
        raise LogRejected(f"its hive bins size {hbins_size:#x} is not a plausible multiple of 4096")
    bitmap = log[dirt + 4 : dirt + 4 + hbins_size // (8 * _SECTOR)]  # one bit per 512-byte page
    if len(bitmap) * 8 * _SECTOR != hbins_size:
        raise LogRejected("it is truncated inside its dirty vector")
    bits = [i * 8 + b for i, byte in enumerate(bitmap) if byte for b in range(8) if byte >> b & 1]
    first_page = -(-(dirt + 4 + len(bitmap)) // dirt) * dirt  # the sector after the dirty vector
    if first_page + len(bits) * _SECTOR > len(log):
        raise LogRejected(f"it is truncated: {len(bits)} dirty pages are announced but not all are present")

    out = bytearray(primary)
    if not checksum_ok(primary):  # spec note 4: recover the base block from the log's copy
        out[:_SECTOR] = log[:_SECTOR]
    out.extend(bytes(max(0, _BASE + hbins_size - len(out))))
    for index, bit in enumerate(bits):
        src = first_page + index * _SECTOR
        out[_BASE + bit * _SECTOR : _BASE + (bit + 1) * _SECTOR] = log[src : src + _SECTOR]
    _check_dirty_bins(out, hbins_size, set(bits))
    seal_header(out, _u32(log, 4), hbins_size)
    return bytes(out), len(bits)


def _check_dirty_bins(buf: bytearray, hbins_size: int, dirty: set[int]) -> None:
    """Spec "Dirty pages": a dirty hive bin must have its signature and its own offset, or recovery aborts.

    Bins are walked from the first; the walk stops (without blame) at a broken header on a clean page, since
    that is the primary's own damage and the log cannot be judged beyond it.
    """
    offset = 0
    while offset < hbins_size and dirty:
        pos = _BASE + offset
        size = _u32(buf, pos + 8)
        valid = buf[pos : pos + 4] == b"hbin" and _u32(buf, pos + 4) == offset
        if not valid or size < _BASE or size % _BASE or offset + size > hbins_size:
            if offset // _SECTOR in dirty:
                raise LogRejected(f"replaying it leaves an invalid hive bin at offset {offset:#x}")
            return
        offset += size


# --- new format (HvLE) -------------------------------------------------------------------------------------
class _BoundedLog(RegistryLog.RegistryLog):
    """python-registry's RegistryLog, refusing pages outside the entry's hive bins size (hostile logs).

    Without this a log with valid hashes but a page offset near 4 GiB would grow the in-memory copy to 4 GiB.
    """

    pages = 0

    def write_dirty_page(self, dirty_page_reference: Any, dirty_page: Any) -> None:
        entry_hbins = dirty_page_reference.parent().hbins_size()
        offset, size = dirty_page_reference.offset(), dirty_page_reference.size()
        if entry_hbins > MAX_HIVE_SIZE - _BASE or offset + size > entry_hbins:
            raise LogRejected(f"a log entry references a page outside the hive (offset {offset:#x})")
        if len(dirty_page.data()) != size:
            raise LogRejected("it is truncated inside a log entry")
        super().write_dirty_page(dirty_page_reference, dirty_page)
        self.pages += 1


def _has_entries(log: bytes) -> bool:
    """True when the first log entry is valid (hashes, size) and carries its base block's sequence number."""
    first = next(iter(RegistryParse.REGFBlock(log, 0, False).log_entries()), None)
    return first is not None


def _log_order(a: tuple[str, _BoundedLog], b: tuple[str, _BoundedLog]) -> int:
    """Sort key of the dual-logging scheme: the log whose first sequence number comes first (wrap-safe)."""
    return -1 if a[1].is_starting_log(b[1]) else 1


def replay_nt6(primary: bytes, logs: list[tuple[str, bytes]]) -> tuple[bytes, int, list[str]]:
    """Apply new-format logs with python-registry, as its recovery sample orders them.

    Eligible logs (first sequence >= the primary's secondary sequence, or any when the primary's checksum is
    bad) are applied oldest first (``is_starting_log``), each next one continuing from the sequence number
    after the previous one's last entry; with a bad primary base block only the newest log is applied, its
    base block replacing the primary's.

    Raises:
        LogRejected: no log is eligible and valid (the reasons per log are in the message), or a log entry
            python-registry cannot decode.
    """
    work = io.BytesIO(primary)
    eligible: list[tuple[str, _BoundedLog]] = []
    reasons: list[str] = []
    for name, data in logs:
        work.seek(0)
        try:
            log = _BoundedLog(work, io.BytesIO(data))  # checks file type, own checksum, clustering factor
            if not log.is_eligible_log():
                reasons.append(f"{name} predates the hive's last complete write")
            elif not _has_entries(data):
                reasons.append(f"{name} has no valid log entry")
            else:
                eligible.append((name, log))
        except PARSE_ERRORS as exc:
            reasons.append(f"{name} is not a valid log ({exc})")
    if not eligible:
        raise LogRejected(", ".join(reasons) or "no log is eligible")
    try:
        return _apply_nt6(primary, work, eligible)
    except PARSE_ERRORS as exc:  # python-registry on a log entry it cannot decode
        names = ", ".join(n for n, _ in logs)
        why = f"{names}: a log entry is corrupt or the replayed hive does not parse ({exc})"
        raise LogRejected(why) from exc


def _apply_nt6(primary: bytes, work: io.BytesIO, eligible: list[tuple[str, _BoundedLog]]
               ) -> tuple[bytes, int, list[str]]:
    """Apply the eligible logs oldest first, each continuing the previous one's sequence numbers."""
    eligible.sort(key=cmp_to_key(_log_order))
    if not checksum_ok(primary):
        eligible = eligible[-1:]
    (first_name, first), *rest = eligible
    work.seek(0)
    first.reload_primary_regf()
    sequence = first.recover_hive()
    if sequence is None:
        raise LogRejected(f"{first_name} applied no entry")
    applied = [first_name]
    for name, log in rest:
        log.reload_primary_regf()
        following = log.recover_hive_continue((sequence + 1) & 0xFFFFFFFF)
        if following is not None:
            sequence = following
            applied.append(name)
    out = bytearray(work.getvalue())
    seal_header(out, _u32(out, 4), _u32(out, 40))
    return bytes(out), sum(log.pages for _, log in eligible), applied
