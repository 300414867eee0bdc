"""Round-trip tests for fixtures.factory.evtx with real EVTX readers (no mocks).

Readers: dissect.eventlog (what the scanner uses, also through dissect.target's EvtxPlugin record builder),
python-evtx (``import Evtx``, renders XML and verifies header/chunk CRCs) and, when installed, libyal's
``evtxinfo`` / ``evtxexport`` (Debian package libevtx-utils), the reference implementation of the libevtx
format document.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import Evtx.Evtx as Evtx  # python-evtx (test dependency)
import pytest
from dissect.eventlog.bxml import BxmlSub
from dissect.eventlog.evtx import Evtx as DissectEvtx

from fixtures.factory.evtx import build_evtx
from fixtures.factory.evtx_values import (
    EVENT_NAMESPACE,
    EvtxRecord,
    EvtxValue,
    ValueType,
    filetime,
    name_hash,
)
from tests.factory.evtx_scenario import SCM_GUID, T0, scenario_records

NS = {"e": EVENT_NAMESPACE}


def _text(value: str | EvtxValue) -> str:
    """What dissect renders for a value (python-evtx shares these renderings for the types used here)."""
    if isinstance(value, str):
        return value
    if value.type is ValueType.HEX32:
        assert isinstance(value.value, int)
        return f"0x{value.value:x}"
    return str(value.value)


def _dissect(blob: bytes) -> list[dict[str, object]]:
    """Events as plain dicts.

    dissect.eventlog returns attribute values (TimeCreated_SystemTime, EventID_Qualifiers, Security_UserID...)
    as ``BxmlSub`` objects owned by the chunk's shared template, so they must be resolved while iterating
    (the same holds for real Windows logs; dissect.target's EvtxPlugin does it per record).
    """
    return [
        {k: v.get() if isinstance(v, BxmlSub) else v for k, v in r.items()}
        for r in DissectEvtx(io.BytesIO(blob))
    ]


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[EvtxRecord], bytes, Path]:
    records = scenario_records()
    blob = build_evtx(records, channel="System", first_record_id=101)
    path = tmp_path_factory.mktemp("evtx") / "System.evtx"
    path.write_bytes(blob)
    return records, blob, path


def test_dissect_reads_every_field(scenario_file: tuple[list[EvtxRecord], bytes, Path]) -> None:
    records, blob, _ = scenario_file
    events = _dissect(blob)
    assert len(events) == len(records)
    for record_id, (rec, ev) in enumerate(zip(records, events, strict=True), start=101):
        assert ev["Provider_Name"] == rec.provider
        assert ev["EventID"] == rec.event_id
        assert ev["EventID_Qualifiers"] == rec.qualifiers
        assert ev["TimeCreated_SystemTime"] == rec.time_created
        assert ev["Computer"] == rec.computer
        assert ev["Channel"] == "System"
        assert ev["EventRecordID"] == record_id
        assert ev["Level"] == rec.level
        assert ev["Task"] == rec.task and ev["Opcode"] == rec.opcode
        assert ev["Keywords"] == f"0x{rec.keywords:x}"
        assert ev["Execution_ProcessID"] == rec.process_id and ev["Execution_ThreadID"] == rec.thread_id
        assert ev.get("Provider_Guid") == rec.provider_guid
        assert ev.get("Provider_EventSourceName") == rec.event_source_name
        assert (str(ev["Security_UserID"]) if ev["Security_UserID"] else None) == rec.user_sid
        for name, value in rec.data:
            if name is None or (isinstance(value, EvtxValue) and value.type is ValueType.GUID):
                continue  # dissect renders GUID values big-endian; checked in test_typed_values
            assert str(ev[name]) == _text(value), name
        unnamed = [_text(v) for n, v in rec.data if n is None]
        keys = [f"Data_{i}" if i else "Data" for i in range(len(unnamed))]
        assert [ev[k] for k in keys] == unnamed


def test_dissect_target_plugin_record(scenario_file: tuple[list[EvtxRecord], bytes, Path]) -> None:
    """The scanner's path: dissect.target's EvtxPlugin turns each event into a flow.record."""
    from dissect.target.plugins.os.windows.log.evtx import EvtxPlugin
    from dissect.target.target import Target

    records, blob, path = scenario_file
    plugin = EvtxPlugin(Target())
    out = [plugin._build_record(ev, path) for ev in DissectEvtx(io.BytesIO(blob))]
    assert [(r.ts, r.Provider_Name, int(r.EventID)) for r in out] == [
        (rec.time_created, rec.provider, rec.event_id) for rec in records
    ]
    scm = out[11]
    assert scm.param1 == "World Wide Web Publishing Service" and scm.EventID_Qualifiers == "49152"
    app_error = out[-1]
    assert (app_error.Data, app_error.Data_1, app_error.Data_7) == ("w3wp.exe", "7.0.6001.18000", "000afaf8")


def _python_evtx_xml(path: Path) -> Iterator[tuple[int, ET.Element]]:
    with Evtx.Evtx(str(path)) as log:
        header = log.get_file_header()
        assert header.verify() and not header.is_dirty()
        for chunk in log.chunks():
            assert chunk.verify()
        for record in log.records():
            yield record.record_num(), ET.fromstring(record.xml())


def test_python_evtx_renders_xml(scenario_file: tuple[list[EvtxRecord], bytes, Path]) -> None:
    records, _, path = scenario_file
    rendered = list(_python_evtx_xml(path))
    assert [num for num, _ in rendered] == list(range(101, 101 + len(records)))
    for rec, (num, event) in zip(records, rendered, strict=True):
        system = event.find("e:System", NS)
        assert system is not None
        provider = system.find("e:Provider", NS)
        assert provider is not None and provider.get("Name") == rec.provider
        assert provider.get("Guid") == rec.provider_guid
        assert system.findtext("e:EventID", namespaces=NS) == str(rec.event_id)
        assert system.findtext("e:EventRecordID", namespaces=NS) == str(num)
        assert system.findtext("e:Channel", namespaces=NS) == "System"
        assert system.findtext("e:Computer", namespaces=NS) == rec.computer
        created = system.find("e:TimeCreated", NS)
        assert created is not None
        assert datetime.fromisoformat(created.get("SystemTime", "")) == rec.time_created
        data = event.findall("e:EventData/e:Data", NS)
        assert [d.get("Name") for d in data] == [n for n, _ in rec.data]
        for element, (_, value) in zip(data, rec.data, strict=True):
            if isinstance(value, EvtxValue) and value.type is ValueType.GUID:
                assert element.text == str(value.value)  # python-evtx renders GUIDs {lowercase}
            else:
                assert element.text == _text(value)


def test_templates_and_names_are_shared_within_a_chunk(
    scenario_file: tuple[list[EvtxRecord], bytes, Path],
) -> None:
    """Like real logs: each template/name is defined once per chunk and referenced by offset afterwards."""
    records, _, path = scenario_file
    with Evtx.Evtx(str(path)) as log:
        (chunk,) = list(log.chunks())
        templates = chunk.templates()  # walks the 32-entry template pointer table
        strings = chunk.strings()  # walks the 64-entry common string offset table
        names = sorted(s.string() for s in strings.values())
        hashes_ok = all(node.hash() == name_hash(node.string()) for node in strings.values())
    assert hashes_ok
    # System templates: one per (provider, guid, source, computer); EventData templates: one per shape.
    assert len(templates) < 2 * len(records)
    assert len(names) == len(set(names))
    assert {"Event", "System", "Provider", "EventData", "Data", "Name", "Qualifiers", "UserID"} <= set(names)


def test_typed_values(tmp_path: Path) -> None:
    when = datetime(2009, 6, 2, 3, 14, 15, 250000, tzinfo=UTC)
    rec = EvtxRecord(
        "Test-Provider",
        42,
        T0,
        data=(
            ("u8", EvtxValue(ValueType.UINT8, 200)),
            ("u16", EvtxValue(ValueType.UINT16, 65000)),
            ("u32", EvtxValue(ValueType.UINT32, 4000000000)),
            ("u64", EvtxValue(ValueType.UINT64, 2**40 + 1)),
            ("h32", EvtxValue(ValueType.HEX32, 0xC0000005)),
            ("h64", EvtxValue(ValueType.HEX64, 0x80000000000000)),
            ("guid", EvtxValue(ValueType.GUID, "{01234567-89ab-cdef-0123-456789abcdef}")),
            ("sid", EvtxValue(ValueType.SID, "S-1-5-21-1004336348-1177238915-682003330-512")),
            ("ft", EvtxValue(ValueType.FILETIME, when)),
            ("st", EvtxValue(ValueType.SYSTEMTIME, when)),
            ("bin", EvtxValue(ValueType.BINARY, b"\x00\x01\xfe\xff")),
            ("null", EvtxValue(ValueType.NULL)),
            ("empty", ""),
            ("unicode", "Dienst \u201eW3SVC\u201c \u2013 \u00fc"),
        ),
    )
    blob = build_evtx([rec], channel="Application")
    (ev,) = _dissect(blob)
    assert (ev["u8"], ev["u16"], ev["u32"], ev["u64"]) == (200, 65000, 4000000000, 2**40 + 1)
    assert (ev["h32"], ev["h64"]) == ("0xc0000005", "0x80000000000000")
    # dissect.eventlog reads GUID values with uuid.UUID(bytes=...) i.e. big-endian; the file holds the real
    # little-endian GUID (python-evtx and libevtx render it correctly below).
    assert ev["guid"] == "{67452301-AB89-EFCD-0123-456789ABCDEF}"
    assert str(ev["sid"]) == "S-1-5-21-1004336348-1177238915-682003330-512"
    assert ev["ft"] == when
    assert ev["st"] == when.replace(tzinfo=None, microsecond=250000)
    assert ev["bin"] == b"0001feff"
    assert (
        ev["null"] is None and ev["empty"] == "" and ev["unicode"] == "Dienst \u201eW3SVC\u201c \u2013 \u00fc"
    )

    path = tmp_path / "Application.evtx"
    path.write_bytes(blob)
    ((_, event),) = list(_python_evtx_xml(path))
    got = {d.get("Name"): d.text or "" for d in event.findall("e:EventData/e:Data", NS)}
    assert got["u64"] == str(2**40 + 1) and got["h32"] == "0xc0000005" and got["h64"] == "0x0080000000000000"
    assert got["guid"] == "{01234567-89ab-cdef-0123-456789abcdef}"
    assert got["sid"] == "S-1-5-21-1004336348-1177238915-682003330-512"
    assert datetime.fromisoformat(got["ft"]) == when
    assert got["bin"] == "AAH+/w=="
    assert got["null"] == "" and got["unicode"] == "Dienst \u201eW3SVC\u201c \u2013 \u00fc"


def test_1500_records_span_chunks(tmp_path: Path) -> None:
    records = [
        EvtxRecord(
            "Service Control Manager",
            7031 + i % 4,
            T0 + timedelta(seconds=i),
            level=2,
            provider_guid=SCM_GUID,
            event_source_name="Service Control Manager",
            qualifiers=49152,
            data=(("param1", f"Service number {i}"), ("param2", str(i)))[: 1 + i % 2],
        )
        for i in range(1500)
    ]
    blob = build_evtx(records, channel="System", first_record_id=7)
    chunks = (len(blob) - 4096) // 65536
    assert len(blob) == 4096 + chunks * 65536 and chunks >= 3
    assert struct.unpack_from("<QQQ", blob, 8) == (0, chunks - 1, 7 + 1500)
    assert struct.unpack_from("<H", blob, 42)[0] == chunks

    events = _dissect(blob)
    assert [e["EventRecordID"] for e in events] == list(range(7, 1507))
    assert [e["param1"] for e in events] == [f"Service number {i}" for i in range(1500)]
    assert [e["TimeCreated_SystemTime"] for e in events] == [r.time_created for r in records]

    path = tmp_path / "System.evtx"
    path.write_bytes(blob)
    with Evtx.Evtx(str(path)) as log:
        assert len(list(log.chunks())) == chunks
        assert all(c.verify() for c in log.chunks())
        xml = [(r.record_num(), r.xml()) for r in log.records()]
    assert [n for n, _ in xml] == list(range(7, 1507))
    assert all(f">Service number {i}</Data>" in x for i, (_, x) in enumerate(xml))


def test_deterministic_and_flags() -> None:
    records = scenario_records()
    a = build_evtx(records, channel="System")
    assert a == build_evtx(list(records), channel="System")
    assert a != build_evtx(records, channel="System", first_record_id=2)
    dirty = build_evtx(records, channel="System", dirty=True, full=True)
    assert struct.unpack_from("<I", dirty, 120)[0] == 0x3 and struct.unpack_from("<I", a, 120)[0] == 0
    assert len(_dissect(dirty)) == len(records)


def test_empty_log_is_header_plus_one_empty_chunk(tmp_path: Path) -> None:
    blob = build_evtx([], channel="Setup")
    assert len(blob) == 4096 + 65536 and blob[4096:4104] == b"ElfChnk\0"
    assert _dissect(blob) == []
    path = tmp_path / "Setup.evtx"
    path.write_bytes(blob)
    assert list(_python_evtx_xml(path)) == []


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_evtx([EvtxRecord("P", 1, datetime(2009, 1, 1))], channel="System")  # noqa: DTZ001
    with pytest.raises(ValueError, match="does not fit"):
        build_evtx([EvtxRecord("P", 1, T0, data=(("a", "x" * 16000), ("b", "y" * 16200)))], channel="System")
    with pytest.raises(ValueError, match="larger than 65535"):
        build_evtx([EvtxRecord("P", 1, T0, data=(("a", "x" * 40000),))], channel="System")
    with pytest.raises(ValueError, match="out of range"):
        build_evtx([EvtxRecord("P", 70000, T0)], channel="System")
    with pytest.raises(ValueError, match="not a SID"):
        build_evtx([EvtxRecord("P", 1, T0, user_sid="SYSTEM")], channel="System")


def test_helpers_match_real_windows_values() -> None:
    # Hashes stored by Windows in a real record (python-evtx issue #42 hex dump).
    assert (name_hash("Event"), name_hash("xmlns"), name_hash("System")) == (0x0CBA, 0x0FBC, 0x546F)
    assert filetime(datetime(1601, 1, 1, tzinfo=UTC)) == 0
    assert filetime(datetime(2009, 6, 2, 3, 14, 15, 123456, tzinfo=UTC)) == 128883860551234560


@pytest.mark.skipif(shutil.which("evtxexport") is None, reason="libevtx-utils (evtxexport) not installed")
def test_libevtx_reference_reader(scenario_file: tuple[list[EvtxRecord], bytes, Path]) -> None:
    records, _, path = scenario_file
    info = subprocess.run(["evtxinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert f"Number of records\t\t: {len(records)}" in info and "corrupted" not in info
    out = subprocess.run(
        ["evtxexport", "-f", "xml", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert out.count("<Event xmlns=") == len(records)
    assert '<EventID Qualifiers="49152">7031</EventID>' in out
    assert "<Data>c0000374</Data>" in out and '<Data Name="PackageIdentifier">KB958644</Data>' in out
    assert '<Security UserID="S-1-5-18"/>' in out
