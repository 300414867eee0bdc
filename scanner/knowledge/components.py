"""Component file sets (``profiles/components/*.toml``): which files matter for which OS, and why.

A component names files relative to %SystemRoot%; the pipeline picks the components whose ``applies_to``
versions include the system's ``CurrentVersion`` and hands their paths to the file collector, and their
``folders`` to the folder collector (every PE file there is inventoried, listed or not). Knowledge is data:
adding a component is adding a file, not code.

The TOML toolkit every profile loader shares lives in :mod:`scanner.knowledge.tomlfile`; its names are
imported here too, where the loaders have always found them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.errors import ProfileError
from scanner.knowledge.tomlfile import TomlSource, check_table, default_profiles_dir, read_toml

__all__ = [  # the toolkit's names are imported from here by the other loaders (tomlfile.py defines them)
    "Component",
    "ComponentFile",
    "FolderSpec",
    "Member",
    "TomlSource",
    "check_table",
    "collect_components",
    "default_profiles_dir",
    "load_components",
    "read_toml",
]

MAX_DEPTH = 3  # subfolder levels a profile may ask for (the folder collector lists no deeper)


@dataclass(frozen=True)
class ComponentFile:
    path: str  # below %SystemRoot%
    why: str
    optional: bool = False  # a role service that may be absent (e.g. IIS 7+ ISAPI module): absence is normal


@dataclass(frozen=True)
class FolderSpec:
    """A folder the component's files live in (below %SystemRoot%); its PE files are all inventoried.

    ``depth`` subfolder levels are listed too (0: the folder alone; at most
    :data:`MAX_DEPTH`). A ``lookup_only`` folder is never listed: a file the
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


def collect_components(
    profiles_dir: Path | None, errors: list[str], declared: set[str] | None = None
) -> list[Component]:
    """Load every ``components/*.toml``, appending every problem to ``errors`` (``file:line: message``).

    ``declared`` (when given) receives every id a file declares, valid or not: a broken component is
    reported once, by this loader, not again as a dangling reference from a rule or an interaction. It is
    filled here, from the same parse, so each file is read once per load.
    """
    folder = (profiles_dir or default_profiles_dir()) / "components"
    components: list[Component] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        src = read_toml(path, errors)
        if src is not None and declared is not None and isinstance(src.data.get("id"), str):
            declared.add(src.data["id"])
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


def load_components(profiles_dir: Path | None = None) -> list[Component]:
    """Load every ``components/*.toml``; raise ProfileError listing all problems found (``file:line``)."""
    errors: list[str] = []
    components = collect_components(profiles_dir, errors)
    if errors:
        raise ProfileError(errors)
    return components
