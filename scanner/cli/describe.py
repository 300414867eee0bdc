"""``patchmortem describe``: what an evidence source holds, before anything is scanned."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from scanner.cli.exits import handle_errors
from scanner.cli.options import diagnostics_options, format_option, parent_option, source_argument
from scanner.cli.output import Writer, text_console

if TYPE_CHECKING:
    from scanner.evidence.source import SourceDescription


def _text(description: SourceDescription, out: IO[str]) -> None:
    from scanner.render.text import line

    console = text_console(out)
    for text in description.to_text().splitlines():
        line(console, text, hang=12)  # under the value column ("source:     ...")
    console.file.flush()


def _json(description: SourceDescription, out: IO[str]) -> None:
    click.echo(json.dumps(description.to_dict(), indent=2), file=out)


FORMATS: dict[str, Writer[SourceDescription]] = {"text": _text, "json": _json}


@click.command()
@diagnostics_options
@source_argument
@format_option(FORMATS, help="Output format on stdout.")
@parent_option
@handle_errors
def describe(source: Path, fmt: str, parent: Path | None) -> None:
    """Describe an evidence SOURCE: container, disks, volumes, file systems and Windows systems found."""
    from scanner.evidence.source import describe_source

    FORMATS[fmt](describe_source(source, parent=parent), sys.stdout)
