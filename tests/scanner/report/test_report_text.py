"""Evidence strings reach the terminal literally: no markup, no escape sequences, no bidi reordering."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from scanner.model import Gap, Provenance, TimelineEntry, TimelineSource
from scanner.render.text import clean
from scanner.report.timeline import print_timeline

HOSTILE = "KB1[/]<script>[bold red]x\x1b[2J\u202eevil\\"


def _printed(verbose: bool) -> str:
    at = datetime(2009, 12, 9, 15, 40, tzinfo=UTC)
    source = TimelineSource("log", at, "second", HOSTILE, Provenance(f"WINDOWS\\{HOSTILE}.log", "line 1"))
    entry = TimelineEntry(
        at, "second", "hotfix", HOSTILE, f"{HOSTILE} installed", (source,), conflicts=(HOSTILE,)
    )
    out = io.StringIO()
    console = Console(file=out, width=300, color_system=None)
    print_timeline([entry], [Gap(HOSTILE, HOSTILE)], console, verbose=verbose)
    return out.getvalue()


def test_clean_shows_control_and_bidi_characters() -> None:
    assert clean("a\x1b[31mb\u202ec\td") == "a\\x1b[31mb\\u202ec d"


def test_timeline_text_prints_hostile_strings_literally() -> None:
    text = _printed(verbose=True)
    shown = clean(HOSTILE)
    assert f"{shown}  {shown} installed" in text  # subject and summary, markup brackets intact
    assert f"conflict: {shown}" in text and f"{shown}: {shown}" in text
    assert "\x1b" not in text and "\u202e" not in text
    assert shown.endswith("evil\\") and f"line 1] — {shown}" in text  # a trailing backslash is not doubled
