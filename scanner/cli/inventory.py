"""``patchmortem inventory``: a Windows system's servicing state, without the verdict."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from scanner.cli.exits import handle_errors
from scanner.cli.options import (
    diagnostics_options,
    format_option,
    parent_option,
    profiles_option,
    source_argument,
    system_option,
)
from scanner.cli.output import Writer, text_console
from scanner.cli.progress import spinner, stderr_console

if TYPE_CHECKING:
    from scanner.model import Inventory
    from scanner.render.meta import RunMeta


@dataclass(frozen=True)
class _Report:
    inventory: Inventory
    meta: RunMeta


def _text(report: _Report, out: IO[str]) -> None:
    from scanner.report.inventory import print_inventory

    # A pipe or file gets every column in full; a terminal gets its own width.
    console = text_console(out)
    print_inventory(report.inventory, console)
    console.file.flush()


def _json(report: _Report, out: IO[str]) -> None:
    from scanner.report.inventory import inventory_to_dict

    click.echo(json.dumps(inventory_to_dict(report.inventory, report.meta), indent=2), file=out)


FORMATS: dict[str, Writer[_Report]] = {"text": _text, "json": _json}


@click.command()
@diagnostics_options
@source_argument
@format_option(
    FORMATS, help="text: readable tables; json: the documented contract (schemas/inventory.schema.json)."
)
@parent_option
@system_option
@profiles_option
@handle_errors
def inventory(
    source: Path,
    fmt: str,
    parent: Path | None,
    system_index: int | None,
    profiles_dir: Path | None,
) -> None:
    """Inventory a Windows system's servicing state: system facts, recorded updates, real file versions.

    Reads the registry (replaying dirty hives' transaction logs in memory), the component files a profile
    names (PE version resource, lab tag, NTFS times) and the uninstall folders; what cannot be read is listed
    as a gap. Progress goes to stderr, data to stdout.
    """
    from scanner.pipeline import inventory as run_inventory
    from scanner.render.meta import RunMeta

    meta = RunMeta.start(profiles_dir)
    with spinner(stderr_console()) as progress:
        found = run_inventory(
            source, parent=parent, system=system_index, profiles_dir=profiles_dir, progress=progress
        )
    FORMATS[fmt](_Report(found, meta), sys.stdout)
