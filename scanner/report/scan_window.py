"""Which timeline entries the ``scan`` report shows "around the failure", and how repeats collapse.

A post-mortem reader wants the failure's neighbourhood, not ten years of patch history: the window starts at
the last install before the trigger (without a trigger: two days before the onset), months of routine
traffic/boot entries in between are left out and counted, and a burst of identical failures (W3SVC 1009
five times in three minutes) is one line. The text report (``scan_text``) and the timeline strip
(``strip``) share these decisions so they point at the same trigger entry and the same onset.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from scanner.diagnose import ScanResult
from scanner.diagnose.onset import trigger_name
from scanner.model import (
    EPISODE_KIND,
    FAILURE_EVENT_KINDS,
    FAILURE_KINDS,
    SERVICING_KINDS,
    Diagnosis,
    TimelineEntry,
)

# The kind families are the model's (scanner/model/timeline.py, issue 16 item 2): the window "around the
# failure" starts at the SERVICING_KINDS entry before the trigger; repeats of FAILURE_KINDS (one kind +
# subject, until a boot or an install) collapse into one line.
_RUN_BREAKERS = SERVICING_KINDS | {"reboot"}
_ROUTINE_KINDS = frozenset({"traffic", "reboot"})
_BEFORE_ONSET = timedelta(days=2)
_LAST_ENTRIES = 15
#: More routine entries than this between the previous install and the trigger are left out (counted).
_MAX_ROUTINE_SHOWN = 10


def trigger_entry(entries: Iterable[TimelineEntry], d: Diagnosis) -> TimelineEntry | None:
    """The install entry of the trigger update: the latest one at or before the onset."""
    if not d.trigger:
        return None
    wanted = d.trigger.casefold()
    matches = [
        e
        for e in entries
        if e.at and e.kind in SERVICING_KINDS and wanted in (e.subject.casefold(), trigger_name(e).casefold())
    ]
    if d.failure_onset is not None:
        matches = [e for e in matches if e.at and e.at <= d.failure_onset] or matches
    return matches[-1] if matches else None


def window(result: ScanResult, verbose: int) -> tuple[str, list[TimelineEntry], int]:
    """The entries to show, a phrase saying which, and how many routine entries were left out."""
    entries = result.timeline.entries
    d = result.diagnosis
    if verbose >= 2:
        return "the whole timeline", list(entries), 0
    dated = [e for e in entries if e.at is not None]
    if d.failure_onset is None:
        return f"no failure onset: the last {_LAST_ENTRIES} entries", dated[-_LAST_ENTRIES:], 0
    trigger = trigger_entry(dated, d)
    if trigger is not None and trigger.at is not None:
        trigger_at = trigger.at
        previous = [e for e in dated if e.kind in SERVICING_KINDS and e.at and e.at < trigger_at]
        start = previous[-1].at if previous and previous[-1].at else trigger_at
        why = f"from the last servicing before {trigger.subject}" if previous else f"from {trigger.subject}"
    else:
        trigger_at, start, why = None, d.failure_onset - _BEFORE_ONSET, "from 2 days before the onset"
    shown = [e for e in dated if e.at is not None and (e.end or e.at) >= start]
    if trigger_at is None:
        return f"{why} to the end", shown, 0
    # Months of daily traffic and routine boots between the previous install and the trigger say nothing.
    quiet_until = trigger_at - _BEFORE_ONSET
    routine = {id(e) for e in shown if e.kind in _ROUTINE_KINDS and e.at and start < e.at < quiet_until}
    if len(routine) <= _MAX_ROUTINE_SHOWN:
        return f"{why} to the end", shown, 0
    return f"{why} to the end", [e for e in shown if id(e) not in routine], len(routine)


def runs(entries: list[TimelineEntry]) -> list[list[TimelineEntry]]:
    """Group repeated failures of one kind + subject into runs; a boot or an install starts new runs."""
    grouped: list[list[TimelineEntry]] = []
    open_runs: dict[tuple[str, str], list[TimelineEntry]] = {}
    for entry in entries:
        if entry.kind in _RUN_BREAKERS:
            open_runs.clear()
        if entry.kind not in FAILURE_KINDS:
            grouped.append([entry])
            continue
        key = (entry.kind, entry.subject.casefold())
        if key in open_runs:
            open_runs[key].append(entry)
        else:
            open_runs[key] = [entry]
            grouped.append(open_runs[key])
    return grouped


def onset_entry(entries: list[TimelineEntry], d: Diagnosis) -> TimelineEntry | None:
    """The entry that dates the onset: a failure at that instant (else the episode starting then), not a
    traffic summary starting then."""
    at_onset = [e for e in entries if d.failure_onset is not None and e.at == d.failure_onset]
    for kinds in (FAILURE_EVENT_KINDS, {EPISODE_KIND}):
        found = next((e for e in at_onset if e.kind in kinds), None)
        if found is not None:
            return found
    return at_onset[0] if at_onset else None


def markers(
    run: list[TimelineEntry], d: Diagnosis, trigger: TimelineEntry | None, onset: TimelineEntry | None
) -> str:
    """The ``◀ trigger · failure onset · last good request`` tail of a run's line ('' for none)."""
    marks = []
    if trigger is not None and any(e is trigger for e in run):
        marks.append("trigger")
    if onset is not None and any(e is onset for e in run):
        marks.append("failure onset")
    if d.last_good is not None and any(e.kind == "traffic" and e.at == d.last_good for e in run):
        marks.append("last good request")
    return f"  ◀ {' · '.join(marks)}" if marks else ""
