"""Facts the collectors read off the evidence: the system, its updates, its files and programs.

Every fact carries its :class:`Provenance`; what a collector cannot read becomes a :class:`Gap`.
Times are timezone-aware UTC ``datetime`` values; ``precision`` says how much of them the source really had.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from scanner.model.versions import FileVersion, version_text

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
    cbs_state: int | None = None  # CBS package CurrentState DWORD as stored (issue 16: typed, not details)

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
            "cbs_state": self.cbs_state,
        }


@dataclass(frozen=True)
class FileState:
    """A component file as it really is on disk: PE version resource and NTFS times."""

    path: str  # Windows path relative to the volume root, e.g. WINDOWS\system32\inetsrv\w3core.dll
    version: FileVersion | None  # the VS_FIXEDFILEINFO version, four integers (JSON: the dotted string)
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
            "version": version_text(self.version),
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
