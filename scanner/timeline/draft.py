"""A draft entry: the observations of one real-world event, and how they become a :class:`TimelineEntry`.

fuse.py decides which observations belong together; this module decides what the entry they make is: its
time span (precise anchors first, local-clock times only where UTC-native ones agree), kind, subject, SP
level, outcome and typed fields. Its text (summary, conflicts) comes from fuse_text.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from scanner.model import InstallOutcome, TimelineEntry, TimelineSource
from scanner.model.update_ids import normalise_update_id, sp_number
from scanner.timeline.fuse_text import TOLERANCE, conflicts, precision_rank, summary
from scanner.timeline.installs import UNNUMBERED_SP, time_key
from scanner.timeline.observe import Observation

_KIND_RANK = {"service-pack": 0, "update": 1, "hotfix": 2, "package-state-change": 3}
#: Detail names kept off the entry: said by the entry's own fields or its sources.
_HIDDEN_DETAILS = ("event", "log", "path", "version", "local_time", "line")


class Draft:
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
        first = min((o for o in self.observations if o.at == at), key=precision_rank, default=None)
        precision = first.precision if first else None
        kind = self._kind()
        subject = self._subject()
        sources = tuple(_dedupe(o.source for o in sorted(self.observations, key=time_key)))
        sources += tuple(source for source, _ in self.sp_basis)
        details = self._details()
        if self.sp_basis:
            details["sp_from"] = self.sp_basis[0][1]
        if self.kind == "traffic":  # a traffic span ends at its day's last request, its run's last answer
            end = next((o.end for o in self.observations if o.end is not None), end)
        return TimelineEntry(
            at=at,
            precision=precision,
            kind=kind,
            subject=subject,
            summary=summary(kind, subject, self.observations),
            sources=sources,
            end=end if end and at and end > at else None,
            conflicts=tuple(conflicts(self.observations, at, end)),
            details=tuple(sorted(details.items())),
            update_ids=self._update_ids(),
            sp_level=self.level() if self.kind == "reboot" or self.is_service_pack() else None,
            outcome=self.outcome(),
            record_state=next((o.record_state for o in self.observations if o.record_state), None),
            traffic=next((o.traffic for o in self.observations if o.traffic), None),
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
        found = [o for o in sorted(self.observations, key=time_key) if o.outcome is not None]
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
        """The observations' details for people (first value of each name), and counts the entry shows."""
        details: dict[str, str] = {}
        for obs in self.observations:
            for name, value in obs.details:
                if name not in _HIDDEN_DETAILS and (name != "what" or self.kind == "traffic"):
                    details.setdefault(name, value)
        if self.os_changed_from():
            details.setdefault("os_changed_from", self.os_changed_from())
        errors = [o for o in self.observations if o.role == "error"]
        if errors:
            details["errors"] = str(len(errors))
        if any(o.role == "reboot-required" for o in self.observations):
            details["reboot_required"] = "yes"
        files = [o for o in self.observations if o.role == "file"]
        if files:
            details["files"] = str(len(files))
        return details

    def os_changed_from(self) -> str:
        return next((o.os_changed_from for o in self.observations if o.os_changed_from), "")


def _trusted(core: list[Observation]) -> list[Observation]:
    """Drop local-clock times that disagree with the UTC-native ones (a time zone changed since)."""
    native = [o.at for o in core if not o.local_clock and o.at is not None]
    if not native:
        return core
    lo, hi = min(native) - TOLERANCE, max(native) + TOLERANCE
    return [o for o in core if not o.local_clock or (o.at is not None and lo <= o.at <= hi)]


def _dedupe(sources: Iterable[TimelineSource]) -> list[TimelineSource]:
    """One source per artefact locator and claim: a record fused twice (two update ids) is listed once."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for source in sources:
        key = (source.provenance.artifact, source.provenance.locator, source.says)
        if key not in seen:
            seen.add(key)
            out.append(source)
    return out
