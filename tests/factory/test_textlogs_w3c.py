"""Tests for fixtures.factory.textlogs: W3C and HTTPERR logs (exact lines, round trips, traffic shapes) and
the facade calls simulate.py makes."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fixtures.factory.textlogs import (
    w3c,
)

PST = ZoneInfo("America/Los_Angeles")
T0 = datetime(2009, 12, 9, 3, 0, 12, 345000, tzinfo=PST)


def _lines(data: bytes, encoding: str = "cp1252") -> list[str]:
    text = data.decode(encoding)
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", ""), "bare LF"
    assert "\r" not in text.replace("\r\n", ""), "bare CR"
    return text[:-2].split("\r\n")



# --- W3C / HTTPERR --------------------------------------------------------------------------------------

def _parse_w3c(data: bytes, encoding: str) -> list[dict[str, str]]:
    """Tiny W3C reader: follows #Fields directives, splits data lines on spaces."""
    rows: list[dict[str, str]] = []
    fields: list[str] = []
    for line in data.decode(encoding).split("\r\n"):
        if not line:
            continue
        if line.startswith("#Fields: "):
            fields = line[len("#Fields: "):].split()
        elif not line.startswith("#"):
            values = line.split(" ")
            assert len(values) == len(fields), line
            rows.append(dict(zip(fields, values, strict=True)))
    return rows


DAY = datetime(2009, 12, 9, tzinfo=UTC)


def _day_segments() -> list[w3c.W3cSegment]:
    morning = w3c.generate_traffic(7, DAY + timedelta(hours=6), DAY + timedelta(hours=9), 40)
    evening = w3c.generate_traffic(8, DAY + timedelta(hours=10), DAY + timedelta(hours=12), 25)
    return [w3c.W3cSegment(morning[0].when, tuple(morning)),
            w3c.W3cSegment(DAY + timedelta(hours=10), tuple(evening))]  # service restarted at 10:00


@pytest.mark.parametrize(("version", "encoding"), [("6.0", "cp1252"), ("7.0", "utf-8"), ("5.0", "cp1252")])
def test_w3c_round_trip(version: str, encoding: str) -> None:
    segments = _day_segments()
    data = w3c.iis_w3c_log(segments, version)
    lines = _lines(data, encoding)
    assert lines[0] == f"#Software: Microsoft Internet Information Services {version}"
    assert lines.count("#Version: 1.0") == 2  # header repeated at service start
    rows = _parse_w3c(data, encoding)
    requests = [r for s in segments for r in s.requests]
    assert len(rows) == len(requests)
    for row, req in zip(rows, requests, strict=True):
        assert row["time"] == f"{req.when.astimezone(UTC):%H:%M:%S}"
        assert row["cs-uri-stem"] == req.uri_stem and int(row["sc-status"]) == req.status
        if version != "5.0":
            assert row["date"] == "2009-12-09" and row["cs-uri-query"] == (req.uri_query or "-")
            assert row["cs(User-Agent)"] == (req.user_agent or "").replace(" ", "+")
    fields_line = next(x for x in lines if x.startswith("#Fields: "))
    assert fields_line.endswith(" ") == (version == "6.0")
    if version == "7.0":
        assert "#Date: 2009-12-09 00:00:00" in lines


def test_w3c_header_date_and_local_input() -> None:
    r = w3c.W3cRequest(datetime(2009, 12, 8, 19, 0, 1, tzinfo=PST), "192.168.1.5", "GET", "/a b.htm", 200,
                       username="CORP\\jürgen")
    six = w3c.iis_w3c_log([w3c.W3cSegment(r.when, (r,))], "6.0")
    assert six.splitlines()[2] == b"#Date: 2009-12-09 03:00:01"  # UTC
    assert six.splitlines()[4] == (b"2009-12-09 03:00:01 W3SVC1 10.0.0.10 GET /a+b.htm - 80 CORP\\j\xfcrgen "
                                   b"192.168.1.5 - 200 0 0")
    seven = w3c.iis_w3c_log([w3c.W3cSegment(r.when, (r,))], "7.5")
    assert "CORP\\jürgen".encode() in seven
    assert w3c.w3c_log_name(DAY.date()) == "ex091209.log"
    assert w3c.w3c_log_name(DAY.date(), utf8=True) == "u_ex091209.log"


@pytest.mark.parametrize("version", ["6.0", "7.0"])
def test_w3c_reads_back_with_dissect(tmp_path: Path, version: str) -> None:
    from dissect.target import Target

    segments = _day_segments()
    path = tmp_path / w3c.w3c_log_name(DAY.date(), utf8=version == "7.0")
    path.write_bytes(w3c.iis_w3c_log(segments, version))
    records = list(Target.open_direct([path]).iis.logs())
    requests = [r for s in segments for r in s.requests]
    assert len(records) == len(requests)
    for rec, req in zip(records, requests, strict=True):
        assert rec.ts == req.when.astimezone(UTC).replace(microsecond=0)
        assert str(rec.client_ip) == req.c_ip and rec.request_path == req.uri_stem
        assert rec.service_status_code == str(req.status)


def test_traffic_generator_is_deterministic_and_realistic() -> None:
    start, end = DAY + timedelta(hours=8), DAY + timedelta(hours=18)
    a = w3c.generate_traffic(42, start, end, 500)
    assert a == w3c.generate_traffic(42, start, end, 500)
    assert a != w3c.generate_traffic(43, start, end, 500)
    seg = [w3c.W3cSegment(a[0].when, tuple(a))]
    assert w3c.iis_w3c_log(seg) == w3c.iis_w3c_log(seg)
    assert all(start <= r.when < end for r in a)
    assert [r.when for r in a] == sorted(r.when for r in a)
    statuses = Counter(r.status for r in a)
    assert (statuses[200] + statuses[304]) / len(a) > 0.8


def test_outage_and_httperr_log() -> None:
    start = DAY + timedelta(hours=13)
    reasons = ("AppOffline", "Connection_Abandoned_By_AppPool", "Timer_ConnectionIdle")
    errs = w3c.generate_outage(5, start, start + timedelta(minutes=30), 60, reasons=reasons)
    assert errs == w3c.generate_outage(5, start, start + timedelta(minutes=30), 60, reasons=reasons)
    assert {e.reason for e in errs} == set(reasons)
    data = w3c.httperr_log(errs, start)
    lines = _lines(data)
    assert lines[:2] == ["#Software: Microsoft HTTP API 1.0", "#Version: 1.0"]
    assert lines[3] == ("#Fields: date time c-ip c-port s-ip s-port cs-version cs-method cs-uri sc-status "
                        "s-siteid s-reason s-queuename")
    rows = _parse_w3c(data, "cp1252")
    for row, err in zip(rows, errs, strict=True):
        assert row["s-reason"] == err.reason
        if err.reason == "AppOffline":
            assert (row["sc-status"], row["s-siteid"], row["s-queuename"]) == ("503", "1", "DefaultAppPool")
        elif err.reason == "Connection_Abandoned_By_AppPool":
            assert row["sc-status"] == "-" and row["s-queuename"] == "DefaultAppPool"
        else:
            assert row["cs-version"] == row["cs-uri"] == row["s-queuename"] == "-"
    one = w3c.HttpErrEntry(start, "AppOffline", "10.0.0.5", 1234, "10.0.0.1", 80, uri="/default.aspx")
    assert _lines(w3c.httperr_log([one], start, "2.0"))[-1] == (
        "2009-12-09 13:00:00 10.0.0.5 1234 10.0.0.1 80 HTTP/1.1 GET /default.aspx 503 1 AppOffline "
        "DefaultAppPool")


# --- facade (the calls simulate.py makes) ---------------------------------------------------------------

def test_facade_calls_as_simulate_makes_them() -> None:
    import fixtures.factory.textlogs as textlogs

    t = datetime(2009, 12, 9, 3, 0, 12, tzinfo=PST)
    win = "C:\\WINDOWS"
    sp = _lines(textlogs.service_pack_log(
        sp_name="Windows Server 2003 Service Pack 2", started=t,
        replaced=[(f"{win}\\system32\\a.dll", "5.2.3790.3959"), (f"{win}\\system32\\b.dll", "5.2.3790.3959")],
        failed=[f"{win}\\system32\\b.dll"], success=True))
    assert sum("Copied file:" in x for x in sp) == 1
    registered = "Registering the Uninstall Program -> Windows Server 2003 Service Pack, 0"
    assert any(x.endswith(registered) for x in sp)

    files = [f"{win}\\system32\\inetsrv\\w3core.dll", f"{win}\\system32\\inetsrv\\asp.dll"]
    iis = _lines(textlogs.iis_setup_log(component="iis6", started=t, source="D:\\I386", files=files))
    assert "[12/9/2009 3:0:15] OC_INIT_COMPONENT:m_csPathSource=D:\\I386" in iis
    api = _lines(textlogs.setupapi_copy_section(started=t, inf="iis.inf", source="D:\\I386", files=files))
    assert api[0].startswith("[2009/12/09 03:00:12 ") and not api[0].startswith("[SetupAPI Log]")
    assert api[-1] == f'#-024 Copying file "D:\\I386\\asp.dl_" to "{win}\\system32\\inetsrv\\asp.dll".'
    assert textlogs.setupapi_header().startswith(b"[SetupAPI Log]\r\n")

    kb = _lines(textlogs.update_exe_log(package="KB973917", started=t, copied=[(files[0], "6.0.3790.4555")],
                                        success=True, reboot_required=True))
    assert kb[0].startswith("0.109: ====") and f"0.234: Copied file:  {files[0]}" in kb
    bad = _lines(textlogs.update_exe_log(package="KB973917", started=t, copied=[], success=False))
    assert "KB973917 installation did not complete." in [x.split(": ", 1)[1] for x in bad]

    wu = _lines(textlogs.windowsupdate_install(started=t, kb="KB973917", title="Security Update (KB973917)",
                                               tz_bias_minutes=-480, reboot=True))
    assert any("tz: -0800" in x for x in wu) and wu[-1].split("\t")[4] == "Report"

    dw = _lines(textlogs.drwatson_entry(app=f"{win}\\system32\\inetsrv\\inetinfo.exe", pid=1260, when=t,
                                        exception="c0000005", module="infocomm.dll", computer="WEB01",
                                        os_variant="2003"))
    assert "        Computer Name: WEB01" in dw and "        Current Build: 3790" in dw
    assert f"(000000006B9C0000 - 000000006B9EF000: {win}\\system32\\inetsrv\\infocomm.dll" in dw

    utc0 = datetime(2009, 12, 9, 22, 0, tzinfo=UTC)
    days = textlogs.w3c_traffic(start=utc0, end=utc0 + timedelta(hours=4), per_hour=30, seed=3,
                                iis_version="6.0", server_ip="10.1.2.20")
    assert [d.isoformat() for d in days] == ["2009-12-09", "2009-12-10"]
    assert sum(len(_parse_w3c(b, "cp1252")) for b in days.values()) == 120
    # Two worker deaths 41 s apart, then Rapid-Fail Protection: nothing before the first death, the held
    # requests abandoned at each death, 503 AppOffline from the disable on; the crash gap drops the rest.
    deaths = (utc0 + timedelta(minutes=5), utc0 + timedelta(minutes=5, seconds=41))
    disabled, end = utc0 + timedelta(minutes=6, seconds=22), utc0 + timedelta(minutes=30)
    crashed = [(utc0 + timedelta(minutes=20), utc0 + timedelta(hours=9))]
    entries = textlogs.httperr_pool_failure(deaths=deaths, disabled=disabled, end=end, per_hour=120, seed=3,
                                            server_ip="10.1.2.20", gaps=crashed)
    assert entries == textlogs.httperr_pool_failure(deaths=deaths, disabled=disabled, end=end, per_hour=120,
                                                    seed=3, server_ip="10.1.2.20", gaps=crashed)
    errs = _parse_w3c(textlogs.httperr_log(entries, entries[0].when), "cp1252")
    dropped = "Connection_Abandoned_By_AppPool"
    abandoned = [(e["time"], e["sc-status"]) for e in errs if e["s-reason"] == dropped]
    assert abandoned == [("22:05:00", "-")] * 3 + [("22:05:41", "-")] * 3
    offline = [e for e in errs if e["s-reason"] == "AppOffline"]
    assert len(errs) == len(abandoned) + len(offline) == 6 + 34
    assert {e["sc-status"] for e in offline} == {"503"}
    assert (offline[0]["time"], offline[-1]["time"]) == ("22:06:37", "22:19:55")
    assert {e["s-queuename"] for e in errs} == {"DefaultAppPool"}
    assert textlogs.httperr_pool_failure(deaths=deaths, disabled=None, end=utc0 + timedelta(hours=1),
                                         per_hour=120, seed=3)[-1].when < deaths[1] + timedelta(seconds=1)

    pkg = "Package_for_KB2500000~31bf3856ad364e35~x86~~6.0.1.0"
    pending = _lines(textlogs.cbs_package_change(when=t, identity=pkg, target_state="Install Pending",
                                                 target_code=0x60, client="WindowsUpdateAgent"), "ascii")
    assert any(x.endswith("Reboot mark set") for x in pending)
    assert pending[-1].endswith("Reboot required: yes [HRESULT = 0x00000000 - S_OK]")
    partial = _lines(textlogs.cbs_package_change(when=t, identity=pkg, target_state="Partially Installed",
                                                 target_code=0x65), "ascii")
    assert any("WER: Generating failure report" in x and "status: 0x800f0922" in x for x in partial)
