"""The options several commands share, declared once: same names, same help, same meaning everywhere.

A command stacks the ones it takes (``@parent_option``, ``@profiles_option``...) in the order its help lists
them; ``format_option`` builds ``--format`` from the command's ``FORMATS`` table, so the choices offered are
exactly the writers that exist.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

#: The evidence a command reads: an image, a split set's first segment, a directory.
source_argument = click.argument("source", type=click.Path(path_type=Path))

#: Shared by every command that opens evidence.
parent_option = click.option(
    "--parent",
    type=click.Path(path_type=Path),
    default=None,
    help="Parent disk of a legacy VHD differencing disk (.avhd), if its locators do not find it.",
)
system_option = click.option(
    "--system",
    "system_index",
    type=int,
    default=None,
    help="Volume index of the Windows system to read when a disk holds several (see describe).",
)
output_option = click.option(
    "--output",
    "output",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    default=None,
    help="Write to this file instead of stdout ('-' is stdout).",
)
profiles_option = click.option(
    "--profiles",
    "profiles_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Knowledge profiles directory (default: the shipped profiles/).",
)


def format_option(formats: Iterable[str], help: str) -> Callable[[F], F]:  # noqa: A002 - click's name
    """``--format``: one of ``formats`` (a command's FORMATS keys, the first the default) into ``fmt``."""
    choices = list(formats)
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default=choices[0], show_default=True, help=help
    )


def set_diagnostics(level: int) -> None:
    """Apply a diagnostics level (-1 quiet, 0 normal, 1 verbose) to logging on stderr."""
    logging.basicConfig(format="patchmortem: %(levelname)s: %(message)s", stream=sys.stderr)
    logging.getLogger().setLevel({-1: logging.ERROR, 0: logging.WARNING, 1: logging.DEBUG}[level])
    # dissect logs chatty warnings for every plugin it cannot load (with tracebacks for optional loaders at
    # INFO level); they are not the user's problem, even with --verbose.
    for name in ("dissect", "dissect.target"):
        logging.getLogger(name).setLevel(logging.ERROR if level < 1 else logging.WARNING)


def _diagnostics_callback(ctx: click.Context, _param: click.Parameter, value: int | None) -> None:
    """``-v``/``-q`` after a subcommand mean what they mean before it: stderr diagnostics, never report
    detail (that is ``scan --detail``)."""
    if value is None or ctx.resilient_parsing:
        return
    root = ctx.find_root()
    root.obj = {**(root.obj or {}), "verbosity": value}
    set_diagnostics(value)


def diagnostics_options(func: F) -> F:
    """``-v/--verbose`` and ``-q/--quiet``, accepted after every subcommand as well as before it."""
    func = click.option(
        "-q", "--quiet", "quiet_flag", flag_value=-1, default=None, expose_value=False, is_eager=True,
        callback=_diagnostics_callback, help="Only errors on stderr (same as before the command).",
    )(func)
    return click.option(
        "-v", "--verbose", "verbose_flag", flag_value=1, default=None, expose_value=False, is_eager=True,
        callback=_diagnostics_callback,
        help="Progress and debug detail on stderr, and a traceback for internal errors (same as before the "
        "command).",
    )(func)


#: ``scan --fail-on``: a script's way to act on the verdict without parsing the report.
fail_on_option = click.option(
    "--fail-on",
    "fail_on",
    type=click.Choice(["warning", "critical"]),
    default=None,
    help="Exit 10 (after writing the report) when a finding is at least this severe: for scripts and fleets.",
)
