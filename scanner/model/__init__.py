"""Facts every stage shares: frozen dataclasses with their provenance.

A fact without its artefact path and locator (key + value name, log line, event record, MFT entry) cannot
appear in a report (STYLE.md, after dissect's registry record descriptors and plaso's parser chain). What a
collector cannot read becomes a :class:`Gap`, never an omission, so a reader knows what was not checked.

Times are timezone-aware UTC ``datetime`` values; ``precision`` says how much of them the source really had.
A record's JSON (its ``to_dict()``) is its fields, written by the one codec (:mod:`scanner.model.codec`); the
field names are therefore a contract (README "JSON output"): add, never rename.
"""

from __future__ import annotations

from scanner.model.facts import (
    UNCONFIRMED_LOCAL,
    Clock,
    FileState,
    Gap,
    Inventory,
    PendingRename,
    Precision,
    Provenance,
    RecordedFile,
    SoftwareInstall,
    SourceTime,
    SystemFacts,
    TimeZoneFacts,
    UpdateRecord,
    iso,
)
from scanner.model.records import ErrorRun, EventRecord, FileLeftBehind, InstallOutcome, LogEvent, TrafficDay
from scanner.model.timeline import (
    EPISODE_KIND,
    FAILURE_EVENT_KINDS,
    FAILURE_KINDS,
    INSTALL_KINDS,
    SERVICING_KINDS,
    EventRef,
    TimelineEntry,
    TimelineSource,
    TrafficMark,
)
from scanner.model.verdict import (
    SERIOUS,
    SEVERITY_ORDER,
    ComponentFileLevel,
    ComponentLevels,
    Confidence,
    Diagnosis,
    Evidence,
    Finding,
    FindingFile,
    Severity,
    at_least,
    is_serious,
    severity_rank,
)
from scanner.model.versions import FileVersion, version_text

__all__ = [
    "EPISODE_KIND",
    "FAILURE_EVENT_KINDS",
    "FAILURE_KINDS",
    "INSTALL_KINDS",
    "SERIOUS",
    "SERVICING_KINDS",
    "SEVERITY_ORDER",
    "UNCONFIRMED_LOCAL",
    "Clock",
    "ComponentFileLevel",
    "ComponentLevels",
    "Confidence",
    "Diagnosis",
    "ErrorRun",
    "EventRecord",
    "EventRef",
    "Evidence",
    "FileLeftBehind",
    "FileState",
    "FileVersion",
    "Finding",
    "FindingFile",
    "Gap",
    "InstallOutcome",
    "Inventory",
    "LogEvent",
    "PendingRename",
    "Precision",
    "Provenance",
    "RecordedFile",
    "Severity",
    "SoftwareInstall",
    "SourceTime",
    "SystemFacts",
    "TimeZoneFacts",
    "TimelineEntry",
    "TimelineSource",
    "TrafficDay",
    "TrafficMark",
    "UpdateRecord",
    "at_least",
    "is_serious",
    "iso",
    "severity_rank",
    "version_text",
]
