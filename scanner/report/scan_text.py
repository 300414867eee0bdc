"""The ``scan`` terminal report: a post-mortem a senior engineer would write, evidence behind every claim.

Sections, in order: the verdict (one paragraph), a timeline strip of the last days (``strip``), the timeline
around the failure (window: ``scan_window``), the findings with their evidence, the numbered remediation
steps, then what could not be checked.

Every string that came from the evidence (file names, log lines, event strings, registry values) is
attacker-controlled. Lines are built as rich ``Text`` (never parsed as markup), which is stricter than
``rich.markup.escape``: escaped markup still renders a trailing backslash twice (``WINDOWS\\$hf_mig$\\``
followed by text) and one missed ``escape`` lets ``[/]`` abort the report with a MarkupError. Control,
bidirectional-override and lone-surrogate characters are shown as ``\\xNN``/``\\uNNNN`` (:func:`clean`), so a
hostile log line can neither forge a report line, reorder its text, nor send escape sequences to a terminal
(a tab, WindowsUpdate.log's field separator, is shown as a space).
"""

from __future__ import annotations

from datetime import datetime

from rich.console import Console

from scanner.diagnose import ScanResult
from scanner.model import Diagnosis, Evidence, Finding, FindingFile, is_serious
from scanner.render.phrases import span, where
from scanner.render.text import Part, line
from scanner.report.scan_window import markers, onset_entry, runs, trigger_entry, window
from scanner.report.sections import headline, ordered_findings, remediation_steps, utc
from scanner.report.strip import print_strip
from scanner.report.timeline import KIND_STYLE, TIME_HANG, when_text

_SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}

def _heading(console: Console, title: str, note: str = "") -> None:
    console.print()
    line(console, (title, "bold"), note)






def print_scan(result: ScanResult, console: Console, verbose: int = 0) -> None:
    """Print the post-mortem.

    Args:
        result: what ``pipeline.scan`` returned.
        console: where to print (the CLI gives an 80-column, colourless console for files and pipes).
        verbose: 1 adds every timeline entry's sources and the findings' details; 2 also shows the whole
            timeline instead of the window around the failure.
    """
    _header(result, console)
    _verdict(result, console)
    print_strip(result, console)
    _around_the_failure(result, console, verbose)
    _findings(result.findings, console, verbose)
    _remediation(result, console)
    _gaps(result, console)


def _header(result: ScanResult, console: Console) -> None:
    s = result.inventory.system
    what = "unknown system"
    if s is not None:
        what = " ".join(p for p in (s.product, s.csd_version, s.architecture) if p) or what
        what += f", host {s.hostname or '?'}"
    path = str(result.inventory.source.get("path", "?"))
    line(console, ("patchmortem post-mortem", "bold"), f" — {what} — {path}")
    line(console, ("All times are UTC.", "dim"))


def _verdict(result: ScanResult, console: Console) -> None:
    d = result.diagnosis
    _heading(console, "Verdict")
    parts: list[str] = []
    # The shared headline: never "no failure" above a strip that shows failures (issue 18).
    summary = headline(result)
    if summary:
        parts.append(summary if summary.endswith(".") else summary + ".")
    parts += _verdict_facts(result, d, summary)
    line(console, " ".join(parts), wrap=True)


def _verdict_facts(result: ScanResult, d: Diagnosis, summary: str) -> list[str]:
    """Onset, symptom, trigger (with the gap to the onset), latent cause, known issue, confidence: each one
    the diagnosis summary does not already state, so the paragraph says everything once."""
    said = summary.casefold()
    facts: list[str] = []
    onset_said = d.failure_onset is not None and f"{d.failure_onset:%Y-%m-%d %H:%M}" in summary
    if d.failure_onset is not None and not onset_said:
        last_good = ""
        if d.last_good is not None:
            gap = span((d.failure_onset - d.last_good).total_seconds())
            last_good = f" (last good request {utc(d.last_good)}, {gap} before)"
        facts.append(f"Failure onset: {utc(d.failure_onset)}{last_good}.")
        if d.symptom:
            facts.append(f"Symptom: {d.symptom.rstrip('.')}.")
    trigger_said = d.trigger is not None and d.trigger.casefold() in said and (
        d.trigger_at is None or f"{d.trigger_at:%Y-%m-%d %H:%M}" in summary
    )
    if d.trigger and not trigger_said:
        when = f", installed {utc(d.trigger_at)}" if d.trigger_at else ""
        seconds = d.trigger_gap_seconds
        if seconds is None and d.trigger_at and d.failure_onset:
            seconds = int((d.failure_onset - d.trigger_at).total_seconds())
        before = f", {span(seconds)} before the onset" if seconds is not None else ""
        facts.append(f"Trigger: {d.trigger}{when}{before}.")
    if d.latent_cause:  # the rule id is the contract name a reader can look up: always given
        finding = next((f for f in result.findings if f.rule == d.latent_cause), None)
        title = f" — {finding.title}" if finding else ""
        cause = f" (cause: {d.cause_attribution})" if d.cause_attribution else ""
        facts.append(f"Latent cause: {d.latent_cause}{title}{cause}.")
    if d.contributing:
        facts.append(f"Contributing: {', '.join(d.contributing)}.")
    if d.known_issue and d.known_issue.casefold() not in said:
        facts.append(f"Known issue: {d.known_issue}.")
    if d.confidence and "confidence" not in said:
        facts.append(f"Confidence: {d.confidence}.")
    warnings = sum(1 for f in result.findings if is_serious(f.severity))
    if not d.latent_cause and warnings:
        facts.append(f"{warnings} finding(s) below still need attention.")
    return facts


# -- around the failure -------------------------------------------------------------------------------------


def _clock(at: datetime | None, day_of: datetime | None) -> str:
    if at is None:
        return "?"
    if day_of is not None and at.date() != day_of.date():
        return f"{at:%Y-%m-%d %H:%M:%S}"
    return f"{at:%H:%M:%S}"


def _around_the_failure(result: ScanResult, console: Console, verbose: int) -> None:
    which, shown, omitted = window(result, verbose)
    total = len(result.timeline.entries)
    _heading(console, "Around the failure", f" — {which} ({len(shown)} of {total} entries)")
    if omitted:
        note = f"  ({omitted} routine traffic/boot entries before the trigger left out; -vv shows them)"
        line(console, note)
    if not shown:
        line(console, "  (no dated timeline entries)")
        return
    d = result.diagnosis
    trigger = trigger_entry(result.timeline.entries, d)
    onset = onset_entry(shown, d)
    for run in runs(shown):
        first, last = run[0], run[-1]
        style = KIND_STYLE.get(first.kind, "white")
        sources = [s for e in run for s in e.sources]
        types = ",".join(sorted({s.type for s in sources}))
        if len(run) == 1:
            what: list[Part] = [(f"{first.kind:<22}", style), " ", (first.subject, "bold")]
            what.append(f"  {first.summary}")
        else:
            span = f"{_clock(first.at, None)}–{_clock(last.at, first.at)}"
            what = [(f"{len(run)} × {first.kind}", style), " ", (first.subject, "bold"), f" {span}"]
            what.append(f"  first: {first.summary}")
        tail = (f"  ({len(sources)} source(s): {types})", "dim")
        marks = (markers(run, d, trigger, onset), "bold")
        line(console, when_text(first), "  ", *what, tail, marks, hang=TIME_HANG)
        for entry in run:
            for conflict in entry.conflicts:
                line(console, "    ", ("conflict:", "red"), f" {conflict}")
        if verbose:
            for source in sources:
                said = f"    {source.type}: {where(source.provenance)} — {source.says}"
                line(console, (said, "dim"), hang=6)


# -- findings, remediation, gaps ----------------------------------------------------------------------------






def _findings(findings: list[Finding], console: Console, verbose: int) -> None:
    _heading(console, "Findings", f" ({len(findings)})")
    if not findings:
        line(console, "  No rule found a problem in what could be read (see what was not checked below).")
    for finding in ordered_findings(findings):
        style = _SEVERITY_STYLE.get(finding.severity, "white")
        severity = (finding.severity.upper(), style)
        line(console, "  ", severity, "  ", (finding.rule, "bold"), f"  {finding.title}")
        line(console, f"    {finding.summary}")
        if finding.files:
            line(console, "    files:")
            for f in finding.files:
                line(console, *_file_parts(f))
        if finding.updates:
            line(console, f"    updates: {', '.join(finding.updates)}")
        if finding.evidence:
            line(console, "    evidence:")
            for evidence in finding.evidence:
                line(console, *_evidence_parts(evidence))
        details = dict(finding.details)
        tail = [f"confidence: {finding.confidence}"]
        said = (finding.attribution, details.get("attribution"))
        attribution = " — ".join(dict.fromkeys(t for t in said if t))  # each once
        if attribution:
            tail.append(f"attribution: {attribution}")
        if finding.at is not None:
            tail.append(f"since {utc(finding.at)}")
        line(console, f"    {' · '.join(tail)}")
        if verbose:
            for name, value in finding.details:
                if name != "attribution":
                    line(console, (f"    {name}: {value}", "dim"))


def _file_parts(f: FindingFile) -> list[Part]:
    version = (f.version or "no version") + (f" ({f.lab_tag})" if f.lab_tag else "")
    parts: list[Part] = [f"      {f.path}  {version}"]
    if f.expected:
        parts.append(f" -> {f.expected}")
    if f.created_at is not None:
        parts.append((f"  (created {utc(f.created_at)})", "dim"))
    return parts


def _evidence_parts(evidence: Evidence) -> list[Part]:
    parts: list[Part] = [f"      {where(evidence.source)}: {evidence.says}"]
    if evidence.at is not None:
        parts.append((f"  ({utc(evidence.at)})", "dim"))
    return parts


def _remediation(result: ScanResult, console: Console) -> None:
    _heading(console, "Remediation")
    steps = remediation_steps(result)
    if not steps:
        line(console, "  Nothing to do: no root cause found and no finding calls for a fix.")
    for number, step in enumerate(steps, 1):
        line(console, f"  {number}. {step}", hang=len(f"  {number}. "))


def _gaps(result: ScanResult, console: Console) -> None:
    _heading(console, "Not checked / partly read", f" ({len(result.gaps)})")
    if not result.gaps:
        line(console, "  Nothing: every artefact the scan looks for was read in full.")
    for gap in result.gaps:
        line(console, "  ", ("•", "yellow"), f" {gap.what}: {gap.reason}", hang=4)
