"""Crash and traffic logs (Dr. Watson, IIS W3C, HTTPERR) and the WUA history, on the fixture images and on
lines made with the fixture factory's writers.

Expected values come from the scenarios' history (fixtures/scenarios/*.toml): crash times are the steps' UTC
instants, written in the image's local time by the factory and converted back here with the image's own
registry zone rule; traffic stops at the first worker-process failure (IIS 5: the scenario's ``outage``),
when HTTPERR starts (fixtures/README.md, "When the site stops answering").
"""

from __future__ import annotations

import io
import sys
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pytest
from dissect.target.filesystems.dir import DirectoryFilesystem

from fixtures.factory.scenario import IMAGES_DIR, SCENARIO_DIR
from fixtures.factory.textlogs import DrWatsonEntry, StackFrame, drwatson_entry, drwtsn32_log
from fixtures.factory.textlogs.w3c import (
    HttpErrEntry,
    W3cRequest,
    W3cSegment,
    httperr_log,
    iis_w3c_log,
)
from fixtures.factory.timezones import ZONES
from scanner.collectors.hive import open_hive, read_hive_files
from scanner.collectors.logs.drwatson import parse_drwatson, read_drwatson
from scanner.collectors.logs.w3c import (
    MAX_LINE,
    W3cSummary,
    read_iis_logs,
    summarise_httperr,
    summarise_w3c,
)
from scanner.collectors.registry import Hive, system_facts
from scanner.collectors.wua import history_event, read_wua_history
from scanner.evidence.source import open_evidence
from scanner.formats.lines import read_lines
from scanner.model import TimeZoneFacts, TrafficDay


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@cache
def _system(image: str) -> tuple[Any, str, TimeZoneFacts | None]:
    """The system volume's file system, its Windows directory and the registry's time zone."""
    volume, fs = open_evidence(IMAGES_DIR / image).system_volume()
    windows_dir = str(volume.windows_dir)

    def hive(name: str) -> Hive:
        primary, logs = read_hive_files(fs, f"/{windows_dir}/system32/config/{name}")
        return Hive(open_hive(primary, logs, artifact=name).registry, name, "")

    facts, _ = system_facts(hive("SOFTWARE"), hive("SYSTEM"))
    return fs, windows_dir, facts.timezone


def _zone(name: str) -> TimeZoneFacts:
    z = ZONES[name]
    return TimeZoneFacts(z.key, z.standard_name, z.daylight_name, z.bias, 0, z.daylight_bias,
                         (0, *z.standard_start, 0, 0, 0), (0, *z.daylight_start, 0, 0, 0))


def _lines(data: bytes) -> list[str]:
    return data.decode("cp1252").splitlines(keepends=True)


# --- Dr. Watson on the images ---------------------------------------------------------------------------

DRWATSON_2000 = "Documents and Settings\\All Users\\Documents\\DrWatson\\drwtsn32.log"


def test_q281402_hotfix_before_sp_crashes_in_infocomm_at_utc() -> None:
    fs, windows_dir, tz = _system("q281402-win2000.E01")
    assert tz is not None and tz.key_name == "W. Europe Standard Time"
    events, gaps = read_drwatson(fs, windows_dir, tz)
    assert gaps == []
    assert [(e.at, e.subject, e.detail("fault_module"), e.detail("pid")) for e in events] == [
        (_utc("2008-02-13T14:31:12"), "inetinfo.exe", "infocomm.dll", "1144"),
        (_utc("2008-02-13T15:02:40"), "inetinfo.exe", "infocomm.dll", "1208"),
    ]
    first = events[0]
    assert (first.log, first.what, first.precision) == ("drwatson", "crash", "second")
    assert first.detail("local_time") == "2/13/2008 @ 15:31:12.000"  # CET = UTC+1
    assert first.detail("app") == "C:\\WINNT\\system32\\inetsrv\\inetinfo.exe"
    assert (first.detail("exception_code"), first.detail("exception")) == ("c0000005", "access violation")
    assert first.detail("fault_address") == "0x6b9c2a10" and first.detail("computer") == "INTRANET2K"
    assert (first.source.artifact, first.source.locator) == (DRWATSON_2000, "line 5")


def test_q281402_dll_put_back_crashes_in_isatq() -> None:
    fs, windows_dir, tz = _system("q281402-dll-put-back.raw.001")
    events, gaps = read_drwatson(fs, windows_dir, tz)
    assert gaps == []
    assert [(e.at, e.subject, e.detail("fault_module")) for e in events] == [
        (_utc("2006-06-20T14:20:31"), "inetinfo.exe", "isatq.dll"),
    ]
    assert events[0].detail("local_time") == "6/20/2006 @ 9:20:31.000"  # CDT under the pre-2007 US rule


# --- Dr. Watson on factory-written and hand-made logs ---------------------------------------------------


def _xp_entry(when: datetime, pid: int = 3120) -> DrWatsonEntry:
    return DrWatsonEntry(
        app="C:\\WINDOWS\\system32\\inetsrv\\w3wp.exe", pid=pid, when=when, exception_code=0xC00000FD,
        thread_id=0x1F0, fault_function="w3core!W3_CONTEXT::DoWork", fault_address=0x5A3B1C20,
        modules=((0x01000000, 0x01006000, "C:\\WINDOWS\\system32\\inetsrv\\w3wp.exe"),
                 (0x5A300000, 0x5A3F0000, "C:\\WINDOWS\\system32\\inetsrv\\w3core.dll")),
        stack=(StackFrame(0x0012FE90, 0x5A3B1C3D, "w3core!W3_CONTEXT::DoWork+0x1d"),),
    )


def test_xp_entry_names_the_module_from_the_faulting_function() -> None:
    tz = _zone("Eastern Standard Time")
    local = datetime(2009, 12, 9, 10, 55, 1, 250_000, tzinfo=ZONES["Eastern Standard Time"].tzinfo())
    events, gaps = parse_drwatson(_lines(drwtsn32_log([_xp_entry(local)], "xp")), "x\\drwtsn32.log", tz)
    assert gaps == []
    (event,) = events
    assert event.at == _utc("2009-12-09T15:55:01") and event.subject == "w3wp.exe"
    assert event.detail("fault_module") == "w3core.dll" and event.detail("fault_module_from") == "function"
    assert (event.detail("exception_code"), event.detail("exception")) == ("c00000fd", "stack overflow")
    assert event.detail("local_time") == "12/9/2009 @ 10:55:01.250"


def test_truncated_and_malformed_entries_are_counted() -> None:
    tz = _zone("Eastern Standard Time")
    when = datetime(2009, 12, 9, 10, 55, 1, tzinfo=ZONES["Eastern Standard Time"].tzinfo())
    good = drwtsn32_log([_xp_entry(when)], "xp").decode("cp1252")
    broken = good.replace("When: 12/9/2009", "When: 13/45/2009")  # no such date: malformed
    cut = good[: good.index("*----> Stack Back Trace")] + "\x00" * 300  # the server died mid-write
    events, gaps = parse_drwatson(io.StringIO(good + broken + cut), "x\\drwtsn32.log", tz)
    assert [e.detail("truncated") for e in events] == [None, "entry ends before its stack back trace"]
    assert events[1].detail("fault_module") == "w3core.dll"  # the FAULT line was written before the cut
    reasons = [g.reason for g in gaps]
    assert any(r.startswith("1 Dr. Watson entry skipped as malformed") for r in reasons), reasons
    assert any(r.startswith("1 Dr. Watson entry cut short") for r in reasons), reasons
    assert any("NUL" in r for r in reasons), reasons


def test_nt4_entry_naming_the_symbol_file() -> None:
    """Shape of an NT4 entry quoted in an Exchange KB article (IIS/OWA access violation, 1998)."""
    lines = ["Application exception occurred:", "     App: exe\\inetinfo.dbg (pid=152)",
             "     When: 9/3/1998 @ 11:37:55.310", "     Exception number: c0000005 (access violation)", "",
             "State Dump for Thread Id 0xa2", "", "function: <nosymbols>",
             "FAULT ->77f6b5a4 8b06  mov eax,[esi]", "", "*----> Stack Back Trace <----*",
             "FramePtr ReturnAd Param#1  Param#2  Param#3  Param#4  Function Name",
             "0012FE90 6B9C2A2D 00000000 00000000 00000000 00000000 NTDLL!RtlpWaitForCriticalSection+0x1d"]
    (event,), gaps = parse_drwatson(lines, "WINNT\\Drwtsn32.log", _zone("Eastern Standard Time"))
    assert gaps == []
    assert (event.subject, event.detail("app"), event.at) == ("inetinfo.exe", "exe\\inetinfo.dbg",
                                                              _utc("1998-09-03T15:37:55"))
    assert (event.detail("fault_module"), event.detail("fault_module_from")) == ("NTDLL", "stack back trace")


def test_every_generation_location_is_read(tmp_path: Path) -> None:
    when = datetime(2001, 5, 2, 8, 7, 6, tzinfo=UTC)
    xp_log = "Documents and Settings/All Users/Application Data/Microsoft/Dr Watson/drwtsn32.log"
    variants: tuple[tuple[str, Literal["nt4", "2003"]], ...] = (
        ("WINNT/Drwtsn32.log", "nt4"), (xp_log, "2003"))
    for rel, variant in variants:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(drwatson_entry(app="C:\\WINNT\\system32\\inetsrv\\inetinfo.exe", pid=77, when=when,
                                        exception="c0000005", module="w3svc.dll", computer="NT4BOX",
                                        os_variant=variant))
    events, gaps = read_drwatson(DirectoryFilesystem(tmp_path), "WINNT", None)
    assert gaps == []
    assert [(e.source.artifact, e.at, e.detail("fault_module")) for e in events] == [
        ("WINNT\\Drwtsn32.log", when, "w3svc.dll"),
        ("Documents and Settings\\All Users\\Application Data\\Microsoft\\Dr Watson\\drwtsn32.log", when,
         "w3svc.dll"),
    ]
    assert events[0].source.note.startswith("local time taken as UTC")


# --- W3C and HTTPERR on the images ----------------------------------------------------------------------


def _by_file(days: list[TrafficDay]) -> dict[tuple[str, str], TrafficDay]:
    return {(d.source.artifact.rsplit("\\", 1)[-1].lower(), f"{d.day:%Y-%m-%d}"): d for d in days}


def test_kb973917_traffic_brackets_the_outage() -> None:
    fs, windows_dir, _ = _system("kb973917-iis6.vhd")
    days, gaps = read_iis_logs(fs, windows_dir)
    by = _by_file(days)
    outage = _utc("2009-12-09T15:55:01")  # the first W3SVC 1009
    first_day = by[("ex091207.log", "2009-12-07")]
    assert first_day.software == "Microsoft Internet Information Services 6.0" and first_day.site == "W3SVC1"
    assert (first_day.first_request, first_day.last_request) == (_utc("2009-12-07T05:00:15"),
                                                                 _utc("2009-12-07T23:56:13"))
    second_day = by[("ex091208.log", "2009-12-08")]
    assert (second_day.first_request, second_day.last_request) == (_utc("2009-12-08T00:02:40"),
                                                                   _utc("2009-12-08T23:59:20"))
    last_day = by[("ex091209.log", "2009-12-09")]
    assert last_day.last_success == last_day.last_request == _utc("2009-12-09T15:46:52")
    assert last_day.last_success < outage
    assert last_day.error_runs == ()  # the worker died: HTTP.sys answered, W3C logged nothing more
    assert last_day.source.artifact == "WINDOWS\\system32\\LogFiles\\W3SVC1\\ex091209.log"
    # The hard reset's half line running into NULs: one line skipped, counted, reported.
    assert last_day.skipped_lines == 1
    assert [(g.what, g.reason) for g in gaps] == [(
        last_day.source.artifact, "1 malformed line(s) skipped (first: line 471, NUL bytes (crash padding))")]
    err = by[("httperr1.log", "2009-12-09")]
    assert err.log == "httperr" and err.last_success is None
    (run,) = err.error_runs
    assert run.start == outage and run.start > last_day.last_success
    assert dict(run.statuses)[503] >= 1 and run.first_line.locator == "line 5"
    assert "AppOffline" in run.first_line.note and "s-queuename DefaultAppPool" in run.first_line.note
    assert run.first_line.artifact == "WINDOWS\\system32\\LogFiles\\HTTPERR\\httperr1.log"


def test_cbs_2008_reads_u_ex_logs_under_inetpub() -> None:
    fs, windows_dir, _ = _system("cbs-2008-iis7.qcow2")
    days, gaps = read_iis_logs(fs, windows_dir)
    assert gaps == []
    w3c = [d for d in days if d.log == "w3c"]
    assert [d.source.artifact for d in w3c] == [
        f"inetpub\\logs\\LogFiles\\W3SVC1\\u_ex11030{n}.log" for n in (7, 8, 9)]
    assert {d.software for d in w3c} == {"Microsoft Internet Information Services 7.0"}
    last = w3c[-1]
    assert last.last_success == _utc("2011-03-09T02:40:12") and last.requests == 95
    (err,) = [d for d in days if d.log == "httperr"]
    assert err.error_runs[0].start == _utc("2011-03-09T02:41:10")  # the first WAS 5009


def test_iis5_logs_without_a_date_field_take_the_header_date() -> None:
    fs, windows_dir, _ = _system("q281402-win2000.E01")
    days, _ = read_iis_logs(fs, windows_dir)
    by = _by_file(days)
    day = by[("ex080213.log", "2008-02-13")]
    assert day.software == "Microsoft Internet Information Services 5.0"
    assert day.first_request == _utc("2008-02-13T00:07:24")
    assert day.last_success == day.last_request == _utc("2008-02-13T14:28:31")  # outage 14:31
    assert {d.log for d in days} == {"w3c"}  # Windows 2000 has no HTTP.sys, hence no HTTPERR


SCENARIO_IMAGES = {
    "kb973917-iis6": "kb973917-iis6.vhd",
    "q281402-hotfix-before-sp": "q281402-win2000.E01",
    "q281402-dll-put-back": "q281402-dll-put-back.raw.001",
    "cbs-2008-iis7-pending": "cbs-2008-iis7.qcow2",
    "healthy-2003-sp2": "healthy-2003-sp2.vmdk",
    "snapshot-iis-from-rtm-media": "snapshot-iis-rtm-child.avhd",  # through the legacy VHD chain reader
}


@pytest.mark.parametrize("scenario", sorted(SCENARIO_IMAGES))
def test_scenario_ground_truth(scenario: str) -> None:
    """Each scenario's declared last successful request, Dr. Watson crashes and damaged IIS logs."""
    expected = tomllib.loads((SCENARIO_DIR / f"{scenario}.toml").read_text(encoding="utf-8"))["expected"]
    fs, windows_dir, tz = _system(SCENARIO_IMAGES[scenario])
    days, gaps = read_iis_logs(fs, windows_dir)
    crashes, _ = read_drwatson(fs, windows_dir, tz)
    timeline = expected.get("timeline", [])
    for want in (t for t in timeline if t["kind"] == "traffic" and t.get("what") == "last-success"):
        got = max(d.last_success for d in days if d.log == "w3c" and d.site == want["subject"]
                  and d.last_success is not None)
        assert got == datetime.fromisoformat(want["at"]), want
    want_crashes = {(datetime.fromisoformat(t["at"]), t["subject"])
                    for t in timeline if t["kind"] == "crash" and "log" in t["sources"]}
    assert want_crashes <= {(e.at, e.subject) for e in crashes}
    for damage in expected.get("damage", []):
        if damage["kind"] == "malformed-lines" and "LogFiles" in damage["artifact"]:
            reasons = [g.reason for g in gaps if g.what == damage["artifact"]]
            assert [r.split(" ")[0] for r in reasons] == [str(damage["count"])], reasons


# --- W3C / HTTPERR units ---------------------------------------------------------------------------------


def _req(when: str, status: int, stem: str = "/") -> W3cRequest:
    return W3cRequest(when=_utc(when), c_ip="192.168.1.9", method="GET", uri_stem=stem, status=status,
                      user_agent="Mozilla/4.0 (compatible)")


def test_fields_directive_change_mid_file() -> None:
    """The header block repeats at each service start; the second one adds time-taken and drops s-sitename."""
    first = iis_w3c_log([W3cSegment(_utc("2009-12-09T08:00:00"), (_req("2009-12-09T08:00:05", 200),
                                                                  _req("2009-12-09T08:01:00", 500)))], "6.0")
    second = iis_w3c_log([W3cSegment(_utc("2009-12-09T09:00:00"), (_req("2009-12-09T09:00:07", 503),
                                                                   _req("2009-12-09T09:30:00", 304)))], "7.0")
    (day,) = summarise_w3c(_lines(first) + _lines(second), "ex091209.log", "W3SVC1")
    assert (day.requests, day.skipped_lines) == (4, 0)
    assert day.status_counts == ((200, 1), (304, 1), (500, 1), (503, 1))
    assert day.last_success == _utc("2009-12-09T09:30:00")
    assert day.first_request == _utc("2009-12-09T08:00:05")
    (run,) = day.error_runs  # 500 then (restart) 503: one run, no success between
    assert (run.start, run.end, run.count, run.statuses) == (
        _utc("2009-12-09T08:01:00"), _utc("2009-12-09T09:00:07"), 2, ((500, 1), (503, 1)))
    assert run.first_line.locator == "line 6"
    assert day.hourly == ((_utc("2009-12-09T08:00:00"), 2, 1), (_utc("2009-12-09T09:00:00"), 2, 1))
    assert day.software == "Microsoft Internet Information Services 6.0"


def test_error_runs_break_on_success_not_on_4xx_and_cross_midnight() -> None:
    reqs = [_req("2009-12-09T23:58:00", 200), _req("2009-12-09T23:59:00", 500),
            _req("2009-12-09T23:59:30", 404), _req("2009-12-10T00:00:10", 502),
            _req("2009-12-10T00:01:00", 302), _req("2009-12-10T00:02:00", 500)]
    log = iis_w3c_log([W3cSegment(reqs[0].when, tuple(reqs))], "6.0")
    day1, day2 = summarise_w3c(_lines(log), "a.log", "W3SVC1")
    assert [(r.start, r.end, r.count) for r in day1.error_runs] == [
        (_utc("2009-12-09T23:59:00"), _utc("2009-12-10T00:00:10"), 2)]
    assert [(r.start, r.count) for r in day2.error_runs] == [(_utc("2009-12-10T00:02:00"), 1)]
    assert day2.last_success == _utc("2009-12-10T00:01:00")


def test_nul_padded_tail_and_truncated_last_line_are_skipped_and_counted(tmp_path: Path) -> None:
    reqs = tuple(_req(f"2009-12-09T15:3{i}:00", 200) for i in range(5))
    log = iis_w3c_log([W3cSegment(reqs[0].when, reqs)], "6.0")
    half = log[: len(log) - 40]  # the last line cut in half by the hard reset...
    crashed = half + b"\x00" * 70_000  # ...then the NUL tail of the extended but never written clusters
    (day,) = summarise_w3c(_lines(crashed), "ex091209.log", "W3SVC1")
    assert (day.requests, day.skipped_lines, day.last_success) == (4, 1, _utc("2009-12-09T15:33:00"))
    # After a restart the header block follows the NULs on the same "line": it is still read.
    restarted = crashed + iis_w3c_log([W3cSegment(_utc("2009-12-09T16:00:00"),
                                                  (_req("2009-12-09T16:00:30", 200),))], "6.0")
    (day,) = summarise_w3c(_lines(restarted), "ex091209.log", "W3SVC1")
    assert (day.requests, day.skipped_lines, day.last_request) == (5, 1, _utc("2009-12-09T16:00:30"))
    # Through the file reader: same counts, and one gap naming the first bad line.
    site = tmp_path / "WINDOWS" / "system32" / "LogFiles" / "W3SVC1"
    site.mkdir(parents=True)
    (site / "ex091209.log").write_bytes(crashed)
    (site / "ex091210.log").write_bytes(b"")  # empty file: nothing, and no complaint
    days, gaps = read_iis_logs(DirectoryFilesystem(tmp_path), "WINDOWS")
    assert [(d.requests, d.skipped_lines) for d in days] == [(4, 1)]
    assert [(g.what, g.reason) for g in gaps] == [
        ("WINDOWS\\system32\\LogFiles\\W3SVC1\\ex091209.log",
         "1 malformed line(s) skipped (first: line 9, NUL bytes (crash padding))")]


def test_malformed_lines_are_counted_never_fatal() -> None:
    header = ["#Software: Microsoft Internet Information Services 6.0", "#Date: 2009-12-09 00:00:00",
              "#Fields: date time cs-uri-stem sc-status"]
    bad = ["2009-12-09 10:00:00 / 200 extra",  # wrong field count
           "2009-13-40 10:00:00 / 200",  # bad date
           "2009-12-09 25:00:00 / 200",  # bad time
           "2009-12-09 10:00:00 / OK",  # bad status
           "x" * (MAX_LINE + 5)]  # over-long
    summary = W3cSummary("a.log", "W3SVC1")
    summary.feed(["2009-12-09 09:00:00 / 200", *header, *bad, "2009-12-09 11:00:00 / 200"])
    (day,) = summary.days()
    assert (day.requests, day.skipped_lines, summary.skipped) == (1, 6, 6)
    assert summary.first_skipped == (1, "data line without a usable #Fields directive")
    assert summarise_w3c([], "empty.log", "W3SVC1") == []


def test_httperr_runs_keep_reason_and_queue_and_end_after_a_quiet_gap() -> None:
    def e(when: str, reason: str, status: int | None = 503, queue: str | None = "DefaultAppPool"
          ) -> HttpErrEntry:
        return HttpErrEntry(_utc(when), reason, "192.168.1.9", 40000, "10.0.0.10", 80, status=status,
                            queue=queue)

    log = httperr_log([e("2009-12-09T15:40:01", "Connection_Abandoned_By_AppPool", None),
                       e("2009-12-09T15:41:00", "Timer_ConnectionIdle", None, None),
                       e("2009-12-09T15:42:00", "AppOffline"), e("2009-12-09T15:50:00", "QueueFull"),
                       e("2009-12-09T18:00:00", "AppOffline", queue="IntranetPool")],
                      _utc("2009-12-09T15:40:01"))
    (day,) = summarise_httperr(_lines(log), "httperr1.log")
    assert (day.log, day.site, day.requests, day.status_counts) == ("httperr", "HTTPERR", 5, ((503, 3),))
    first, second = day.error_runs
    assert (first.start, first.end, first.count, first.statuses) == (
        _utc("2009-12-09T15:40:01"), _utc("2009-12-09T15:50:00"), 3, ((503, 2),))
    assert first.first_line.note == ("s-reason Connection_Abandoned_By_AppPool x1, AppOffline x1, "
                                     "QueueFull x1; s-queuename DefaultAppPool")
    assert second.first_line.note == "s-reason AppOffline x1; s-queuename IntranetPool"


def _generated(n: int) -> Iterator[str]:
    """``n`` IIS 6 lines over ~3.5 days; 10 consecutive 500s in every 1000 lines."""
    yield "#Software: Microsoft Internet Information Services 6.0\r\n"
    yield "#Version: 1.0\r\n"
    yield "#Date: 2009-12-07 00:00:00\r\n"
    yield ("#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
           "cs(User-Agent) sc-status sc-substatus sc-win32-status time-taken \r\n")
    for i in range(n):
        day, secs = divmod(i * 3 // 2, 86_400)
        status = 500 if i % 1000 >= 990 else 200
        yield (f"2009-12-{7 + day:02d} {secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d} "
               f"10.0.0.10 GET /default.aspx - 80 - 192.168.1.{i % 250} "
               f"Mozilla/4.0+(compatible;+MSIE+6.0;+Windows+NT+5.1) {status} 0 0 15\r\n")


def test_200k_lines_stream_in_bounded_memory() -> None:
    """Memory is O(days + runs): live allocations sampled while streaming grow with kept runs, not lines."""
    samples: list[int] = []

    def sampled(lines: Iterator[str]) -> Iterator[str]:
        for i, line in enumerate(lines):
            if i % 20_000 == 0:
                samples.append(sys.getallocatedblocks())
            yield line

    days = summarise_w3c(sampled(_generated(200_000)), "ex.log", "W3SVC1")
    assert len(samples) == 11  # all 200,004 lines pulled through once (work, not time: tests/bench)
    assert [f"{d.day:%d}" for d in days] == ["07", "08", "09", "10"]
    assert sum(d.requests for d in days) == 200_000
    assert sum(dict(d.status_counts).get(500, 0) for d in days) == 2_000
    runs = [r for d in days for r in d.error_runs]
    assert len(runs) == 200 and {r.count for r in runs} == {10}
    assert days[0].hourly[0] == (_utc("2009-12-07T00:00:00"), 2400, 20)  # lines 990-999, 1990-1999
    # ~10 live blocks per kept run (200 runs); per-line retention would add 180,000 blocks or more.
    assert samples[-1] - samples[1] < 4_000, samples


def test_line_reader_bounds_over_long_lines() -> None:
    """W3C logs go through the one bounded line reader (scanner/formats/lines.py): over-long lines are cut."""
    data = b"a\r\n" + b"\x00" * (3 * MAX_LINE) + b"\r\nb\r\n" + b"c" * (MAX_LINE + 10)
    lines = list(read_lines(io.BytesIO(data), max_line=MAX_LINE, chunk=4096))
    assert [(len(x.text), x.overlong) for x in lines] == [(1, False), (MAX_LINE + 1, True), (1, False),
                                                          (MAX_LINE + 1, True)]
    assert [x.number for x in lines] == [1, 2, 3, 4]
    assert lines[0].text == "a" and lines[2].text == "b"


# --- WUA DataStore ---------------------------------------------------------------------------------------


def test_missing_or_garbage_datastore_is_a_gap(tmp_path: Path) -> None:
    fs = DirectoryFilesystem(tmp_path)
    (tmp_path / "WINDOWS").mkdir()
    events, gaps = read_wua_history(fs, "WINDOWS")
    assert events == [] and [g.reason for g in gaps] == [
        "not found: no Windows Update Agent history (WUA never ran, or its store was reset)"]
    store = tmp_path / "WINDOWS" / "SoftwareDistribution" / "DataStore"
    store.mkdir(parents=True)
    for data in (b"", b"garbage " * 2048):
        (store / "DataStore.edb").write_bytes(data)
        events, gaps = read_wua_history(fs, "WINDOWS")
        assert events == [] and len(gaps) == 1
        assert gaps[0].what == "WINDOWS\\SoftwareDistribution\\DataStore\\DataStore.edb"
        assert gaps[0].reason.startswith("unreadable (opening the database)")


def test_history_record_mapping() -> None:
    """A record as dissect's wua_history plugin maps it (values from its own test of a real DataStore)."""
    record = {
        "ts": datetime(2024, 7, 13, 16, 49, 9, tzinfo=UTC), "id_event": 80, "status_id": 1,
        "status_mapped": "Success", "mapped_result": "0x0", "mapped_result_description": "Success",
        "update_id": "71156214-2cb8-4c44-b11c-3ec1a0366f55", "client_id": "UpdateOrchestrator",
        "server_id_mapped": "Windows Update", "classification_mapped": "DefinitionUpdates",
        "title": "Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 "
                 "(Version 1.415.74.0)",
    }
    event = history_event(record, "Windows\\SoftwareDistribution\\DataStore\\DataStore.edb", 1)
    assert event is not None
    assert (event.log, event.what, event.subject, event.at, event.precision) == (
        "wua", "install-end", "KB2267602", _utc("2024-07-13T16:49:09"), "second")
    assert event.detail("client") == "UpdateOrchestrator" and event.detail("result_code") == "0x0"
    assert event.source.locator == "tbHistory record 1 (IdEvent 80)"
    failed = history_event({**record, "status_mapped": "Failure", "title": "Update (KB973917)"}, "x", 2)
    assert failed is not None and (failed.what, failed.subject) == ("error", "KB973917")
    assert history_event({**record, "ts": None}, "x", 3) is None


@pytest.mark.parametrize("image", ["kb973917-iis6.vhd", "cbs-2008-iis7.qcow2"])
def test_images_without_a_datastore_report_a_gap(image: str) -> None:
    fs, windows_dir, _ = _system(image)
    events, gaps = read_wua_history(fs, windows_dir)
    assert events == [] and [g.reason.split(":")[0] for g in gaps] == ["not found"]


@pytest.mark.parametrize("header", ["#Date: 9999-12-31 00:00:00", "#Date: 9999-12-30 00:00:00"])
def test_dates_at_the_end_of_the_calendar_are_malformed_not_a_crash(header: str) -> None:
    """A hostile #Date near datetime.max, with the clock rolling past midnight (no date field): the lines
    past the last representable day are skipped as malformed, never an OverflowError."""
    lines = [
        "#Software: Microsoft Internet Information Services 5.0\n",
        f"{header}\n",
        "#Fields: time c-ip cs-method cs-uri-stem sc-status\n",
        "23:59:00 10.0.0.1 GET /a 200\n",
        "00:00:05 10.0.0.1 GET /b 500\n",  # midnight passed
        "00:00:06 10.0.0.1 GET /c 500\n",
    ]
    days = summarise_w3c(lines, "ex991231.log", "W3SVC1")
    assert all(d.day.year == 9999 for d in days)
    assert sum(d.requests for d in days) + sum(d.skipped_lines for d in days) <= 3
