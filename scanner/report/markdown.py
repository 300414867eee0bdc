"""The ``scan`` Markdown report: the HTML report's content minus the plot, for tickets and wikis.

Markdown renderers pass raw HTML through and turn punctuation into structure, so evidence text is escaped
twice over by the template environment's ``finalize`` (every ``{{ value }}``): ``& < >`` become entities
(a ``<script>`` in a hotfix description stays text on GitHub, GitLab or Jira) and Markdown punctuation is
backslash-escaped (a ``|`` cannot split a table cell, ``[x](javascript:…)`` cannot become a link, ``*`` or
``_`` cannot restyle). Paths and rule ids go into code spans whose fence is longer than any backtick run
inside them. Line breaks in evidence become spaces: one value, one line. The escaping and the environment
live in :mod:`scanner.render.templating`, shared with the ``repro`` plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from scanner.diagnose import ScanResult
from scanner.model import Diagnosis, TimelineEntry
from scanner.render.phrases import where
from scanner.render.templating import markdown_environment
from scanner.report.scan_window import markers, onset_entry, trigger_entry, window
from scanner.report.sections import template_values

_WINDOW_MAX = 60


@dataclass(frozen=True)
class WindowRow:
    when: str
    kind: str
    subject: str
    summary: str
    sources: str
    mark: str = ""


def timeline_window(result: ScanResult) -> tuple[str, list[WindowRow]]:
    """The entries around the failure, chosen exactly as the terminal report chooses them (``scan_window``);
    at most 60 rows (the JSON report has the whole timeline)."""
    note, shown, omitted = window(result, verbose=0)
    if omitted:
        note += f"; {omitted} routine traffic/boot entries before the trigger left out"
    if len(shown) > _WINDOW_MAX:
        note += f"; the first {_WINDOW_MAX} of {len(shown)} entries"
        shown = shown[:_WINDOW_MAX]
    d = result.diagnosis
    trigger = trigger_entry(result.timeline.entries, d)
    onset = onset_entry(shown, d)
    return note, [_row(entry, d, trigger, onset) for entry in shown]


def _row(
    entry: TimelineEntry, d: Diagnosis, trigger: TimelineEntry | None, onset: TimelineEntry | None
) -> WindowRow:
    sources = "; ".join(dict.fromkeys(where(s.provenance) for s in entry.sources[:3]))
    if len(entry.sources) > 3:
        sources += f"; and {len(entry.sources) - 3} more"
    when = f"{entry.at:%Y-%m-%d %H:%M:%S}" if entry.at else "undated"
    mark = markers([entry], d, trigger, onset).strip().lstrip("◀").strip()
    return WindowRow(when, entry.kind, entry.subject, entry.summary, sources, mark)


def render_markdown(result: ScanResult) -> str:
    note, window = timeline_window(result)
    template = markdown_environment().get_template("scan.md.j2")
    return template.render(**template_values(result), window_note=note, window=window)


def write_markdown(result: ScanResult, out: IO[str]) -> None:
    out.write(render_markdown(result))
