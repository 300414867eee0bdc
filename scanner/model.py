"""Facts every stage shares: frozen dataclasses with their provenance.

A fact without its artefact path and locator (key + value name, log line, event record, MFT entry) cannot
appear in a report (STYLE.md, after dissect's registry record descriptors and plaso's parser chain). What a
collector cannot read becomes a :class:`Gap`, never an omission, so a reader knows what was not checked.

Times are timezone-aware UTC ``datetime`` values; ``precision`` says how much of them the source really had.
JSON field names produced by ``to_dict`` methods are a contract (README "JSON output"): add, never rename.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Precision = Literal["second", "minute", "hour", "day"]


@dataclass(frozen=True)
class Provenance:
    """Where a fact came from: the artefact's path inside the image and a locator within it.

    Attributes:
        artifact: path inside the evidence, e.g. ``WINDOWS\\system32\\config\\SOFTWARE``.
        locator: key path + value name, ``line 12``, ``record 4711``, ``MFT entry 1234``...
        note: optional qualifier, e.g. ``recovered from transaction log software.LOG``.
    """

    artifact: str
    locator: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, str]:
        data = {"artifact": self.artifact, "locator": self.locator}
        if self.note:
            data["note"] = self.note
        return data


@dataclass(frozen=True)
class Gap:
    """Something that could not be read or checked, and why."""

    what: str
    reason: str
    sources: tuple[Provenance, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"what": self.what, "reason": self.reason, "sources": [s.to_dict() for s in self.sources]}


def iso(value: datetime | None) -> str | None:
    """UTC ISO-8601 for JSON, or None."""
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class TimeZoneFacts:
    """``TimeZoneInformation`` as stored, enough to turn local-time artefacts into UTC."""

    key_name: str
    standard_name: str
    daylight_name: str
    bias_minutes: int  # UTC = local + bias
    standard_bias: int
    daylight_bias: int
    standard_start: tuple[int, ...]  # SYSTEMTIME fields: year, month, day_of_week, day, hour, minute, ...
    daylight_start: tuple[int, ...]
    active_bias: int | None = None
    # Vista+ stores "@tzres.dll,-112" in StandardName/DaylightName; the names above are then resolved
    # (SOFTWARE Time Zones\<key> Std/Dlt, else TimeZoneKeyName) and the raw references kept here.
    standard_name_ref: str | None = None
    daylight_name_ref: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key_name": self.key_name,
            "standard_name_ref": self.standard_name_ref,
            "daylight_name_ref": self.daylight_name_ref,
            "standard_name": self.standard_name,
            "daylight_name": self.daylight_name,
            "bias_minutes": self.bias_minutes,
            "standard_bias": self.standard_bias,
            "daylight_bias": self.daylight_bias,
            "standard_start": list(self.standard_start),
            "daylight_start": list(self.daylight_start),
            "active_bias": self.active_bias,
        }


@dataclass(frozen=True)
class SystemFacts:
    """What the system says it is (registry), with provenance per field."""

    product: str | None
    version: str | None  # "5.2.3790"
    build: int | None
    # 0 at RTM; None when nothing attests it (no SYSTEM CSDVersion DWORD, no readable CurrentVersion key) —
    # collectors/registry.py:_service_pack says what attests RTM.
    service_pack: int | None
    csd_version: str | None
    architecture: str | None  # "x86" | "x64" | "ia64"
    hostname: str | None
    install_date: datetime | None
    system_root: str | None  # "WINDOWS" / "WINNT" (volume-relative, no drive)
    timezone: TimeZoneFacts | None
    edition: str | None = None
    build_lab: str | None = None
    sources: tuple[Provenance, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "version": self.version,
            "build": self.build,
            "service_pack": self.service_pack,
            "csd_version": self.csd_version,
            "architecture": self.architecture,
            "hostname": self.hostname,
            "install_date": iso(self.install_date),
            "system_root": self.system_root,
            "timezone": (self.timezone.standard_name or None) if self.timezone else None,
            "timezone_info": self.timezone.to_dict() if self.timezone else None,
            "edition": self.edition,
            "build_lab": self.build_lab,
            "sources": [s.to_dict() for s in self.sources],
        }


@dataclass(frozen=True)
class RecordedFile:
    """A file an update says it installed (Updates ``Filelist\\<n>``), with the version it recorded."""

    name: str
    version: str | None
    location: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "location": self.location}


@dataclass(frozen=True)
class SourceTime:
    """One source's own claim of when something happened, kept apart so the timeline can show conflicts.

    ``says`` is the claim as written (``Installed On = 12/9/2009``, ``key last written``), so a reader can
    check the conversion; ``at`` is its UTC instant (local midnight for a local date, ``precision`` "day").
    """

    at: datetime
    precision: Precision
    says: str
    source: Provenance
    # "at": the thing happened at ``at`` (within ``precision``); "not-after": only no later than ``at`` (an
    # Uninstall key rewritten after its InstallDate's day) — kept as a source, never used to place the event.
    bound: Literal["at", "not-after"] = "at"

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": iso(self.at),
            "precision": self.precision,
            "says": self.says,
            "bound": self.bound,
            **self.source.to_dict(),
        }


@dataclass(frozen=True)
class UpdateRecord:
    """One service pack, hotfix, update or CBS package as one registry source records it.

    ``kind``: ``service-pack`` | ``hotfix`` | ``update`` | ``package``;
    ``state``: ``installed`` | ``staged`` |
    ``install-pending`` | ``uninstall-pending`` | ``superseded`` | ``partially-installed`` | ``absent`` |
    ``resolving`` | ``resolved`` | ``staging`` | ``permanent`` | ``broken-<state>`` | ``unknown``.
    """

    id: str
    kind: str
    installed_at: datetime | None
    precision: Precision | None
    state: str
    files: tuple[RecordedFile, ...] = ()
    sources: tuple[Provenance, ...] = ()
    sp_folder: int | None = None  # Updates\<product>\SP<n>: the SP that will contain the fix
    description: str | None = None
    details: tuple[tuple[str, str], ...] = ()  # every other value, as (name, text)
    times: tuple[SourceTime, ...] = ()  # every source's own time claim (the timeline fuses them)
    # Typed (issue 14): what rules and remediation read instead of ``details``.
    hotfix_service_pack: int | None = None  # Hotfix key 'Service Pack' DWORD (SP folder meaning)
    package_name: str | None = None  # as the evidence names it: Updates PackageName, CBS identity
    uninstall_command: str | None = None  # Add/Remove Programs UninstallString

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "installed_at": iso(self.installed_at),
            "precision": self.precision,
            "state": self.state,
            "files": [f.to_dict() for f in self.files],
            "sources": [s.to_dict() for s in self.sources],
            "sp_folder": self.sp_folder,
            "description": self.description,
            "details": dict(self.details),
            "times": [t.to_dict() for t in self.times],
            "hotfix_service_pack": self.hotfix_service_pack,
            "package_name": self.package_name,
            "uninstall_command": self.uninstall_command,
        }


@dataclass(frozen=True)
class FileState:
    """A component file as it really is on disk: PE version resource and NTFS times."""

    path: str  # Windows path relative to the volume root, e.g. WINDOWS\system32\inetsrv\w3core.dll
    version: str | None
    lab_tag: str | None
    file_version_string: str | None
    product_version: str | None
    size: int | None
    sha256: str | None
    modified_at: datetime | None  # $STANDARD_INFORMATION
    created_at: datetime | None
    fn_created_at: datetime | None = None  # $FILE_NAME
    fn_modified_at: datetime | None = None
    component: str | None = None
    link_time: datetime | None = None  # PE COFF TimeDateStamp
    sources: tuple[Provenance, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "version": self.version,
            "lab_tag": self.lab_tag,
            "file_version_string": self.file_version_string,
            "product_version": self.product_version,
            "size": self.size,
            "sha256": self.sha256,
            "modified_at": iso(self.modified_at),
            "created_at": iso(self.created_at),
            "fn_created_at": iso(self.fn_created_at),
            "fn_modified_at": iso(self.fn_modified_at),
            "component": self.component,
            "link_time": iso(self.link_time),
            "sources": [s.to_dict() for s in self.sources],
        }


@dataclass(frozen=True)
class PendingRename:
    """One PendingFileRenameOperations pair: source -> destination ('' = delete)."""

    source: str
    destination: str
    replace_existing: bool = False
    sources: tuple[Provenance, ...] = ()


@dataclass(frozen=True)
class SoftwareInstall:
    """A non-Microsoft program's Add/Remove Programs entry: the installer that may have put old DLLs back."""

    name: str
    publisher: str | None
    version: str | None
    install_location: str | None
    installed_at: datetime | None  # InstallDate (local date -> UTC local midnight) or key last-written time
    precision: Precision | None
    times: tuple[SourceTime, ...] = ()
    source: Provenance = Provenance("")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "publisher": self.publisher,
            "version": self.version,
            "install_location": self.install_location,
            "installed_at": iso(self.installed_at),
            "precision": self.precision,
            "times": [t.to_dict() for t in self.times],
            "source": self.source.to_dict(),
        }


# -- the timeline's inputs: decoded event records, log events and traffic ---------------------------------


@dataclass(frozen=True)
class EventRecord:
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "log": self.log,
            "provider": self.provider,
            "event_id": self.event_id,
            "level": self.level,
            "at": iso(self.at),
            "record_number": self.record_number,
            "strings": list(self.strings),
            "data": dict(self.data),
            "computer": self.computer,
            "user_sid": self.user_sid,
            "raw_event_id": self.raw_event_id,
            "category": self.category,
            "message": self.message,
            "past_stale_header": self.past_stale_header,
            "source": self.source.to_dict(),
        }


@dataclass(frozen=True)
class LogEvent:
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

    def detail(self, name: str, default: str | None = None) -> str | None:
        return dict(self.details).get(name, default)

    def to_dict(self) -> dict[str, Any]:
        return {
            "log": self.log,
            "what": self.what,
            "at": iso(self.at),
            "precision": self.precision,
            "subject": self.subject,
            "text": self.text,
            "details": dict(self.details),
            "source": self.source.to_dict(),
            "sp_level": self.sp_level,
            "outcome": self.outcome.to_dict() if self.outcome else None,
            "update_id": self.update_id,
            "file_path": self.file_path,
            "file_version": self.file_version,
        }


@dataclass(frozen=True)
class ErrorRun:
    """Consecutive 5xx answers with no success in between: what users saw while the site was down."""

    start: datetime
    end: datetime
    count: int
    statuses: tuple[tuple[int, int], ...]  # (status, count)
    first_line: Provenance
    reasons: tuple[tuple[str, int], ...] = ()  # HTTPERR s-reason counts (AppOffline, QueueFull, ...)
    queues: tuple[str, ...] = ()  # HTTPERR s-queuename: the application pool(s)


@dataclass(frozen=True)
class TrafficDay:
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
class FileLeftBehind:
    """A file an install session did not put in place, and the typed reason its log gives.

    ``reason``: ``in-use-delayed`` (in use, queued for replacement at the next boot),
    ``copy-failed`` (CopyFileEx failed), ``move-failed`` (MoveFileEx failed), ``not-replaced`` (the log says
    the file was not replaced), ``other``.
    """

    path: str
    reason: str
    code: int | None = None  # the Win32 / HRESULT error the log gives, when it gives one

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "reason": self.reason, "code": self.code}


@dataclass(frozen=True)
class InstallOutcome:
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "files_replaced": self.files_replaced,
            "left_behind": [f.to_dict() for f in self.left_behind],
            "reboot_required": self.reboot_required,
            "return_code": self.return_code,
            "extended_error": self.extended_error,
        }


@dataclass(frozen=True)
class TimelineSource:
    """One artefact attesting a timeline entry, with its own time claim and what it says."""

    type: str  # "registry" | "event" | "log" | "file" | "traffic"
    at: datetime | None
    precision: Precision | None
    says: str
    provenance: Provenance

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": self.type,
            "at": iso(self.at),
            "precision": self.precision,
            "says": self.says,
        }
        data.update(self.provenance.to_dict())
        return data


#: Timeline kinds that are failure *evidence* (event records, crash logs): what a failure episode is made of.
#: Defined once here (issue 16 item 2); the diagnosis, reports, plots and the repro plan all read it.
FAILURE_EVENT_KINDS = frozenset({"service-failure", "worker-process-failure", "rapid-fail-disable", "crash"})
#: The kind of the entry scanner/timeline/episodes.py adds: a sustained failure, from its onset to its end.
EPISODE_KIND = "failure-episode"
#: Every kind of failure *record* a report shows and counts (with an unexpected shutdown, never an onset).
FAILURE_KINDS = FAILURE_EVENT_KINDS | {"unexpected-shutdown"}


@dataclass(frozen=True)
class TimelineEntry:
    """One real-world event (an install, a boot, a crash...), carrying every source that attests it.

    JSON contract (issue 4, also the ``scan`` JSON's ``timeline``): ``at`` (UTC ISO-8601), ``precision``,
    ``kind``, ``subject``, ``summary``, ``sources[]``; plus ``end``, ``conflicts`` and ``details``. Kinds:
    ``service-pack``, ``hotfix``, ``update``, ``package-state-change``, ``component-install``,
    ``software-install``, ``reboot``, ``unexpected-shutdown``, ``service-failure``,
    ``worker-process-failure``, ``rapid-fail-disable``, ``crash``, ``traffic``, ``file-replaced``,
    ``failure-episode`` (a sustained failure: ``at`` its onset, ``end`` its last evidence, ``sources`` the
    evidence it is made of, ``components`` the profile components that failed).
    """

    at: datetime | None
    precision: Precision | None
    kind: str
    subject: str
    summary: str
    sources: tuple[TimelineSource, ...]
    end: datetime | None = None
    conflicts: tuple[str, ...] = ()
    details: tuple[tuple[str, str], ...] = ()
    # Typed interpretation (issue 13): decisions read these, never summary/details.
    update_ids: tuple[str, ...] = ()  # every KB/Q id the entry's sources attest (install kinds)
    sp_level: int | None = None  # the service-pack number an SP entry installs, or the SP a boot reports
    outcome: InstallOutcome | None = None  # what the install session did, when a log or record says
    components: tuple[str, ...] = ()  # a failure episode's profile components (profiles/components ids)

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": iso(self.at),
            "precision": self.precision,
            "kind": self.kind,
            "subject": self.subject,
            "summary": self.summary,
            "sources": [s.to_dict() for s in self.sources],
            "end": iso(self.end),
            "conflicts": list(self.conflicts),
            "details": dict(self.details),
            "update_ids": list(self.update_ids),
            "sp_level": self.sp_level,
            "outcome": self.outcome.to_dict() if self.outcome else None,
            "components": list(self.components),
        }


@dataclass
class Inventory:
    """Everything the evidence and collector stages found; the input of the later stages."""

    source: dict[str, Any]
    system: SystemFacts | None
    updates: list[UpdateRecord] = field(default_factory=list)
    files: list[FileState] = field(default_factory=list)
    pending_renames: list[PendingRename] = field(default_factory=list)
    facts: list[tuple[str, str, Provenance]] = field(default_factory=list)  # (name, value, where)
    uninstall_folders: list[Any] = field(default_factory=list)  # collectors.files.UninstallFolder
    gaps: list[Gap] = field(default_factory=list)
    software: list[SoftwareInstall] = field(default_factory=list)
    component_times: list[tuple[str, SourceTime]] = field(default_factory=list)  # (component id, claim)
    folders: list[Any] = field(default_factory=list)  # collectors.folders.ComponentFolder, profile order
    # the staged copies PendingFileRenameOperations would move into place, read for their PE version
    staged_files: list[FileState] = field(default_factory=list)


# -- the verdict: findings and the diagnosis (issue 5) ------------------------------------------------------

Severity = Literal["critical", "warning", "info"]
#: Most severe first: the one order reports sort by and ``scan --fail-on`` compares with.
SEVERITY_ORDER: dict[str, int] = {"critical": 0, "warning": 1, "info": 2}
Confidence = Literal["high", "medium", "low"]


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence behind a claim: what the artefact says, where, and (if dated) when."""

    says: str
    source: Provenance
    at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"says": self.says, "at": iso(self.at), **self.source.to_dict()}


@dataclass(frozen=True)
class FindingFile:
    """A file a finding is about: what is on disk, and what it should be (baseline / recorded version)."""

    path: str  # Windows path relative to the volume root
    version: str | None
    lab_tag: str | None = None
    expected: str | None = None  # "6.0.3790.3959 (Service Pack 2 baseline)", or a hotfix's recorded version
    component: str | None = None
    modified_at: datetime | None = None
    created_at: datetime | None = None
    # hotfix-files-regressed (offline qfecheck): the hotfix whose version is gone, the version it
    # installed (Filelist / its log) or, from its $NtUninstall$ backup, the one it replaced; what put the
    # older copy back (the install entry's subject and kind) and when. reboot-pending: the update whose
    # copy waits (recorded_by) and the staged version (recorded_version).
    recorded_by: str | None = None
    recorded_version: str | None = None
    previous_version: str | None = None
    replaced_by: str | None = None
    replaced_by_kind: str | None = None
    replaced_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "version": self.version,
            "lab_tag": self.lab_tag,
            "expected": self.expected,
            "component": self.component,
            "modified_at": iso(self.modified_at),
            "created_at": iso(self.created_at),
            "recorded_by": self.recorded_by,
            "recorded_version": self.recorded_version,
            "previous_version": self.previous_version,
            "replaced_by": self.replaced_by,
            "replaced_by_kind": self.replaced_by_kind,
            "replaced_at": iso(self.replaced_at),
        }


@dataclass(frozen=True)
class Finding:
    """One rule's conclusion. JSON contract (issue 5): rule, severity, title, summary, files, updates,
    evidence, remediation, confidence; plus attribution, at, details.

    ``attribution`` says what caused the condition when the evidence shows it (files-below-service-pack:
    ``component-installed-from-older-media`` | ``service-pack-install-incomplete`` |
    ``third-party-installer`` | ``unknown``; hotfix-files-regressed names what replaced the file). ``at``
    dates the condition when known.
    """

    rule: str
    severity: Severity
    title: str
    summary: str
    files: tuple[FindingFile, ...] = ()
    updates: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    remediation: tuple[str, ...] = ()
    confidence: Confidence = "medium"
    attribution: str | None = None
    at: datetime | None = None
    details: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "title": self.title,
            "summary": self.summary,
            "files": [f.to_dict() for f in self.files],
            "updates": list(self.updates),
            "evidence": [e.to_dict() for e in self.evidence],
            "remediation": list(self.remediation),
            "confidence": self.confidence,
            "attribution": self.attribution,
            "at": iso(self.at),
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class Diagnosis:
    """The verdict: when it broke, what set it off, what latent condition that exposed, and the fix.

    JSON contract (issue 5): failure_onset, trigger, latent_cause, summary, remediation; plus the rest.
    ``latent_cause`` is a rule id; ``trigger`` an update id. All None with an honest ``summary`` when the
    evidence does not support a root cause.
    """

    failure_onset: datetime | None
    trigger: str | None
    latent_cause: str | None
    summary: str
    remediation: tuple[str, ...] = ()
    confidence: Confidence | None = None
    cause_attribution: str | None = None
    symptom: str | None = None
    last_good: datetime | None = None
    trigger_at: datetime | None = None
    trigger_gap_seconds: int | None = None
    contributing: tuple[str, ...] = ()  # other rule ids the latent condition came with
    known_issue: str | None = None  # profiles/interactions id, e.g. "KB2009746"
    references: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "failure_onset": iso(self.failure_onset),
            "trigger": self.trigger,
            "latent_cause": self.latent_cause,
            "summary": self.summary,
            "remediation": list(self.remediation),
            "confidence": self.confidence,
            "cause_attribution": self.cause_attribution,
            "symptom": self.symptom,
            "last_good": iso(self.last_good),
            "trigger_at": iso(self.trigger_at),
            "trigger_gap_seconds": self.trigger_gap_seconds,
            "contributing": list(self.contributing),
            "known_issue": self.known_issue,
            "references": list(self.references),
            "evidence": [e.to_dict() for e in self.evidence],
        }


# -- the component table: each profile file's level (issue 6) -----------------------------------------------


@dataclass(frozen=True)
class ComponentFileLevel:
    """One file a component profile names, as found on disk, placed against the installed SP's baseline.

    ``sp_level`` is the service pack the file's version belongs to (0 = RTM; None when the OS profile cannot
    place it, e.g. a version family that does not follow the OS SP). ``below_baseline`` is exactly the
    files-below-service-pack rule's verdict, so the table and the findings never disagree.
    """

    path: str  # Windows path relative to the volume root (the expected path when the file is missing)
    present: bool
    version: str | None
    lab_tag: str | None
    sp_level: int | None
    sp_name: str | None
    modified_at: datetime | None
    created_at: datetime | None
    below_baseline: bool
    expected: str | None = None  # the baseline version text, when below
    optional: bool = False
    why: str = ""
    sources: tuple[Provenance, ...] = ()
    listed: bool = True  # False: found only by listing the component's folders (the profile does not name it)
    listed_path: str | None = None  # the path the profile names, when the file was found at another path

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "present": self.present,
            "version": self.version,
            "lab_tag": self.lab_tag,
            "sp_level": self.sp_level,
            "sp_name": self.sp_name,
            "modified_at": iso(self.modified_at),
            "created_at": iso(self.created_at),
            "below_baseline": self.below_baseline,
            "expected": self.expected,
            "optional": self.optional,
            "why": self.why,
            "sources": [s.to_dict() for s in self.sources],
            "listed": self.listed,
            "listed_path": self.listed_path,
        }


@dataclass(frozen=True)
class ComponentLevels:
    """A profile component (e.g. ``iis6``) and the level of each of its files."""

    id: str
    title: str
    files: tuple[ComponentFileLevel, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "files": [f.to_dict() for f in self.files]}
