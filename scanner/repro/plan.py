"""``plan_repro``: a lab reproduction plan derived from a scan (issue 7), pure over the ``ScanResult``.

The plan reads only what ``scan`` produced - the fused timeline, the findings and the diagnosis - so it can
never disagree with the post-mortem it comes from: base media (``media``), the servicing steps and
deliberate deviations (``steps``), then the trigger and what to watch for afterwards (this module).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from scanner.diagnose import ScanResult
from scanner.knowledge.profiles import Knowledge
from scanner.model import FAILURE_EVENT_KINDS, TimelineEntry
from scanner.render.phrases import report_title, span
from scanner.repro.media import base_components, base_media, os_install_entry
from scanner.repro.model import BaseMedia, ExpectedSymptom, FailureSign, ReproPlan, ReproStep
from scanner.repro.steps import servicing_steps
from scanner.rules.context import sources_evidence

#: Failure kinds a lab watches for (an unexpected shutdown is the admin's reset, not a symptom).
SIGN_KINDS = FAILURE_EVENT_KINDS
#: Signs are the failures of the first day after the onset.
_SIGN_WINDOW = timedelta(days=1)
_MAX_SIGNS = 12


def _install_step(result: ScanResult, base: BaseMedia) -> ReproStep:
    install = os_install_entry(result)
    what = " ".join(p for p in (base.product or "the same Windows product", base.architecture) if p)
    title = f"Install {what} from {base.service_pack_name or 'media of unknown service-pack level'} media"
    if base.components:
        title += f" with {', '.join(base.components)}"
    unknown = [f.name for f in base.facts if f.value is None]
    notes = (
        (f"Unknown from the evidence: {', '.join(unknown)} - use what the customer used.",) if unknown else ()
    )
    evidence = sources_evidence(install) if install else ()
    return ReproStep(
        1,
        "install-os",
        title,
        install.at if install else None,
        install.precision if install else None,
        package_id=None,
        level=base.service_pack,
        notes=notes,
        evidence=evidence,
    )


def _provider(entry: TimelineEntry) -> tuple[str | None, int | None]:
    """The provider and event id of the entry's first event source (its typed reference, never ``says``)."""
    ref = next((s.event for s in entry.sources if s.event is not None), None)
    return (ref.provider, ref.event_id) if ref is not None else (None, None)


def expected_symptom(result: ScanResult) -> ExpectedSymptom | None:
    """The failure kinds seen from the onset on (one day), grouped by kind and subject, with their events."""
    d = result.diagnosis
    onset = d.failure_onset
    if onset is None:
        return None
    groups: dict[tuple[str, str], list[TimelineEntry]] = {}
    for entry in result.timeline.entries:
        if entry.kind in SIGN_KINDS and entry.at is not None and onset <= entry.at <= onset + _SIGN_WINDOW:
            groups.setdefault((entry.kind, entry.subject), []).append(entry)
    signs = []
    for (kind, subject), entries in list(groups.items())[:_MAX_SIGNS]:
        provider, event_id = _provider(entries[0])
        first = entries[0].at
        after = int((first - d.trigger_at).total_seconds()) if first and d.trigger_at else None
        signs.append(
            FailureSign(
                kind, subject, provider, event_id, len(entries), first, after, sources_evidence(entries[0], 2)
            )
        )
    return ExpectedSymptom(d.symptom, _watch_for(result, signs), onset, d.last_good, tuple(signs))


def _watch_for(result: ScanResult, signs: list[FailureSign]) -> str:
    d = result.diagnosis
    parts = []
    for sign in signs:
        event = f"{sign.provider} {sign.event_id}" if sign.provider and sign.event_id else sign.kind
        parts.append(f"{event} ({sign.subject})" + (f" ×{sign.count}" if sign.count > 1 else ""))
    if not parts:
        return (
            d.symptom
            or "No failure event in the evidence: compare the behaviour before and after the trigger."
        )
    text = ", then ".join(parts)
    first = signs[0]
    if first.after_trigger_seconds is not None and d.trigger:
        text += f"; the first {span(first.after_trigger_seconds)} after {d.trigger} was installed"
    if d.last_good is not None and first.first_at is not None:
        gap = (first.first_at - d.last_good).total_seconds()
        text += f", {span(gap)} after the last successful request"
    return text


def _caveats(result: ScanResult, base: BaseMedia, steps: list[ReproStep]) -> tuple[str, ...]:
    out = [f"{f.name.capitalize()} of the media is unknown: {f.how}." for f in base.facts if f.value is None]
    d = result.diagnosis
    if d.trigger is None:
        out.append("The diagnosis names no trigger: the plan rebuilds the servicing history only.")
    elif not any(s.trigger for s in steps):
        out.append(f"The trigger {d.trigger} has no dated install entry in the timeline: add it last.")
    if result.gaps:
        out.append(
            f"The scan recorded {len(result.gaps)} gap(s) (see the scan report): steps from artefacts "
            "that could not be read may be missing."
        )
    return tuple(out)


def plan_repro(result: ScanResult, knowledge: Knowledge) -> ReproPlan:
    """The reproduction plan for one scan: base media, ordered steps, deviations, trigger, symptom."""
    profile = knowledge.os_for(result.inventory.system)
    base = base_media(result, profile)
    skip = {id(e) for e in base_components(result, os_install_entry(result))}
    skip |= {id(e) for e in result.timeline.entries if e.kind == "os-install"}
    steps = [_install_step(result, base), *servicing_steps(result, profile, skip)]
    steps = [replace(step, number=i) for i, step in enumerate(steps, 1)]
    d = result.diagnosis
    return ReproPlan(
        source=str(result.inventory.source.get("path", "?")),
        system=report_title(result),
        base=base,
        steps=tuple(steps),
        trigger=d.trigger,
        latent_cause=d.latent_cause,
        cause_attribution=d.cause_attribution,
        known_issue=d.known_issue,
        symptom=expected_symptom(result),
        caveats=_caveats(result, base, steps),
    )
