"""What every rule reads: the normalised facts, the fused timeline and the knowledge, plus pure queries.

Rules never open evidence: they get the inventory (registry + file facts), the timeline entries (one per
real-world event, every source attached), the decoded servicing-log lines and the profiles. The queries here
answer questions several rules ask — "which SP level was the system at when this hotfix went in?", "was
there a boot after this install?" — each with the evidence that answers it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from scanner.knowledge.os import OsProfile
from scanner.knowledge.profiles import Knowledge, RuleText
from scanner.model import (
    INSTALL_KINDS,
    Evidence,
    FileState,
    FileVersion,
    Finding,
    FindingFile,
    Inventory,
    LogEvent,
    Provenance,
    TimelineEntry,
    UpdateRecord,
    version_text,
)
from scanner.model.update_ids import sp_label

#: An optional group: ``({a})`` or ``({a}, {b})`` — only placeholders, comma-separated, in parentheses.
_OPTIONAL = re.compile(r"( ?)\((\{\w+\}(?:, \{\w+\})*)\)")
_NAME = re.compile(r"\{(\w+)\}")
_FAR = datetime.max.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class SpLevel:
    """The SP level at some instant: exact, or only an upper bound (an SP installed later), with evidence."""

    level: int
    exact: bool
    evidence: Evidence


@dataclass(frozen=True)
class RuleContext:
    inventory: Inventory
    entries: tuple[TimelineEntry, ...]
    log_events: tuple[LogEvent, ...]
    knowledge: Knowledge
    os: OsProfile | None

    # -- system ----------------------------------------------------------------------------------------
    def rule(self, rule_id: str) -> RuleText:
        """The rule's text with only the remediation steps that fit this system (``when``, steps.py)."""
        text = self.knowledge.rule(rule_id)
        os_id, components = system_fit(self.inventory, self.knowledge)
        return replace(text, remediation=tuple(s for s in text.remediation if s.fits(os_id, components)))

    @property
    def product(self) -> str:
        system = self.inventory.system
        return (system.product if system else None) or "Windows"

    @property
    def service_pack(self) -> int | None:
        """The installed SP level; None when nothing attests it (a gap says why; rules needing it skip)."""
        system = self.inventory.system
        return system.service_pack if system else None

    def sp_name(self, level: int | None) -> str:
        if level is None:
            return "an unattested service-pack level"
        return self.os.sp_name(level) if self.os else sp_label(level)

    def sp_package(self, level: int | None) -> dict[str, str]:
        """The SP's package id and, for this system's architecture, its package file (OS profile), as
        remediation values; empty strings when the profile does not attest them."""
        sp = self.os.service_pack(level) if self.os and level is not None else None
        arch = self.inventory.system.architecture if self.inventory.system else None
        return {
            "service_pack_package": (sp.package or "") if sp else "",
            "service_pack_file": (sp.package_file(arch) or "") if sp else "",
        }

    def system_evidence(self) -> Evidence:
        """The installed SP as the registry states it (SOFTWARE ``CurrentVersion\\CSDVersion`` preferred)."""
        system = self.inventory.system
        sources = system.sources if system else ()
        key = [
            replace(s, locator=f"{s.locator}\\CSDVersion")
            for s in sources
            if s.locator.endswith("Windows NT\\CurrentVersion")
        ]
        csd = [s for s in sources if s.locator.endswith("CSDVersion")]
        source = (key or csd or list(sources) or [Provenance("SOFTWARE hive")])[0]
        level = system.service_pack if system else None
        spelled = "no service pack" if level == 0 else f"Service Pack {level}" if level else "not attested"
        text = (system.csd_version if system else None) or spelled
        return Evidence(f"CSDVersion = {text}", source)

    # -- timeline queries ------------------------------------------------------------------------------
    def entries_of(self, *kinds: str) -> list[TimelineEntry]:
        return [e for e in self.entries if e.kind in kinds]

    def install_entries(self, update_id: str) -> list[TimelineEntry]:
        """Every install session of an update, in time order (a re-install is a further entry)."""
        wanted = update_id.lower()
        return [
            e
            for e in self.entries
            if e.kind in INSTALL_KINDS
            and (e.subject.lower() == wanted or wanted in (i.lower() for i in e.update_ids))
        ]

    def install_entry(self, update_id: str) -> TimelineEntry | None:
        """The first install session of an update (when it first went in; later ones are re-installs)."""
        found = self.install_entries(update_id)
        return found[0] if found else None

    def installed_at(self, update: UpdateRecord) -> datetime | None:
        entry = self.install_entry(update.id)
        return entry.at if entry and entry.at else update.installed_at

    def service_pack_installs(self) -> list[tuple[int, TimelineEntry]]:
        """Every numbered SP install session (typed ``sp_level``; a re-install is a further session)."""
        out = []
        for entry in self.entries_of("service-pack"):
            if entry.sp_level is not None and entry.at is not None:
                out.append((entry.sp_level, entry))
        return sorted(out, key=lambda pair: pair[1].at or _FAR)

    def sp_level_at(self, when: datetime) -> SpLevel | None:
        """The SP level at ``when``: the latest SP install or 6009 boot record before it says which.

        With neither before it, an SP installed after ``when`` still bounds it from above (level - 1).
        """
        best: tuple[datetime, int, Evidence] | None = None
        for level, entry in self.service_pack_installs():
            assert entry.at is not None
            if entry.at <= when and (best is None or entry.at >= best[0]):
                best = (entry.at, level, entry_evidence(entry, f"{entry.subject} installed"))
        for entry in self.entries_of("reboot"):
            # The typed level the boot's 6009 record carries (profile `sp`): a boot that names none says
            # nothing about the level, however its text reads.
            if entry.at is None or entry.at > when or entry.sp_level is None:
                continue
            if best is None or entry.at >= best[0]:
                os_text = detail_text(entry, "os") or f"service pack level {entry.sp_level}"
                best = (entry.at, entry.sp_level, entry_evidence(entry, f"boot record: {os_text}"))
        if best is not None:
            return SpLevel(best[1], True, best[2])
        later = [(lvl, e) for lvl, e in self.service_pack_installs() if e.at and e.at > when]
        if later:
            level, entry = later[0]
            return SpLevel(level - 1, False, entry_evidence(entry, f"{entry.subject} installed later"))
        return None

    def boots_after(self, when: datetime) -> list[TimelineEntry]:
        return [e for e in self.entries_of("reboot") if e.at is not None and e.at > when]

    # -- files -----------------------------------------------------------------------------------------
    def file(self, path: str) -> FileState | None:
        wanted = path.lower()
        return next((f for f in self.inventory.files if f.path.lower() == wanted), None)

    def file_named(self, name: str, folder_hint: str | None = None) -> FileState | None:
        """A collected file by its name (and, when given, a folder it must sit under)."""
        name = name.lower()
        for state in self.inventory.files:
            if state.path.lower().rsplit("\\", 1)[-1] != name:
                continue
            if folder_hint and folder_hint.lower() not in state.path.lower():
                continue
            return state
        return None


def system_fit(inventory: Inventory, knowledge: Knowledge) -> tuple[str | None, frozenset[str] | None]:
    """What a remediation step's ``when`` is matched against: the OS profile id and the components present.

    A component is present when a file of it was found; with no component file found at all (a triage folder
    without binaries) nothing is known, so None (every step is kept). No OS profile match: os id None.
    """
    os = knowledge.os_for(inventory.system)
    applicable = {c.id for c in knowledge.components_for(inventory.system)}
    present = frozenset(f.component for f in inventory.files if f.component and f.component in applicable)
    return (os.id if os else None), (present or None)


def package_name(update: UpdateRecord | None) -> str:
    """The update's package name as the evidence records it, when it says more than the update's id (an
    Updates ``PackageName`` of ``KB917537`` names no package file); empty otherwise (README "Profiles":
    ``{trigger_package}`` then renders as ``<trigger_package>``)."""
    if update is None or not update.package_name or update.package_name.lower() == update.id.lower():
        return ""
    return update.package_name


def entry_evidence(entry: TimelineEntry, says: str | None = None, limit: int = 3) -> Evidence:
    """One evidence item for a timeline entry: its best source, with the entry's time."""
    source = entry.sources[0].provenance if entry.sources else Provenance("timeline")
    for candidate in entry.sources[:limit]:
        if candidate.type in ("registry", "event", "log"):
            source = candidate.provenance
            break
    return Evidence(says or entry.summary, source, entry.at)


def detail_text(entry: TimelineEntry, name: str, default: str = "") -> str:
    """A timeline entry's detail as text for people (``default`` when it has none). Findings and plans
    print it; no decision reads it (tests/scanner/test_no_prose_branches.py)."""
    return dict(entry.details).get(name, default)


def sources_evidence(entry: TimelineEntry, limit: int = 4) -> tuple[Evidence, ...]:
    """Each of a timeline entry's first sources as evidence, in its own words (repro steps and media: the JSON
    scan report has them all). :func:`entry_evidence` is the one best source under the entry's time."""
    return tuple(Evidence(s.says, s.provenance, s.at) for s in entry.sources[:limit])


def file_evidence(state: FileState, says: str | None = None) -> Evidence:
    source = state.sources[0] if state.sources else Provenance(state.path)
    text = says or f"{state.path} is {state.version or 'unversioned'}" + (
        f" ({state.lab_tag})" if state.lab_tag else ""
    )
    return Evidence(text, source, state.created_at)


def finding_file(state: FileState, expected: str | None = None) -> FindingFile:
    return FindingFile(
        path=state.path,
        version=version_text(state.version),
        lab_tag=state.lab_tag,
        expected=expected,
        component=state.component,
        modified_at=state.modified_at,
        created_at=state.created_at,
    )


def version_of(state: FileState) -> FileVersion | None:
    """The file's version (typed since issue 16; kept so the rules read one accessor)."""
    return state.version


class _Values(dict[str, str]):
    """Template values; one the case does not have renders as ``<name>`` rather than failing."""

    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def render(templates: Iterable[str], values: Mapping[str, str]) -> tuple[str, ...]:
    """Fill remediation templates (``str.format_map``) with this case's product, SP, files...

    Optional values in parentheses — ``"Service Pack 4 ({service_pack_package}, {service_pack_file})"`` —
    show only those the case has, and the group disappears with its parentheses when it has none; any other
    missing value shows as ``<name>``.
    """
    filled = _Values({k: v for k, v in values.items() if v})

    def optional(match: re.Match[str]) -> str:
        present = [name for name in _NAME.findall(match.group(2)) if name in filled]
        return f"{match.group(1)}(" + ", ".join("{" + n + "}" for n in present) + ")" if present else ""

    out = []
    for template in templates:
        out.append(_OPTIONAL.sub(optional, template).format_map(filled))
    return tuple(out)


def make_finding(text: RuleText, values: Mapping[str, str], *, summary: str, **fields: Any) -> Finding:
    """A finding with the rulebook's id, title, default severity and remediation filled for this case."""
    fields.setdefault("severity", text.severity)
    fields.setdefault("details", tuple(sorted(values.items())))
    return Finding(
        rule=text.id,
        title=text.title,
        summary=summary,
        remediation=render([step.text for step in text.remediation], values),
        **fields,
    )


def names(files: Iterable[FindingFile]) -> str:
    return ", ".join(f.path.rsplit("\\", 1)[-1] for f in files)
