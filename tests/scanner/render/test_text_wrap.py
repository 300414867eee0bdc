"""Report lines wrap on word boundaries with a hanging indent (issue 15): nothing cut, nothing lost."""

from __future__ import annotations

import io

from rich.console import Console

from scanner.render.text import breaks, line


def _print(*parts: str, width: int = 30, hang: int | None = None, wrap: bool = True) -> list[str]:
    buffer = io.StringIO()
    line(Console(file=buffer, width=width, no_color=True), *parts, hang=hang, wrap=wrap)
    return buffer.getvalue().splitlines()


def test_a_short_line_is_one_line() -> None:
    assert _print("KB973917 installed") == ["KB973917 installed"]


def test_long_lines_break_between_words_and_hang() -> None:
    lines = _print("2009-12-09 15:40:00Z update KB973917 Update for Windows Server 2003", hang=4)
    assert lines == ["2009-12-09 15:40:00Z update", "    KB973917 Update for", "    Windows Server 2003"]
    assert all(len(text) <= 30 for text in lines)


def test_the_default_hang_is_the_line_indent_plus_two() -> None:
    assert _print("    one two three four five six seven eight") == [
        "    one two three four five",
        "      six seven eight",
    ]


def test_a_word_wider_than_the_line_is_folded_never_cut() -> None:
    path = "WINDOWS\\system32\\inetsrv\\averyveryverylongname.dll"
    lines = _print("file " + path, hang=2)
    assert all(len(text) <= 30 for text in lines)
    assert "".join(text.strip() for text in lines) == "file" + path


def test_every_character_survives_any_width() -> None:
    text = "Reinstall Windows Server 2003 Service Pack 2 (WindowsServer2003-KB914961-SP2-x86-ENU.exe) now."
    for width in range(10, 100):
        offsets = breaks(text, width, 4)
        assert offsets == sorted(set(offsets)) and all(0 < o < len(text) for o in offsets)
        pieces = [text[a:b] for a, b in zip([0, *offsets], [*offsets, len(text)], strict=True)]
        assert "".join(pieces) == text


def test_drawings_do_not_wrap() -> None:
    assert _print("x" * 50, wrap=False) == ["x" * 50]


def test_evidence_stays_literal_when_wrapped() -> None:
    lines = _print("[bold]not markup[/bold] \x1b[31m and more words here", width=20, hang=2)
    assert "".join(lines).replace(" ", "") == "[bold]notmarkup[/bold]\\x1b[31mandmorewordshere"
