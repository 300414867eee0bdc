"""Facts -> observations: what each registry record, event, log line, file and traffic day says happened.

An :class:`Observation` is one source's claim about one real-world event, already keyed by what it is about
(``KB973917``, ``SP2``, ``iis6``, a boot, a pool). ``fuse.py`` groups observations of the same event into one
timeline entry. Keeping this step separate keeps fusion independent of artefact formats: a new source only
needs a function here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from scanner.collectors.localtime import converted_with_rule
from scanner.collectors.update_ids import normalise_update_id, sp_number, update_ids_in
from scanner.model import (
    FileState,
    InstallOutcome,
    Inventory,
    LogEvent,
    Precision,
    Provenance,
    SourceTime,
    TimelineSource,
    TrafficDay,
)
from scanner.model.versions import version_text

#: Log families that narrate installs of updates and service packs.
_INSTALL_LOGS = {"update.exe", "svcpack", "windowsupdate", "cbs", "wua", "updspapi"}


@dataclass(frozen=True)
class Observation:
    """One source's claim: ``group`` says how fusion treats it, ``key`` what it is about.

    ``local_clock`` marks a time the source wrote in local time and we converted with the zone rule the
    registry holds now: if the zone was changed after the event, it is off by the difference, so fusion trusts
    UTC-native sources (event records, NTFS times, logs stamped with their own offset) first.

    ``anchor`` observations carry a precise time of the event itself (a log session start, an event record, a
    folder's creation); the others (a key's last write, a local date) are attached to the nearest anchor and
    checked against it for conflicts.
    """

    group: str  # install | component | software | os-install | boot | shutdown | unexpected-shutdown |
    # failure | crash | traffic | file
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


def update_key(text: str | None) -> str | None:
    """``KB973917`` for any spelling of an update id; ``SP2`` for a service pack name; else None."""
    if not text:
        return None
    if found := normalise_update_id(text):
        return found
    if (level := sp_number(text)) is not None:
        return f"SP{level}"
    return None


def _sp_of_key(key: str) -> int | None:
    """``SP2`` -> 2 (a key update_key made); ``SP?`` and update ids -> None."""
    return int(key[2:]) if key.startswith("SP") and key[2:].isdigit() else None


def _src(
    kind: str, at: datetime | None, precision: Precision | None, says: str, prov: Provenance
) -> TimelineSource:
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
            anchor = claim.precision == "second" and "InstallTime" in claim.says
            yield Observation(
                "install",
                key,
                kind,
                *_placed(claim),
                _claim(claim),
                anchor=anchor,
                subject=record.id,
                summary=title,
                details=(("state", record.state),),
                update_ids=_ids(record.id, key),
                sp_level=_sp_of_key(key),
            )
        if not record.times:
            for prov in record.sources[:1]:
                yield Observation(
                    "install",
                    key,
                    kind,
                    None,
                    None,
                    _src("registry", None, None, title, prov),
                    anchor=False,
                    subject=record.id,
                    summary=title,
                    update_ids=_ids(record.id, key),
                    sp_level=_sp_of_key(key),
                )
    for app in inv.software:
        for claim in app.times:
            yield Observation(
                "software",
                app.name.lower(),
                "software-install",
                *_placed(claim),
                _claim(claim),
                anchor=claim.says.startswith("install folder"),
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
            _src("registry", system.install_date, "second", "InstallDate (CurrentVersion)", prov),
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
            _src("file", folder.created_at, "second", says, folder.sources[0]),
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
        _src("registry", None, None, says, prov),
        anchor=False,
        sp_level=level,
        details=(("sp_from", value_name),),
    )


def _ids(record_id: str, key: str) -> tuple[str, ...]:
    """The update ids a registry record attests: every KB its id names (an SP record names none)."""
    if key.startswith("SP"):
        return ()
    return update_ids_in(record_id) or ((key,) if normalise_update_id(key) else ())


def _claim(claim: SourceTime) -> TimelineSource:
    return TimelineSource("registry", claim.at, claim.precision, claim.says, claim.source)


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
        source = _src("file", when, "second", says, state.sources[0])
        owner = recorded.get((name.lower(), version_text(state.version) or ""))
        if owner:
            yield Observation(
                "install",
                owner,
                "hotfix",
                when,
                "second",
                source,
                role="file",
                subject=owner,
                summary=says,
                details=(("path", state.path), ("version", version_text(state.version) or "")),
            )
        else:
            yield Observation(
                "file",
                state.path.lower(),
                "file-replaced",
                when,
                "second",
                source,
                role="file",
                subject=state.path,
                summary=says,
                details=(("path", state.path), ("version", version_text(state.version) or "")),
            )


def _local_clock(event: LogEvent) -> bool:
    """Converted with the registry's zone rule (zone_note), not stamped with the writer's own offset."""
    return converted_with_rule(event.source.note)


def from_logs(events: Iterable[LogEvent]) -> Iterator[Observation]:
    """Text-log events by family: installs, component installs, crashes."""
    for event in events:
        local = _local_clock(event)
        says = f"{event.text}"
        source = _src("log", event.at, event.precision, says, event.source)
        details = event.details
        if event.log == "drwatson":
            subject = (event.subject or "").rsplit("\\", 1)[-1]
            yield Observation(
                "crash",
                subject.lower(),
                "crash",
                event.at,
                event.precision,
                source,
                subject=subject,
                summary=f"{subject} crashed (Dr. Watson)",
                details=details,
                local_clock=local,
            )
        elif event.log in ("iis-setup", "setupapi") and event.what in (
            "component-install",
            "install-start",
            "install-end",
        ):
            subject = event.subject or ""
            # setupapi.log names the setup program, not the component: fusion joins it by time.
            yield Observation(
                "component",
                subject.lower() if event.log == "iis-setup" else "setupapi",
                "component-install",
                event.at,
                event.precision,
                source,
                role="start" if event.what != "install-end" else "end",
                anchor=event.log == "iis-setup",
                subject=subject,
                summary=event.text,
                details=details,
                local_clock=local,
            )
        elif event.log in _INSTALL_LOGS or event.log in ("iis-setup", "setupapi"):
            key = f"SP{event.sp_level}" if event.sp_level is not None else update_key(event.subject)
            if key is None and event.log == "svcpack":
                key = "SP?"  # no line of this session names the SP's number: fusion resolves it (fuse.py)
            if key is None:
                continue
            kind = (
                "service-pack"
                if key.startswith("SP")
                else (
                    "package-state-change"
                    if event.log == "cbs"
                    else "update"
                    if event.log == "windowsupdate"
                    else "hotfix"
                )
            )
            role = {
                "install-start": "start",
                "install-end": "end",
                "package-state": "end",
                "error": "error",
                "reboot-required": "reboot-required",
                "file-replaced": "file",
                "file-not-replaced": "error",
                "download": "before",
            }.get(event.what, "attest")
            yield Observation(
                "install",
                key,
                kind,
                event.at,
                event.precision,
                source,
                role=role,
                anchor=event.what in ("install-start", "install-end", "package-state"),
                subject=event.subject or key,
                summary=event.text,
                details=details + (("what", event.what), ("log", event.log)),
                local_clock=local,
                update_ids=update_ids_in(event.subject or "") if not key.startswith("SP") else (),
                sp_level=event.sp_level if event.sp_level is not None else _sp_of_key(key),
                outcome=event.outcome,
            )


def from_traffic(days: Iterable[TrafficDay]) -> Iterator[Observation]:
    """Per-day traffic, each run of 5xx answers, and the last success before each run."""
    days = sorted(days, key=lambda d: (d.site, d.day))
    for day in days:
        if day.requests == 0 or day.first_request is None:
            continue
        errors = sum(n for status, n in day.status_counts if status >= 500)
        if day.log == "httperr":
            says = f"{day.site} {day.day:%Y-%m-%d}: {day.requests} failed request(s), {errors} × 5xx"
        else:
            last_ok = day.last_success.strftime("%H:%M:%S") if day.last_success else "none"
            says = (
                f"{day.site} {day.day:%Y-%m-%d}: {day.requests} request(s), last success {last_ok} UTC, "
                f"{errors} × 5xx"
            )
        yield Observation(
            "traffic",
            f"{day.site}:{day.day:%Y%m%d}",
            "traffic",
            day.first_request,
            "second",
            _src("traffic", day.first_request, "second", says, day.source),
            subject=day.site,
            summary=says,
            details=(
                ("what", "day"),
                ("end", _iso(day.last_request)),
                ("requests", str(day.requests)),
                ("5xx", str(errors)),
            ),
        )
        for run in day.error_runs:
            statuses = ", ".join(f"{n} × {s}" for s, n in run.statuses)
            why = ", ".join(f"{reason} × {n}" for reason, n in run.reasons)
            pools = ", ".join(run.queues)
            says = (
                f"{day.site}: {run.count} error answer(s) ({statuses}) "
                f"from {run.start:%H:%M:%S} to {run.end:%H:%M:%S} UTC"
                + (f"; reasons {why}" if why else "")
                + (f"; application pool {pools}" if pools else "")
            )
            yield Observation(
                "traffic",
                f"{day.site}:run:{run.start.isoformat()}",
                "traffic",
                run.start,
                "second",
                _src("traffic", run.start, "second", says, run.first_line),
                subject=day.site,
                summary=says,
                details=(("what", "5xx-run"), ("end", _iso(run.end)), ("count", str(run.count))),
            )
    successes = [d for d in days if d.last_success is not None and d.log == "w3c"]
    if successes:
        last = max(successes, key=lambda d: d.last_success or d.day)
        at = last.last_success
        says = f"{last.site}: last successful (2xx/3xx) request at {at:%Y-%m-%d %H:%M:%S} UTC"
        yield Observation(
            "traffic",
            f"{last.site}:last-success",
            "traffic",
            at,
            "second",
            _src("traffic", at, "second", says, last.source),
            subject=last.site,
            summary=says,
            details=(("what", "last-success"),),
        )


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def shift(value: datetime | None, seconds: float) -> datetime | None:
    """``value`` moved by ``seconds``; None when the sum leaves datetime's range (a hostile year 9999)."""
    try:
        return value + timedelta(seconds=seconds) if value is not None else None
    except OverflowError:
        return None
