"""Registry family "pending": the file operations queued for the next boot (MoveFileEx, DELAY_UNTIL_REBOOT).

``SYSTEM\\<control set>\\Control\\Session Manager\\PendingFileRenameOperations`` (and ``...2``) is a
REG_MULTI_SZ of (source, destination) pairs in NT path form; an empty destination deletes the source at
boot, a ``!`` prefix asks to replace an existing file. Read through :mod:`regsafe`: damage is a gap.
"""

from __future__ import annotations

from scanner.collectors.registry_system import current_control_set
from scanner.collectors.regsafe import Hive, HiveReader, guarded
from scanner.model import Gap, PendingRename

__all__ = ["pending_renames"]


def _nt_path(text: str) -> tuple[str, bool]:
    """``!\\??\\C:\\x`` -> (``C:\\x``, replace_existing)."""
    replace_existing = text.startswith("!")
    text = text.lstrip("!")
    for prefix in ("\\??\\", "\\\\?\\"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text, replace_existing


def pending_renames(system: Hive | None, gaps: list[Gap] | None = None) -> list[PendingRename]:
    """PendingFileRenameOperations(2): (source, destination) pairs; empty destination = delete at boot."""
    sink = gaps if gaps is not None else []
    if system is None or (ccs := current_control_set(system, sink)) is None:
        return []

    def read(reader: HiveReader) -> list[PendingRename]:
        key = reader.open(f"{ccs[0]}\\Control\\Session Manager")
        if key is None:
            return []
        values = reader.values(key)
        out = []
        for name in ("PendingFileRenameOperations", "PendingFileRenameOperations2"):
            raw = values.get(name)
            items = [s for s in raw if isinstance(s, str)] if isinstance(raw, list) else []
            prov = reader.provenance(key, name)
            for src, dst in zip(items[0::2], items[1::2], strict=False):
                if not src:
                    continue
                source, _ = _nt_path(src)
                destination, replace_existing = _nt_path(dst)
                out.append(PendingRename(source, destination, replace_existing, (prov,)))
        return out

    return guarded("pending file renames", system, sink, read, [])
