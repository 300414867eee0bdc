"""Observations -> timeline entries: one entry per real-world event, every source kept, conflicts shown.

The registry record, the NtServicePack 4377 event, the KB log and the ``$NtUninstall…$`` folder of one hotfix
install are one entry with four sources. Observations of the same thing (same update id, pool, component, a
boot) are grouped by time. An install of an update is split into *sessions* (:func:`_install_sessions`): a
re-install is a real event (Q281402's remedy is one; a real XP System log holds 56 second 4377 records for
KBs already installed hours before), so each run is its own entry, linked to the others by the same
``subject`` and ``update_ids``. A service-pack entry always names its number (``sp_level``) when any source
attests it (:func:`_number_service_packs`), and never a guessed one. An
install entry's time is the earliest precise time any source gives (the log's session start, the backup
folder's creation); sources that disagree with it beyond their own precision are kept and named in
``conflicts`` (e.g. a registry date a day off because the time zone changed after the install).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from scanner.collectors.update_ids import normalise_update_id, sp_number
from scanner.knowledge.windows import FILE_WINDOW
from scanner.model import InstallOutcome, TimelineEntry, TimelineSource
from scanner.timeline.installs import (
    UNNUMBERED_SP,
    gap_to,
    install_sessions,
    number_service_packs,
    resolve_unknown_service_packs,
    time_key,
)
from scanner.timeline.observe import Observation

REINSTALL_GAP = timedelta(days=2)
BOOT_WINDOW = timedelta(minutes=5)
SHUTDOWN_BEFORE_BOOT = timedelta(hours=6)
CRASH_WINDOW = timedelta(minutes=5)
SETUPAPI_WINDOW = timedelta(hours=2)
TOLERANCE = timedelta(hours=1)
KEY_REWRITE_TOLERANCE = timedelta(days=1)
DAY = timedelta(days=1)
_NEVER = datetime.max.replace(tzinfo=timezone.utc)
_KIND_RANK = {"service-pack": 0, "update": 1, "hotfix": 2, "package-state-change": 3}


def fuse(observations: Iterable[Observation], hostname: str) -> list[TimelineEntry]:
    """Group observations into entries (see module docstring); entries come back sorted by time."""
    groups: dict[str, list[Observation]] = defaultdict(list)
    for obs in observations:
        groups[obs.group].append(obs)
    installs = resolve_unknown_service_packs(groups["install"], REINSTALL_GAP)
    drafts: list[_Draft] = []
    sessions = [_Draft("install", run) for run in install_sessions(installs)]
    drafts += sessions
    drafts += _components(groups["component"])
    drafts += _cluster_by_key(groups["software"], REINSTALL_GAP, "software-install")
    drafts += [_Draft("os-install", [o]) for o in groups["os-install"]]
    drafts += _boots(groups["boot"], groups["shutdown"], hostname)
    drafts += [
        _Draft(o.kind, [o]) for o in groups["unexpected-shutdown"] + groups["failure"] + groups["traffic"]
    ]
    drafts += _cluster_by_key(groups["crash"], CRASH_WINDOW, "crash")
    _attach_files(drafts, groups["file"])
    number_service_packs(sessions, groups["boot"], groups["sp-now"])  # after files: their versions count
    entries = [d.entry() for d in drafts if d.observations]
    return sorted(entries, key=timeline_order)


def timeline_order(entry: TimelineEntry) -> tuple[bool, datetime, str, str]:
    """The timeline's one order: by time (undated last), then kind and subject."""
    return (entry.at is None, entry.at or _NEVER, entry.kind, entry.subject)


class _Draft:
    """Observations of one real-world event, being turned into an entry."""

    def __init__(self, kind: str, observations: list[Observation]) -> None:
        self.kind = kind
        self.observations = observations
        self.sp_level: int | None = None  # an install's SP number, once resolved
        self.sp_basis: list[tuple[TimelineSource, str]] = []  # a source outside the session that numbers it

    def level(self) -> int | None:
        """The SP number the draft's own sources attest (typed ``sp_level``), when they agree on one."""
        if self.sp_level is not None:
            return self.sp_level
        groups = ("boot",) if self.kind == "reboot" else ("install",)
        levels = {
            o.sp_level
            for o in self.observations
            if o.sp_level is not None and o.group in groups and o.role != "file"  # files: see installs.py
        }
        if self.kind == "install":
            levels |= {int(o.key[2:]) for o in self.observations if o.key[:2] == "SP" and o.key[2:].isdigit()}
        return levels.pop() if len(levels) == 1 else None

    def is_service_pack(self) -> bool:
        return self.kind == "install" and any(o.key.startswith("SP") for o in self.observations)

    def span(self) -> tuple[datetime | None, datetime | None]:
        timed = [o for o in self.observations if o.at is not None]
        precise = [o for o in timed if o.precision == "second"]
        core = [o for o in precise if o.anchor or o.role == "file"] or precise or timed
        core = _trusted(core)
        if not core:
            return None, None
        if self.kind == "reboot":
            boots = [o for o in core if o.role == "start"] or [o for o in core if o.group == "boot"] or core
            return min(o.at for o in boots if o.at), max(o.at for o in core if o.at)
        return min(o.at for o in core if o.at), max(o.at for o in core if o.at)

    def entry(self) -> TimelineEntry:
        at, end = self.span()
        first = min((o for o in self.observations if o.at == at), key=_precision_rank, default=None)
        precision = first.precision if first else None
        kind = self._kind()
        subject = self._subject()
        sources = tuple(_dedupe(o.source for o in sorted(self.observations, key=_time_key)))
        sources += tuple(source for source, _ in self.sp_basis)
        details = self._details()
        if self.sp_basis:
            details["sp_from"] = self.sp_basis[0][1]
        if self.kind == "traffic" and details.get("end"):
            end = datetime.fromisoformat(details.pop("end"))
        return TimelineEntry(
            at=at,
            precision=precision,
            kind=kind,
            subject=subject,
            summary=self._summary(kind, subject),
            sources=sources,
            end=end if end and at and end > at else None,
            conflicts=tuple(self._conflicts(at, end)),
            details=tuple(sorted(details.items())),
            update_ids=self._update_ids(),
            sp_level=self.level() if self.kind == "reboot" or self.is_service_pack() else None,
            outcome=self.outcome(),
        )

    def _update_ids(self) -> tuple[str, ...]:
        ids: dict[str, None] = {}
        for obs in self.observations:
            for found in obs.update_ids:
                ids.setdefault(found, None)
            if self.kind == "install" and normalise_update_id(obs.key) == obs.key:
                ids.setdefault(obs.key, None)
        return tuple(ids)

    def outcome(self) -> InstallOutcome | None:
        """The session's outcome as its install log says it (an ended log session first)."""
        found = [o for o in sorted(self.observations, key=_time_key) if o.outcome is not None]
        known = [o for o in found if o.outcome is not None and o.outcome.result != "unknown"]
        best = (known or found)[:1]
        return best[0].outcome if best else None

    def _kind(self) -> str:
        if self.kind != "install":
            return self.kind
        if any(o.key.startswith("SP") for o in self.observations):
            return "service-pack"
        registry = [o.kind for o in self.observations if o.source.type == "registry"]
        kinds = registry or [o.kind for o in self.observations if o.source.type in ("event", "log")]
        kinds = kinds or [o.kind for o in self.observations]
        return min(kinds, key=lambda k: _KIND_RANK.get(k, 9))

    def _subject(self) -> str:
        named = [o.subject for o in self.observations if o.subject]
        if self.kind == "install":
            registry = [o.subject for o in self.observations if o.source.type == "registry" and o.subject]
            if self.is_service_pack():
                level = self.level()
                numbered = [r for r in registry if sp_number(r) == level] if level is not None else []
                if numbered:
                    return numbered[0]
                return f"Service Pack {level}" if level is not None else UNNUMBERED_SP
            key = self.observations[0].key
            return registry[0] if registry else key
        return named[0] if named else self.observations[0].key

    def _details(self) -> dict[str, str]:
        details: dict[str, str] = {}
        for obs in self.observations:
            for name, value in obs.details:
                if name in ("event", "log", "path", "version", "local_time", "line"):
                    continue
                if name == "what" and self.kind != "traffic":
                    continue
                details.setdefault(name, value)
        errors = [o for o in self.observations if o.role == "error"]
        if errors:
            details["errors"] = str(len(errors))
        if any(o.role == "reboot-required" for o in self.observations):
            details["reboot_required"] = "yes"
        files = [o for o in self.observations if o.role == "file"]
        if files:
            details["files"] = str(len(files))
        return details

    def _summary(self, kind: str, subject: str) -> str:
        obs = self.observations
        if kind in ("service-pack", "hotfix", "update", "package-state-change"):
            titles = [o.summary for o in obs if o.source.type == "registry" and o.summary]
            title = titles[0] if titles else subject
            text = f"{title} installed" if title != subject else f"{subject} installed"
            if kind == "package-state-change":
                states = [v for o in obs for n, v in o.details if n == "state"]
                text = f"{title}: package state {states[0]}" if states else f"{title}: package state changed"
            errors = [o for o in obs if o.role == "error"]
            if errors:
                text += f"; {len(errors)} error line(s) in its logs, first: {errors[0].summary[:160]}"
            if any(o.role == "reboot-required" for o in obs):
                text += "; a reboot was required"
            return text
        if kind == "reboot":
            boots = [o for o in obs if o.group == "boot"]
            clean = any(o.group == "shutdown" for o in obs)
            os_name = next((v for o in obs for n, v in o.details if n == "os"), "")
            changed = next((v for o in obs for n, v in o.details if n == "os_changed_from"), "")
            if not boots:
                return "Clean shutdown (no boot recorded after it)"
            text = f"Boot{' after a clean shutdown' if clean else ''}{': ' + os_name if os_name else ''}"
            return text + (f" (was {changed} at the previous boot)" if changed else "")
        if kind == "file-replaced":
            names = [o.subject.rsplit("\\", 1)[-1] for o in obs]
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            return f"{len(names)} component file(s) put in place outside any recorded install: {shown}"
        if kind == "crash":
            with_text = [o.summary for o in obs if o.source.type == "event"] or [o.summary for o in obs]
            return with_text[0]
        files = [o for o in obs if o.role == "file"]
        base = next((o.summary for o in obs if o.summary and o.role != "file"), subject)
        return base + (f" ({len(files)} file(s) created)" if files and kind != "os-install" else "")

    def _conflicts(self, at: datetime | None, end: datetime | None) -> list[str]:
        """Sources whose own time disagrees with the entry beyond their precision, one line per artefact."""
        if at is None or end is None:
            return []
        best = min((o for o in self.observations if o.at == at), key=_precision_rank, default=None)
        if best is None or best.precision != "second":
            return []
        reference = f"{at:%Y-%m-%d %H:%M:%S} UTC ({_where(best.source)})"
        by_artifact: dict[str, list[tuple[Observation, str]]] = defaultdict(list)
        for obs in self.observations:
            if obs.at is None or obs is best:
                continue
            if obs.precision == "day":
                day_end = obs.at + DAY
                if day_end <= at or obs.at > end:
                    off = at - day_end if day_end <= at else obs.at - end
                    text = (
                        f"{obs.source.says} ({_where(obs.source)}) is the UTC span "
                        f"{obs.at:%Y-%m-%d %H:%M} to {day_end:%Y-%m-%d %H:%M}, {_hours(off)} "
                        f"{'before' if day_end <= at else 'after'} {reference}"
                    )
                    by_artifact[obs.source.provenance.artifact + obs.source.says].append((obs, text))
            elif obs.precision == "second":
                late = KEY_REWRITE_TOLERANCE if obs.source.type == "registry" else TOLERANCE
                if obs.at < at - TOLERANCE or obs.at > end + late:
                    why = (
                        "; a local time converted with the zone rule the registry holds now"
                        if obs.local_clock
                        else ""
                    )
                    side = "before" if obs.at < at else "after"
                    off = at - obs.at if obs.at < at else obs.at - end
                    text = (
                        f"{obs.source.provenance.artifact} says {obs.at:%Y-%m-%d %H:%M:%S} UTC "
                        f"({obs.source.says.strip()[:80]}{why}), {_hours(off)} {side} {reference}"
                    )
                    by_artifact[obs.source.provenance.artifact].append((obs, text))
        found = []
        for items in by_artifact.values():
            more = f" (and {len(items) - 1} more line(s) of it)" if len(items) > 1 else ""
            found.append(items[0][1] + more)
        return found


def _where(source: TimelineSource) -> str:
    prov = source.provenance
    return f"{prov.artifact}" + (f" [{prov.locator}]" if prov.locator else "")


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _trusted(core: list[Observation]) -> list[Observation]:
    """Drop local-clock times that disagree with the UTC-native ones (a time zone changed since)."""
    native = [o.at for o in core if not o.local_clock and o.at is not None]
    if not native:
        return core
    lo, hi = min(native) - TOLERANCE, max(native) + TOLERANCE
    return [o for o in core if not o.local_clock or (o.at is not None and lo <= o.at <= hi)]


def _precision_rank(obs: Observation) -> int:
    return {"second": 0, "minute": 1, "hour": 2, "day": 3}.get(obs.precision or "", 4)


_time_key = time_key


def _dedupe(sources: Iterable[TimelineSource]) -> list[TimelineSource]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for source in sources:
        key = (source.provenance.artifact, source.provenance.locator, source.says)
        if key not in seen:
            seen.add(key)
            out.append(source)
    return out


def _cluster_by_key(observations: list[Observation], gap: timedelta, kind: str) -> list[_Draft]:
    """Per key: anchors split into events more than ``gap`` apart; the rest join the nearest event."""
    by_key: dict[str, list[Observation]] = defaultdict(list)
    for obs in observations:
        by_key[obs.key].append(obs)
    drafts: list[_Draft] = []
    for group in by_key.values():
        timed = sorted((o for o in group if o.at is not None), key=_time_key)
        anchors = [o for o in timed if o.anchor] or [o for o in timed if o.precision == "second"] or timed
        clusters: list[list[Observation]] = []
        for obs in anchors:
            if clusters and obs.at and clusters[-1][-1].at and obs.at - clusters[-1][-1].at <= gap:
                clusters[-1].append(obs)
            else:
                clusters.append([obs])
        if not clusters:
            drafts.append(_Draft(kind, list(group)))
            continue
        for obs in group:
            if any(obs is a for a in anchors):
                continue
            target = min(clusters, key=lambda c: gap_to(c, obs.at))
            target.append(obs)
        drafts += [_Draft(kind, c) for c in clusters]
    return drafts


def _components(observations: list[Observation]) -> list[_Draft]:
    """Component installs by component; setupapi.log sections join the install at that time."""
    named = [o for o in observations if o.key != "setupapi"]
    drafts = _cluster_by_key(named, REINSTALL_GAP, "component-install")
    loose: list[Observation] = []
    for obs in (o for o in observations if o.key == "setupapi"):
        near = [d for d in drafts if gap_to(d.observations, obs.at) <= SETUPAPI_WINDOW]
        if near:
            min(near, key=lambda d: gap_to(d.observations, obs.at)).observations.append(obs)
        else:
            loose.append(obs)
    return drafts + _cluster_by_key(
        [Observation(**{**o.__dict__, "key": "setupapi", "anchor": True}) for o in loose],
        REINSTALL_GAP,
        "component-install",
    )


def _boots(boots: list[Observation], shutdowns: list[Observation], hostname: str) -> list[_Draft]:
    """6009 + 6005 within minutes are one boot; a 6006 shortly before a boot is its clean shutdown."""
    drafts: list[_Draft] = []
    for obs in sorted((o for o in boots if o.at is not None), key=_time_key):
        last = drafts[-1].observations if drafts else None
        if last and obs.at and last[0].at and obs.at - last[0].at <= BOOT_WINDOW:
            last.append(obs)
        else:
            drafts.append(_Draft("reboot", [obs]))
    previous_os = ""
    for draft in drafts:
        os_name = next((v for o in draft.observations for n, v in o.details if n == "os"), "")
        if previous_os and os_name and os_name != previous_os:
            draft.observations[0] = Observation(
                **{
                    **draft.observations[0].__dict__,
                    "details": draft.observations[0].details + (("os_changed_from", previous_os),),
                }
            )
        previous_os = os_name or previous_os
    for obs in sorted((o for o in shutdowns if o.at is not None), key=_time_key):
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
            drafts.append(_Draft("reboot", [obs]))
    return drafts


def _attach_files(drafts: list[_Draft], files: list[Observation]) -> None:
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
    for obs in sorted(files, key=_time_key):
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
            drafts.append(_Draft("file-replaced", [obs]))
