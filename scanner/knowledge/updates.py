"""Update profiles (``profiles/updates/*.toml``): what an update requires and what it touches.

``patchmortem preflight`` answers "will this update break this server?" before it is installed. That needs
facts about the update itself — the product and service-pack range it was built for (an installer refuses a
fix whose SP is older than the system's, Q238552, and a fix forced below the SP it needs is Q281402's first
cause), the components it patches (KB973917 patches IIS 6, whose files KB2009746 says must all be at SP2),
the file versions it installs per branch, and the updates it supersedes. Those are knowledge, kept as data
with a ``why`` per fact, not code. A fact the profile marks ``confirmed = false`` is shown to a reader but
never decides a verdict; a value nobody confirmed is left out (an absent file list is allowed), never guessed.

The loader checks what a user editing a profile can get wrong: ids normalised as the collectors normalise
them (:func:`scanner.model.update_ids.normalise_update_id`), OS and component ids that exist, a
component that belongs to the OS named, SP levels the OS profile defines, versions that parse, branches the
OS profile knows.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.knowledge.components import Component, TomlSource, check_table, read_toml
from scanner.knowledge.os import BRANCHES, OsProfile
from scanner.knowledge.versions import FileVersion
from scanner.model.update_ids import normalise_update_id

ARCHITECTURES = frozenset({"x86", "x64", "ia64"})


@dataclass(frozen=True)
class UpdateFile:
    """A file the update installs on one OS: its path below %SystemRoot% and the version it brings."""

    path: str  # below %SystemRoot%, e.g. system32\inetsrv\infocomm.dll
    version: FileVersion
    why: str  # where the version comes from
    branch: str | None = None  # "gdr" | "qfe" | "ldr" | "baseline": the branch this binary belongs to
    service_pack: int | None = None  # the SP level this binary is for (a package carries one per SP)
    confirmed: bool = True


@dataclass(frozen=True)
class UpdateApplicability:
    """One OS the update was built for: the SP range, the components it patches, the files it installs."""

    os: str  # OS profile id, e.g. "windows-2003"
    components: tuple[str, ...]  # component ids it patches (may be empty: an OS-core fix)
    why: str  # the source of the OS / SP facts
    min_service_pack: int | None = None  # the lowest SP level it installs on; None = not known
    max_service_pack: int | None = None  # the highest SP it was built for (a later SP holds it); None = any
    architectures: tuple[str, ...] = ()  # empty = not restricted / not known
    files: tuple[UpdateFile, ...] = ()  # empty = not known (see files_note), never a guess
    files_note: str = ""  # why the file list is absent or partial
    confirmed: bool = True  # False: the SP range is believed, not confirmed; it never decides a verdict
    source: str = ""  # profile file:line


@dataclass(frozen=True)
class UpdateProfile:
    """``profiles/updates/<id>.toml``: one update (hotfix, security update, non-security update)."""

    id: str  # normalised: "KB973917", "Q811114"
    title: str
    applies: tuple[UpdateApplicability, ...]
    supersedes: tuple[str, ...] = ()  # normalised ids this update replaces
    references: tuple[str, ...] = ()
    source: str = ""

    def for_os(self, os_id: str | None) -> UpdateApplicability | None:
        """The entry for one OS profile id, or None when the update was not built for it."""
        return next((a for a in self.applies if a.os == os_id), None)

    @property
    def components(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for a in self.applies for c in a.components))


_UPDATE = {
    "id": ("str", True),
    "title": ("str", True),
    "applies": ("list[table]", True),
    "supersedes": ("list[str]", False),
    "references": ("list[str]", True),
}
_APPLIES = {
    "os": ("str", True),
    "components": ("list[str]", True),
    "why": ("str", True),
    "min_service_pack": ("int", False),
    "max_service_pack": ("int", False),
    "architectures": ("list[str]", False),
    "files": ("list[table]", False),
    "files_note": ("str", False),
    "confirmed": ("bool", False),
}
_FILE = {
    "path": ("str", True),
    "version": ("str", True),
    "why": ("str", True),
    "branch": ("str", False),
    "service_pack": ("int", False),
    "confirmed": ("bool", False),
}


def _normalised(value: str, where: str, what: str, errors: list[str]) -> str | None:
    canonical = normalise_update_id(value)
    if canonical is None:
        errors.append(f"{where}: {what} {value!r} is not an update id (KBnnnnnn or Qnnnnnn)")
        return None
    if canonical != value:
        errors.append(f"{where}: {what} {value!r} is not normalised (write {canonical!r})")
        return None
    return canonical


class _Checker:
    """One profile file's checks, with the OS profiles and component ids they resolve against."""

    def __init__(
        self, src: TomlSource, os_profiles: dict[str, OsProfile], components: dict[str, Component],
        declared: Collection[str], errors: list[str],
    ) -> None:
        self.src, self.os_profiles, self.components, self.errors = src, os_profiles, components, errors
        self.declared = declared

    def at(self, key: str, table: str | None = None, index: int = 0) -> str:
        return self.src.at(self.src.key_line(key, table, index))

    def profile(self) -> UpdateProfile | None:
        raw = self.src.data
        if not check_table(raw, _UPDATE, lambda k: self.at(k), self.errors, "update"):
            return None
        before = len(self.errors)
        update_id = _normalised(raw["id"], self.at("id"), "id", self.errors)
        supersedes = [_normalised(s, self.at("supersedes"), "superseded id", self.errors)
                      for s in raw.get("supersedes", [])]
        if update_id is not None and update_id in supersedes:
            self.errors.append(f"{self.at('supersedes')}: {update_id} cannot supersede itself")
        applies = [self.applies(table, index) for index, table in enumerate(raw["applies"])]
        seen: set[str] = set()
        for index, entry in enumerate(applies):
            if entry is not None and entry.os in seen:
                self.errors.append(f"{self.at('os', 'applies', index)}: OS {entry.os!r} listed twice")
            seen.add(entry.os if entry is not None else "")
        if len(self.errors) > before or update_id is None:
            return None
        return UpdateProfile(
            id=update_id,
            title=raw["title"],
            applies=tuple(a for a in applies if a is not None),
            supersedes=tuple(s for s in supersedes if s),
            references=tuple(raw["references"]),
            source=self.at("id"),
        )

    def applies(self, table: dict[str, Any], index: int) -> UpdateApplicability | None:
        def where(key: str) -> str:
            return self.at(key, "applies", index)

        if not check_table(table, _APPLIES, where, self.errors, f"[[applies]] #{index + 1}"):
            return None
        before = len(self.errors)
        os = self.os_profiles.get(table["os"])
        if os is None:
            known = ", ".join(sorted(self.os_profiles))
            self.errors.append(f"{where('os')}: unknown OS profile {table['os']!r} (known: {known})")
        for name in table["components"]:
            component = self.components.get(name)
            if component is None and name in self.declared:
                continue  # a broken component file: its own loader reports it
            if component is None:
                self.errors.append(f"{where('components')}: unknown component {name!r} (no components/ file)")
            elif os is not None and not set(component.versions) & set(os.versions):
                self.errors.append(
                    f"{where('components')}: component {name!r} does not apply to {os.id} "
                    f"(its applies_to.versions: {', '.join(component.versions)})"
                )
        levels = {sp.level for sp in os.service_packs} if os is not None else set()
        low, high = table.get("min_service_pack"), table.get("max_service_pack")
        for key, level in (("min_service_pack", low), ("max_service_pack", high)):
            if level is not None and os is not None and level not in levels:
                self.errors.append(
                    f"{where(key)}: {os.id} has no service-pack level {level} "
                    f"(levels: {', '.join(str(n) for n in sorted(levels))})"
                )
        if low is not None and high is not None and low > high:
            self.errors.append(f"{where('max_service_pack')}: max_service_pack {high} is below {low}")
        bad_arch = sorted(set(table.get("architectures", [])) - ARCHITECTURES)
        if bad_arch:
            self.errors.append(f"{where('architectures')}: unknown architecture(s) {', '.join(bad_arch)} "
                               f"(known: {', '.join(sorted(ARCHITECTURES))})")
        files = self.files(table.get("files", []), os, self.src.table_line("applies", index), (low, high))
        if len(self.errors) > before or files is None:
            return None
        return UpdateApplicability(
            os=table["os"],
            components=tuple(table["components"]),
            why=table["why"],
            min_service_pack=low,
            max_service_pack=high,
            architectures=tuple(table.get("architectures", ())),
            files=files,
            files_note=table.get("files_note", ""),
            confirmed=table.get("confirmed", True),
            source=self.src.at(self.src.table_line("applies", index)),
        )

    def files(
        self, raw: Iterable[dict[str, Any]], os: OsProfile | None, after: int,
        span: tuple[int | None, int | None],
    ) -> tuple[UpdateFile, ...] | None:
        out: list[UpdateFile] = []
        ok = True
        branches = {rule.branch for rule in os.branches} if os is not None else set(BRANCHES)
        cursor = after
        for index, entry in enumerate(raw):
            cursor = self.src.text_line(str(entry.get("path", "{")), cursor)
            where = self.src.at(cursor)
            if not check_table(entry, _FILE, lambda _k, w=where: w, self.errors, f"files[{index}]"):
                ok = False
                continue
            version = FileVersion.parse(entry["version"])
            branch, level = entry.get("branch"), entry.get("service_pack")
            low, high = span
            if version is None or str(version) != entry["version"].strip():
                self.errors.append(f"{where}: version {entry['version']!r} is not major.minor.build.revision")
                ok = False
            elif branch is not None and branch not in branches:
                known = ", ".join(sorted(branches)) or "none (the OS profile defines no branch rules)"
                self.errors.append(f"{where}: unknown branch {branch!r} (known: {known})")
                ok = False
            elif level is not None and not (low or 0) <= level <= (high if high is not None else level):
                self.errors.append(f"{where}: service_pack {level} is outside min/max_service_pack")
                ok = False
            else:
                confirmed = entry.get("confirmed", True)
                out.append(UpdateFile(entry["path"], version, entry["why"], branch, level, confirmed))
        return tuple(out) if ok else None


def collect_update_profiles(
    folder: Path,
    os_profiles: Collection[OsProfile],
    components: Collection[Component],
    declared: Collection[str],
    errors: list[str],
) -> list[UpdateProfile]:
    """Load every ``updates/*.toml`` (the folder is optional), appending ``file:line`` problems to errors.

    ``components`` are the valid component profiles; ``declared`` every id a component file declares, so a
    broken component is reported once, by its own loader, not again from here."""
    by_os = {p.id: p for p in os_profiles}
    by_component = {c.id: c for c in components}
    out: list[UpdateProfile] = []
    seen: dict[str, str] = {}
    for path in sorted((folder / "updates").glob("*.toml")):
        src = read_toml(path, errors)
        profile = _Checker(src, by_os, by_component, declared, errors).profile() if src is not None else None
        if profile is None:
            continue
        if profile.id in seen:
            errors.append(f"{profile.source}: update id {profile.id!r} already defined at {seen[profile.id]}")
            continue
        seen[profile.id] = profile.source
        out.append(profile)
    return out
