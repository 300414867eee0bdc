"""The timeline stage: every collected fact -> observations -> one fused, UTC, de-duplicated timeline.

Pure: no I/O. :func:`build_timeline` reads the one frozen :class:`~scanner.model.facts_bundle.Facts` the
collectors built (the inventory, the decoded event records, log events and IIS traffic days, the log gaps)
and the loaded :class:`~scanner.knowledge.profiles.Knowledge` (the event catalog, the OS profile's file
baselines, the components and thresholds of a failure episode). Its output is a :class:`Timeline`: the
entries (:class:`~scanner.model.TimelineEntry`, JSON contract in scanner/model/) and the gaps that limit them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from scanner.knowledge.os import OsProfile
from scanner.knowledge.profiles import Knowledge
from scanner.knowledge.versions import service_pack_of
from scanner.model import Gap, TimelineEntry
from scanner.model.facts_bundle import Facts
from scanner.model.timerange import RANGE_TEXT, in_range
from scanner.timeline.episodes import with_episodes
from scanner.timeline.fuse import fuse
from scanner.timeline.installs import unnumbered_service_pack_gaps
from scanner.timeline.observe import Observation, from_files, from_inventory
from scanner.timeline.observe_events import from_events
from scanner.timeline.observe_logs import from_logs
from scanner.timeline.observe_traffic import from_traffic


@dataclass(frozen=True)
class Timeline:
    """The fused timeline and what limits it: entries in the timeline's one order, then its gaps.

    Frozen like the facts it is fused from: the rules, the diagnosis and every report read one timeline, so
    none may reorder or extend what another reads. Lists given (a test's hand-built timeline) become tuples.
    """

    entries: tuple[TimelineEntry, ...]
    gaps: tuple[Gap, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", tuple(self.entries))
        object.__setattr__(self, "gaps", tuple(self.gaps))

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


def build_timeline(facts: Facts, knowledge: Knowledge) -> Timeline:
    """Fuse every source into one timeline (see scanner/timeline/fuse.py for the grouping rules).

    From ``knowledge``: the event catalog; the OS profile of ``facts.system`` (its SP file baselines number
    a service pack by the files it copied); the components whose services and processes count in a failure
    episode -- those of this OS, every one when the OS version is unknown -- and the episode thresholds
    (without them, as for ``timeline`` on broken profiles, no episode is looked for).
    """
    inv = facts.inventory()
    system = inv.system
    hostname = (system.hostname if system else None) or "system"
    tz = system.timezone if system else None
    observations = [
        *from_inventory(inv),
        *_with_sp_levels(from_files(inv.files, inv), knowledge.os_for(system)),
        *from_events(facts.events, knowledge.events, tz, hostname),
        *from_logs(facts.log_events),
        *from_traffic(facts.traffic),
    ]
    # Attacker-controlled times outside the accepted range (scanner/model/timerange.py) are malformed
    # values: fusing them would overflow datetime arithmetic near year 9999; they are counted in a gap.
    odd = [o for o in observations if o.at is not None and not in_range(o.at)]
    if odd:
        observations = [o for o in observations if o.at is None or in_range(o.at)]
    entries = fuse(observations, hostname)
    if knowledge.episodes is not None:  # after fusion, before the rules: the diagnosis reads them
        components = knowledge.components_for(system) or knowledge.components
        entries = with_episodes(entries, facts.traffic, components, knowledge.episodes)
    gaps = list(facts.log_gaps) + unnumbered_service_pack_gaps(entries)
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
    return Timeline(tuple(entries), tuple(gaps))


def _with_sp_levels(
    observations: Iterable[Observation], os_profile: OsProfile | None
) -> Iterator[Observation]:
    """Each file's SP level by the OS profile's baselines (``sp_level``), so fusion can number a service pack
    by the versions of the files it copied; a version no baseline places keeps None."""
    for obs in observations:
        if os_profile is not None and obs.file_version is not None and obs.sp_level is None:
            obs = replace(obs, sp_level=service_pack_of(obs.file_version, None, os_profile))
        yield obs
