"""Remediation composition: the steps a verdict gives, filled with this case's SP, package and files.

Split out of ``verdict.py`` so that which finding is the latent cause (verdict) and what to do about it
(here) evolve apart. The steps come from the matched known interaction (``profiles/interactions``), else the
latent finding, then the contributing findings' own steps that name something new.
"""

from __future__ import annotations

import re

from scanner.knowledge.profiles import Interaction, Knowledge
from scanner.model import Finding, Inventory, UpdateRecord
from scanner.rules.context import package_name, render, system_fit

#: What a remediation step names: update ids, files, logs, and parenthesised specifics (installer names).
_NAMED = re.compile(r"\b(?:KB|Q)\d{5,7}\b|\b[\w-]+\.(?:dll|exe|sys|log)\b|\([^)]*\)")


def update_record(inv: Inventory, update_id: str | None) -> UpdateRecord | None:
    if update_id is None:
        return None
    return next((u for u in inv.updates if u.id.lower() == update_id.lower()), None)


def interaction(
    knowledge: Knowledge, trigger: str | None, finding: Finding, touched: set[str]
) -> Interaction | None:
    components = {f.component for f in finding.files if f.component} | touched
    for known in knowledge.interactions:
        if finding.rule not in known.conditions:
            continue
        if known.triggers and (trigger is None or trigger.lower() not in {t.lower() for t in known.triggers}):
            continue
        if known.components and not components & set(known.components):
            continue
        return known
    return None


def remediation(
    inv: Inventory,
    knowledge: Knowledge,
    latent: Finding | None,
    known: Interaction | None,
    trigger: str | None,
    ranked: list[Finding],
    contributing: tuple[str, ...],
) -> tuple[str, ...]:
    if latent is None:
        return ()
    steps: list[str] = []
    if known is not None:
        values = dict(latent.details)
        update = update_record(inv, trigger)
        values.setdefault("trigger", trigger or "")
        values["trigger"] = trigger or values.get("trigger", "")
        if update is not None:
            values.setdefault("trigger_uninstall", update.uninstall_command or "")
            values["trigger_package"] = package_name(update) or values.get("trigger_package", "")
        # the procedure's steps that fit this system (``when``: components, OS), from the same facts as rules'
        fit = system_fit(inv, knowledge)
        steps += render([s.text for s in known.remediation if s.fits(*fit)], values)
    else:
        steps += latent.remediation
    for finding in ranked[1:]:
        if finding.rule not in contributing:
            continue
        for step in finding.remediation:
            said = _NAMED.findall(" ".join(steps))
            if known is None or set(_NAMED.findall(step)) - set(said):
                steps.append(step)  # after a known procedure, only steps that name something new
    return tuple(dict.fromkeys(steps))
