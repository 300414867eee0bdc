"""The verdict: which finding the trigger exposed, the known issue it matches, and the remediation.

The latent cause is the warning-level finding most closely tied to the trigger: one naming the trigger itself
beats one about the component the trigger touched (or a known interaction's condition), which beats an
unrelated one; ties go to the rulebook's ``latent_rank``. Remediation comes from the matched known
interaction (``profiles/interactions``), else the latent finding, then the contributing findings' own steps —
all filled with this case's SP, package and files. "No root cause found" only when there is no failure
episode; an episode without a servicing cause reads "failing since X; no servicing change explains it", with
the onset still given.
"""

from __future__ import annotations

from datetime import datetime

from scanner.diagnose.onset import Onset, find_onset, find_trigger, trigger_name
from scanner.diagnose.remedy import interaction as _interaction
from scanner.diagnose.remedy import remediation as _remediation
from scanner.diagnose.remedy import update_record as _update
from scanner.knowledge.profiles import Knowledge
from scanner.model import (
    FAILURE_EVENT_KINDS,
    Diagnosis,
    Evidence,
    Finding,
    Inventory,
    TimelineEntry,
    is_serious,
)
from scanner.rules.context import entry_evidence


def _evidence(entry: TimelineEntry, says: str) -> Evidence:
    """The entry's first registry/event/log source, looked for among all its sources."""
    return entry_evidence(entry, says, limit=len(entry.sources))


def _trigger_components(inv: Inventory, trigger: str | None) -> set[str]:
    """Components whose files the trigger update recorded (Filelist) — what it touched."""
    update = _update(inv, trigger)
    if update is None:
        return set()
    touched = {f.name.lower() for f in update.files}
    return {f.component for f in inv.files if f.component and f.path.lower().rsplit("\\", 1)[-1] in touched}


def _relation(finding: Finding, trigger: str | None, touched: set[str], knowledge: Knowledge) -> int:
    if trigger is not None and trigger.lower() in {u.lower() for u in finding.updates}:
        return 3
    if _interaction(knowledge, trigger, finding, touched) is not None:
        return 2
    if touched & {f.component for f in finding.files if f.component}:
        return 1
    return 0


def _ago(seconds: int) -> str:
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 72 else f"{hours // 24} days"


def _at(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}Z" if value else "an unknown time"


def _symptom(onset: Onset) -> str:
    if not onset.failures and onset.episode is not None:
        return onset.episode.summary
    counts: dict[tuple[str, str], int] = {}
    for entry in onset.failures:
        key = (entry.kind, entry.subject)
        counts[key] = counts.get(key, 0) + 1
    parts = []
    for entry in onset.failures:
        if entry.kind == "traffic" and ("traffic", entry.subject) in counts:
            counts.pop(("traffic", entry.subject))
            counts[(entry.summary, "")] = 1
    for (kind, subject), count in counts.items():
        if not subject:
            parts.append(kind)
            continue
        label = kind.replace("-", " ")
        parts.append(f"{count} × {label} ({subject})" if count > 1 else f"{label} ({subject})")
    return "; ".join(parts[:6])


def _no_episode(entries: list[TimelineEntry], serious: list[Finding]) -> Diagnosis:
    """No failure episode: an honest "no failure" verdict; isolated failures are named as the noise floor."""
    isolated = sum(1 for e in entries if e.kind in FAILURE_EVENT_KINDS)
    floor = (
        f" {isolated} isolated failure record(s) — of services or programs outside the IIS components, or "
        "too few to be a sustained change — are context, not an onset."
        if isolated
        else ""
    )
    if serious:
        summary = (
            f"No failure episode was found, but {len(serious)} latent condition(s) were: "
            + "; ".join(f.title for f in serious)
            + f". They may break the server at the next update.{floor}"
        )
    else:
        summary = (
            "No root cause found: the evidence shows no failure episode (no sustained failure of the IIS "
            f"components, no rise of error answers) and no warning-level finding.{floor}"
        )
    return Diagnosis(None, None, None, summary, confidence=None)


def diagnose(
    inv: Inventory, entries: list[TimelineEntry], findings: list[Finding], knowledge: Knowledge
) -> Diagnosis:
    """The verdict over the timeline and the findings (pure)."""
    serious = [f for f in findings if is_serious(f.severity)]
    onset = find_onset(entries)
    if onset is None:
        return _no_episode(entries, serious)
    trigger_entry = find_trigger(entries, onset, inv, serious)
    trigger = trigger_name(trigger_entry) if trigger_entry else None
    touched = _trigger_components(inv, trigger)
    ranked = sorted(
        serious,
        key=lambda f: (-_relation(f, trigger, touched, knowledge), knowledge.rule(f.rule).latent_rank),
    )
    latent = ranked[0] if ranked else None
    known = _interaction(knowledge, trigger, latent, touched) if latent else None
    contributing = (
        tuple(
            dict.fromkeys(
                f.rule
                for f in ranked[1:]
                if _relation(f, trigger, touched, knowledge) > 0 and f.rule != latent.rule
            )
        )
        if latent
        else ()
    )
    symptom = known.symptom if known else _symptom(onset)
    observed = _symptom(onset)
    gap = int((onset.at - trigger_entry.at).total_seconds()) if trigger_entry and trigger_entry.at else None

    evidence = [_evidence(onset.entry, f"first failure evidence: {onset.entry.summary}")]
    if onset.last_good is not None:
        evidence.insert(0, _evidence(onset.last_good, onset.last_good.summary))
    if trigger_entry is not None:
        evidence.append(_evidence(trigger_entry, f"trigger: {trigger_entry.summary}"))

    system = inv.system
    host = (system.hostname if system else None) or "The server"
    if trigger_entry is not None:
        sentences = [f"{host} started failing at {_at(onset.at)}: {observed}."]
    else:
        sentences = [f"{host} has been failing since {_at(onset.at)}: {observed}."]
    if onset.last_good is not None:
        sentences.append(f"The last successful request was at {_at(onset.last_good.at)}.")
    elif onset.later_success is not None:
        sentences.append(
            f"Requests still succeeded after the onset (the last at {_at(onset.later_success)}): the failure "
            "is intermittent."
        )
    if trigger_entry is not None and gap is not None:
        sentences.append(f"{trigger} was installed {_ago(gap)} earlier ({_at(trigger_entry.at)}).")
    else:
        sentences.append(
            "No servicing change explains it: none with an update id, a service-pack number or a package, "
            "component or program name was made in the 30 days before the onset."
        )
    if latent is not None:
        lead = f"{trigger} exposed a latent condition" if trigger else "The evidence shows a latent condition"
        sentences.append(f"{lead}: {latent.summary}")
        if known is not None:
            sentences.append(f"This is the known interaction {known.id} ({known.title}).")
    else:
        sentences.append(
            "No latent condition explains it: no rule found a warning-level problem, so the root "
            "cause is not in the servicing evidence."
        )
    if latent is None:
        confidence = "low"
    elif trigger_entry is not None and _relation(latent, trigger, touched, knowledge) > 0:
        confidence = "high" if latent.confidence == "high" else "medium"
    else:
        confidence = "low"
    sentences.append(f"Confidence: {confidence}.")

    remediation = _remediation(inv, knowledge, latent, known, trigger, ranked, contributing)
    return Diagnosis(
        failure_onset=onset.at,
        trigger=trigger,
        latent_cause=latent.rule if latent else None,
        summary=" ".join(sentences),
        remediation=remediation,
        confidence=confidence,  # type: ignore[arg-type]
        cause_attribution=latent.attribution if latent else None,
        symptom=symptom,
        last_good=onset.last_good.at if onset.last_good else None,
        trigger_at=trigger_entry.at if trigger_entry else None,
        trigger_gap_seconds=gap,
        contributing=contributing,
        known_issue=known.id if known else None,
        references=known.references if known else (),
        evidence=tuple(evidence),
    )
