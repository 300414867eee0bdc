"""Legacy .evt writer, checked with real readers: dissect.eventlog (what the scanner uses), dissect.target's
disk-scrape path, and libevt (``pyevt``, from the ``libevt-python`` wheel) when installed."""

from __future__ import annotations

import dataclasses
import io
import struct
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dissect.eventlog import evt as devt

from fixtures.factory.evt import (
    ELF_LOGFILE_HEADER_DIRTY,
    ELF_LOGFILE_HEADER_WRAP,
    EVENTLOG_INFORMATION_TYPE,
    EVENTLOG_WARNING_TYPE,
    EvtRecord,
    build_evt,
    encode_record,
    event_id,
    layout_evt,
    sid_to_bytes,
)
from tests.factory.evt_readers import (
    T0,
    assert_dissect_reads,
    assert_matches,
    header_fields,
    patch_night,
    read_dissect,
)

# --- helpers and record encoding ----------------------------------------------------------------------------


def test_event_id_helper_matches_known_ids() -> None:
    assert event_id(4377, "info", facility=0xE) == 0x400E1119  # NtServicePack
    assert event_id(7000, "error") == 0xC0001B58  # Service Control Manager
    assert event_id(1009, "warning") == 0x800003F1  # W3SVC
    assert event_id(6005, "warning") == 0x80001775  # EventLog service started (6005 = 0x1775)
    assert event_id(1, "success", customer=True) == 0x20000001
    with pytest.raises(ValueError):
        event_id(0x10000)
    with pytest.raises(ValueError):
        event_id(1, "fatal")


def test_sid_encoding() -> None:
    assert sid_to_bytes("S-1-5-18") == bytes.fromhex("0101000000000005") + struct.pack("<I", 18)
    long_sid = sid_to_bytes("S-1-5-21-1004336348-1177238915-682003330-500")
    assert long_sid[:2] == b"\x01\x05" and len(long_sid) == 8 + 5 * 4
    with pytest.raises(ValueError):
        sid_to_bytes("S-2-5")


def test_record_layout_follows_windows() -> None:
    rec = EvtRecord("W3SVC", event_id(1009, "warning"), EVENTLOG_WARNING_TYPE, strings=("a", "bc"),
                    data=b"\x01\x02\x03", time_generated=T0, computer="SRV03LAB", user_sid="S-1-5-18")
    blob = encode_record(rec, 42)
    (length, sig, number, gen, wri, eid, etype, nstr, cat, _rf, _crn, str_off, sid_len, sid_off, data_len,
     data_off) = struct.unpack_from("<I4sIIIIHHHHIIIIII", blob)
    assert (length, sig, number, eid, etype, nstr) == (len(blob), b"LfLe", 42, 0x800003F1, 2, 2)
    assert gen == wri == int(T0.timestamp())
    assert len(blob) % 4 == 0 and struct.unpack_from("<I", blob, len(blob) - 4)[0] == len(blob)
    assert sid_off % 4 == 0 and sid_len == 12 and blob[sid_off:sid_off + 12] == sid_to_bytes("S-1-5-18")
    assert str_off == sid_off + sid_len
    assert blob[str_off:data_off] == "a\0bc\0".encode("utf-16-le")
    assert (data_len, blob[data_off:data_off + 3]) == (3, b"\x01\x02\x03")
    assert cat == 0
    with pytest.raises(ValueError):
        encode_record(dataclasses.replace(rec, time_generated=datetime(2007, 1, 1)), 1)  # noqa: DTZ001


# --- clean log ----------------------------------------------------------------------------------------------


def test_clean_log_reads_back_with_dissect() -> None:
    records = patch_night()
    layout = layout_evt(records, max_size=65536)
    data = layout.data
    assert len(data) == 65536
    size, sig, major, minor, start, end, current, oldest, max_size, flags, _ret, size2 = header_fields(data)
    assert (size, sig, major, minor, size2) == (0x30, b"LfLe", 1, 1, 0x30)
    assert (start, current, oldest, max_size, flags) == (0x30, 9, 1, 65536, 0)
    assert struct.unpack_from("<10I", data, end) == (
        0x28, 0x11111111, 0x22222222, 0x33333333, 0x44444444, 0x30, end, 9, 1, 0x28)
    assert not any(data[end + 0x28:])  # unused ring space is zero
    assert_dissect_reads(layout, records)


def test_clean_log_reads_back_with_libevt() -> None:
    pyevt = pytest.importorskip("pyevt")
    records = patch_night()
    log = pyevt.file()
    log.open_file_object(io.BytesIO(build_evt(records)))
    assert log.number_of_records == len(records) and not log.is_corrupted()
    for index, want in enumerate(records):
        got = log.get_record(index)
        assert got.identifier == index + 1
        assert got.source_name == want.source
        assert got.computer_name == want.computer
        assert list(got.strings) == list(want.strings)
        assert got.event_identifier == want.event_id
        assert got.event_type == want.event_type
        assert got.event_category == want.category
        assert got.get_creation_time_as_integer() == int(want.time_generated.timestamp())
        written = want.time_written or want.time_generated
        assert got.get_written_time_as_integer() == int(written.timestamp())
        assert got.user_security_identifier == want.user_sid
        try:
            data = got.data or b""
        except OSError:  # libevt raises instead of returning empty data when DataLength is 0
            data = b""
        if (len(want.source) + len(want.computer)) % 2 == 0:
            # libevt 20260705 reads Data at a cursor that skips the DWORD-alignment padding before the SID,
            # so its data is shifted when that padding exists; dissect honours DataOffset (checked above).
            assert data == want.data


def test_first_record_number_and_determinism() -> None:
    records = patch_night()
    one = build_evt(records, first_record_number=70001, max_size=0x80000)
    assert one == build_evt(records, first_record_number=70001, max_size=0x80000)
    assert len(one) == 0x80000
    assert [r.RecordNumber for r in read_dissect(one)] == list(range(70001, 70001 + len(records)))


def test_overflow_without_wrap_is_an_error() -> None:
    with pytest.raises(ValueError, match="wrap"):
        build_evt(patch_night() * 20, max_size=4096)


# --- dirty (crashed) log ------------------------------------------------------------------------------------


def test_dirty_header_is_stale_but_all_records_are_read() -> None:
    records = patch_night()
    layout = layout_evt(records, dirty_after=3)
    _s, _sig, _ma, _mi, start, end, current, oldest, _mx, flags, _r, _s2 = header_fields(layout.data)
    assert flags & ELF_LOGFILE_HEADER_DIRTY
    assert (start, current, oldest) == (0x30, 4, 1)
    assert end == layout.record_offsets[4] != layout.eof.end_offset  # header points at record 4, not the EOF
    assert layout.data.count(b"\x11\x11\x11\x11\x22\x22\x22\x22") == 1  # one floating EOF record
    # dissect's plain iteration follows the floating EOF record of a dirty file: all 8 records come back.
    assert_dissect_reads(layout, records)


def test_dirty_empty_header() -> None:
    records = patch_night()
    layout = layout_evt(records, dirty_after=0)
    assert header_fields(layout.data)[4:10] == (0x30, 0x30, 1, 0, 65536, ELF_LOGFILE_HEADER_DIRTY)
    assert_dissect_reads(layout, records)


def test_dirty_log_chunk_scrape_path() -> None:
    """dissect.target's ``scraped_evt`` feeds every "LfLe" hit to ``evt.parse_chunk``; do that on the file."""
    records = patch_night()
    data = build_evt(records, dirty_after=2)
    found = []
    pos = data.find(b"LfLe")
    while pos != -1:
        found.extend(devt.parse_chunk(data[pos - 4:pos - 4 + 0x10000]))
        pos = data.find(b"LfLe", pos + 1)
    assert [r.RecordNumber for r in found] == list(range(1, len(records) + 1))
    for rec in found:
        assert_matches(rec, records[rec.RecordNumber - 1], rec.RecordNumber)


def test_dirty_log_dissect_target_scrape(tmp_path: Path) -> None:
    target_mod = pytest.importorskip("dissect.target")
    from dissect.target.plugins.os.windows.log.evt import EvtPlugin

    records = patch_night()
    image = tmp_path / "disk.raw"
    image.write_bytes(b"\0" * 8192 + build_evt(records, dirty_after=5, max_size=16384) + b"\0" * 8192)
    target = target_mod.Target.open(image)
    scraped = list(EvtPlugin(target).scraped_evt())
    assert [(r.SourceName, r.EventID, list(r.Strings)) for r in scraped] == [
        (r.source, r.event_id, list(r.strings)) for r in records
    ]


def test_dirty_log_libevt() -> None:
    pyevt = pytest.importorskip("pyevt")
    log = pyevt.file()
    log.open_file_object(io.BytesIO(build_evt(patch_night(), dirty_after=3)))
    assert sorted(libevt_records(log)) == list(range(1, 9))
    assert log.is_corrupted()  # libevt flags the stale header


# --- wrapped ring buffer ------------------------------------------------------------------------------------


def libevt_records(log: Any) -> dict[int, list[str]]:
    """Record number -> strings of libevt's records and recovered records.

    Values are copied out one record at a time: pyevt record objects must not be kept around (holding many
    of them crashed this pyevt build with a segmentation fault).
    """
    out: dict[int, list[str]] = {}
    getters = [(log.get_record, log.number_of_records),
               (log.get_recovered_record, log.number_of_recovered_records)]
    for get, count in getters:
        for index in range(count):
            try:
                rec = get(index)
                out.setdefault(rec.identifier, list(rec.strings))
            except OSError:  # a recovered fragment of an overwritten record
                continue
            finally:
                rec = None
    return out


def busy_log(count: int) -> list[EvtRecord]:
    """Many records of varying size so that the ring wraps, pads and splits."""
    base = patch_night()
    return [
        dataclasses.replace(
            base[i % len(base)],
            strings=base[i % len(base)].strings + ("x" * (i % 23),),
            time_generated=T0 + timedelta(seconds=30 * i),
            time_written=None,
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("dirty_after", [None, 180])
def test_wrapped_log(dirty_after: int | None) -> None:
    records = busy_log(200)
    layout = layout_evt(records, max_size=16384, wrap=True, dirty_after=dirty_after)
    flags = header_fields(layout.data)[9]
    assert flags & ELF_LOGFILE_HEADER_WRAP
    assert bool(flags & ELF_LOGFILE_HEADER_DIRTY) == (dirty_after is not None)
    assert layout.overwritten == tuple(range(1, layout.surviving[0]))
    assert layout.surviving[-1] == 200 and layout.split_records and not layout.eof_split
    assert_dissect_reads(layout, records)


def test_wrapped_log_libevt() -> None:
    pyevt = pytest.importorskip("pyevt")
    records = busy_log(200)
    layout = layout_evt(records, max_size=16384, wrap=True)
    log = pyevt.file()
    log.open_file_object(io.BytesIO(layout.data))
    got = libevt_records(log)
    # libevt stops its normal walk at the 0x27 wrap padding and returns the rest as "recovered" records;
    # together they hold every surviving record (plus intact leftovers of overwritten ones).
    assert set(layout.surviving) <= set(got)
    for number in layout.surviving:
        assert got[number] == list(records[number - 1].strings)


def test_wrap_with_split_eof_record() -> None:
    """The EOF record may itself straddle the end of the file (ReactOS/NT behaviour).

    libevt reads such a file; dissect.eventlog 3.11 cannot (it loops forever on the clean file and cannot
    find the floating EOF of the dirty one), which the scanner must survive.
    """
    records = [
        EvtRecord("EventLog", event_id(6005, "warning"), EVENTLOG_INFORMATION_TYPE,
                  data=b"\x55" * ((i * 48) % 400), time_generated=T0 + timedelta(minutes=i))
        for i in range(15)
    ]
    layout = layout_evt(records, max_size=4096, wrap=True)
    assert layout.eof_split and layout.eof.end_offset + 0x28 > 4096
    tail = 4096 - layout.eof.end_offset
    eof = layout.data[layout.eof.end_offset:] + layout.data[0x30:0x30 + 0x28 - tail]
    assert struct.unpack("<10I", eof)[1:5] == (0x11111111, 0x22222222, 0x33333333, 0x44444444)
    pyevt = pytest.importorskip("pyevt")
    log = pyevt.file()
    log.open_file_object(io.BytesIO(layout.data))
    assert [log.get_record(i).identifier for i in range(log.number_of_records)] == list(layout.surviving)
    try:
        got = read_dissect(layout.data, timeout=2)
    except (TimeoutError, ValueError, EOFError) as exc:
        pytest.xfail(f"dissect.eventlog cannot read a split EOF record: {exc!r}")
    assert [r.RecordNumber for r in got] == list(layout.surviving)


# --- a record torn by a crash -------------------------------------------------------------------------------


def record_is_valid(data: bytes, offset: int) -> bool:
    """What a validating reader checks: signature, and the trailing copy of Length equal to Length."""
    length, sig = struct.unpack_from("<I4s", data, offset)
    return sig == b"LfLe" and struct.unpack_from("<I", data, offset + length - 4)[0] == length


@pytest.mark.parametrize("dirty_after", [None, 2])
def test_torn_record_fails_validation_and_the_others_stay_intact(dirty_after: int | None) -> None:
    records = patch_night()
    clean = layout_evt(records, dirty_after=dirty_after)
    layout = layout_evt(records, dirty_after=dirty_after, torn=[4])
    assert layout.torn == (4,)
    offset = clean.record_offsets[4]
    length = struct.unpack_from("<I", clean.data, offset)[0]
    assert not record_is_valid(layout.data, offset)
    assert layout.data[offset:offset + 56] == clean.data[offset:offset + 56]  # the fixed header survives
    assert not any(layout.data[offset + length // 2 + 4:offset + length])  # its tail reads as zeros
    changed = [i for i in range(len(clean.data)) if clean.data[i] != layout.data[i]]
    assert offset + 56 <= changed[0] and changed[-1] < offset + length  # nothing outside the record
    for number, other in layout.record_offsets.items():
        assert record_is_valid(layout.data, other) == (number != 4)
    # dissect steps over it by its Length and reads every other record unchanged.
    got = read_dissect(layout.data)
    assert [r.RecordNumber for r in got] == list(layout.surviving)
    for rec in got:
        if rec.RecordNumber != 4:
            assert_matches(rec, records[rec.RecordNumber - 1], rec.RecordNumber)


def test_torn_record_libevt() -> None:
    pyevt = pytest.importorskip("pyevt")
    records = patch_night()
    log = pyevt.file()
    log.open_file_object(io.BytesIO(build_evt(records, torn=[4])))
    got = libevt_records(log)
    for number in range(1, len(records) + 1):
        if number != 4:
            assert got[number] == list(records[number - 1].strings)


def test_torn_record_must_be_in_the_file() -> None:
    with pytest.raises(ValueError, match="torn record 99"):
        layout_evt(patch_night(), torn=[99])
