"""The Windows directory (%SystemRoot%) of a volume or a folder source, defined once for every kind of source.

A root-level folder is the Windows directory when it holds something only %SystemRoot% holds. It is not
matched by name alone: NT4/2000 use ``WINNT``, later versions ``Windows``, and an unattended install may
choose any name (the registry's ``SystemRoot`` value is read later and cross-checked against the one found
here). A triage collection holds only part of it — only ``System32\\winevt\\Logs``, only some hives, only
``Logs\\CBS`` or ``KB*.log`` — so any of its known children identifies it, case-insensitively:

- *strong* markers, enough for a folder of any name: ``system32`` holding ``config``, ``winevt``, ``inetsrv``,
  ``LogFiles``, ``drivers`` or ``dllcache``; ``Logs\\CBS``; ``SoftwareDistribution``; the uninstall folders
  ``$NtUninstall…$``, ``$NtServicePackUninstall$``, ``$hf_mig$``; the servicing logs update.exe, setup and
  the Windows Update agent write into %windir% (``KB*.log``, ``Q*.log``, ``svcpack.log``, ``setupapi.log``,
  ``updspapi.log``, ``iis5.log``/``iis6.log``, ``WindowsUpdate.log``);
- *weak* markers, enough only for a folder called ``Windows`` or ``WINNT``: any ``system32``, ``Logs``,
  ``inf``, ``winsxs`` or ``servicing`` folder.

Ordinary names are tried first, so a stray copy (``Windows.old``) loses to the live system; folders whose
name starts with ``$`` (NTFS metadata, ``$Recycle.Bin``) are never candidates. Every listing is bounded.
"""

from __future__ import annotations

import itertools
import logging
import re
from typing import Any

log = logging.getLogger(__name__)

#: Bound on the entries examined in one directory (a real volume root has a few dozen, %windir% ~100).
MAX_LISTING = 4096

_USUAL = ("windows", "winnt")
_SYSTEM32_MARKERS = frozenset({"config", "winevt", "inetsrv", "logfiles", "drivers", "dllcache"})
_STRONG_DIRS = re.compile(r"softwaredistribution|\$ntuninstall.+\$|\$ntservicepackuninstall\$|\$hf_mig\$")
_STRONG_FILES = re.compile(
    r"(kb|q)\d+.*\.log|svcpack\.log|setupapi\.log|updspapi\.log|iis[56]\.log|windowsupdate\.log"
)
_WEAK_DIRS = frozenset({"system32", "logs", "inf", "winsxs", "servicing"})


def _listing(directory: Any) -> dict[str, tuple[Any, bool]]:
    """``{lower-case name: (entry, is_dir)}`` of at most :data:`MAX_LISTING` entries; empty if unreadable."""
    found: dict[str, tuple[Any, bool]] = {}
    try:
        for entry in itertools.islice(directory.iterdir(), MAX_LISTING):
            try:
                is_dir = bool(entry.is_dir())
            except Exception:  # noqa: BLE001 - an unreadable entry is neither marker nor candidate
                continue
            found.setdefault(entry.name.lower(), (entry, is_dir))
    except Exception as exc:  # noqa: BLE001 - a broken directory holds no markers, it does not crash
        log.debug("cannot list %s: %s", directory, exc)
    return found


def _markers(directory: Any, strict: bool) -> bool:
    """True when ``directory`` holds a strong marker child, or (not ``strict``) a weak one."""
    children = _listing(directory)
    for name, (entry, is_dir) in children.items():
        if is_dir and name == "system32" and _SYSTEM32_MARKERS & set(_listing(entry)):
            return True
        if is_dir and name == "logs" and "cbs" in _listing(entry):
            return True
        if is_dir and _STRONG_DIRS.fullmatch(name):
            return True
        if not is_dir and _STRONG_FILES.fullmatch(name):
            return True
    return not strict and any(is_dir and name in _WEAK_DIRS for name, (_, is_dir) in children.items())


def find_windows_dir(fs: Any) -> str | None:
    """The name (as stored) of the root-level folder that is the volume's %SystemRoot%, or None."""
    try:
        root = fs.path("/")
    except Exception as exc:  # noqa: BLE001 - a broken file system is "no Windows here", not a crash
        log.debug("cannot open volume root: %s", exc)
        return None
    folders = [(entry.name, entry) for entry, is_dir in _listing(root).values() if is_dir]
    usual = sorted((f for f in folders if f[0].lower() in _USUAL), key=lambda f: _USUAL.index(f[0].lower()))
    others = [f for f in folders if f[0].lower() not in _USUAL and not f[0].startswith("$")]
    for name, entry in usual:
        if _markers(entry, strict=False):
            return str(name)
    for name, entry in others:
        if _markers(entry, strict=True):
            return str(name)
    return None


def has_hive_folder(fs: Any, windows_dir: str) -> bool:
    """True when ``<windows_dir>\\system32\\config`` exists: the hives' folder, the mark of a whole system."""
    system32 = _listing(fs.path(f"/{windows_dir}")).get("system32")
    return system32 is not None and system32[1] and "config" in _listing(system32[0])
