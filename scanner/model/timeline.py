"""The one fused timeline: entries, the sources that attest them, and the failure kinds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal

from scanner.model.codec import JsonRecord, JsonShape
from scanner.model.facts import Clock, Precision, Provenance
from scanner.model.records import InstallOutcome

#: What a ``traffic`` entry is (issue 16: typed, so the onset finds the last success without reading
#: ``details``): one log file's day, a run of 5xx answers, or the last successful request of all the logs.
TrafficMark = Literal["day", "5xx-run", "last-success"]


@dataclass(frozen=True)
class EventRef(JsonRecord):
    """The event record a timeline source comes from: which log, provider, event id and record number.

    Typed so a consumer (the repro plan's failure signs) names the event without parsing ``says``
    (``W3SVC 1009: ...``) back.
    """

    log: str
    provider: str
    event_id: int
    record: int


@dataclass(frozen=True)
class TimelineSource(JsonRecord):
    """One artefact attesting a timeline entry, with its own time claim and what it says.

    ``says`` is for people; decisions read the typed fields: ``clock`` (what ``at`` was taken on, see
    :data:`~scanner.model.facts.Clock`) and ``event`` (the record an ``event`` source comes from).
    """

    type: str  # "registry" | "event" | "log" | "file" | "traffic"
    at: datetime | None
    precision: Precision | None
    says: str
    provenance: Provenance
    clock: Clock = "utc"
    event: EventRef | None = None

    json_shape: ClassVar[JsonShape] = JsonShape(flatten=("provenance",))  # artifact, locator beside the claim


#: Timeline kinds that are failure *evidence* (event records, crash logs): what a failure episode is made of.
#: Defined once here (issue 16 item 2); the diagnosis, reports, plots and the repro plan all read it.
FAILURE_EVENT_KINDS = frozenset({"service-failure", "worker-process-failure", "rapid-fail-disable", "crash"})
#: The kind of the entry scanner/timeline/episodes.py adds: a sustained failure, from its onset to its end.
EPISODE_KIND = "failure-episode"
#: Every kind of failure *record* a report shows and counts (with an unexpected shutdown, never an onset).
FAILURE_KINDS = FAILURE_EVENT_KINDS | {"unexpected-shutdown"}
#: Timeline kinds that install or change Windows servicing (an update, a service pack, an Optional
#: Component): what a file's creation is attributed to and what a rule names as having put a file there.
INSTALL_KINDS = frozenset({"service-pack", "hotfix", "update", "package-state-change", "component-install"})
#: Every kind that changes what is installed, third-party setups included: the candidates for a failure's
#: trigger, what put an older file back, and where the report's window "around the failure" starts.
SERVICING_KINDS = INSTALL_KINDS | {"software-install"}


@dataclass(frozen=True)
class TimelineEntry(JsonRecord):
    """One real-world event (an install, a boot, a crash...), carrying every source that attests it.

    JSON contract (issue 4, also the ``scan`` JSON's ``timeline``): ``at`` (UTC ISO-8601), ``precision``,
    ``kind``, ``subject``, ``summary``, ``sources[]``; plus ``end``, ``conflicts`` and ``details``. Kinds:
    ``service-pack``, ``hotfix``, ``update``, ``package-state-change``, ``component-install``,
    ``software-install``, ``reboot``, ``unexpected-shutdown``, ``service-failure``,
    ``worker-process-failure``, ``rapid-fail-disable``, ``crash``, ``traffic``, ``file-replaced``,
    ``failure-episode`` (a sustained failure: ``at`` its onset, ``end`` its last evidence, ``sources`` the
    evidence it is made of, ``components`` the profile components that failed).
    """

    at: datetime | None
    precision: Precision | None
    kind: str
    subject: str
    summary: str
    sources: tuple[TimelineSource, ...]
    end: datetime | None = None
    conflicts: tuple[str, ...] = ()
    details: tuple[tuple[str, str], ...] = ()
    # Typed interpretation (issue 13): decisions read these, never summary/details.
    update_ids: tuple[str, ...] = ()  # every KB/Q id the entry's sources attest (install kinds)
    sp_level: int | None = None  # the service-pack number an SP entry installs, or the SP a boot reports
    outcome: InstallOutcome | None = None  # what the install session did, when a log or record says
    components: tuple[str, ...] = ()  # a failure episode's profile components (profiles/components ids)
    # Typed (issue 16): the state the update's registry record gives (UpdateRecord.state: "installed",
    # "staged"...; None without a record), and what a traffic entry is. ``details`` shows them to people.
    record_state: str | None = None
    traffic: TrafficMark | None = None
