"""Local wall-clock times of the image's own time zone -> UTC, with the rule the registry stores.

Most servicing artefacts are written in local time: update.exe and svcpack logs, setupapi.log, iis6.log,
Dr. Watson, CBS.log, the Hotfix key's ``Installed On`` and the Uninstall key's ``InstallDate``. Windows
keeps the zone in ``SYSTEM\\...\\Control\\TimeZoneInformation`` (``TIME_ZONE_INFORMATION``):
``Bias`` in minutes, UTC = local + bias; ``StandardBias``/``DaylightBias`` added to it in each season; and
the ``StandardStart``/``DaylightStart`` SYSTEMTIME rules. With ``wYear`` = 0 a rule is recurring:
``wDay`` is the week of the month (1-5, 5 = the last ``wDayOfWeek`` of ``wMonth``) and ``wHour:wMinute``
the local wall-clock time of the change; with ``wYear`` set it is an absolute date. ``wMonth`` = 0 means
the zone has no daylight saving.

We convert with the rule the image carries, not with an IANA database: that is what the machine's own clock
did, including zones whose rules have since changed (US 2007). The registry holds one rule; dates from before
a rule change are converted with the current rule and say so in their note.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import datetime, timedelta, timezone

from scanner.model import Clock, TimeZoneFacts

UTC = timezone.utc


def _transition(rule: tuple[int, ...], year: int) -> datetime | None:
    """The naive local wall-clock instant at which ``rule`` fires in ``year`` (None: no rule)."""
    if len(rule) < 6 or not 1 <= rule[1] <= 12:
        return None
    w_year, month, day_of_week, day, hour, minute = rule[:6]
    if w_year:
        if w_year != year:
            return None
        try:
            return datetime(year, month, max(1, min(day, monthrange(year, month)[1])), hour % 24, minute % 60)
        except ValueError:
            return None
    week = min(max(day, 1), 5)
    first_weekday = datetime(year, month, 1).weekday()  # Monday = 0
    wanted = (day_of_week - 1) % 7  # SYSTEMTIME: Sunday = 0
    first = 1 + (wanted - first_weekday) % 7
    dom = first + 7 * (week - 1)
    while dom > monthrange(year, month)[1]:
        dom -= 7
    return datetime(year, month, dom, hour % 24, minute % 60)


def _in_daylight(local: datetime, tz: TimeZoneFacts, *, skip: int = 0) -> bool:
    """Whether naive local wall-clock ``local`` falls in daylight time under the zone's rule.

    ``skip`` minutes are added to the start of daylight time: a daylight wall-clock reading begins only after
    the hour the clocks skip, which matters when converting UTC to local time.
    """
    start = _transition(tz.daylight_start, local.year)
    end = _transition(tz.standard_start, local.year)
    if start is None or end is None:
        return False
    try:
        start += timedelta(minutes=skip)
    except OverflowError:  # a transition at the edge of datetime's range (year 9999, a hostile time)
        return False
    if start < end:  # northern hemisphere: daylight inside the year
        return start <= local < end
    return not end <= local < start  # southern hemisphere: daylight spans the new year


def offset_minutes(local: datetime, tz: TimeZoneFacts | None) -> int:
    """Minutes to add to a naive local time to get UTC (Bias + the season's bias)."""
    if tz is None:
        return 0
    season = tz.daylight_bias if _in_daylight(local, tz) else tz.standard_bias
    return tz.bias_minutes + season


def local_to_utc(local: datetime, tz: TimeZoneFacts | None) -> datetime:
    """A naive local wall-clock time -> aware UTC; without zone facts the time is taken as UTC.

    In the repeated hour at the end of daylight time the daylight reading (the earlier instant) is chosen,
    which is what Windows did while writing the first pass through that hour.
    """
    naive = local.replace(tzinfo=None)
    try:
        return (naive + timedelta(minutes=offset_minutes(naive, tz))).replace(tzinfo=UTC)
    except OverflowError:  # a hostile year 9999 (or 1) plus the bias: the caller checks in_range()
        return naive.replace(tzinfo=UTC)


def utc_to_local(when: datetime, tz: TimeZoneFacts | None) -> datetime:
    """An aware UTC time -> naive local wall-clock time under the zone's rule."""
    naive = when.astimezone(UTC).replace(tzinfo=None)
    if tz is None:
        return naive
    try:
        standard = naive - timedelta(minutes=tz.bias_minutes + tz.standard_bias)
        daylight = naive - timedelta(minutes=tz.bias_minutes + tz.daylight_bias)
    except OverflowError:  # a time at the edge of datetime's range: out of the accepted range anyway
        return naive
    skip = tz.standard_bias - tz.daylight_bias
    return daylight if skip and _in_daylight(daylight, tz, skip=skip) else standard


def local_date_to_utc(year: int, month: int, day: int, tz: TimeZoneFacts | None) -> datetime | None:
    """A local calendar date -> the UTC instant of its local midnight (start of a ``day``-precision span)."""
    try:
        return local_to_utc(datetime(year, month, day), tz)
    except ValueError:
        return None


def zone_clock(tz: TimeZoneFacts | None) -> Clock:
    """The clock a local time converted by :func:`local_to_utc` is on: the registry's zone rule, or none.

    Collectors set it on what they convert (``LogEvent.clock``, ``SourceTime.clock``) so fusion can tell a
    time that may be hours off (the zone changed since) from a UTC-native one without reading a note.
    """
    return "zone-rule" if tz is not None else "no-zone"


def zone_note(tz: TimeZoneFacts | None) -> str:
    """How a local time was converted, for people (provenance notes); decisions read :func:`zone_clock`."""
    if tz is None:
        return "local time taken as UTC (no TimeZoneInformation)"
    return f"local time converted with the image's time zone ({tz.key_name or tz.standard_name})"
