"""Terminal lines built from evidence: every string is taken literally and made safe to print.

Evidence is attacker-controlled (hotfix descriptions, file names, log lines, event strings). Lines are built
as rich ``Text`` — never parsed as markup, so ``[/]`` cannot break or restyle a report — and control,
bidi-override and lone-surrogate characters are shown as ``\\xNN`` / ``\\uNNNN`` so a log line cannot move the
cursor, recolour the terminal or reorder what a reader sees.
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.text import Text

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

Part = str | tuple[str, str]  # text, or (text, rich style)


def clean(text: str) -> str:
    """Evidence text made safe for one report line: control, bidi-override and surrogate chars escaped."""

    def visible(match: re.Match[str]) -> str:
        code = ord(match.group())
        if code == 0x09:  # a field separator (WindowsUpdate.log): harmless, shown as the space it stands for
            return " "
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNSAFE.sub(visible, text)


def line(console: Console, *parts: Part, wrap: bool = False) -> None:
    """Print one report line; every part is cleaned and taken literally (no markup)."""
    text = Text.assemble(*(clean(p) if isinstance(p, str) else (clean(p[0]), p[1]) for p in parts))
    console.print(text, highlight=False, soft_wrap=not wrap)
