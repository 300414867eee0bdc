"""Real event logs (plaso's test_data): our readers against independent ones on the same bytes.

* ``System.evtx`` / ``System2.evtx`` (Windows 7 / Server 2008 R2): every record as dissect.eventlog reads
  it (normalised where dissect is known wrong: tests/scanner/formats/evtx_dissect.py). ``System2.evtx``
  ends inside its third chunk: dissect and the Rust parser drop that chunk; we keep its whole records, which
  dissect reads too once the chunk is padded to its full size.
* ``SysEvent.Evt`` (XP): libevt (``pyevt``) sees 6,063 live records (1392..7454) and 438 recovered ones
  (1135..1572); the dirty header's next record number is 7430, so 25 records are newer than it and the
  257 recovered records numbered below the ring's oldest (1392) are older leftovers, not new.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from scanner.collectors.events import read_event_log
from scanner.formats.evtx import CHUNK, scan_evtx
from tests.scanner.formats.evtx_dissect import differences, dissect_records


@pytest.mark.parametrize("name", ["System.evtx", "System2.evtx"])
def test_evtx_records_equal_dissect(real_corpus: Path, name: str) -> None:
    data = (real_corpus / "plaso" / "evtx" / name).read_bytes()
    theirs = dissect_records(io.BytesIO(data))
    scan = scan_evtx(io.BytesIO(data), len(data))
    ours = {e.record_id: e for e in scan.events}
    assert differences(theirs, {n: e for n, e in ours.items() if n in theirs}) == []
    assert set(theirs) <= set(ours) and scan.corrupt_chunks == 0
    assert len(ours) == len(theirs) + (89 if name == "System2.evtx" else 0)


def test_evtx_cut_chunk_equals_python_evtx(real_corpus: Path, tmp_path: Path) -> None:
    """The chunk System2.evtx's end cuts short: dissect drops it (and, padded, stops silently at record
    216, a 4739 whose values are not valid UTF-16); python-evtx reads the padded chunk to its end but fails
    on 216 and renders the cut record 284 from the zero padding. Identity and time of every record it
    renders must agree with ours."""
    evtx = pytest.importorskip("Evtx.Evtx")
    data = (real_corpus / "plaso" / "evtx" / "System2.evtx").read_bytes()
    padded = tmp_path / "padded.evtx"
    padded.write_bytes(data + bytes(-(len(data) - 0x1000) % CHUNK))
    theirs, failed = {}, []
    with evtx.Evtx(str(padded)) as log:
        for record in log.records():
            try:
                xml = record.xml()
            except UnicodeDecodeError:  # 216: a 4739 whose values are not valid UTF-16
                failed.append(record.record_num())
                continue
            provider = re.search(r'<Provider Name="([^"]*)"', xml)
            theirs[record.record_num()] = (provider.group(1) if provider else "",
                                           int(re.search(r"<EventID[^>]*>(\d+)<", xml).group(1)),
                                           re.search(r'SystemTime="([^".]*)', xml).group(1))
    scan = scan_evtx(io.BytesIO(data), len(data))
    ours = {e.record_id: (e.provider, e.event_id, e.time_created.strftime("%Y-%m-%d %H:%M:%S"))
            for e in scan.events if e.chunk == 2 and e.time_created}
    assert failed == [216] and len(ours) == 89
    assert all(theirs[n] == v for n, v in ours.items() if n != 216)
    # 284 is cut by the file's end: python-evtx renders it from the padding, we count it corrupt.
    assert set(theirs) | {216} == set(ours) | set(range(1, 195)) | {284}


def test_evtx_truncated_chunk_and_boot_strings(real_corpus: Path) -> None:
    data = (real_corpus / "plaso" / "evtx" / "System2.evtx").read_bytes()
    result = read_event_log(io.BytesIO(data), "System2.evtx", "System")
    assert result.total == 283 and result.corrupt == 1  # 194 in whole chunks, 89 whole ones in the cut chunk
    assert [g.reason for g in result.gaps][0] == "file ends inside chunk 2 (truncated at 0x30d40)"
    system = read_event_log(io.BytesIO((real_corpus / "plaso" / "evtx" / "System.evtx").read_bytes()),
                            "System.evtx", "System")
    boots = {r.strings for r in system.records if r.provider == "EventLog" and r.event_id == 6009}
    assert boots == {("6.01.", "7601", "Service Pack 1", "Multiprocessor Free", "17514")}
    assert sum(1 for r in system.records if r.provider == "EventLog" and r.event_id == 6009) == 8


def test_evt_stale_header_counts_against_libevt(real_corpus: Path) -> None:
    pyevt = pytest.importorskip("pyevt")
    path = real_corpus / "plaso" / "SysEvent.Evt"
    log = pyevt.file()
    log.open(str(path))
    live = {log.get_record(i).identifier for i in range(log.number_of_records)}
    recovered = {log.get_recovered_record(i).identifier for i in range(log.number_of_recovered_records)}
    log.close()
    artifact = "WINDOWS\\system32\\config\\SysEvent.Evt"
    result = read_event_log(io.BytesIO(path.read_bytes()), artifact, "System")
    assert result.total == len(live | recovered) == 6320
    oldest, next_number = min(live), 7430
    assert result.past_header == sum(1 for n in live if n >= next_number) == 25
    assert result.leftover == sum(1 for n in recovered - live if n < oldest) == 257
    assert {r.record_number for r in result.records if r.past_stale_header} == set(range(7430, 7455))
    stale = [g.reason for g in result.gaps if "stale" in g.reason]
    assert stale == ["header of SysEvent.Evt is stale (DIRTY flag; its next record number is 7430 but 25 "
                     "newer records follow, up to 7454); 257 older records left over outside the live ring "
                     "(numbered below its oldest record 1392) were read too"]
