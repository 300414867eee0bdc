"""Open registry hives from a dead system: detect dirty ones and replay their transaction logs in memory.

A server that lost power mid-flush leaves a *dirty* hive: a bad base-block checksum, or primary and secondary
sequence numbers that differ. Its newest keys (often the very update that killed it) then exist only in the
transaction log beside it. Spec: Maxim Suhanov, "Windows registry file format specification"
(https://github.com/msuhanov/regf), sections "Format of transaction log files", "Dirty state of a hive" and
"Multiple transaction log files"; Joachim Metz, libregf "Windows NT Registry File (REGF) format".

* Old format (NT 5.x to Windows 8; ``.LOG``, and ``.LOG1/.LOG2`` on Vista-8.0): the first sector is a copy of
  the base block (File type 1), the next sector starts ``"DIRT"`` + a bitmap with one bit per 512-byte page
  of hive bins data, then every dirty page in bitmap order, each written back to ``4096 + 512 * bit``.
  python-registry refuses this format, so :func:`_replay_nt5` implements it (regipy's ``recovery.py`` was
  read for comparison; regipy is a test-only dependency and is not imported here).
* New format (Windows 8.1+; ``.LOG1/.LOG2``): base block (File type 6) + HvLE log entries. Replayed with
  python-registry's ``RegistryLog``, following the eligibility and ordering rules of its recovery sample.

The format is recognised by content, never by file name. Everything happens on an in-memory copy: evidence is
only ever opened ``rb`` and the caller's bytes are never modified.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from functools import cmp_to_key
from pathlib import Path
from typing import Any

from Registry import Registry, RegistryLog, RegistryParse

from scanner.collectors.regsafe import Hive, HiveReader, Node
from scanner.evidence.errors import READ_ERRORS

__all__ = ["MAX_HIVE_SIZE", "HiveRecovery", "HiveUnreadable", "OpenHive", "open_hive", "read_hive_files"]

MAX_HIVE_SIZE = 512 * 1024 * 1024
"""Largest hive or log read or replayed; real SOFTWARE hives stay far below it."""
_BASE = 4096  # base block size = offset of the hive bins data (spec: "Base block")
_SECTOR = 512
_OLD_LOG_TYPES = (1, 2)  # File type 1 (2 also appears in python-registry's FileType as an old log)
_NEW_LOG_TYPE = 6
_LOG_SUFFIXES = (".LOG", ".LOG1", ".LOG2")
_MAX_DIR_ENTRIES = 100_000
_PARSE_ERRORS = (RegistryParse.RegistryException, struct.error, ValueError, IndexError, OverflowError)


class HiveUnreadable(ValueError):
    """The primary hive file itself cannot be read or parsed; the caller records a Gap with this sentence."""


class _LogRejected(Exception):
    """A transaction log that cannot be applied; the message is the reason, without a final period."""


@dataclass(frozen=True)
class HiveRecovery:
    """What was done about the hive's dirty state.

    Attributes:
        dirty: the primary's base block has a bad checksum or unequal sequence numbers.
        recovered: a transaction log was replayed and the returned registry is the replayed state.
        log_name: the log(s) applied (``"SOFTWARE.LOG1, SOFTWARE.LOG2"`` in application order); when recovery
            failed, the log(s) that were tried.
        log_format: ``"nt5"`` (old, DIRT) or ``"nt6"`` (new, HvLE), for the logs named above.
        pages: dirty pages written: 512-byte pages for nt5, dirty page references (runs) for nt6, as each
            format's spec section calls them.
        warning: one sentence when the hive is dirty and could not be recovered, else None.
    """

    dirty: bool
    recovered: bool
    log_name: str | None = None
    log_format: str | None = None
    pages: int = 0
    warning: str | None = None


OpenHive = Hive  # issue 16: one hive type; what open_hive returns is the Hive every registry family reads


def _opened(registry: Registry.Registry, artifact: str, recovery: HiveRecovery) -> Hive:
    """The hive, with its recovery; a replayed hive's provenance notes say which log made it."""
    note = f"hive replayed with transaction log {recovery.log_name}" if recovery.recovered else ""
    return Hive(registry, artifact, note if recovery.log_name else "", recovery)


def _u32(data: bytes | bytearray, offset: int) -> int:
    return int(struct.unpack_from("<I", data, offset)[0])


def _checksum(block: bytes | bytearray) -> int:
    """XOR-32 of the first 508 bytes, 0 -> 1 and 0xFFFFFFFF -> 0xFFFFFFFE (spec: "Base block", Checksum)."""
    value = 0
    for (word,) in struct.iter_unpack("<I", bytes(block[:508])):
        value ^= word
    return 1 if value == 0 else 0xFFFFFFFE if value == 0xFFFFFFFF else value


def _checksum_ok(block: bytes | bytearray) -> bool:
    return len(block) >= _SECTOR and _checksum(block) == _u32(block, 508)


def _is_dirty(primary: bytes) -> bool:
    """Spec "Dirty state of a hive": wrong checksum, or primary sequence != secondary sequence."""
    return not _checksum_ok(primary) or _u32(primary, 4) != _u32(primary, 8)


def _seal_header(buf: bytearray, sequence: int, hbins_size: int) -> None:
    """Mark the replayed copy clean: both sequence numbers equal, File type primary, fresh checksum."""
    struct.pack_into("<II", buf, 4, sequence, sequence)
    struct.pack_into("<I", buf, 28, 0)
    struct.pack_into("<I", buf, 40, hbins_size)
    struct.pack_into("<I", buf, 508, _checksum(buf))


def _log_format(data: bytes) -> str | None:
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
def _replay_nt5(primary: bytes, log: bytes) -> tuple[bytes, int]:
    """Apply an old-format log to a copy of ``primary``; spec "Old format" (base block, dirty vector, pages).

    Raises:
        _LogRejected: the log is invalid, belongs to another flush, is truncated, or yields a bad hive bin.
    """
    if _u32(log, 28) not in _OLD_LOG_TYPES or not _checksum_ok(log) or _u32(log, 4) != _u32(log, 8):
        raise _LogRejected("its base block is invalid (bad checksum or unequal sequence numbers)")
    # "A transaction log can be applied when its Last written timestamp equals the primary's; when the
    # primary's base block is invalid, the Timestamp of the first hive bin is used instead."
    stamp_at = 12 if _checksum_ok(primary) else _BASE + 20
    if len(primary) < stamp_at + 8 or log[12:20] != primary[stamp_at : stamp_at + 8]:
        raise _LogRejected("its last-written time stamp differs from the hive's: it is from another flush")
    dirt = _SECTOR if log[512:516] == b"DIRT" else _BASE  # the second sector: 512, or 4096 with 4 KiB sectors
    hbins_size = _u32(log, 40)  # the in-memory size at the flush: the hive may have grown since
    if hbins_size == 0 or hbins_size % _BASE or hbins_size > MAX_HIVE_SIZE - _BASE:
        raise _LogRejected(f"its hive bins size {hbins_size:#x} is not a plausible multiple of 4096")
    bitmap = log[dirt + 4 : dirt + 4 + hbins_size // (8 * _SECTOR)]  # one bit per 512-byte page
    if len(bitmap) * 8 * _SECTOR != hbins_size:
        raise _LogRejected("it is truncated inside its dirty vector")
    bits = [i * 8 + b for i, byte in enumerate(bitmap) if byte for b in range(8) if byte >> b & 1]
    first_page = -(-(dirt + 4 + len(bitmap)) // dirt) * dirt  # the sector after the dirty vector
    if first_page + len(bits) * _SECTOR > len(log):
        raise _LogRejected(f"it is truncated: {len(bits)} dirty pages are announced but not all are present")

    out = bytearray(primary)
    if not _checksum_ok(primary):  # spec note 4: recover the base block from the log's copy
        out[:_SECTOR] = log[:_SECTOR]
    out.extend(bytes(max(0, _BASE + hbins_size - len(out))))
    for index, bit in enumerate(bits):
        src = first_page + index * _SECTOR
        out[_BASE + bit * _SECTOR : _BASE + (bit + 1) * _SECTOR] = log[src : src + _SECTOR]
    _check_dirty_bins(out, hbins_size, set(bits))
    _seal_header(out, _u32(log, 4), hbins_size)
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
                raise _LogRejected(f"replaying it leaves an invalid hive bin at offset {offset:#x}")
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
            raise _LogRejected(f"a log entry references a page outside the hive (offset {offset:#x})")
        if len(dirty_page.data()) != size:
            raise _LogRejected("it is truncated inside a log entry")
        super().write_dirty_page(dirty_page_reference, dirty_page)
        self.pages += 1


def _has_entries(log: bytes) -> bool:
    """True when the first log entry is valid (hashes, size) and carries its base block's sequence number."""
    first = next(iter(RegistryParse.REGFBlock(log, 0, False).log_entries()), None)
    return first is not None


def _log_order(a: tuple[str, _BoundedLog], b: tuple[str, _BoundedLog]) -> int:
    """Sort key of the dual-logging scheme: the log whose first sequence number comes first (wrap-safe)."""
    return -1 if a[1].is_starting_log(b[1]) else 1


def _replay_nt6(primary: bytes, logs: list[tuple[str, bytes]]) -> tuple[bytes, int, list[str]]:
    """Apply new-format logs with python-registry, as its recovery sample orders them.

    Eligible logs (first sequence >= the primary's secondary sequence, or any when the primary's checksum is
    bad) are applied oldest first (``is_starting_log``), each next one continuing from the sequence number
    after the previous one's last entry; with a bad primary base block only the newest log is applied, its
    base block replacing the primary's.

    Raises:
        _LogRejected: no log is eligible and valid (the reasons per log are in the message).
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
        except _PARSE_ERRORS as exc:
            reasons.append(f"{name} is not a valid log ({exc})")
    if not eligible:
        raise _LogRejected(", ".join(reasons) or "no log is eligible")
    eligible.sort(key=cmp_to_key(_log_order))
    if not _checksum_ok(primary):
        eligible = eligible[-1:]
    (first_name, first), *rest = eligible
    work.seek(0)
    first.reload_primary_regf()
    sequence = first.recover_hive()
    if sequence is None:
        raise _LogRejected(f"{first_name} applied no entry")
    applied = [first_name]
    for name, log in rest:
        log.reload_primary_regf()
        following = log.recover_hive_continue((sequence + 1) & 0xFFFFFFFF)
        if following is not None:
            sequence = following
            applied.append(name)
    out = bytearray(work.getvalue())
    _seal_header(out, _u32(out, 4), _u32(out, 40))
    return bytes(out), sum(log.pages for _, log in eligible), applied


# --- public API --------------------------------------------------------------------------------------------
def _parse(data: bytes) -> Registry.Registry:
    """Parse with python-registry and read the root key and its subkey list, where broken hives fail.

    A root whose subkey list has some broken entries still parses: the collectors read key by key
    (:mod:`scanner.collectors.regsafe`) and report each broken entry as a gap naming the hive and key. A root
    that claims subkeys but has none readable does not parse.
    """
    registry = Registry.Registry(io.BytesIO(data))
    root = registry.root()
    root.name()
    if root.subkeys_number() and not HiveReader(registry, "", "hive").subkeys(Node(root, "")):
        raise RegistryParse.ParseException("the root key's subkey list is unreadable")
    return registry


def _sort_logs(logs: dict[str, bytes]) -> list[tuple[str, bytes]]:
    """Non-empty logs in the order Windows tries them: ``.LOG``, ``.LOG1``, ``.LOG2``."""
    def rank(name: str) -> tuple[int, str]:
        upper = name.upper()
        ranks = [i for i, suffix in enumerate(_LOG_SUFFIXES) if upper.endswith(suffix)]
        return (ranks[-1] if ranks else len(_LOG_SUFFIXES), upper)

    return sorted(((n, d) for n, d in logs.items() if d), key=lambda item: rank(item[0]))


def _recover(primary: bytes, logs: dict[str, bytes]) -> tuple[Registry.Registry | None, HiveRecovery]:
    """Try the applicable logs in turn; return the replayed registry (or None) and the recovery record.

    Old-format logs are tried first, each alone (only one matches the flush by time stamp); new-format logs
    are applied together. A log whose replay does not parse counts as failed.
    """
    candidates = [(n, d, _log_format(d)) for n, d in _sort_logs(logs) if len(d) <= MAX_HIVE_SIZE]
    usable = [(n, d, f) for n, d, f in candidates if f is not None]
    if not usable:
        present = ", ".join(n for n, _, _ in candidates)
        what = f"none of its logs ({present}) is a transaction log" if present else "it has no log"
        return None, HiveRecovery(True, False, warning=f"The hive is dirty but {what}, so its newest changes "
                                  "may be missing.")
    reasons: list[str] = []
    for name, data, _ in (c for c in usable if c[2] == "nt5"):
        try:
            replayed, pages = _replay_nt5(primary, data)
            return _parse(replayed), HiveRecovery(True, True, name, "nt5", pages)
        except _LogRejected as exc:
            reasons.append(f"{name}: {exc}")
        except _PARSE_ERRORS as exc:
            reasons.append(f"{name}: the replayed hive does not parse ({exc})")
    nt6 = [(n, d) for n, d, f in usable if f == "nt6"]
    if nt6:
        try:
            replayed, pages, applied = _replay_nt6(primary, nt6)
            return _parse(replayed), HiveRecovery(True, True, ", ".join(applied), "nt6", pages)
        except _LogRejected as exc:
            reasons.append(str(exc))
        except _PARSE_ERRORS as exc:
            names = ", ".join(n for n, _ in nt6)
            reasons.append(f"{names}: a log entry is corrupt or the replayed hive does not parse ({exc})")
    formats = {f for _, _, f in usable}
    warning = (f"The hive is dirty and its transaction log could not be replayed ({'; '.join(reasons)}), "
               "so the primary file is used as is and its newest changes may be missing.")
    return None, HiveRecovery(True, False, ", ".join(n for n, _, _ in usable),
                              formats.pop() if len(formats) == 1 else None, 0, warning)


def open_hive(primary: bytes, logs: dict[str, bytes], *, artifact: str) -> Hive:
    """Parse a hive; if it is dirty, replay the applicable transaction log(s) on an in-memory copy.

    Args:
        primary: the hive file's bytes (never modified).
        logs: the logs beside it by file name, e.g. ``{"software.LOG": ...}``; empty files are ignored.
        artifact: the hive's path inside the image, for provenance (its last component becomes ``name``).

    Returns:
        The recovered registry when a log applied, else the primary as is (clean, or with a warning).

    Raises:
        HiveUnreadable: the primary is too large, not a regf primary file, or does not parse (and no log
            turns it into one that does).
    """
    if len(primary) > MAX_HIVE_SIZE:
        raise HiveUnreadable(f"{artifact} is larger than {MAX_HIVE_SIZE >> 20} MiB, which no real hive is.")
    if len(primary) < _BASE + 32 or primary[:4] != b"regf":
        raise HiveUnreadable(f"{artifact} is not a registry hive (no regf base block and hive bin).")
    if _checksum_ok(primary) and _u32(primary, 28) != 0:
        raise HiveUnreadable(f"{artifact} is a transaction log (file type {_u32(primary, 28)}), not a hive.")
    try:
        registry: Registry.Registry | None = _parse(primary)
        error = ""
    except _PARSE_ERRORS as exc:
        registry, error = None, str(exc) or type(exc).__name__
    if not _is_dirty(primary):
        if registry is None:
            raise HiveUnreadable(f"{artifact} does not parse as a registry hive ({error}).")
        return _opened(registry, artifact, HiveRecovery(dirty=False, recovered=False))
    recovered, recovery = _recover(primary, logs)
    if recovered is not None:
        return _opened(recovered, artifact, recovery)
    if registry is None:
        raise HiveUnreadable(f"{artifact} is dirty, does not parse ({error}) and no log repairs it.")
    return _opened(registry, artifact, recovery)


def read_hive_files(fs: Any, path: str) -> tuple[bytes, dict[str, bytes]]:
    """Read a hive and the ``.LOG``/``.LOG1``/``.LOG2`` files beside it, matching names case-insensitively.

    Args:
        fs: a dissect ``Filesystem`` (or ``RootFilesystem``), or a ``TargetPath`` (any ``pathlib.Path``) to
            resolve ``path`` under.
        path: the hive's path, ``/`` or ``\\`` separated, e.g. ``WINDOWS/system32/config/SOFTWARE``.

    Returns:
        ``(primary, logs)``; logs that are unreadable or larger than :data:`MAX_HIVE_SIZE` are left out.

    Raises:
        HiveUnreadable: the hive is missing, unreadable, or larger than :data:`MAX_HIVE_SIZE`.
    """
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    if not parts:
        raise HiveUnreadable("An empty path names no hive.")
    try:
        node: Any = fs if isinstance(fs, Path) else fs.path("/")  # TargetPath (or a host Path) as is
        for part in parts[:-1]:
            node = _child(node, part)
        base = parts[-1].upper()
        wanted = {base, *(base + s for s in _LOG_SUFFIXES)}
        found: dict[str, Any] = {}
        for count, entry in enumerate(node.iterdir()):
            if count >= _MAX_DIR_ENTRIES:
                break
            if entry.name.upper() in wanted and entry.name.upper() not in found:
                found[entry.name.upper()] = entry
    except READ_ERRORS as exc:
        raise HiveUnreadable(f"{path} cannot be located: {exc}.") from exc
    if base not in found:
        raise HiveUnreadable(f"{path} does not exist.")
    primary = _read_bounded(found.pop(base), path)
    logs: dict[str, bytes] = {}
    for entry in found.values():
        try:
            logs[entry.name] = _read_bounded(entry, entry.name)
        except HiveUnreadable:
            continue
    return primary, logs


def _child(node: Any, name: str) -> Any:
    """``node / name``, falling back on a case-insensitive directory scan (NT names are case-insensitive)."""
    direct = node.joinpath(name)
    if direct.exists():
        return direct
    for count, entry in enumerate(node.iterdir()):
        if count >= _MAX_DIR_ENTRIES:
            break
        if entry.name.upper() == name.upper():
            return entry
    raise FileNotFoundError(f"no {name} in {node}")


def _read_bounded(entry: Any, label: str) -> bytes:
    """Read a file read-only, refusing more than :data:`MAX_HIVE_SIZE` bytes."""
    try:
        with entry.open("rb") as fh:
            data = bytes(fh.read(MAX_HIVE_SIZE + 1))
    except READ_ERRORS as exc:
        raise HiveUnreadable(f"{label} cannot be read: {exc}.") from exc
    if len(data) > MAX_HIVE_SIZE:
        raise HiveUnreadable(f"{label} is larger than {MAX_HIVE_SIZE >> 20} MiB, which no real hive is.")
    return data
