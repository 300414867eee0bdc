"""The failure onset, the trigger and the verdict text over failure episodes (issue 14 items 3 and 8).

Entries are built in the literal shapes real logs have (tests/scanner/timeline/episode_cases.py); the
episodes themselves are tested in tests/scanner/timeline/test_episodes.py.
"""

from __future__ import annotations

from scanner.diagnose.onset import find_onset, find_trigger, trigger_name
from scanner.diagnose.verdict import diagnose
from scanner.model import (
    FileState,
    Finding,
    FindingFile,
    Provenance,
    RecordedFile,
    TimelineEntry,
    TimelineSource,
    UpdateRecord,
)
from scanner.model.versions import FileVersion
from tests.scanner.timeline.episode_cases import (
    ALL,
    FAILING,
    IIS5,
    KNOWLEDGE,
    at,
    entry,
    inventory_of,
    with_episodes_of,
)


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
    inv = inventory_of(files=[w3core], updates=[touching, other])
    entries = with_episodes_of(
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
    assert find_trigger(entries, onset, inventory_of()).subject == "KB968389"  # type: ignore[union-attr]


def test_a_service_pack_reinstall_is_named_by_its_number() -> None:
    sp = entry("2009-12-09 15:00:00", "service-pack", "Windows Server 2003 Service Pack 2", sp_level=2)
    entries = with_episodes_of([sp, *FAILING])
    onset = find_onset(entries)
    assert onset is not None
    trigger = find_trigger(entries, onset, inventory_of())
    assert trigger is sp and trigger_name(sp) == "Service Pack 2"
    verdict = diagnose(inventory_of(), entries, [], KNOWLEDGE)
    assert verdict.trigger == "Service Pack 2"
    assert "started failing at 2009-12-09 15:55:01Z" in verdict.summary


def test_failures_without_a_servicing_cause_keep_their_onset() -> None:
    verdict = diagnose(inventory_of(), with_episodes_of(list(FAILING)), [], KNOWLEDGE)
    assert verdict.failure_onset == at("2009-12-09 15:55:01")
    assert verdict.trigger is None
    assert "has been failing since 2009-12-09 15:55:01Z" in verdict.summary
    assert "No servicing change explains it" in verdict.summary
    assert "No root cause found" not in verdict.summary


def test_no_root_cause_only_without_an_episode_and_isolated_failures_are_named_as_context() -> None:
    noise = [entry("2015-08-08 09:32:59", "service-failure", "Windows Time")]
    verdict = diagnose(inventory_of(), with_episodes_of(noise), [], KNOWLEDGE)
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
    verdict = diagnose(inventory_of("5.0"), with_episodes_of(crash, IIS5) + [success], [], KNOWLEDGE)
    assert verdict.failure_onset == at("2006-06-20 14:20:31")
    assert verdict.last_good is None
    assert "the failure is intermittent" in verdict.summary


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
    entries = with_episodes_of([pending, later, *failing], iis7)
    onset = find_onset(entries)
    assert onset is not None
    assert find_trigger(entries, onset, inventory_of("6.0")) is later
    queued = Finding(
        "reboot-pending",
        "warning",
        "reboot pending",
        "KB4242498 waits",
        files=(FindingFile("Windows\\System32\\inetsrv\\isapi.dll", "7.0.6002.18005", component="iis7"),),
        updates=("KB4242498",),
    )
    assert find_trigger(entries, onset, inventory_of("6.0"), [queued]) is pending
