"""The timeline's inputs: decoded event records, log events, IIS traffic and install outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scanner.model.codec import JsonRecord
from scanner.model.facts import Clock, Precision, Provenance


@dataclass(frozen=True)
class EventRecord(JsonRecord):
    """One event log record (``.evt`` or ``.evtx``), decoded as far as the record itself allows.

    ``event_id`` is masked to its low 16 bits (legacy ``.evt`` stores severity/facility bits above it, e.g.
    NtServicePack 4377 as 0x400E1119); ``raw_event_id`` keeps what was stored. ``strings`` are the insertion
    strings (``.evt``) or the EventData values in order (``.evtx``); ``data`` names them where the record
    does. ``past_stale_header`` marks records a dirty ``.evt`` header does not account for: the newest
    records of a server that died without closing its logs.
    """

    log: str  # "System", "Application", "Setup", ...
    provider: str  # event source (.evt) / provider name (.evtx), e.g. "W3SVC", "Microsoft-Windows-WAS"
    event_id: int
    level: str  # "critical" | "error" | "warning" | "information" | "verbose" | "audit-success" | ...
    at: datetime  # TimeGenerated / TimeCreated, UTC
    record_number: int
    strings: tuple[str, ...] = ()
    data: tuple[tuple[str, str], ...] = ()
    computer: str | None = None
    user_sid: str | None = None
    raw_event_id: int | None = None
    category: int | None = None
    message: str | None = None  # rendered text, when a message template was available
    past_stale_header: bool = False
    source: Provenance = Provenance("")


@dataclass(frozen=True)
class LogEvent(JsonRecord):
    """One meaningful line (or block) of a text log, decoded: what it says happened and when.

    ``log`` names the log family: ``update.exe`` (KB/Q logs), ``svcpack``, ``iis-setup``, ``setupapi``,
    ``updspapi``, ``windowsupdate``, ``cbs``, ``drwatson``, ``wua``. ``what`` is one of: ``install-start``,
    ``install-end``, ``file-replaced``, ``file-not-replaced``, ``error``, ``reboot-required``,
    ``component-install``, ``package-state``, ``download``, ``crash``, ``uninstall-registered``... (each
    parser documents its own). ``subject`` is the update id (``KB973917``), the SP name, the component, the
    file path or the crashing program. Times were local in most of these logs and are converted to UTC here;
    ``details`` keep the original local text (``local_time``) so the conversion can be checked.
    """

    log: str
    what: str
    at: datetime | None
    precision: Precision | None
    subject: str | None
    text: str  # the line(s) as written, trimmed
    details: tuple[tuple[str, str], ...] = ()
    source: Provenance = Provenance("")
    # Typed interpretation (issue 13): the SP number the session names, and (on ``install-end``) its outcome.
    sp_level: int | None = None
    outcome: InstallOutcome | None = None
    # Typed (issue 14): the update the session installs (from the KB/Q log's name), and on file lines the
    # volume-relative path (lower case, no drive) and the version the line gives, for the offline qfecheck.
    update_id: str | None = None
    file_path: str | None = None
    file_version: str | None = None
    # Typed (issue 16): the clock ``at`` was taken on (most of these logs are local time), so fusion never
    # reads the provenance note to know whether a time may be hours off.
    clock: Clock = "utc"

    def detail(self, name: str, default: str | None = None) -> str | None:
        return dict(self.details).get(name, default)


@dataclass(frozen=True)
class ErrorRun(JsonRecord):
    """Consecutive 5xx answers with no success in between: what users saw while the site was down."""

    start: datetime
    end: datetime
    count: int
    statuses: tuple[tuple[int, int], ...]  # (status, count)
    first_line: Provenance
    reasons: tuple[tuple[str, int], ...] = ()  # HTTPERR s-reason counts (AppOffline, QueueFull, ...)
    queues: tuple[str, ...] = ()  # HTTPERR s-queuename: the application pool(s)


@dataclass(frozen=True)
class TrafficDay(JsonRecord):
    """One IIS log file's day (W3C ``ex``/``u_ex`` or HTTPERR), reduced to what brackets an outage.

    Times are UTC (W3C and HTTPERR logs are written in UTC). ``hourly`` holds (hour start, requests, 5xx) for
    the plot; ``last_success`` is the last 2xx/3xx answer.
    """

    log: str  # "w3c" | "httperr"
    site: str  # "W3SVC1", "HTTPERR"
    day: datetime  # 00:00 UTC of the day
    requests: int
    first_request: datetime | None
    last_request: datetime | None
    last_success: datetime | None
    status_counts: tuple[tuple[int, int], ...]
    hourly: tuple[tuple[datetime, int, int], ...]
    error_runs: tuple[ErrorRun, ...]
    software: str | None  # "#Software:" header
    source: Provenance  # artifact = the log file, locator = lines read
    skipped_lines: int = 0


@dataclass(frozen=True)
class FileLeftBehind(JsonRecord):
    """A file an install session did not put in place, and the typed reason its log gives.

    ``reason``: ``in-use-delayed`` (in use, queued for replacement at the next boot),
    ``copy-failed`` (CopyFileEx failed), ``move-failed`` (MoveFileEx failed), ``not-replaced`` (the log says
    the file was not replaced), ``other``.
    """

    path: str
    reason: str
    code: int | None = None  # the Win32 / HRESULT error the log gives, when it gives one


@dataclass(frozen=True)
class InstallOutcome(JsonRecord):
    """What one install session did, as its own log or records say it: typed, so no rule parses prose.

    ``result``: ``success`` | ``failed`` | ``partial`` (ended, but files were left behind) | ``cancelled`` |
    ``unknown``. ``return_code`` is what the installer returned (update.exe can mask a failure to 0), and
    ``extended_error`` the extended error code it logged, kept apart so a masked failure stays visible.
    """

    result: str = "unknown"
    files_replaced: int | None = None
    left_behind: tuple[FileLeftBehind, ...] = ()
    reboot_required: bool | None = None
    return_code: int | None = None
    extended_error: int | None = None
