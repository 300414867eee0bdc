"""When did it break, and what set it off: failure onset and trigger, read off the fused timeline.

Onset (issue 5): the first failure evidence — worker-process failures, rapid-fail disables, service
terminations, crashes, runs of 5xx answers — after the last successful request. Without IIS logs there is no
"last good" bound, so the onset is the first failure of the last burst (failures closer than a day apart).
Trigger: the last servicing change at or before the onset, within ``TRIGGER_WINDOW``; packages that were only
staged changed no file and are passed over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scanner.model import TimelineEntry
from scanner.rules.context import INSTALL_KINDS

FAILURE_KINDS = frozenset({"worker-process-failure", "rapid-fail-disable", "service-failure", "crash"})
NO_CHANGE_STATES = frozenset({"staged", "staging", "absent", "resolved", "resolving"})
BURST_GAP = timedelta(days=1)
TRIGGER_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Onset:
    at: datetime
    entry: TimelineEntry
    last_good: TimelineEntry | None
    failures: tuple[TimelineEntry, ...]  # every failure entry from the onset on


def _is_failure(entry: TimelineEntry) -> bool:
    if entry.kind in FAILURE_KINDS:
        return True
    return entry.kind == "traffic" and dict(entry.details).get("what") == "5xx-run"


def find_onset(entries: list[TimelineEntry]) -> Onset | None:
    dated = [e for e in entries if e.at is not None]
    good = [e for e in dated if e.kind == "traffic" and dict(e.details).get("what") == "last-success"]
    last_good = max(good, key=lambda e: e.at) if good else None  # type: ignore[arg-type, return-value]
    # at one instant, a failure event is a better onset witness than the error run it caused
    failures = sorted((e for e in dated if _is_failure(e)), key=lambda e: (e.at, e.kind == "traffic"))
    if last_good is not None:
        assert last_good.at is not None
        failures = [e for e in failures if e.at is not None and e.at > last_good.at]
    elif failures:
        burst = [failures[-1]]
        for entry in reversed(failures[:-1]):
            assert entry.at is not None and burst[0].at is not None
            if burst[0].at - entry.at > BURST_GAP:
                break
            burst.insert(0, entry)
        failures = burst
    if not failures:
        return None
    first = failures[0]
    assert first.at is not None
    return Onset(first.at, first, last_good, tuple(failures))


def _changed_something(entry: TimelineEntry) -> bool:
    return dict(entry.details).get("state", "installed") not in NO_CHANGE_STATES


def find_trigger(entries: list[TimelineEntry], onset: Onset) -> TimelineEntry | None:
    """The servicing change that most plausibly set the failure off (see module docstring)."""
    window_start = onset.at - TRIGGER_WINDOW
    candidates = [
        e
        for e in entries
        if e.kind in INSTALL_KINDS
        and e.at is not None
        and window_start <= e.at <= onset.at
        and _changed_something(e)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda e: e.at)  # type: ignore[arg-type, return-value]
