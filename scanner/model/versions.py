"""A file's version as four integers: the one type every stage reads instead of a dotted string.

volatility3's ``verinfo.py`` keeps a PE version as ``(major, minor, product, build)`` integers and every
consumer compares those; we do the same (issue 16 item 1). The PE reader (``VS_FIXEDFILEINFO``) gives four
16-bit fields; the collectors parse them once into a :class:`FileVersion`, and rules, reports and the JSON
read that value. JSON keeps the dotted string (``"6.0.3790.3959"``): the contract does not change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Four fields of at most 5 digits, dotted or (as some FileVersion strings write them) comma-separated.
_VERSION = re.compile(r"^\s*(\d{1,5})\s*[.,]\s*(\d{1,5})\s*[.,]\s*(\d{1,5})\s*[.,]\s*(\d{1,5})(?!\d)")
_FIELD_MAX = 0xFFFF  # VS_FIXEDFILEINFO stores each field in 16 bits


@dataclass(frozen=True, order=True)
class FileVersion:
    """``major.minor.build.revision``; ordered field by field, as Windows compares file versions."""

    major: int
    minor: int
    build: int
    revision: int

    @classmethod
    def parse(cls, text: str | None) -> FileVersion | None:
        """``"6.0.3790.1830"`` (or ``"6.0.3790.1830 (srv03_sp1_rtm...)"``, ``"6, 0, 3790, 1830"``) ->
        FileVersion; None if not four 16-bit fields (a PE version cannot hold more)."""
        if not text:
            return None
        match = _VERSION.match(text)
        if not match:
            return None
        fields = [int(g) for g in match.groups()]
        if any(f > _FIELD_MAX for f in fields):
            return None
        return cls(*fields)

    @property
    def family(self) -> str:
        """``major.minor``: the version family a component's files follow ("6.0" for IIS 6)."""
        return f"{self.major}.{self.minor}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.build}.{self.revision}"

    def __json__(self) -> str:
        """The JSON form (the model's codec calls it): the dotted string the contract has always had."""
        return str(self)


def version_text(version: FileVersion | None) -> str | None:
    """The dotted string of a version, or None: what the JSON and the people-facing records hold."""
    return str(version) if version is not None else None
