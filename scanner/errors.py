"""Errors the scanner can report to a user, and the process exit code of each.

Every stage raises a :class:`ScannerError` subclass for a condition a user must act on (wrong path, no
Windows on the disk, a broken snapshot chain). Only ``cli.py`` turns them into one line on stderr and an exit
code, so library callers keep full control. The codes are a contract documented in the README table; add new
ones, never renumber.
"""

from __future__ import annotations

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


class ProfileError(ScannerError):
    """A knowledge profile under ``profiles/`` is invalid (reported with file:line)."""

    exit_code = ExitCode.PROFILE_ERROR


class OutputError(ScannerError):
    """A report could not be written where the user asked."""

    exit_code = ExitCode.OUTPUT_ERROR
