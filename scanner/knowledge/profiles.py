"""All the knowledge in ``profiles/`` in one object, loaded and cross-checked at once.

``load_knowledge`` is what ``scan`` and ``patchmortem profiles check`` call: it loads OS profiles, component
file sets, event meanings, rule texts and known patch interactions, and reports *every* problem with
file:line (unknown keys, duplicate ids, references that do not resolve) in one ProfileError — a user editing
profiles fixes them in one pass instead of one error per run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from scanner.errors import ProfileError
from scanner.knowledge.components import (
    Component,
    TomlSource,
    check_table,
    collect_components,
    default_profiles_dir,
    read_toml,
)
from scanner.knowledge.episodes import EpisodeRules, collect_episode_rules
from scanner.knowledge.events import EventCatalog, load_event_catalog
from scanner.knowledge.os import OsProfile, check_component_versions, collect_os_profiles
from scanner.knowledge.steps import Step, parse_steps
from scanner.knowledge.templates import PLACEHOLDERS, check_templates, template_problems
from scanner.knowledge.updates import UpdateProfile, collect_update_profiles
from scanner.knowledge.windows import collect_windows, refuse_other_values
from scanner.model import FAILURE_EVENT_KINDS, SEVERITY_ORDER, SystemFacts

__all__ = [
    "PLACEHOLDERS", "RULE_IDS", "SEVERITIES", "Interaction", "Knowledge", "RuleText", "load_knowledge",
    "profiles_version", "template_problems",
]

#: Rule ids the checks implement (stable: other tools depend on them). rules.toml must describe each one.
RULE_IDS = frozenset(
    {"files-below-service-pack", "hotfix-before-service-pack", "hotfix-files-regressed",
     "service-pack-install-incomplete", "reboot-pending", "package-state-broken", "branch-mix"}
)
SEVERITIES = frozenset(SEVERITY_ORDER)  # one definition: scanner.model.SEVERITY_ORDER


@dataclass(frozen=True)
class RuleText:
    """``profiles/rules.toml``: a rule's stable id, default severity, title, why it matters, remediation."""

    id: str  # stable rule id, e.g. "files-below-service-pack"
    severity: str  # default: "critical" | "warning" | "info"
    title: str
    why: str
    remediation: tuple[Step, ...]  # step templates + the systems they fit; {placeholders} filled by the rule
    latent_rank: int  # lower = more likely the latent cause a trigger exposed (diagnosis tie-break)
    references: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class Interaction:
    """``profiles/interactions/*.toml``: a known patch interaction (KB2009746, Q281402...)."""

    id: str  # "KB2009746"
    title: str
    triggers: tuple[str, ...]  # update ids that set it off; empty = any update touching `components`
    components: tuple[str, ...]  # component ids it concerns (must exist)
    conditions: tuple[str, ...]  # rule ids of the latent condition it exposes (must exist in rules.toml)
    symptom: str
    explanation: str
    remediation: tuple[Step, ...]  # ordered step templates (+ the systems they fit)
    references: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class Knowledge:
    os_profiles: tuple[OsProfile, ...]
    components: tuple[Component, ...]
    events: EventCatalog
    rules: tuple[RuleText, ...]
    interactions: tuple[Interaction, ...]
    updates: tuple[UpdateProfile, ...] = ()  # profiles/updates: what an update requires and touches
    episodes: EpisodeRules | None = None  # profiles/episodes.toml; load_knowledge always sets it

    def update(self, update_id: str) -> UpdateProfile | None:
        """The profile of one (normalised) update id, or None: preflight then says "no profile"."""
        return next((u for u in self.updates if u.id == update_id), None)

    def os_for(self, system: SystemFacts | None) -> OsProfile | None:
        """The profile matching CurrentVersion and build, else CurrentVersion alone, else None."""
        if system is None or not system.version:
            return None
        if system.build is not None:
            exact = [p for p in self.os_profiles if p.builds and p.applies_to(system.version, system.build)]
            if exact:
                return exact[0]
        return next((p for p in self.os_profiles if p.applies_to(system.version)), None)

    def rule(self, rule_id: str) -> RuleText:
        """The text of a rule; load_knowledge guarantees every id in RULE_IDS exists."""
        for text in self.rules:
            if text.id == rule_id:
                return text
        raise KeyError(f"no rule {rule_id!r} in profiles/rules.toml")

    def components_for(self, system: SystemFacts | None) -> tuple[Component, ...]:
        """The components whose ``applies_to`` versions include the system's CurrentVersion."""
        version = system.version if system is not None else None
        return tuple(c for c in self.components if c.applies_to(version))

    def interactions_for(
        self, update_id: str | None, component_ids: Iterable[str]
    ) -> tuple[Interaction, ...]:
        """Known interactions an update may have set off: named as a trigger, or (``triggers`` empty) any
        update touching one of the interaction's components."""
        touched = set(component_ids)
        wanted = (update_id or "").upper()
        out = []
        for interaction in self.interactions:
            if interaction.triggers:
                if wanted and wanted in {t.upper() for t in interaction.triggers}:
                    out.append(interaction)
            elif touched & set(interaction.components):
                out.append(interaction)
        return tuple(out)


_RULE = {
    "id": ("str", True),
    "severity": ("str", True),
    "title": ("str", True),
    "why": ("str", True),
    "remediation": ("steps", True),
    "latent_rank": ("int", True),
    "references": ("list[str]", False),
}
_INTERACTION = {
    "id": ("str", True),
    "title": ("str", True),
    "triggers": ("list[str]", True),
    "components": ("list[str]", True),
    "conditions": ("list[str]", True),
    "symptom": ("str", True),
    "explanation": ("str", True),
    "remediation": ("steps", True),
    "references": ("list[str]", False),
}


def _collect_rules(
    folder: Path, components: Collection[str], os_ids: Collection[str], errors: list[str]
) -> list[RuleText]:
    path = folder / "rules.toml"
    if not path.is_file():
        errors.append(f"{path}:1: missing: it must describe the rules {', '.join(sorted(RULE_IDS))}")
        return []
    src = read_toml(path, errors)
    if src is None:
        return []
    declared = {t.get("id") for t in src.data.get("rule", []) if isinstance(t, dict)}
    for name in src.data:
        if name != "rule":
            errors.append(f"{src.at(src.key_line(name))}: unknown key {name!r} (only [[rule]] tables)")
    rules: list[RuleText] = []
    seen: dict[str, str] = {}
    tables = src.data.get("rule", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        errors.append(f"{src.at(src.key_line('rule'))}: 'rule' must be [[rule]] tables")
        tables = []
    for index, table in enumerate(tables):
        def where(key: str, i: int = index) -> str:
            return src.at(src.key_line(key, "rule", i))

        header = src.table_line("rule", index)
        if not check_table(table, _RULE, where, errors, "[[rule]]"):
            continue
        bad: str | None = None
        problem = ""
        if table["id"] not in RULE_IDS:
            known = ", ".join(sorted(RULE_IDS))
            bad, problem = "id", f"unknown rule id {table['id']!r} (the checks implement: {known})"
        elif table["id"] in seen:
            bad, problem = "id", f"rule {table['id']!r} already defined at {seen[table['id']]}"
        elif table["severity"] not in SEVERITIES:
            bad, problem = "severity", f"severity must be one of {', '.join(sorted(SEVERITIES))}"
        if bad is not None:
            errors.append(f"{where(bad)}: {problem}")
            continue
        check_templates(src, table["remediation"], errors, header)
        steps = parse_steps(table["remediation"], where("remediation"), components, os_ids, errors)
        if steps is None:
            continue
        seen[table["id"]] = src.at(header)
        rules.append(
            RuleText(
                id=table["id"],
                severity=table["severity"],
                title=table["title"],
                why=table["why"],
                remediation=steps,
                latent_rank=table["latent_rank"],
                references=tuple(table.get("references", ())),
                source=src.at(header),
            )
        )
    for missing in sorted(RULE_IDS - declared):
        errors.append(f"{path}:1: no [[rule]] for {missing!r} (the checks need its text)")
    return rules


def _collect_interactions(
    folder: Path,
    components: Collection[str],
    rules: Collection[str],
    os_ids: Collection[str],
    errors: list[str],
) -> list[Interaction]:
    out: list[Interaction] = []
    seen: dict[str, str] = {}
    for path in sorted((folder / "interactions").glob("*.toml")):
        src = read_toml(path, errors)
        if src is None:
            continue
        raw = src.data

        def where(key: str, s: TomlSource = src) -> str:
            return s.at(s.key_line(key))

        if not check_table(raw, _INTERACTION, where, errors, "interaction"):
            continue
        ok = True
        for name in raw["components"]:
            if name not in components:
                errors.append(f"{where('components')}: unknown component {name!r} (no components/*.toml)")
                ok = False
        for name in raw["conditions"]:
            if name not in rules:
                errors.append(f"{where('conditions')}: unknown rule {name!r} in conditions (see rules.toml)")
                ok = False
        if not raw["triggers"] and not raw["components"]:
            errors.append(f"{where('triggers')}: an interaction without triggers needs components")
            ok = False
        if raw["id"] in seen:
            errors.append(f"{where('id')}: interaction id {raw['id']!r} already defined at {seen[raw['id']]}")
            ok = False
        before = len(errors)
        check_templates(src, raw["remediation"], errors, src.key_line("remediation"))
        steps = parse_steps(raw["remediation"], where("remediation"), components, os_ids, errors)
        if steps is None or not ok or len(errors) > before:
            continue
        seen[raw["id"]] = where("id")
        out.append(
            Interaction(
                id=raw["id"],
                title=raw["title"],
                triggers=tuple(raw["triggers"]),
                components=tuple(raw["components"]),
                conditions=tuple(raw["conditions"]),
                symptom=raw["symptom"],
                explanation=raw["explanation"],
                remediation=steps,
                references=tuple(raw.get("references", ())),
                source=where("id"),
            )
        )
    return out


def load_knowledge(profiles_dir: Path | None = None) -> Knowledge:
    """Load and cross-check every profile; raise ProfileError listing every problem (file:line)."""
    folder = profiles_dir or default_profiles_dir()
    errors: list[str] = []
    if not folder.is_dir():
        raise ProfileError(f"{folder}: profiles directory not found")
    os_profiles = collect_os_profiles(folder, errors)
    declared: set[str] = set()  # every component id a file declares, valid or not
    components = collect_components(folder, errors, declared)
    events = EventCatalog(())
    try:
        events = load_event_catalog(folder)
    except ProfileError as exc:  # its own problems, each file:line
        errors.extend(str(problem) for problem in exc.problems)
    check_component_versions(components, os_profiles, errors)
    os_ids = {p.id for p in os_profiles}
    # Rules and interactions resolve against every id a file declares, even one with other errors, so a
    # broken rule or component is reported once rather than again as a dangling reference.
    rules = _collect_rules(folder, declared, os_ids, errors)
    interactions = _collect_interactions(folder, declared, RULE_IDS, os_ids, errors)
    updates = collect_update_profiles(folder, os_profiles, components, declared, errors)
    episodes = collect_episode_rules(folder, errors)
    if (folder / "windows.toml").is_file():  # the shipped windows are read at import (knowledge/windows.py)
        windows = collect_windows(folder, errors)
        if windows is not None:
            refuse_other_values(windows, errors)
    named = (episodes.sufficient_kinds | episodes.component_kinds) if episodes else frozenset()
    for kind in sorted(named - FAILURE_EVENT_KINDS):
        where = episodes.source if episodes else "episodes.toml"
        errors.append(f"{where}:1: {kind!r} is not a failure kind ({', '.join(sorted(FAILURE_EVENT_KINDS))})")
    if errors:
        raise ProfileError(errors)
    return Knowledge(
        tuple(os_profiles),
        tuple(components),
        events,
        tuple(rules),
        tuple(interactions),
        tuple(updates),
        episodes,
    )


def profiles_version(profiles_dir: Path | None = None) -> str:
    """A fingerprint of the profile set a report was made with: ``sha256:`` + 16 hex digits.

    Why: a verdict depends on the knowledge as much as on the evidence, so two reports can only be compared
    when both say which profiles they used. The hash covers every ``*.toml`` under the directory (its path
    relative to the directory, ``/``-separated, then its bytes), in sorted order, so it changes when any
    profile file is added, removed, renamed or edited, and not when the directory moves. A missing directory
    hashes as an empty set (the scan itself reports the missing profiles).
    """
    folder = (profiles_dir or default_profiles_dir()).resolve()
    digest = hashlib.sha256()
    files = sorted(folder.rglob("*.toml")) if folder.is_dir() else []
    for path in files:
        name = path.relative_to(folder).as_posix().encode("utf-8")
        data = path.read_bytes()
        digest.update(len(name).to_bytes(4, "big") + name + len(data).to_bytes(8, "big") + data)
    return "sha256:" + digest.hexdigest()[:16]
