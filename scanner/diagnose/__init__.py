"""The diagnosis stage: findings + timeline -> the verdict (onset, trigger, latent cause, remediation).

``ScanResult`` is what ``scan`` hands to every report writer: the inventory, the fused timeline, the findings
and the diagnosis, plus every gap, and the collected facts themselves. Reports read it; they never reach back
upstream. What the facts already hold (the IIS traffic days) is read from them, not copied beside them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scanner.model import ComponentLevels, Diagnosis, Finding, Gap, Inventory, TrafficDay
from scanner.model.facts_bundle import Facts
from scanner.timeline import Timeline


@dataclass
class ScanResult:
    inventory: Inventory
    timeline: Timeline
    findings: list[Finding]
    diagnosis: Diagnosis
    gaps: list[Gap] = field(
        default_factory=list
    )  # inventory gaps + timeline gaps + what rules could not check
    components: list[ComponentLevels] = field(default_factory=list)  # each profile file against the baseline
    facts: Facts | None = None  # everything the collectors found (``inventory`` is its JSON view)

    @property
    def traffic(self) -> tuple[TrafficDay, ...]:
        """The IIS log days (hourly counts for the plot and the strip): the facts' own; none without facts (a
        hand-built result)."""
        return self.facts.traffic if self.facts is not None else ()
