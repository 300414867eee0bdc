"""Failure episodes and the noise floor (issue 14 items 1, 2); the onset, trigger and verdict text over them
are in tests/scanner/diagnose/test_onset.py.

The timeline entries and traffic days are built with the literal shapes seen in real logs (the real-data
corpus is not committed; tests/real/test_real_episodes.py runs the same checks on the real files):

- real XP SysEvent.Evt (plaso): SCM 7031 ``['McAfee McShield', '1', '5000', '1', 'Restart the service']``;
- real 2008 R2 System.evtx (plaso): SCM 7023 ``['Windows Time', '%%1792']`` twice;
- real Windows 10 / Server 2022 boots: SCM 7023 of netprofm (display name "Network List Service");
- real plaso iis6.log: a day of 2xx/3xx/404 answers in 2013, then one ``500`` on 2015-10-16 13:01:02.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.errors import ProfileError
from scanner.knowledge.episodes import load_episode_rules
from scanner.model import (
    EPISODE_KIND,
)
from scanner.timeline.episodes import find_episodes
from tests.scanner.timeline.episode_cases import (
    ALL,
    IIS5,
    IIS6,
    RULES,
    at,
    day,
    entry,
    run,
    steady,
)

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


def test_a_rise_starts_in_the_elevated_hours_before_the_first_failing_one() -> None:
    """Sampled Windows 2000 case (seed 14, index 245): 4 of 27 answers 5xx at 03:00 and 04:00 (15 %, under a
    fifth) above a clean baseline, 15 of 27 at 05:00: the rise began at 03:34, the first 5xx of 03:00."""
    days = steady("2004-06-14", 7, requests=27)
    hourly = [(2, 27, 0), (3, 27, 4), (4, 27, 4), (5, 27, 15), (6, 28, 7)]
    runs = (run("2004-06-21 03:34:43", 1, 0), run("2004-06-21 03:50:10", 3), run("2004-06-21 04:12:00", 4))
    days.append(day("2004-06-21", hourly, (*runs, run("2004-06-21 05:00:17", 15, 50))))
    assert [e.at for e in find_episodes([], days, IIS6, RULES)] == [at("2004-06-21 03:34:43")]
