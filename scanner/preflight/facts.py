"""The typed facts a preflight reads: a scan's inventory, findings and component table, nothing textual.

``assess`` takes a :class:`~scanner.diagnose.ScanResult` (what ``scan`` and each ``fleet`` worker produce) or
these facts directly, so a caller holding facts from elsewhere (a test, a fleet worker that keeps only part of
a scan) need not build a whole scan result.
"""

from __future__ import annotations

from dataclasses import dataclass

from scanner.diagnose import ScanResult
from scanner.knowledge.os import OsProfile
from scanner.knowledge.versions import FileVersion
from scanner.model import (
    ComponentFileLevel,
    ComponentLevels,
    FileState,
    Finding,
    Gap,
    SystemFacts,
    UpdateRecord,
)
from scanner.preflight.model import PreflightFile


@dataclass(frozen=True)
class PreflightFacts:
    """What one server's evidence says, as the scan typed it."""

    system: SystemFacts | None
    updates: tuple[UpdateRecord, ...] = ()
    findings: tuple[Finding, ...] = ()
    components: tuple[ComponentLevels, ...] = ()  # each component file against the installed SP baseline
    files: tuple[FileState, ...] = ()
    gaps: tuple[Gap, ...] = ()

    @classmethod
    def from_scan(cls, result: ScanResult) -> PreflightFacts:
        inv = result.inventory
        return cls(
            system=inv.system,
            updates=tuple(inv.updates),
            findings=tuple(result.findings),
            components=tuple(result.components),
            files=tuple(inv.files),
            gaps=tuple(result.gaps),
        )

    def component(self, component_id: str) -> ComponentLevels | None:
        return next((c for c in self.components if c.id == component_id), None)

    def file_named(self, relative: str) -> FileState | None:
        """The file read at ``<Windows dir>\\<relative>`` (a path below %SystemRoot%), matched by its tail."""
        tail = "\\" + relative.replace("/", "\\").lower().lstrip("\\")
        return next((f for f in self.files if f.path.lower().endswith(tail)), None)


def baseline_of(row: ComponentFileLevel, os: OsProfile | None, level: int | None) -> str | None:
    """The version the installed SP stamps on this file (its major.minor, the SP's build and revision)."""
    version = FileVersion.parse(row.version)
    sp = os.service_pack(level) if os is not None and level is not None else None
    if version is None or sp is None or sp.revision is None:
        return None
    return str(FileVersion(version.major, version.minor, sp.build, sp.revision))


def below_baseline_files(
    facts: PreflightFacts, components: tuple[str, ...], os: OsProfile | None
) -> tuple[PreflightFile, ...]:
    """Every present file of these components below the installed SP's baseline (the scan's own verdict,
    ``ComponentFileLevel.below_baseline``), with the baseline it needs."""
    level = facts.system.service_pack if facts.system else None
    out = []
    for component_id in components:
        table = facts.component(component_id)
        for row in table.files if table else ():
            if row.present and row.below_baseline:
                out.append(
                    PreflightFile(
                        path=row.path,
                        on_disk=row.version,
                        required=baseline_of(row, os, level),
                        component=component_id,
                        sp_level=row.sp_level,
                        lab_tag=row.lab_tag,
                        sources=row.sources,
                    )
                )
    return tuple(out)


def finding_files(
    facts: PreflightFacts, finding: Finding, components: tuple[str, ...]
) -> tuple[PreflightFile, ...]:
    """A finding's files that belong to these components; for regressed hotfix files, the highest version a
    hotfix recorded for each (the Updates ``Filelist`` value, typed) is the version required."""
    recorded: dict[str, FileVersion] = {}
    for update in facts.updates if finding.rule == "hotfix-files-regressed" else ():
        for entry in update.files:
            version = FileVersion.parse(entry.version)
            name = entry.name.lower()
            if version is not None and (name not in recorded or version > recorded[name]):
                recorded[name] = version
    by_path = {f.path.lower(): f for f in facts.files}
    out = []
    for file in finding.files:
        if components and file.component not in components:
            continue
        state = by_path.get(file.path.lower())
        name = file.path.replace("/", "\\").rsplit("\\", 1)[-1].lower()
        out.append(
            PreflightFile(
                path=file.path,
                on_disk=file.version,
                required=str(recorded[name]) if name in recorded else None,
                component=file.component,
                lab_tag=file.lab_tag,
                sources=state.sources if state else (),
            )
        )
    return tuple(out)
