"""Read a saved scan JSON for ``diff``: bounded, checked against the contract's major version.

A saved scan is evidence too (it may have been edited or truncated), so it is read with a size limit and
rejected with one clear line — exit code 4, "not something patchmortem can open" — when it is not a scan
JSON of schema 1.x (README "Exit codes"); a missing file is exit code 3 like any missing source.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scanner.errors import ExitCode, ScannerError, SourceNotFoundError, UnsupportedSourceError

#: A fixture's scan JSON is ~100 kB; years of hourly traffic on a busy server a few MB. Far above both.
MAX_SCAN_JSON_BYTES = 256 * 1024 * 1024

#: Keys a document must have to be a scan JSON (the scan contract's first keys; an inventory JSON lacks the
#: timeline, findings and diagnosis).
REQUIRED_KEYS = ("schema_version", "system", "updates", "files", "timeline", "findings", "diagnosis")


class NoParentError(ScannerError):
    """``diff`` with one argument on a source that is not a differencing disk: there is nothing to compare."""

    exit_code = ExitCode.USAGE


def is_scan_json_path(path: Path) -> bool:
    """A side given as a ``.json`` file is a saved scan; anything else is evidence to scan."""
    return path.suffix.lower() == ".json"


def load_scan_json(path: Path) -> dict[str, Any]:
    """The scan JSON in ``path`` as a dict, or a :class:`ScannerError` saying in one line why not."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise UnsupportedSourceError(f"{path} is not a file")
        if size > MAX_SCAN_JSON_BYTES:
            raise UnsupportedSourceError(
                f"{path} is {size} bytes: larger than any scan JSON ({MAX_SCAN_JSON_BYTES})"
            )
        with path.open("rb") as handle:
            data = json.loads(handle.read(MAX_SCAN_JSON_BYTES + 1))
    except FileNotFoundError:
        raise SourceNotFoundError(f"{path}: no such file or directory") from None
    except OSError as exc:
        raise SourceNotFoundError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UnsupportedSourceError(f"{path} is not valid JSON ({first})") from None
    if not isinstance(data, dict):
        raise UnsupportedSourceError(f"{path} is not a patchmortem scan JSON (not a JSON object)")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise UnsupportedSourceError(
            f"{path} is not a patchmortem scan JSON (no {', '.join(missing)}); write one with "
            "'patchmortem scan SOURCE --format json'"
        )
    version = data["schema_version"]
    if not isinstance(version, str) or version.split(".")[0] != "1":
        raise UnsupportedSourceError(
            f"{path} is a scan JSON of schema_version {str(version)[:20]!r}; this patchmortem reads 1.x"
        )
    return data
