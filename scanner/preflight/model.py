"""What ``patchmortem preflight`` says about one update on one server, as frozen, typed records.

A verdict is ``safe``, ``at-risk`` or ``unknown``; every reason behind it is typed (a kind, the finding rule
or known interaction it rests on, the files with the version on disk and the version required, the artefacts
that attest it), so a fleet summary or a script reads fields, never the ``summary`` written for people. JSON
field names are a contract (``schemas/preflight.schema.json``): add, never rename.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from scanner.model import Provenance
from scanner.model.codec import JsonRecord, JsonShape

Status = Literal["safe", "at-risk", "unknown"]
#: What a reason does to the verdict: a risk makes it at-risk; missing evidence makes it unknown (when no
#: risk is found); info is context (already installed, not applicable).
Effect = Literal["risk", "missing", "info"]

#: Reason kinds (stable ids, README "Preflight"):
KINDS = (
    "known-interaction",  # an interaction this update triggers, its latent condition present
    "requires-service-pack",  # the update needs a higher SP than the server has (Q281402 cause 1)
    "service-pack-contains-it",  # the server's SP is newer than the update was built for (Q238552)
    "branch-missing",  # the update ships no binary for the branch a file it replaces is on
    "component-condition",  # a component the update patches has files below its SP baseline, regressed...
    "reboot-pending",  # a restart the last servicing needs never happened
    "package-pending",  # a package is staged / install-pending / partially installed
    "already-installed",  # the registry records the update (or one superseding it) as installed
    "no-profile",  # profiles/updates has no entry for the update: nothing is guessed
    "not-for-this-os",  # the update profile has no entry for the server's OS
    "evidence-missing",  # what the decision needs was not read (SP level, component files, OS version)
)


@dataclass(frozen=True)
class PreflightFile(JsonRecord):
    """A file a reason is about: what the disk has and what the update (or its SP baseline) requires."""

    path: str  # Windows path relative to the volume root
    on_disk: str | None  # the version read from the file's PE resource
    required: str | None  # the SP baseline, the version a hotfix recorded, or the update's own binary
    component: str | None = None
    sp_level: int | None = None  # the SP level the file on disk belongs to
    lab_tag: str | None = None
    sources: tuple[Provenance, ...] = ()


@dataclass(frozen=True)
class PreflightReason(JsonRecord):
    """One typed reason behind a verdict."""

    kind: str  # one of KINDS
    effect: Effect
    summary: str  # for people only: decisions read the typed fields
    rule: str | None = None  # the finding rule id it rests on (files-below-service-pack...)
    interaction: str | None = None  # the known interaction id (KB2009746, Q281402)
    files: tuple[PreflightFile, ...] = ()
    updates: tuple[str, ...] = ()  # update ids concerned (a pending package, the superseding update)
    required_service_pack: int | None = None
    service_pack: int | None = None  # the server's SP level, when the reason compares with it
    missing: tuple[str, ...] = ()  # what evidence is needed (effect "missing")
    evidence: tuple[Provenance, ...] = ()


@dataclass(frozen=True)
class PreflightVerdict(JsonRecord):
    """One update on one server, before it is installed."""

    update: str  # normalised id, e.g. "KB973917"
    status: Status
    reasons: tuple[PreflightReason, ...]
    title: str | None = None  # the update profile's title (None: no profile)
    installed: bool = False  # already installed (or superseded by an installed update)
    missing: tuple[str, ...] = ()  # every piece of evidence an unknown verdict lacks
    references: tuple[str, ...] = ()

    # The contract names the verdict (title, installed) before the reasons behind it.
    json_shape: ClassVar[JsonShape] = JsonShape(order=("update", "status", "title", "installed"))


@dataclass(frozen=True)
class ServerPreflight(JsonRecord):
    """One source's preflight: what the server is, and a verdict per update (or why it could not be read)."""

    source: str
    verdicts: tuple[PreflightVerdict, ...]
    hostname: str | None = None
    product: str | None = None
    version: str | None = None
    service_pack: int | None = None
    architecture: str | None = None
    error: str | None = None  # the source could not be scanned: every verdict is unknown

    # The contract describes the server first, then its verdicts.
    json_shape: ClassVar[JsonShape] = JsonShape(
        order=("source", "hostname", "product", "version", "service_pack", "architecture", "error")
    )


def status_of(reasons: tuple[PreflightReason, ...]) -> Status:
    """At risk if any reason is a risk; else unknown if evidence is missing; else safe."""
    if any(r.effect == "risk" for r in reasons):
        return "at-risk"
    if any(r.effect == "missing" for r in reasons):
        return "unknown"
    return "safe"
