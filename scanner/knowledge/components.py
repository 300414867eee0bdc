"""Component file sets (``profiles/components/*.toml``): which files matter for which OS, and why.

A component names files relative to %SystemRoot%; the pipeline picks the components whose ``applies_to``
versions include the system's ``CurrentVersion`` and hands their paths to the file collector. Knowledge is
data: adding a component is adding a file, not code. Errors name the file and the entry.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from scanner.errors import ProfileError


@dataclass(frozen=True)
class ComponentFile:
    path: str  # below %SystemRoot%
    why: str


@dataclass(frozen=True)
class Component:
    id: str
    title: str
    versions: tuple[str, ...]  # OS CurrentVersion values ("5.2") it applies to
    files: tuple[ComponentFile, ...]
    source: str  # the profile file, for error messages and provenance
    version_family: str | None = None

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


def load_components(profiles_dir: Path | None = None) -> list[Component]:
    """Load every ``components/*.toml``; raise ProfileError listing all problems found."""
    folder = (profiles_dir or default_profiles_dir()) / "components"
    errors: list[str] = []
    components: list[Component] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            errors.append(f"{path}: {exc}")
            continue
        where = str(path)
        missing = [k for k in ("id", "title", "applies_to", "files") if k not in raw]
        if missing:
            errors.append(f"{where}: missing {', '.join(missing)}")
            continue
        files = []
        for index, entry in enumerate(raw["files"]):
            if not isinstance(entry, dict) or not entry.get("path") or not entry.get("why"):
                errors.append(f"{where}: files[{index}] needs 'path' and 'why'")
                continue
            files.append(ComponentFile(str(entry["path"]), str(entry["why"])))
        if raw["id"] in seen:
            errors.append(f"{where}: id {raw['id']!r} already defined in {seen[raw['id']]}")
        seen[raw["id"]] = where
        versions = tuple(str(v) for v in raw["applies_to"].get("versions", []))
        family = raw.get("version_family")
        components.append(
            Component(
                raw["id"],
                raw["title"],
                versions,
                tuple(files),
                where,
                str(family) if family is not None else None,
            )
        )
    if errors:
        raise ProfileError("; ".join(errors))
    return components
