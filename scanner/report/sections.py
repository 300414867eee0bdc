"""What every human-readable scan report says, as plain values: the verdict facts, system and source facts.

The HTML and Markdown reports render the same content; building it once here keeps their wording, order
and choices (which facts the verdict lists, which remediation steps apply) from drifting apart. Values are
the evidence's own strings: escaping is each renderer's job (HTML autoescaping, Markdown escaping).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scanner import __version__
from scanner.diagnose import ScanResult
from scanner.evidence.kinds import container_kind
from scanner.model import FAILURE_KINDS, Finding, Inventory, TimeZoneFacts, is_serious, severity_rank
from scanner.model.update_ids import sp_label
from scanner.render.phrases import report_title, span, where


@dataclass(frozen=True)
class Fact:
    """One labelled statement of a report table, with where it comes from when that is known."""

    label: str
    value: str
    source: str = ""
    ref: int = 0  # footnote number of ``source`` in a table's source list (0: shown inline, or none)


@dataclass(frozen=True)
class VerdictState:
    """What the verdict box says at a glance, and the class its colour follows (issue 18).

    ``failing``: the diagnosis dated a failure onset. ``at-risk``: no onset, but a warning or critical
    finding. ``unknown`` (could not tell): no onset and no serious finding, yet the timeline holds failure
    entries the diagnosis could not place, or no Windows system could be read. ``healthy``: none of these.
    """

    css: str
    label: str
    failures: int  # failure entries in the timeline (crashes, service and worker-process failures, ...)


def utc(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S} UTC" if at is not None else "an unknown time"


def ordered_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first; the rules' own order within a severity."""
    return sorted(findings, key=lambda f: severity_rank(f.severity))


def verdict_state(result: ScanResult) -> VerdictState:
    """Failing / at risk / healthy / could not tell, from typed fields only (see :class:`VerdictState`)."""
    failures = sum(1 for e in result.timeline.entries if e.kind in FAILURE_KINDS)
    if result.diagnosis.failure_onset is not None:
        return VerdictState("failing", "Failing", failures)
    if any(is_serious(f.severity) for f in result.findings):
        return VerdictState("at-risk", "At risk", failures)
    if failures or result.inventory.system is None:
        return VerdictState("unknown", "Could not tell", failures)
    return VerdictState("healthy", "Healthy", failures)


def headline(result: ScanResult) -> str:
    """The verdict in one sentence: the diagnosis summary, or an honest "no root cause".

    When the timeline holds failures but no onset was dated (they came before the last successful request,
    or could not be ordered), the report says so instead of a summary that reads "no failure": a reader
    must never see "no failure" above a timeline full of them.
    """
    d = result.diagnosis
    state = verdict_state(result)
    if d.failure_onset is None and state.failures:
        findings = ordered_findings(result.findings)
        serious = [f.title for f in findings if is_serious(f.severity)]
        noun = "entry" if state.failures == 1 else "entries"
        latent = (
            f" {len(serious)} latent condition(s) were found: {'; '.join(serious)}."
            if serious
            else " No warning-level finding explains them."
        )
        return (
            f"Could not tell: the timeline holds {state.failures} failure {noun} (crashes, service or "
            f"worker-process failures) that the diagnosis could not date as the onset of an outage (a "
            f"successful request came later, or the logs that would order them are missing); see the "
            f"timeline.{latent}"
        )
    summary = d.summary.strip()
    if d.latent_cause is None and d.trigger is None and not summary.lower().startswith("no root cause"):
        summary = f"No root cause found. {summary}".strip()
    return summary or "No root cause found."


def footnoted(facts: list[Fact]) -> tuple[list[Fact], list[str]]:
    """Each distinct source once: facts keep a footnote number (``ref``) and the sources come back as a list
    (issue 18: every system fact repeated the same registry sources)."""
    sources: list[str] = []
    out = []
    for fact in facts:
        if not fact.source:
            out.append(fact)
            continue
        if fact.source not in sources:
            sources.append(fact.source)
        out.append(Fact(fact.label, fact.value, "", sources.index(fact.source) + 1))
    return out, sources


def verdict_facts(result: ScanResult) -> list[Fact]:
    """Onset, last good request, symptom, trigger, latent cause, known issue, confidence — each when known."""
    d = result.diagnosis
    facts = []
    if d.failure_onset is not None:
        facts.append(Fact("Failure onset", utc(d.failure_onset), _first_source(d.evidence)))
    if d.last_good is not None:
        before = (
            f" ({span((d.failure_onset - d.last_good).total_seconds())} before)" if d.failure_onset else ""
        )
        facts.append(Fact("Last good request", utc(d.last_good) + before))
    if d.symptom:
        facts.append(Fact("Symptom", d.symptom))
    if d.trigger:
        when = f", installed {utc(d.trigger_at)}" if d.trigger_at else ""
        seconds = d.trigger_gap_seconds
        if seconds is None and d.trigger_at and d.failure_onset:
            seconds = int((d.failure_onset - d.trigger_at).total_seconds())
        before = f", {span(seconds)} before the onset" if seconds is not None else ""
        facts.append(Fact("Trigger", f"{d.trigger}{when}{before}"))
    if d.latent_cause:
        finding = next((f for f in result.findings if f.rule == d.latent_cause), None)
        title = f" — {finding.title}" if finding else ""
        cause = f" (cause: {d.cause_attribution})" if d.cause_attribution else ""
        facts.append(Fact("Latent cause", f"{d.latent_cause}{title}{cause}"))
    if d.contributing:
        facts.append(Fact("Contributing", ", ".join(d.contributing)))
    if d.known_issue:
        facts.append(Fact("Known issue", d.known_issue))
    if d.references:
        facts.append(Fact("References", ", ".join(d.references)))
    if d.confidence:
        facts.append(Fact("Confidence", d.confidence))
    warnings = sum(1 for f in result.findings if is_serious(f.severity))
    if not d.latent_cause and warnings:
        facts.append(Fact("Attention", f"{warnings} finding(s) below still need attention"))
    return facts


def _first_source(evidence: Iterable[Any]) -> str:
    for item in evidence:
        return where(item.source)
    return ""


def remediation_steps(result: ScanResult) -> list[str]:
    """The diagnosis' procedure; else the findings' own steps, most severe first, each once."""
    steps = list(result.diagnosis.remediation)
    if not steps:
        for finding in ordered_findings(result.findings):
            steps += [step for step in finding.remediation if step not in steps]
    return steps


def _sp_text(level: int | None) -> str | None:
    """None (shown as unknown) when nothing attests the level; "RTM" for 0."""
    return None if level is None else sp_label(level)


def _zone_text(zone: TimeZoneFacts | None) -> str | None:
    return f"{zone.standard_name or zone.key_name} (UTC bias {zone.bias_minutes} min)" if zone else None


def system_facts(inv: Inventory) -> list[Fact]:
    """What the system says it is (registry), then the other facts the collectors recorded."""
    s = inv.system
    facts = []
    if s is not None:
        registry = ", ".join(dict.fromkeys(where(p) for p in s.sources[:3]))
        zone = s.timezone
        rows = [
            ("Product", s.product),
            ("Edition", s.edition),
            ("Version", f"{s.version}" + (f" (build {s.build})" if s.build else "") if s.version else None),
            (
                "Service pack",
                s.csd_version or _sp_text(s.service_pack),
            ),
            ("Architecture", s.architecture),
            ("Host name", s.hostname),
            ("Installed", utc(s.install_date) if s.install_date else None),
            ("System root", s.system_root),
            ("Time zone", _zone_text(zone)),
            ("Build lab", s.build_lab),
        ]
        facts += [Fact(label, value, registry) for label, value in rows if value]
    facts += [Fact(name, value, where(p)) for name, value, p in inv.facts]
    return facts


def template_values(result: ScanResult) -> dict[str, Any]:
    """What the HTML and Markdown templates both render, by the names they use."""
    system, system_sources = footnoted(system_facts(result.inventory))
    return {
        "version": __version__,
        "title": report_title(result),
        "source_path": str(result.inventory.source.get("path", "?")),
        "headline": headline(result),
        "verdict_facts": verdict_facts(result),
        "remediation": remediation_steps(result),
        "components": result.components,
        "findings": ordered_findings(result.findings),
        "gaps": result.gaps,
        "system_facts": system,
        "system_sources": system_sources,
        "verdict_state": verdict_state(result),
        "source_facts": source_facts(result.inventory.source),
        "where": where,
    }


def source_facts(source: dict[str, Any]) -> list[Fact]:
    """The evidence source: path, container format, size, differencing chain, volumes, sha256 when hashed."""
    facts = [Fact("Path", str(source.get("path", "?")))]
    containers = source.get("containers") or []
    if containers:
        chained = len(source.get("chain") or []) > 1
        facts.append(Fact("Format", " → ".join(container_kind(str(c), chained) for c in containers)))
    if source.get("size") is not None:
        size = int(source["size"])
        facts.append(Fact("Size", f"{size:,} bytes ({size / 2**20:.1f} MiB)"))
    chain = source.get("chain") or []
    if len(chain) > 1:
        facts.append(Fact("Chain", " ← ".join(str(c) for c in chain)))
    for volume in source.get("volumes") or []:
        windows = f", Windows in \\{volume['windows_dir']}" if volume.get("windows_dir") else ""
        facts.append(
            Fact(
                f"Volume {volume.get('index')}",
                f"{volume.get('filesystem') or 'unknown'} at offset {volume.get('offset')}, "
                f"{volume.get('size')} bytes{windows}",
            )
        )
    for path, digest in (source.get("sha256") or {}).items():
        facts.append(Fact("SHA-256", str(digest), str(path)))
    return facts
