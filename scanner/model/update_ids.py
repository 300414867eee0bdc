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
#: ``SOFTWARE\Microsoft\Updates\<product>\SP2``: the folder key hotfixes built for that SP are filed under.
_SP_FOLDER = re.compile(r"(?i)SP(\d+)")
#: An Uninstall key named for a service pack (``Windows 2000 Service Pack``), which carries no number.
_SP_KEY = re.compile(r"(?i)service pack$")


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


def sp_label(level: int) -> str:
    """The generic name of a service-pack level (``RTM`` for 0, else ``Service Pack N``), for a level the OS
    profile does not name (:meth:`scanner.knowledge.os.OsProfile.sp_name` prefers the profile's own name)."""
    return "RTM" if level == 0 else f"Service Pack {level}"


def sp_folder_level(key_name: str) -> int | None:
    """The SP an ``Updates\\<product>\\SPn`` folder key files its hotfixes under (``SP2`` -> 2), else None.

    Stricter than :func:`sp_number` on purpose: the whole key name is the folder, so ``SP2QFE`` is not one.
    """
    match = _SP_FOLDER.fullmatch(key_name)
    return int(match.group(1)) if match else None


def names_service_pack(key_name: str) -> bool:
    """Whether an Uninstall key's name is a service pack's (``Windows 2000 Service Pack``): the SP's own
    record, which the update collector keeps and the software collector leaves out."""
    return _SP_KEY.search(key_name) is not None


#: How Windows Update Agent / Automatic Updates and the WindowsUpdateClient write a title list in one
#: insertion string (events 17, 18, 21, 22; wuaueng.dll message table): ``"\n- Title one\n- Title two"``.
_TITLE_ITEM = re.compile(r"(?:^|\n)[ \t]*-[ \t]+")


def titles_in(text: str) -> tuple[str, ...]:
    """The update titles one insertion string holds: a single title, or a ``"\\n- A\\n- B"`` list.

    Confirmed on a real XP SysEvent.Evt (plaso test data): event 22 stores ``['15', '\\n- Update for Windows
    XP (KB898461)\\n- Microsoft Windows Installer 3.1']``; event 19 stores one title, ``'Update for Windows
    XP (KB898461)'``.
    """
    if _TITLE_ITEM.search(text):
        items = _TITLE_ITEM.split(text)
    else:
        items = [text]
    return tuple(item.strip() for item in items if item.strip())


def is_title_list(text: str) -> bool:
    """The string is a ``"\\n- A\\n- B"`` list (even of one title), not a single title."""
    return _TITLE_ITEM.match(text) is not None


def title_update_ids(title: str) -> tuple[str, ...]:
    """Every update id a title names, except one the string's end cuts off.

    The Automatic Updates client truncates a long title list (on the real XP log every list longer than that
    is exactly 999 characters), so its last title can end mid-id: ``'Security Update for Windows XP
    (KB91043'`` is a cut ``KB910437``, not ``KB91043``. An id that runs to the very end of the text, with
    nothing (a closing parenthesis, a space) after it, may be cut and is not trusted.
    """
    seen: dict[str, None] = {}
    text = title.replace("_", " ").rstrip()
    for match in _UPDATE_ID.finditer(text):
        if match.end() == len(text) and not _WHOLE_ID.fullmatch(text):
            continue
        seen.setdefault(f"{match.group(1).upper()}{match.group(2)}", None)
    return tuple(seen)


#: A text that is nothing but an update id (``KB898461``) is whole even though it ends the string.
_WHOLE_ID = re.compile(r"(?i)\s*(KB|Q)\d{5,7}\s*")


def is_named(text: str) -> bool:
    """A name with a real identity: it has a letter (``15``, a restart countdown, is no name)."""
    return any(ch.isalpha() for ch in text)
