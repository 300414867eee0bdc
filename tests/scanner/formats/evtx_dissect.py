"""dissect.eventlog's reading of an ``.evtx`` file, normalised to compare it with scanner.formats.evtx.

Where the two legitimately differ, the comparison normalises both sides and says why:

* dissect renders a string array substitution (a classic provider's insertion strings) as one list value;
  Windows and the Rust parser give one ``<Data>`` per string. The list is expanded here.
* dissect writes GUIDs with the byte order of the first three groups reversed; GUID-shaped values are
  compared as ``<guid>``.
* dissect turns booleans into ``0``/``1`` (Windows writes ``true``/``false``) and binary values into
  lowercase hex (Windows: uppercase); times in data values are compared to the second.
* dissect (and python-evtx) convert FILETIMEs through a float and can be 1-2 microseconds off
  (``...984373`` for the exact ``...9843750``); TimeCreated is compared within 10 microseconds.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, BinaryIO

from dissect.eventlog.bxml import BxmlSub
from dissect.eventlog.evtx import Evtx

from scanner.formats.evtx import EvtxEvent

_SYSTEM = {"Provider_Name", "Provider_Guid", "Provider_EventSourceName", "EventID", "EventID_Qualifiers",
           "Version", "Level", "Task", "Opcode", "Keywords", "TimeCreated_SystemTime", "EventRecordID",
           "Correlation_ActivityID", "Correlation_RelatedActivityID", "Execution_ProcessID",
           "Execution_ThreadID", "Channel", "Computer", "Security_UserID"}
_GUID = re.compile(r"^\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?$")
_TIME = re.compile(r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)")


def _resolve(value: Any) -> Any:
    for _ in range(16):  # dissect's template slots are shared: resolve while the record is current
        if not isinstance(value, BxmlSub):
            break
        value = value.get()
    return [_resolve(v) for v in value] if isinstance(value, list) else value


def _norm(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("ascii", "replace").lower()
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    text = str(value)
    if _GUID.match(text):
        return "<guid>"
    return text.lower() if re.fullmatch(r"[0-9A-Fa-f]{16,}", text) else text


def _norm_ours(value: str) -> str:
    if value in ("true", "false"):
        return "1" if value == "true" else "0"
    if _GUID.match(value):
        return "<guid>"
    m = _TIME.match(value)
    if m and len(value) <= 32:
        return f"{m.group(1)}T{m.group(2)}"
    return value.lower() if re.fullmatch(r"[0-9A-Fa-f]{16,}", value) else value


def dissect_records(fh: BinaryIO) -> dict[int, dict[str, Any]]:
    """Record number -> (provider, event id, time, values in order, binary) as dissect reads them."""
    out: dict[int, dict[str, Any]] = {}
    for record in Evtx(fh):
        fields = {k: _resolve(v) for k, v in record.items()}
        values: list[str] = []
        binary = ""
        for key, value in fields.items():
            if key in _SYSTEM or "xmlns" in key or re.search(r"_Name(_\d+)?$", key):
                continue
            if key == "Binary":
                binary = _norm(value)
                continue
            values += [_norm(v) for v in (value if isinstance(value, list) else [value])]
        out[int(fields["EventRecordID"])] = {
            "provider": fields.get("Provider_Name") or fields.get("Provider_EventSourceName") or "",
            "event_id": int(fields["EventID"]),
            "time": fields["TimeCreated_SystemTime"],
            "values": values,
            "binary": binary,
        }
    return out


def ours(event: EvtxEvent) -> dict[str, Any]:
    """The same shape for one of our events."""
    return {
        "provider": event.provider,
        "event_id": event.event_id,
        "time": event.time_created,
        "values": [_norm_ours(v) for _, v in event.data],
        "binary": event.binary or "",
    }


def differences(theirs: dict[int, dict[str, Any]], mine: dict[int, EvtxEvent]) -> list[str]:
    """Every record on which the two readers disagree (empty when they agree)."""
    problems = []
    for number in sorted(set(theirs) | set(mine)):
        if number not in theirs or number not in mine:
            problems.append(f"record {number} only in {'ours' if number in mine else 'dissect'}")
            continue
        a, b = theirs[number], ours(mine[number])
        delta = abs((a["time"] - b["time"]).total_seconds()) if a["time"] and b["time"] else 1.0
        if delta > 1e-5:
            problems.append(f"record {number}: time {a['time']} != {b['time']}")
        for key in ("provider", "event_id", "values", "binary"):
            if str(a[key]) != str(b[key]):
                problems.append(f"record {number}: {key} {a[key]!r} != {b[key]!r}")
    return problems
