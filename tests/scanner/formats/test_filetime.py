"""The one FILETIME conversion (NTFS, EVTX and CBS times): exact to the microsecond, garbage is None."""

from __future__ import annotations

from datetime import UTC, datetime

from scanner.formats.filetime import filetime

UNIX_EPOCH = 116_444_736_000_000_000  # 1970-01-01T00:00:00Z as a FILETIME


def test_exact_to_the_microsecond() -> None:
    assert filetime(UNIX_EPOCH) == datetime(1970, 1, 1, tzinfo=UTC)
    value = 128_260_872_901_234_570  # 2007-06-12T02:01:30.123457Z: every sub-second digit survives
    assert filetime(value) == datetime(2007, 6, 12, 2, 1, 30, 123457, tzinfo=UTC)
    assert filetime(value + 9) == filetime(value)  # 100 ns ticks below a microsecond are dropped, not rounded


def test_unset_negative_and_past_9999_are_none() -> None:
    assert filetime(0) is None
    assert filetime(-1) is None
    assert filetime(0x7FFF_FFFF_FFFF_FFFF) is None
    assert filetime(1) == datetime(1601, 1, 1, tzinfo=UTC)
