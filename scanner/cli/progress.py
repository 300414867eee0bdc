"""Progress on stderr: one spinner helper for every command that reads evidence (scan, timeline, diff...).

Why one: the stages report progress as short messages (``progress("reading the registry")``); every command
shows them the same way, on stderr, silenced by ``-q``, never mixed into the report on stdout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from scanner.cli.exits import verbosity

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status


def stderr_console() -> Console:
    """The console for progress and warnings: stderr, quiet under ``-q``."""
    from rich.console import Console

    return Console(stderr=True, quiet=verbosity() < 0)


class Spinner:
    """The callable a stage gets as ``progress``: each message replaces the spinner's text.

    ``label`` (a source, when a command reads several) prefixes every message, so the user sees which
    source the message is about.
    """

    def __init__(self, status: Status, label: str | None = None) -> None:
        self._status = status
        self._label = label

    def __call__(self, message: str) -> None:
        self._status.update(f"{self._label}: {message}" if self._label is not None else message)

    def under(self, label: object) -> Callable[[str], None]:
        """The same spinner, its messages prefixed by ``label`` (one side of a diff)."""
        return Spinner(self._status, str(label))


@contextmanager
def spinner(err: Console, label: object | None = None) -> Iterator[Spinner]:
    """A spinner on ``err``: "working" (``label: working``) until the first message; gone on exit."""
    name = str(label) if label is not None else None
    with err.status(f"{name}: working" if name is not None else "working") as status:
        yield Spinner(status, name)
