"""Command-line interface: parses options, calls the pipeline, picks a report. The only place that exits.

Every :class:`~scanner.errors.ScannerError` becomes one line on stderr and its documented exit code; any
other exception is a bug and becomes one line plus exit code 70 (``--verbose`` adds the traceback), so a
user never sees a raw traceback from bad evidence.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from scanner import __version__
from scanner.errors import ExitCode, ScannerError

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: ExitCode) -> None:
    click.echo(f"patchmortem: error: {message}", err=True)
    sys.exit(int(code))


def handle_errors(func: F) -> F:
    """Turn scanner errors into one stderr line + exit code; never let a traceback escape."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ScannerError as exc:
            _fail(str(exc), exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            _fail("interrupted", ExitCode.INTERNAL)
        except Exception as exc:  # noqa: BLE001 - last line of defence, reported as a bug
            ctx = click.get_current_context(silent=True)
            if ctx is not None and ctx.find_root().obj and ctx.find_root().obj.get("verbosity", 0) > 0:
                traceback.print_exc()
            _fail(f"internal error ({type(exc).__name__}: {exc}); please report it", ExitCode.INTERNAL)

    return wrapper  # type: ignore[return-value]


#: Shared by every command that opens evidence.
parent_option = click.option(
    "--parent",
    type=click.Path(path_type=Path),
    default=None,
    help="Parent disk of a legacy VHD differencing disk (.avhd), if its locators do not find it.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="patchmortem")
@click.option("-v", "--verbose", "verbosity", flag_value=1, help="Show progress and debug detail on stderr.")
@click.option("-q", "--quiet", "verbosity", flag_value=-1, help="Only errors on stderr.")
@click.pass_context
def cli(ctx: click.Context, verbosity: int | None) -> None:
    """Explain, offline and read-only, why a Windows server died after a patch.

    SOURCE is a disk image (raw/dd, split raw, VHD, VHDX, VMDK, qcow2, E01) or a directory.
    """
    level = verbosity or 0
    ctx.obj = {"verbosity": level}
    logging.basicConfig(
        level={-1: logging.ERROR, 0: logging.WARNING, 1: logging.DEBUG}[level],
        format="patchmortem: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    # dissect logs chatty warnings for every plugin it cannot load; they are not the user's problem.
    if level < 1:
        for name in ("dissect", "dissect.target"):
            logging.getLogger(name).setLevel(logging.ERROR)


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format on stdout.",
)
@parent_option
@handle_errors
def describe(source: Path, fmt: str, parent: Path | None) -> None:
    """Describe an evidence SOURCE: container, disks, volumes, file systems and Windows systems found."""
    from scanner.evidence.source import describe_source

    description = describe_source(source, parent=parent)
    if fmt == "json":
        click.echo(json.dumps(description.to_dict(), indent=2))
    else:
        click.echo(description.to_text())


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: readable tables; json: the documented contract (schemas/inventory.schema.json).",
)
@parent_option
@click.option(
    "--system",
    "system_index",
    type=int,
    default=None,
    help="Volume index of the Windows system to inventory when a disk holds several (see describe).",
)
@click.option(
    "--profiles",
    "profiles_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Knowledge profiles directory (default: the shipped profiles/).",
)
@click.pass_context
@handle_errors
def inventory(
    ctx: click.Context,
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
    from rich.console import Console

    from scanner.pipeline import inventory as run_inventory
    from scanner.report.inventory import inventory_to_dict, print_inventory

    quiet = ctx.find_root().obj.get("verbosity", 0) < 0
    err = Console(stderr=True, quiet=quiet)
    with err.status("working") as status:
        inv = run_inventory(
            source,
            parent=parent,
            system=system_index,
            profiles_dir=profiles_dir,
            progress=lambda message: status.update(message),
        )
    if fmt == "json":
        click.echo(json.dumps(inventory_to_dict(inv), indent=2))
    else:
        # A pipe or file gets every column in full; a terminal gets its own width.
        out = Console() if sys.stdout.isatty() else Console(width=240, no_color=True)
        print_inventory(inv, out)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="patchmortem")
