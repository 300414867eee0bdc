"""Failure episodes, the noise floor, the trigger and the verdict text (issue 14 items 1, 2, 3, 8).

The timeline entries and traffic days are built with the literal shapes seen in real logs (the real-data
corpus is not committed; tests/real/test_real_episodes.py runs the same checks on the real files):

- real XP SysEvent.Evt (plaso): SCM 7031 ``['McAfee McShield', '1', '5000', '1', 'Restart the service']``;
- real 2008 R2 System.evtx (plaso): SCM 7023 ``['Windows Time', '%%1792']`` twice;
- real Windows 10 / Server 2022 boots: SCM 7023 of netprofm (display name "Network List Service");
- real plaso iis6.log: a day of 2xx/3xx/404 answers in 2013, then one ``500`` on 2015-10-16 13:01:02.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from scanner.diagnose.onset import find_onset, find_trigger, trigger_name
from scanner.diagnose.verdict import diagnose
from scanner.errors import ProfileError
from scanner.knowledge.components import load_components
from scanner.knowledge.episodes import load_episode_rules
from scanner.knowledge.profiles import load_knowledge
from scanner.model import (
    EPISODE_KIND,
    ErrorRun,
    FileState,
    Finding,
    FindingFile,
    Inventory,
    Provenance,
    RecordedFile,
    SystemFacts,
    TimelineEntry,
    TimelineSource,
    TrafficDay,
    UpdateRecord,
)
from scanner.model.versions import FileVersion
from scanner.timeline.episodes import find_episodes

UTC = timezone.utc
RULES = load_episode_rules()
KNOWLEDGE = load_knowledge()
ALL = tuple(load_components())
IIS5 = tuple(c for c in ALL if c.applies_to("5.0"))
IIS6 = tuple(c for c in ALL if c.applies_to("5.2"))
_record = iter(range(100, 100_000))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def entry(when: str, kind: str, subject: str, **extra: object) -> TimelineEntry:
    number = next(_record)
    source = TimelineSource(
        "event", at(when), "second", f"{subject}", Provenance("SysEvent.Evt", f"record {number}")
    )
    return TimelineEntry(at(when), "second", kind, subject, f"{kind} {subject}", (source,), **extra)  # type: ignore[arg-type]


def day(when: str, hourly: list[tuple[int, int, int]], runs: tuple[ErrorRun, ...] = ()) -> TrafficDay:
    """A W3C day: ``hourly`` as (hour, requests, 5xx)."""
    start = at(when)
    hours = tuple((start + timedelta(hours=h), n, x) for h, n, x in hourly)
    requests = sum(n for _, n, _ in hourly)
    errors = sum(x for _, _, x in hourly)
    statuses = ((200, requests - errors), (500, errors)) if errors else ((200, requests),)
    last_ok = start + timedelta(hours=hourly[-1][0], minutes=59) if requests > errors else None
    log = Provenance(f"WINDOWS\\system32\\LogFiles\\W3SVC1\\ex{start:%y%m%d}.log", f"lines 5-{requests + 4}")
    return TrafficDay(
        "w3c",
        "W3SVC1",
        start,
        requests,
        hours[0][0],
        hours[-1][0],
        last_ok,
        statuses,
        hours,
        runs,
        "Microsoft Internet Information Services 6.0",
        log,
    )


def run(start: str, count: int, minutes: int = 1) -> ErrorRun:
    first = Provenance("WINDOWS\\system32\\LogFiles\\W3SVC1\\ex.log", f"line {next(_record)}")
    return ErrorRun(at(start), at(start) + timedelta(minutes=minutes), count, ((500, count),), first)


def steady(first: str, days: int, requests: int = 30, errors: int = 0) -> list[TrafficDay]:
    return [
        day(f"{at(first) + timedelta(days=n):%Y-%m-%d}", [(h, requests, errors) for h in range(24)])
        for n in range(days)
    ]


# -- the noise floor ---------------------------------------------------------------------------------------


def test_unrelated_service_failures_are_context_never_an_episode() -> None:
    entries = [
        entry("2011-10-13 07:52:04", "service-failure", "McAfee McShield"),  # real XP 7031
        entry("2011-10-13 07:52:09", "service-failure", "McAfee McShield"),
        entry("2015-08-08 09:32:59", "service-failure", "Windows Time"),  # real 2008 R2 7023 × 2
        entry("2015-08-08 09:33:01", "service-failure", "Windows Time"),
        entry("2021-03-01 06:00:12", "service-failure", "Network List Service"),  # netprofm at boot
        entry("2021-03-01 06:10:00", "crash", "notepad.exe"),
    ]
    assert find_episodes(entries, [], IIS6, RULES) == []
    assert find_episodes(entries, [], ALL, RULES) == []  # no OS version: every component's names


def test_one_restart_or_one_application_error_of_iis_is_routine() -> None:
    assert (
        find_episodes(
            [entry("2009-12-09 15:55:01", "service-failure", "World Wide Web Publishing Service")],
            [],
            IIS6,
            RULES,
        )
        == []
    )
    assert find_episodes([entry("2009-12-09 15:55:01", "crash", "w3wp.exe")], [], IIS6, RULES) == []


def test_one_500_to_a_probe_years_after_the_last_good_request_is_no_episode() -> None:
    days = [
        day("2013-07-30", [(0, 11, 0)]),  # real iis6.log: 11 answers, 2xx/3xx/404
        day("2015-10-16", [(13, 1, 1)], (run("2015-10-16 13:01:02", 1, 0),)),
    ]
    assert find_episodes([], days, IIS6, RULES) == []


def test_a_site_that_always_answers_some_5xx_is_judged_against_itself() -> None:
    days = steady("2009-12-01", 8, requests=40, errors=10)  # 25 % every hour, every day
    assert find_episodes([], days, IIS6, RULES) == []


# -- episodes ----------------------------------------------------------------------------------------------


def test_iis5_inetinfo_crash_with_scm_restarts_is_an_episode_while_requests_still_succeed() -> None:
    entries = [
        entry("2006-06-20 14:20:31", "crash", "inetinfo.exe"),  # Dr. Watson
        entry("2006-06-20 14:20:33", "service-failure", "IIS Admin Service"),  # SCM 7031
        entry("2006-06-20 14:20:34", "service-failure", "World Wide Web Publishing Service"),
        entry("2006-06-20 14:20:35", "service-failure", "Fabrikam Publishing Agent"),  # not IIS: context
        entry("2006-06-21 09:02:10", "crash", "inetinfo.exe"),
        entry("2006-06-21 09:02:12", "service-failure", "IIS Admin Service"),
    ]
    episodes = find_episodes(entries, [], IIS5, RULES)
    assert len(episodes) == 1
    episode = episodes[0]
    assert (episode.kind, episode.subject, episode.components) == (EPISODE_KIND, "iis5", ("iis5",))
    assert (episode.at, episode.end) == (at("2006-06-20 14:20:31"), at("2006-06-21 09:02:12"))
    cited = {s.provenance.locator for s in episode.sources}
    assert {s.provenance.locator for e in entries[:3] for s in e.sources} <= cited
    assert entries[3].sources[0].provenance.locator not in cited  # the noise floor is not cited


def test_a_5xx_share_rise_while_200s_go_on_starts_at_the_first_5xx_of_the_first_failing_hour() -> None:
    days = steady("2010-03-01", 7)
    rising = [(h, 30, 0) for h in range(9)] + [(h, 30, 9) for h in range(9, 24)]  # 30 % from 09:00
    runs = tuple(run(f"2010-03-08 {h:02d}:{12 if h == 9 else 3:02d}:00", 1, 0) for h in range(9, 24))
    days.append(day("2010-03-08", rising, runs))
    episodes = find_episodes([], days, IIS6, RULES)
    assert len(episodes) == 1
    assert episodes[0].at == at("2010-03-08 09:12:00")
    assert episodes[0].components == ("iis6",)
    assert all(s.type == "traffic" for s in episodes[0].sources)


def test_rapid_fail_protection_alone_is_an_episode_and_a_dead_quiet_site_counts_by_its_runs() -> None:
    disabled = [entry("2009-12-09 15:58:26", "rapid-fail-disable", "DefaultAppPool")]
    assert len(find_episodes(disabled, [], IIS6, RULES)) == 1
    thin = [
        day(
            "2012-01-05",
            [(h, 4, 4) for h in range(3, 9)],
            (run("2012-01-05 03:10:00", 12, 170), run("2012-01-05 06:20:00", 12, 150)),
        )
    ]
    found = find_episodes([], thin, IIS6, RULES)
    assert [e.at for e in found] == [at("2012-01-05 03:10:00")]


def test_a_routine_daily_failure_rate_is_the_baseline_not_an_episode() -> None:
    base = [
        entry(f"2009-11-{d:02d} 03:00:00", "worker-process-failure", "DefaultAppPool")
        for d in range(1, 29, 3)
    ]
    burst = [
        entry(f"2009-12-01 10:{m:02d}:00", "worker-process-failure", "DefaultAppPool")
        for m in range(0, 50, 5)
    ]
    found = find_episodes(base + burst, [], IIS6, RULES)
    assert [e.at for e in found] == [at("2009-12-01 10:00:00")]


# -- onset, trigger, verdict -------------------------------------------------------------------------------


def _with_episodes(entries: list[TimelineEntry], components: tuple = IIS6) -> list[TimelineEntry]:  # type: ignore[type-arg]
    return sorted(entries + find_episodes(entries, [], components, RULES), key=lambda e: (e.at, e.kind))


def _inventory(
    version: str = "5.2", files: list[FileState] | None = None, updates: list[UpdateRecord] | None = None
) -> Inventory:
    system = SystemFacts(
        "Windows Server 2003", version, 3790, 2, "Service Pack 2", "x86", "WEB01", None, "WINDOWS", None
    )
    return Inventory({}, system, updates=updates or [], files=files or [])


FAILING = [
    entry("2009-12-09 15:55:01", "worker-process-failure", "DefaultAppPool"),
    entry("2009-12-09 15:55:42", "worker-process-failure", "DefaultAppPool"),
]


def test_trigger_needs_an_identity_and_prefers_the_change_touching_the_failing_component() -> None:
    w3core = FileState(
        "WINDOWS\\system32\\inetsrv\\w3core.dll",
        FileVersion(6, 0, 3790, 3959),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        component="iis6",
    )
    touching = UpdateRecord(
        "KB973917", "update", None, None, "installed", (RecordedFile("w3core.dll", "6.0.3790.4610"),)
    )
    other = UpdateRecord(
        "KB968389", "update", None, None, "installed", (RecordedFile("msv1_0.dll", "5.2.3790.4530"),)
    )
    inv = _inventory(files=[w3core], updates=[touching, other])
    entries = _with_episodes(
        [
            entry("2009-12-09 10:00:00", "update", "KB973917", update_ids=("KB973917",)),
            entry("2009-12-09 14:00:00", "update", "KB968389", update_ids=("KB968389",)),
            entry("2009-12-09 15:00:00", "service-pack", "Service Pack ?"),  # no number: no identity
            entry("2009-12-09 15:10:00", "update", "Update for Windows"),  # no KB: no identity
            *FAILING,
        ]
    )
    onset = find_onset(entries)
    assert onset is not None and onset.at == at("2009-12-09 15:55:01")
    trigger = find_trigger(entries, onset, inv)
    assert trigger is not None and trigger.subject == "KB973917"  # touches w3core.dll, though earlier
    assert find_trigger(entries, onset, _inventory()).subject == "KB968389"  # type: ignore[union-attr]


def test_a_service_pack_reinstall_is_named_by_its_number() -> None:
    sp = entry("2009-12-09 15:00:00", "service-pack", "Windows Server 2003 Service Pack 2", sp_level=2)
    entries = _with_episodes([sp, *FAILING])
    onset = find_onset(entries)
    assert onset is not None
    trigger = find_trigger(entries, onset, _inventory())
    assert trigger is sp and trigger_name(sp) == "Service Pack 2"
    verdict = diagnose(_inventory(), entries, [], KNOWLEDGE)
    assert verdict.trigger == "Service Pack 2"
    assert "started failing at 2009-12-09 15:55:01Z" in verdict.summary


def test_failures_without_a_servicing_cause_keep_their_onset() -> None:
    verdict = diagnose(_inventory(), _with_episodes(list(FAILING)), [], KNOWLEDGE)
    assert verdict.failure_onset == at("2009-12-09 15:55:01")
    assert verdict.trigger is None
    assert "has been failing since 2009-12-09 15:55:01Z" in verdict.summary
    assert "No servicing change explains it" in verdict.summary
    assert "No root cause found" not in verdict.summary


def test_no_root_cause_only_without_an_episode_and_isolated_failures_are_named_as_context() -> None:
    noise = [entry("2015-08-08 09:32:59", "service-failure", "Windows Time")]
    verdict = diagnose(_inventory(), _with_episodes(noise), [], KNOWLEDGE)
    assert verdict.failure_onset is None
    assert verdict.summary.startswith("No root cause found")
    assert "1 isolated failure record(s)" in verdict.summary


def test_an_intermittent_failure_says_requests_still_succeeded() -> None:
    success = TimelineEntry(
        at("2006-06-21 18:00:00"),
        "second",
        "traffic",
        "W3SVC1",
        "last success",
        (
            TimelineSource(
                "traffic", at("2006-06-21 18:00:00"), "second", "ok", Provenance("ex060621.log", "line 9")
            ),
        ),
        details=(("what", "last-success"),),
        traffic="last-success",
    )
    crash = [
        entry("2006-06-20 14:20:31", "crash", "inetinfo.exe"),
        entry("2006-06-20 14:20:34", "service-failure", "World Wide Web Publishing Service"),
    ]
    verdict = diagnose(_inventory("5.0"), _with_episodes(crash, IIS5) + [success], [], KNOWLEDGE)
    assert verdict.failure_onset == at("2006-06-20 14:20:31")
    assert verdict.last_good is None
    assert "the failure is intermittent" in verdict.summary


# -- knowledge ---------------------------------------------------------------------------------------------


def test_components_name_their_services_and_processes() -> None:
    iis5 = next(c for c in ALL if c.id == "iis5")
    assert {
        "w3svc",
        "world wide web publishing service",
        "iisadmin",
        "iis admin service",
    } <= iis5.service_names()
    assert "inetinfo.exe" in iis5.process_names()
    iis7 = next(c for c in ALL if c.id == "iis7")
    assert "windows process activation service" in iis7.service_names()
    assert "w3wp.exe" in iis7.process_names()


def test_episode_thresholds_are_checked_with_their_line(tmp_path: Path) -> None:
    (tmp_path / "episodes.toml").write_text('[join_hours]\nvalue = "48"\nwhy = "x"\n', encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_episode_rules(tmp_path)
    message = str(caught.value)
    assert "episodes.toml:2: 'value' in [join_hours] must be an integer" in message
    assert "is missing 'min_signals'" in message


def test_a_rise_that_begins_minutes_before_the_hour_it_fills_starts_at_its_first_error() -> None:
    """Sampled 2012 R2 case (seed 14, index 42): 2 × 500 at 09:57 (2 of 12 answers: under a fifth), then
    5 of 15 in the 10:00 hour: the rise began at 09:57, not at 10:08."""
    days = steady("2015-11-15", 7, requests=15)
    runs = (run("2015-11-22 09:57:00", 2), run("2015-11-22 10:08:41", 1, 0), run("2015-11-22 10:41:23", 2))
    days.append(day("2015-11-22", [(8, 15, 0), (9, 12, 2), (10, 15, 5), (11, 19, 5)], runs))
    found = find_episodes([], days, IIS6, RULES)
    assert [e.at for e in found] == [at("2015-11-22 09:57:00")]
    stray = (run("2015-11-22 09:02:00", 1, 0), *runs[1:])  # a 500 an hour before is not the same rise
    days[-1] = day("2015-11-22", [(8, 15, 0), (9, 12, 1), (10, 15, 5), (11, 19, 5)], stray)
    assert [e.at for e in find_episodes([], days, IIS6, RULES)] == [at("2015-11-22 10:08:41")]


def test_a_pending_update_whose_files_the_failure_touches_beats_a_later_install() -> None:
    """Sampled 2008 case (seed 14, index 3): KB4242498 waits for a reboot with isapi.dll queued (the
    reboot-pending finding names both), KB3729207 went in later: the failing iis7 points at the first."""
    pending = entry("2011-02-09 21:52:20", "package-state-change", "KB4242498", update_ids=("KB4242498",))
    later = entry("2011-02-09 22:11:20", "update", "KB3729207", update_ids=("KB3729207",))
    failing = [
        entry("2011-02-09 22:23:54", "worker-process-failure", "DefaultAppPool"),
        entry("2011-02-09 22:24:27", "worker-process-failure", "DefaultAppPool"),
    ]
    iis7 = tuple(c for c in ALL if c.applies_to("6.0"))
    entries = _with_episodes([pending, later, *failing], iis7)
    onset = find_onset(entries)
    assert onset is not None
    assert find_trigger(entries, onset, _inventory("6.0")) is later
    queued = Finding(
        "reboot-pending",
        "warning",
        "reboot pending",
        "KB4242498 waits",
        files=(FindingFile("Windows\\System32\\inetsrv\\isapi.dll", "7.0.6002.18005", component="iis7"),),
        updates=("KB4242498",),
    )
    assert find_trigger(entries, onset, _inventory("6.0"), [queued]) is pending


def test_a_rise_starts_in_the_elevated_hours_before_the_first_failing_one() -> None:
    """Sampled Windows 2000 case (seed 14, index 245): 4 of 27 answers 5xx at 03:00 and 04:00 (15 %, under a
    fifth) above a clean baseline, 15 of 27 at 05:00: the rise began at 03:34, the first 5xx of 03:00."""
    days = steady("2004-06-14", 7, requests=27)
    hourly = [(2, 27, 0), (3, 27, 4), (4, 27, 4), (5, 27, 15), (6, 28, 7)]
    runs = (run("2004-06-21 03:34:43", 1, 0), run("2004-06-21 03:50:10", 3), run("2004-06-21 04:12:00", 4))
    days.append(day("2004-06-21", hourly, (*runs, run("2004-06-21 05:00:17", 15, 50))))
    assert [e.at for e in find_episodes([], days, IIS6, RULES)] == [at("2004-06-21 03:34:43")]
