"""Component file sets (``profiles/components/*.toml``): which files matter for which OS, and why.

A component names files relative to %SystemRoot%; the pipeline picks the components whose ``applies_to``
versions include the system's ``CurrentVersion`` and hands their paths to the file collector, and their
``folders`` to the folder collector (every PE file there is inventoried, listed or not). Knowledge is data:
adding a component is adding a file, not code.

This module also holds the small TOML toolkit every profile loader shares (:class:`TomlSource`,
:func:`check_table`): tomllib returns plain dicts without positions, so errors are located by finding the
table header or ``key =`` line in the text — a user fixing a typo needs ``file:line``, not a dict path.
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

from scanner.collectors.folder_facts import MAX_DEPTH
from scanner.errors import ProfileError

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


@dataclass(frozen=True)
class ComponentFile:
    path: str  # below %SystemRoot%
    why: str
    optional: bool = False  # a role service that may be absent (e.g. IIS 7+ ISAPI module): absence is normal


@dataclass(frozen=True)
class FolderSpec:
    """A folder the component's files live in (below %SystemRoot%); its PE files are all inventoried.

    ``depth`` subfolder levels are listed too (0: the folder alone; at most
    :data:`scanner.collectors.folder_facts.MAX_DEPTH`). A ``lookup_only`` folder is never listed: a file the
    profile lists that is not at its path is looked for there by name (e.g. ``system32``, too large to list).
    """

    path: str
    why: str
    depth: int = 0
    lookup_only: bool = False


@dataclass(frozen=True)
class Member:
    """A service (short ``name`` + SCM ``display`` name) or a process image that belongs to a component: its
    failures are the component's failures; a failure of anything else is context, never an onset."""

    name: str
    why: str
    display: str | None = None

    def names(self) -> frozenset[str]:
        """Every spelling an event record may use for it, case-folded (SCM writes the display name)."""
        return frozenset(n.casefold() for n in (self.name, self.display) if n)


@dataclass(frozen=True)
class Component:
    id: str
    title: str
    versions: tuple[str, ...]  # OS CurrentVersion values ("5.2") it applies to
    files: tuple[ComponentFile, ...]
    source: str  # the profile file:line, for error messages and provenance
    version_family: str | None = None
    references: tuple[str, ...] = ()
    folders: tuple[FolderSpec, ...] = ()
    services: tuple[Member, ...] = ()  # Windows services that run the component (W3SVC, IISADMIN, WAS...)
    processes: tuple[Member, ...] = ()  # process images that host it (inetinfo.exe, w3wp.exe...)

    def service_names(self) -> frozenset[str]:
        return frozenset().union(*(s.names() for s in self.services))

    def process_names(self) -> frozenset[str]:
        return frozenset().union(*(p.names() for p in self.processes))

    def applies_to(self, os_version: str | None) -> bool:
        if not os_version:
            return False
        major_minor = ".".join(os_version.split(".")[:2])
        return major_minor in self.versions


def default_profiles_dir() -> Path:
    """``profiles/`` of the source checkout, else the copy installed under ``<prefix>/share/patchmortem``."""
    here = Path(__file__).resolve().parents[2] / "profiles"
    if here.is_dir():
        return here
    return Path(sys.prefix) / "share" / "patchmortem" / "profiles"


_COMPONENT = {
    "id": ("str", True),
    "title": ("str", True),
    "applies_to": ("table", True),
    "version_family": ("str", False),
    "files": ("list[table]", True),
    "references": ("list[str]", False),
    "folders": ("list[table]", False),
    "services": ("list[table]", False),
    "processes": ("list[table]", False),
}
_MEMBER = {"name": ("str", True), "why": ("str", True), "display": ("str", False)}
_APPLIES = {"versions": ("list[str]", True)}
_FILE = {"path": ("str", True), "why": ("str", True), "optional": ("bool", False)}
_FOLDER = {
    "path": ("str", True),
    "why": ("str", True),
    "depth": ("int", False),
    "lookup_only": ("bool", False),
}
_FAMILY = re.compile(r"^\d+\.\d+$")


def _component(src: TomlSource, errors: list[str]) -> Component | None:
    raw = src.data
    if not check_table(raw, _COMPONENT, lambda k: src.at(src.key_line(k)), errors, "component"):
        return None
    applies_line = src.at(src.key_line("applies_to"))
    if not check_table(raw["applies_to"], _APPLIES, lambda _k: applies_line, errors, "applies_to"):
        return None
    family = raw.get("version_family")
    if family is not None and not _FAMILY.match(family):
        errors.append(f"{src.at(src.key_line('version_family'))}: version_family must be 'major.minor'")
        return None
    files: list[ComponentFile] = []
    seen: set[str] = set()
    cursor = src.key_line("files")
    for index, entry in enumerate(raw["files"]):
        needle = str(entry.get("path", "{"))
        cursor = src.text_line(needle, cursor)
        where = src.at(cursor)
        if check_table(entry, _FILE, lambda _k, w=where: w, errors, f"files[{index}]"):
            if entry["path"].lower() in seen:
                errors.append(f"{where}: file {entry['path']!r} listed twice")
            seen.add(entry["path"].lower())
            files.append(ComponentFile(entry["path"], entry["why"], bool(entry.get("optional", False))))
        cursor += 1
    folders = _folders(src, raw.get("folders", []), errors)
    services, processes = (_members(src, key, raw.get(key, []), errors) for key in ("services", "processes"))
    return Component(
        id=raw["id"],
        title=raw["title"],
        versions=tuple(raw["applies_to"]["versions"]),
        files=tuple(files),
        source=src.at(src.key_line("id")),
        version_family=family,
        references=tuple(raw.get("references", ())),
        folders=folders,
        services=services,
        processes=processes,
    )


def _members(src: TomlSource, key: str, raw: list[dict[str, Any]], errors: list[str]) -> tuple[Member, ...]:
    """``services`` / ``processes`` entries: a name, an optional display name, a why; no name twice."""
    out: list[Member] = []
    cursor = src.key_line(key)
    for index, entry in enumerate(raw):
        cursor = src.text_line(str(entry.get("name", "{")), cursor)
        where = src.at(cursor)
        if check_table(entry, _MEMBER, lambda _k, w=where: w, errors, f"{key}[{index}]"):
            member = Member(entry["name"], entry["why"], entry.get("display"))
            if member.names() & frozenset().union(*(m.names() for m in out)):
                errors.append(f"{where}: {key[:-1]} {entry['name']!r} listed twice")
            out.append(member)
    return tuple(out)


def _folders(src: TomlSource, raw: list[dict[str, Any]], errors: list[str]) -> tuple[FolderSpec, ...]:
    """The ``folders`` entries: a relative path, a why, a bounded depth (lookup-only folders: none)."""
    folders: list[FolderSpec] = []
    seen: set[str] = set()
    cursor = src.key_line("folders")
    for index, entry in enumerate(raw):
        cursor = src.text_line(str(entry.get("path", "{")), cursor)
        where = src.at(cursor)  # the cursor stays: several entries may share one line
        if not check_table(entry, _FOLDER, lambda _k, w=where: w, errors, f"folders[{index}]"):
            continue
        path, depth, lookup_only = entry["path"], entry.get("depth", 0), bool(entry.get("lookup_only", False))
        parts = [p for p in path.replace("/", "\\").split("\\") if p]
        if not parts or any(p in (".", "..") for p in parts) or ":" in path:
            errors.append(f"{where}: folder {path!r} must be a path below %SystemRoot%")
        elif not 0 <= depth <= MAX_DEPTH:
            errors.append(f"{where}: depth of folder {path!r} must be 0..{MAX_DEPTH} (bounded listing)")
        elif lookup_only and depth:
            errors.append(f"{where}: lookup_only folder {path!r} is never listed, so it takes no depth")
        elif path.lower() in seen:
            errors.append(f"{where}: folder {path!r} listed twice")
        else:
            seen.add(path.lower())
            folders.append(FolderSpec(path, entry["why"], depth, lookup_only))
    return tuple(folders)


def collect_components(profiles_dir: Path | None, errors: list[str]) -> list[Component]:
    """Load every ``components/*.toml``, appending every problem to ``errors`` (``file:line: message``)."""
    folder = (profiles_dir or default_profiles_dir()) / "components"
    components: list[Component] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        src = read_toml(path, errors)
        component = _component(src, errors) if src is not None else None
        if component is None:
            continue
        if component.id in seen:
            first = seen[component.id]
            errors.append(f"{component.source}: component id {component.id!r} already defined at {first}")
            continue
        seen[component.id] = component.source
        components.append(component)
    return components


def declared_component_ids(profiles_dir: Path) -> set[str]:
    """Every component id a file declares, valid or not: a broken component is reported once, by its own
    loader, not again as a dangling reference from an interaction."""
    ids = set()
    for path in sorted((profiles_dir / "components").glob("*.toml")):
        src = read_toml(path, [])
        if src is not None and isinstance(src.data.get("id"), str):
            ids.add(src.data["id"])
    return ids


def load_components(profiles_dir: Path | None = None) -> list[Component]:
    """Load every ``components/*.toml``; raise ProfileError listing all problems found (``file:line``)."""
    errors: list[str] = []
    components = collect_components(profiles_dir, errors)
    if errors:
        raise ProfileError(errors)
    return components
