"""The small TOML toolkit every profile loader shares: a parsed file that can say ``file:line``.

tomllib returns plain dicts without positions, so errors are located by finding the table header or
``key =`` line in the text (:class:`TomlSource`): a user fixing a typo needs ``file:line``, not a dict path.
:func:`check_table` checks one table's keys and value kinds and gathers every problem before failing.
"""

from __future__ import annotations

import difflib
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-]+)\s*\]\]?\s*(?:#.*)?$")
_AT_LINE = re.compile(r"\(at line (\d+), column \d+\)")


@dataclass(frozen=True)
class TomlSource:
    """One profile file: its text (for line numbers) and its parsed content."""

    path: Path
    text: str
    data: dict[str, Any]

    def _lines(self) -> list[str]:
        return self.text.splitlines()

    def _headers(self) -> list[tuple[int, str]]:
        found = []
        for number, line in enumerate(self._lines(), 1):
            match = _HEADER.match(line)
            if match:
                found.append((number, match.group(1)))
        return found

    def table_line(self, name: str, index: int) -> int:
        """Line of the ``index``-th ``[[name]]`` header (1 when it cannot be found)."""
        lines = [number for number, header in self._headers() if header == name]
        return lines[index] if 0 <= index < len(lines) else 1

    def key_line(self, key: str, table: str | None = None, index: int = 0) -> int:
        """Line of ``key =`` at top level (``table`` None) or inside the ``index``-th ``[[table]]``."""
        headers = self._headers()
        start = 1 if table is None else self.table_line(table, index)
        later = [number for number, _ in headers if number > start]
        end = later[0] if later else len(self._lines()) + 1
        if table is None:
            end = headers[0][0] if headers else end
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number, line in enumerate(self._lines()[start - 1 : end - 1], start):
            if pattern.match(line):
                return number
        return start

    def text_line(self, needle: str, after: int = 1) -> int:
        """First line at or after ``after`` containing ``needle`` (``after`` when absent)."""
        for number, line in enumerate(self._lines()[after - 1 :], after):
            if needle in line:
                return number
        return after

    def at(self, line: int) -> str:
        return f"{self.path}:{line}"


def read_toml(path: Path, errors: list[str]) -> TomlSource | None:
    """Parse one profile; a syntax error becomes ``path:line: message`` in ``errors`` and None."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(f"{path}:1: cannot read: {exc}")
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _AT_LINE.search(message)
        line = int(match.group(1)) if match else 1
        errors.append(f"{path}:{line}: TOML syntax error: {_AT_LINE.sub('', message).strip()}")
        return None
    return TomlSource(path, text, data)


#: Value kinds :func:`check_table` knows: a TOML ``int`` is never a ``bool`` here.
_KINDS = {
    "str": lambda v: isinstance(v, str) and v.strip() != "",
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "table": lambda v: isinstance(v, dict),
    "list[str]": lambda v: isinstance(v, list) and all(isinstance(i, str) and i.strip() for i in v),
    "list[int]": lambda v: isinstance(v, list) and all(type(i) is int for i in v),
    "list[table]": lambda v: isinstance(v, list) and all(isinstance(i, dict) for i in v),
    # remediation steps: strings or {text, when} tables (scanner.knowledge.steps checks each item)
    "steps": lambda v: isinstance(v, list) and all(isinstance(i, (str, dict)) for i in v),
}
_KIND_TEXT = {
    "str": "a non-empty string",
    "int": "an integer",
    "bool": "true or false",
    "table": "a table",
    "list[str]": "a list of non-empty strings",
    "list[int]": "a list of integers",
    "list[table]": "a list of tables",
    "steps": "a list of step templates (strings or { text, when } tables)",
}


def check_table(
    table: Mapping[str, Any],
    spec: Mapping[str, tuple[str, bool]],
    line_of: Any,
    errors: list[str],
    what: str,
) -> bool:
    """Check one table against ``spec`` ({key: (kind, required)}); append ``file:line`` errors.

    ``line_of(key)`` returns the ``path:line`` prefix for a key (the table's header when the key is absent).
    Unknown keys are errors with a "did you mean" hint: a misspelt optional key would otherwise be silently
    ignored and its default used. Returns True when the table is usable.
    """
    ok = True
    for key in table:
        if key not in spec:
            close = difflib.get_close_matches(key, list(spec), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(sorted(spec))})"
            errors.append(f"{line_of(key)}: unknown key {key!r} in {what}{hint}")
            ok = False
    for key, (kind, required) in spec.items():
        if key not in table:
            if required:
                errors.append(f"{line_of(key)}: {what} is missing {key!r}")
                ok = False
            continue
        if not _KINDS[kind](table[key]):
            errors.append(f"{line_of(key)}: {key!r} in {what} must be {_KIND_TEXT[kind]}")
            ok = False
    return ok


def default_profiles_dir() -> Path:
    """``profiles/`` of the source checkout, else the copy installed under ``<prefix>/share/patchmortem``."""
    here = Path(__file__).resolve().parents[2] / "profiles"
    if here.is_dir():
        return here
    return Path(sys.prefix) / "share" / "patchmortem" / "profiles"


def value_tables(
    path: Path, kinds: Mapping[str, str], errors: list[str], *, needed_for: str
) -> tuple[TomlSource, dict[str, Any]] | None:
    """Read a profile of named tables, each one ``value`` of its kind and the ``why`` behind it.

    ``episodes.toml`` and ``windows.toml`` have this shape: every number a decision uses sits beside the
    reason for it. Every problem goes to ``errors`` (``file:line``); a missing file says what it is
    ``needed_for``. Returns the parsed file and the values that passed their own checks (the caller checks
    ranges and compares ``len(errors)``), or None when the file is missing or unparsable.
    """
    if not path.is_file():
        errors.append(f"{path}:1: missing: {needed_for}")
        return None
    src = read_toml(path, errors)
    if src is None:
        return None
    check_table(
        src.data,
        {name: ("table", True) for name in kinds},
        lambda k: src.at(src.key_line(k)),
        errors,
        path.name,
    )
    values: dict[str, Any] = {}
    for name, kind in kinds.items():
        table = src.data.get(name)
        if not isinstance(table, dict):
            continue
        line_of = lambda k, n=name: src.at(src.key_line(k, n))  # noqa: E731 - the key's own line
        if check_table(table, {"value": (kind, True), "why": ("str", True)}, line_of, errors, f"[{name}]"):
            values[name] = table["value"]
    return src, values
