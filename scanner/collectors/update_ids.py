"""Update identities and service-pack numbers read out of the names artefacts give them: one definition each.

Every collector and the timeline name updates the same way, so an install seen in the registry, an event and
a log fuses into one update. Two facts shape this module (issue 13, confirmed on real XP/2003 logs):

- An update id is a ``KB``/``Q`` number. Installers add package suffixes (``KB932370-v3``, ``KB893803v2``,
  ``KB979402_WM9L``, ``KB890830-IE8``): the suffix belongs to the same KB and is kept only as detail. A bare
  number (Windows Update Agent event 22's restart countdown, ``15``) is never an update id.
- A title may name several updates (event 22's list ``- Update for Windows XP (KB898461)``); every KB it
  names is attested by that record.
"""

from __future__ import annotations

import re

_UPDATE_ID = re.compile(r"(?i)(?<![A-Za-z0-9])(KB|Q)(\d{5,7})(?!\d)")
_SUFFIX = re.compile(r"(?i)^(KB|Q)\d{5,7}[-_ ]?(v\d+|[A-Za-z][A-Za-z0-9]*)?")
_SERVICE_PACK = re.compile(r"(?i)\bservice\s*pack\s*(\d{1,2})\b|(?<![A-Za-z0-9])SP(\d{1,2})(?![0-9])")


def normalise_update_id(text: str) -> str | None:
    """The first update id ``text`` names: ``kb973917`` / ``Package_for_KB2463332~…`` / ``KB932370-v3``
    -> ``KB973917``…; None when it names none (a bare number never is one)."""
    ids = update_ids_in(text)
    return ids[0] if ids else None


def update_ids_in(text: str) -> tuple[str, ...]:
    """Every distinct update id ``text`` names, in order of appearance (``KB``/``Q`` upper-cased)."""
    seen: dict[str, None] = {}
    for match in _UPDATE_ID.finditer(text.replace("_", " ")):
        seen.setdefault(f"{match.group(1).upper()}{match.group(2)}", None)
    return tuple(seen)


def package_suffix(text: str) -> str | None:
    """A leading update id's package suffix: ``KB893803v2`` -> ``v2``, ``KB979402_WM9L`` -> ``WM9L``."""
    match = _SUFFIX.match(text.strip())
    return match.group(2) if match and match.group(2) else None


def sp_number(text: str) -> int | None:
    """The service-pack number ``text`` names (``Service Pack 2``, ``SP1``, ``sp2.exe``), or None."""
    match = _SERVICE_PACK.search(text)
    if match is None:
        return None
    return int(match.group(1) or match.group(2))
