"""Observations -> timeline entries: one entry per real-world event, every source kept, conflicts shown.

The registry record, the NtServicePack 4377 event, the KB log and the ``$NtUninstall…$`` folder of one hotfix
install are one entry with four sources. Observations of the same thing (same update id, pool, component, a
boot) are grouped by time. An install of an update is split into *sessions*
(:func:`~scanner.timeline.installs.install_sessions`): a re-install is a real event (Q281402's remedy is one;
a real XP System log holds 56 second 4377 records for KBs already installed hours before), so each run is its
own entry, linked to the others by the same ``subject`` and ``update_ids``. A service-pack entry always names
its number (``sp_level``) when any source attests it
(:func:`~scanner.timeline.installs.number_service_packs`), and never a guessed one. An install entry's time
is the earliest precise time any source gives (the log's session start, the backup folder's creation);
sources that disagree with it beyond their own precision are kept and named in ``conflicts`` (e.g. a
registry date a day off because the time zone changed after the install).

This module groups; what a group becomes (its span, kind, subject, typed fields) is draft.py's, and what it
says to people (summary, conflicts) fuse_text.py's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from scanner.knowledge.windows import COMPONENT_WINDOW, FILE_WINDOW
from scanner.model import TimelineEntry
from scanner.timeline.draft import Draft
from scanner.timeline.fuse_text import DAY
from scanner.timeline.installs import (
    UNNUMBERED_SP,
    gap_to,
    install_sessions,
    number_service_packs,
    resolve_unknown_service_packs,
    time_key,
)
from scanner.timeline.observe import Observation

__all__ = ["UNNUMBERED_SP", "fuse", "timeline_order"]

REINSTALL_GAP = timedelta(days=2)
BOOT_WINDOW = timedelta(minutes=5)
SHUTDOWN_BEFORE_BOOT = timedelta(hours=6)
CRASH_WINDOW = timedelta(minutes=5)
_NEVER = datetime.max.replace(tzinfo=timezone.utc)


def fuse(observations: Iterable[Observation], hostname: str) -> list[TimelineEntry]:
    """Group observations into entries (see module docstring); entries come back sorted by time."""
    groups: dict[str, list[Observation]] = defaultdict(list)
    for obs in observations:
        groups[obs.group].append(obs)
    installs = resolve_unknown_service_packs(groups["install"], REINSTALL_GAP)
    drafts: list[Draft] = []
    sessions = [Draft("install", run) for run in install_sessions(installs)]
    drafts += sessions
    drafts += _components(groups["component"])
    drafts += _cluster_by_key(groups["software"], REINSTALL_GAP, "software-install")
    drafts += [Draft("os-install", [o]) for o in groups["os-install"]]
    drafts += _boots(groups["boot"], groups["shutdown"], hostname)
    drafts += [
        Draft(o.kind, [o]) for o in groups["unexpected-shutdown"] + groups["failure"] + groups["traffic"]
    ]
    drafts += _cluster_by_key(groups["crash"], CRASH_WINDOW, "crash")
    _attach_files(drafts, groups["file"])
    number_service_packs(sessions, groups["boot"], groups["sp-now"])  # after files: their versions count
    entries = [d.entry() for d in drafts if d.observations]
    return sorted(entries, key=timeline_order)


def timeline_order(entry: TimelineEntry) -> tuple[bool, datetime, str, str]:
    """The timeline's one order: by time (undated last), then kind and subject."""
    return (entry.at is None, entry.at or _NEVER, entry.kind, entry.subject)


def _cluster_by_key(observations: list[Observation], gap: timedelta, kind: str) -> list[Draft]:
    """Per key: anchors split into events more than ``gap`` apart; the rest join the nearest event."""
    by_key: dict[str, list[Observation]] = defaultdict(list)
    for obs in observations:
        by_key[obs.key].append(obs)
    drafts: list[Draft] = []
    for group in by_key.values():
        timed = sorted((o for o in group if o.at is not None), key=time_key)
        anchors = [o for o in timed if o.anchor] or [o for o in timed if o.precision == "second"] or timed
        clusters: list[list[Observation]] = []
        for obs in anchors:
            if clusters and obs.at and clusters[-1][-1].at and obs.at - clusters[-1][-1].at <= gap:
                clusters[-1].append(obs)
            else:
                clusters.append([obs])
        if not clusters:
            drafts.append(Draft(kind, list(group)))
            continue
        for obs in group:
            if any(obs is a for a in anchors):
                continue
            target = min(clusters, key=lambda c: gap_to(c, obs.at))
            target.append(obs)
        drafts += [Draft(kind, c) for c in clusters]
    return drafts


def _components(observations: list[Observation]) -> list[Draft]:
    """Component installs by component; a setupapi.log section joins the install within the component window
    (``profiles/windows.toml``: the OC setup session that writes it is the one that lays the files down)."""
    named = [o for o in observations if o.key != "setupapi"]
    drafts = _cluster_by_key(named, REINSTALL_GAP, "component-install")
    loose: list[Observation] = []
    for obs in (o for o in observations if o.key == "setupapi"):
        near = [d for d in drafts if gap_to(d.observations, obs.at) <= COMPONENT_WINDOW]
        if near:
            min(near, key=lambda d: gap_to(d.observations, obs.at)).observations.append(obs)
        else:
            loose.append(obs)
    return drafts + _cluster_by_key(
        [replace(o, key="setupapi", anchor=True) for o in loose],
        REINSTALL_GAP,
        "component-install",
    )


def _boots(boots: list[Observation], shutdowns: list[Observation], hostname: str) -> list[Draft]:
    """6009 + 6005 within minutes are one boot; a 6006 shortly before a boot is its clean shutdown."""
    drafts: list[Draft] = []
    for obs in sorted((o for o in boots if o.at is not None), key=time_key):
        last = drafts[-1].observations if drafts else None
        if last and obs.at and last[0].at and obs.at - last[0].at <= BOOT_WINDOW:
            last.append(obs)
        else:
            drafts.append(Draft("reboot", [obs]))
    previous_os = ""
    for draft in drafts:
        os_name = next((o.os_name for o in draft.observations if o.os_name), "")
        if previous_os and os_name and os_name != previous_os:
            draft.observations[0] = replace(draft.observations[0], os_changed_from=previous_os)
        previous_os = os_name or previous_os
    for obs in sorted((o for o in shutdowns if o.at is not None), key=time_key):
        following = [
            d
            for d in drafts
            if d.observations[0].group == "boot"
            and d.observations[0].at
            and obs.at
            and timedelta(0) <= d.observations[0].at - obs.at <= SHUTDOWN_BEFORE_BOOT
        ]
        if following and not any(o.group == "shutdown" for o in following[0].observations):
            following[0].observations.append(obs)
        else:
            drafts.append(Draft("reboot", [obs]))
    return drafts


def _attach_files(drafts: list[Draft], files: list[Observation]) -> None:
    """A file created during an install belongs to it; the rest become ``file-replaced`` entries."""
    spans = []
    for draft in drafts:
        if draft.kind not in ("install", "component-install", "software-install", "os-install"):
            continue
        at, end = draft.span()
        if at is None or end is None:
            continue
        precise = any(o.precision == "second" for o in draft.observations)
        spans.append((draft, at - FILE_WINDOW, (end if precise else at + DAY) + FILE_WINDOW))
    loose: list[Observation] = []
    for obs in sorted(files, key=time_key):
        hits = [(d, lo, hi) for d, lo, hi in spans if obs.at is not None and lo <= obs.at <= hi]
        if hits:
            min(hits, key=lambda h: h[2] - h[1])[0].observations.append(obs)
        else:
            loose.append(obs)
    for obs in loose:
        last = drafts[-1] if drafts and drafts[-1].kind == "file-replaced" else None
        if last and last.observations[-1].at and obs.at and obs.at - last.observations[-1].at <= FILE_WINDOW:
            last.observations.append(obs)
        else:
            drafts.append(Draft("file-replaced", [obs]))
