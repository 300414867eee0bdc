"""Open registry hives from a dead system: detect dirty ones and replay their transaction logs in memory.

A server that lost power mid-flush leaves a *dirty* hive: a bad base-block checksum, or primary and secondary
sequence numbers that differ. Its newest keys (often the very update that killed it) then exist only in the
transaction log beside it. The bytes of that replay (old ``DIRT`` and new ``HvLE`` logs) are the format
layer's (:mod:`scanner.formats.regf_log`, with the spec references); this collector finds the logs beside a
hive, tries them in the order Windows does, parses the result with python-registry and records what was done
(:class:`HiveRecovery`) for the report.

Everything happens on an in-memory copy: evidence is only ever opened ``rb`` and the caller's bytes are never
modified.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from Registry import Registry, RegistryParse

from scanner.collectors.regsafe import Hive, HiveReader, Node
from scanner.evidence.errors import READ_ERRORS
from scanner.formats.regf_log import (
    BASE_BLOCK,
    MAX_HIVE_SIZE,
    PARSE_ERRORS,
    LogRejected,
    checksum_ok,
    file_type,
    is_dirty,
    log_format,
    replay_nt5,
    replay_nt6,
)

__all__ = ["MAX_HIVE_SIZE", "HiveRecovery", "HiveUnreadable", "OpenHive", "open_hive", "read_hive_files"]

_LOG_SUFFIXES = (".LOG", ".LOG1", ".LOG2")
_MAX_DIR_ENTRIES = 100_000


class HiveUnreadable(ValueError):
    """The primary hive file itself cannot be read or parsed; the caller records a Gap with this sentence."""


@dataclass(frozen=True)
class HiveRecovery:
    """What was done about the hive's dirty state.

    Attributes:
        dirty: the primary's base block has a bad checksum or unequal sequence numbers.
        recovered: a transaction log was replayed and the returned registry is the replayed state.
        log_name: the log(s) applied (``"SOFTWARE.LOG1, SOFTWARE.LOG2"`` in application order); when recovery
            failed, the log(s) that were tried.
        log_format: ``"nt5"`` (old, DIRT) or ``"nt6"`` (new, HvLE), for the logs named above.
        pages: dirty pages written: 512-byte pages for nt5, dirty page references (runs) for nt6, as each
            format's spec section calls them.
        warning: one sentence when the hive is dirty and could not be recovered, else None.
    """

    dirty: bool
    recovered: bool
    log_name: str | None = None
    log_format: str | None = None
    pages: int = 0
    warning: str | None = None


OpenHive = Hive  # issue 16: one hive type; what open_hive returns is the Hive every registry family reads


def _opened(registry: Registry.Registry, artifact: str, recovery: HiveRecovery) -> Hive:
    """The hive, with its recovery; a replayed hive's provenance notes say which log made it."""
    note = f"hive replayed with transaction log {recovery.log_name}" if recovery.recovered else ""
    return Hive(registry, artifact, note if recovery.log_name else "", recovery)


# --- public API --------------------------------------------------------------------------------------------
def _parse(data: bytes) -> Registry.Registry:
    """Parse with python-registry and read the root key and its subkey list, where broken hives fail.

    A root whose subkey list has some broken entries still parses: the collectors read key by key
    (:mod:`scanner.collectors.regsafe`) and report each broken entry as a gap naming the hive and key. A root
    that claims subkeys but has none readable does not parse.
    """
    registry = Registry.Registry(io.BytesIO(data))
    root = registry.root()
    root.name()
    if root.subkeys_number() and not HiveReader(registry, "", "hive").subkeys(Node(root, "")):
        raise RegistryParse.ParseException("the root key's subkey list is unreadable")
    return registry


def _sort_logs(logs: dict[str, bytes]) -> list[tuple[str, bytes]]:
    """Non-empty logs in the order Windows tries them: ``.LOG``, ``.LOG1``, ``.LOG2``."""
    def rank(name: str) -> tuple[int, str]:
        upper = name.upper()
        ranks = [i for i, suffix in enumerate(_LOG_SUFFIXES) if upper.endswith(suffix)]
        return (ranks[-1] if ranks else len(_LOG_SUFFIXES), upper)

    return sorted(((n, d) for n, d in logs.items() if d), key=lambda item: rank(item[0]))


def _recover(primary: bytes, logs: dict[str, bytes]) -> tuple[Registry.Registry | None, HiveRecovery]:
    """Try the applicable logs in turn; return the replayed registry (or None) and the recovery record.

    Old-format logs are tried first, each alone (only one matches the flush by time stamp); new-format logs
    are applied together. A log whose replay does not parse counts as failed.
    """
    candidates = [(n, d, log_format(d)) for n, d in _sort_logs(logs) if len(d) <= MAX_HIVE_SIZE]
    usable = [(n, d, f) for n, d, f in candidates if f is not None]
    if not usable:
        present = ", ".join(n for n, _, _ in candidates)
        what = f"none of its logs ({present}) is a transaction log" if present else "it has no log"
        return None, HiveRecovery(True, False, warning=f"The hive is dirty but {what}, so its newest changes "
                                  "may be missing.")
    reasons: list[str] = []
    for name, data, _ in (c for c in usable if c[2] == "nt5"):
        try:
            replayed, pages = replay_nt5(primary, data)
            return _parse(replayed), HiveRecovery(True, True, name, "nt5", pages)
        except LogRejected as exc:
            reasons.append(f"{name}: {exc}")
        except PARSE_ERRORS as exc:
            reasons.append(f"{name}: the replayed hive does not parse ({exc})")
    nt6 = [(n, d) for n, d, f in usable if f == "nt6"]
    if nt6:
        try:
            replayed, pages, applied = replay_nt6(primary, nt6)
            return _parse(replayed), HiveRecovery(True, True, ", ".join(applied), "nt6", pages)
        except LogRejected as exc:
            reasons.append(str(exc))
        except PARSE_ERRORS as exc:
            names = ", ".join(n for n, _ in nt6)
            reasons.append(f"{names}: a log entry is corrupt or the replayed hive does not parse ({exc})")
    formats = {f for _, _, f in usable}
    warning = (f"The hive is dirty and its transaction log could not be replayed ({'; '.join(reasons)}), "
               "so the primary file is used as is and its newest changes may be missing.")
    return None, HiveRecovery(True, False, ", ".join(n for n, _, _ in usable),
                              formats.pop() if len(formats) == 1 else None, 0, warning)


def open_hive(primary: bytes, logs: dict[str, bytes], *, artifact: str) -> Hive:
    """Parse a hive; if it is dirty, replay the applicable transaction log(s) on an in-memory copy.

    Args:
        primary: the hive file's bytes (never modified).
        logs: the logs beside it by file name, e.g. ``{"software.LOG": ...}``; empty files are ignored.
        artifact: the hive's path inside the image, for provenance (its last component becomes ``name``).

    Returns:
        The recovered registry when a log applied, else the primary as is (clean, or with a warning).

    Raises:
        HiveUnreadable: the primary is too large, not a regf primary file, or does not parse (and no log
            turns it into one that does).
    """
    if len(primary) > MAX_HIVE_SIZE:
        raise HiveUnreadable(f"{artifact} is larger than {MAX_HIVE_SIZE >> 20} MiB, which no real hive is.")
    if len(primary) < BASE_BLOCK + 32 or primary[:4] != b"regf":
        raise HiveUnreadable(f"{artifact} is not a registry hive (no regf base block and hive bin).")
    if checksum_ok(primary) and file_type(primary) != 0:
        raise HiveUnreadable(f"{artifact} is a transaction log (file type {file_type(primary)}), not a hive.")
    try:
        registry: Registry.Registry | None = _parse(primary)
        error = ""
    except PARSE_ERRORS as exc:
        registry, error = None, str(exc) or type(exc).__name__
    if not is_dirty(primary):
        if registry is None:
            raise HiveUnreadable(f"{artifact} does not parse as a registry hive ({error}).")
        return _opened(registry, artifact, HiveRecovery(dirty=False, recovered=False))
    recovered, recovery = _recover(primary, logs)
    if recovered is not None:
        return _opened(recovered, artifact, recovery)
    if registry is None:
        raise HiveUnreadable(f"{artifact} is dirty, does not parse ({error}) and no log repairs it.")
    return _opened(registry, artifact, recovery)


def read_hive_files(fs: Any, path: str) -> tuple[bytes, dict[str, bytes]]:
    """Read a hive and the ``.LOG``/``.LOG1``/``.LOG2`` files beside it, matching names case-insensitively.

    Args:
        fs: a dissect ``Filesystem`` (or ``RootFilesystem``), or a ``TargetPath`` (any ``pathlib.Path``) to
            resolve ``path`` under.
        path: the hive's path, ``/`` or ``\\`` separated, e.g. ``WINDOWS/system32/config/SOFTWARE``.

    Returns:
        ``(primary, logs)``; logs that are unreadable or larger than :data:`MAX_HIVE_SIZE` are left out.

    Raises:
        HiveUnreadable: the hive is missing, unreadable, or larger than :data:`MAX_HIVE_SIZE`.
    """
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    if not parts:
        raise HiveUnreadable("An empty path names no hive.")
    try:
        node: Any = fs if isinstance(fs, Path) else fs.path("/")  # TargetPath (or a host Path) as is
        for part in parts[:-1]:
            node = _child(node, part)
        base = parts[-1].upper()
        wanted = {base, *(base + s for s in _LOG_SUFFIXES)}
        found: dict[str, Any] = {}
        for count, entry in enumerate(node.iterdir()):
            if count >= _MAX_DIR_ENTRIES:
                break
            if entry.name.upper() in wanted and entry.name.upper() not in found:
                found[entry.name.upper()] = entry
    except READ_ERRORS as exc:
        raise HiveUnreadable(f"{path} cannot be located: {exc}.") from exc
    if base not in found:
        raise HiveUnreadable(f"{path} does not exist.")
    primary = _read_bounded(found.pop(base), path)
    logs: dict[str, bytes] = {}
    for entry in found.values():
        try:
            logs[entry.name] = _read_bounded(entry, entry.name)
        except HiveUnreadable:
            continue
    return primary, logs


def _child(node: Any, name: str) -> Any:
    """``node / name``, falling back on a case-insensitive directory scan (NT names are case-insensitive)."""
    direct = node.joinpath(name)
    if direct.exists():
        return direct
    for count, entry in enumerate(node.iterdir()):
        if count >= _MAX_DIR_ENTRIES:
            break
        if entry.name.upper() == name.upper():
            return entry
    raise FileNotFoundError(f"no {name} in {node}")


def _read_bounded(entry: Any, label: str) -> bytes:
    """Read a file read-only, refusing more than :data:`MAX_HIVE_SIZE` bytes."""
    try:
        with entry.open("rb") as fh:
            data = bytes(fh.read(MAX_HIVE_SIZE + 1))
    except READ_ERRORS as exc:
        raise HiveUnreadable(f"{label} cannot be read: {exc}.") from exc
    if len(data) > MAX_HIVE_SIZE:
        raise HiveUnreadable(f"{label} is larger than {MAX_HIVE_SIZE >> 20} MiB, which no real hive is.")
    return data
