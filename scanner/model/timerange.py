"""The one accepted range for times read from Windows artefacts, and overflow-safe arithmetic on them.

Every time in a Windows artefact is attacker-controlled bytes: a Dr. Watson ``When: 9999/12/31``, a FILETIME
of ``0x7fff…``, a ``TimeZoneInformation`` ``Bias`` of ±2³¹ minutes. Python's ``datetime`` stops at years
1..9999, so ``+ timedelta`` on such a value raises ``OverflowError`` and a date constructor ``ValueError``.
The scanner accepts times from :data:`EARLIEST` (1980: no Windows NT system predates it; FAT's own epoch)
to :data:`LATEST` (2100); a time outside is a malformed value: the collector skips it and says so (a Gap or
a counted, skipped value), never a crash. The range is documented in README ("Time range").

Time-zone biases are bounded too: real zones lie within UTC-12..UTC+14 (``Bias`` -840..+720 minutes) and
``StandardBias``/``DaylightBias`` within an hour or two; :data:`MAX_BIAS_MINUTES` (one day) rejects only the
impossible.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

UTC = timezone.utc
EARLIEST = datetime(1980, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_BIAS_MINUTES = 24 * 60
RANGE_TEXT = "1980-01-01..2100-01-01 UTC"


def in_range(when: datetime | None) -> bool:
    """Whether ``when`` (aware, or naive read as UTC) lies in the accepted range."""
    if when is None:
        return False
    aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return EARLIEST <= aware <= LATEST


def accepted(when: datetime | None) -> datetime | None:
    """``when`` if it lies in the accepted range, else None (the caller reports the skipped value)."""
    return when if in_range(when) else None


def shifted(when: datetime | None, delta: timedelta) -> datetime | None:
    """``when + delta``, or None when the sum leaves ``datetime``'s range (``OverflowError``)."""
    if when is None:
        return None
    try:
        return when + delta
    except OverflowError:
        return None


def bias_ok(*minutes: int) -> bool:
    """Whether every time-zone bias is within one day (real ones are within UTC-12..UTC+14)."""
    return all(abs(m) <= MAX_BIAS_MINUTES for m in minutes)
