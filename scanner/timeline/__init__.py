"""The timeline stage: every collected fact -> observations -> one fused, UTC, de-duplicated timeline.

Pure: no I/O. Its inputs are the inventory and the decoded event records, log events and traffic days the
collectors produced; its output is a list of :class:`~scanner.model.TimelineEntry` (JSON contract in
scanner/model.py) plus the gaps that limit it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime

from scanner.knowledge.components import Component
from scanner.knowledge.episodes import EpisodeRules
from scanner.knowledge.events import EventCatalog
from scanner.knowledge.os import OsProfile
from scanner.knowledge.versions import service_pack_of
from scanner.model import EventRecord, Gap, Inventory, LogEvent, TimelineEntry, TrafficDay
from scanner.model.timerange import RANGE_TEXT, in_range
from scanner.timeline.episodes import with_episodes
from scanner.timeline.fuse import fuse
from scanner.timeline.installs import unnumbered_service_pack_gaps
from scanner.timeline.observe import Observation, from_files, from_inventory
from scanner.timeline.observe_events import from_events
from scanner.timeline.observe_logs import from_logs
from scanner.timeline.observe_traffic import from_traffic


@dataclass
class TimelineInputs:
    """What the collectors found, for the timeline."""

    inventory: Inventory
    events: list[EventRecord] = field(default_factory=list)
    log_events: list[LogEvent] = field(default_factory=list)
    traffic: list[TrafficDay] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    os_profile: OsProfile | None = None  # SP file baselines: the SP level of the files an install copied
    # What a failure episode is (scanner/timeline/episodes.py): the components whose services and processes
    # count, and the thresholds; without thresholds no episode is looked for.
    components: tuple[Component, ...] = ()
    episode_rules: EpisodeRules | None = None


@dataclass
class Timeline:
    """The fused timeline and what limits it."""

    entries: list[TimelineEntry]
    gaps: list[Gap]

    def between(self, since: datetime | None, until: datetime | None) -> list[TimelineEntry]:
        """Entries whose time (or span) touches ``[since, until]``; undated entries only without bounds."""
        out = []
        for entry in self.entries:
            if entry.at is None:
                if since is None and until is None:
                    out.append(entry)
                continue
            end = entry.end or entry.at
            if since is not None and end < since:
                continue
            if until is not None and entry.at > until:
                continue
            out.append(entry)
        return out


def build_timeline(inputs: TimelineInputs, catalog: EventCatalog) -> Timeline:
    """Fuse every source into one timeline (see scanner/timeline/fuse.py for the grouping rules)."""
    inv = inputs.inventory
    system = inv.system
    hostname = (system.hostname if system else None) or "system"
    tz = system.timezone if system else None
    observations = [
        *from_inventory(inv),
        *_with_sp_levels(from_files(inv.files, inv), inputs.os_profile),
        *from_events(inputs.events, catalog, tz, hostname),
        *from_logs(inputs.log_events),
        *from_traffic(inputs.traffic),
    ]
    # Attacker-controlled times outside the accepted range (scanner/model/timerange.py) are malformed
    # values: fusing them would overflow datetime arithmetic near year 9999; they are counted in a gap.
    odd = [o for o in observations if o.at is not None and not in_range(o.at)]
    if odd:
        observations = [o for o in observations if o.at is None or in_range(o.at)]
    entries = fuse(observations, hostname)
    if inputs.episode_rules is not None:  # after fusion, before the rules: the diagnosis reads them
        entries = with_episodes(entries, inputs.traffic, inputs.components, inputs.episode_rules)
    gaps = list(inputs.gaps) + unnumbered_service_pack_gaps(entries)
    if odd:
        gaps.append(Gap(
            "out-of-range times",
            f"{len(odd)} time(s) outside {RANGE_TEXT} (malformed values) were left out of the timeline",
            tuple(o.source.provenance for o in odd[:5]),
        ))
    local = [o for o in observations if o.local_clock and o.source.type == "event"]
    if tz is None and local:
        # 6008 writes the unexpected shutdown's local wall-clock time: without the zone it is a reading,
        # not an instant, and the report must say the UTC shown is an assumption.
        gaps.append(Gap(
            "event local times",
            f"no TimeZoneInformation: {len(local)} local time(s) written inside event records (6008's "
            "shutdown time) were taken as UTC",
            tuple(o.source.provenance for o in local[:5]),
        ))
    return Timeline(entries, gaps)


def _with_sp_levels(
    observations: Iterable[Observation], os_profile: OsProfile | None
) -> Iterator[Observation]:
    """Each file's SP level by the OS profile's baselines (``sp_level``), so fusion can number a service pack
    by the versions of the files it copied; a version no baseline places keeps None."""
    for obs in observations:
        if os_profile is not None and obs.file_version is not None and obs.sp_level is None:
            obs = replace(obs, sp_level=service_pack_of(obs.file_version, None, os_profile))
        yield obs
