"""The component table and the files-below-service-pack finding: one decision, made once.

Reports show the table so a reader sees the mixed state at a glance (KB2009746: w3core.dll at SP1 next to
w3wp.exe at SP2). :func:`decide` judges which component files are below the installed SP's baseline once
(:func:`scanner.rules.baseline.below_service_pack`) and builds both the finding and the table from that one
list, so the table and the finding cannot disagree (issue 16 item 2). The rule and
:func:`component_levels` both return parts of it.

The table lists each profile file where the files were read: under the Windows folder the component files
sit in on the volume, not the registry's ``SystemRoot`` (which can say ``WINNT`` on a volume whose folder is
``WINDOWS``, or the reverse, e.g. after an image was re-based — the pipeline reads files from the volume's
folder; issue 16's listed bug).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from scanner.knowledge.profiles import Knowledge
from scanner.knowledge.versions import service_pack_of
from scanner.model import ComponentFileLevel, ComponentLevels, FileState, Finding, Inventory, version_text
from scanner.rules.baseline import BelowFile, below_findings, below_service_pack, expected_version
from scanner.rules.context import RuleContext, version_of

_UNLISTED = "not named by the profile: found by listing the component's folder"


@dataclass(frozen=True)
class LevelsDecision:
    """The one below-baseline judgement, as the finding(s) and as the component table."""

    below: tuple[BelowFile, ...]
    findings: tuple[Finding, ...]
    tables: tuple[ComponentLevels, ...]


def decide(ctx: RuleContext) -> LevelsDecision:
    """Judge the component files once; the finding and the table are both built from that judgement."""
    below = below_service_pack(ctx)
    return LevelsDecision(tuple(below), tuple(below_findings(ctx, below)), tuple(_tables(ctx, below)))


def files_below_service_pack(ctx: RuleContext) -> list[Finding]:
    """The rule ``files-below-service-pack``: the findings of :func:`decide`."""
    return list(decide(ctx).findings)


def component_levels(inventory: Inventory, knowledge: Knowledge) -> list[ComponentLevels]:
    """The table of :func:`decide` for these facts (the scan's ``components``): one per profile component
    that applies to the system, its listed files in profile order (a listed file found at another path of
    the component shows there), then the files found only by listing the component's folders, by path."""
    ctx = RuleContext(inventory, (), (), knowledge, knowledge.os_for(inventory.system))
    return list(decide(ctx).tables)


def windows_folder(inventory: Inventory, knowledge: Knowledge) -> str:
    """The Windows folder the component files were read from: the folder a profile-listed file was found
    under (the collector reads every profile path under the volume's Windows folder; the most common one),
    else the system volume's Windows folder the source description records (no listed file was found, so
    the missing rows still name where they were looked for), else the registry's SystemRoot, else
    ``WINDOWS``."""
    listed = {f.path.lower() for c in knowledge.components_for(inventory.system) for f in c.files}
    found: Counter[str] = Counter()
    for state in inventory.files:
        folder, _, rest = state.path.replace("/", "\\").partition("\\")
        if state.component and rest.lower() in listed:
            found[folder] += 1
    if found:
        return found.most_common(1)[0][0]
    if read_from := _system_volume_folder(inventory.source):
        return read_from
    system = inventory.system
    return (system.system_root if system else None) or "WINDOWS"


def _system_volume_folder(source: Mapping[str, Any]) -> str | None:
    """``windows_dir`` of the volume the pipeline read (``source.system_volume``), as the scan JSON has it."""
    index = source.get("system_volume")
    for volume in source.get("volumes") or ():
        if isinstance(volume, Mapping) and volume.get("index") == index and volume.get("windows_dir"):
            return str(volume["windows_dir"])
    return None


def _tables(ctx: RuleContext, below_files: list[BelowFile]) -> list[ComponentLevels]:
    inventory = ctx.inventory
    below = {b.state.path.lower() for b in below_files}
    windows_dir = windows_folder(inventory, ctx.knowledge)
    by_path = {state.path.lower(): state for state in inventory.files}
    tables = []
    for component in ctx.knowledge.components_for(inventory.system):
        mine = [s for s in inventory.files if s.component == component.id]
        by_name: dict[str, FileState] = {}
        for held in mine:
            by_name.setdefault(_name(held.path), held)
        rows, shown = [], set()
        for wanted in component.files:
            path = f"{windows_dir}\\{wanted.path}"
            state: FileState | None = by_path.get(path.lower())
            if state is None:  # found at another path of the component (collectors/folders.py)
                elsewhere = by_name.get(_name(path))
                state = elsewhere if elsewhere is not None and elsewhere.path.lower() not in shown else None
            if state is None:
                rows.append(
                    ComponentFileLevel(
                        path, False, None, None, None, None, None, None, False, optional=wanted.optional,
                        why=wanted.why,
                    )
                )  # fmt: skip
                continue
            shown.add(state.path.lower())
            row = _row(ctx, state, state.path.lower() in below, wanted.optional, wanted.why)
            rows.append(row if state.path.lower() == path.lower() else replace(row, listed_path=path))
        for held in sorted(mine, key=lambda s: s.path.lower()):
            if held.path.lower() not in shown:
                row = _row(ctx, held, held.path.lower() in below, False, _UNLISTED)
                rows.append(replace(row, listed=False))
        if any(row.present for row in rows):
            tables.append(ComponentLevels(component.id, component.title, tuple(rows)))
    return tables


def _name(path: str) -> str:
    return path.replace("/", "\\").rsplit("\\", 1)[-1].lower()


def _row(ctx: RuleContext, state: FileState, is_below: bool, optional: bool, why: str) -> ComponentFileLevel:
    version = version_of(state)
    level = service_pack_of(version, state.lab_tag, ctx.os) if version and ctx.os else None
    return ComponentFileLevel(
        path=state.path,
        present=True,
        version=version_text(state.version),
        lab_tag=state.lab_tag,
        sp_level=level,
        sp_name=ctx.sp_name(level) if level is not None else None,
        modified_at=state.modified_at,
        created_at=state.created_at,
        below_baseline=is_below,
        expected=expected_version(ctx, state) if is_below else None,
        optional=optional,
        why=why,
        sources=state.sources,
    )
