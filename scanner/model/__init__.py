"""Facts every stage shares: frozen dataclasses with their provenance.

A fact without its artefact path and locator (key + value name, log line, event record, MFT entry) cannot
appear in a report (STYLE.md, after dissect's registry record descriptors and plaso's parser chain). What a
collector cannot read becomes a :class:`Gap`, never an omission, so a reader knows what was not checked.

Times are timezone-aware UTC ``datetime`` values; ``precision`` says how much of them the source really had.
JSON field names produced by ``to_dict`` methods are a contract (README "JSON output"): add, never rename.
"""

from __future__ import annotations

from scanner.model.facts import (
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
    TimelineEntry,
    TimelineSource,
)
from scanner.model.verdict import (
    SEVERITY_ORDER,
    ComponentFileLevel,
    ComponentLevels,
    Confidence,
    Diagnosis,
    Evidence,
    Finding,
    FindingFile,
    Severity,
)
from scanner.model.versions import FileVersion, version_text

__all__ = [
    "EPISODE_KIND",
    "FAILURE_EVENT_KINDS",
    "FAILURE_KINDS",
    "SEVERITY_ORDER",
    "ComponentFileLevel",
    "ComponentLevels",
    "Confidence",
    "Diagnosis",
    "ErrorRun",
    "EventRecord",
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
    "UpdateRecord",
    "iso",
    "version_text",
]
