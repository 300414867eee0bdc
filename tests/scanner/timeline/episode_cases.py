"""Timeline entries and IIS traffic days in the literal shapes real logs have, for the episode tests and the
onset/trigger tests (tests/scanner/timeline/test_episodes.py, tests/scanner/diagnose/test_onset.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from scanner.knowledge.components import load_components
from scanner.knowledge.episodes import load_episode_rules
from scanner.knowledge.profiles import load_knowledge
from scanner.model import (
    ErrorRun,
    FileState,
    Inventory,
    Provenance,
    SystemFacts,
    TimelineEntry,
    TimelineSource,
    TrafficDay,
    UpdateRecord,
)
from scanner.timeline.episodes import find_episodes

UTC = timezone.utc
RULES = load_episode_rules()
KNOWLEDGE = load_knowledge()
ALL = tuple(load_components())
IIS5 = tuple(c for c in ALL if c.applies_to("5.0"))
IIS6 = tuple(c for c in ALL if c.applies_to("5.2"))
_record = iter(range(100, 100_000))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def entry(when: str, kind: str, subject: str, **extra: object) -> TimelineEntry:
    number = next(_record)
    source = TimelineSource(
        "event", at(when), "second", f"{subject}", Provenance("SysEvent.Evt", f"record {number}")
    )
    return TimelineEntry(at(when), "second", kind, subject, f"{kind} {subject}", (source,), **extra)  # type: ignore[arg-type]


def day(when: str, hourly: list[tuple[int, int, int]], runs: tuple[ErrorRun, ...] = ()) -> TrafficDay:
    """A W3C day: ``hourly`` as (hour, requests, 5xx)."""
    start = at(when)
    hours = tuple((start + timedelta(hours=h), n, x) for h, n, x in hourly)
    requests = sum(n for _, n, _ in hourly)
    errors = sum(x for _, _, x in hourly)
    statuses = ((200, requests - errors), (500, errors)) if errors else ((200, requests),)
    last_ok = start + timedelta(hours=hourly[-1][0], minutes=59) if requests > errors else None
    log = Provenance(f"WINDOWS\\system32\\LogFiles\\W3SVC1\\ex{start:%y%m%d}.log", f"lines 5-{requests + 4}")
    return TrafficDay(
        "w3c",
        "W3SVC1",
        start,
        requests,
        hours[0][0],
        hours[-1][0],
        last_ok,
        statuses,
        hours,
        runs,
        "Microsoft Internet Information Services 6.0",
        log,
    )


def run(start: str, count: int, minutes: int = 1) -> ErrorRun:
    first = Provenance("WINDOWS\\system32\\LogFiles\\W3SVC1\\ex.log", f"line {next(_record)}")
    return ErrorRun(at(start), at(start) + timedelta(minutes=minutes), count, ((500, count),), first)


def steady(first: str, days: int, requests: int = 30, errors: int = 0) -> list[TrafficDay]:
    return [
        day(f"{at(first) + timedelta(days=n):%Y-%m-%d}", [(h, requests, errors) for h in range(24)])
        for n in range(days)
    ]


def with_episodes_of(entries: list[TimelineEntry], components: tuple = IIS6) -> list[TimelineEntry]:  # type: ignore[type-arg]
    return sorted(entries + find_episodes(entries, [], components, RULES), key=lambda e: (e.at, e.kind))


def inventory_of(
    version: str = "5.2", files: list[FileState] | None = None, updates: list[UpdateRecord] | None = None
) -> Inventory:
    system = SystemFacts(
        "Windows Server 2003", version, 3790, 2, "Service Pack 2", "x86", "WEB01", None, "WINDOWS", None
    )
    return Inventory({}, system, updates=updates or [], files=files or [])


FAILING = [
    entry("2009-12-09 15:55:01", "worker-process-failure", "DefaultAppPool"),
    entry("2009-12-09 15:55:42", "worker-process-failure", "DefaultAppPool"),
]
