"""Install sessions and service-pack numbers: how fusion turns an update's observations into install runs.

A re-install is a real event (Q281402's remedy is one; plaso's real XP System log holds 266 NtServicePack
4377 records of which 56 re-record an update installed hours before), so an update's observations are split
into runs (:func:`install_sessions`), each its own timeline entry linked to the others by the same subject
and ``update_ids``. A service-pack run always names its number when any source attests one
(:func:`number_service_packs`), and never a guessed one (:func:`unnumbered_service_pack_gaps`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Protocol

from scanner.model import Gap, InstallOutcome, TimelineEntry, TimelineSource
from scanner.timeline.observe import Observation

#: The subject of a service-pack entry no source numbers (a Gap says so; the number is never guessed).
UNNUMBERED_SP = "Service Pack (number not attested)"
#: Anchors of one update more than this apart are two install sessions. One update.exe run writes its log
#: header, creates its backup folder, copies its files and logs 4377 within minutes (hotfixes) - a service
#: pack's longer run is held together by its own start and end (MAX_INSTALL_RUN) - while a re-install is a
#: new run, typically hours later (reference §4.2; issue 13's real XP log).
INSTALL_SESSION_GAP = timedelta(minutes=30)
#: A run that logged its start is joined by its own end up to this much later: a service pack copies
#: thousands of files between its ``$NtServicePackUninstall$`` folder and its 4377 record, which can take
#: well over the session gap on a slow server (our allowance, not a published figure).
MAX_INSTALL_RUN = timedelta(hours=6)
#: How far a local-clock time can be off when the zone changed after it was written (UTC-12 to UTC+14).
LOCAL_CLOCK_SLACK = timedelta(hours=26)
_NEVER = datetime.max.replace(tzinfo=timezone.utc)


class SpSession(Protocol):
    """What numbering needs of a fused install draft (draft.Draft)."""

    sp_level: int | None
    sp_basis: list[tuple[TimelineSource, str]]
    observations: list[Observation]

    def span(self) -> tuple[datetime | None, datetime | None]: ...

    def level(self) -> int | None: ...

    def is_service_pack(self) -> bool: ...

    def outcome(self) -> InstallOutcome | None: ...


def time_key(obs: Observation) -> tuple[bool, datetime]:
    return obs.at is None, obs.at or _NEVER


def gap_to(cluster: list[Observation], when: datetime | None) -> timedelta:
    if when is None:
        return -timedelta(seconds=cluster[-1].at.timestamp() if cluster[-1].at else 0)  # latest cluster wins
    times = [o.at for o in cluster if o.at is not None]
    if not times:
        return timedelta.max
    lo, hi = min(times), max(times)
    return timedelta(0) if lo <= when <= hi else min(abs(when - lo), abs(when - hi))


def resolve_unknown_service_packs(installs: list[Observation], window: timedelta) -> list[Observation]:
    """``$NtServicePackUninstall$`` does not say which SP made it: give it the SP installed at that time."""
    known = [o for o in installs if o.key.startswith("SP") and o.key != "SP?" and o.at is not None]
    out = []
    for obs in installs:
        if obs.key == "SP?" and obs.at is not None and known:
            nearest = min(known, key=lambda o: abs((o.at or obs.at) - obs.at) if obs.at else timedelta.max)
            if nearest.at is not None and abs(nearest.at - obs.at) <= window:
                obs = replace(obs, key=nearest.key)
        out.append(obs)
    return out


def _run_marker(obs: Observation) -> tuple[str, str, str] | None:
    """What only one run of an installer writes once: a log's session start or end, an event record of a
    given id. A second one of the same marker for the same update is a second run, however soon."""
    if obs.role not in ("start", "end") or obs.source.type not in ("log", "event"):
        return None
    ref = obs.source.event
    what = f"{ref.log}/{ref.provider}/{ref.event_id}" if ref is not None else obs.log_what
    return obs.source.provenance.artifact.lower(), obs.role, what


def install_sessions(observations: list[Observation]) -> list[list[Observation]]:
    """Per update: anchors split into install runs (see :data:`INSTALL_SESSION_GAP`); claims without a
    precise time of their own (a key's last write, a local date) join the nearest run, undated ones the last.
    """
    by_key: dict[str, list[Observation]] = defaultdict(list)
    for obs in observations:
        by_key[obs.key].append(obs)
    runs: list[list[Observation]] = []
    for group in by_key.values():
        timed = sorted((o for o in group if o.at is not None), key=time_key)
        anchors = [o for o in timed if o.anchor] or [o for o in timed if o.precision == "second"] or timed
        native = [o for o in anchors if not o.local_clock]
        clusters: list[list[Observation]] = []
        for obs in native or anchors:
            if clusters and _same_run(clusters[-1], obs):
                clusters[-1].append(obs)
            else:
                clusters.append([obs])
        if native:
            _join_local_clock(clusters, [o for o in anchors if o.local_clock])
        if not clusters:
            runs.append(list(group))
            continue
        for obs in group:
            if any(obs is a for a in anchors):
                continue
            target = min(clusters, key=lambda c: gap_to(c, obs.at))
            target.append(obs)
        runs += clusters
    return runs


def _join_local_clock(clusters: list[list[Observation]], local: list[Observation]) -> None:
    """Local-clock anchors (log times converted with today's zone rule) may be off by a zone change since:
    each joins the nearest run the UTC-native sources date, within :data:`LOCAL_CLOCK_SLACK`, unless that run
    already has the same marker (then it is another run); else it starts or extends a run of its own."""
    native = list(clusters)
    for obs in local:
        marker = _run_marker(obs)
        own = [c for c in clusters if c not in native and _same_run(c, obs)]
        near = [
            c
            for c in native
            if gap_to(c, obs.at) <= LOCAL_CLOCK_SLACK
            and (marker is None or all(_run_marker(o) != marker for o in c))
        ]
        if own:
            own[-1].append(obs)
        elif near:
            min(near, key=lambda c: gap_to(c, obs.at)).append(obs)
        else:
            clusters.append([obs])


def _same_run(cluster: list[Observation], obs: Observation) -> bool:
    assert obs.at is not None
    marker = _run_marker(obs)
    if marker is not None and any(_run_marker(o) == marker for o in cluster):
        return False  # a second log header / second 4377 for the same update: a re-install
    times = [o.at for o in cluster if o.at is not None]
    if not times:
        return False
    if obs.at - max(times) <= INSTALL_SESSION_GAP:
        return True
    started = any(o.role == "start" for o in cluster) and not any(o.role == "end" for o in cluster)
    return started and obs.role == "end" and obs.at - min(times) <= MAX_INSTALL_RUN


def number_service_packs(
    drafts: Sequence[SpSession], boots: list[Observation], now: list[Observation]
) -> None:
    """Give each unnumbered service-pack session the number a source attests, never a guessed one.

    In order: the session's own sources (the log banner, the registry record, the event: typed
    ``sp_level``, also joined by time in :func:`resolve_unknown_service_packs`); the SP level most of the
    files created during the session are at by the OS profile's baselines (a service pack copies its own
    level's files; ``sp_level`` on file observations, set in timeline/__init__.py); the SP level the first
    boot after it reports (EventLog 6009, typed ``sp_level`` on the boot) when it is higher than the level
    of the last boot before it; for the latest SP session that did not fail, ``CSDVersion`` now (then
    ``ServicePackSourcePath`` when it names a number), unless another session already holds that number.
    A session no source numbers keeps ``sp_level`` None; :func:`unnumbered_service_pack_gaps` says so.
    """
    sps = [d for d in drafts if d.is_service_pack()]
    for draft in sps:
        draft.sp_level = draft.level()
        if draft.sp_level is None:
            _number_by_files(draft)
    numbered_boots = sorted((o for o in boots if o.sp_level is not None and o.at is not None), key=time_key)
    for draft in sps:
        if draft.sp_level is not None:
            continue
        start, end = draft.span()
        if start is None or end is None:
            continue
        before = [o for o in numbered_boots if o.at is not None and o.at < start]
        after = [o for o in numbered_boots if o.at is not None and o.at > end]
        if after and after[0].sp_level is not None:
            prior = before[-1].sp_level if before else None
            outcome = draft.outcome()
            failed = outcome is not None and outcome.result in ("failed", "partial", "cancelled")
            # A failed run leaves the old level: only a rise in level at the next boot numbers it then.
            if (prior is None and not failed) or (prior is not None and after[0].sp_level > prior):
                draft.sp_level = after[0].sp_level
                draft.sp_basis.append((after[0].source, "the SP level the next boot reports"))
    dated = sorted((d for d in sps if d.span()[0] is not None), key=lambda d: d.span()[0] or _NEVER)
    if not dated or dated[-1].sp_level is not None:
        return
    latest = dated[-1]
    outcome = latest.outcome()
    if outcome is not None and outcome.result in ("failed", "cancelled"):
        return
    taken = {d.sp_level for d in sps if d.sp_level is not None}
    for claim in sorted(now, key=lambda o: o.key != "csd"):  # CSDVersion first
        if claim.sp_level is not None and claim.sp_level > 0 and claim.sp_level not in taken:
            if all(level < claim.sp_level for level in taken):
                latest.sp_level = claim.sp_level
                latest.sp_basis.append((claim.source, claim.sp_from or "registry"))
                return


def _number_by_files(draft: SpSession) -> None:
    """The level most of the session's copied files are at, when one level is the clear majority."""
    files = [o for o in draft.observations if o.role == "file" and o.sp_level is not None and o.sp_level > 0]
    counts = Counter(o.sp_level for o in files)
    ranked = counts.most_common(2)
    if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
        level, count = ranked[0]
        draft.sp_level = level
        best = next(o for o in files if o.sp_level == level)
        draft.sp_basis.append((best.source, f"the versions of {count} of {len(files)} file(s) it copied"))


def unnumbered_service_pack_gaps(entries: list[TimelineEntry]) -> list[Gap]:
    """One gap per service-pack entry whose number no source attests (the entry keeps ``sp_level`` None)."""
    gaps = []
    for entry in entries:
        if entry.kind == "service-pack" and entry.sp_level is None:
            when = f"{entry.at:%Y-%m-%d %H:%M} UTC" if entry.at else "undated"
            gaps.append(
                Gap(
                    f"service pack installed {when}",
                    "no source names its number (no numbered log banner or registry record, no higher SP "
                    "at the next boot, CSDVersion already accounted for): the number is left unknown, "
                    "not guessed",
                    tuple(s.provenance for s in entry.sources[:3]),
                )
            )
    return gaps
