"""The pipeline: open -> collect -> fuse -> rules -> diagnose, each stage once, in order.

:func:`run` is the whole scan over one loaded :class:`~scanner.knowledge.profiles.Knowledge` (profiles/ read
once per run). :func:`inventory`, :func:`timeline` and :func:`scan` are what the commands call: they stop
after the inventory collectors, after the timeline, or go all the way; each takes ``knowledge`` (loaded from
``profiles_dir`` when None). The collectors themselves, and their order, are
:data:`scanner.collectors.chain.COLLECTORS`; the domain work is theirs, not this module's.

Between the stages pass frozen values, each built once: :func:`collect` returns the one
:class:`~scanner.model.facts_bundle.Facts`; :func:`fuse` hands it whole to the timeline, which takes from the
knowledge what applies to this system; the :class:`~scanner.diagnose.ScanResult` keeps the facts, so what
they hold (the IIS traffic days) is not copied again beside them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from scanner.collectors.base import Collector, SystemVolume
from scanner.collectors.chain import COLLECTORS, INVENTORY_COLLECTORS
from scanner.diagnose import ScanResult
from scanner.diagnose.verdict import diagnose
from scanner.evidence.hashing import sha256_evidence
from scanner.evidence.source import ASSUMED_WINDOWS_DIR, open_evidence
from scanner.knowledge.components import load_components
from scanner.knowledge.episodes import collect_episode_rules
from scanner.knowledge.events import EventCatalog, load_event_catalog
from scanner.knowledge.os import collect_os_profiles
from scanner.knowledge.profiles import Knowledge, ProfileError, load_knowledge
from scanner.model import Inventory
from scanner.model.facts_bundle import Facts
from scanner.rules import run_rules
from scanner.rules.levels import component_levels
from scanner.timeline import Timeline, build_timeline

Progress = Callable[[str], None]
Chain = Sequence[tuple[str | None, Collector]]


def _noop(_: str) -> None:
    return None


def run(
    source: Path,
    knowledge: Knowledge,
    *,
    parent: Path | None = None,
    system: int | None = None,
    progress: Progress = _noop,
    hash_evidence: bool = False,
) -> ScanResult:
    """The scan: open the evidence, collect, fuse the timeline, apply the rules, diagnose.

    The rules and the diagnosis read the timeline's entries as one list (their signatures predate the frozen
    timeline); the result keeps the facts themselves. ``hash_evidence`` adds the SHA-256 of every evidence
    file to ``inventory.source["sha256"]`` (a full read of the evidence, so only on request).
    """
    facts = collect(source, knowledge, COLLECTORS, parent=parent, system=system, progress=progress)
    if hash_evidence:
        progress("hashing the evidence files")
        chain = [Path(p) for p in facts.source.get("chain") or [source]]
        digests = sha256_evidence([*chain, *([parent] if parent else [])])
        facts = replace(facts, source={**facts.source, "sha256": digests})
    progress("fusing the timeline")
    tl, inv = fuse(facts, knowledge)
    progress("applying the rules")
    entries = list(tl.entries)
    findings, rule_gaps = run_rules(inv, entries, list(facts.log_events), knowledge)
    diagnosis = diagnose(inv, entries, findings, knowledge)
    return ScanResult(
        inv,
        tl,
        findings,
        diagnosis,
        [*inv.gaps, *tl.gaps, *rule_gaps],
        components=component_levels(inv, knowledge),
        facts=facts,
    )


def collect(
    source: Path,
    knowledge: Knowledge,
    collectors: Chain = COLLECTORS,
    *,
    parent: Path | None = None,
    system: int | None = None,
    progress: Progress = _noop,
) -> Facts:
    """Open ``source`` read-only, run ``collectors`` in order over its system volume, close it."""
    progress("opening evidence")
    with open_evidence(source, parent=parent) as evidence:
        volume, fs = evidence.system_volume(system)
        windows_dir = volume.windows_dir or ASSUMED_WINDOWS_DIR  # a folder source may hold only inetpub
        source_info = evidence.description.to_dict()
        source_info["system_volume"] = volume.index
        facts = Facts(source=source_info, gaps=tuple(evidence.gaps(volume)))
        target = SystemVolume(fs, windows_dir)
        for message, collector in collectors:
            if message is not None:
                progress(message)
            facts = collector(target, knowledge, facts)
    return facts


def fuse(facts: Facts, knowledge: Knowledge) -> tuple[Timeline, Inventory]:
    """The fused timeline of ``facts``, and their inventory view (what the rules and the reports read).

    The timeline reads the facts and the knowledge itself (:func:`scanner.timeline.build_timeline`): which
    OS profile, components and episode thresholds apply is its choice, made once, not this module's.
    """
    return build_timeline(facts, knowledge), facts.inventory()


def inventory(
    source: Path,
    *,
    parent: Path | None = None,
    system: int | None = None,
    profiles_dir: Path | None = None,
    progress: Progress = _noop,
    knowledge: Knowledge | None = None,
) -> Inventory:
    """Open ``source`` read-only and inventory its Windows servicing state."""
    knowledge = knowledge or _lenient_knowledge(profiles_dir, need_events=False)
    chain = INVENTORY_COLLECTORS
    return collect(source, knowledge, chain, parent=parent, system=system, progress=progress).inventory()


def timeline(
    source: Path,
    *,
    parent: Path | None = None,
    system: int | None = None,
    profiles_dir: Path | None = None,
    progress: Progress = _noop,
    knowledge: Knowledge | None = None,
) -> tuple[Inventory, Timeline]:
    """Inventory ``source``, read its event, servicing, crash and IIS logs, and fuse one timeline."""
    knowledge = knowledge or _lenient_knowledge(profiles_dir, need_events=True)
    facts = collect(source, knowledge, COLLECTORS, parent=parent, system=system, progress=progress)
    progress("fusing the timeline")
    tl, inv = fuse(facts, knowledge)
    return inv, tl


def scan(
    source: Path,
    *,
    parent: Path | None = None,
    system: int | None = None,
    profiles_dir: Path | None = None,
    progress: Progress = _noop,
    hash_evidence: bool = False,
    knowledge: Knowledge | None = None,
) -> ScanResult:
    """The main job (:func:`run`); a broken profile fails here, before any evidence is read."""
    knowledge = knowledge or load_knowledge(profiles_dir)
    return run(
        source, knowledge, parent=parent, system=system, progress=progress, hash_evidence=hash_evidence
    )


def _lenient_knowledge(profiles_dir: Path | None, *, need_events: bool) -> Knowledge:
    """The knowledge for ``inventory`` and ``timeline``, which run on profiles ``scan`` would refuse.

    Only the component profiles (and, for the timeline, the event catalog) must load: they raise
    :class:`ProfileError` as before. OS profiles with problems are left out (the timeline then numbers
    service packs without file versions) and episode thresholds with problems too (no episode is looked
    for); rules, interactions and update profiles are not needed. ``scan`` reports every problem.
    """
    try:
        return load_knowledge(profiles_dir)
    except ProfileError:
        pass
    components = load_components(profiles_dir)
    events = load_event_catalog(profiles_dir) if need_events else EventCatalog(())
    os_errors: list[str] = []
    os_profiles = collect_os_profiles(profiles_dir, os_errors)
    episode_errors: list[str] = []
    episodes = collect_episode_rules(profiles_dir, episode_errors)
    return Knowledge(
        tuple(os_profiles) if not os_errors else (),
        tuple(components),
        events,
        (),
        (),
        episodes=episodes if not episode_errors else None,
    )
