"""What event records mean (``profiles/events/*.toml``): which provider + ID attests an install, a boot, a
failure, and how its insertion strings name the subject.

Knowledge is data, as plaso keeps its event formatters in YAML: a user adds a provider's events by adding an
``[[event]]`` table, not code. Each table has ``id``, ``providers`` (event source / provider names, matched
case-insensitively), ``ids`` (16-bit event IDs), ``role``, ``kind`` (the timeline entry kind), ``subject`` and
``summary`` templates, ``why`` and ``references``. Templates use ``%1``… for insertion strings or EventData
values in order, ``{Name}`` for named EventData values and ``%id`` for the event ID.

Optional keys (issue 13: interpretation lands in typed fields, and the profile says where it is):

- ``titles``: the template of the insertion string that holds an update title or a title *list* (Windows
  Update events 17-22: ``"\\n- Title one\\n- Title two"``). Every KB/Q id a title names is attested by the
  record (one observation per id); ``subject`` is then only for people. Without it, ``subject`` names the
  update.
- ``sp``: the template of the string naming a service pack (6009's ``%3``, CSDVersion): the observation's
  typed ``sp_level``. An empty string there means no service pack (RTM: the Event Log service writes "" when
  CSDVersion is absent); a missing string means unknown.
- ``component``: the component a failure belongs to (``iis``, ``asp``, ``aspnet``, ``http``, ``os``...), so
  later stages can tell the web server's failures from unrelated ones. Empty when the event says nothing
  about the component (an application crash names its process instead).
- ``details``: a table of detail name -> template (``module = "%4"``): values kept for people, next to
  ``subject``; empty or missing values are left out.
- ``min_strings`` / ``max_strings``: the insertion-string counts this layout applies to. One provider + ID
  may have several layouts (Application Error 1000: 5 strings on XP/2003, 12+ on Vista and later); the
  first table whose range holds the record's count explains it.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from scanner.errors import ProfileError
from scanner.knowledge.components import default_profiles_dir
from scanner.model import EventRecord

#: How the timeline uses a record (see scanner/timeline/observe_events.py). ``scheduled`` records (updates
#: downloaded and waiting, Windows Update 17/18) attest no install and make no observation: an install the
#: server never reached must not appear as done.
ROLES = frozenset(
    {
        "install",
        "install-failed",
        "reboot-required",
        "uninstall",
        "package-start",
        "package-state",
        "boot",
        "boot-logged",
        "shutdown",
        "unexpected-shutdown",
        "failure",
        "install-start",
        "scheduled",
    }
)
_REQUIRED = ("id", "providers", "ids", "role", "kind", "subject", "summary", "why")
_PLACEHOLDER = re.compile(r"%(\d+|id)|\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class EventMeaning:
    """One ``[[event]]`` table: what records of these providers and IDs mean."""

    id: str
    providers: tuple[str, ...]
    ids: tuple[int, ...]
    role: str
    kind: str
    subject: str
    summary: str
    why: str
    references: tuple[str, ...]
    source: str  # profile file:line
    titles: str = ""
    sp: str = ""
    component: str = ""
    details: tuple[tuple[str, str], ...] = ()
    min_strings: int = 0
    max_strings: int | None = None

    def render(self, template: str, record: EventRecord) -> str:
        """Fill a template from the record; a missing value renders as ``?`` rather than failing."""
        return _fill(template, record, "?").strip()

    def value(self, template: str, record: EventRecord) -> str | None:
        """Fill a template, or None when any value it names is absent from the record (never a default)."""
        missing: list[str] = []
        text = _fill(template, record, None, missing)
        return None if missing else text

    def fits(self, record: EventRecord) -> bool:
        """This layout applies to the record's insertion-string count."""
        count = len(record.strings)
        return count >= self.min_strings and (self.max_strings is None or count <= self.max_strings)


def _fill(template: str, record: EventRecord, absent: str | None, missing: list[str] | None = None) -> str:
    named = {k.lower(): v for k, v in record.data}

    def fill(match: re.Match[str]) -> str:
        if match.group(1) == "id":
            return str(record.event_id)
        if match.group(1):
            index = int(match.group(1)) - 1
            if 0 <= index < len(record.strings):
                return record.strings[index]
        elif match.group(2).lower() in named:
            return named[match.group(2).lower()]
        if missing is not None:
            missing.append(match.group(0))
        return absent or ""

    return _PLACEHOLDER.sub(fill, template)


@dataclass(frozen=True)
class EventCatalog:
    """All event meanings, indexed by (provider, event ID)."""

    meanings: tuple[EventMeaning, ...]

    def __post_init__(self) -> None:
        index: dict[tuple[str, int], list[EventMeaning]] = {}
        for meaning in self.meanings:
            for provider in meaning.providers:
                for event_id in meaning.ids:
                    index.setdefault((provider.lower(), event_id), []).append(meaning)
        object.__setattr__(self, "_index", index)

    def meaning(self, provider: str, event_id: int) -> EventMeaning | None:
        """The first layout declared for this provider and ID (any string count)."""
        index: dict[tuple[str, int], list[EventMeaning]] = self._index  # type: ignore[attr-defined]
        found = index.get((provider.lower(), event_id & 0xFFFF))
        return found[0] if found else None

    def explain(self, record: EventRecord) -> EventMeaning | None:
        """The layout that explains this record: the first whose string-count range holds it."""
        index: dict[tuple[str, int], list[EventMeaning]] = self._index  # type: ignore[attr-defined]
        found = index.get((record.provider.lower(), record.event_id & 0xFFFF), [])
        return next((m for m in found if m.fits(record)), None)

    def wants(self, provider: str, event_id: int) -> bool:
        """The filter handed to the event collector: keep only records the timeline can explain."""
        return self.meaning(provider, event_id) is not None


def _table_lines(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "[[event]]"]


_OPTIONAL = ("references", "titles", "sp", "component", "details", "min_strings", "max_strings")


def _optional_problem(table: dict[str, object]) -> str | None:
    """What is wrong with the optional keys, if anything (a misspelt key is an error, never ignored)."""
    for key in table:
        if key not in _REQUIRED and key not in _OPTIONAL:
            close = difflib.get_close_matches(key, (*_REQUIRED, *_OPTIONAL), n=1)
            return f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    for key in ("titles", "sp", "component"):
        if key in table and not isinstance(table[key], str):
            return f"{key} must be a string"
    details = table.get("details", {})
    if not isinstance(details, dict) or not all(isinstance(v, str) for v in details.values()):
        return "details must be a table of name = template strings"
    for key in ("min_strings", "max_strings"):
        value = table.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            return f"{key} must be a non-negative integer"
    return None


def load_event_catalog(profiles_dir: Path | None = None) -> EventCatalog:
    """Load every ``events/*.toml``; raise :class:`ProfileError` listing every problem with file:line."""
    folder = (profiles_dir or default_profiles_dir()) / "events"
    errors: list[str] = []
    meanings: list[EventMeaning] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            text = path.read_text(encoding="utf-8")
            raw = tomllib.loads(text)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            errors.append(f"{path}: {exc}")
            continue
        lines = _table_lines(text)
        for index, table in enumerate(raw.get("event", [])):
            where = f"{path}:{lines[index] if index < len(lines) else 1}"
            missing = [k for k in _REQUIRED if k not in table]
            if missing:
                errors.append(f"{where}: missing {', '.join(missing)}")
                continue
            if table["role"] not in ROLES:
                errors.append(f"{where}: unknown role {table['role']!r} (known: {', '.join(sorted(ROLES))})")
                continue
            ids = table["ids"]
            if not isinstance(ids, list) or not all(isinstance(i, int) and 0 <= i <= 0xFFFF for i in ids):
                errors.append(f"{where}: ids must be a list of 16-bit event IDs")
                continue
            problem = _optional_problem(table)
            if problem:
                errors.append(f"{where}: {problem}")
                continue
            if table["id"] in seen:
                errors.append(f"{where}: id {table['id']!r} already defined at {seen[table['id']]}")
                continue
            seen[table["id"]] = where
            meanings.append(
                EventMeaning(
                    id=str(table["id"]),
                    providers=tuple(str(p) for p in table["providers"]),
                    ids=tuple(ids),
                    role=str(table["role"]),
                    kind=str(table["kind"]),
                    subject=str(table["subject"]),
                    summary=str(table["summary"]),
                    why=str(table["why"]),
                    references=tuple(str(r) for r in table.get("references", [])),
                    source=where,
                    titles=str(table.get("titles", "")),
                    sp=str(table.get("sp", "")),
                    component=str(table.get("component", "")),
                    details=tuple((str(k), str(v)) for k, v in table.get("details", {}).items()),
                    min_strings=int(table.get("min_strings", 0)),
                    max_strings=table.get("max_strings"),
                )
            )
    if errors:
        raise ProfileError(errors)
    return EventCatalog(tuple(meanings))
