"""Legacy .evt writer: dissect.eventlog reads every record back, including those past a stale header."""

from __future__ import annotations

import io
import struct
from datetime import datetime, timedelta, timezone

from dissect.eventlog.evt import Evt

from fixtures.factory.evt import EvtRecord, build_evt, event_id

T0 = datetime(2009, 12, 9, 15, 55, 1, tzinfo=timezone.utc)


def _records(n: int) -> list[EvtRecord]:
    return [
        EvtRecord(
            "W3SVC",
            event_id(1009, "warning"),
            2,
            strings=("DefaultAppPool", str(3120 + 4 * i), "0xffffffff"),
            time_generated=T0 + timedelta(seconds=41 * i),
            computer="WEBSERVER01",
        )
        for i in range(n)
    ]


def test_event_id_composition_matches_windows() -> None:
    assert event_id(4377, "info", facility=0xE) == 0x400E1119  # NtServicePack 4377 as stored
    assert event_id(7000, "error") == 0xC0001B58  # SCM 7000 as stored


def test_records_read_back_with_dissect() -> None:
    data = build_evt(_records(5), max_size=65536)
    assert len(data) == 65536
    records = list(Evt(io.BytesIO(data)))
    assert [r.RecordNumber for r in records] == [1, 2, 3, 4, 5]
    first = records[0]
    assert first.SourceName == "W3SVC" and first.Computername == "WEBSERVER01"
    assert first.EventID & 0xFFFF == 1009 and first.EventID >> 30 == 2
    assert first.Strings == ["DefaultAppPool", "3120", "0xffffffff"]
    assert first.TimeGenerated == T0


def test_dirty_header_is_stale_but_records_past_it_are_in_the_file() -> None:
    data = build_evt(_records(5), max_size=65536, dirty_after=2)
    _, _, _, _, start, end, current, oldest, _, flags = struct.unpack_from("<I4sIIIIIIII", data, 0)
    assert flags & 0x1  # DIRTY
    assert current == 3  # the header still says "next record is 3"
    assert data[end + 4 : end + 8] != b"\x11\x11\x11\x11"  # no EOF record where the header says
    assert data.count(b"\x11\x11\x11\x11\x22\x22\x22\x22") == 1  # one floating EOF record, after record 5
    assert len(list(Evt(io.BytesIO(data)))) == 5  # dissect follows the records, not the header
