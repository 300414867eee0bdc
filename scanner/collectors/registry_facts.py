"""The registry collector: open SOFTWARE and SYSTEM (replaying a dirty hive's logs) and read every family.

The families (:mod:`scanner.collectors.registry`: system facts, pending renames, servicing markers, IIS setup
time; :mod:`scanner.collectors.registry_updates`: update records, programs) each read on their own and fail
alone, as a gap. The hives are opened once here and shared by all of them. A program's install folder
creation time (NTFS) is added to it: when its setup ran.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from scanner.collectors.base import KnowledgeView, SystemVolume
from scanner.collectors.hive import HiveUnreadable, open_hive, read_hive_files
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
from scanner.model import Gap, Provenance, SoftwareInstall, SourceTime
from scanner.model.facts_bundle import Facts

__all__ = ["collect", "load_hive"]


def load_hive(
    fs: Any, windows_dir: str, name: str
) -> tuple[Hive | None, list[tuple[str, str, Provenance]], list[Gap]]:
    """Read a hive and its logs, replaying a dirty hive in memory; its recovery as a fact, or a gap."""
    config = f"{windows_dir}\\system32\\config"
    artifact = f"{config}\\{name}"
    facts: list[tuple[str, str, Provenance]] = []
    gaps: list[Gap] = []
    try:
        primary, logs = read_hive_files(fs, f"/{windows_dir}/system32/config/{name}")
        opened = open_hive(primary, logs, artifact=artifact)
    except (HiveUnreadable, FileNotFoundError, OSError) as exc:
        return None, facts, [Gap(f"{name} hive", str(exc) or type(exc).__name__, (Provenance(artifact),))]
    rec = opened.recovery
    if rec is not None and rec.recovered and rec.log_name:
        log_prov = Provenance(
            f"{config}\\{rec.log_name}", f"{rec.pages} dirty page(s), {rec.log_format} format"
        )
        facts.append((f"{name.lower()}_recovered_from_log", rec.log_name, log_prov))
    if rec is not None and rec.warning:
        gaps.append(Gap(f"{name} hive transaction log", rec.warning, (Provenance(artifact),)))
    return opened, facts, gaps


def collect(volume: SystemVolume, knowledge: KnowledgeView, facts: Facts) -> Facts:
    """System facts, update records, programs, pending renames, servicing markers and IIS setup time."""
    fs, windows_dir = volume.fs, volume.windows_dir
    software, found, gaps = load_hive(fs, windows_dir, "SOFTWARE")
    system_hive, found_sys, gaps_sys = load_hive(fs, windows_dir, "SYSTEM")
    found += found_sys
    gaps += gaps_sys
    system, more = system_facts(software, system_hive)
    gaps += more
    if system.system_root and system.system_root.lower() != windows_dir.lower():
        gaps.append(
            Gap(
                "system root",
                f"the registry names {system.system_root!r} but the volume's Windows "
                f"directory is {windows_dir!r}; files were read from {windows_dir!r}",
            )
        )
    updates, more = update_records(software, system.timezone)
    gaps += more
    programs = software_installs(software, system.timezone, gaps)
    renames = pending_renames(system_hive, gaps)
    found += list(servicing_markers(software, gaps))
    iis = iis_setup_time(software, gaps)
    component_times = []
    if iis is not None:  # the IIS components of this IIS major version were set up when InetStp was written
        for component in knowledge.components_for(system):
            if (component.version_family or "").split(".")[0] == str(iis[0]):
                component_times.append((component.id, iis[1]))
    return facts.adding(
        system=system,
        gaps=gaps,
        updates=updates,
        software=[_with_folder_time(fs, app) for app in programs],
        pending_renames=renames,
        facts=found,
        component_times=component_times,
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
