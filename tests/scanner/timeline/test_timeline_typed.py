"""The timeline decides on typed facts (issue 16): the clock a time was taken on, a claim's anchor, an event
reference, a traffic mark and a record's state - never on ``says``, ``note``, ``summary`` or ``details``.

Each test builds facts whose text says one thing and whose typed field another, and checks that the typed
field wins; the collector tests check that the collectors set those fields from what they parsed.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from fixtures.factory.textlogs import update_exe_log, windowsupdate_install
from fixtures.factory.timezones import ZONES
from scanner.collectors.logs.updateexe import parse_updateexe
from scanner.collectors.logs.windowsupdate import parse_windowsupdate
from scanner.knowledge.events import load_event_catalog
from scanner.model import (
    UNCONFIRMED_LOCAL,
    EventRecord,
    EventRef,
    Inventory,
    LogEvent,
    Provenance,
    SoftwareInstall,
    SourceTime,
    TimelineEntry,
    TimelineSource,
    TimeZoneFacts,
    TrafficDay,
    UpdateRecord,
)
from scanner.model.localtime import zone_clock, zone_note
from scanner.repro.plan import _provider
from scanner.timeline.fuse import fuse
from scanner.timeline.observe import from_inventory
from scanner.timeline.observe_events import from_events
from scanner.timeline.observe_logs import from_logs
from scanner.timeline.observe_traffic import from_traffic

UTC = timezone.utc
SOFTWARE = "WINDOWS\\system32\\config\\SOFTWARE"
RULE_NOTE = "local time converted with the image's time zone (Eastern Standard Time)"


def _facts(name: str) -> TimeZoneFacts:
    z = ZONES[name]

    def rule(r: tuple[int, int, int, int]) -> tuple[int, ...]:
        return (0, r[0], r[1], r[2], r[3], 0, 0, 0)

    return TimeZoneFacts(
        z.key, z.standard_name, z.daylight_name, z.bias, 0, z.daylight_bias,
        rule(z.standard_start), rule(z.daylight_start),
    )


EASTERN = _facts("Eastern Standard Time")


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _log_event(note: str, clock: str) -> LogEvent:
    return LogEvent(
        "update.exe", "install-start", t("2009-12-09 15:40:00"), "second", "KB973917", "header",
        source=Provenance("WINDOWS\\KB973917.log", "line 1", note), clock=clock,  # type: ignore[arg-type]
    )


# -- the clock ---------------------------------------------------------------------------------------------


def test_zone_clock_names_the_rule_or_its_absence() -> None:
    assert (zone_clock(EASTERN), zone_clock(None)) == ("zone-rule", "no-zone")
    assert UNCONFIRMED_LOCAL == {"zone-rule", "no-zone"}
    assert zone_note(EASTERN) == RULE_NOTE  # the note still says it, for people


def test_a_local_clock_comes_from_the_typed_clock_never_from_the_note() -> None:
    (by_note,) = from_logs([_log_event(RULE_NOTE, "utc")])
    (by_clock,) = from_logs([_log_event("", "zone-rule")])
    (no_zone,) = from_logs([_log_event("", "no-zone")])
    (confirmed,) = from_logs([_log_event(RULE_NOTE + "; agrees with the banner", "zone-confirmed")])
    assert [o.local_clock for o in (by_note, by_clock, no_zone, confirmed)] == [False, True, True, False]
    assert by_clock.source.clock == "zone-rule" and by_clock.log_what == "install-start"


def test_update_exe_times_are_on_the_zone_rule() -> None:
    data = update_exe_log("KB973917", datetime(2009, 12, 9, 10, 40, tzinfo=timezone(timedelta(hours=-5))))
    parsed = parse_updateexe(io.BytesIO(data), "WINDOWS\\KB973917.log", EASTERN)
    timed = [e for e in parsed.events if e.at is not None]
    assert timed and {e.clock for e in timed} == {"zone-rule"}
    parsed = parse_updateexe(io.BytesIO(data), "WINDOWS\\KB973917.log", None)
    assert {e.clock for e in parsed.events if e.at is not None} == {"no-zone"}


def test_windowsupdate_clock_says_whose_offset_converted_it() -> None:
    started = datetime(2009, 12, 9, 10, 40, tzinfo=timezone(timedelta(hours=-5)))
    title = "Update for Windows Server 2003 (KB973917)"
    data = windowsupdate_install(started=started, kb="KB973917", title=title)
    agreeing = parse_windowsupdate(io.BytesIO(data), "WINDOWS\\WindowsUpdate.log", EASTERN)
    (start,) = [e for e in agreeing.events if e.what == "install-start"]
    assert start.clock == "zone-confirmed"
    pacific_tz = _facts("Pacific Standard Time")
    pacific = parse_windowsupdate(io.BytesIO(data), "WINDOWS\\WindowsUpdate.log", pacific_tz)
    (start,) = [e for e in pacific.events if e.what == "install-start"]
    assert start.clock == "log-offset"  # the agent banner's -0500, not the registry's Pacific rule
    (end,) = [e for e in pacific.events if e.what == "install-end"]
    assert end.clock == "utc"  # a report line stamped with its own offset


# -- anchors -----------------------------------------------------------------------------------------------


def _update(*times: SourceTime) -> Inventory:
    record = UpdateRecord("KB973917", "hotfix", times[0].at, times[0].precision, "installed", times=times)
    return Inventory({}, None, updates=[record])


def test_a_registry_claim_anchors_by_its_typed_flag_not_its_text() -> None:
    prov = Provenance(SOFTWARE, "Component Based Servicing\\Packages\\X")
    worded = SourceTime(t("2009-12-09 15:40:00"), "second", "InstallTimeHigh/Low", prov)
    flagged = SourceTime(t("2009-12-09 15:41:00"), "second", "recorded install time", prov, anchor=True)
    assert [o.anchor for o in from_inventory(_update(worded, flagged))] == [False, True]


def test_a_software_install_folder_anchors_by_its_typed_flag() -> None:
    says = "install folder C:\\App created"
    folder = SourceTime(t("2009-12-09 15:40:00"), "second", says, Provenance("App"))
    typed = SourceTime(t("2009-12-09 15:40:00"), "second", "created", Provenance("App"), anchor=True)
    apps = [SoftwareInstall("App", None, None, None, None, None, times=(folder, typed))]
    assert [o.anchor for o in from_inventory(Inventory({}, None, software=apps))] == [False, True]


def test_a_registry_local_date_keeps_its_clock_on_the_timeline_source() -> None:
    day = SourceTime(t("2009-12-09 05:00:00"), "day", "Installed On = 12/9/2009 (local date)",
                     Provenance(SOFTWARE, "Hotfix\\KB973917\\Installed On"), clock="zone-rule")
    (obs,) = from_inventory(_update(day))
    assert obs.source.clock == "zone-rule" and obs.record_state == "installed"


# -- event references, traffic marks -----------------------------------------------------------------------


def test_an_event_source_carries_its_record_reference() -> None:
    record = EventRecord(
        "System", "W3SVC", 1009, "warning", t("2009-12-10 08:00:00"), 4711,
        strings=("DefaultAppPool", "2400", "0"), source=Provenance("SysEvent.Evt", "record 4711"),
    )
    observations = list(from_events([record], load_event_catalog(), None, "WEB01"))
    assert observations
    assert {o.source.event for o in observations} == {EventRef("System", "W3SVC", 1009, 4711)}


def test_traffic_observations_type_their_mark_and_end() -> None:
    day = TrafficDay(
        "w3c", "W3SVC1", t("2009-12-10 00:00:00"), 10, t("2009-12-10 01:00:00"), t("2009-12-10 09:00:00"),
        t("2009-12-10 08:00:00"), ((200, 9), (503, 1)), (), (), None,
        Provenance("ex091210.log", "lines 5-14"),
    )
    marks = [(o.traffic, o.end) for o in from_traffic([day])]
    assert marks == [("day", t("2009-12-10 09:00:00")), ("last-success", None)]


def test_fused_entries_carry_the_typed_mark_and_state() -> None:
    day = TrafficDay(
        "w3c", "W3SVC1", t("2009-12-10 00:00:00"), 10, t("2009-12-10 01:00:00"), t("2009-12-10 09:00:00"),
        t("2009-12-10 08:00:00"), ((200, 10),), (), (), None, Provenance("ex091210.log", "lines 5-14"),
    )
    prov = Provenance(SOFTWARE, "Component Based Servicing\\Packages\\X")
    claim = SourceTime(t("2009-12-09 15:40:00"), "second", "InstallTimeHigh/Low", prov, anchor=True)
    record = UpdateRecord("KB973917", "package", claim.at, "second", "staged", times=(claim,))
    observations = [*from_traffic([day]), *from_inventory(Inventory({}, None, updates=[record]))]
    entries = {(e.kind, e.traffic, e.record_state, e.end) for e in fuse(observations, "WEB01")}
    assert entries == {
        ("package-state-change", None, "staged", None),
        ("traffic", "day", None, t("2009-12-10 09:00:00")),
        ("traffic", "last-success", None, None),
    }


def test_the_repro_plan_names_the_event_by_its_reference_not_its_text() -> None:
    ref = EventRef("System", "Service Control Manager", 7031, 12)
    source = TimelineSource("event", t("2009-12-10 08:00:00"), "second", "a service stopped", Provenance("x"),
                            event=ref)
    entry = TimelineEntry(t("2009-12-10 08:00:00"), "second", "service-failure", "W3SVC", "", (source,))
    assert _provider(entry) == ("Service Control Manager", 7031)
    worded = replace(source, says="W3SVC 1009: a worker process failed", event=None)
    assert _provider(replace(entry, sources=(worded,))) == (None, None)
