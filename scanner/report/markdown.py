"""The ``scan`` Markdown report: the HTML report's content minus the plot, for tickets and wikis.

Markdown renderers pass raw HTML through and turn punctuation into structure, so evidence text is escaped
twice over by the template environment's ``finalize`` (every ``{{ value }}``): ``& < >`` become entities
(a ``<script>`` in a hotfix description stays text on GitHub, GitLab or Jira) and Markdown punctuation is
backslash-escaped (a ``|`` cannot split a table cell, ``[x](javascript:…)`` cannot become a link, ``*`` or
``_`` cannot restyle). Paths and rule ids go into code spans whose fence is longer than any backtick run
inside them. Line breaks in evidence become spaces: one value, one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import IO, Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from scanner.diagnose import ScanResult
from scanner.model import Diagnosis, TimelineEntry
from scanner.report.scan_window import markers, onset_entry, trigger_entry, window
from scanner.report.sections import template_values, where
from scanner.report.text import clean

#: Characters that make inline structure anywhere in a line (emphasis, code, links, tables, strike, math).
_INLINE = frozenset("`*_[]|~$")
#: Characters that start a block (heading, list, quote) only at the start of a line.
_BLOCK_START = re.compile(r"^([#+\-=]|\d+[.)])")
_ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_BACKTICKS = re.compile(r"`+")
_WINDOW_MAX = 60


class Raw(str):
    """Text that is already Markdown (a code span built by :func:`code_span`): finalize leaves it alone."""


def _one_line(text: str) -> str:
    return " ".join(clean(text.replace("\r", " ").replace("\n", " ")).split())


def escape_md(text: str) -> str:
    """Evidence text as inert Markdown: HTML entities for ``& < >``, backslashes before Markdown syntax.

    Only what can make structure is escaped, so a ticket's raw text stays readable: a backslash is literal
    in Markdown unless ASCII punctuation follows it (``WINDOWS\\system32`` needs no escaping).
    """
    text = _one_line(text)
    out = []
    for i, char in enumerate(text):
        if char in _INLINE:
            out.append("\\" + char)
        elif char == "\\" and (i + 1 == len(text) or text[i + 1] in _ASCII_PUNCTUATION):
            out.append("\\\\")
        else:
            out.append({"&": "&amp;", "<": "&lt;", ">": "&gt;"}.get(char, char))
    escaped = "".join(out)
    match = _BLOCK_START.match(escaped)
    if match:
        escaped = escaped[: match.end() - 1] + "\\" + escaped[match.end() - 1 :]
    return escaped


def code_span(value: Any, in_table: bool = False) -> Raw:
    """A code span that no backtick inside ``value`` can close; in a table ``|`` is escaped (GFM) so the
    cell cannot be split."""
    text = _one_line(str(value))
    if in_table:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return Raw(f"{fence}{pad}{text}{pad}{fence}")


def _finalize(value: Any) -> Any:
    if isinstance(value, Raw) or not isinstance(value, str):
        return value
    return escape_md(value)


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("scanner.report", "templates"),
        autoescape=False,
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["code"] = code_span
    return env


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
    template = _environment().get_template("scan.md.j2")
    return template.render(**template_values(result), window_note=note, window=window)


def write_markdown(result: ScanResult, out: IO[str]) -> None:
    out.write(render_markdown(result))
