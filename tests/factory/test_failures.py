"""The simulator's intermittent failure modes and routine noise, read back with independent readers.

Each test replays one small history (an existing scenario's install steps plus the feature), writes the
artefact bytes exactly as build.py does, and reads them with dissect.eventlog (``.evt``), python-evtx
(``.evtx``) or the scanner's own W3C collector — never with the writer's own structures.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dissect.eventlog import evt as devt

from fixtures.factory import evt as evtlib
from fixtures.factory import evtx as evtxlib
from fixtures.factory.scenario import SCENARIO_DIR, Scenario, Step, load_scenario
from fixtures.factory.sim_state import SystemState
from fixtures.factory.simulate import simulate
from scanner.collectors.logs.w3c import summarise_w3c

Evtx = pytest.importorskip("Evtx.Evtx")


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def case(base: str, *steps: Step, keep: tuple[str, ...] = ("os-install", "service-pack", "hotfix",
                                                            "cbs-package")) -> Scenario:
    sc = load_scenario(SCENARIO_DIR / f"{base}.toml")
    history = [s for s in sc.history if s.action in keep] + list(steps)
    return replace(sc, history=tuple(sorted(history, key=lambda s: s.at)))


def evt_records(state: SystemState, log: str) -> list[Any]:
    ordered = sorted(state.evt[log], key=lambda r: r.time_generated)
    return list(devt.Evt(io.BytesIO(evtlib.build_evt(ordered, max_size=512 * 1024))))


def evtx_xml(state: SystemState, channel: str, tmp_path: Any) -> list[str]:
    path = tmp_path / f"{channel}.evtx"
    ordered = sorted(state.evtx[channel], key=lambda r: r.time_created)
    path.write_bytes(evtxlib.build_evtx(ordered, channel=channel))
    with Evtx.Evtx(str(path)) as log:
        return [r.xml() for r in log.records()]


def w3c_day(state: SystemState, name: str) -> str:
    path = next(p for p in state.text_logs if p.endswith("\\" + name))
    return state.text_logs[path].decode("utf-8")


def requests_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


# -- IIS 5: inetinfo.exe crashes and restarts ----------------------------------------------------------------

IIS5_TRAFFIC = Step("traffic", t("2008-02-12T00:00:00"), {
    "until": t("2008-02-13T18:00:00"), "software": "5.0", "per_hour": 40, "seed": 5})


def test_iis5_crash_loop_restarts_the_service_and_the_site_answers_between() -> None:
    loop = Step("crash-loop", t("2008-02-13T12:00:00"), {
        "component": "iis5", "count": 3, "interval_minutes": 20, "module": "w3svc.dll"})
    state = simulate(case("q281402-hotfix-before-sp", IIS5_TRAFFIC, loop))
    system = evt_records(state, "System")
    scm = [(r.EventID & 0xFFFF, r.Strings) for r in system if r.SourceName == "Service Control Manager"]
    restart = ["60000", "1", "Restart the service"]
    assert scm == [(7031, ["IIS Admin Service", str(n), *restart]) for n in (1, 2, 3)]
    watson = [r.Strings for r in evt_records(state, "Application") if r.SourceName == "DrWatson"]
    assert [s[0] for s in watson] == ["inetinfo.exe"] * 3
    drwtsn = next(v for p, v in state.text_logs.items() if p.endswith("drwtsn32.log")).decode("cp1252")
    assert drwtsn.count("Application exception occurred:") == 3 and "w3svc.dll" in drwtsn
    day = w3c_day(state, "ex080213.log")
    # IIS writes its directives again at each service start: one block per restart, plus the file's first.
    assert day.count("#Fields: time c-ip cs-method cs-uri-stem sc-status") == 4
    times = [t("2008-02-13T" + line.split()[0]) for line in requests_of(day)]
    for crash in (t("2008-02-13T12:00:00") + timedelta(minutes=20 * i) for i in range(3)):
        assert not [x for x in times if crash <= x < crash + timedelta(seconds=60)]
    assert max(times) > t("2008-02-13T17:00:00")  # the site kept answering after the loop
    assert state.written.traffic[0].restarts == tuple(
        t("2008-02-13T12:01:00") + timedelta(minutes=20 * i) for i in range(3))
    assert state.written.onset == t("2008-02-13T12:00:00")


def test_iis5_crash_loop_without_restart_ends_in_7034_and_the_site_stops() -> None:
    loop = Step("crash-loop", t("2008-02-13T12:00:00"), {"component": "iis5", "count": 2, "restart": False})
    state = simulate(case("q281402-hotfix-before-sp", IIS5_TRAFFIC, loop))
    system = evt_records(state, "System")
    scm = [r.EventID & 0xFFFF for r in system if r.SourceName == "Service Control Manager"]
    assert scm == [7031, 7034]
    assert state.written.traffic[0].last_success is not None
    assert state.written.traffic[0].last_success < t("2008-02-13T12:10:00")


def test_iis5_drwatson_without_outage_is_a_pause_not_the_end() -> None:
    crash = Step("drwatson", t("2008-02-13T09:00:00"), {})
    state = simulate(case("q281402-hotfix-before-sp", IIS5_TRAFFIC, crash))
    truth = state.written.traffic[0]
    assert truth.restarts == (t("2008-02-13T09:01:00"),)
    assert truth.last_success is not None and truth.last_success > t("2008-02-13T17:00:00")


# -- IIS 6 / 7+: w3wp.exe crashes, the pool is not disabled ------------------------------------------------

def test_iis6_crash_loop_writes_application_error_and_1009_without_rapid_fail() -> None:
    traffic = Step("traffic", t("2009-12-08T00:00:00"), {"until": t("2009-12-09T18:00:00"), "seed": 9})
    loop = Step("crash-loop", t("2009-12-09T10:00:00"),
                {"component": "iis6", "count": 4, "interval_minutes": 30})
    state = simulate(case("kb973917-iis6", traffic, loop))
    apperr = [r for r in evt_records(state, "Application") if r.SourceName == "Application Error"]
    assert len(apperr) == 4
    assert apperr[0].EventCategory == 100 and len(apperr[0].Strings) == 5  # faultrep's XP/2003 layout
    assert apperr[0].Strings[0] == "w3wp.exe" and apperr[0].Strings[2] == "w3core.dll"
    assert re.fullmatch(r"[0-9a-f]{8}", apperr[0].Strings[4])
    w3svc = Counter(r.EventID & 0xFFFF for r in evt_records(state, "System") if r.SourceName == "W3SVC")
    assert w3svc == Counter({1009: 4})
    days = summarise_w3c(w3c_day(state, "ex091209.log").splitlines(), "ex091209.log", "W3SVC1")
    assert days[0].last_success is not None and days[0].last_success > t("2009-12-09T17:00:00")
    httperr = next(v for p, v in state.text_logs.items() if p.endswith("httperr1.log")).decode("cp1252")
    abandoned = [line for line in requests_of(httperr) if "Connection_Abandoned_By_AppPool" in line]
    assert 4 <= len(abandoned) <= 12 and "AppOffline" not in httperr


def test_iis85_crash_loop_and_noise_in_evtx(tmp_path: Any) -> None:
    steps = (
        Step("traffic", t("2014-11-17T00:00:00"), {"until": t("2014-11-19T08:00:00"), "software": "8.5",
                                                    "seed": 3}),
        Step("event", t("2014-11-17T06:00:00"), {"preset": "scm-7023"}),
        Step("event", t("2014-11-17T07:00:00"), {"preset": "app-error", "program": "backup.exe"}),
        Step("event", t("2014-11-17T07:00:02"), {"preset": "wer-1001", "program": "backup.exe"}),
        Step("event", t("2014-11-17T08:00:00"), {"preset": "scm-7034", "service": "Print Spooler"}),
        Step("event", t("2014-11-17T09:00:00"), {"log": "Setup", "source": "Microsoft-Windows-Servicing",
                                                  "event_id": 4, "strings": ["KB1"]}),
        Step("crash-loop", t("2014-11-18T12:00:00"),
             {"component": "iis85", "count": 3, "interval_minutes": 15, "restart": False}),
    )
    state = simulate(case("cbs-2012r2-dirty-hive", *steps))
    system = evtx_xml(state, "System", tmp_path)
    scm = [x for x in system if "Service Control Manager" in x]
    assert len(scm) == 2
    assert '<EventID Qualifiers="49152">7023</EventID>' in scm[0]
    assert '<Data Name="param1">Network List Service</Data>' in scm[0]
    assert '<Data Name="param2">%%1079</Data>' in scm[0]
    assert sum(">5009</EventID>" in x for x in system) == 3
    assert sum(">5002</EventID>" in x for x in system) == 1
    app = evtx_xml(state, "Application", tmp_path)
    errors = [x for x in app if "Application Error" in x]
    assert len(errors) == 4
    datas = re.findall(r"<Data>([^<]*)</Data>", errors[1])
    assert len(datas) == 13 and datas[0] == "w3wp.exe"
    assert datas[3] == "iiscore.dll" and datas[6] == "c0000005"
    wer = re.findall(r"<Data>([^<]*)</Data>", next(x for x in app if "Windows Error Reporting" in x))
    assert wer[2] == "APPCRASH" and wer[5] == "backup.exe"
    assert any("Microsoft-Windows-Servicing" in x for x in evtx_xml(state, "Setup", tmp_path))
    noise = [m for m in state.written.failures if m.noise]
    assert [m.subject for m in noise] == ["Network List Service", "backup.exe", "backup.exe", "Print Spooler"]
    assert state.written.onset == t("2014-11-18T12:00:00")
    # restart = false: the pool is disabled after the last crash, the W3C log stops, HTTP.sys answers 503.
    assert state.written.traffic[0].last_success is not None
    assert state.written.traffic[0].last_success < t("2014-11-18T12:31:00")


def test_nt5_presets_use_the_evt_layouts() -> None:
    steps = (Step("event", t("2009-12-08T06:00:00"), {"preset": "scm-7023"}),
             Step("event", t("2009-12-08T07:00:00"), {"preset": "app-error", "program": "sqlservr.exe"}))
    state = simulate(case("kb973917-iis6", *steps))
    scm = [r for r in evt_records(state, "System") if r.SourceName == "Service Control Manager"]
    assert [(r.EventID & 0xFFFF, r.Strings) for r in scm] == [(7023, ["Windows Time", "%%1792"])]
    assert (scm[0].EventID >> 30) == 3  # severity bits: error
    app = [r for r in evt_records(state, "Application") if r.SourceName == "Application Error"]
    assert len(app[0].Strings) == 5 and app[0].Strings[0] == "sqlservr.exe"
    with pytest.raises(ValueError, match="wer-1001"):
        simulate(case("kb973917-iis6", Step("event", t("2009-12-08T06:00:00"), {"preset": "wer-1001"})))


# -- traffic: a 5xx rise and a scanner's probes ------------------------------------------------------------

def test_error_share_answers_that_part_with_the_status_and_the_rest_succeeds() -> None:
    traffic = Step("traffic", t("2014-11-17T00:00:00"), {
        "until": t("2014-11-19T00:00:00"), "software": "8.5", "per_hour": 60, "seed": 11,
        "errors": [{"from": t("2014-11-18T00:00:00"), "share": 0.3, "status": 500, "substatus": 19}]})
    state = simulate(case("cbs-2012r2-dirty-hive", traffic))
    before = summarise_w3c(w3c_day(state, "u_ex141117.log").splitlines(), "a", "W3SVC1")[0]
    after = summarise_w3c(w3c_day(state, "u_ex141118.log").splitlines(), "b", "W3SVC1")[0]
    assert dict(before.status_counts).get(500, 0) == 0
    share = dict(after.status_counts)[500] / after.requests
    assert 0.22 < share < 0.38
    assert after.last_success is not None and after.last_success > t("2014-11-18T23:00:00")
    assert all(line.split()[10:12] == ["500", "19"] for line in requests_of(w3c_day(state, "u_ex141118.log"))
               if line.split()[10] == "500")
    truth = state.written.traffic[0]
    assert truth.injected_errors == dict(after.status_counts)[500]
    assert truth.first_injected_error is not None and truth.first_injected_error >= t("2014-11-18T00:00:00")
    assert simulate(case("cbs-2012r2-dirty-hive", traffic)).text_logs == state.text_logs  # deterministic


def test_a_probe_long_after_the_last_request_lands_in_the_log_of_its_day() -> None:
    traffic = Step("traffic", t("2014-11-17T00:00:00"), {
        "until": t("2014-11-17T12:00:00"), "software": "8.5", "seed": 4,
        "probes": [{"at": t("2014-11-19T07:42:10"), "status": 500, "path": "/cgi-bin/x.php"}]})
    state = simulate(case("cbs-2012r2-dirty-hive", traffic))
    lines = requests_of(w3c_day(state, "u_ex141119.log"))
    assert len(lines) == 1
    fields = lines[0].split()
    assert fields[:2] == ["2014-11-19", "07:42:10"] and fields[4] == "/cgi-bin/x.php" and fields[-4] == "500"
    assert state.written.traffic[0].probes_written == (t("2014-11-19T07:42:10"),)
    assert state.written.traffic[0].first_injected_error is None and state.written.onset is None


# -- ground truth ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["kb973917-iis6", "q281402-dll-put-back", "q281402-hotfix-before-sp",
                                  "cbs-2008-iis7-pending", "healthy-2003-sp2", "cbs-2012r2-dirty-hive"])
def test_the_onset_written_is_the_one_the_scenario_declares(name: str) -> None:
    sc = load_scenario(SCENARIO_DIR / f"{name}.toml")
    declared = str(sc.expected["diagnosis"]["failure_onset"])
    onset = simulate(sc).written.onset
    assert (onset.isoformat() if onset else "") == declared


def test_files_below_the_service_pack_and_pending_files_are_ground_truth() -> None:
    truth = simulate(load_scenario(SCENARIO_DIR / "kb973917-iis6.toml")).written
    assert sorted(p.rsplit("\\", 1)[-1] for p in truth.below_service_pack) == [
        "iisutil.dll", "iisw3adm.dll", "w3dt.dll", "w3tp.dll"]
    put_back = simulate(load_scenario(SCENARIO_DIR / "q281402-dll-put-back.toml")).written.below_service_pack
    assert all(origin.startswith("third-party:") for origin in put_back.values()) and len(put_back) == 2
    pending = simulate(load_scenario(SCENARIO_DIR / "cbs-2008-iis7-pending.toml")).written.pending_files
    assert pending == ["System32\\inetsrv\\iiscore.dll"]
