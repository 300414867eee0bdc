"""IIS W3C extended logs and the HTTP.sys error log, reduced per UTC day to what brackets an outage.

Where (reference §4.6): IIS 5/6 ``%windir%\\system32\\LogFiles\\W3SVC<n>\\ex<yymmdd>.log``, IIS 7+
``%SystemDrive%\\inetpub\\logs\\LogFiles\\W3SVC<n>\\u_ex<yymmdd>.log`` and HTTP.sys
``%windir%\\system32\\LogFiles\\HTTPERR\\httperr<n>.log``. Lines are read by the one bounded line reader
(:mod:`scanner.formats.lines`) and parsed by :mod:`scanner.formats.w3c` (directives, ``#Fields`` layout, one
request a line, malformed lines as skips); this module reduces the requests to traffic days.

An outage shows as the last 2xx/3xx answer in the W3C log, then either nothing (the worker died, HTTP.sys
answered) or 5xx lines, and ``503 ... AppOffline`` / ``QueueFull`` / ``Connection_Abandoned_By_AppPool`` lines
in HTTPERR naming the application pool (s-queuename). A log directory can hold gigabytes, so files are read
in chunks and only per-day counters and error runs are kept: memory is O(days + runs), never O(lines).
A truncated last line, a tail of NUL bytes left by a crash, and any line that breaks the format are counted
and skipped (the first one's number and reason become a gap).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, BinaryIO

from scanner.collectors.volume import READ_ERRORS, glob, listdir
from scanner.formats.lines import read_lines
from scanner.formats.w3c import MAX_LINE, Request, Skip, W3cLineParser
from scanner.model import ErrorRun, Gap, Provenance, TrafficDay

__all__ = [
    "MAX_LINE",
    "W3cSummary",
    "read_iis_logs",
    "summarise_httperr",
    "summarise_w3c",
]

MAX_DAYS = 4_000  # distinct days kept from one file (a daily/weekly/monthly file spans at most 31)
MAX_RUNS_PER_DAY = 1_000  # error runs kept per day; more are counted, not kept
MAX_RUN_LABELS = 16  # distinct s-reason / s-queuename values kept per HTTPERR run
HTTPERR_RUN_GAP = 1800  # seconds without an HTTPERR error line that end a run (HTTPERR logs no successes)
# HTTP.sys reasons that mean the application pool could not serve (IIS 6.0 "HTTP API Error Logging"):
# logged with status 503, or with no status when the worker died mid-request.
POOL_FAILURE_REASONS = frozenset({
    "AppOffline", "AppPoolTimer", "AppShutdown", "QueueFull", "Disabled", "DisabledByPolicy",
    "Connection_Abandoned_By_AppPool", "Connection_Abandoned_By_ReqQueue", "Connection_Dropped_List_Full",
})


@dataclass
class _Run:
    """An open error run: absolute seconds since the epoch, counts, and HTTPERR labels."""

    day: int  # ordinal of the day it started in
    start: int
    end: int
    line: int
    count: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    queues: dict[str, int] = field(default_factory=dict)


@dataclass
class _Day:
    """Counters of one UTC day (seconds of the day for the times)."""

    ordinal: int
    software: str | None
    first_line: int
    last_line: int = 0
    requests: int = 0
    first: int = 86_400
    last: int = -1
    last_success: int = -1
    statuses: dict[int, int] = field(default_factory=dict)
    hourly: list[list[int]] = field(default_factory=lambda: [[0, 0] for _ in range(24)])
    runs: list[ErrorRun] = field(default_factory=list)
    skipped: int = 0


def _label_add(labels: dict[str, int], value: str) -> None:
    if value in labels or len(labels) < MAX_RUN_LABELS:
        labels[value] = labels.get(value, 0) + 1
    else:
        labels["(other)"] = labels.get("(other)", 0) + 1


def _dt(seconds: int) -> datetime:
    """Seconds counted from the proleptic ordinal's day 0 (``date.toordinal() * 86400``) -> UTC datetime."""
    day, rest = divmod(seconds, 86_400)
    return datetime.combine(date.fromordinal(day), time(), UTC) + timedelta(seconds=rest)


class W3cSummary:
    """A streaming reducer of one W3C (``log="w3c"``) or HTTPERR (``log="httperr"``) file.

    Feed it lines with :meth:`feed` (line ends may be kept), then call :meth:`days`. Besides the days it
    keeps what the caller reports as a gap: ``skipped`` lines with the first one's number and reason,
    ``runs_dropped`` beyond :data:`MAX_RUNS_PER_DAY`, and whether any ``#Fields`` directive was seen.
    A malformed line is attributed to the day of the last good line before it (or the first good line
    after it); the day's ``skipped_lines`` carries it.
    """

    def __init__(self, artifact: str, site: str, log: str = "w3c") -> None:
        self.artifact = artifact
        self.site = site
        self.log = log
        self.skipped = 0
        self.first_skipped: tuple[int, str] | None = None
        self.runs_dropped = 0
        self._parser = W3cLineParser(log)
        self._days: dict[int, _Day] = {}
        self._run: _Run | None = None
        self._day: _Day | None = None
        self._orphan_skips = 0

    @property
    def lines(self) -> int:
        """Lines consumed so far (the current line's number while an item of it is handled)."""
        return self._parser.lines

    @property
    def saw_fields(self) -> bool:
        """Whether any ``#Fields`` directive was seen (a file without one is not a W3C extended log)."""
        return self._parser.saw_fields

    # -- input -------------------------------------------------------------------------------------------

    def feed(self, lines: Iterable[str]) -> None:
        """Reduce ``lines`` (strings, line ends optional); can be called repeatedly for one file."""
        days = self._days
        for req in self._parser.items(lines):
            if isinstance(req, Skip):
                self._skip(req.reason)
                continue
            # the request's day (inline: this loop runs once a line over gigabytes of logs)
            day = days.get(req.ordinal)
            if day is None:
                if len(days) >= MAX_DAYS:
                    self._skip(f"more than {MAX_DAYS} days in one file")
                    continue
                day = days[req.ordinal] = _Day(req.ordinal, req.software, self.lines)
                if self._orphan_skips:
                    day.skipped += self._orphan_skips
                    self._orphan_skips = 0
            self._day = day
            self._count(day, req)

    def _skip(self, reason: str) -> None:
        self.skipped += 1
        if self.first_skipped is None:
            self.first_skipped = (self.lines, reason)
        if self._day is not None:
            self._day.skipped += 1
        else:
            self._orphan_skips += 1

    def _count(self, day: _Day, req: Request) -> None:
        secs, status = req.seconds, req.status
        day.last_line = self.lines
        day.requests += 1
        day.first = min(day.first, secs)
        day.last = max(day.last, secs)
        hour = day.hourly[secs // 3600]
        hour[0] += 1
        if status is not None:
            day.statuses[status] = day.statuses.get(status, 0) + 1
            if 500 <= status <= 599:
                hour[1] += 1
        abs_secs = day.ordinal * 86_400 + secs
        if self.log == "w3c":
            if status is not None and 200 <= status <= 399:
                day.last_success = max(day.last_success, secs)
                self._close_run()
            elif status is not None and status >= 500:
                self._extend_run(day, abs_secs, req)
            return
        if (status is not None and status >= 500) or (req.reason or "-") in POOL_FAILURE_REASONS:
            run = self._run
            if run is not None and abs_secs - run.end > HTTPERR_RUN_GAP:
                self._close_run()
            self._extend_run(day, abs_secs, req)

    def _extend_run(self, day: _Day, abs_secs: int, req: Request) -> None:
        run = self._run
        if run is None:
            run = self._run = _Run(day.ordinal, abs_secs, abs_secs, self.lines)
        run.end = max(run.end, abs_secs)
        run.count += 1
        if req.status is not None:
            run.statuses[req.status] = run.statuses.get(req.status, 0) + 1
        if self.log == "httperr":
            if req.reason is not None:
                _label_add(run.reasons, req.reason)
            if req.queue is not None:
                _label_add(run.queues, req.queue)

    def _close_run(self) -> None:
        run, self._run = self._run, None
        if run is None:
            return
        day = self._days[run.day]
        if len(day.runs) >= MAX_RUNS_PER_DAY:
            self.runs_dropped += 1
            return
        note = ""
        if run.reasons or run.queues:
            reasons = ", ".join(f"{k} x{v}" for k, v in sorted(run.reasons.items(), key=lambda kv: -kv[1]))
            queues = ", ".join(sorted(run.queues))
            note = f"s-reason {reasons or '-'}; s-queuename {queues or '-'}"
        day.runs.append(ErrorRun(
            start=_dt(run.start),
            end=_dt(run.end),
            count=run.count,
            statuses=tuple(sorted(run.statuses.items())),
            first_line=Provenance(self.artifact, f"line {run.line}", note),
            reasons=tuple(sorted(run.reasons.items(), key=lambda kv: -kv[1])),
            queues=tuple(sorted(run.queues)),
        ))

    # -- output ------------------------------------------------------------------------------------------

    def days(self) -> list[TrafficDay]:
        """The days seen so far, in date order (closes the open error run)."""
        self._close_run()
        out = []
        for ordinal in sorted(self._days):
            d = self._days[ordinal]
            midnight = datetime.combine(date.fromordinal(ordinal), time(), UTC)
            out.append(TrafficDay(
                log=self.log,
                site=self.site,
                day=midnight,
                requests=d.requests,
                first_request=midnight + timedelta(seconds=d.first) if d.requests else None,
                last_request=midnight + timedelta(seconds=d.last) if d.requests else None,
                last_success=midnight + timedelta(seconds=d.last_success) if d.last_success >= 0 else None,
                status_counts=tuple(sorted(d.statuses.items())),
                hourly=tuple((midnight + timedelta(hours=h), n, e) for h, (n, e) in enumerate(d.hourly) if n),
                error_runs=tuple(d.runs),
                software=d.software,
                source=Provenance(self.artifact, f"lines {d.first_line}-{d.last_line}"),
                skipped_lines=d.skipped,
            ))
        return out


def summarise_w3c(lines: Iterable[str], artifact: str, site: str) -> list[TrafficDay]:
    """Per UTC day of a W3C extended log: requests, first/last/last successful request, 5xx runs.

    ``lines`` may keep their line ends and are consumed once (a generator keeps memory flat). An error run is
    consecutive 5xx answers with no 2xx/3xx between them (1xx/4xx neither break nor extend it); it belongs
    to the day it started in, even if it goes on past midnight.
    """
    summary = W3cSummary(artifact, site, "w3c")
    summary.feed(lines)
    return summary.days()


def summarise_httperr(lines: Iterable[str], artifact: str, site: str = "HTTPERR") -> list[TrafficDay]:
    """Per UTC day of an HTTP.sys error log: error lines, and runs of application-pool failures.

    HTTPERR records only what HTTP.sys itself answered or dropped, never a success, so a run is the
    consecutive 5xx / pool-failure lines (:data:`POOL_FAILURE_REASONS`; ``Timer_*`` and 400-series lines are
    ordinary noise and neither break nor extend it) until :data:`HTTPERR_RUN_GAP` seconds pass without one.
    The runs' ``s-reason`` counts and ``s-queuename`` (the application pool) are kept in the first line's
    provenance note. ``last_success`` is always None here.
    """
    summary = W3cSummary(artifact, site, "httperr")
    summary.feed(lines)
    return summary.days()


def _decoded(fh: BinaryIO) -> Iterator[str]:
    # The one bounded line reader; an over-long line arrives cut to MAX_LINE + 1 characters, so the parser
    # counts it as over-long.
    for line in read_lines(fh, max_line=MAX_LINE):
        yield line.text


def _read_one(entry: Any, path: str, site: str, log: str, gaps: list[Gap]) -> list[TrafficDay]:
    summary = W3cSummary(path, site, log)
    try:
        with entry.open("rb") as fh:
            summary.feed(_decoded(fh))
    except READ_ERRORS as exc:
        gaps.append(Gap(path, f"read failed after line {summary.lines}: {exc or type(exc).__name__}",
                        (Provenance(path, f"line {summary.lines + 1}"),)))
    days = summary.days()
    if not summary.saw_fields and summary.lines:
        gaps.append(Gap(path, "no #Fields directive: not a W3C extended log (IIS or NCSA format?)",
                        (Provenance(path),)))
    elif summary.skipped and summary.first_skipped is not None:
        number, reason = summary.first_skipped
        gaps.append(Gap(path, f"{summary.skipped} malformed line(s) skipped (first: line {number}, {reason})",
                        (Provenance(path, f"line {number}"),)))
    if summary.runs_dropped:
        gaps.append(Gap(path, f"{summary.runs_dropped} error run(s) beyond {MAX_RUNS_PER_DAY} a day not kept",
                        (Provenance(path),)))
    return days


def _site_dirs(fs: Any, parent: str) -> list[str]:
    names = []
    for entry in listdir(fs, parent):
        try:
            if entry.is_dir() and entry.name.upper().startswith("W3SVC"):
                names.append(entry.name)
        except READ_ERRORS:
            continue
    return sorted(names, key=str.lower)


def read_iis_logs(fs: Any, windows_dir: str) -> tuple[list[TrafficDay], list[Gap]]:
    """Every W3C log of every site (IIS 5/6 and IIS 7+ locations) and the HTTPERR logs, as traffic days.

    The IIS 7+ folder is looked up on this (the system) volume's root, i.e. ``%SystemDrive%\\inetpub``; logs
    moved elsewhere by configuration are not found (a gap says none were). Files are streamed one at a time.
    """
    days: list[TrafficDay] = []
    gaps: list[Gap] = []
    roots = (f"{windows_dir}\\system32\\LogFiles", "inetpub\\logs\\LogFiles")
    found = 0
    for root in roots:
        for site in _site_dirs(fs, root):
            for path, entry in glob(fs, f"{root}\\{site}", r".*\.log"):
                found += 1
                days += _read_one(entry, path, site.upper(), "w3c", gaps)
    if not found:
        gaps.append(Gap("IIS W3C logs", "no W3SVC*\\*.log under " + " or ".join(roots)
                        + " (IIS absent, logging off, or logs kept elsewhere)"))
    for path, entry in glob(fs, f"{windows_dir}\\system32\\LogFiles\\HTTPERR", r"httperr.*\.log"):
        days += _read_one(entry, path, "HTTPERR", "httperr", gaps)
    return days, gaps
