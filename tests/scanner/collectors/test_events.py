"""Event log collector: the committed images (NT5 .evt with a stale header, NT6 .evtx) and factory-built logs.

Factory logs cover what the images do not: wrapped ring buffers with split records, the split EOF record on
which dissect.eventlog's own iterator never returns (tests/factory/test_evt.py), damaged records and chunks,
truncated and foreign files.
"""

from __future__ import annotations

import io
import re
import struct
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from fixtures.factory.evt import (
    EVENTLOG_ERROR_TYPE,
    EVENTLOG_INFORMATION_TYPE,
    EVENTLOG_WARNING_TYPE,
    EvtRecord,
    event_id,
    layout_evt,
)
from fixtures.factory.evtx import EvtxRecord, EvtxValue, ValueType, build_evtx
from fixtures.factory.scenario import IMAGES_DIR
from scanner.collectors.events import EventLogResult, find_event_logs, read_event_log
from scanner.evidence.source import open_evidence
from tests.factory.evt_readers import time_limit

SYSEVENT = "WINDOWS\\system32\\config\\SysEvent.Evt"
T0 = datetime(2009, 12, 9, 15, 0, tzinfo=UTC)


@cache
def _logs(image: str) -> dict[str, tuple[str, Any]]:
    ev = open_evidence(IMAGES_DIR / image)
    volume, fs = ev.system_volume()
    return {log: (path, entry) for log, path, entry in find_event_logs(fs, str(volume.windows_dir))}


@cache
def _read(image: str, log: str) -> EventLogResult:
    path, entry = _logs(image)[log]
    return read_event_log(entry, path, log)


def _count(result: EventLogResult, provider: str, eid: int) -> list[Any]:
    return [r for r in result.records if r.provider.lower() == provider.lower() and r.event_id == eid]


# --- committed images -------------------------------------------------------------------------------------


def test_find_event_logs_nt5_and_nt6() -> None:
    assert {log: path for log, (path, _) in _logs("kb973917-iis6.vhd").items()} == {
        "Application": "WINDOWS\\system32\\config\\AppEvent.Evt",
        "System": SYSEVENT,
    }
    assert {log: path for log, (path, _) in _logs("cbs-2008-iis7.qcow2").items()} == {
        "Application": "Windows\\System32\\winevt\\Logs\\Application.evtx",
        "Setup": "Windows\\System32\\winevt\\Logs\\Setup.evtx",
        "System": "Windows\\System32\\winevt\\Logs\\System.evtx",
    }


def test_find_event_logs_names_on_a_directory_source(tmp_path: Path) -> None:
    """Case-insensitive NT5 names, other .evt by stem, and ``%4`` in .evtx names decoded to ``/``."""
    config = tmp_path / "WINDOWS" / "System32" / "config"
    logs = tmp_path / "WINDOWS" / "System32" / "winevt" / "Logs"
    config.mkdir(parents=True)
    logs.mkdir(parents=True)
    for name in ("SYSEVENT.EVT", "secevent.evt", "DnsEvent.Evt", "SYSTEM"):
        (config / name).write_bytes(b"")
    (logs / "Microsoft-Windows-WindowsUpdateClient%4Operational.evtx").write_bytes(b"")
    volume, fs = open_evidence(tmp_path).system_volume()
    found = {log: path.lower() for log, path, _ in find_event_logs(fs, str(volume.windows_dir))}
    assert found == {
        "DnsEvent": "windows\\system32\\config\\dnsevent.evt",
        "Security": "windows\\system32\\config\\secevent.evt",
        "System": "windows\\system32\\config\\sysevent.evt",
        "Microsoft-Windows-WindowsUpdateClient/Operational":
            "windows\\system32\\winevt\\logs\\microsoft-windows-windowsupdateclient%4operational.evtx",
    }


def test_kb973917_system_log_failure_past_the_stale_header() -> None:
    result = _read("kb973917-iis6.vhd", "System")
    assert result.format == "evt" and result.stale_header
    failures = _count(result, "W3SVC", 1009)
    assert len(failures) == 5
    assert failures[0].at == datetime(2009, 12, 9, 15, 55, 1, tzinfo=UTC)
    assert all(r.level == "warning" and r.past_stale_header for r in failures)
    assert all(r.raw_event_id == 0x800003F1 and r.strings[0] == "DefaultAppPool" for r in failures)
    rapid_fail = _count(result, "W3SVC", 1002)
    assert len(rapid_fail) == 1 and rapid_fail[0].level == "error" and rapid_fail[0].past_stale_header
    assert result.past_header >= 6
    stale = [g for g in result.gaps if "stale" in g.reason]
    assert len(stale) == 1 and stale[0].what == SYSEVENT
    assert re.fullmatch(r"header of SysEvent\.Evt is stale \(DIRTY flag; its next record number is \d+ but "
                        rf"{result.past_header} newer records follow, up to \d+\)", stale[0].reason)


def test_kb973917_hotfix_events_and_provenance() -> None:
    result = _read("kb973917-iis6.vhd", "System")
    installs = _count(result, "NtServicePack", 4377)
    assert [r.strings for r in installs] == [
        ("Windows Server 2003", "KB921883"),
        ("Windows Server 2003", "KB958644"),
        ("Windows Server 2003", "KB973917"),
    ]
    kb973917 = installs[2]
    assert kb973917.raw_event_id == 0x400E1119 and kb973917.level == "information"
    assert kb973917.at == datetime(2009, 12, 9, 15, 41, 15, tzinfo=UTC)
    assert kb973917.user_sid == "S-1-5-18" and kb973917.computer == "WEBSERVER01"
    assert not kb973917.past_stale_header and kb973917.message is None
    assert kb973917.source.artifact == SYSEVENT
    assert re.fullmatch(rf"record {kb973917.record_number} \(offset 0x[0-9a-f]+\)", kb973917.source.locator)
    boots = _count(result, "EventLog", 6009)
    assert [r.strings[2] for r in boots][:3] == ["Service Pack 1", "Service Pack 1", "Service Pack 2"]


def test_keep_filter_sees_stored_provider_and_16_bit_id() -> None:
    path, entry = _logs("kb973917-iis6.vhd")["System"]
    seen: set[tuple[str, int]] = set()

    def keep(provider: str, eid: int) -> bool:
        seen.add((provider, eid))
        return provider.lower() == "w3svc"

    result = read_event_log(entry, path, "System", keep=keep)
    assert {("NtServicePack", 4377), ("W3SVC", 1009), ("EventLog", 6005)} <= seen
    assert {r.provider for r in result.records} == {"W3SVC"} and len(result.records) == 6
    assert result.total > len(result.records)


def test_nt6_system_and_setup_logs() -> None:
    system = _read("cbs-2008-iis7.qcow2", "System")
    assert system.format == "evtx" and system.corrupt == 0 and not system.stale_header
    was = _count(system, "Microsoft-Windows-WAS", 5009)
    assert len(was) == 5 and all(r.level == "warning" for r in was)
    assert was[0].at == datetime(2011, 3, 9, 2, 41, 10, tzinfo=UTC)
    assert was[0].data == (("AppPoolID", "DefaultAppPool"), ("ProcessID", "2400"))
    assert was[0].strings == ("DefaultAppPool", "2400")
    rapid_fail = _count(system, "Microsoft-Windows-WAS", 5002)
    assert [(r.level, r.data) for r in rapid_fail] == [("critical", (("AppPoolID", "DefaultAppPool"),))]
    boot = _count(system, "EventLog", 6009)[0]
    assert boot.strings == ("6.0.", "6002", "Service Pack 2", "Multiprocessor Free", "0")
    assert boot.raw_event_id == 0x80001779 and boot.computer == "WIN-7HQK2ME31JS"
    assert boot.source.artifact == "Windows\\System32\\winevt\\Logs\\System.evtx"
    assert re.fullmatch(rf"record {boot.record_number} \(chunk 0, offset 0x[0-9a-f]+\)", boot.source.locator)

    setup = _read("cbs-2008-iis7.qcow2", "Setup")
    servicing = [(r.event_id, dict(r.data)["PackageIdentifier"]) for r in setup.records
                 if r.provider == "Microsoft-Windows-Servicing"]
    assert servicing == [(1, "KB2416400"), (2, "KB2416400"), (1, "KB2463332"), (4, "KB2463332"),
                         (1, "KB2506212")]
    failed = _count(setup, "Microsoft-Windows-Servicing", 4)[0]
    assert dict(failed.data)["ErrorCode"] == "0x800f0816"
    assert dict(failed.data)["IntendedPackageStateTextized"] == "Installed"


# --- factory-built .evt -----------------------------------------------------------------------------------


def _busy(count: int) -> list[EvtRecord]:
    """Records of varying size, so a small ring wraps, pads and splits records."""
    base = [
        EvtRecord("W3SVC", event_id(1009, "warning"), EVENTLOG_WARNING_TYPE,
                  strings=("DefaultAppPool", "3120"), time_generated=T0,
                  user_sid="S-1-5-21-1004336348-1177238915-682003330-500"),
        EvtRecord("Service Control Manager", event_id(7031, "error"), EVENTLOG_ERROR_TYPE,
                  strings=("IIS Admin Service", "1"), data=b"\x01\x02\x03", time_generated=T0),
        EvtRecord("EventLog", event_id(6005, "warning"), EVENTLOG_INFORMATION_TYPE, time_generated=T0),
    ]
    return [
        EvtRecord(b.source, b.event_id, b.event_type, strings=(*b.strings, "x" * (i % 23)), data=b.data,
                  time_generated=T0 + timedelta(seconds=30 * i), user_sid=b.user_sid)
        for i, b in ((i, base[i % 3]) for i in range(count))
    ]


def _read_bytes(data: bytes, artifact: str = SYSEVENT) -> EventLogResult:
    with time_limit(5):
        return read_event_log(io.BytesIO(data), artifact, "System")


@pytest.mark.parametrize("dirty_after", [None, 180])
def test_wrapped_log_returns_every_surviving_record_once(dirty_after: int | None) -> None:
    records = _busy(200)
    layout = layout_evt(records, max_size=16384, wrap=True, dirty_after=dirty_after)
    assert layout.split_records and layout.overwritten
    result = _read_bytes(layout.data)
    assert [r.record_number for r in result.records] == list(layout.surviving)
    assert result.total == len(layout.surviving) and result.corrupt == 0
    for got in result.records:
        want = records[got.record_number - 1]
        assert (got.provider, got.raw_event_id, got.strings) == (want.source, want.event_id, want.strings)
        assert got.at == want.time_generated and got.user_sid == want.user_sid
    assert result.stale_header == (dirty_after is not None)
    assert result.past_header == (0 if dirty_after is None else 200 - dirty_after)
    assert [r.past_stale_header for r in result.records].count(True) == result.past_header


def test_split_eof_record_on_which_dissect_loops_terminates() -> None:
    """The clean wrapped log of tests/factory/test_evt.py::test_wrap_with_split_eof_record."""
    records = [
        EvtRecord("EventLog", event_id(6005, "warning"), EVENTLOG_INFORMATION_TYPE,
                  data=b"\x55" * ((i * 48) % 400), time_generated=T0 + timedelta(minutes=i))
        for i in range(15)
    ]
    for dirty_after in (None, 12):
        layout = layout_evt(records, max_size=4096, wrap=True, dirty_after=dirty_after)
        assert layout.eof_split
        result = _read_bytes(layout.data)
        assert [r.record_number for r in result.records] == list(layout.surviving)
        assert result.corrupt == 0 and not [g for g in result.gaps if "corrupt" in g.reason]


def test_corrupt_record_is_skipped_and_counted(tmp_path: Path) -> None:
    layout = layout_evt(_busy(10), dirty_after=6)
    data = bytearray(layout.data)
    at = layout.record_offsets[4]
    data[at + 8 : at + 40] = b"\xa5" * 32  # number, times, event ID, offsets of record 4
    path = tmp_path / "SysEvent.Evt"
    path.write_bytes(bytes(data))
    with path.open("rb") as fh:
        result = read_event_log(fh, SYSEVENT, "System")
    assert [r.record_number for r in result.records] == [1, 2, 3, 5, 6, 7, 8, 9, 10]
    assert result.corrupt == 1 and result.total == 9
    gap = next(g for g in result.gaps if "corrupt" in g.reason)
    assert gap.reason == f"1 corrupt record(s) skipped (first at offset 0x{at:x})"
    assert gap.sources[0].artifact == SYSEVENT


def test_truncated_and_foreign_files_give_gaps_not_exceptions() -> None:
    layout = layout_evt(_busy(10))
    cut = layout.record_offsets[7] + 30
    truncated = _read_bytes(layout.data[:cut])
    assert [r.record_number for r in truncated.records] == [1, 2, 3, 4, 5, 6]
    assert truncated.corrupt == 1
    assert any("no end-of-file record" in g.reason for g in truncated.gaps)

    for junk in (b"", b"MZ" + bytes(range(256)) * 64, b"LfLe" * 1000):
        result = _read_bytes(junk)
        assert result.records == [] and result.gaps
    assert "not a readable .evt" in _read_bytes(b"MZ" + bytes(300)).gaps[0].reason


def test_unreadable_entry_is_a_gap() -> None:
    class Missing:
        def open(self, mode: str) -> Any:
            raise OSError("no such file")

    result = read_event_log(Missing(), SYSEVENT, "System")
    assert result.records == [] and result.gaps[0].reason == "event log unreadable: no such file"


# --- factory-built .evtx ----------------------------------------------------------------------------------


def _was(count: int) -> bytes:
    return build_evtx([
        EvtxRecord("Microsoft-Windows-WAS", 5009, T0 + timedelta(seconds=i), level=3, qualifiers=0x8000,
                   data=(("AppPoolID", f"Pool{i}"),
                         ("ProcessID", EvtxValue(ValueType.UINT32, 0xDEAD0000 + i))))
        for i in range(count)
    ], channel="System")


def test_evtx_corrupt_chunk_and_record_are_skipped() -> None:
    data = _was(600)
    chunks = (len(data) - 0x1000) // 0x10000
    assert chunks == 2
    clean = _read_bytes(data, "System.evtx")
    assert clean.total == 600 and clean.corrupt == 0
    assert clean.records[7].data == (("AppPoolID", "Pool7"), ("ProcessID", str(0xDEAD0007)))
    in_first = sum(1 for r in clean.records if "chunk 0," in r.source.locator)

    broken = bytearray(data)
    broken[0x11000 : 0x11000 + 8] = b"\xff" * 8  # chunk 1's signature
    result = _read_bytes(bytes(broken), "System.evtx")
    assert [r.record_number for r in result.records] == list(range(1, in_first + 1))
    assert result.corrupt == 1 and "1 corrupt chunk(s) skipped (first: chunk 1 at offset 0x11000)" in \
        result.gaps[0].reason

    broken = bytearray(data)
    second = 0x1000 + 0x200 + struct.unpack_from("<I", data, 0x1000 + 0x200 + 4)[0]
    broken[second + 4 : second + 8] = b"\xff\xff\x00\x00"  # record 2's size
    result = _read_bytes(bytes(broken), "System.evtx")
    assert [r.record_number for r in result.records] == [1, *range(3, 601)]
    assert result.corrupt == 1 and result.total == 599


def test_evtx_hostile_null_array_does_not_hang() -> None:
    """A NULL-typed array value makes dissect's own value loop spin forever; here it is one corrupt record."""
    data = bytearray(_was(3))
    value = data.find(struct.pack("<I", 0xDEAD0001))  # record 2's ProcessID value ...
    at = data.rfind(b"\x04\x00\x08\x00", 0, value)  # ... and its descriptor (size 4, UINT32)
    assert 0 < value - at < 64
    data[at + 2] = 0x80
    result = _read_bytes(bytes(data), "System.evtx")
    assert [r.record_number for r in result.records] == [1, 3] and result.corrupt == 1


def test_evtx_truncated_and_foreign() -> None:
    data = _was(600)
    result = _read_bytes(data[: 0x11000 + 0x300], "System.evtx")
    assert result.total > 300 and any("file ends inside chunk 1" in g.reason for g in result.gaps)
    foreign = _read_bytes(bytes(range(256)) * 300, "System.evtx")
    assert foreign.records == [] and "not an .evtx event log" in foreign.gaps[0].reason
