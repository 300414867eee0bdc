"""Terminal lines built from evidence: every string is taken literally and made safe to print.

Evidence is attacker-controlled (hotfix descriptions, file names, log lines, event strings). Lines are built
as rich ``Text`` — never parsed as markup, so ``[/]`` cannot break or restyle a report — and control,
bidi-override and lone-surrogate characters are shown as ``\\xNN`` / ``\\uNNNN`` so a log line cannot move the
cursor, recolour the terminal or reorder what a reader sees.
"""

from __future__ import annotations

import re

from rich.cells import cell_len
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


_WORD = re.compile(r"\S+\s*")


def breaks(plain: str, width: int, hang: int) -> list[int]:
    """Where a line of ``plain`` text breaks so no printed line is wider than ``width`` cells: offsets
    before a word (word boundaries), the continuation lines being ``hang`` cells narrower. A word wider than
    a whole line is folded inside (a path or an id is never dropped or cut with an ellipsis)."""
    offsets: list[int] = []
    room = width
    used = 0  # cells on the current line up to the end of its last word
    previous_end = 0
    for match in _WORD.finditer(plain):
        start = match.start()
        end = start + len(match.group().rstrip())
        gap = cell_len(plain[previous_end:start])
        need = cell_len(plain[start:end])
        if used and used + gap + need > room:
            offsets.append(start)
            room, used, gap = max(width - hang, 8), 0, 0
        if used + gap + need > room:  # wider than a whole line: fold it
            position = start
            used += gap
            while used + cell_len(plain[position:end]) > room:
                cut = position
                while used + cell_len(plain[position : cut + 1]) <= room:
                    cut += 1
                cut = max(cut, position + 1)
                offsets.append(cut)
                position = cut
                room, used = max(width - hang, 8), 0
            need, gap = cell_len(plain[position:end]), 0
        used += gap + need
        previous_end = end
    return offsets


def line(console: Console, *parts: Part, wrap: bool = True, hang: int | None = None) -> None:
    """Print one report line; every part is cleaned and taken literally (no markup).

    A line wider than the console (80 columns on a pipe or file, a terminal's own width) wraps on word
    boundaries; continuation lines are indented ``hang`` cells (default: the line's own indent plus two), so
    the first line keeps what a reader greps for — the time, the kind, the id — and the rest hangs under it.
    ``wrap=False`` is for drawings whose columns mean something (the timeline strip).
    """
    text = Text.assemble(*(clean(p) if isinstance(p, str) else (clean(p[0]), p[1]) for p in parts))
    width = console.width
    if not wrap or text.cell_len <= width:
        console.print(text, highlight=False, soft_wrap=True)
        return
    plain = text.plain
    if hang is None:
        hang = len(plain) - len(plain.lstrip(" ")) + 2
    hang = min(hang, width // 2)
    pieces = text.divide(breaks(plain, width, hang))
    for index, piece in enumerate(pieces):
        piece.rstrip()
        if index:
            piece = Text(" " * hang) + piece
        console.print(piece, highlight=False, soft_wrap=True)
