"""Failure episodes: where a sustained failure of the profile's components began (issue 14 items 1 and 2).

A pure stage run after fusion and before the rules; the diagnosis reads the episodes, it never builds them.
Failure *evidence* ("signals") is:

- a failure entry (:data:`~scanner.model.FAILURE_EVENT_KINDS`) of a service or process a component profile
  lists (``services``/``processes`` in ``profiles/components``), or of a kind only the web server writes
  (``component_kinds``: W3SVC/WAS worker-process failures, Rapid-Fail Protection). Failures of anything else
  — netprofm's boot-time SCM 7023, McAfee's 7031, a desktop program's Application Error — are the noise floor:
  context, never an onset;
- an hour of a site's log whose 5xx share is at least ``min_5xx_percent`` and ``share_factor`` times its share
  over the ``baseline_days`` before (hours with fewer than ``min_requests_per_hour`` requests are not judged);
- a run of at least ``min_run`` consecutive 5xx answers (a dead low-traffic site) outside such an hour.

Signals closer than ``join_hours`` form a group; a group is an episode when it holds a ``sufficient_kinds``
signal, or ``min_signals`` signals at more than ``rate_factor`` times the rate of the ``baseline_days`` before
it — a change against the baseline, not a stray 500 or one restart. Each episode becomes a timeline entry of
kind ``failure-episode``: ``at`` its onset (the first signal), ``end`` its last evidence, ``sources`` the
evidence, ``components`` the profile components that failed. Thresholds: ``profiles/episodes.toml``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from scanner.knowledge.components import Component
from scanner.knowledge.episodes import EpisodeRules
from scanner.model import (
    EPISODE_KIND,
    FAILURE_EVENT_KINDS,
    ErrorRun,
    TimelineEntry,
    TimelineSource,
    TrafficDay,
)
from scanner.timeline.fuse import timeline_order

HOUR = timedelta(hours=1)
#: Sources an episode entry cites: the first and the last ones when it has more (its ``signals`` counts all).
MAX_SOURCES = 60


@dataclass(frozen=True)
class Signal:
    """One piece of failure evidence of the components: when, what failed, and where it is written."""

    at: datetime
    what: str  # the failure kind, or "5xx-hour" / "5xx-run"
    subject: str  # the service, process, pool or site that failed
    components: tuple[str, ...]
    sources: tuple[TimelineSource, ...]
    sufficient: bool = False
    end: datetime | None = None  # the last error of a 5xx run or failing hour (else ``at``)


def owning(components: Sequence[Component], subject: str) -> tuple[str, ...]:
    """The components a service (SCM display or short name) or process image (any path) belongs to."""
    name = subject.strip().rsplit("\\", 1)[-1].casefold()
    return tuple(c.id for c in components if name and name in c.service_names() | c.process_names())


def web_components(components: Sequence[Component], rules: EpisodeRules) -> tuple[str, ...]:
    """The components that run the WWW service: a site's 5xx and a pool's failures are theirs."""
    return owning(components, rules.web_service)


def event_signals(
    entries: Iterable[TimelineEntry], components: Sequence[Component], rules: EpisodeRules
) -> list[Signal]:
    """Failure entries of the components (module docstring); the rest is the noise floor."""
    web = web_components(components, rules)
    out = []
    for entry in entries:
        if entry.kind not in FAILURE_EVENT_KINDS or entry.at is None:
            continue
        owners = web if entry.kind in rules.component_kinds else owning(components, entry.subject)
        if owners:
            sufficient = entry.kind in rules.sufficient_kinds
            out.append(Signal(entry.at, entry.kind, entry.subject, owners, entry.sources, sufficient))
    return out


def traffic_signals(
    days: Iterable[TrafficDay], components: Sequence[Component], rules: EpisodeRules
) -> list[Signal]:
    """Failing hours (5xx share against the site's baseline) and long 5xx runs outside them, per site."""
    web = web_components(components, rules)
    if not web:
        return []
    by_site: dict[str, list[TrafficDay]] = {}
    for day in days:
        by_site.setdefault(day.site, []).append(day)
    out: list[Signal] = []
    for site, site_days in sorted(by_site.items()):
        out += _site_signals(site, sorted(site_days, key=lambda d: d.day), web, rules)
    return out


def _site_signals(
    site: str, days: list[TrafficDay], web: tuple[str, ...], rules: EpisodeRules
) -> list[Signal]:
    hours = sorted((h, n, x, day) for day in days for h, n, x in day.hourly)
    runs = sorted(((r, day) for day in days for r in day.error_runs), key=lambda p: p[0].start)
    window = timedelta(days=rules.baseline_days)
    bases = [_baseline(hours, i, window) for i in range(len(hours))]
    out: list[Signal] = []
    failing: set[datetime] = set()
    for index, (hour, requests, errors, day) in enumerate(hours):
        if requests < rules.min_requests_per_hour or errors * 100 < rules.min_5xx_percent * requests:
            continue
        base_requests, base_errors = bases[index]
        if base_requests >= rules.min_requests_per_hour and not _above(errors, requests, bases[index], rules):
            continue  # no higher than this site's own baseline share: its normal, not a change
        failing.add(hour)
        # A rise shows before it fills an hour: the elevated hours just before the first failing one are its
        # beginning (each above its baseline with at least `rise_min_5xx` errors).
        start = index
        while (
            start > 0
            and hours[start - 1][0] == hours[start][0] - HOUR
            and hours[start - 1][0] not in failing
            and hours[start - 1][2] >= rules.rise_min_5xx
            and _above(hours[start - 1][2], hours[start - 1][1], bases[start - 1], rules)
        ):
            start -= 1
        rise = hours[start][0] if hours[index - 1][0] not in failing or index == 0 else hour
        # the first 5xx from there: a run starting then, else the run already going on at its start
        first = next((r for r, _ in runs if rise <= r.start < hour + HOUR), None)
        going = next((r for r, _ in runs if r.start < rise <= r.end), None)
        at = first.start if first is not None else rise
        first = first or going
        at = _rise_start(at, rise, errors, runs, rules)
        share = f"{errors * 100 // requests} %"
        base = f"{base_errors * 100 // base_requests} %" if base_requests else "no baseline"
        says = f"{site} {hour:%Y-%m-%d %H}:00 UTC: {errors} of {requests} 5xx ({share}; {base} before)"
        source = TimelineSource("traffic", at, "second", says, first.first_line if first else day.source)
        inside = [min(r.end, hour + HOUR) for r, _ in runs if r.start < hour + HOUR and r.end >= hour]
        last = max(inside, default=at)
        out.append(Signal(at, "5xx-hour", site, web, (source,), end=max(last, at)))
    for run, _day in runs:
        if run.count < rules.min_run or run.start.replace(minute=0, second=0, microsecond=0) in failing:
            continue
        says = f"{site}: {run.count} consecutive 5xx answers from {run.start:%Y-%m-%d %H:%M:%S} UTC"
        source = TimelineSource("traffic", run.start, "second", says, run.first_line)
        out.append(Signal(run.start, "5xx-run", site, web, (source,), end=run.end))
    return out


def _baseline(
    hours: list[tuple[datetime, int, int, TrafficDay]], index: int, window: timedelta
) -> tuple[int, int]:
    """Requests and 5xx of the site's hours in the ``baseline_days`` before hour ``index``."""
    hour = hours[index][0]
    before = [(n, x) for h, n, x, _ in hours[:index] if hour - window <= h < hour]
    return sum(n for n, _ in before), sum(x for _, x in before)


def _above(errors: int, requests: int, base: tuple[int, int], rules: EpisodeRules) -> bool:
    """A 5xx share at least ``share_factor`` times the baseline share (any 5xx above a clean baseline)."""
    base_requests, base_errors = base
    if base_requests == 0:
        return errors > 0
    return errors * base_requests >= rules.share_factor * base_errors * requests and errors > 0


def _rise_start(
    at: datetime, hour: datetime, errors: int, runs: list[tuple[ErrorRun, TrafficDay]], rules: EpisodeRules
) -> datetime:
    """Where a rise that first fills ``hour`` began: the 5xx runs just before it, back into the previous hour,
    as long as each gap is within ``rise_gap_factor`` times the failing hour's mean gap between 5xx (a rise
    minutes before the hour turned, not yet a fifth of its answers, is the same rise; a stray 500 is not)."""
    limit = timedelta(seconds=min(3600, rules.rise_gap_factor * 3600 // max(errors, 1)))
    for run, _ in sorted(runs, key=lambda p: p[0].start, reverse=True):
        if run.start >= at:
            continue
        if run.start < hour - HOUR or at - run.end > limit:
            break
        at = run.start
    return at


def find_episodes(
    entries: Sequence[TimelineEntry],
    traffic: Iterable[TrafficDay],
    components: Sequence[Component],
    rules: EpisodeRules,
) -> list[TimelineEntry]:
    """Every failure episode in the fused timeline and the traffic days, oldest first (module docstring)."""
    signals = sorted(
        event_signals(entries, components, rules) + traffic_signals(traffic, components, rules),
        key=lambda s: (s.at, s.what),
    )
    join = timedelta(hours=rules.join_hours)
    groups: list[list[Signal]] = []
    for signal in signals:
        if groups and signal.at - max(s.end or s.at for s in groups[-1]) <= join:
            groups[-1].append(signal)
        else:
            groups.append([signal])
    return [_entry(group) for group in groups if _sustained(group, signals, rules)]


def with_episodes(
    entries: Sequence[TimelineEntry],
    traffic: Iterable[TrafficDay],
    components: Sequence[Component],
    rules: EpisodeRules,
) -> list[TimelineEntry]:
    """The fused entries with their failure episodes added, in the timeline's one order."""
    episodes = find_episodes(entries, traffic, components, rules)
    return sorted([*entries, *episodes], key=timeline_order)


def _sustained(group: list[Signal], signals: list[Signal], rules: EpisodeRules) -> bool:
    """A Rapid-Fail disable, or enough signals at well above the rate of the baseline days before."""
    if any(s.sufficient for s in group):
        return True
    if len(group) < rules.min_signals:
        return False
    start, days = group[0].at, rules.baseline_days
    before = sum(1 for s in signals if start - timedelta(days=days) <= s.at < start)
    span_days = max((group[-1].at - start) / timedelta(days=1), 1.0)
    return len(group) / span_days > rules.rate_factor * before / days


def _entry(group: list[Signal]) -> TimelineEntry:
    components = tuple(sorted({c for s in group for c in s.components}))
    sites = {s.subject for s in group if s.what.startswith("5xx")}
    if len(components) == 1:
        subject = components[0]
    elif len(sites) == 1 and all(s.what.startswith("5xx") for s in group):
        subject = sites.pop()
    else:
        subject = Counter(s.subject for s in group).most_common(1)[0][0]
    counts = Counter(s.what for s in group)
    made_of = ", ".join(f"{n} × {what}" for what, n in sorted(counts.items(), key=lambda p: (-p[1], p[0])))
    start, end = group[0].at, max(s.end or s.at for s in group)
    summary = f"failure episode of {subject} from {start:%Y-%m-%d %H:%M:%S} UTC: {made_of}"
    if end > start:
        summary += f" until {end:%Y-%m-%d %H:%M:%S} UTC"
    sources = list(dict.fromkeys(src for s in group for src in s.sources))
    if len(sources) > MAX_SOURCES:
        sources = sources[: MAX_SOURCES - 10] + sources[-10:]
    return TimelineEntry(
        at=start,
        precision="second",
        kind=EPISODE_KIND,
        subject=subject,
        summary=summary,
        sources=tuple(sources),
        end=end if end > start else None,
        details=(("signals", str(len(group))),),
        components=components,
    )
