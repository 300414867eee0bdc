"""When did it break, and what set it off: the failure onset and the trigger, read off the fused timeline.

Onset (issue 14 item 1): the start of the last *failure episode* (scanner/timeline/episodes.py built it: a
sustained change against the baseline before it, never one stray failure). No episode, no onset. The episode's
failure entries are those citing its evidence; ``last_good`` is the last successful request before the onset
(None when requests still succeeded after it: an intermittent failure).

Trigger (issue 14 item 3): only a servicing change with a real identity — a KB/Q id (``update_ids``), a
numbered service pack (``sp_level``), a CBS package, a named component or program install — within
``TRIGGER_WINDOW`` before the onset, that changed something (a package only staged did not). With several,
the one whose files or component the failure touches wins — first one a warning-level finding names with a
file of a failing component (a latent condition of the failing part), then one whose Filelist names such a
file, that wrote one in its session or installed the component — then the latest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from scanner.model import (
    EPISODE_KIND,
    FAILURE_EVENT_KINDS,
    SERVICING_KINDS,
    Finding,
    Inventory,
    TimelineEntry,
    is_serious,
)

NO_CHANGE_STATES = frozenset({"staged", "staging", "absent", "resolved", "resolving"})
TRIGGER_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Onset:
    at: datetime
    entry: TimelineEntry  # the first failure entry of the episode (the episode itself without one)
    last_good: TimelineEntry | None  # the last success before the onset; None when successes went on
    failures: tuple[TimelineEntry, ...]  # the failure entries the episode cites, oldest first
    episode: TimelineEntry | None = None
    later_success: datetime | None = None  # a success after the onset: the failure is intermittent


def _is_success_mark(entry: TimelineEntry) -> bool:
    return entry.kind == "traffic" and entry.traffic == "last-success"


def _cites(episode: TimelineEntry, entry: TimelineEntry) -> bool:
    cited = {(s.provenance.artifact, s.provenance.locator) for s in episode.sources}
    return any((s.provenance.artifact, s.provenance.locator) in cited for s in entry.sources)


def find_onset(entries: Sequence[TimelineEntry]) -> Onset | None:
    """The onset of the last failure episode, with the failure entries it is made of (module docstring)."""
    episodes = [e for e in entries if e.kind == EPISODE_KIND and e.at is not None]
    if not episodes:
        return None
    episode = episodes[-1]
    assert episode.at is not None
    start, end = episode.at, episode.end or episode.at
    failures = sorted(
        (
            e
            for e in entries
            if e.at is not None
            and start <= e.at <= end
            and (e.kind in FAILURE_EVENT_KINDS or (e.kind == "traffic" and not _is_success_mark(e)))
            and _cites(episode, e)
        ),
        key=lambda e: (e.at, e.kind == "traffic"),  # at one instant, an event before the error run it caused
    )
    marks = [e for e in entries if _is_success_mark(e) and e.at is not None]
    last = max(marks, key=lambda e: e.at) if marks else None  # type: ignore[arg-type, return-value]
    before = last if last is not None and last.at is not None and last.at < start else None
    after = last.at if last is not None and before is None else None
    first = failures[0] if failures else episode
    return Onset(start, first, before, tuple(failures), episode, after)


def _changed_something(entry: TimelineEntry) -> bool:
    return (entry.record_state or "installed") not in NO_CHANGE_STATES


def has_identity(entry: TimelineEntry) -> bool:
    """A servicing change one can name: a KB/Q id, a numbered SP, a package, a named component or program."""
    if entry.update_ids:
        return True
    if entry.kind == "service-pack":
        return entry.sp_level is not None
    if entry.kind in ("package-state-change", "component-install", "software-install"):
        return bool(entry.subject.strip())
    return False


def touches(
    entry: TimelineEntry, inv: Inventory | None, components: Sequence[str], findings: Sequence[Finding] = ()
) -> int:
    """How closely the change is tied to the failing components: 2 when a warning-level finding names it with
    a file of one (its files wait for a reboot, were put back...: a latent condition of the failing part); 1
    when it installed one, wrote one of its files in its session (file sources fusion attached by creation
    time) or its Filelist names one of its files; else 0."""
    if not components:
        return 0
    wanted = {i.casefold() for i in entry.update_ids}
    for finding in findings:
        if not is_serious(finding.severity) or not wanted & {u.casefold() for u in finding.updates}:
            continue
        if any(f.component in components for f in finding.files):
            return 2
    return int(_installed_or_wrote(entry, inv, components))


def _installed_or_wrote(entry: TimelineEntry, inv: Inventory | None, components: Sequence[str]) -> bool:
    if entry.kind == "component-install" and entry.subject in components:
        return True
    wanted = {i.casefold() for i in entry.update_ids}
    files = {f.path.casefold(): f for f in (inv.files if inv else ()) if f.component in components}
    if any(s.type == "file" and s.provenance.artifact.casefold() in files for s in entry.sources):
        return True
    names = {path.rsplit("\\", 1)[-1] for path in files}
    for update in inv.updates if inv else ():
        if update.id.casefold() in wanted and {f.name.casefold() for f in update.files} & names:
            return True
    return False


def trigger_candidates(entries: Sequence[TimelineEntry], onset: Onset) -> list[TimelineEntry]:
    """Named servicing changes in the window before the onset that changed something, oldest first."""
    window_start = onset.at - TRIGGER_WINDOW
    return sorted(
        (
            e
            for e in entries
            if e.kind in SERVICING_KINDS
            and e.at is not None
            and window_start <= e.at <= onset.at
            and has_identity(e)
            and _changed_something(e)
        ),
        key=lambda e: e.at,  # type: ignore[arg-type, return-value]
    )


def find_trigger(
    entries: Sequence[TimelineEntry],
    onset: Onset,
    inv: Inventory | None = None,
    findings: Sequence[Finding] = (),
) -> TimelineEntry | None:
    """The servicing change that most plausibly set the failure off (see module docstring)."""
    candidates = trigger_candidates(entries, onset)
    components = onset.episode.components if onset.episode else ()
    if not candidates:
        return None
    ties = [(touches(e, inv, components, findings), index) for index, e in enumerate(candidates)]
    return candidates[max(ties)[1]]  # the closest tie, then the latest


def trigger_name(entry: TimelineEntry) -> str:
    """How the verdict names a trigger: its update id, "Service Pack N" for an SP, else its subject."""
    if entry.kind == "service-pack" and entry.sp_level is not None and not entry.update_ids:
        return f"Service Pack {entry.sp_level}"
    return entry.subject
