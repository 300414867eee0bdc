"""The pipeline: each stage once, in order — evidence, collectors, (later: timeline, rules, diagnosis).

``inventory()`` is what ``patchmortem inventory`` prints: what the system is, which updates it says it has,
and what the component files really are, with every gap recorded. Later stages read its output only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from scanner.collectors.files import collect_files, collect_uninstall_folders
from scanner.collectors.hive import HiveUnreadable, open_hive, read_hive_files
from scanner.collectors.registry import (
    Hive,
    pending_renames,
    servicing_markers,
    software_installs,
    system_facts,
    update_records,
)
from scanner.evidence.source import open_evidence
from scanner.knowledge.components import load_components
from scanner.model import FileState, Gap, Inventory, Provenance

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
    progress("opening evidence")
    evidence = open_evidence(source, parent=parent)
    volume, fs = evidence.system_volume(system)
    windows_dir = str(volume.windows_dir)
    source_info = evidence.description.to_dict()
    source_info["system_volume"] = volume.index
    inv = Inventory(source=source_info, system=None)

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
    inv.software = software_installs(software, facts.timezone)
    inv.pending_renames = pending_renames(system_hive)
    inv.facts += list(servicing_markers(software))

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
    files, gaps = collect_files(fs, paths)
    inv.files = [_with_component(f, component_of.get(f.path.lower())) for f in files]
    inv.gaps += gaps
    folders, gaps = collect_uninstall_folders(fs, windows_dir)
    inv.uninstall_folders = folders
    inv.gaps += gaps
    return inv


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


def _with_component(state: FileState, component: str | None) -> FileState:
    return replace(state, component=component) if component and not state.component else state
