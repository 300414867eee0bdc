"""``Facts``: everything the collectors found on one source, as one frozen value.

Before this value there were three bags: the ``Inventory`` (what the system is), the collected half of the
timeline's inputs (event records, log events, IIS traffic) and the collected part of ``ScanResult``. Each
collector (``scanner.collectors.chain.COLLECTORS``) takes the facts found so far and returns them with its own
added (:meth:`Facts.adding`), so the order of the tuple is the order of every list and gap here.

The attribute names are the ones the rules and the timeline read (``updates``, ``files``, ...), and the JSON
contracts are unchanged: :meth:`Facts.inventory` gives the ``Inventory`` the inventory and scan JSON print.
The timeline takes this value whole (``scanner.timeline.build_timeline(facts, knowledge)``) and the scan
result keeps it (``ScanResult.facts``; its ``traffic`` is these facts' own), so nothing is copied into a
second bag on the way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from scanner.model.facts import (
    FileState,
    Gap,
    Inventory,
    PendingRename,
    Provenance,
    SoftwareInstall,
    SourceTime,
    SystemFacts,
    UpdateRecord,
)
from scanner.model.records import EventRecord, LogEvent, TrafficDay

__all__ = ["Facts"]


@dataclass(frozen=True)
class Facts:
    """What the collectors found; ``gaps`` limit the inventory, ``log_gaps`` the logs read for the timeline.

    The two gap groups are kept apart because the inventory JSON prints only the first, and the scan's gap
    list is inventory gaps, then timeline gaps (log collectors' first), then what the rules could not check.
    """

    source: Mapping[str, Any]
    system: SystemFacts | None = None
    updates: tuple[UpdateRecord, ...] = ()
    files: tuple[FileState, ...] = ()
    pending_renames: tuple[PendingRename, ...] = ()
    facts: tuple[tuple[str, str, Provenance], ...] = ()  # (name, value, where)
    uninstall_folders: tuple[Any, ...] = ()  # collectors.uninstall.UninstallFolder
    gaps: tuple[Gap, ...] = ()
    software: tuple[SoftwareInstall, ...] = ()
    component_times: tuple[tuple[str, SourceTime], ...] = ()  # (component id, claim)
    folders: tuple[Any, ...] = ()  # collectors.folder_facts.ComponentFolder, profile order
    staged_files: tuple[FileState, ...] = ()  # staged copies PendingFileRenameOperations would move in place
    events: tuple[EventRecord, ...] = ()
    log_events: tuple[LogEvent, ...] = ()
    traffic: tuple[TrafficDay, ...] = ()
    log_gaps: tuple[Gap, ...] = field(default=())

    def adding(self, **found: Any) -> Facts:
        """These facts with ``found`` appended: tuples are extended, ``system`` and ``source`` replaced."""
        changes: dict[str, Any] = {}
        for name, value in found.items():
            current = getattr(self, name)
            changes[name] = (*current, *value) if isinstance(current, tuple) else value
        return replace(self, **changes)

    def inventory(self) -> Inventory:
        """The ``Inventory`` of these facts (the JSON of ``patchmortem inventory`` and of scan's)."""
        names = {f.name for f in fields(Inventory)}
        values = {n: getattr(self, n) for n in names if n not in ("source", "system")}
        return Inventory(
            source=dict(self.source), system=self.system, **{n: list(v) for n, v in values.items()}
        )
