"""Facts the collectors read off the evidence: the system, its updates, its files and programs.

Every fact carries its :class:`Provenance`; what a collector cannot read becomes a :class:`Gap`.
Times are timezone-aware UTC ``datetime`` values; ``precision`` says how much of them the source really had.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from scanner.model.codec import JsonRecord, JsonShape
from scanner.model.versions import FileVersion

Precision = Literal["second", "minute", "hour", "day"]

#: The clock a time was taken on (issue 16): fusion and reports read this, never the provenance note.
#:
#: - ``utc``: written in UTC by the source (NTFS and registry FILETIMEs, event records, W3C logs), or stamped
#:   with its own UTC offset (WindowsUpdate.log's report lines);
#: - ``zone-rule``: written in local time and converted with the ``TimeZoneInformation`` rule the registry
#:   holds now - hours off if the zone changed after the time was written;
#: - ``zone-confirmed``: local, converted with that rule, and an independent offset in the same artefact
#:   (WindowsUpdate.log's agent banner) agrees with it;
#: - ``log-offset``: local, converted with the offset the artefact itself writes (the agent banner) because
#:   the registry's rule disagrees with it or is missing;
#: - ``no-zone``: local, and the image has no ``TimeZoneInformation``: taken as UTC, an assumption.
Clock = Literal["utc", "zone-rule", "zone-confirmed", "log-offset", "no-zone"]
#: Local times converted with a rule nothing in the evidence confirms: trusted after the UTC-native ones.
UNCONFIRMED_LOCAL: frozenset[Clock] = frozenset({"zone-rule", "no-zone"})


@dataclass(frozen=True)
class Provenance(JsonRecord):
    """Where a fact came from: the artefact's path inside the image and a locator within it.

    Attributes:
        artifact: path inside the evidence, e.g. ``WINDOWS\\system32\\config\\SOFTWARE``.
        locator: key path + value name, ``line 12``, ``record 4711``, ``MFT entry 1234``...
        note: optional qualifier, e.g. ``recovered from transaction log software.LOG``.
    """

    artifact: str
    locator: str = ""
    note: str = ""

    json_shape: ClassVar[JsonShape] = JsonShape(omit_empty=("note",))


@dataclass(frozen=True)
class Gap(JsonRecord):
    """Something that could not be read or checked, and why."""

    what: str
    reason: str
    sources: tuple[Provenance, ...] = ()


def iso(value: datetime | None) -> str | None:
    """UTC ISO-8601 for JSON, or None."""
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class TimeZoneFacts(JsonRecord):
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

    # The contract (README "JSON output") names the raw references right after the key name.
    json_shape: ClassVar[JsonShape] = JsonShape(order=("key_name", "standard_name_ref", "daylight_name_ref"))


@dataclass(frozen=True)
class SystemFacts(JsonRecord):
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

    # "timezone" is the zone's standard name (what a reader wants), "timezone_info" the whole record.
    json_shape: ClassVar[JsonShape] = JsonShape(
        rename={"timezone": "timezone_info"},
        computed={"timezone": lambda s: (s.timezone.standard_name or None) if s.timezone else None},
        order=("product", "version", "build", "service_pack", "csd_version", "architecture", "hostname",
               "install_date", "system_root", "timezone", "timezone_info"),
    )


@dataclass(frozen=True)
class RecordedFile(JsonRecord):
    """A file an update says it installed (Updates ``Filelist\\<n>``), with the version it recorded."""

    name: str
    version: str | None
    location: str | None = None


@dataclass(frozen=True)
class SourceTime(JsonRecord):
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
    # Typed (issue 16): what fusion reads instead of ``says``. ``clock``: what ``at`` was taken on (a local
    # date is converted with the zone rule); ``anchor``: the claim times the event itself (an install's own
    # recorded time, its install folder's creation), not a key's last write or a local date, so fusion may
    # place the event by it and attach the others to it.
    clock: Clock = "utc"
    anchor: bool = False

    # The provenance's keys follow the claim, beside it (not nested), as in every timeline source.
    json_shape: ClassVar[JsonShape] = JsonShape(
        flatten=("source",), order=("at", "precision", "says", "bound")
    )


@dataclass(frozen=True)
class UpdateRecord(JsonRecord):
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


@dataclass(frozen=True)
class FileState(JsonRecord):
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


@dataclass(frozen=True)
class PendingRename(JsonRecord):
    """One PendingFileRenameOperations pair: source -> destination ('' = delete)."""

    source: str
    destination: str
    replace_existing: bool = False
    sources: tuple[Provenance, ...] = ()


@dataclass(frozen=True)
class SoftwareInstall(JsonRecord):
    """A non-Microsoft program's Add/Remove Programs entry: the installer that may have put old DLLs back."""

    name: str
    publisher: str | None
    version: str | None
    install_location: str | None
    installed_at: datetime | None  # InstallDate (local date -> UTC local midnight) or key last-written time
    precision: Precision | None
    times: tuple[SourceTime, ...] = ()
    source: Provenance = Provenance("")


@dataclass
class Inventory:
    """Everything the evidence and collector stages found; the input of the later stages."""

    source: dict[str, Any]
    system: SystemFacts | None
    updates: list[UpdateRecord] = field(default_factory=list)
    files: list[FileState] = field(default_factory=list)
    pending_renames: list[PendingRename] = field(default_factory=list)
    facts: list[tuple[str, str, Provenance]] = field(default_factory=list)  # (name, value, where)
    uninstall_folders: list[Any] = field(default_factory=list)  # collectors.uninstall.UninstallFolder
    gaps: list[Gap] = field(default_factory=list)
    software: list[SoftwareInstall] = field(default_factory=list)
    component_times: list[tuple[str, SourceTime]] = field(default_factory=list)  # (component id, claim)
    folders: list[Any] = field(default_factory=list)  # collectors.folders.ComponentFolder, profile order
    # the staged copies PendingFileRenameOperations would move into place, read for their PE version
    staged_files: list[FileState] = field(default_factory=list)
