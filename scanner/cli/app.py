"""The ``patchmortem`` click group, its entry point, and every command registered on it.

Apart from the package's ``__init__`` so that importing a piece of the CLI plumbing (``scanner.cli.options``
from ``scanner/fleet/command.py``) does not register the commands, which import that plumbing themselves:
the registration runs once, when ``scanner.cli.cli`` or ``scanner.cli.main`` is first used.
"""

from __future__ import annotations

import io
import sys

import click

from scanner import __version__
from scanner.cli.exits import fail, quiet_broken_pipe
from scanner.cli.options import set_diagnostics
from scanner.errors import ExitCode


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
    set_diagnostics(level)


def main() -> None:
    """Console-script entry point.

    A report written to a stream that cannot encode its characters (``PYTHONIOENCODING=ascii``, a legacy
    code page) shows them as ``\\uXXXX`` instead of dying mid-report with a UnicodeEncodeError.
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    try:
        try:
            cli.main(prog_name="patchmortem", standalone_mode=False)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            fail("interrupted", ExitCode.INTERNAL)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        sys.stdout.flush()  # the last buffered bytes: a reader gone by now is a broken pipe too
    except BrokenPipeError:
        quiet_broken_pipe()


def _register() -> None:
    """Every command, in the order the README presents them; fleet and preflight (issue 17) live with their
    stages and import the shared options from this package, so they are imported after it is set up."""
    from scanner.cli import describe, diff, inventory, profiles, repro, scan, schema, timeline
    from scanner.fleet.command import fleet_command
    from scanner.preflight.command import preflight

    for command in (
        describe.describe, inventory.inventory, timeline.timeline, scan.scan, diff.diff, repro.repro,
        profiles.profiles, schema.schema, fleet_command, preflight,
    ):
        cli.add_command(command)


_register()
