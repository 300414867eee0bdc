"""The diagnosis stage: findings + timeline -> the verdict (onset, trigger, latent cause, remediation).

``ScanResult`` is what ``scan`` hands to every report writer: the inventory, the fused timeline, the findings
and the diagnosis, plus every gap. Reports read it; they never reach back upstream.
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
    traffic: list[TrafficDay] = field(default_factory=list)  # IIS log days, hourly counts for the plot
    facts: Facts | None = None  # everything the collectors found (``inventory`` is its JSON view)
