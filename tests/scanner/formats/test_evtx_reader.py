""".evtx reader (scanner.formats.evtx): positional values, damaged and stale chunks, bounded work.

Bytes come from the committed generator (fixtures/factory/evtx.py) and the fixture images. The real shapes
seen in plaso's System.evtx (tests/real/test_real_evtx.py) are reproduced as literal values: a classic
provider's insertion strings stored as one string-array substitution (EventLog 6009: "6.01.", "7601",
"Service Pack 1", "Multiprocessor Free", "17514"), and UserPnp's values under UserData.
"""

from __future__ import annotations

import io
import random
import struct
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest

from fixtures.factory.evt import EVENTLOG_ERROR_TYPE, EvtRecord, event_id, layout_evt
from fixtures.factory.evtx import EvtxRecord, EvtxValue, ValueType, build_evtx
from fixtures.factory.scenario import IMAGES_DIR
from scanner.collectors.events import EventLogResult, find_event_logs, read_event_log
from scanner.evidence.source import open_evidence
from scanner.formats.evtx import CHUNK, CHUNK_DATA, EvtxScan, scan_evtx, walk_chunk
from scanner.knowledge.events import EventMeaning
from tests.scanner.formats.evtx_dissect import differences, dissect_records

T0 = datetime(2015, 6, 23, 6, 0, 48, tzinfo=UTC)
BOOT = ("6.01.", "7601", "Service Pack 1", "Multiprocessor Free", "17514")
DIRTY = ("1:34:44 PM", "\u200e8/\u200e25/\u200e2015", "", "", "934", "", "")
HEADER = 0x1000


def _classic() -> list[EvtxRecord]:
    """The shapes of plaso's real System.evtx: unnamed array, named params, UserData, unnamed + empty."""
    return [
        EvtxRecord("EventLog", 6009, T0, qualifiers=0x8000,
                   data=((None, EvtxValue(ValueType.STRING_ARRAY, BOOT)),)),
        EvtxRecord("Service Control Manager", 7036, T0 + timedelta(seconds=1), qualifiers=0x4000,
                   data=(("param1", "Windows Event Log"), ("param2", "stopped"))),
        EvtxRecord("Microsoft-Windows-UserPnp", 20001, T0 + timedelta(seconds=2), user_data="InstallDeviceID",
                   data=(("DriverName", ""), ("DriverVersion", "6.1.7601.17514"),
                         ("RebootOption", EvtxValue(ValueType.UINT32, 0)))),
        EvtxRecord("EventLog", 6008, T0 + timedelta(seconds=3), level=2, qualifiers=0x8000,
                   data=((None, EvtxValue(ValueType.STRING_ARRAY, DIRTY)),)),
        EvtxRecord("Application Error", 1000, T0 + timedelta(seconds=4), level=2,
                   data=((None, "w3wp.exe"), (None, "7.0.6001.18000"), (None, "mod<&>\"'.dll"))),
    ]


def _scan(data: bytes, keep: object = None) -> EvtxScan:
    return scan_evtx(io.BytesIO(data), len(data), keep)  # type: ignore[arg-type]


def _read(data: bytes) -> EventLogResult:
    return read_event_log(io.BytesIO(data), "Windows\\System32\\winevt\\Logs\\System.evtx", "System")


def test_unnamed_data_are_insertion_strings_by_position() -> None:
    result = _read(build_evtx(_classic(), channel="System"))
    boot, scm, pnp, dirty, crash = result.records
    assert boot.strings == BOOT and boot.data == () and boot.raw_event_id == 0x80001779
    assert scm.strings == ("Windows Event Log", "stopped")
    assert scm.data == (("param1", "Windows Event Log"), ("param2", "stopped"))
    assert pnp.strings == ("", "6.1.7601.17514", "0")
    assert pnp.data == (("DriverName", ""), ("DriverVersion", "6.1.7601.17514"), ("RebootOption", "0"))
    assert dirty.strings == DIRTY
    assert crash.strings == ("w3wp.exe", "7.0.6001.18000", "mod<&>\"'.dll") and crash.level == "error"
    assert [r.at for r in result.records] == [T0 + timedelta(seconds=i) for i in range(5)]


def test_profile_templates_render_positional_and_named_values() -> None:
    """%n is strings[n-1] (named or not), {Name} a named value: the contract of EventMeaning.render."""
    boot, scm, pnp, *_ = _read(build_evtx(_classic(), channel="System")).records
    meaning = EventMeaning("t", ("x",), (1,), "boot", "boot", "", "", "", (), "test")
    assert meaning.render("Boot: %1 build %2, %3", boot) == "Boot: 6.01. build 7601, Service Pack 1"
    assert meaning.render("%1 entered %2 ({param2})", scm) == "Windows Event Log entered stopped (stopped)"
    assert meaning.render("{DriverVersion} / %2", pnp) == "6.1.7601.17514 / 6.1.7601.17514"


def test_keep_filters_before_parsing_and_counts_every_record() -> None:
    seen: list[tuple[str, int]] = []

    def keep(provider: str, eid: int) -> bool:
        seen.append((provider, eid))
        return eid == 6009

    scan = _scan(build_evtx(_classic(), channel="System"), keep)
    assert seen == [("EventLog", 6009), ("Service Control Manager", 7036),
                    ("Microsoft-Windows-UserPnp", 20001), ("EventLog", 6008), ("Application Error", 1000)]
    assert scan.total == 5 and [e.event_id for e in scan.events] == [6009]


def _many(count: int) -> bytes:
    return build_evtx([
        EvtxRecord("Service Control Manager", 7036, T0 + timedelta(seconds=i), qualifiers=0x4000,
                   data=(("param1", f"Service {i}"), ("param2", "running")))
        for i in range(count)
    ], channel="System")


def _chunk_at(data: bytes, index: int) -> int:
    return HEADER + index * CHUNK


def _record_offsets(data: bytes, index: int) -> list[int]:
    chunk = data[_chunk_at(data, index) : _chunk_at(data, index + 1)]
    return [r.offset for r in walk_chunk(chunk).records]


def test_bad_size_past_the_free_space_offset_ends_the_walk() -> None:
    """A signature with a bad size at or past the free-space offset once sent the walk back: it must stop."""
    data = bytearray(_many(20))
    base = _chunk_at(data, 0)
    free = struct.unpack_from("<I", data, base + 48)[0]
    struct.pack_into("<IIQQ", data, base + free, 0x2A2A, 0xFFF0, 99, 0)  # signature, absurd size
    walk = walk_chunk(bytes(data[base : base + CHUNK]))
    assert len(walk.records) == 20 and walk.damaged == []
    assert walk.steps <= 21
    # The same bytes before the free-space offset: a damaged record, skipped, the rest read.
    first, second = _record_offsets(bytes(data), 0)[:2]
    struct.pack_into("<I", data, base + first + 4, 0xFFF0)
    walk = walk_chunk(bytes(data[base : base + CHUNK]))
    assert [r.offset for r in walk.records][0] == second and walk.damaged == [(first, second)]
    assert walk.steps <= (CHUNK - CHUNK_DATA) // 8
    result = _read(bytes(data))
    assert [r.record_number for r in result.records] == list(range(2, 21)) and result.corrupt == 1


def test_every_damaged_stretch_is_stepped_over_and_the_rest_rendered() -> None:
    data = bytearray(_many(40))
    base = _chunk_at(data, 0)
    offsets = _record_offsets(bytes(data), 0)
    for n in (3, 4, 17):  # two adjacent damaged records and one more
        data[base + offsets[n] : base + offsets[n] + 4] = b"\xff\xff\xff\xff"
    struct.pack_into("<Q", data, base + offsets[9] + 16, 0xFFFF_FFFF_FFFF_FFFF)  # unparseable written time
    result = _read(bytes(data))
    assert [r.record_number for r in result.records] == [n for n in range(1, 41) if n not in (4, 5, 18)]
    tenth = next(r for r in result.records if r.record_number == 10)
    assert tenth.at == T0 + timedelta(seconds=9)  # TimeCreated; the bad written time is not used
    assert result.corrupt == 2 and result.total == 37  # two damaged stretches


def test_stale_chunk_header_and_stale_file_header() -> None:
    """A dirty log: the chunk header's free-space offset and last record lag, the file's chunk count too."""
    data = bytearray(_many(600))
    assert (len(data) - HEADER) // CHUNK == 3
    base = _chunk_at(data, 1)
    offsets = _record_offsets(bytes(data), 1)
    struct.pack_into("<I", data, base + 48, offsets[5])  # free space after 5 records of chunk 1
    struct.pack_into("<QQ", data, base + 24, 0, 0)  # last record number / id
    struct.pack_into("<Q", data, 16, 0)  # file header: last chunk 0 ...
    struct.pack_into("<H", data, 42, 1)  # ... of 1: it says nothing of chunks 1 and 2
    result = _read(bytes(data))
    assert [r.record_number for r in result.records] == list(range(1, 601)) and result.corrupt == 0


def test_truncated_chunk_keeps_its_whole_records() -> None:
    data = _many(600)
    offsets = _record_offsets(data, 1)
    cut = _chunk_at(data, 1) + offsets[10] + 8  # inside chunk 1's 11th record
    result = _read(data[:cut])
    first = _read(data).records
    in_first = sum(1 for r in first if "chunk 0," in r.source.locator)
    assert [r.record_number for r in result.records] == list(range(1, in_first + 11))
    assert result.corrupt == 1 and any("file ends inside chunk 1" in g.reason for g in result.gaps)


@pytest.mark.parametrize("seed", range(6))
def test_random_damage_never_raises_and_accounts_for_every_record(seed: int) -> None:
    """Flipped bytes anywhere in a chunk: records are read or counted, the walk stays bounded."""
    clean = _many(300)
    rng = random.Random(seed)
    data = bytearray(clean)
    for _ in range(40):
        data[rng.randrange(HEADER, len(data))] = rng.randrange(256)
    scan = _scan(bytes(data))
    for index in range((len(data) - HEADER) // CHUNK):
        walk = walk_chunk(bytes(data[_chunk_at(data, index) : _chunk_at(data, index + 1)]))
        assert walk.steps <= (CHUNK - CHUNK_DATA) // 8
    assert scan.total + scan.corrupt_records + scan.corrupt_chunks > 0
    assert len({e.record_id for e in scan.events}) <= 300 + scan.total


# --- the fixture images: our reading equals dissect.eventlog's --------------------------------------------


@cache
def _image_logs(image: str) -> list[tuple[str, bytes]]:
    ev = open_evidence(IMAGES_DIR / image)
    _volume, fs = ev.system_volume()
    out = []
    for _log, path, entry in find_event_logs(fs, str(_volume.windows_dir)):
        if path.lower().endswith(".evtx"):
            with entry.open("rb") as fh:
                out.append((path, fh.read()))
    return out


@pytest.mark.parametrize("image", ["cbs-2008-iis7.qcow2"])
def test_fixture_image_logs_read_as_dissect_reads_them(image: str) -> None:
    logs = _image_logs(image)
    assert logs
    for path, data in logs:
        scan = _scan(data)
        theirs = dissect_records(io.BytesIO(data))
        assert scan.total == len(theirs) and scan.corrupt_records == scan.corrupt_chunks == 0, path
        assert differences(theirs, {e.record_id: e for e in scan.events}) == [], path


# --- .evt: newer records vs older leftovers ---------------------------------------------------------------


def test_evt_stale_header_counts_newer_records_and_names_older_leftovers() -> None:
    """The real XP SysEvent.Evt shape: 25 records newer than the dirty header, 257 older leftovers read
    outside the live ring. Reproduced small: 30 records, header flushed after 25, ring starting at 6."""
    records = [EvtRecord("W3SVC", event_id(1009, "warning"), EVENTLOG_ERROR_TYPE, strings=("Pool", str(i)),
                         time_generated=T0 + timedelta(seconds=i)) for i in range(30)]
    layout = layout_evt(records, max_size=65536, dirty_after=25)
    data = bytearray(layout.data)
    start = layout.record_offsets[6]
    struct.pack_into("<I", data, 16, start)  # header StartOffset ...
    struct.pack_into("<I", data, 28, 6)  # ... and OldestRecordNumber: records 1-5 are remnants
    eof = layout.eof.end_offset
    struct.pack_into("<I", data, eof + 20, start)
    struct.pack_into("<I", data, eof + 32, 6)
    result = read_event_log(io.BytesIO(bytes(data)), "WINDOWS\\system32\\config\\SysEvent.Evt", "System")
    assert result.total == 30 and result.past_header == 5 and result.leftover == 5
    assert [r.record_number for r in result.records if r.past_stale_header] == [26, 27, 28, 29, 30]
    assert [g.reason for g in result.gaps if "stale" in g.reason] == [
        "header of SysEvent.Evt is stale (DIRTY flag; its next record number is 26 but 5 newer records "
        "follow, up to 30); 5 older records left over outside the live ring (numbered below its oldest "
        "record 6) were read too"
    ]


def test_byte_parsers_know_nothing_of_the_model() -> None:
    """scanner/formats/ (STYLE.md): byte parsers import no other scanner stage."""
    import ast

    import scanner.formats

    for path in Path(scanner.formats.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("scanner"):
                assert node.module.startswith("scanner.formats"), (path.name, node.module)


def test_cycle_in_the_common_string_table_does_not_hang(tmp_path: Path) -> None:
    """Two names linked to each other: evtx 0.14's string cache follows the chain forever (found by fuzzing
    a real log). The reader hands the parser a chunk without that table. Run in a child process: a loop in
    Rust cannot be interrupted from Python, and the timeout only stops a hang (nothing measures time)."""
    data = bytearray(_many(20))
    base = _chunk_at(data, 0)
    heads = [o for o in struct.unpack_from("<64I", data, base + 128) if o]
    assert len(heads) >= 2
    first, second = heads[:2]
    struct.pack_into("<I", data, base + first, second)  # first -> second -> first
    struct.pack_into("<I", data, base + second, first)
    log = tmp_path / "System.evtx"
    log.write_bytes(bytes(data))
    code = ("import io, sys; from scanner.collectors.events import read_event_log; "
            "r = read_event_log(io.BytesIO(open(sys.argv[1], 'rb').read()), 'System.evtx', 'System'); "
            "print(r.total, r.corrupt, [x.strings[0] for x in r.records][:2])")
    done = subprocess.run([sys.executable, "-c", code, str(log)], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[3], check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "20 0 ['Service 0', 'Service 1']"


def test_record_time_falls_back_to_the_written_time_or_the_record_is_unusable() -> None:
    """Rendered XML as the parser writes it (escaped, explicit end tags), without a TimeCreated."""
    from scanner.formats.evtx_xml import parse_event

    xml = ('<?xml version="1.0" encoding="utf-8"?>\n<Event xmlns="x"><System><Provider Name="A&amp;B">'
           "</Provider><EventID Qualifiers=\"16384\">7036</EventID><EventRecordID>9</EventRecordID>"
           "</System><EventData><Data>a&lt;b</Data><Binary>0A0B</Binary></EventData></Event>")
    written = 130_795_128_719_843_750  # 2015-06-23 06:01:11.984375 UTC, exact
    event = parse_event(xml, 1, written, 0, 0)
    assert event is not None and event.time_created == datetime(2015, 6, 23, 6, 1, 11, 984375, tzinfo=UTC)
    assert (event.provider, event.event_id, event.qualifiers, event.record_id) == ("A&B", 7036, 16384, 9)
    assert event.data == ((None, "a<b"),) and event.binary == "0a0b"
    assert parse_event(xml, 1, 0xFFFF_FFFF_FFFF_FFFF, 0, 0) is None
