"""The ``evtx`` Rust parser's XML for one record, read into plain values (no model, no I/O).

That XML escapes ``&<>"'`` in text and attribute values (evtx ``value_render.rs``/``compiled.rs``) and
closes every element explicitly (``<Data></Data>``, never ``<Data/>``), so a leaf element is exactly
``<name attrs>text</name>`` with no ``<`` inside: regular expressions, run in C, find the identity for
``keep`` and every leaf value in document order (a tag-by-tag walk in Python costs ~10x more, and
ElementTree rejects the control characters real values hold). CDATA sections are escaped first.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from scanner.formats.filetime import filetime

__all__ = ["EvtxEvent", "identity", "parse_event"]

_PROVIDER = re.compile(r"<Provider\b([^>]*)>")
_EVENT_ID = re.compile(r"<EventID\b[^>]*>([^<]*)</EventID>")
_ATTR = re.compile(r'([^\s=]+)="([^"]*)"')
_NAME = re.compile(r'\bName="([^"]*)"')
_LEAF = re.compile(r"<([^\s<>/]+)([^<>]*)>([^<]*)</\1>")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)
_SYSTEM_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?")


@dataclass(frozen=True)
class EvtxEvent:
    """One record as rendered XML says it (values as Event Viewer's XML view shows them).

    Attributes:
        record_id: ``<EventRecordID>`` (the record header's id when the XML has none).
        written: the record header's written time (FILETIME).
        time_created: ``<TimeCreated SystemTime>``, else the written time (a record with neither is none).
        provider: ``<Provider Name>`` (or ``EventSourceName``).
        event_id: ``<EventID>`` as stored; ``qualifiers`` its ``Qualifiers`` attribute (classic sources).
        data: ``<EventData>`` values in order, ``(Name or None, text)``, then ``<UserData>`` leaf elements
            ``(element name, text)``: position n is insertion string %n.
        binary: ``<Binary>`` as lowercase hex, when the record has that element.
        offset: the record's offset in the file; ``chunk`` its chunk's index.
    """

    record_id: int
    written: int
    provider: str
    event_id: int
    qualifiers: int | None
    level: int | None
    task: int | None
    keywords: int | None
    time_created: datetime
    computer: str
    user_sid: str | None
    data: tuple[tuple[str | None, str], ...]
    binary: str | None
    chunk: int
    offset: int


def identity(xml: str) -> tuple[str, int] | None:
    """Provider and event ID cut from the rendered XML without parsing it (all ``keep`` needs)."""
    provider_match = _PROVIDER.search(xml)
    id_match = _EVENT_ID.search(xml)
    if id_match is None:
        return None
    event_id = _int(id_match.group(1))
    if event_id is None:
        return None
    provider = ""
    if provider_match:
        attrs = dict(_ATTR.findall(provider_match.group(1)))
        provider = _unescape(attrs.get("Name") or attrs.get("EventSourceName") or "")
    return provider, event_id


def _unescape(text: str) -> str:
    return html.unescape(text) if "&" in text else text


def _int(text: str | None) -> int | None:
    s = (text or "").strip()
    try:
        return int(s, 16) if s[:2].lower() == "0x" else int(s)
    except ValueError:
        return None


def parse_event(xml: str, header_id: int, written: int, chunk: int, offset: int) -> EvtxEvent | None:
    """One record's rendered XML as an :class:`EvtxEvent`; None when it has no Event/EventID.

    The Rust parser escapes ``&<>"'`` in text and attributes and closes every element explicitly
    (``<Data></Data>``, never ``<Data/>``), so a leaf element is exactly ``<name attrs>text</name>`` with no
    ``<`` inside, and one regular-expression pass finds every leaf in document order (run in C: a
    tag-by-tag walk in Python costs ~10x more). System's leaves give the identity and times; EventData's
    and UserData's leaves are the values.
    """
    if "<![CDATA[" in xml:
        xml = _CDATA.sub(lambda m: html.escape(m.group(1), quote=False), xml)
    if not xml.lstrip().startswith(("<?xml", "<Event")) or "<Event" not in xml:
        return None
    end = xml.find("</System>")
    if end == -1:
        return None
    system = {name: (text, attrs) for name, attrs, text in _LEAF.findall(xml, 0, end)}
    if "EventID" not in system:
        return None
    event_id = _int(system["EventID"][0])
    if event_id is None:
        return None
    data: list[tuple[str | None, str]] = []
    binary: str | None = None
    for section in ("EventData", "UserData"):
        start = xml.find(f"<{section}", end)
        if start == -1:
            continue
        stop = xml.find(f"</{section}>", start)
        inner = xml.find(">", start) + 1  # UserData's first element wraps the values; it is not one
        for m in _LEAF.finditer(xml, start, stop if stop != -1 else len(xml)):
            name, attrs, text = m.groups()
            value = _unescape(text)
            if section == "UserData" and m.start() == inner:
                continue
            if name == "Binary" and section == "EventData":
                binary = value.lower()
                continue
            named = _NAME.search(attrs) if section == "EventData" and attrs else None
            if named:  # <Data Name=..>, <ComplexData Name=..>
                data.append((_unescape(named.group(1)), value))
            else:
                data.append((None if name == "Data" else name, value))
    time_created = _system_time(_attrs(system.get("TimeCreated", ("", ""))[1]).get("SystemTime"))
    time_created = time_created or filetime(written)
    if time_created is None:
        return None  # no time at all: not a usable record
    provider = _attrs(system.get("Provider", ("", ""))[1])
    return EvtxEvent(
        record_id=_int(system.get("EventRecordID", ("", ""))[0]) or header_id,
        written=written,
        provider=provider.get("Name") or provider.get("EventSourceName") or "",
        event_id=event_id,
        qualifiers=_int(_attrs(system["EventID"][1]).get("Qualifiers")),
        level=_int(system.get("Level", ("", ""))[0]),
        task=_int(system.get("Task", ("", ""))[0]),
        keywords=_int(system.get("Keywords", ("", ""))[0]),
        time_created=time_created,
        computer=_unescape(system.get("Computer", ("", ""))[0]),
        user_sid=_attrs(system.get("Security", ("", ""))[1]).get("UserID") or None,
        data=tuple(data),
        binary=binary,
        chunk=chunk,
        offset=offset,
    )


def _attrs(text: str) -> dict[str, str]:
    return {k: _unescape(v) for k, v in _ATTR.findall(text)} if text else {}


def _system_time(text: str | None) -> datetime | None:
    """``2015-06-23T06:04:53.000000Z`` (UTC) to an aware datetime; None when absent or out of range."""
    m = _SYSTEM_TIME.match(text or "")
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
    except ValueError:
        return None


