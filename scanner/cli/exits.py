"""The only place exceptions become an exit: one line on stderr and a documented code (README "Exit codes").

Every :class:`~scanner.errors.ScannerError` becomes ``patchmortem: error: <message>`` and its exit code; any
other exception is a bug and becomes one line plus exit code 70 (``--verbose`` adds the traceback), so a user
never sees a raw traceback from bad evidence. A reader that went away (``| head``) ends quietly with 141.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar

import click

from scanner.errors import ExitCode, ScannerError

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: ExitCode) -> NoReturn:
    """One ``patchmortem: error:`` line on stderr, then exit with ``code``."""
    click.echo(f"patchmortem: error: {message}", err=True)
    sys.exit(int(code))


def verbosity() -> int:
    """The diagnostics level of this run (-1 quiet, 0 normal, 1 verbose), 0 outside a click context."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return 0
    obj = ctx.find_root().obj
    return int(obj.get("verbosity", 0)) if obj else 0


def handle_errors(func: F) -> F:
    """Turn scanner errors into one stderr line + exit code; never let a traceback escape."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ScannerError as exc:
            fail(str(exc), exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            quiet_broken_pipe()
        except KeyboardInterrupt:
            fail("interrupted", ExitCode.INTERNAL)
        except Exception as exc:  # noqa: BLE001 - last line of defence, reported as a bug
            if verbosity() > 0:
                traceback.print_exc()
            fail(f"internal error ({type(exc).__name__}: {exc}); please report it", ExitCode.INTERNAL)

    return wrapper  # type: ignore[return-value]


def quiet_broken_pipe() -> NoReturn:
    """``patchmortem timeline X | head -1``: the reader went away; end quietly, as Unix tools do.

    Python would print an "Exception ignored … BrokenPipeError" when it flushes stdout at exit; pointing
    stdout at /dev/null first keeps that flush silent (the recipe in the ``signal`` module's documentation).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(int(ExitCode.BROKEN_PIPE))
