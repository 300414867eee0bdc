"""The time windows that tie a file or log line to an install (``profiles/windows.toml``), defined once.

Before issue 16 the 15-minute file/install window was written five times (rules/hotfixes.py,
rules/baseline.py, rules/qfecheck.py, diff/compare.py, timeline/fuse.py) and the 2-hour component window
twice; a change to one silently disagreed with the others. Knowledge is data: the values and the reason for
each live in the profile, and every stage reads them from here.

The windows are read from the shipped profiles once, at import: the timeline fusion and ``diff`` run without
a loaded :class:`~scanner.knowledge.profiles.Knowledge`, and a per-run override of a timing every stage must
agree on would let the scan and a later ``diff`` disagree. ``profiles check`` (and every run given
``--profiles``) reports a broken file through :func:`collect_windows` (``file:line`` problems, like every
profile) and refuses one whose values differ from the shipped ones (:func:`refuse_other_values`) rather than
accept values no stage would use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from scanner.errors import ProfileError
from scanner.knowledge.tomlfile import default_profiles_dir, value_tables

#: window name -> (minimum, maximum) minutes a value may have
_SPEC = {"file_install_minutes": (1, 24 * 60), "component_install_minutes": (1, 24 * 60)}


@dataclass(frozen=True)
class Windows:
    """The windows, as ``profiles/windows.toml`` gives them (each one's ``why`` is there)."""

    file_install: timedelta
    component_install: timedelta
    source: str = ""
    value_lines: tuple[tuple[str, str], ...] = ()  # (window name, ``file:line`` of its value)


def collect_windows(profiles_dir: Path | None, errors: list[str]) -> Windows | None:
    """Load ``windows.toml``, appending every problem to ``errors``; None when it is unusable."""
    path = (profiles_dir or default_profiles_dir()) / "windows.toml"
    before = len(errors)
    kinds = dict.fromkeys(_SPEC, "int")
    found = value_tables(
        path, kinds, errors, needed_for="the file/install time windows are needed to attribute files"
    )
    if found is None:
        return None
    src, minutes = found
    for name, value in minutes.items():
        low, high = _SPEC[name]
        if not low <= value <= high:
            errors.append(
                f"{src.at(src.key_line('value', name))}: [{name}] value must be {low}..{high} minutes"
            )
    if len(errors) > before:
        return None
    return Windows(
        timedelta(minutes=minutes["file_install_minutes"]),
        timedelta(minutes=minutes["component_install_minutes"]),
        str(path),
        tuple((name, src.at(src.key_line("value", name))) for name in _SPEC),
    )


def load_windows(profiles_dir: Path | None = None) -> Windows:
    """Load ``windows.toml``; raise ProfileError listing every problem (``file:line``)."""
    errors: list[str] = []
    windows = collect_windows(profiles_dir, errors)
    if windows is None or errors:
        raise ProfileError(errors)
    return windows


_SHIPPED = load_windows()
#: A file created (or a log line written) this close to an install session was put there by it.
FILE_WINDOW: timedelta = _SHIPPED.file_install
#: The same for an Optional Components (OC setup) install, which copies over a longer session.
COMPONENT_WINDOW: timedelta = _SHIPPED.component_install


def refuse_other_values(found: Windows, errors: list[str]) -> None:
    """A profile folder's ``windows.toml`` must give the shipped values, or each differing one is an error.

    The windows are read once, from the shipped profiles (see the module docstring): a folder given with
    ``--profiles`` whose windows differ would otherwise be checked, shown as valid and then not used, a
    silent wrong answer. Refused with the value's ``file:line``, the run ends with exit 7 instead.
    """
    shipped = {"file_install_minutes": FILE_WINDOW, "component_install_minutes": COMPONENT_WINDOW}
    given = {"file_install_minutes": found.file_install, "component_install_minutes": found.component_install}
    for name, at in found.value_lines:
        if given[name] != shipped[name]:
            errors.append(
                f"{at}: [{name}] value {given[name] // timedelta(minutes=1)} differs from the shipped "
                f"{shipped[name] // timedelta(minutes=1)} minutes: every run uses the shipped windows "
                "(a scan and a later diff must agree), so a profile folder cannot change them"
            )
