"""What event records mean (``profiles/events/*.toml``): which provider + ID attests an install, a boot, a
failure, and how its insertion strings name the subject.

Knowledge is data, as plaso keeps its event formatters in YAML: a user adds a provider's events by adding an
``[[event]]`` table, not code. Each table has ``id``, ``providers`` (event source / provider names, matched
case-insensitively), ``ids`` (16-bit event IDs), ``role``, ``kind`` (the timeline entry kind), ``subject`` and
``summary`` templates, ``why`` and ``references``. Templates use ``%1``… for insertion strings or EventData
values in order, ``{Name}`` for named EventData values and ``%id`` for the event ID.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from scanner.errors import ProfileError
from scanner.knowledge.components import default_profiles_dir
from scanner.model import EventRecord

#: How the timeline uses a record (see scanner/timeline).
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

    def render(self, template: str, record: EventRecord) -> str:
        """Fill a template from the record; a missing value renders as ``?`` rather than failing."""
        named = {k.lower(): v for k, v in record.data}

        def fill(match: re.Match[str]) -> str:
            if match.group(1) == "id":
                return str(record.event_id)
            if match.group(1):
                index = int(match.group(1)) - 1
                return record.strings[index] if 0 <= index < len(record.strings) else "?"
            return named.get(match.group(2).lower(), "?")

        return _PLACEHOLDER.sub(fill, template).strip()


@dataclass(frozen=True)
class EventCatalog:
    """All event meanings, indexed by (provider, event ID)."""

    meanings: tuple[EventMeaning, ...]

    def __post_init__(self) -> None:
        index: dict[tuple[str, int], EventMeaning] = {}
        for meaning in self.meanings:
            for provider in meaning.providers:
                for event_id in meaning.ids:
                    index.setdefault((provider.lower(), event_id), meaning)
        object.__setattr__(self, "_index", index)

    def meaning(self, provider: str, event_id: int) -> EventMeaning | None:
        index: dict[tuple[str, int], EventMeaning] = self._index  # type: ignore[attr-defined]
        return index.get((provider.lower(), event_id & 0xFFFF))

    def wants(self, provider: str, event_id: int) -> bool:
        """The filter handed to the event collector: keep only records the timeline can explain."""
        return self.meaning(provider, event_id) is not None


def _table_lines(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "[[event]]"]


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
                )
            )
    if errors:
        raise ProfileError("; ".join(errors))
    return EventCatalog(tuple(meanings))
