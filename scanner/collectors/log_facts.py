"""The log collectors: event logs, servicing and crash logs (with Windows Update history), IIS logs.

Each reads one family of logs for the timeline; what it cannot read is a gap of the timeline (``log_gaps``),
not of the inventory. Which event records are worth keeping is knowledge (the event catalog's ``wants``).
"""

from __future__ import annotations

from scanner.collectors.base import KnowledgeView, SystemVolume
from scanner.collectors.events import find_event_logs, read_event_log
from scanner.collectors.logs import read_servicing_logs
from scanner.collectors.logs.drwatson import read_drwatson
from scanner.collectors.logs.w3c import read_iis_logs
from scanner.collectors.wua import read_wua_history
from scanner.model import EventRecord, Gap, LogEvent
from scanner.model.facts_bundle import Facts

__all__ = ["collect_event_logs", "collect_iis_logs", "collect_servicing_logs"]


def collect_event_logs(volume: SystemVolume, knowledge: KnowledgeView, facts: Facts) -> Facts:
    """The catalogued records of every ``.Evt``/``.evtx`` log of the Windows directory."""
    windows_dir = volume.windows_dir
    logs = find_event_logs(volume.fs, windows_dir)
    gaps: list[Gap] = []
    if not logs:
        where = f"{windows_dir}\\system32\\config\\*.Evt, {windows_dir}\\System32\\winevt\\Logs\\*.evtx"
        gaps.append(Gap("event logs", f"none in the source (looked for {where})"))
    events: list[EventRecord] = []
    for log, artifact, entry in logs:
        result = read_event_log(entry, artifact, log, keep=knowledge.events.wants)
        events += result.records
        gaps += result.gaps
    return facts.adding(events=events, log_gaps=gaps)


def collect_servicing_logs(volume: SystemVolume, knowledge: KnowledgeView, facts: Facts) -> Facts:
    """Servicing logs (update.exe, CBS, ...), Dr. Watson crash logs, and the Windows Update history."""
    tz = facts.system.timezone if facts.system else None
    events: list[LogEvent] = []
    gaps: list[Gap] = []
    for reader in (read_servicing_logs, read_drwatson):
        found, more = reader(volume.fs, volume.windows_dir, tz)
        events += found
        gaps += more
    found, more = read_wua_history(volume.fs, volume.windows_dir)
    return facts.adding(log_events=[*events, *found], log_gaps=[*gaps, *more])


def collect_iis_logs(volume: SystemVolume, knowledge: KnowledgeView, facts: Facts) -> Facts:
    """IIS W3C and HTTPERR logs, summarised per day and hour (the traffic the plot and episodes read)."""
    traffic, gaps = read_iis_logs(volume.fs, volume.windows_dir)
    return facts.adding(traffic=traffic, log_gaps=gaps)
