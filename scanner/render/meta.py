"""Which tool, which knowledge and when: the three fields every JSON output carries (issue 18).

A report that cannot say how it was made cannot be compared later: the same evidence read by another release
or with other profiles may give another verdict. So every JSON contract (scan, inventory, diff, repro) has,
as top-level fields:

- ``tool_version``: patchmortem's version (``scanner.__version__``);
- ``profiles_version``: a fingerprint of the loaded profile set (:func:`scanner.knowledge.profiles.
  profiles_version`, ``sha256:`` + 16 hex digits);
- ``scanned_at``: when the evidence was read, UTC, ISO 8601 with ``Z`` (for ``diff``: when the comparison
  ran; each side keeps its own ``scanned_at`` when it was a saved scan).

The CLI takes the clock once, when a command starts (:meth:`RunMeta.start`); a library caller that passes no
``RunMeta`` gets one taken when the report is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from scanner import __version__
from scanner.model.codec import JsonRecord, JsonShape


@dataclass(frozen=True)
class RunMeta(JsonRecord):
    """How and when one output was made (see the module docstring for each field's meaning)."""

    tool_version: str
    profiles_version: str
    scanned_at: datetime

    # ``scanned_at`` is written with ``Z`` and whole seconds (the module docstring), not as isoformat().
    json_shape: ClassVar[JsonShape] = JsonShape(
        convert={"scanned_at": lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")}
    )

    @classmethod
    def start(cls, profiles_dir: Path | None = None, at: datetime | None = None) -> RunMeta:
        """The tool's version, the profile set's fingerprint, and the clock now (or ``at``), in UTC."""
        from scanner.knowledge.profiles import profiles_version

        when = (at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        return cls(__version__, profiles_version(profiles_dir), when)
