"""IIS W3C extended log and HTTP.sys error log lines: directives, the ``#Fields`` layout, one request a line.

A text-format parser of the format layer: it turns one decoded line into :class:`Request` values or
:class:`Skip` reasons and knows nothing of traffic days or the model (the summarising is
:mod:`scanner.collectors.logs.w3c`'s). Format: W3C WD-logfile-960323 and IIS 6.0 SDK "W3C Extended Log File
Format": directive lines ``#Software``, ``#Version``, ``#Date``, ``#Fields`` written when the file is created
and again at every service start, so the field list can change in the middle of a file; data lines are space
separated, empty values ``-``. ``date``/``time`` are UTC; IIS 5's default field list has no ``date`` (the
day comes from ``#Date``, and the clock going back by over 12 hours means midnight passed).

A server that died mid-write leaves a truncated last line and a tail of NUL bytes (NTFS extended the file but
the data never reached the disk): such a line is a :class:`Skip`, and text after its last NUL (a restarted
service's header) is still parsed. Bounds: a line longer than :data:`MAX_LINE` is skipped unread; at most
:data:`MAX_DATES` distinct date strings are cached.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

__all__ = ["LAST_ORDINAL", "MAX_LINE", "Request", "Skip", "W3cLineParser"]

MAX_LINE = 65_536
"""Characters; longer lines are malformed (real lines stay far below: URIs cap at 16 KiB)."""
MAX_DATES = 4_000
"""Distinct date strings cached (a daily/weekly/monthly file spans at most 31 days)."""
LAST_ORDINAL = date(9999, 12, 30).toordinal()
"""The last day a W3C date may name: one day short of ``date.max``, so a run or a midnight rollover that goes
on into the next day still has a representable end (a hostile ``#Date: 9999-12-31`` must not overflow)."""


@dataclass(frozen=True)
class Skip:
    """A line (or the part of one before its NUL padding) that breaks the format, and why (for people)."""

    reason: str


class Request(NamedTuple):
    """One data line: its UTC day and second, status, and the HTTPERR labels (a NamedTuple: one is made per
    line of logs that run to gigabytes, and a frozen dataclass costs several times more to build).

    Attributes:
        ordinal: the day, as ``date.toordinal()``.
        seconds: seconds into that day (a leap second 60 is folded into 23:59:59).
        status: ``sc-status``, None when ``-`` or absent.
        reason: ``s-reason`` as written (``-`` included), None when the layout has no such field.
        queue: ``s-queuename``, None when absent or ``-``.
        software: the latest ``#Software`` directive (at most 200 characters), None before one.
    """

    ordinal: int
    seconds: int
    status: int | None
    reason: str | None
    queue: str | None
    software: str | None


_NUL = Skip("NUL bytes (crash padding)")
_OVERLONG = Skip("over-long line")


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()  # str.isdigit alone accepts "²", which int() rejects


class W3cLineParser:
    """Parses the lines of one file in order, keeping the directives' state (layout, ``#Date``, software).

    Args:
        log: ``"w3c"`` (a layout needs ``time`` and ``sc-status``) or ``"httperr"`` (``time`` only).
    """

    def __init__(self, log: str = "w3c") -> None:
        self.log = log
        self.lines = 0
        self.saw_fields = False
        self._fields: dict[str, int] | None = None
        self._nfields = 0
        self._software: str | None = None
        self._header_day: int | None = None  # #Date's day, for logs without a date field
        self._last_abs = -1  # last request's absolute second, for date-less day roll-over
        self._dates: dict[str, int] = {}

    def items(self, lines: Iterable[str]) -> Iterator[Skip | Request]:
        """What the lines hold, in order: a :class:`Request` per data line, a :class:`Skip` per malformed one
        (two for a NUL-padded line whose tail is a malformed data line); directives and blank lines yield
        nothing. :attr:`lines` counts the lines consumed, so the caller knows which line an item came from.
        Can be called repeatedly for one file (a generator: one resume a line, for logs of gigabytes).

        Args:
            lines: decoded lines, line ends optional.
        """
        for raw in lines:
            self.lines += 1
            line = raw.rstrip("\r\n")
            if "\x00" in line:
                # NUL padding left by a crash; text after it (a service restart's header) is still good.
                yield _NUL
                line = line[line.rfind("\x00") + 1 :]
                if not line.strip() or len(line) > MAX_LINE:
                    continue
            elif len(line) > MAX_LINE:
                yield _OVERLONG
                continue
            if self.lines == 1 and line.startswith("\ufeff"):
                line = line[1:]
            if line.startswith("#"):
                self._directive(line)
            elif line.strip():
                yield self._data(line)

    def _directive(self, line: str) -> None:
        name, _, value = line[1:].partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "software":
            self._software = value[:200] or None
        elif name == "date":
            self._header_day = self._ordinal(value[:10])
            self._last_abs = -1
        elif name == "fields":
            names = value.split()
            self._fields = {n.lower(): i for i, n in enumerate(names)}
            self._nfields = len(names)
            self.saw_fields = True
            if "time" not in self._fields or ("sc-status" not in self._fields and self.log == "w3c"):
                self._fields = None  # no usable layout: the data lines that follow are skipped

    def _ordinal(self, text: str) -> int | None:
        cached = self._dates.get(text)
        if cached is not None:
            return cached
        if len(text) != 10 or text[4] != "-" or text[7] != "-" or not text.isascii():
            return None
        try:
            ordinal = date(int(text[:4]), int(text[5:7]), int(text[8:10])).toordinal()
        except ValueError:
            return None
        if len(self._dates) < MAX_DATES:
            self._dates[text] = ordinal
        return ordinal

    def _data(self, line: str) -> Skip | Request:
        fields = self._fields
        if fields is None:
            return Skip("data line without a usable #Fields directive")
        parts = line.split()
        if len(parts) != self._nfields:
            return Skip(f"{len(parts)} fields where #Fields names {self._nfields}")
        t = parts[fields["time"]]
        if len(t) > 8 and t[8] == ".":
            t = t[:8]
        if len(t) != 8 or t[2] != ":" or t[5] != ":" or not _digits(t[:2] + t[3:5] + t[6:]):
            return Skip("bad time")
        if int(t[:2]) > 23 or int(t[3:5]) > 59 or int(t[6:]) > 60:
            return Skip("bad time")
        secs = min(int(t[:2]) * 3600 + int(t[3:5]) * 60 + int(t[6:]), 86_399)
        di = fields.get("date")
        if di is not None:
            ordinal = self._ordinal(parts[di])
        else:
            ordinal = self._header_day
            # No date field (IIS 5 default): the clock going back by over 12 h means midnight passed.
            last = self._last_abs
            if ordinal is not None and last >= 0 and ordinal * 86_400 + secs < last - 43_200:
                ordinal += 1
                self._header_day = ordinal
        if ordinal is None:
            return Skip("bad or missing date")
        if ordinal > LAST_ORDINAL:
            return Skip("date out of range")
        st = parts[fields["sc-status"]] if "sc-status" in fields else "-"
        if st == "-":
            status = None
        elif len(st) == 3 and _digits(st) and st[0] != "0":
            status = int(st)
        else:
            return Skip("bad sc-status")
        self._last_abs = ordinal * 86_400 + secs
        reason = parts[fields["s-reason"]] if "s-reason" in fields else None
        queue = parts[fields["s-queuename"]] if "s-queuename" in fields else None
        # tuple.__new__: the NamedTuple's own __new__ is a Python call, and this runs once a request line
        return tuple.__new__(Request, (ordinal, secs, status, reason, None if queue == "-" else queue,
                                       self._software))
