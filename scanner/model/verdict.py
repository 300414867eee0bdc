"""The verdict: findings, the diagnosis, and the component table the rules decided with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal

from scanner.model.codec import JsonRecord, JsonShape
from scanner.model.facts import Provenance

Severity = Literal["critical", "warning", "info"]
#: Most severe first: the one order reports sort by and ``scan --fail-on`` compares with.
SEVERITY_ORDER: dict[str, int] = {"critical": 0, "warning": 1, "info": 2}
#: The least severity a finding needs to be a latent condition worth acting on (the diagnosis weighs it,
#: reports say "still need attention", a fleet row lists it); below it a finding only informs.
SERIOUS: Severity = "warning"


def severity_rank(severity: str) -> int:
    """The severity's place in :data:`SEVERITY_ORDER`; a name it does not know ranks after every known one.

    The one comparison every consumer uses (sorting, ``--fail-on``, "serious"), so a saved report from a
    later version with a new severity sorts last everywhere instead of differently per module.
    """
    return SEVERITY_ORDER.get(severity, len(SEVERITY_ORDER))


def at_least(severity: str, threshold: str) -> bool:
    """Whether ``severity`` is ``threshold`` or more severe (``--fail-on warning``: warning and critical)."""
    return severity_rank(severity) <= severity_rank(threshold)


def is_serious(severity: str) -> bool:
    """Whether a finding of this severity is a condition to act on (:data:`SERIOUS` or worse), not info."""
    return at_least(severity, SERIOUS)


Confidence = Literal["high", "medium", "low"]


@dataclass(frozen=True)
class Evidence(JsonRecord):
    """One piece of evidence behind a claim: what the artefact says, where, and (if dated) when."""

    says: str
    source: Provenance
    at: datetime | None = None

    # The contract writes the claim and its time first, then the provenance's keys beside them.
    json_shape: ClassVar[JsonShape] = JsonShape(flatten=("source",), order=("says", "at"))


@dataclass(frozen=True)
class FindingFile(JsonRecord):
    """A file a finding is about: what is on disk, and what it should be (baseline / recorded version)."""

    path: str  # Windows path relative to the volume root
    version: str | None
    lab_tag: str | None = None
    expected: str | None = None  # "6.0.3790.3959 (Service Pack 2 baseline)", or a hotfix's recorded version
    component: str | None = None
    modified_at: datetime | None = None
    created_at: datetime | None = None
    # hotfix-files-regressed (offline qfecheck): the hotfix whose version is gone, the version it
    # installed (Filelist / its log) or, from its $NtUninstall$ backup, the one it replaced; what put the
    # older copy back (the install entry's subject and kind) and when. reboot-pending: the update whose
    # copy waits (recorded_by) and the staged version (recorded_version).
    recorded_by: str | None = None
    recorded_version: str | None = None
    previous_version: str | None = None
    replaced_by: str | None = None
    replaced_by_kind: str | None = None
    replaced_at: datetime | None = None


@dataclass(frozen=True)
class Finding(JsonRecord):
    """One rule's conclusion. JSON contract (issue 5): rule, severity, title, summary, files, updates,
    evidence, remediation, confidence; plus attribution, at, details.

    ``attribution`` says what caused the condition when the evidence shows it (files-below-service-pack:
    ``component-installed-from-older-media`` | ``service-pack-install-incomplete`` |
    ``third-party-installer`` | ``unknown``; hotfix-files-regressed names what replaced the file). ``at``
    dates the condition when known.
    """

    rule: str
    severity: Severity
    title: str
    summary: str
    files: tuple[FindingFile, ...] = ()
    updates: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    remediation: tuple[str, ...] = ()
    confidence: Confidence = "medium"
    attribution: str | None = None
    at: datetime | None = None
    details: tuple[tuple[str, str], ...] = ()
    # Typed (issue 16): the third-party program whose install the attribution names (files-below-service-pack
    # ``third-party-installer``), so the repro plan reads it instead of ``details["source"]``.
    installer: str | None = None


@dataclass(frozen=True)
class Diagnosis(JsonRecord):
    """The verdict: when it broke, what set it off, what latent condition that exposed, and the fix.

    JSON contract (issue 5): failure_onset, trigger, latent_cause, summary, remediation; plus the rest.
    ``latent_cause`` is a rule id; ``trigger`` an update id. All None with an honest ``summary`` when the
    evidence does not support a root cause.
    """

    failure_onset: datetime | None
    trigger: str | None
    latent_cause: str | None
    summary: str
    remediation: tuple[str, ...] = ()
    confidence: Confidence | None = None
    cause_attribution: str | None = None
    symptom: str | None = None
    last_good: datetime | None = None
    trigger_at: datetime | None = None
    trigger_gap_seconds: int | None = None
    contributing: tuple[str, ...] = ()  # other rule ids the latent condition came with
    known_issue: str | None = None  # profiles/interactions id, e.g. "KB2009746"
    references: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()


# -- the component table: each profile file's level (issue 6) -----------------------------------------------


@dataclass(frozen=True)
class ComponentFileLevel(JsonRecord):
    """One file a component profile names, as found on disk, placed against the installed SP's baseline.

    ``sp_level`` is the service pack the file's version belongs to (0 = RTM; None when the OS profile cannot
    place it, e.g. a version family that does not follow the OS SP). ``below_baseline`` is exactly the
    files-below-service-pack rule's verdict, so the table and the findings never disagree.
    """

    path: str  # Windows path relative to the volume root (the expected path when the file is missing)
    present: bool
    version: str | None
    lab_tag: str | None
    sp_level: int | None
    sp_name: str | None
    modified_at: datetime | None
    created_at: datetime | None
    below_baseline: bool
    expected: str | None = None  # the baseline version text, when below
    optional: bool = False
    why: str = ""
    sources: tuple[Provenance, ...] = ()
    listed: bool = True  # False: found only by listing the component's folders (the profile does not name it)
    listed_path: str | None = None  # the path the profile names, when the file was found at another path


@dataclass(frozen=True)
class ComponentLevels(JsonRecord):
    """A profile component (e.g. ``iis6``) and the level of each of its files."""

    id: str
    title: str
    files: tuple[ComponentFileLevel, ...]
