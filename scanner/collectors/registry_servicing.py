"""Registry family "servicing": reboot and incomplete-install markers, the SP source path, IIS setup time.

- ``Component Based Servicing\\RebootPending`` (Vista+) and ``Microsoft\\Updates\\UpdateExeVolatile``
  (update.exe): an install waits for a reboot;
- ``CurrentVersion\\Setup`` ``ServicePackSourcePath``/``SourcePath``: where the last SP / the OS came from;
- ``Microsoft\\InetStp``: IIS's major version, and the key's last write, when IIS was set up.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from scanner.collectors.regsafe import Hive, HiveReader, guarded, value_text
from scanner.model import Gap, Provenance, SourceTime, UpdateRecord

__all__ = ["iis_setup_time", "servicing_markers", "with_note"]

CBS = "Microsoft\\Windows\\CurrentVersion\\Component Based Servicing"


def iis_setup_time(software: Hive | None, gaps: list[Gap] | None = None) -> tuple[int, SourceTime] | None:
    """``SOFTWARE\\Microsoft\\InetStp``: IIS's major version and the key's last write (its setup time)."""
    if software is None:
        return None

    def read(reader: HiveReader) -> tuple[int, SourceTime] | None:
        key = reader.open("Microsoft\\InetStp")
        major = reader.values(key).get("MajorVersion") if key is not None else None
        written = reader.timestamp(key) if key is not None and isinstance(major, int) else None
        if key is None or not isinstance(major, int) or written is None:
            return None
        says = f"InetStp key last written (IIS MajorVersion {major})"
        return major, SourceTime(written, "second", says, reader.provenance(key))

    return guarded("IIS setup time", software, gaps if gaps is not None else [], read, None)


def servicing_markers(
    software: Hive | None, gaps: list[Gap] | None = None
) -> Iterator[tuple[str, str, Provenance]]:
    """Reboot/incomplete-install markers and the SP source path, as (name, value, provenance) facts."""
    if software is None:
        return iter(())

    def read(reader: HiveReader) -> list[tuple[str, str, Provenance]]:
        out: list[tuple[str, str, Provenance]] = []
        if (key := reader.open(f"{CBS}\\RebootPending")) is not None:
            names = ",".join(reader.values(key)) or "present"
            out.append(("cbs_reboot_pending", names, reader.provenance(key)))
        if (key := reader.open("Microsoft\\Updates\\UpdateExeVolatile")) is not None:
            flags = value_text(reader.values(key).get("Flags")) or "present"
            out.append(("update_exe_volatile", flags, reader.provenance(key)))
        if (key := reader.open("Microsoft\\Windows\\CurrentVersion\\Setup")) is not None:
            v = reader.values(key)
            for name in ("ServicePackSourcePath", "SourcePath"):
                if name in v:
                    out.append((name, value_text(v[name]) or "", reader.provenance(key, name)))
        return out

    empty: list[tuple[str, str, Provenance]] = []
    return iter(guarded("servicing markers", software, gaps if gaps is not None else [], read, empty))


def with_note(record: UpdateRecord, note: str) -> UpdateRecord:
    """Mark every source of a record (e.g. 'recovered from transaction log')."""
    return replace(record, sources=tuple(replace(s, note=note) for s in record.sources))
