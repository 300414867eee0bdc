"""Where reports go: ``--output`` or stdout, text sized for a terminal or a pipe, evidence never overwritten.

Each command keeps a ``FORMATS: dict[str, Writer[...]]`` (format name -> the function that writes the report
to a stream); ``--format`` offers exactly its keys, and the command calls ``FORMATS[fmt](report, out)``.
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar, cast

import click

from scanner.errors import OutputError

if TYPE_CHECKING:
    from rich.console import Console

    from scanner.model import Gap

T = TypeVar("T")

#: Writes one report (a command's result bundle) to a text stream.
Writer = Callable[[T, IO[str]], None]

#: Text written to a pipe or a file wraps at this width (a terminal uses its own): long lines break on word
#: boundaries with a hanging indent (scanner/render/text.py ``line``), nothing is cut with an ellipsis.
PIPE_WIDTH = 80


@contextmanager
def report_out(output: Path | None) -> Iterator[IO[str]]:
    """Where a report goes: ``--output`` opened for writing (OutputError, exit 8, if it cannot be), else
    stdout. The caller has already refused evidence paths (``refuse_evidence_as_output``)."""
    if output is not None and str(output) == "-":
        output = None
    try:
        stream = output.open("w", encoding="utf-8", newline="") if output else None
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from exc
    try:
        yield stream or sys.stdout
        if stream is not None:
            stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:  # a device or pseudo-file that accepted the open but refuses the bytes
        raise OutputError(f"cannot write {output or 'stdout'}: {exc.strerror or exc}") from exc
    finally:
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass


def text_console(out: IO[str]) -> Any:
    """A rich Console for a text report: a terminal gets its own width and colours; a pipe or a file gets
    80 columns (long lines wrap on word boundaries, nothing is cut) and no colour codes."""
    from rich.console import Console

    class ReportConsole(Console):
        def on_broken_pipe(self) -> None:
            """rich would exit 1 on its own; the CLI ends every broken pipe the same documented way."""
            raise BrokenPipeError

    if out is sys.stdout and sys.stdout.isatty():
        return ReportConsole()
    return ReportConsole(file=cast(IO[str], _RstripLines(out)), width=pipe_width(), no_color=True)


def pipe_width() -> int:
    """The width of text written to a pipe or a file: ``COLUMNS`` when it is set to a sane number (the POSIX
    way to ask for wider or narrower output: ``COLUMNS=200 patchmortem scan X > report.txt``), else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return PIPE_WIDTH
    return columns if 40 <= columns <= 1000 else PIPE_WIDTH


class _RstripLines(io.TextIOBase):
    """A text stream that drops the spaces rich pads table cells with at the end of each line, so piped
    text diffs and greps cleanly."""

    def __init__(self, out: IO[str]) -> None:
        super().__init__()
        self._out = out
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        if lines:
            self._out.write("".join(line.rstrip(" ") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._out.write(self._pending.rstrip(" "))
            self._pending = ""
        self._out.flush()


_SEGMENT = re.compile(r"\.(\d{3}|[Ee]\d{2}|[Ee][A-Za-z]{2})")


def refuse_evidence_as_output(output: Path, source: Path, parent: Path | None) -> None:
    """Evidence is read-only: a report must never land on the source, its parent, a segment or inside it."""
    if str(output) == "-":
        return
    target = output.resolve()
    for evidence in (source, parent):
        if evidence is None:
            continue
        real = evidence.resolve()
        segment = target.parent == real.parent and bool(_SEGMENT.fullmatch(target.suffix)) and (
            target.stem.split(".")[0] == real.name.split(".")[0]
        )
        if target == real or real in target.parents or segment:
            raise OutputError(f"refusing to write {output}: it is (part of) the evidence {evidence}")


def refuse_page_on_terminal(fmt: str, output: Path | None) -> None:
    """An HTML page (over a megabyte with the plot's JavaScript) is never dumped on a terminal by accident."""
    if fmt == "html" and output is None and sys.stdout.isatty():
        raise click.UsageError(
            "--format html writes a whole web page: give --output report.html (or --output - to force stdout)"
        )


def warn(err: Console, message: str) -> None:
    """One line on stderr, never wrapped nor styled, so it can be grepped."""
    err.print(message, highlight=False, markup=False, soft_wrap=True)


def warn_gaps(err: Console, gaps: Iterable[Gap]) -> None:
    """What could not be checked, one warning line each (the text report lists gaps itself)."""
    from scanner.render.text import clean

    for gap in gaps:
        warn(err, f"patchmortem: warning: {clean(gap.what)}: {clean(gap.reason)}")
