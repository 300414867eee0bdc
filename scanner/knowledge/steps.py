"""Remediation steps that fit the system they are given for: a plain template, or one with a ``when``.

Why data: advice right on one system is wrong on another. Rapid-Fail Protection belongs to IIS 6+
application pools (IIS 5 has none: inetinfo.exe hosts everything); qfecheck (KB282784) exists for Windows
2000, XP and 2003 only — NT 6 tracks packages in CBS. Which step fits which system is knowledge, so a
step in ``profiles/rules.toml`` or ``profiles/interactions/*.toml`` may be a table::

    { text = "Re-enable the pools Rapid-Fail Protection disabled.", when = { components = ["iis6", "iis7"] } }

beside plain strings. ``when.components``: component ids (``components/*.toml``), one of which the system must
have; ``when.os``: OS profile ids (``os/*.toml``), one of which must be the system's. A fact the evidence
does not attest (no OS profile matched, no component found) rules nothing out: the step is kept, since
dropping advice needs a reason the evidence gives.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

#: Keys of a step table and of its ``when`` table.
_STEP_KEYS = frozenset({"text", "when"})
_WHEN_KEYS = frozenset({"components", "os"})


@dataclass(frozen=True)
class Step:
    """One remediation step template and the systems it fits (empty = every system)."""

    text: str
    components: tuple[str, ...] = ()  # the system must have one of these components
    os: tuple[str, ...] = ()  # the system's OS profile must be one of these

    def fits(self, os_id: str | None, components: Collection[str] | None) -> bool:
        """False only when the evidence shows the system is not one the step is for."""
        if self.os and os_id is not None and os_id not in self.os:
            return False
        if self.components and components is not None and not set(self.components) & set(components):
            return False
        return True


def fitting(
    steps: Collection[Step], os_id: str | None, components: Collection[str] | None
) -> tuple[str, ...]:
    """The templates of the steps that fit, in order."""
    return tuple(s.text for s in steps if s.fits(os_id, components))


def _names(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v.strip() for v in value)


def parse_steps(
    raw: list[Any],
    where: str,
    known_components: Collection[str],
    known_os: Collection[str],
    errors: list[str],
) -> tuple[Step, ...] | None:
    """Steps from a ``remediation`` list (strings or ``{text, when}`` tables); None when one is bad.

    ``where`` is the ``file:line`` of the list; every problem is appended to ``errors`` with it.
    """
    out: list[Step] = []
    ok = True

    def bad(index: int, message: str) -> None:
        nonlocal ok
        errors.append(f"{where}: remediation step {index + 1}: {message}")
        ok = False

    for index, item in enumerate(raw):
        if isinstance(item, str) and item.strip():
            out.append(Step(item))
            continue
        if not isinstance(item, dict):
            bad(index, "must be a non-empty string or a { text = ..., when = { ... } } table")
            continue
        unknown = sorted(set(item) - _STEP_KEYS)
        if unknown:
            bad(index, f"unknown key {unknown[0]!r} (known: text, when)")
            continue
        text, when = item.get("text"), item.get("when")
        if not (isinstance(text, str) and text.strip()):
            bad(index, "'text' must be a non-empty string")
            continue
        if not isinstance(when, dict) or not when:
            bad(index, "'when' must be a table with 'components' and/or 'os'")
            continue
        unknown = sorted(set(when) - _WHEN_KEYS)
        if unknown:
            bad(index, f"unknown key {unknown[0]!r} in when (known: components, os)")
            continue
        if any(not _names(when[key]) for key in when):
            bad(index, "when.components and when.os must be non-empty lists of ids")
            continue
        components, os_ids = tuple(when.get("components", ())), tuple(when.get("os", ()))
        for name in components:
            if name not in known_components:
                bad(index, f"unknown component {name!r} in when.components (no components/*.toml)")
        for name in os_ids:
            if name not in known_os:
                bad(index, f"unknown OS profile {name!r} in when.os (no os/*.toml)")
        out.append(Step(text, components, os_ids))
    return tuple(out) if ok else None


def step_texts(raw: list[Any]) -> list[str]:
    """Every template text of a remediation list, whatever the shape of its items (for template checks)."""
    texts = []
    for item in raw:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, dict) and isinstance(item.get("text"), str):
            texts.append(item["text"])
    return texts
