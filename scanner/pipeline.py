"""The pipeline: each stage once, in order — evidence, collectors, timeline, (later: rules, diagnosis).

``inventory()`` is what ``patchmortem inventory`` prints: what the system is, which updates it says it has,
and what the component files really are, with every gap recorded. ``timeline()`` adds the event logs, the
servicing, crash and IIS logs and fuses everything into one timeline. Later stages read their output only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from scanner.collectors.events import find_event_logs, read_event_log
from scanner.collectors.files import collect_files, collect_uninstall_folders
from scanner.collectors.folders import FolderRequest, collect_component_folders
from scanner.collectors.hive import HiveUnreadable, open_hive, read_hive_files
from scanner.collectors.logs import read_servicing_logs
from scanner.collectors.logs.drwatson import read_drwatson
from scanner.collectors.logs.w3c import read_iis_logs
from scanner.collectors.registry import (
    Hive,
    iis_setup_time,
    pending_renames,
    servicing_markers,
    software_installs,
    system_facts,
    update_records,
)
from scanner.collectors.volume import created_at
from scanner.collectors.wua import read_wua_history
from scanner.diagnose import ScanResult
from scanner.diagnose.verdict import diagnose
from scanner.evidence.hashing import sha256_evidence
from scanner.evidence.source import ASSUMED_WINDOWS_DIR, open_evidence
from scanner.knowledge.components import Component, collect_components, load_components
from scanner.knowledge.episodes import EpisodeRules, collect_episode_rules
from scanner.knowledge.events import EventCatalog, load_event_catalog
from scanner.knowledge.os import OsProfile, collect_os_profiles
from scanner.knowledge.profiles import Knowledge, load_knowledge
from scanner.model import FileState, Gap, Inventory, Provenance, SoftwareInstall, SourceTime, SystemFacts
from scanner.rules import run_rules
from scanner.rules.levels import component_levels
from scanner.timeline import Timeline, TimelineInputs, build_timeline

Progress = Callable[[str], None]


def _noop(_: str) -> None:
    return None


def _load_hive(fs: object, windows_dir: str, name: str, inv: Inventory) -> Hive | None:
    """Read a hive and its logs, replaying a dirty hive in memory; record recovery as a fact or a gap."""
    config = f"{windows_dir}\\system32\\config"
    artifact = f"{config}\\{name}"
    try:
        primary, logs = read_hive_files(fs, f"/{windows_dir}/system32/config/{name}")
        opened = open_hive(primary, logs, artifact=artifact)
    except (HiveUnreadable, FileNotFoundError, OSError) as exc:
        inv.gaps.append(Gap(f"{name} hive", str(exc) or type(exc).__name__, (Provenance(artifact),)))
        return None
    rec = opened.recovery
    note = ""
    if rec.recovered and rec.log_name:
        note = f"hive replayed with transaction log {rec.log_name}"
        log_prov = Provenance(
            f"{config}\\{rec.log_name}", f"{rec.pages} dirty page(s), {rec.log_format} format"
        )
        inv.facts.append((f"{name.lower()}_recovered_from_log", rec.log_name, log_prov))
    if rec.warning:
        inv.gaps.append(Gap(f"{name} hive transaction log", rec.warning, (Provenance(artifact),)))
    return Hive(opened.registry, artifact, note)


def inventory(
    source: Path,
    *,
    parent: Path | None = None,
    system: int | None = None,
    profiles_dir: Path | None = None,
    progress: Progress = _noop,
) -> Inventory:
    """Open ``source`` read-only and inventory its Windows servicing state."""
    return _inventory(source, parent, system, profiles_dir, progress)[0]


def _inventory(
    source: Path, parent: Path | None, system: int | None, profiles_dir: Path | None, progress: Progress
) -> tuple[Inventory, Any, str]:
    """The inventory, plus the system volume's file system and Windows directory for later collectors."""
    progress("opening evidence")
    evidence = open_evidence(source, parent=parent)
    volume, fs = evidence.system_volume(system)
    windows_dir = volume.windows_dir or ASSUMED_WINDOWS_DIR  # a folder source may hold only inetpub
    source_info = evidence.description.to_dict()
    source_info["system_volume"] = volume.index
    inv = Inventory(source=source_info, system=None)
    inv.gaps += evidence.gaps(volume)

    progress("reading registry hives")
    software = _load_hive(fs, windows_dir, "SOFTWARE", inv)
    system_hive = _load_hive(fs, windows_dir, "SYSTEM", inv)
    facts, gaps = system_facts(software, system_hive)
    inv.system = facts
    inv.gaps += gaps
    if facts.system_root and facts.system_root.lower() != windows_dir.lower():
        inv.gaps.append(
            Gap(
                "system root",
                f"the registry names {facts.system_root!r} but the volume's Windows "
                f"directory is {windows_dir!r}; files were read from {windows_dir!r}",
            )
        )
    inv.updates, gaps = update_records(software, facts.timezone)
    inv.gaps += gaps
    programs = software_installs(software, facts.timezone, inv.gaps)
    inv.software = [_with_folder_time(fs, app) for app in programs]
    inv.pending_renames = pending_renames(system_hive, inv.gaps)
    inv.facts += list(servicing_markers(software, inv.gaps))

    progress("reading component files")
    components = [c for c in load_components(profiles_dir) if c.applies_to(facts.version)]
    paths: list[str] = []
    component_of: dict[str, str] = {}
    for component in components:
        for entry in component.files:
            path = f"{windows_dir}\\{entry.path}"
            if path.lower() not in component_of:
                paths.append(path)
                component_of[path.lower()] = component.id
    # Every file an update recorded (Updates\...\Filelist) too: comparing the recorded version with the one on
    # disk is the offline qfecheck (KB282784) the rules need.
    for update in inv.updates:
        for recorded in update.files:
            recorded_path = _recorded_path(windows_dir, recorded.location, recorded.name)
            if recorded_path is not None and recorded_path.lower() not in component_of:
                paths.append(recorded_path)
                component_of[recorded_path.lower()] = ""
    iis = iis_setup_time(software, inv.gaps)
    for component in components:
        family = component.version_family or ""
        if iis is not None and family.split(".")[0] == str(iis[0]):
            inv.component_times.append((component.id, iis[1]))
    files, gaps = collect_files(fs, paths)
    # The staged copies of queued replacements, for their versions (rules/staged.py); absent ones are normal.
    staged = [_volume_relative(p.source) for p in inv.pending_renames if p.destination][:_MAX_STAGED]
    inv.staged_files, _ = collect_files(fs, [p for p in staged if p], hash_files=False)
    # Every PE file in the components' folders too (one $I30 listing per folder); a listed file missing at its
    # path is looked for there by name: found elsewhere, it is found, not missing.
    absent = "not present on the volume"
    missing = {g.what.lower() for g in gaps if g.reason == absent}
    requests = [
        FolderRequest(f"{windows_dir}\\{f.path}", c.id, f.depth, f.lookup_only)
        for c in components
        for f in c.folders
    ]
    wanted = [(p, component_of[p.lower()]) for p in paths if p.lower() in missing and component_of[p.lower()]]
    scanned = collect_component_folders(fs, requests, known=[f.path for f in files], missing=wanted)
    inv.folders = scanned.folders
    found_elsewhere = {p.lower() for p in scanned.relocated}
    # a file a profile marks optional (an IIS 7+ module the role may not have installed) is no gap when absent
    optional = {f"{windows_dir}\\{e.path}".lower() for c in components for e in c.files if e.optional}
    gaps = [g for g in gaps if not (g.reason == absent and g.what.lower() in optional | found_elsewhere)]
    placed = {p.lower(): c for p, c in scanned.placed.items()}
    inv.files = [
        _with_component(f, component_of.get(f.path.lower()) or placed.get(f.path.lower())) for f in files
    ]
    inv.files += scanned.files
    inv.gaps += gaps + scanned.gaps
    folders, gaps = collect_uninstall_folders(fs, windows_dir)
    inv.uninstall_folders = folders
    inv.gaps += gaps
    if not inv.files:  # a triage folder without binaries, or no OS version to choose component profiles by
        why = "no component profile applies without an OS version" if facts.version is None else (
            "none of the files the component profiles list is in the source")
        inv.gaps.append(Gap("component files", f"none read: {why}", (Provenance(windows_dir),)))
    return inv, fs, windows_dir


def timeline(
    source: Path,
    *,
    parent: Path | None = None,
    system: int | None = None,
    profiles_dir: Path | None = None,
    progress: Progress = _noop,
) -> tuple[Inventory, Timeline]:
    """Inventory ``source``, read its event, servicing, crash and IIS logs, and fuse one timeline."""
    inv, inputs, catalog = _collect(source, parent, system, profiles_dir, progress)
    progress("fusing the timeline")
    return inv, build_timeline(inputs, catalog)


def _collect(
    source: Path, parent: Path | None, system: int | None, profiles_dir: Path | None, progress: Progress
) -> tuple[Inventory, TimelineInputs, EventCatalog]:
    """Every collector: the inventory plus the event, servicing, crash and IIS log facts."""
    inv, fs, windows_dir = _inventory(source, parent, system, profiles_dir, progress)
    catalog = load_event_catalog(profiles_dir)
    tz = inv.system.timezone if inv.system else None
    inputs = TimelineInputs(inventory=inv, os_profile=_os_profile(profiles_dir, inv.system, catalog))
    inputs.components, inputs.episode_rules = _episode_knowledge(profiles_dir, inv.system)
    progress("reading event logs")
    logs = find_event_logs(fs, windows_dir)
    if not logs:
        where = f"{windows_dir}\\system32\\config\\*.Evt, {windows_dir}\\System32\\winevt\\Logs\\*.evtx"
        inputs.gaps.append(Gap("event logs", f"none in the source (looked for {where})"))
    for log, artifact, entry in logs:
        result = read_event_log(entry, artifact, log, keep=catalog.wants)
        inputs.events += result.records
        inputs.gaps += result.gaps
    progress("reading servicing and crash logs")
    for reader in (read_servicing_logs, read_drwatson):
        events, gaps = reader(fs, windows_dir, tz)
        inputs.log_events += events
        inputs.gaps += gaps
    events, gaps = read_wua_history(fs, windows_dir)
    inputs.log_events += events
    inputs.gaps += gaps
    progress("reading IIS logs")
    inputs.traffic, gaps = read_iis_logs(fs, windows_dir)
    inputs.gaps += gaps
    return inv, inputs, catalog


def _os_profile(
    profiles_dir: Path | None, system: SystemFacts | None, catalog: EventCatalog
) -> OsProfile | None:
    """The OS profile (SP file baselines) the timeline numbers service packs with; None when the profiles
    do not load cleanly (``scan`` reports that; ``timeline`` then numbers SPs without file versions)."""
    errors: list[str] = []
    profiles = collect_os_profiles(profiles_dir, errors)
    if errors:
        return None
    return Knowledge(tuple(profiles), (), catalog, (), ()).os_for(system)


def _episode_knowledge(
    profiles_dir: Path | None, system: SystemFacts | None
) -> tuple[tuple[Component, ...], EpisodeRules | None]:
    """The components whose failures count (those of this OS; every one when the OS version is unknown, as in
    a triage folder of logs) and the episode thresholds; no thresholds when the profiles do not load cleanly
    (``scan`` reports that; ``timeline`` then shows no episode)."""
    errors: list[str] = []
    components = collect_components(profiles_dir, errors)
    rules = collect_episode_rules(profiles_dir, errors)
    version = system.version if system else None
    applying = tuple(c for c in components if c.applies_to(version)) or tuple(components)
    return applying, (rules if not errors else None)


def scan(
    source: Path,
    *,
    parent: Path | None = None,
    system: int | None = None,
    profiles_dir: Path | None = None,
    progress: Progress = _noop,
    hash_evidence: bool = False,
) -> ScanResult:
    """The main job: inventory + timeline, then the rules and the diagnosis over them.

    ``hash_evidence`` adds the SHA-256 of every evidence file to ``inventory.source["sha256"]`` (a full read
    of the evidence, so only on request).
    """
    knowledge = load_knowledge(profiles_dir)  # first: a broken profile fails before any evidence is read
    inv, inputs, catalog = _collect(source, parent, system, profiles_dir, progress)
    if hash_evidence:
        progress("hashing the evidence files")
        chain = [Path(p) for p in inv.source.get("chain") or [source]]
        inv.source["sha256"] = sha256_evidence([*chain, *([parent] if parent else [])])
    progress("fusing the timeline")
    tl = build_timeline(inputs, catalog)
    progress("applying the rules")
    findings, rule_gaps = run_rules(inv, tl.entries, inputs.log_events, knowledge)
    diagnosis = diagnose(inv, tl.entries, findings, knowledge)
    return ScanResult(
        inv,
        tl,
        findings,
        diagnosis,
        [*inv.gaps, *tl.gaps, *rule_gaps],
        components=component_levels(inv, knowledge),
        traffic=inputs.traffic,
    )


def _with_folder_time(fs: Any, app: SoftwareInstall) -> SoftwareInstall:
    """Add the creation time of the program's install folder: when its setup ran (NTFS, UTC)."""
    location = (app.install_location or "").replace("/", "\\").rstrip("\\")
    if len(location) < 4 or location[1:3] != ":\\":
        return app
    found = created_at(fs, location[3:])
    if found is None:
        return app
    says = f"install folder {location} created"
    claim = SourceTime(found[0], "second", says, Provenance(location[3:], found[1]), anchor=True)
    return replace(app, times=(claim, *app.times))


def _recorded_path(windows_dir: str, location: str | None, name: str) -> str | None:
    """``%SystemRoot%\\system32`` + ``netapi32.dll`` -> ``WINDOWS\\system32\\netapi32.dll``."""
    if not location or "\\" in name or "/" in name:
        return None
    folder = location.replace("/", "\\").rstrip("\\")
    for prefix in ("%SystemRoot%", "%windir%"):
        if folder.lower().startswith(prefix.lower()):
            return f"{windows_dir}{folder[len(prefix):]}\\{name}"
    if len(folder) > 2 and folder[1] == ":":
        return f"{folder[3:]}\\{name}" if len(folder) > 3 else name
    return None


_MAX_STAGED = 256  # staged copies read: PendingFileRenameOperations is attacker-sized


def _volume_relative(path: str) -> str:
    """A pending rename's source ``C:\\Windows\\Temp\\x.dll`` -> ``Windows\\Temp\\x.dll``; "" off drive."""
    text = path.replace("/", "\\")
    return text[3:] if len(text) > 3 and text[1] == ":" and text[2] == "\\" else ""


def _with_component(state: FileState, component: str | None) -> FileState:
    return replace(state, component=component) if component and not state.component else state
