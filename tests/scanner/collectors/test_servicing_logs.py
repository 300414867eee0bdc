"""Servicing text logs (update.exe/svcpack, iis6/setupapi, WindowsUpdate.log, CBS.log) decoded into events.

The image tests compare the decoded events with each scenario's ``history`` (fixtures/scenarios/*.toml):
the fixture factory wrote the logs from those steps, in local time with Python's zoneinfo, while the scanner
converts back with the image's own registry rule - an independent check of both the parsing and the zone
handling. The unit tests parse bytes made with the factory's writers or written by hand.
"""

from __future__ import annotations

import codecs
import io
import json
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fixtures.factory.scenario import IMAGES_DIR, all_scenarios
from fixtures.factory.textlogs import (
    UpdateExeFailure,
    cbs_package_change,
    iis_setup_session,
    update_exe_log,
    windowsupdate_install,
)
from fixtures.factory.textlogs.setuplogs import iis_setup_log
from fixtures.factory.timezones import ZONES
from scanner.collectors.hive import open_hive, read_hive_files
from scanner.collectors.logs import MAX_LINE_CHARS, LogParse, read_servicing_logs
from scanner.collectors.logs.cbs import parse_cbs
from scanner.collectors.logs.setuplogs import parse_iis_setup, parse_setupapi
from scanner.collectors.logs.updateexe import parse_updateexe
from scanner.collectors.logs.windowsupdate import parse_windowsupdate
from scanner.collectors.registry import Hive, system_facts
from scanner.evidence.source import open_evidence
from scanner.model import Gap, LogEvent, TimeZoneFacts

UTC = timezone.utc
SCENARIOS = {s.id: s for s in all_scenarios()}
MANIFEST = json.loads((IMAGES_DIR / "MANIFEST.json").read_text())
IMAGES = {m["scenario"]: IMAGES_DIR / m["files"][0]["name"] for m in MANIFEST if m["role"] == "image"}
IMAGES["snapshot-iis-from-rtm-media"] = IMAGES_DIR / "snapshot-iis-rtm-child.avhd"  # our own chain reader
CBS_STATES = {0x70: "Installed", 0x60: "Install Pending", 0x40: "Staged"}


def _facts(name: str) -> TimeZoneFacts:
    z = ZONES[name]

    def rule(r: tuple[int, int, int, int]) -> tuple[int, ...]:
        return (0, r[0], r[1], r[2], r[3], 0, 0, 0)

    return TimeZoneFacts(z.key, z.standard_name, z.daylight_name, z.bias, 0, z.daylight_bias,
                         rule(z.standard_start), rule(z.daylight_start))


EASTERN = _facts("Eastern Standard Time")


@cache
def _image_logs(scenario: str) -> tuple[list[LogEvent], list[Gap]]:
    """The image's servicing-log events, converted with the time zone its own SYSTEM hive records."""
    volume, fs = open_evidence(IMAGES[scenario]).system_volume()
    wd = str(volume.windows_dir)
    primary, logs = read_hive_files(fs, f"/{wd}/system32/config/SYSTEM")
    artifact = f"{wd}\\system32\\config\\SYSTEM"
    facts, _ = system_facts(None, Hive(open_hive(primary, logs, artifact=artifact).registry, artifact))
    assert facts.timezone is not None
    return read_servicing_logs(fs, wd, facts.timezone)


def _find(events: list[LogEvent], log: str, what: str, subject: str | None = None) -> list[LogEvent]:
    return [e for e in events
            if e.log == log and e.what == what and (subject is None or e.subject == subject)]


def _session(events: list[LogEvent], start: LogEvent) -> list[LogEvent]:
    """The events of one update.exe session: from its install-start to its install-end, same file."""
    same = [e for e in events if e.source.artifact == start.source.artifact]
    first = same.index(start)
    end = next(i for i, e in enumerate(same) if i > first and e.what == "install-end")
    return same[first:end + 1]


# -- the committed images against their scenario histories ----------------------------------------------


@pytest.mark.parametrize("scenario", sorted(IMAGES))
def test_every_installer_step_of_the_history_is_in_the_logs(scenario: str) -> None:
    events, _ = _image_logs(scenario)
    assert events
    for e in events:
        assert e.source.artifact and e.source.locator.startswith("line ")
        assert e.at is None or (e.at.tzinfo is not None and e.precision == "second")
    history = SCENARIOS[scenario].history
    # Local-time logs written before a time-zone change are read with today's rule and land off by the
    # zones' difference (a conflict the timeline shows); only WindowsUpdate.log, whose banner carries the
    # offset, stays exact. So times are compared exactly only after the last change.
    changed = max((s.at for s in history if s.action == "timezone-change"), default=None)
    for step in history:
        exact = changed is None or step.at >= changed
        if step.action == "hotfix" and step.get("installer", "update.exe") == "update.exe":
            (start,) = _find(events, "update.exe", "install-start", step["id"])
            assert start.at == step.at or not exact, step["id"]
            if step.get("via") == "automatic-updates":
                wu = [e.at for e in _find(events, "windowsupdate", "install-start", step["id"])]
                second = timedelta(seconds=1)
                assert any(at is not None and timedelta(0) <= at - step.at < second for at in wu)
        elif step.action == "service-pack":
            starts = [e for e in _find(events, "svcpack", "install-start") if e.at == step.at or not exact]
            session = _session(events, starts[0])
            copied = {e.subject.lower() for e in session if e.what == "file-replaced" and e.subject}
            for skipped in step.get("skip_files", []):
                assert not any(c.endswith("\\" + skipped.lower()) for c in copied), skipped
            result = "incomplete" if step.get("result") == "incomplete" else "success"
            assert session[-1].detail("result") == result
        elif step.action == "component-install" and step["component"] in ("iis5", "iis6"):
            (oc,) = _find(events, "iis-setup", "component-install", step["component"])
            assert oc.at == step.at and oc.detail("source") == step.get("source", "D:\\I386")
            assert any(e.at == step.at for e in _find(events, "setupapi", "install-start"))
        elif step.action == "cbs-package":
            kb = step["identity"].split("~")[0].replace("Package_for_", "")
            states = [(e.at, e.detail("state")) for e in _find(events, "cbs", "package-state", kb)]
            assert (step.at, CBS_STATES[step["state"]]) in states


def test_kb973917_log_and_the_incomplete_sp2_install() -> None:
    events, gaps = _image_logs("kb973917-iis6")
    assert gaps == []
    (start,) = _find(events, "update.exe", "install-start", "KB973917")
    assert start.at == datetime(2009, 12, 9, 15, 40, tzinfo=UTC)  # 10:40 Eastern standard time
    assert start.detail("local_time") == "2009/12/09 10:40:00.000 (local)"
    assert start.source.artifact == "WINDOWS\\KB973917.log" and start.source.locator == "line 2"

    (sp2,) = _find(events, "svcpack", "install-start")
    assert sp2.at == datetime(2007, 6, 12, 2, 0, tzinfo=UTC)  # 22:00 EDT the evening before
    assert sp2.subject == "Windows Server 2003 Service Pack"
    session = _session(events, sp2)
    errors = [e for e in session if e.what == "error"]
    assert {e.detail("message") for e in errors} >= {"STR_CATALOG_INSTALL_FAILED", "extended error code"}
    assert "0xf01e" in {e.detail("code") for e in errors}
    copied = {e.detail("volume_path") for e in session if e.what == "file-replaced"}
    assert "WINDOWS\\system32\\inetsrv\\w3core.dll" in copied
    for dll in ("w3dt.dll", "iisutil.dll", "w3tp.dll", "iisw3adm.dll"):
        assert f"WINDOWS\\system32\\inetsrv\\{dll}" not in copied
    end = session[-1]
    assert (end.what, end.detail("result"), end.detail("code")) == ("install-end", "incomplete", "0xf01e")

    (wu,) = _find(events, "windowsupdate", "install-end", "KB973917")
    assert wu.at == datetime(2009, 12, 9, 15, 40, 45, 45000, tzinfo=UTC) and wu.detail("result") == "success"


def test_iis6_added_from_the_rtm_cd_after_sp2() -> None:
    events, _ = _image_logs("snapshot-iis-from-rtm-media")
    (oc,) = _find(events, "iis-setup", "component-install", "iis6")
    assert oc.at == datetime(2008, 3, 11, 22, 15, tzinfo=UTC)  # 15:15 Pacific daylight time
    assert (oc.detail("local_time"), oc.detail("source"), oc.detail("result")) == (
        "2008-03-11 15:15:00", "D:\\I386", "success")
    (sp2,) = _find(events, "svcpack", "install-start")
    assert sp2.at is not None and sp2.at < oc.at
    copies = {e.subject: e.detail("source") for e in _find(events, "setupapi", "file-replaced")}
    assert copies["C:\\WINDOWS\\system32\\inetsrv\\w3core.dll"] == "D:\\I386\\w3core.dl_"


def test_cbs_2008_package_left_install_pending_in_tokyo_time() -> None:
    events, _ = _image_logs("cbs-2008-iis7-pending")
    (state,) = _find(events, "cbs", "package-state", "KB2463332")
    assert state.at == datetime(2011, 3, 9, 2, 30, tzinfo=UTC)
    assert (state.detail("local_time"), state.detail("state"), state.detail("target_state")) == (
        "2011-03-09 11:30:00", "Install Pending", "Installed")
    assert state.detail("identity") == "Package_for_KB2463332~31bf3856ad364e35~amd64~~6.0.1.1"
    (reboot,) = _find(events, "cbs", "reboot-required")
    assert reboot.subject == "KB2463332"


# -- update.exe logs from the factory and by hand --------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
RULE = "=" * 80


def _parse_kb(data: bytes | list[str], tz: TimeZoneFacts | None = EASTERN, name: str = "KB973917.log",
              max_events: int | None = None) -> LogParse:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    return parse_updateexe(source, f"WINDOWS\\{name}", tz, max_events=max_events)


def _ansi(lines: list[str]) -> bytes:
    return "".join(line + "\r\n" for line in lines).encode("cp1252")


def test_comma_decimal_separator() -> None:
    lines = [f"0,109: {RULE}", "0,109: 2010/03/02 14:00:00.000 (local)",
             "1,297: [PatchFilesFromResponseBlob] returning STATUS_READY_TO_INSTALL",
             "1,313: KB979309 installation did not complete.",
             "1,313: Update.exe extended error code = 0xf201"]
    parsed = _parse_kb(_ansi(lines), _facts("W. Europe Standard Time"), "KB979309.log")
    start, incomplete, code, end = parsed.events
    assert start.at == datetime(2010, 3, 2, 13, 0, tzinfo=UTC)
    assert incomplete.at == datetime(2010, 3, 2, 13, 0, 1, 204000, tzinfo=UTC)
    assert incomplete.detail("message") == "installation did not complete"
    assert incomplete.subject == "KB979309"
    assert (code.detail("code"), code.detail("offset")) == ("0xf201", "1,313")
    assert (end.what, end.detail("result"), end.detail("code")) == ("install-end", "failed", "0xf201")
    # The factory's comma-separated log reads exactly like its dotted twin.
    started = datetime(2010, 3, 2, 14, 0, tzinfo=BERLIN)
    copied = [("C:\\WINDOWS\\system32\\inetsrv\\w3core.dll", "6.0.3790.4611")]
    dots = _parse_kb(update_exe_log("KB979309", started, copied=copied), _facts("W. Europe Standard Time"))
    commas = _parse_kb(update_exe_log("KB979309", started, copied=copied, decimal_sep=","),
                       _facts("W. Europe Standard Time"))
    assert [(e.what, e.at) for e in commas.events] == [(e.what, e.at) for e in dots.events]
    assert commas.malformed == 0 and len(commas.events) == 4


def test_several_sessions_each_restart_the_clock() -> None:
    first = datetime(2009, 12, 9, 10, 40, tzinfo=NEW_YORK)
    failure = UpdateExeFailure("Setup encountered an error and the update was not installed.", 0xF201)
    data = (update_exe_log("KB973917", first, failure=failure)
            + update_exe_log("KB973917", first + timedelta(hours=2),
                             copied=[("C:\\WINDOWS\\system32\\inetsrv\\w3core.dll", "6.0.3790.4611")]))
    events = _parse_kb(data).events
    starts = [e.at for e in events if e.what == "install-start"]
    assert starts == [datetime(2009, 12, 9, 15, 40, tzinfo=UTC), datetime(2009, 12, 9, 17, 40, tzinfo=UTC)]
    ends = [(e.detail("result"), e.detail("code")) for e in events if e.what == "install-end"]
    assert ends == [("failed", "0xf201"), ("success", "0x0")]
    (copied,) = [e for e in events if e.what == "file-replaced"]
    assert copied.at == datetime(2009, 12, 9, 17, 40, 0, 125000, tzinfo=UTC)
    assert copied.detail("volume_path") == "WINDOWS\\system32\\inetsrv\\w3core.dll"


def test_a_clock_restart_without_header_is_an_undated_session() -> None:
    lines = [f"0.109: {RULE}", "0.109: 2009/12/09 10:40:00.000 (local)", "5.000: Copied file:  C:\\a.dll",
             "0.120: Copied file:  C:\\b.dll", "0.200: Update.exe extended error code = 0x0"]
    events = _parse_kb(_ansi(lines)).events
    undated = [e for e in events if e.at is None]
    assert [(e.what, e.subject) for e in undated] == [
        ("file-replaced", "C:\\b.dll"), ("install-end", "KB973917")]
    assert all(e.precision is None and "time unknown" in e.source.note for e in undated)


def test_malformed_lines_are_counted_never_fatal() -> None:
    good = update_exe_log("KB973917", datetime(2009, 12, 9, 10, 40, tzinfo=NEW_YORK),
                          copied=[("C:\\WINDOWS\\system32\\inetsrv\\w3core.dll", "6.0.3790.4611")])
    lines = good.count(b"\n")
    data = good + b"0.3\r\n" + b"\x01\x02\xfe\xff garbage\r\n" + b"\x00" * 600  # NUL-padded tail, no CRLF
    parsed = _parse_kb(data)
    assert (parsed.lines, parsed.malformed, parsed.first_malformed) == (lines + 3, 3, lines + 1)
    (gap,) = parsed.gaps
    assert gap.what == "WINDOWS\\KB973917.log"
    assert gap.reason == f"3 malformed line(s) skipped (first: line {lines + 1})"
    assert gap.sources[0].locator == f"line {lines + 1}"
    assert [e.what for e in parsed.events] == [e.what for e in _parse_kb(good).events]
    assert parsed.events[-1].detail("result") == "success"


def test_utf16_and_utf8_bom_files_read_like_ansi() -> None:
    good = update_exe_log("KB973917", datetime(2009, 12, 9, 10, 40, tzinfo=NEW_YORK),
                          copied=[("C:\\WINDOWS\\system32\\inetsrv\\w3core.dll", "6.0.3790.4611")])
    text = good.decode("cp1252")
    expected = [e.to_dict() for e in _parse_kb(good).events]
    for data in (codecs.BOM_UTF16_LE + text.encode("utf-16-le"), text.encode("utf-16-le"),
                 codecs.BOM_UTF8 + text.encode("utf-8")):
        parsed = _parse_kb(data)
        assert [e.to_dict() for e in parsed.events] == expected and parsed.malformed == 0
    assert [e.to_dict() for e in _parse_kb(text.splitlines(keepends=True)).events] == expected


def test_a_line_longer_than_the_cap_is_skipped_and_the_rest_read() -> None:
    lines = [f"0.109: {RULE}", "0.109: 2009/12/09 10:40:00.000 (local)",
             "0.150: " + "x" * (MAX_LINE_CHARS + 10),
             "0.234: Copied file:  C:\\WINDOWS\\system32\\inetsrv\\w3core.dll",
             "0.281: Update.exe extended error code = 0x0"]
    for data in (_ansi(lines), codecs.BOM_UTF16_LE + "\r\n".join(lines).encode("utf-16-le")):
        parsed = _parse_kb(data)
        assert (parsed.malformed, parsed.first_malformed) == (1, 3)
        assert parsed.gaps[0].reason.endswith(f"1 longer than {MAX_LINE_CHARS} characters)")
        assert [e.what for e in parsed.events] == ["install-start", "file-replaced", "install-end"]


def test_dst_edges_use_the_images_rule() -> None:
    lines = [f"0.100: {RULE}", "0.100: 2009/03/08 01:59:30.000 (local)", "60.100: Copied file:  C:\\a.dll",
             "60.100: Update.exe extended error code = 0x0",
             f"0.100: {RULE}", "0.100: 2009/11/01 01:30:00.000 (local)"]
    events = _parse_kb(_ansi(lines)).events
    assert events[0].at == datetime(2009, 3, 8, 6, 59, 30, tzinfo=UTC)  # EST, 30 s before the spring jump
    # One minute later the clock read 03:00:30 EDT: the elapsed time is added in UTC, not on the wall clock.
    assert events[1].at == datetime(2009, 3, 8, 7, 0, 30, tzinfo=UTC)
    assert events[1].detail("local_time") == "2009/03/08 03:00:30.000"
    # 01:30 on the autumn day happened twice; the first (daylight) pass is chosen, as localtime documents.
    assert events[3].at == datetime(2009, 11, 1, 5, 30, tzinfo=UTC)


def test_event_cap() -> None:
    data = update_exe_log("KB973917", datetime(2009, 12, 9, 10, 40, tzinfo=NEW_YORK),
                          copied=[(f"C:\\WINDOWS\\system32\\f{i}.dll", "1.0.0.0") for i in range(10)])
    parsed = _parse_kb(data, max_events=3)
    assert len(parsed.events) == 3
    assert parsed.gaps[-1].reason == "10 further event(s) not kept (limit 3)"


def test_hostile_bytes_never_raise() -> None:
    junk = bytes(range(256)) * 64 + b"\n" * 3 + b"\xff\xfe" + bytes(range(256)) * 8
    for parse in (parse_updateexe, parse_iis_setup, parse_setupapi, parse_windowsupdate, parse_cbs):
        for data in (junk, codecs.BOM_UTF16_LE + junk):
            parsed = parse(io.BytesIO(data), "WINDOWS\\x.log", EASTERN)
            assert 0 < parsed.malformed <= parsed.lines and parsed.events == [], parse
        for data in (b"", b"\r\n\r\n"):
            empty = LogParse([], data.count(b"\n"), 0, None)
            assert parse(io.BytesIO(data), "WINDOWS\\x.log", EASTERN) == empty


def test_impossible_dates_and_numbers_are_malformed_not_fatal() -> None:
    kb = _parse_kb(_ansi([f"0.1: {RULE}", "0.1: 9999/12/31 23:59:59.999 (local)",
                          "999999999.999: Update.exe extended error code = 0123"]))
    assert kb.malformed == 1
    assert [(e.what, e.at) for e in kb.events] == [("error", None), ("install-end", None)]
    cases = [(parse_windowsupdate, "9999-12-31\t23:59:59:999\t   1\t1\tAgent\t  *   Title = (KB1234567)"),
             (parse_cbs, "0001-01-01 00:00:00, Info                  CBS    Reboot required: yes"),
             (parse_iis_setup, "[13/45/2009 99:99:99] OC_PREINITIALIZE:Start."),
             (parse_setupapi, "[9999/12/31 23:59:59 1.1]")]
    for parse, line in cases:
        parsed = parse([line], "WINDOWS\\x.log", EASTERN)
        assert (parsed.events, parsed.malformed) == ([], 1), parse


# -- setup logs ------------------------------------------------------------------------------------------


def test_iis_setup_failure_and_setupapi_errors() -> None:
    local = datetime(2008, 3, 11, 15, 15, tzinfo=ZoneInfo("America/Los_Angeles"))
    data = iis_setup_log(iis_setup_session(local, source_path="C:\\WINDOWS\\ServicePackFiles\\i386",
                                           register=("w3core.dll", "w3isapi.dll"), fail_dll="w3isapi.dll"))
    parsed = parse_iis_setup(io.BytesIO(data + b"[3/11/2008 15:1\r\n"), "WINDOWS\\iis6.log",
                             _facts("Pacific Standard Time"))
    oc = parsed.events[0]
    assert (oc.what, oc.subject, oc.at, oc.detail("result")) == (
        "component-install", "iis6", datetime(2008, 3, 11, 22, 15, tzinfo=UTC), "failed")
    assert oc.detail("source") == "C:\\WINDOWS\\ServicePackFiles\\i386"
    (error,) = [e for e in parsed.events if e.what == "error"]
    assert error.detail("file") == "C:\\WINDOWS\\system32\\inetsrv\\w3isapi.dll"
    assert parsed.malformed == 1

    lines = ["[SetupAPI Log]", "OS Version = 5.2.3790", "[2009/12/09 10:40:05 1520.7]",
             "#-198 Command line processed: C:\\WINDOWS\\system32\\sysocmgr.exe /y",
             '#-336 Copying file "D:\\I386\\w3core.dl_" to "C:\\WINDOWS\\system32\\inetsrv\\w3core.dll" via '
             'temporary file "C:\\WINDOWS\\system32\\inetsrv\\SET2A.tmp".',
             "#E361 An unsigned or incorrectly signed file will not be installed. "
             "Error 0x800b0100: No signature.",
             "[2009/12/09 10:4"]
    parsed = parse_setupapi(io.BytesIO(_ansi(lines)), "WINDOWS\\setupapi.log", EASTERN)
    start, copy, error, end = parsed.events
    assert (start.subject, start.at) == ("sysocmgr.exe", datetime(2009, 12, 9, 15, 40, 5, tzinfo=UTC))
    assert copy.detail("via_temp") == "C:\\WINDOWS\\system32\\inetsrv\\SET2A.tmp"
    assert (error.detail("id"), error.detail("code")) == ("E361", "0x800b0100")
    assert (end.detail("result"), end.detail("files_replaced")) == ("failed", "1")
    assert (parsed.malformed, parsed.first_malformed) == (1, 7)


# -- WindowsUpdate.log -----------------------------------------------------------------------------------


def test_windowsupdate_banner_offset_wins_over_a_different_registry_zone() -> None:
    started = datetime(2009, 12, 9, 10, 40, tzinfo=NEW_YORK)
    title = "Update for Windows Server 2003 (KB973917)"
    data = windowsupdate_install(started=started, kb="KB973917", title=title)
    pacific = _facts("Pacific Standard Time")
    parsed = parse_windowsupdate(io.BytesIO(data), "WINDOWS\\WindowsUpdate.log", pacific)
    (start,) = [e for e in parsed.events if e.what == "install-start"]
    assert start.at == datetime(2009, 12, 9, 15, 40, 0, 15000, tzinfo=UTC)  # not 18:40: banner says -0500
    assert "tz: -0500" in start.source.note and "registry rule gives -0800" in start.source.note
    (gap,) = parsed.gaps
    assert "tz: -0500" in gap.reason
    (end,) = [e for e in parsed.events if e.what == "install-end"]
    assert end.at == datetime(2009, 12, 9, 15, 40, 45, 45000, tzinfo=UTC) and end.subject == "KB973917"


def test_windowsupdate_follows_the_rule_across_dst_when_the_banner_agrees() -> None:
    head = "2009-03-08\t04:00:00:000\t 992\t810\tAgent\t"
    lines = ["2009-03-08\t01:00:00:000\t 992\t810\tMisc\t===========  Logging initialized (build: "
             "7.4.7600.226, tz: -0500)  ===========",
             head + "** START **  Agent: Installing updates [CallerId = AutomaticUpdates]",
             head + "  *   Title = Update for Windows Server 2003 (KB967715)",
             "2009-03-08\t04:00:0"]
    parsed = parse_windowsupdate(lines, "WINDOWS\\WindowsUpdate.log", EASTERN)
    (start,) = parsed.events
    assert (start.subject, start.at) == ("KB967715", datetime(2009, 3, 8, 8, 0, tzinfo=UTC))  # EDT by then
    assert "agrees with the agent's banner" in start.source.note
    assert (parsed.malformed, parsed.gaps[0].reason) == (1, "1 malformed line(s) skipped (first: line 4)")


# -- CBS.log ---------------------------------------------------------------------------------------------


def test_cbs_failure_report_errors_and_continuations() -> None:
    when = datetime(2011, 3, 9, 11, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    identity = "Package_for_KB2506212~31bf3856ad364e35~amd64~~6.0.1.0"
    data = cbs_package_change(when=when, identity=identity, target_state="Partially Installed",
                              target_code=0x65)
    extra = b"    continuation of a CSI payload\r\n2011-03-09 11:3\r\n"
    parsed = parse_cbs(io.BytesIO(data + extra), "Windows\\Logs\\CBS\\CBS.log", _facts("Tokyo Standard Time"))
    errors = [e for e in parsed.events if e.what == "error"]
    assert [(e.subject, e.detail("code"), e.detail("report") or e.detail("level")) for e in errors] == [
        ("KB2506212", "0x800f0922", "Error"), ("KB2506212", "0x800f0922", "WER")]
    wer = errors[1]
    assert (wer.detail("start_state"), wer.detail("target_state"), wer.detail("failure_source")) == (
        "Staged", "Installed", "Execute")
    assert wer.at == datetime(2011, 3, 9, 2, 30, tzinfo=UTC)
    (end,) = [e for e in parsed.events if e.what == "install-end"]
    assert (end.detail("result"), end.detail("code_name")) == ("failed", "CBS_E_INSTALLERS_FAILED")
    assert (parsed.malformed, parsed.first_malformed) == (1, data.count(b"\n") + 2)
    tokyo = _facts("Tokyo Standard Time")
    as_lines = parse_cbs(data.decode().splitlines(), "Windows\\Logs\\CBS\\CBS.log", tokyo)
    assert [e.to_dict() for e in as_lines.events] == [e.to_dict() for e in parsed.events]


def test_read_servicing_logs_on_a_directory_without_logs(tmp_path: Path) -> None:
    (tmp_path / "WINDOWS").mkdir()
    assert read_servicing_logs(tmp_path, "WINDOWS", EASTERN) == ([], [])
