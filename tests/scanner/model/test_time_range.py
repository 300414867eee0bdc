"""Hostile times are malformed values, never a crash (issue 15): scanner/model/timerange.py's range.

Each path that did ``+ timedelta`` on an attacker-controlled time or bias is fed the edge of ``datetime``'s
range (year 9999 / year 1) or a bias of ±2³¹ minutes and must end with the value skipped and reported.
"""

# ruff: noqa: DTZ001, DTZ901 - naive local wall-clock times at the edges of datetime are the point

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fixtures.factory.textlogs.facade import drwatson_entry
from scanner.collectors.logs.drwatson import parse_drwatson
from scanner.collectors.registry_tz import time_zone
from scanner.collectors.registry_updates import _local_date
from scanner.knowledge.events import load_event_catalog
from scanner.knowledge.profiles import Knowledge
from scanner.model import Gap, LogEvent, Provenance, TimeZoneFacts
from scanner.model.facts_bundle import Facts
from scanner.model.localtime import local_date_to_utc, local_to_utc, utc_to_local
from scanner.model.timerange import EARLIEST, LATEST, accepted, in_range, shifted
from scanner.timeline import build_timeline
from scanner.timeline.observe import shift

UTC = timezone.utc
EASTERN = TimeZoneFacts(
    "Eastern Standard Time", "Eastern Standard Time", "Eastern Daylight Time", 300, 0, -60,
    (0, 10, 0, 5, 2, 0, 0, 0), (0, 4, 0, 1, 2, 0, 0, 0),
)
HOSTILE_TZ = TimeZoneFacts(
    "x", "x", "y", 1440, 1440, -1440, (0, 13, 9, 99, 99, 99, 0, 0), (2100, 2, 0, 31, 25, 61)
)
EDGES = (datetime(9999, 12, 31, 23, 59, 59), datetime(1, 1, 1), datetime.max, datetime.min)


def test_the_range_is_1980_to_2100() -> None:
    assert (EARLIEST.year, LATEST.year) == (1980, 2100)
    assert in_range(datetime(2009, 12, 9)) and not in_range(datetime(9999, 12, 31)) and not in_range(None)
    assert accepted(datetime(1601, 1, 1, tzinfo=UTC)) is None
    assert shifted(datetime.max.replace(tzinfo=UTC), timedelta(days=1)) is None
    assert shift(datetime.max, 1e6) is None and shift(datetime.min, -1e300) is None


@pytest.mark.parametrize("bias", [1 << 31, (1 << 32) - 1441 - 1, 0x7FFFFFFF, 1441])
@pytest.mark.parametrize("field", ["Bias", "StandardBias", "DaylightBias"])
def test_absurd_time_zone_biases_are_a_gap_not_a_zone(field: str, bias: int) -> None:
    values: dict[str, object] = {"Bias": 300, "StandardBias": 0, "DaylightBias": 0xFFFFFFC4, field: bias}
    gaps: list[Gap] = []
    assert time_zone(values, None, gaps) is None
    assert [g.what for g in gaps] == ["time zone"] and "out of range" in gaps[0].reason


def test_a_bias_of_another_type_reads_as_zero() -> None:
    values = {"Bias": 300, "StandardBias": "evil", "DaylightBias": b"\xff" * 9, "StandardStart": b"\xff" * 16}
    tz = time_zone(values, None, [])
    assert tz is not None and (tz.bias_minutes, tz.standard_bias, tz.daylight_bias) == (300, 0, 0)


@pytest.mark.parametrize("when", EDGES)
@pytest.mark.parametrize("tz", [None, EASTERN, HOSTILE_TZ])
def test_conversions_at_the_edge_of_datetime_do_not_raise(when: datetime, tz: TimeZoneFacts | None) -> None:
    converted = local_to_utc(when, tz)
    assert converted.tzinfo is not None
    utc_to_local(when.replace(tzinfo=UTC), tz)
    assert local_date_to_utc(9999, 12, 31, tz) is not None or tz is None


def test_registry_local_dates_out_of_range_are_not_claims() -> None:
    assert _local_date("99991231", EASTERN) is None
    assert _local_date("12/31/9999", EASTERN) is None
    assert _local_date("00010101", EASTERN) is None
    assert _local_date("20091209", EASTERN) is not None


def test_a_dr_watson_when_of_9999_is_a_malformed_entry() -> None:
    good = drwatson_entry(
        app="C:\\WINDOWS\\system32\\inetsrv\\inetinfo.exe", pid=1,
        when=datetime(2009, 12, 9, 10, 0, tzinfo=UTC),
        exception="c0000005", module="w3svc.dll", computer="WEB",
    )
    text = good.decode("cp1252")
    hostile = text.replace("12/9/2009", "12/31/9999").replace("12/09/2009", "12/31/9999")
    assert hostile != text
    events, gaps = parse_drwatson((text + hostile).splitlines(), "drwtsn32.log", EASTERN)
    assert all(e.at is None or in_range(e.at) for e in events)
    assert len(events) == 1 and gaps


def test_fused_times_at_the_edge_are_left_out_with_a_gap() -> None:
    def log(at: datetime) -> LogEvent:
        return LogEvent(
            "update.exe", "install-end", at, "second", "KB973917", "x", (), Provenance("KB973917.log")
        )

    facts = Facts(
        {},
        log_events=(log(datetime(9999, 12, 31, 23, 59, tzinfo=UTC)), log(datetime.min.replace(tzinfo=UTC)),
                    log(datetime(2009, 12, 9, 10, tzinfo=UTC))),
    )
    timeline = build_timeline(facts, Knowledge((), (), load_event_catalog(), (), ()))
    assert all(in_range(e.at) for e in timeline.entries if e.at is not None)
    assert any(g.what == "out-of-range times" and g.reason.startswith("2 time(s)") for g in timeline.gaps)
