"""The lab reproduction plan as data: base media, ordered steps, deviations, trigger and expected symptom.

A support lab rebuilds a customer's failure on a clean VM (issue 7): install the same media, apply the same
packages in the same order, then make the same mistakes on purpose. Every value here is derived from a scan
and carries the evidence it came from, so an engineer can check each step against the customer's artefacts.
Packages are named by their real identifiers (KB/Q numbers, service-pack names and package ids), never by a
download link: links rot, and an invented one would send a lab to the wrong file.

JSON field names (``to_dict``) are a contract (``schemas/repro.schema.json``): add, never rename.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from scanner.model import Evidence, Precision
from scanner.model.codec import JsonRecord, JsonShape

#: Version of the repro JSON contract.
SCHEMA_VERSION = "1.1"  # 1.1: tool_version, profiles_version, scanned_at


@dataclass(frozen=True)
class MediaFact(JsonRecord):
    """One property of the install media (product, edition, architecture, language, SP level, components).

    ``value`` None means the evidence does not say: a lab must then ask the customer, never guess.
    ``how`` says how the value was reasoned from the evidence.
    """

    name: str
    value: str | None
    how: str
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class BaseMedia(JsonRecord):
    """The OS media to start from: the level the OS was installed at, not the level it has today."""

    product: str | None
    edition: str | None
    architecture: str | None
    language: str | None
    service_pack: int | None  # 0 = RTM; None = the evidence cannot tell
    service_pack_name: str | None
    components: tuple[str, ...]  # component ids installed with the OS (e.g. "iis6"), at the media's level
    facts: tuple[MediaFact, ...]


@dataclass(frozen=True)
class StepFile(JsonRecord):
    """A file a step leaves at a given version (what a lab checks after the step)."""

    path: str  # volume-relative Windows path, e.g. WINDOWS\system32\inetsrv\w3core.dll
    version: str | None
    why: str = ""  # "recorded by KB973917", "Service Pack 1 media", "put back by <program>"


@dataclass(frozen=True)
class ReproStep(JsonRecord):
    """One thing to do in the lab, in order.

    ``action``: ``install-os`` | ``service-pack`` | ``hotfix`` | ``update`` | ``package`` |
    ``component-install`` | ``software-install`` | ``set-file-versions`` | ``do-not-reboot``.
    ``package_id`` is the real identifier to fetch (KB/Q number, the SP's package id); ``level`` the SP
    level a ``service-pack`` step raises to, or the media level a ``component-install`` installs from.
    ``deviation`` marks a step that deliberately departs from correct servicing; ``trigger`` the step the
    diagnosis names as the trigger.
    """

    number: int
    action: str
    title: str
    at: datetime | None
    precision: Precision | None
    package_id: str | None = None
    level: int | None = None
    component: str | None = None
    files: tuple[StepFile, ...] = ()
    deviation: bool = False
    trigger: bool = False
    notes: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class FailureSign(JsonRecord):
    """One kind of failure seen after the onset: what the lab should watch for, and when."""

    kind: str  # timeline kind: worker-process-failure, rapid-fail-disable, service-failure, crash...
    subject: str  # pool, service, crashing image
    provider: str | None  # event source / provider, e.g. "W3SVC"
    event_id: int | None
    count: int
    first_at: datetime | None
    after_trigger_seconds: int | None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class ExpectedSymptom(JsonRecord):
    """What the lab should see after the trigger step if the reproduction worked."""

    summary: str | None  # the diagnosis' symptom (the known issue's wording)
    watch_for: str  # one sentence: "W3SVC 1009 (DefaultAppPool) ×5, the first 15 min after KB973917 ..."
    onset: datetime | None
    last_good: datetime | None
    signs: tuple[FailureSign, ...]


@dataclass(frozen=True)
class ReproPlan(JsonRecord):
    """The whole plan: where it comes from, the media, the steps, the trigger and the symptom."""

    source: str
    system: str  # "Microsoft Windows Server 2003 Service Pack 2 x86 — host WEBSERVER01"
    base: BaseMedia
    steps: tuple[ReproStep, ...]
    trigger: str | None
    latent_cause: str | None
    cause_attribution: str | None
    known_issue: str | None
    symptom: ExpectedSymptom | None
    caveats: tuple[str, ...] = ()  # what the plan could not establish (unknown values, gaps that matter)

    json_shape: ClassVar[JsonShape] = JsonShape(
        computed={"schema_version": lambda _: SCHEMA_VERSION}, order=("schema_version",)
    )
