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

Precision = Literal["second", "minute", "day"]


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "key_name": self.key_name,
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
    service_pack: int  # 0 at RTM
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
            "timezone": self.timezone.standard_name if self.timezone else None,
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
