"""Event logs: finding them on the system volume and reading them into :class:`EventRecord` facts.

NT5 keeps ``SysEvent.Evt`` / ``AppEvent.Evt`` / ``SecEvent.Evt`` in ``system32\\config`` (legacy ``.evt``,
read by the bounded scanner in :mod:`scanner.formats.evt`); Vista and later keep one ``.evtx`` per
channel in ``System32\\winevt\\Logs``, the channel's ``/`` stored as ``%4`` in the file name
(``Microsoft-Windows-WindowsUpdateClient%4Operational.evtx``).

``.evtx`` ([MS-EVEN6] 3.1.4.7) is read by :mod:`scanner.formats.evtx`: every 64 KiB chunk the file holds,
damaged chunks and records counted and skipped, records rendered by the ``evtx`` Rust parser (that module's
docstring has the measured reasons). Values are positional: ``strings`` holds every EventData ``<Data>``
(named or not) and UserData leaf value in order, so ``%n`` means the same for a classic provider's unnamed
values in ``.evtx`` as for its insertion strings in ``.evt``; ``data`` holds the named ones and ``Binary``.

Message text: neither dissect.target nor dissect.eventlog renders message templates (dissect.executable
exposes RT_MESSAGETABLE resources only as raw bytes), so ``message`` stays None and the insertion strings are
kept; the timeline renders summaries from the event profiles.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO, Literal

from scanner.collectors.volume import READ_ERRORS, glob, size_of
from scanner.formats.evt import RawEvtRecord, scan_evt
from scanner.formats.evtx import EvtxEvent, scan_evtx
from scanner.model import EventRecord, Gap, Provenance

__all__ = ["EventLogResult", "find_event_logs", "read_event_log"]

Keep = Callable[[str, int], bool]

_NT5_NAMES = {"sysevent": "System", "appevent": "Application", "secevent": "Security"}
_EVT_LEVELS = {0: "information", 1: "error", 2: "warning", 4: "information", 8: "audit-success",
               16: "audit-failure"}
_EVTX_LEVELS = {0: "information", 1: "critical", 2: "error", 3: "warning", 4: "information", 5: "verbose"}
_AUDIT_SUCCESS, _AUDIT_FAILURE = 0x0020000000000000, 0x0010000000000000


@dataclass(frozen=True)
class EventLogResult:
    """One event log read: the kept records and what reading it showed about the file.

    Attributes:
        records: the records ``keep`` accepted, oldest first.
        format: ``evt`` or ``evtx``.
        total: valid records seen (kept or not).
        corrupt: damaged records / regions / chunks skipped.
        stale_header: a ``.evt`` header left DIRTY whose bookkeeping misses the newest records.
        past_header: records newer than that header (numbered at or above its next record number).
        leftover: older records read outside the live ring (numbered below its oldest record): remnants
            the ring has not overwritten yet, not new ones.
        gaps: counted warnings (corrupt records, stale header, unreadable file).
    """

    records: list[EventRecord]
    format: Literal["evt", "evtx"]
    total: int = 0
    corrupt: int = 0
    stale_header: bool = False
    past_header: int = 0
    gaps: list[Gap] = field(default_factory=list)
    leftover: int = 0


def find_event_logs(fs: Any, windows_dir: str) -> list[tuple[str, str, Any]]:
    """(log name, volume-relative path, entry) of every ``.evt`` (NT5) and ``.evtx`` (NT6+) log."""
    found: list[tuple[str, str, Any]] = []
    for path, entry in glob(fs, f"{windows_dir}\\system32\\config", r".+\.evt"):
        stem = path.rsplit("\\", 1)[-1][:-4]
        found.append((_NT5_NAMES.get(stem.lower(), stem), path, entry))
    for path, entry in glob(fs, f"{windows_dir}\\System32\\winevt\\Logs", r".+\.evtx"):
        stem = path.rsplit("\\", 1)[-1][:-5]
        found.append((stem.replace("%4", "/"), path, entry))
    return found


def read_event_log(entry_or_fh: Any, artifact: str, log: str, *, keep: Keep | None = None) -> EventLogResult:
    """Read one event log, keeping the records ``keep(provider, event_id)`` accepts (all when None).

    Args:
        entry_or_fh: a file-system entry (opened read-only here) or a seekable binary file object.
        artifact: the log's volume-relative Windows path, for provenance.
        log: the log name the records carry (``System``, ``Setup``...).
        keep: filter called with the provider as stored and the 16-bit event ID; match providers
            case-insensitively in it.

    Returns:
        The records and counts; a file that cannot be read gives an empty result with a gap.
    """
    fmt: Literal["evt", "evtx"] = "evtx" if artifact.lower().endswith(".evtx") else "evt"
    try:
        if hasattr(entry_or_fh, "read"):
            return _read(entry_or_fh, artifact, log, keep, fmt)
        with entry_or_fh.open("rb") as fh:
            return _read(fh, artifact, log, keep, fmt, size_of(entry_or_fh))
    except (*READ_ERRORS, struct.error) as exc:
        gap = Gap(artifact, f"event log unreadable: {exc or type(exc).__name__}", (Provenance(artifact),))
        return EventLogResult([], fmt, gaps=[gap])


def _read(fh: BinaryIO, artifact: str, log: str, keep: Keep | None, fmt: Literal["evt", "evtx"],
          size: int | None = None) -> EventLogResult:
    if size is None:
        fh.seek(0, io.SEEK_END)
        size = fh.tell()
    fh.seek(0)
    magic = fh.read(8)
    if magic == b"ElfFile\0" or (fmt == "evtx" and magic[4:8] != b"LfLe"):
        return _read_evtx(fh, size, artifact, log, keep)
    return _read_evt(fh, size, artifact, log, keep)


# --- legacy .evt ------------------------------------------------------------------------------------------


def _read_evt(fh: BinaryIO, size: int, artifact: str, log: str, keep: Keep | None) -> EventLogResult:
    scan = scan_evt(fh, size, keep)
    records = [_evt_record(r, artifact, log) for r in scan.records]
    gaps: list[Gap] = []
    where = (Provenance(artifact),)
    if scan.header is None and scan.total == 0:
        gaps.append(Gap(artifact, "not a readable .evt event log (no file header, no records)", where))
    elif scan.notes:
        gaps.append(Gap(artifact, "; ".join(scan.notes), where))
    if scan.corrupt:
        first = f"0x{scan.first_corrupt:x}" if scan.first_corrupt is not None else "?"
        gaps.append(Gap(artifact, f"{scan.corrupt} corrupt record(s) skipped (first at offset {first})",
                        (Provenance(artifact, f"offset {first}"),)))
    h = scan.header
    if scan.stale_header and h is not None:
        name = artifact.rsplit("\\", 1)[-1]
        newest = max((r.number for r in scan.records if r.past_header), default=None)
        reason = (f"header of {name} is stale (DIRTY flag; its next record number is {h.current} but "
                  f"{scan.past_header} newer records follow, up to {newest if newest is not None else '?'})")
        if scan.leftover:
            reason += (f"; {scan.leftover} older records left over outside the live ring (numbered below its "
                       f"oldest record {(scan.eof or h).oldest}) were read too")
        locator = f"file header (end offset 0x{h.end:x}, next record {h.current})"
        gaps.append(Gap(artifact, reason, (Provenance(artifact, locator),)))
    return EventLogResult(records, "evt", scan.total, scan.corrupt, scan.stale_header, scan.past_header, gaps,
                          scan.leftover)


def _evt_record(r: RawEvtRecord, artifact: str, log: str) -> EventRecord:
    data = (("Binary", r.data[:512].hex()),) if r.data else ()
    return EventRecord(
        log=log,
        provider=r.source,
        event_id=r.event_id & 0xFFFF,
        level=_EVT_LEVELS.get(r.event_type, "unknown"),
        at=datetime.fromtimestamp(r.time_generated, UTC),
        record_number=r.number,
        strings=r.strings,
        data=data,
        computer=r.computer or None,
        user_sid=r.user_sid,
        raw_event_id=r.event_id,
        category=r.category,
        past_stale_header=r.past_header,
        source=Provenance(artifact, f"record {r.number} (offset 0x{r.offset:x})"),
    )


# --- .evtx ---------------------------------------------------------------------------------------------


def _read_evtx(fh: BinaryIO, size: int, artifact: str, log: str, keep: Keep | None) -> EventLogResult:
    scan = scan_evtx(fh, size, keep)
    where = (Provenance(artifact),)
    if not scan.header:
        return EventLogResult([], "evtx", gaps=[Gap(artifact, "not an .evtx event log (no ElfFile header)",
                                                    where)])
    gaps: list[Gap] = []
    if scan.truncated is not None:
        index, size = scan.truncated
        gaps.append(Gap(artifact, f"file ends inside chunk {index} (truncated at 0x{size:x})", where))
    corrupt = scan.corrupt_records + scan.corrupt_chunks
    if corrupt:
        parts = [f"{n} corrupt {what}(s) skipped" for n, what in
                 ((scan.corrupt_chunks, "chunk"), (scan.corrupt_records, "record")) if n]
        gaps.append(Gap(artifact, f"{'; '.join(parts)} (first: {scan.first_corrupt})",
                        (Provenance(artifact, scan.first_corrupt or ""),)))
    records = [_evtx_record(e, artifact, log) for e in scan.events]
    return EventLogResult(records, "evtx", scan.total, corrupt, gaps=gaps)


def _evtx_record(e: EvtxEvent, artifact: str, log: str) -> EventRecord:
    """Positional values: %n is the n-th EventData/UserData value, named or not, as in a .evt record."""
    level = _EVTX_LEVELS.get(e.level or 0, "unknown")
    keywords = e.keywords or 0
    if not e.level and keywords & _AUDIT_FAILURE:
        level = "audit-failure"
    elif not e.level and keywords & _AUDIT_SUCCESS:
        level = "audit-success"
    named = tuple((name, value) for name, value in e.data if name)
    return EventRecord(
        log=log,
        provider=e.provider,
        event_id=e.event_id & 0xFFFF,
        level=level,
        at=e.time_created,
        record_number=e.record_id,
        strings=tuple(value for _, value in e.data),
        data=named + ((("Binary", e.binary),) if e.binary is not None else ()),
        computer=e.computer or None,
        user_sid=e.user_sid,
        raw_event_id=((e.qualifiers & 0xFFFF) << 16 | e.event_id & 0xFFFF) if e.qualifiers else e.event_id,
        category=e.task,
        source=Provenance(artifact, f"record {e.record_id} (chunk {e.chunk}, offset 0x{e.offset:x})"),
    )
