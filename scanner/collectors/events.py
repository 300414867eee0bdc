"""Event logs: finding them on the system volume and reading them into :class:`EventRecord` facts.

NT5 keeps ``SysEvent.Evt`` / ``AppEvent.Evt`` / ``SecEvent.Evt`` in ``system32\\config`` (legacy ``.evt``,
read by the bounded scanner in :mod:`scanner.collectors.evt_records`); Vista and later keep one ``.evtx`` per
channel in ``System32\\winevt\\Logs``, the channel's ``/`` stored as ``%4`` in the file name
(``Microsoft-Windows-WindowsUpdateClient%4Operational.evtx``).

``.evtx`` ([MS-EVEN6] 3.1.4.7; libyal "Windows XML Event Log (EVTX) format") is read chunk by chunk, record by
record, with dissect.eventlog's BinXml parser: the file header's chunk count can be stale on a dirty log, so
every 64 KiB chunk the file holds is tried; a damaged chunk or record is counted and skipped and the rest
read. Two dissect quirks shape the code: a chunk's templates (and their substitution slots) are shared by all
its records, so each record's values are copied out right after it is parsed; and an array of NULL values
makes dissect's value loop spin forever, so template instances are read by :class:`_SafeBxml`, which refuses
it. dissect's GUID rendering byte order is wrong; GUIDs are not used.

Message text: neither dissect.target nor dissect.eventlog renders message templates (dissect.executable
exposes RT_MESSAGETABLE resources only as raw bytes), so ``message`` stays None and the insertion strings are
kept; the timeline renders summaries from the event profiles.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, Literal

from dissect.eventlog.bxml import (
    Bxml,
    BxmlSub,
    BxmlTag,
    BxmlTemplateDescriptor,
    EvtxNameReader,
    Template,
    read_value,
)
from dissect.eventlog.exceptions import BxmlException
from dissect.eventlog.exceptions import Error as EventlogError

from scanner.collectors.evt_records import RawEvtRecord, scan_evt
from scanner.collectors.volume import READ_ERRORS, glob, size_of
from scanner.model import EventRecord, Gap, Provenance

__all__ = ["EventLogResult", "find_event_logs", "read_event_log"]

Keep = Callable[[str, int], bool]

_NT5_NAMES = {"sysevent": "System", "appevent": "Application", "secevent": "Security"}
_EVT_LEVELS = {0: "information", 1: "error", 2: "warning", 4: "information", 8: "audit-success",
               16: "audit-failure"}
_EVTX_LEVELS = {0: "information", 1: "critical", 2: "error", 3: "warning", 4: "information", 5: "verbose"}
_AUDIT_SUCCESS, _AUDIT_FAILURE = 0x0020000000000000, 0x0010000000000000
_CHUNK = 0x10000
_CHUNK_DATA = 0x200
_RECORD_SIG = 0x2A2A
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_MAX_DEPTH = 32  # substitutions resolved in a row
_MAX_NODES = 4096  # elements walked in one record's event data
# What dissect's BinXml parser raises on damaged bytes (cstruct reads past the data: EOFError; an unknown
# template offset: KeyError; deep hostile nesting: RecursionError).
_PARSE_ERRORS = (EventlogError, EOFError, KeyError, IndexError, ValueError, TypeError, AttributeError,
                 struct.error, UnicodeDecodeError, OverflowError, RecursionError)


@dataclass(frozen=True)
class EventLogResult:
    """One event log read: the kept records and what reading it showed about the file.

    Attributes:
        records: the records ``keep`` accepted, oldest first.
        format: ``evt`` or ``evtx``.
        total: valid records seen (kept or not).
        corrupt: damaged records / regions / chunks skipped.
        stale_header: a ``.evt`` header left DIRTY whose bookkeeping misses the newest records.
        past_header: records beyond that header's end offset / current record number.
        gaps: counted warnings (corrupt records, stale header, unreadable file).
    """

    records: list[EventRecord]
    format: Literal["evt", "evtx"]
    total: int = 0
    corrupt: int = 0
    stale_header: bool = False
    past_header: int = 0
    gaps: list[Gap] = field(default_factory=list)


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
        reason = (f"header of {name} is stale (DIRTY flag; {scan.past_header} newest records lie past its "
                  f"end offset)")
        locator = f"file header (end offset 0x{h.end:x}, next record {h.current})"
        gaps.append(Gap(artifact, reason, (Provenance(artifact, locator),)))
    return EventLogResult(records, "evt", scan.total, scan.corrupt, scan.stale_header, scan.past_header, gaps)


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


# --- .evtx ----------------------------------------------------------------------------------------------


class _SafeBxml(Bxml):
    """dissect's BinXml reader with a template-instance reader whose array values cannot spin.

    dissect reads an array value with ``while stream.tell() != size``: a NULL reader consumes nothing, and a
    value cut short by the end of the record never reaches ``size``, so hostile bytes would hang the scan.
    Arrays are read here with a progress check; everything else is dissect's own code path.
    """

    def read_template_instance(self) -> Template:
        template = self._read_template_reference_and_data()
        descriptors = list(BxmlTemplateDescriptor.read_descriptors_from_stream(self.bxml_stream))
        for index, descriptor in enumerate(descriptors):
            try:
                if descriptor.is_array and descriptor.has_type_reader:
                    value: Any = self._read_array(descriptor)
                else:
                    value = read_value(self, descriptor, None)
            except BxmlException:  # as dissect does: an unknown value type spoils this value only
                value = None
            if isinstance(value, Template):
                template.add_child_template(value)
            if index in template.subs:
                template.subs[index].set(value)
        return template

    def _read_array(self, descriptor: BxmlTemplateDescriptor) -> list[Any]:
        data = self.bxml_stream.read(descriptor.size)
        if len(data) != descriptor.size:
            raise ValueError("array value runs past the end of the record")
        stream = io.BytesIO(data)
        values = []
        while stream.tell() < len(data):
            before = stream.tell()
            values.append(descriptor.value_type(stream))
            if stream.tell() == before:
                raise ValueError(f"array of {descriptor.type_id!s} values makes no progress")
        return values


@dataclass
class _EvtxState:
    records: list[EventRecord] = field(default_factory=list)
    total: int = 0
    corrupt_records: int = 0
    corrupt_chunks: int = 0
    first_corrupt: str | None = None

    def damaged(self, where: str, chunk: bool = False) -> None:
        if chunk:
            self.corrupt_chunks += 1
        else:
            self.corrupt_records += 1
        self.first_corrupt = self.first_corrupt or where


def _read_evtx(fh: BinaryIO, size: int, artifact: str, log: str, keep: Keep | None) -> EventLogResult:
    fh.seek(0)
    header = fh.read(128)
    where = (Provenance(artifact),)
    if len(header) < 128 or header[:8] != b"ElfFile\0":
        return EventLogResult([], "evtx", gaps=[Gap(artifact, "not an .evtx event log (no ElfFile header)",
                                                    where)])
    block = struct.unpack_from("<H", header, 40)[0]
    offset = block if 128 <= block <= _CHUNK else 0x1000
    state = _EvtxState()
    gaps: list[Gap] = []
    index = 0
    while offset < size:
        fh.seek(offset)
        chunk = fh.read(_CHUNK)
        if len(chunk) < _CHUNK:  # the file ends inside this chunk: read the records that are there
            if chunk[:8] == b"ElfChnk\0" and len(chunk) > _CHUNK_DATA:
                gaps.append(Gap(artifact, f"file ends inside chunk {index} (truncated at 0x{size:x})", where))
                _read_chunk(chunk + bytes(_CHUNK - len(chunk)), offset, index, state, artifact, log, keep)
            elif chunk.strip(b"\0"):
                state.damaged(f"chunk {index} at offset 0x{offset:x}", chunk=True)
            break
        if chunk[:8] == b"ElfChnk\0":
            _read_chunk(chunk, offset, index, state, artifact, log, keep)
        elif chunk.strip(b"\0"):
            state.damaged(f"chunk {index} at offset 0x{offset:x}", chunk=True)
        offset += _CHUNK
        index += 1
    corrupt = state.corrupt_records + state.corrupt_chunks
    if corrupt:
        parts = [f"{n} corrupt {what}(s) skipped" for n, what in
                 ((state.corrupt_chunks, "chunk"), (state.corrupt_records, "record")) if n]
        gaps.append(Gap(artifact, f"{'; '.join(parts)} (first: {state.first_corrupt})",
                        (Provenance(artifact, state.first_corrupt or ""),)))
    state.records.sort(key=lambda r: r.record_number)
    return EventLogResult(state.records, "evtx", state.total, corrupt, gaps=gaps)


def _read_chunk(chunk: bytes, base: int, index: int, state: _EvtxState, artifact: str, log: str,
                keep: Keep | None) -> None:
    """Every record of one chunk; a damaged record is skipped by its size, or the next signature found."""
    free = struct.unpack_from("<I", chunk, 48)[0]
    end = free if _CHUNK_DATA <= free <= _CHUNK else _CHUNK
    stream = io.BytesIO(chunk)
    templates: dict[int, Template] = {}
    off = _CHUNK_DATA
    while off + 28 <= _CHUNK:
        sig, rsize, rid, written = struct.unpack_from("<IIQQ", chunk, off)
        where = f"record at chunk {index} offset 0x{off:x}"
        if sig != _RECORD_SIG and off >= end:
            break  # past the chunk's free-space offset; records beyond it (stale chunk header) were read
        if sig != _RECORD_SIG or not 28 <= rsize <= _CHUNK - off or rsize % 8 \
                or struct.unpack_from("<I", chunk, off + rsize - 4)[0] != rsize:
            state.damaged(where)
            off = _next_record(chunk, off + 8, end)
            continue
        at, off = off, off + rsize
        try:
            event = _parse_record(chunk, stream, at, rsize, templates)
            provider, event_id = _identity(event)
            if keep is not None and not keep(provider, event_id & 0xFFFF):
                state.total += 1  # valid; only the kept records are decoded in full
                continue
            where_rec = Provenance(artifact, f"record {rid} (chunk {index}, offset 0x{base + at:x})")
            record = _evtx_record(_values(event), rid, written, log, where_rec)
        except _PARSE_ERRORS:  # includes a time outside datetime's range (OverflowError, ValueError)
            record = None
        if record is None:
            state.damaged(where)
            continue
        state.total += 1
        state.records.append(record)


def _next_record(chunk: bytes, start: int, end: int) -> int:
    """The next 8-aligned record signature after a damaged record (records are 8-byte multiples)."""
    pos = (start + 7) & ~7
    while pos + 28 <= end:
        pos = chunk.find(b"\x2a\x2a\x00\x00", pos, end)
        if pos == -1:
            return end
        if pos % 8 == 0:
            return pos
        pos = (pos + 7) & ~7
    return end


def _parse_record(chunk: bytes, stream: io.BytesIO, off: int, rsize: int,
                  templates: dict[int, Template]) -> BxmlTag:
    bxml = _SafeBxml(bxml_stream=io.BytesIO(chunk[off + 24 : off + rsize - 4]), elf_chunk_stream=stream)
    bxml.data_offset = off + 24
    bxml.templates = templates
    bxml.template = None
    bxml.set_name_reader(EvtxNameReader(bxml))
    root: Any = None
    while root is None:
        token = bxml.read_token(None)
        if isinstance(token, BxmlTag | Template):
            root = token
    event = _resolve(root)
    if not isinstance(event, BxmlTag):
        raise ValueError("record has no Event element")
    return event


def _resolve(value: Any, depth: int = 0) -> Any:
    while depth < _MAX_DEPTH and isinstance(value, BxmlSub | Template):
        value = value.get() if isinstance(value, BxmlSub) else value.element
        depth += 1
    return value


def _text(value: Any) -> str:
    value = _resolve(value)
    if value is None:
        return ""
    if isinstance(value, BxmlTag):
        return "".join(_text(c) for c in value.children if not isinstance(_resolve(c), BxmlTag))
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return str(value)


def _children(tag: BxmlTag) -> Iterator[BxmlTag]:
    for child in tag.children:
        child = _resolve(child)
        if isinstance(child, BxmlTag):
            yield child


def _identity(event: BxmlTag) -> tuple[str, int]:
    """Provider name and event ID, all that ``keep`` needs, without decoding the rest of the record."""
    provider, event_id = "", None
    for part in _children(event):
        if part.name == "System":
            for tag in _children(part):
                if tag.name == "Provider":
                    attrs = tag.attributes
                    provider = _text(attrs.get("Name")) or _text(attrs.get("EventSourceName"))
                elif tag.name == "EventID":
                    event_id = _int(_text(tag))
            break
    if event_id is None:
        raise ValueError("record has no EventID")
    return provider, event_id


def _values(event: BxmlTag) -> dict[str, Any]:
    """Copy one record's values out of dissect's shared template tree: System fields and event data."""
    out: dict[str, Any] = {"data": [], "strings": []}
    for part in _children(event):
        if part.name == "System":
            for tag in _children(part):
                out[tag.name] = _text(tag)
                for name, value in tag.attributes.items():
                    raw = _resolve(value)
                    out[f"{tag.name}_{name}"] = raw if isinstance(raw, datetime) else _text(raw)
        elif part.name in ("EventData", "UserData"):
            _event_data(part, out, {id(part)})
    return out


def _event_data(tag: BxmlTag, out: dict[str, Any], seen: set[int]) -> None:
    """EventData ``<Data Name=..>`` values, or UserData's leaf elements; each element visited once.

    ``seen`` guards against hostile records whose nested template instance reuses the enclosing template
    (dissect then stores the template inside its own slot: a cycle).
    """
    for child in _children(tag):
        if id(child) in seen or len(seen) > _MAX_NODES:
            continue
        seen.add(id(child))
        if any(True for _ in _children(child)):  # UserData: <Provider-specific element><Field>value</Field>
            _event_data(child, out, seen)
            continue
        value = _text(child)
        name = _text(child.attributes["Name"]) if "Name" in child.attributes else None
        if child.name != "Data":
            name = child.name
        if name:
            out["data"].append((name, value))
        if child.name != "Binary":
            out["strings"].append(value)


def _int(text: Any, default: int | None = None) -> int | None:
    s = str(text).strip()
    try:
        return int(s, 16) if s[:2].lower() == "0x" else int(s)
    except ValueError:
        return default


def _evtx_record(
    v: dict[str, Any], rid: int, written: int, log: str, source: Provenance
) -> EventRecord | None:
    event_id = _int(v.get("EventID"))
    if event_id is None:
        return None
    at = v.get("TimeCreated_SystemTime")
    if isinstance(at, datetime):
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
    else:
        at = _FILETIME_EPOCH + timedelta(microseconds=written // 10)
    qualifiers = _int(v.get("EventID_Qualifiers"))
    level_no = _int(v.get("Level"), 0) or 0
    keywords = _int(v.get("Keywords"), 0) or 0
    level = _EVTX_LEVELS.get(level_no, "unknown")
    if level_no == 0 and keywords & _AUDIT_FAILURE:
        level = "audit-failure"
    elif level_no == 0 and keywords & _AUDIT_SUCCESS:
        level = "audit-success"
    return EventRecord(
        log=log,
        provider=v.get("Provider_Name") or v.get("Provider_EventSourceName") or "",
        event_id=event_id & 0xFFFF,
        level=level,
        at=at.astimezone(UTC),
        record_number=_int(v.get("EventRecordID"), rid) or rid,
        strings=tuple(v["strings"]),
        data=tuple(v["data"]),
        computer=v.get("Computer") or None,
        user_sid=v.get("Security_UserID") or None,
        raw_event_id=((qualifiers & 0xFFFF) << 16 | event_id & 0xFFFF) if qualifiers else event_id,
        category=_int(v.get("Task")),
        source=source,
    )
