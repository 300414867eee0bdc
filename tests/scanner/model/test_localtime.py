"""Local -> UTC with the registry's own zone rule agrees with the IANA database for the fixture zones.

The fixture factory writes local-time artefacts with Python's zoneinfo and the registry with the Windows
rule of the same zone (fixtures/factory/timezones.py), so zoneinfo is an independent oracle here; the scanner
itself never uses it (it must follow the image's rule, e.g. the pre-2007 US rules).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from fixtures.factory.timezones import ZONES, WindowsZone
from scanner.model import TimeZoneFacts
from scanner.model.localtime import local_date_to_utc, local_to_utc, utc_to_local

UTC = timezone.utc


def _facts(z: WindowsZone) -> TimeZoneFacts:
    def rule(r: tuple[int, int, int, int]) -> tuple[int, ...]:
        return (0, r[0], r[1], r[2], r[3], 0, 0, 0)

    return TimeZoneFacts(
        z.key, z.standard_name, z.daylight_name, z.bias, 0, z.daylight_bias,
        rule(z.standard_start), rule(z.daylight_start),
    )


@pytest.mark.parametrize("name", sorted(ZONES))
def test_every_instant_round_trips_like_the_iana_zone(name: str) -> None:
    zone = ZONES[name]
    tz = _facts(zone)
    years = (2001, 2006) if "pre-2007" in name else (2007, 2011)
    at = datetime(years[0], 1, 1, tzinfo=UTC)
    while at.year < years[1]:
        local = at.astimezone(ZoneInfo(zone.iana)).replace(tzinfo=None)
        assert utc_to_local(at, tz) == local, at
        back = local_to_utc(local, tz)
        # The repeated autumn hour reads as daylight time (the first pass); everything else is exact.
        assert back == at or back + timedelta(hours=1) == at, at
        at += timedelta(minutes=211)


def _naive(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC).replace(tzinfo=None)  # type: ignore[misc]


def test_pre_2007_rule_is_the_images_not_todays() -> None:
    tz = _facts(ZONES["Central Standard Time (pre-2007)"])
    # 2007-03-20 was daylight time under the 2007 rules but standard time under the image's old rule.
    assert local_to_utc(_naive(2007, 3, 20, 12, 0), tz) == datetime(2007, 3, 20, 18, 0, tzinfo=UTC)


def test_local_date_is_local_midnight_and_no_zone_means_utc() -> None:
    tz = _facts(ZONES["Eastern Standard Time"])
    assert local_date_to_utc(2009, 12, 9, tz) == datetime(2009, 12, 9, 5, 0, tzinfo=UTC)
    assert local_date_to_utc(2009, 7, 9, tz) == datetime(2009, 7, 9, 4, 0, tzinfo=UTC)
    assert local_date_to_utc(2009, 2, 30, tz) is None
    assert local_to_utc(_naive(2009, 12, 9, 10, 40), None) == datetime(2009, 12, 9, 10, 40, tzinfo=UTC)
