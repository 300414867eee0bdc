"""Helpers for test_evt.py: a small System log, and dissect.eventlog read back bounded in time and count.

Why apart: the readers are the independent oracle the ``.evt`` tests compare against; keeping them here keeps
the test module to its cases.
"""

from __future__ import annotations

import contextlib
import io
import signal
import struct
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from types import FrameType

from dissect.eventlog import evt as devt

from fixtures.factory.evt import (
    EVENTLOG_ERROR_TYPE,
    EVENTLOG_INFORMATION_TYPE,
    EVENTLOG_WARNING_TYPE,
    EvtLayout,
    EvtRecord,
    event_id,
)

T0 = datetime(2007, 3, 14, 1, 58, 12, tzinfo=timezone.utc)


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Abort a (pure-Python) reader that loops forever."""

    def _raise(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"reader did not finish within {seconds}s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def patch_night() -> list[EvtRecord]:
    """A small System log of a Server 2003 box that got SP2 and then failed to start IIS."""
    return [
        EvtRecord("EventLog", event_id(6009, "info"), EVENTLOG_INFORMATION_TYPE,
                  strings=("5.02.", "3790", "Service Pack 1", "Uniprocessor Free"),
                  time_generated=T0, computer="SRV03LAB"),
        EvtRecord("EventLog", event_id(6005, "warning"), EVENTLOG_INFORMATION_TYPE,
                  time_generated=T0 + timedelta(seconds=1), computer="SRV03LAB"),
        EvtRecord("NtServicePack", event_id(4377, "info", facility=0xE), EVENTLOG_INFORMATION_TYPE,
                  strings=("Windows Server 2003 Service Pack 2",),
                  time_generated=T0 + timedelta(minutes=20),
                  time_written=T0 + timedelta(minutes=20, seconds=3),
                  computer="SRV03LAB", user_sid="S-1-5-21-1004336348-1177238915-682003330-500"),
        EvtRecord("Service Control Manager", event_id(7000, "error"), EVENTLOG_ERROR_TYPE,
                  strings=("World Wide Web Publishing", "%%1053"),
                  time_generated=T0 + timedelta(minutes=31), computer="SRV03LAB"),
        EvtRecord("W3SVC", event_id(1009, "warning"), EVENTLOG_WARNING_TYPE, category=0,
                  strings=("DefaultAppPool", "3112"), data=bytes(range(7)),
                  time_generated=T0 + timedelta(minutes=32), computer="SRV03LAB", user_sid="S-1-5-18"),
        EvtRecord("Service Control Manager", event_id(7034, "error"), EVENTLOG_ERROR_TYPE, category=3,
                  strings=("IIS Admin Service \u00e9\u00e8 \u2013 lab", "1"),
                  time_generated=T0 + timedelta(minutes=33), computer="SRV03LAB"),
        EvtRecord("EventLog", event_id(6008, "error"), EVENTLOG_ERROR_TYPE,
                  strings=("1:35:02 AM", "3/14/2007"), data=b"\xd7\x07\x03\x00\x03\x00\x0e\x00",
                  time_generated=T0 + timedelta(hours=1), computer="SRV03LAB"),
        EvtRecord("EventLog", event_id(6005, "warning"), EVENTLOG_INFORMATION_TYPE,
                  time_generated=T0 + timedelta(hours=1, seconds=2), computer="SRV03LAB"),
    ]


def read_dissect(data: bytes, timeout: int = 10) -> list[devt.Record]:
    """dissect's records, bounded in time and in count: a reader that loops forever yielding records would
    otherwise fill memory before the alarm fires on a busy machine (seen: 6.4 GB)."""
    cap = len(data) // 0x38 + 1  # no more records than the smallest record size allows
    got: list[devt.Record] = []
    with time_limit(timeout):
        for record in devt.Evt(io.BytesIO(data)):
            got.append(record)
            if len(got) > cap:
                raise ValueError(f"reader yielded more than {cap} records from {len(data)} bytes")
    return got


def header_fields(data: bytes) -> tuple[int, ...]:
    return struct.unpack_from("<I4s10I", data, 0)


def assert_matches(got: devt.Record, want: EvtRecord, number: int) -> None:
    assert got.RecordNumber == number
    assert got.SourceName == want.source
    assert got.Computername == want.computer
    assert list(got.Strings) == list(want.strings)
    assert got.EventID == want.event_id
    assert got.EventCode == want.event_id & 0xFFFF
    assert got.EventType == want.event_type
    assert got.EventCategory == want.category
    assert got.TimeGenerated == want.time_generated
    assert got.TimeWritten == (want.time_written or want.time_generated)
    assert got.Data == want.data


def assert_dissect_reads(layout: EvtLayout, records: list[EvtRecord], first: int = 1) -> None:
    got = read_dissect(layout.data)
    assert [r.RecordNumber for r in got] == list(layout.surviving)
    for rec in got:
        assert_matches(rec, records[rec.RecordNumber - first], rec.RecordNumber)
