"""File-version arithmetic: a file's branch and SP level by the OS profile (the type is model.FileVersion).

Reference §2 and §8: compare revisions only within one build and branch; on NT5 the lab tag tells GDR from
QFE, on NT6 the revision range does; the build of an NT6 file is its service-pack level. These helpers are
pure and take the OS profile as data.
"""

from __future__ import annotations

from scanner.knowledge.os import OsProfile
from scanner.model.versions import FileVersion

__all__ = ["FileVersion", "branch_of", "service_pack_of"]


def branch_of(version: FileVersion, lab_tag: str | None, os: OsProfile) -> str | None:
    """The file's servicing branch by the profile's rules (lab tag first, then revision range), or None."""
    tag = (lab_tag or "").lower()
    for rule in os.branches:
        if rule.lab_contains is not None:
            if tag and rule.lab_contains.lower() in tag:
                return rule.branch
            continue
        if rule.build is not None and rule.build != version.build:
            continue
        low = rule.revision_min if rule.revision_min is not None else 0
        high = rule.revision_max if rule.revision_max is not None else 1 << 31
        if low <= version.revision <= high:
            return rule.branch
    return None


def _lab_stem(lab: str) -> str:
    """The SP part of a baseline lab tag: ``srv03_sp2_rtm`` -> ``srv03_sp2``, ``lh_sp2rtm`` -> ``lh_sp2``.

    Post-SP fixes keep the SP part and change the branch (``srv03_sp2_gdr``, ``xpsp_sp3_qfe``; reference
    §2.1), so the stem dates a fix to its SP even when its revision cannot (build differs from the OS's).
    """
    stem = lab.lower()
    for suffix in ("_rtm", "rtm"):
        if stem.endswith(suffix) and len(stem) > len(suffix):
            return stem[: -len(suffix)]
    return stem


def service_pack_of(version: FileVersion, lab_tag: str | None, os: OsProfile) -> int | None:
    """The SP level a file is at: the highest SP whose baseline it reaches (same build), else its lab tag.

    A level whose baseline revision is unknown (``revision`` None, e.g. Windows 2000 SP2) is never claimed:
    a file between SP1 and SP3 reads as SP1, the highest level it provably reaches. Returns None when the
    profile has no baseline for the file's build and its lab tag names no SP (unknown, never guessed).
    """
    reached: int | None = None
    for sp in sorted(os.service_packs, key=lambda s: s.level):
        if sp.build != version.build:
            continue
        if sp.revision is not None and version.revision >= sp.revision:
            reached = sp.level
    if reached is not None:
        return reached
    tag = (lab_tag or "").lower()
    if tag:
        stems = [(_lab_stem(sp.lab), sp.level) for sp in os.service_packs if sp.lab]
        for stem, level in sorted(stems, key=lambda s: -len(s[0])):
            if tag.startswith(stem):
                return level
    builds = {sp.build: sp.level for sp in os.service_packs}
    if version.build in builds and len(builds) > 1:
        return builds[version.build]  # NT6: the build is the SP level (6001 = SP1, 6002 = SP2)
    return None
