"""Facts -> observations: the :class:`Observation` type, and what the registry and files say happened.

An :class:`Observation` is one source's claim about one real-world event, already keyed by what it is about
(``KB973917``, ``SP2``, ``iis6``, a boot, a pool). ``fuse.py`` groups observations of the same event into one
timeline entry. Keeping this step separate keeps fusion independent of artefact formats: a new source only
needs a function here (registry records, installs and files here; event records in observe_events.py, text
logs in observe_logs.py, IIS traffic in observe_traffic.py).

Whether a registry claim is an anchor and which clock it was taken on are typed on the claim
(``SourceTime.anchor``, ``SourceTime.clock``), set by the collector that read it; nothing here reads
``says``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from scanner.model import (
    FileState,
    InstallOutcome,
    Inventory,
    Precision,
    Provenance,
    SourceTime,
    TimelineSource,
    TrafficMark,
)
from scanner.model.update_ids import normalise_update_id, sp_number, update_ids_in
from scanner.model.versions import FileVersion, version_text


@dataclass(frozen=True)
class Observation:
    """One source's claim: ``group`` says how fusion treats it, ``key`` what it is about.

    ``local_clock`` marks a time the source wrote in local time and we converted with the zone rule the
    registry holds now (``clock`` in :data:`~scanner.model.UNCONFIRMED_LOCAL`): if the zone was changed after
    the event, it is off by the difference, so fusion trusts UTC-native sources (event records, NTFS times,
    logs stamped with their own offset) first.

    ``anchor`` observations carry a precise time of the event itself (a log session start, an event record, a
    folder's creation); the others (a key's last write, a local date) are attached to the nearest anchor and
    checked against it for conflicts.

    ``summary`` and ``details`` are for people (the entry shows them); every decision fusion makes reads the
    typed fields below them (issue 16).
    """

    group: str  # install | component | software | os-install | boot | shutdown | unexpected-shutdown |
    # failure | crash | traffic | file | sp-now
    key: str
    kind: str
    at: datetime | None
    precision: Precision | None
    source: TimelineSource
    anchor: bool = True
    role: str = "attest"  # start | end | attest | error | reboot-required | file | after
    subject: str = ""
    summary: str = ""
    details: tuple[tuple[str, str], ...] = ()
    local_clock: bool = False  # a local time converted with today's zone rule (may be hours off)
    update_ids: tuple[str, ...] = ()  # KB/Q ids this source attests (a title may name several)
    sp_level: int | None = None  # SP number this source names (an SP install, a boot's reported SP)
    outcome: InstallOutcome | None = None  # what the install session did, when this source says
    component: str = ""  # the component a failure belongs to (an event profile's `component`)
    # Typed (issue 16): what fusion reads instead of ``details``.
    log_what: str = ""  # a log line's LogEvent.what (an install run's start/end marker)
    record_state: str | None = None  # the update's registry record state (UpdateRecord.state)
    state_text: str = ""  # for people only: a package state as the record or a CBS log line words it
    os_name: str = ""  # the OS a boot reports (6009), and the one the previous boot reported when it differs
    os_changed_from: str = ""
    end: datetime | None = None  # the end of a traffic span (a day's last request, a 5xx run's last answer)
    traffic: TrafficMark | None = None  # what a traffic observation is
    sp_from: str = ""  # the registry value an undated SP-level statement ("sp-now") reads
    file_version: FileVersion | None = None  # a created file's PE version (numbers an SP by its files)


def update_key(text: str | None) -> str | None:
    """``KB973917`` for any spelling of an update id; ``SP2`` for a service pack name; else None."""
    if not text:
        return None
    if found := normalise_update_id(text):
        return found
    if (level := sp_number(text)) is not None:
        return f"SP{level}"
    return None


def sp_of_key(key: str) -> int | None:
    """``SP2`` -> 2 (a key update_key made); ``SP?`` and update ids -> None."""
    return int(key[2:]) if key.startswith("SP") and key[2:].isdigit() else None


def source(
    kind: str, at: datetime | None, precision: Precision | None, says: str, prov: Provenance
) -> TimelineSource:
    """A timeline source whose time was written in UTC (NTFS, registry FILETIMEs, IIS logs)."""
    return TimelineSource(kind, at, precision, says, prov)


def from_inventory(inv: Inventory) -> Iterator[Observation]:
    """Registry update records, third-party installs, the OS install date and uninstall folders."""
    for record in inv.updates:
        level = (
            (sp_number(record.id) or sp_number(record.description or ""))
            if record.kind == "service-pack"
            else None
        )
        key = f"SP{level}" if level else update_key(record.id) or record.id
        kind = _update_kind(record.kind, record.state)
        title = record.description or record.id
        for claim in record.times:
            yield Observation(
                "install",
                key,
                kind,
                *_placed(claim),
                _claim(claim),
                anchor=claim.anchor and claim.precision == "second",
                subject=record.id,
                summary=title,
                details=(("state", record.state),),
                record_state=record.state,
                state_text=record.state,
                update_ids=_ids(record.id, key),
                sp_level=sp_of_key(key),
            )
        if not record.times:
            for prov in record.sources[:1]:
                yield Observation(
                    "install",
                    key,
                    kind,
                    None,
                    None,
                    source("registry", None, None, title, prov),
                    anchor=False,
                    subject=record.id,
                    summary=title,
                    update_ids=_ids(record.id, key),
                    sp_level=sp_of_key(key),
                )
    for app in inv.software:
        for claim in app.times:
            yield Observation(
                "software",
                app.name.lower(),
                "software-install",
                *_placed(claim),
                _claim(claim),
                anchor=claim.anchor,
                subject=app.name,
                summary=f"{app.name} {app.version or ''} installed ({app.publisher or 'publisher unknown'})",
            )
    for component, claim in inv.component_times:
        yield Observation(
            "component",
            component.lower(),
            "component-install",
            claim.at,
            claim.precision,
            _claim(claim),
            anchor=False,
            subject=component,
            summary=claim.says,
        )
    system = inv.system
    if system is not None and system.install_date is not None:
        found = next((s for s in system.sources if "InstallDate" in s.locator), None)
        prov = found or Provenance(
            f"{system.system_root or ''}\\system32\\config\\SOFTWARE",
            "Microsoft\\Windows NT\\CurrentVersion\\InstallDate",
        )
        product = system.product or "Windows"
        yield Observation(
            "os-install",
            "os",
            "os-install",
            system.install_date,
            "second",
            source("registry", system.install_date, "second", "InstallDate (CurrentVersion)", prov),
            subject=product,
            summary=f"{product} installed",
        )
    yield from _sp_now(inv)
    for folder in inv.uninstall_folders:
        if folder.created_at is None or folder.kind == "hotfix-migration":
            continue
        key = folder.update_id or "SP?"
        says = f"{folder.path} created ({len(folder.files)} backed-up file(s))"
        yield Observation(
            "install",
            key,
            "service-pack" if folder.update_id is None else "hotfix",
            folder.created_at,
            "second",
            source("file", folder.created_at, "second", says, folder.sources[0]),
            role="start",
            subject=folder.update_id or "",
            summary=says,
            update_ids=(folder.update_id,) if folder.update_id else (),
        )


def _placed(claim: SourceTime) -> tuple[datetime | None, Precision | None]:
    """The time a claim places its event at: none for a ``not-after`` bound (an Uninstall key rewritten
    after its InstallDate's day), which stays a source with its own time but does not move the entry."""
    return (claim.at, claim.precision) if claim.bound == "at" else (None, None)


def _sp_now(inv: Inventory) -> Iterator[Observation]:
    """What the registry says of the SP level now: ``CSDVersion`` and a ``ServicePackSourcePath`` naming a
    number. Group ``sp-now``: not events, but what fusion may number the latest SP install with."""
    system = inv.system
    if system is not None and system.csd_version and (level := sp_number(system.csd_version)) is not None:
        found = next((s for s in system.sources if s.locator.endswith("CSDVersion")), None)
        found = found or next((s for s in system.sources if s.locator.endswith("CurrentVersion")), None)
        prov = found or Provenance(f"{system.system_root or ''}\\system32\\config\\SOFTWARE", "CSDVersion")
        says = f"CSDVersion = {system.csd_version} (the level now)"
        yield _sp_statement("csd", says, prov, level, "CSDVersion")
    for name, value, prov in inv.facts:
        if name == "ServicePackSourcePath" and (level := sp_number(value)) is not None:
            yield _sp_statement("source-path", f"ServicePackSourcePath = {value}", prov, level, name)


def _sp_statement(key: str, says: str, prov: Provenance, level: int, value_name: str) -> Observation:
    """An undated registry statement of the SP level the system is at now (a last resort for an SP entry)."""
    return Observation(
        "sp-now",
        key,
        "service-pack",
        None,
        None,
        source("registry", None, None, says, prov),
        anchor=False,
        sp_level=level,
        sp_from=value_name,
    )


def _ids(record_id: str, key: str) -> tuple[str, ...]:
    """The update ids a registry record attests: every KB its id names (an SP record names none)."""
    if key.startswith("SP"):
        return ()
    return update_ids_in(record_id) or ((key,) if normalise_update_id(key) else ())


def _claim(claim: SourceTime) -> TimelineSource:
    return TimelineSource("registry", claim.at, claim.precision, claim.says, claim.source, claim.clock)


def _update_kind(kind: str, state: str) -> str:
    if kind == "package":
        return "update" if state in ("installed", "permanent", "superseded") else "package-state-change"
    return kind


def from_files(files: Iterable[FileState], inv: Inventory) -> Iterator[Observation]:
    """Each component file's NTFS creation time: when this copy of the file was put on the disk.

    A file an update recorded in its Filelist, at the version it recorded, attests that update; any other
    file is a ``file`` observation that fusion attaches to whatever install happened at that time.
    """
    recorded: dict[tuple[str, str], str] = {}
    for record in inv.updates:
        for rf in record.files:
            if rf.version:
                recorded[(rf.name.lower(), rf.version)] = update_key(record.id) or record.id
    for state in files:
        when = state.fn_created_at or state.created_at
        if when is None or not state.sources:
            continue
        name = state.path.rsplit("\\", 1)[-1]
        says = f"{name} {state.version or '(no version)'} created"
        found = source("file", when, "second", says, state.sources[0])
        version = state.version
        owner = recorded.get((name.lower(), version_text(state.version) or ""))
        if owner:
            yield Observation(
                "install",
                owner,
                "hotfix",
                when,
                "second",
                found,
                role="file",
                subject=owner,
                summary=says,
                details=(("path", state.path), ("version", version_text(state.version) or "")),
                file_version=version,
            )
        else:
            yield Observation(
                "file",
                state.path.lower(),
                "file-replaced",
                when,
                "second",
                found,
                role="file",
                subject=state.path,
                summary=says,
                details=(("path", state.path), ("version", version_text(state.version) or "")),
                file_version=version,
            )


def shift(value: datetime | None, seconds: float) -> datetime | None:
    """``value`` moved by ``seconds``; None when the sum leaves datetime's range (a hostile year 9999)."""
    try:
        return value + timedelta(seconds=seconds) if value is not None else None
    except OverflowError:
        return None
