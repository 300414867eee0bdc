"""The collectors, in the order the pipeline runs them (each may read what the earlier ones found).

The registry comes first (the OS version chooses the component profiles; the time zone converts local log
times; update Filelists and pending renames name files to read). The inventory collectors make what
``patchmortem inventory`` prints; the log collectors add what the timeline needs. Each entry is the progress
line shown while it runs (None: shown under the previous one) and the collector.
"""

from __future__ import annotations

from scanner.collectors import components, log_facts, registry_facts, uninstall
from scanner.collectors.base import Collector

__all__ = ["COLLECTORS", "INVENTORY_COLLECTORS", "LOG_COLLECTORS"]

INVENTORY_COLLECTORS: tuple[tuple[str | None, Collector], ...] = (
    ("reading registry hives", registry_facts.collect),
    ("reading component files", components.collect),
    (None, uninstall.collect),
    (None, components.collect_none_read),
)
LOG_COLLECTORS: tuple[tuple[str | None, Collector], ...] = (
    ("reading event logs", log_facts.collect_event_logs),
    ("reading servicing and crash logs", log_facts.collect_servicing_logs),
    ("reading IIS logs", log_facts.collect_iis_logs),
)
COLLECTORS = INVENTORY_COLLECTORS + LOG_COLLECTORS
