"""The component table: every file a matching component profile names, placed against the SP baseline.

Reports show it so a reader sees the mixed state at a glance (KB2009746: w3core.dll at SP1 next to
w3wp.exe at SP2). ``below_baseline`` reuses :func:`scanner.rules.baseline.below_service_pack`, the same
decision the files-below-service-pack finding makes, so the table and the findings never disagree.
"""

from __future__ import annotations

from scanner.knowledge.profiles import Knowledge
from scanner.knowledge.versions import service_pack_of
from scanner.model import ComponentFileLevel, ComponentLevels, FileState, Inventory
from scanner.rules.baseline import below_service_pack, expected_version
from scanner.rules.context import RuleContext, version_of


def component_levels(inventory: Inventory, knowledge: Knowledge) -> list[ComponentLevels]:
    """One table per profile component that applies to the system, files in profile order."""
    system = inventory.system
    os = knowledge.os_for(system)
    ctx = RuleContext(inventory, (), (), knowledge, os)
    below = {b.state.path.lower() for b in below_service_pack(ctx)}
    windows_dir = (system.system_root if system else None) or "WINDOWS"
    by_path = {state.path.lower(): state for state in inventory.files}
    tables = []
    for component in knowledge.components_for(system):
        rows = []
        for wanted in component.files:
            path = f"{windows_dir}\\{wanted.path}"
            state = by_path.get(path.lower())
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
            rows.append(_row(ctx, state, state.path.lower() in below, wanted.optional, wanted.why))
        if any(row.present for row in rows):
            tables.append(ComponentLevels(component.id, component.title, tuple(rows)))
    return tables


def _row(ctx: RuleContext, state: FileState, is_below: bool, optional: bool, why: str) -> ComponentFileLevel:
    version = version_of(state)
    level = service_pack_of(version, state.lab_tag, ctx.os) if version and ctx.os else None
    return ComponentFileLevel(
        path=state.path,
        present=True,
        version=state.version,
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
