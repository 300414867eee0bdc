"""Errors the scanner can report to a user, and the process exit code of each.

Every stage raises a :class:`ScannerError` subclass for a condition a user must act on (wrong path, no
Windows on the disk, a broken snapshot chain). Only ``scanner/cli/`` turns them into one line on stderr and an
exit code, so library callers keep full control. The codes are a contract documented in the README table;
add new ones, never renumber.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; each is documented in README.md ("Exit codes")."""

    OK = 0
    USAGE = 2
    SOURCE_NOT_FOUND = 3
    UNSUPPORTED_SOURCE = 4
    NO_WINDOWS = 5
    INCOMPLETE_CHAIN = 6
    PROFILE_ERROR = 7
    OUTPUT_ERROR = 8
    FINDINGS = 10  # scan --fail-on: a finding reached the requested severity
    FLEET_UNREADABLE = 12  # fleet --fail-on unreadable: a source could not be scanned (an error row)
    SCHEDULER_UNREACHABLE = 13  # fleet --scheduler: the Dask scheduler could not be reached
    PREFLIGHT_AT_RISK = 20  # preflight: an update is at risk on at least one server
    PREFLIGHT_UNKNOWN = 21  # preflight: none at risk, but at least one verdict is unknown
    BROKEN_PIPE = 141  # the reader of stdout went away (128 + SIGPIPE), as Unix tools end
    INTERNAL = 70


class ScannerError(Exception):
    """Base class: a problem with the input or environment that the user can fix."""

    exit_code: ExitCode = ExitCode.INTERNAL


class SourceNotFoundError(ScannerError):
    """The evidence path does not exist or cannot be opened for reading."""

    exit_code = ExitCode.SOURCE_NOT_FOUND


class UnsupportedSourceError(ScannerError):
    """The evidence exists but is not a container, disk, volume or directory we can read."""

    exit_code = ExitCode.UNSUPPORTED_SOURCE


class NoWindowsError(ScannerError):
    """The evidence was read but holds no Windows system volume."""

    exit_code = ExitCode.NO_WINDOWS


class IncompleteChainError(ScannerError):
    """A differencing disk's parent is missing or does not match: reading on would return wrong data."""

    exit_code = ExitCode.INCOMPLETE_CHAIN


@dataclass(frozen=True)
class ProfileProblem:
    """One thing wrong in a profile: where it is (file, line, column when known) and what is wrong.

    Why typed: ``patchmortem profiles check`` prints one line per problem and a test or an editor may want
    the file and line; a message joined with others and split again by a regex loses problems whose text
    contains the separator.
    """

    file: str  # the profile file (or the profiles directory); "" when the problem names no place
    line: int | None  # 1-based line in ``file``, None when the problem concerns the whole file
    message: str
    column: int | None = None  # 1-based, when the TOML parser says

    def __str__(self) -> str:
        """``file:line: message``, the form compilers use, which editors and terminals turn into links."""
        where = self.file
        if where and self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        return f"{where}: {self.message}" if where else self.message

    @classmethod
    def from_located(cls, text: str) -> ProfileProblem:
        """One problem the loaders wrote as ``file:line: message`` (``file: message``), read into fields.

        The loaders under ``scanner/knowledge/`` build each problem as one located string while they check a
        file; this reads one such string once, where the error is made, so ``str()`` gives it back unchanged.
        """
        match = _LOCATED.fullmatch(text)
        if match is None:
            return cls("", None, text)
        line = match.group("line")
        return cls(match.group("file"), int(line) if line else None, match.group("message"))


#: ``file:line: message`` or ``file: message``; the file is the shortest prefix (a Windows drive letter's
#: ``C:\`` is not followed by a space, so it never ends the file name).
_LOCATED = re.compile(r"(?P<file>[^\n]+?)(?::(?P<line>\d+))?: (?P<message>.*)", re.DOTALL)


class ProfileError(ScannerError):
    """Knowledge profiles under ``profiles/`` are invalid: every problem found, each with file:line.

    ``problems`` holds them one by one (the CLI prints one line each); ``str()`` is all of them joined by
    ``"; "`` for a one-line error message.
    """

    exit_code = ExitCode.PROFILE_ERROR

    def __init__(self, problems: str | ProfileProblem | Iterable[str | ProfileProblem]) -> None:
        items = [problems] if isinstance(problems, str | ProfileProblem) else list(problems)
        self.problems: tuple[ProfileProblem, ...] = tuple(
            p if isinstance(p, ProfileProblem) else ProfileProblem.from_located(p) for p in items
        )
        super().__init__("; ".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[type[ProfileError], tuple[tuple[ProfileProblem, ...]]]:
        """Pickled whole (fleet workers send errors across processes), problems kept one by one."""
        return (type(self), (self.problems,))


class OutputError(ScannerError):
    """A report could not be written where the user asked."""

    exit_code = ExitCode.OUTPUT_ERROR
