"""The component table: every file a matching component profile names or its folders hold, against the SP
baseline.

Reports show it so a reader sees the mixed state at a glance (KB2009746: w3core.dll at SP1 next to
w3wp.exe at SP2). ``below_baseline`` reuses :func:`scanner.rules.baseline.below_service_pack`, the same
decision the files-below-service-pack finding makes, so the table and the findings never disagree.
"""

from __future__ import annotations

from dataclasses import replace

from scanner.knowledge.profiles import Knowledge
from scanner.knowledge.versions import service_pack_of
from scanner.model import ComponentFileLevel, ComponentLevels, FileState, Inventory, version_text
from scanner.rules.baseline import below_service_pack, expected_version
from scanner.rules.context import RuleContext, version_of

_UNLISTED = "not named by the profile: found by listing the component's folder"


def component_levels(inventory: Inventory, knowledge: Knowledge) -> list[ComponentLevels]:
    """One table per profile component that applies to the system: its listed files in profile order (a
    listed file found at another path of the component shows there), then the files found only by listing
    the component's folders, by path."""
    system = inventory.system
    os = knowledge.os_for(system)
    ctx = RuleContext(inventory, (), (), knowledge, os)
    below = {b.state.path.lower() for b in below_service_pack(ctx)}
    windows_dir = (system.system_root if system else None) or "WINDOWS"
    by_path = {state.path.lower(): state for state in inventory.files}
    tables = []
    for component in knowledge.components_for(system):
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
                        path,
                        False,
                        None,
                        None,
                        None,
                        None,
                        None,
                        None,
                        False,
                        optional=wanted.optional,
                        why=wanted.why,
                    )
                )
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
