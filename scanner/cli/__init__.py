"""Command-line interface: parses options, calls the pipeline, picks a report. The only place that exits.

One module per command (describe, inventory, timeline, scan, diff, repro, profiles, schema; fleet and
preflight live with their stages), the shared options in :mod:`scanner.cli.options`, one progress helper in
:mod:`scanner.cli.progress`, where reports go in :mod:`scanner.cli.output`, and the exceptions-to-exit-codes
rule in :mod:`scanner.cli.exits`: every :class:`~scanner.errors.ScannerError` becomes one line on stderr and
its documented exit code; any other exception is a bug and becomes one line plus exit code 70 (``--verbose``
adds the traceback), so a user never sees a raw traceback from bad evidence.

Importing this package stays light: the command group (`app`) loads on first use of `cli` or `main`, and
each command imports the pipeline and its reports when it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scanner.cli.app import cli, main

__all__ = ["cli", "main"]


def __getattr__(name: str) -> Any:
    """``scanner.cli.cli`` and ``scanner.cli.main`` (the console script) load the command group on first use.

    Why lazily: the fleet and preflight commands live in their own packages and import the shared options
    from this one; registering them while this package initialises made importing either of them first a
    circular import.
    """
    if name in __all__:
        from scanner.cli import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
