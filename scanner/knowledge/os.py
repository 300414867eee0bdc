"""Operating-system profiles (``profiles/os/*.toml``): builds, service-pack baselines and branch rules.

Why data: the revision a service pack stamps on its files (2003 SP2 = 5.2.3790.3959), how a file's branch is
read (NT5: the build-lab tag ``srv03_sp2_gdr.``; NT6: revision ranges, GDR 16xxx-19xxx, LDR 20xxx-23xxx) and
which ``Updates\\<product>\\SPn`` folder a post-SP fix registers under are facts about Windows releases, not
logic. Facts the reference marks unconfirmed are left out (``revision`` None, no branch rule) rather than
guessed; rules then report what they could not check.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scanner.knowledge.components import Component, TomlSource, check_table, default_profiles_dir, read_toml
from scanner.model.update_ids import sp_label

#: Branch names a rule may give (reference §2.3/§2.4: the SP baseline, GDR, QFE on NT5, LDR on NT6).
BRANCHES = frozenset({"baseline", "gdr", "qfe", "ldr"})


@dataclass(frozen=True)
class ServicePack:
    """One service-pack level of an OS (level 0 = RTM)."""

    level: int
    name: str  # "Service Pack 2" ("RTM" for level 0)
    build: int  # OS build at this level: 3790 for every 2003 SP; 6001/6002 for Vista/2008 SP1/SP2
    revision: int | None  # baseline revision (4th field) the SP stamps on core files; None = unknown
    lab: str | None = None  # lab-tag prefix of the baseline files, e.g. "srv03_sp2_rtm"
    package: str | None = None  # the SP's own package id, e.g. "KB914961"
    # the SP's package file per architecture (English release), e.g. ("x86", "WindowsServer2003-KB914961-...")
    package_files: tuple[tuple[str, str], ...] = ()
    references: tuple[str, ...] = ()

    def package_file(self, architecture: str | None) -> str | None:
        """The package file for ``architecture`` (x86 | x64 | ia64); None when unknown or not attested."""
        return dict(self.package_files).get(architecture or "")


@dataclass(frozen=True)
class BranchRule:
    """How to tell a file's servicing branch: by lab tag (NT5) or by revision range within a build (NT6)."""

    branch: str  # "baseline" | "gdr" | "qfe" | "ldr"
    lab_contains: str | None = None  # e.g. "_gdr." ; matched case-insensitively against the lab tag
    build: int | None = None  # NT6: the build the range applies to
    revision_min: int | None = None
    revision_max: int | None = None  # inclusive


@dataclass(frozen=True)
class OsProfile:
    """One Windows generation (e.g. Server 2003 / XP x64 = CurrentVersion 5.2, build 3790)."""

    id: str
    title: str
    versions: tuple[str, ...]  # CurrentVersion values, "5.2"
    builds: tuple[int, ...]  # every build this profile covers (NT6: one per SP)
    service_packs: tuple[ServicePack, ...]
    branches: tuple[BranchRule, ...] = ()
    # Updates\<product>\SP<n> holds a fix for systems at SP n-1 (reference §3.4): required SP = n - offset.
    sp_folder_offset: int | None = None
    source: str = ""  # profile file:line
    references: tuple[str, ...] = ()

    def applies_to(self, version: str | None, build: int | None = None) -> bool:
        """True when ``CurrentVersion`` (and, when given, the build) belong to this generation."""
        if not version:
            return False
        major_minor = ".".join(version.split(".")[:2])
        if major_minor not in self.versions:
            return False
        return build is None or not self.builds or build in self.builds

    def service_pack(self, level: int) -> ServicePack | None:
        return next((sp for sp in self.service_packs if sp.level == level), None)

    def sp_name(self, level: int) -> str:
        """The profile's name for a level (``Service Pack 2``, ``RTM``), else the generic one."""
        sp = self.service_pack(level)
        return sp.name if sp is not None else sp_label(level)

    def required_level_for_folder(self, sp_folder: int | None) -> int | None:
        """The SP level a fix registered under ``SP<sp_folder>`` was built for, or None."""
        if sp_folder is None or self.sp_folder_offset is None:
            return None
        return sp_folder - self.sp_folder_offset


_PROFILE = {
    "id": ("str", True),
    "title": ("str", True),
    "versions": ("list[str]", True),
    "builds": ("list[int]", True),
    "sp_folder_offset": ("int", False),
    "references": ("list[str]", False),
    "service_pack": ("list[table]", True),
    "branch": ("list[table]", False),
}
_SERVICE_PACK = {
    "level": ("int", True),
    "name": ("str", True),
    "build": ("int", True),
    "revision": ("int", False),  # omitted = unknown (TOML has no null): never guessed
    "lab": ("str", False),
    "package": ("str", False),
    "package_files": ("table", False),
    "references": ("list[str]", False),
}
#: Architectures a service pack's ``package_files`` may name (SystemFacts.architecture values).
ARCHITECTURES = frozenset({"x86", "x64", "ia64"})
_BRANCH = {
    "branch": ("str", True),
    "lab_contains": ("str", False),
    "build": ("int", False),
    "revision_min": ("int", False),
    "revision_max": ("int", False),
}


def _service_packs(src: TomlSource, builds: set[int], errors: list[str]) -> list[ServicePack] | None:
    out: list[ServicePack] = []
    ok = True
    for index, table in enumerate(src.data["service_pack"]):
        def where(key: str, i: int = index) -> str:
            return src.at(src.key_line(key, "service_pack", i))

        if not check_table(table, _SERVICE_PACK, where, errors, "[[service_pack]]"):
            ok = False
            continue
        if table["build"] not in builds:
            errors.append(f"{where('build')}: build {table['build']} is not in the profile's builds")
            ok = False
        files = table.get("package_files", {})
        if any(k not in ARCHITECTURES or not isinstance(v, str) or not v.strip() for k, v in files.items()):
            known = ", ".join(sorted(ARCHITECTURES))
            problem = f"package_files maps an architecture ({known}) to a file name"
            errors.append(f"{where('package_files')}: {problem}")
            ok = False
        if any(sp.level == table["level"] for sp in out):
            errors.append(f"{where('level')}: service-pack level {table['level']} defined twice")
            ok = False
        out.append(
            ServicePack(
                level=table["level"],
                name=table["name"],
                build=table["build"],
                revision=table.get("revision"),
                lab=table.get("lab"),
                package=table.get("package"),
                package_files=tuple(sorted(files.items())),
                references=tuple(table.get("references", ())),
            )
        )
    return out if ok else None


def _branches(src: TomlSource, builds: set[int], errors: list[str]) -> list[BranchRule] | None:
    out: list[BranchRule] = []
    ok = True
    for index, table in enumerate(src.data.get("branch", [])):
        def where(key: str, i: int = index) -> str:
            return src.at(src.key_line(key, "branch", i))

        if not check_table(table, _BRANCH, where, errors, "[[branch]]"):
            ok = False
            continue
        has_range = "revision_min" in table or "revision_max" in table
        problem = None
        if table["branch"] not in BRANCHES:
            problem = f"unknown branch {table['branch']!r} (known: {', '.join(sorted(BRANCHES))})"
        elif ("lab_contains" in table) == has_range:
            problem = "a branch rule needs either lab_contains or a revision range, not both"
        elif has_range and table.get("revision_min", 0) > table.get("revision_max", 1 << 31):
            problem = "revision_min is above revision_max"
        elif "build" in table and table["build"] not in builds:
            problem = f"build {table['build']} is not in the profile's builds"
        if problem:
            errors.append(f"{where('branch')}: {problem}")
            ok = False
            continue
        out.append(
            BranchRule(
                branch=table["branch"],
                lab_contains=table.get("lab_contains"),
                build=table.get("build"),
                revision_min=table.get("revision_min"),
                revision_max=table.get("revision_max"),
            )
        )
    return out if ok else None


def _profile(src: TomlSource, errors: list[str]) -> OsProfile | None:
    raw = src.data
    if not check_table(raw, _PROFILE, lambda k: src.at(src.key_line(k)), errors, "OS profile"):
        return None
    builds = set(raw["builds"])
    service_packs = _service_packs(src, builds, errors)
    branches = _branches(src, builds, errors)
    if service_packs is None or branches is None:
        return None
    return OsProfile(
        id=raw["id"],
        title=raw["title"],
        versions=tuple(raw["versions"]),
        builds=tuple(raw["builds"]),
        service_packs=tuple(sorted(service_packs, key=lambda sp: sp.level)),
        branches=tuple(branches),
        sp_folder_offset=raw.get("sp_folder_offset"),
        source=src.at(src.key_line("id")),
        references=tuple(raw.get("references", ())),
    )


def collect_os_profiles(profiles_dir: Path | None, errors: list[str]) -> list[OsProfile]:
    """Load every ``os/*.toml``, appending ``file:line: message`` problems to ``errors``.

    Besides each file's own checks, ids must be unique and no two profiles may claim the same
    CurrentVersion + build (``Knowledge.os_for`` would otherwise depend on file order).
    """
    folder = (profiles_dir or default_profiles_dir()) / "os"
    profiles: list[OsProfile] = []
    ids: dict[str, str] = {}
    claims: dict[tuple[str, int], str] = {}
    for path in sorted(folder.glob("*.toml")):
        src = read_toml(path, errors)
        profile = _profile(src, errors) if src is not None else None
        if profile is None:
            continue
        if profile.id in ids:
            first = ids[profile.id]
            errors.append(f"{profile.source}: OS profile id {profile.id!r} already defined at {first}")
            continue
        clash = [claims[(v, b)] for v in profile.versions for b in profile.builds if (v, b) in claims]
        if clash:
            errors.append(f"{profile.source}: {profile.id!r} claims a version + build already in {clash[0]}")
            continue
        ids[profile.id] = profile.source
        claims.update({(v, b): profile.source for v in profile.versions for b in profile.builds})
        profiles.append(profile)
    return profiles


def check_component_versions(
    components: list[Component], os_profiles: list[OsProfile], errors: list[str]
) -> None:
    """A component version no OS profile has (a typo such as "5.3") would silently never apply."""
    known = {v for p in os_profiles for v in p.versions}
    for component in components:
        for version in component.versions:
            if os_profiles and version not in known:
                path = Path(component.source.rsplit(":", 1)[0])
                src = read_toml(path, [])
                line = src.key_line("applies_to") if src is not None else 1
                errors.append(f"{path}:{line}: applies_to version {version!r} matches no os/*.toml profile")
