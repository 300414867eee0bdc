"""FILETIME -> datetime, the one conversion: NTFS record times, EVTX record times, CBS InstallTimeHigh/Low.

A FILETIME counts 100 ns intervals since 1601-01-01 UTC. It is converted with integer arithmetic only,
exact to the microsecond: a float POSIX timestamp can be 1 µs off (issue 16: the second
NTFS lookup in collectors/volume.py did that, and its times disagreed with the first one's). That is also
why ``dissect.util.ts.wintimestamp`` is not called here: it goes through ``float(ts) * 1e-7``. Before issue 16
item 2 three modules each wrote this conversion, with different ideas of which values are unusable.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
#: The first FILETIME past the last day ``datetime`` can hold whole (9999-12-31): larger values are bytes
#: no real system wrote, and would overflow once a caller adds an offset to them.
_LIMIT = (datetime(9999, 12, 31, tzinfo=UTC) - EPOCH) // timedelta(microseconds=1) * 10


def filetime(value: int) -> datetime | None:
    """An aware UTC datetime exact to the µs; None for 0 (never set), a negative value or one past 9999."""
    if not 0 < value < _LIMIT:
        return None
    return EPOCH + timedelta(microseconds=value // 10)
