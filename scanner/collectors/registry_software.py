"""Registry family "software": Add/Remove Programs entries that are not Microsoft updates.

``SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\<id>``: DisplayName, Publisher, DisplayVersion,
InstallLocation, InstallDate; dated as update Uninstall keys are (:func:`registry_updates.uninstall_times`).
"""

from __future__ import annotations

from scanner.collectors.registry_updates import UNINSTALL, uninstall_times
from scanner.collectors.regsafe import Hive, HiveReader, guarded, value_text
from scanner.model import Gap, SoftwareInstall, TimeZoneFacts
from scanner.model.update_ids import names_service_pack, normalise_update_id

__all__ = ["software_installs"]

_MAX_PROGRAMS = 20_000


def software_installs(
    software: Hive | None, tz: TimeZoneFacts | None = None, gaps: list[Gap] | None = None
) -> list[SoftwareInstall]:
    """Add/Remove Programs entries that are not Microsoft updates: installers that may put old DLLs back.

    Q281402 cause 2: "other software may have put back older DLLs". Matching a program's install time with
    the creation time of a system file below its service-pack level is how the rules attribute it. The
    program is dated by its ``InstallDate`` when it has one (see the module docstring), else by the key's
    last write.
    """
    if software is None:
        return []

    def read(reader: HiveReader) -> list[SoftwareInstall]:
        root = reader.open(UNINSTALL)
        found: list[SoftwareInstall] = []
        for key in reader.subkeys(root, _MAX_PROGRAMS) if root is not None else []:
            v = reader.values(key)
            release = str(v.get("ReleaseType", ""))
            if release or str(v.get("ParentKeyName", "")) == "OperatingSystem":
                continue
            if normalise_update_id(key.name):
                continue
            if names_service_pack(key.name) or not v.get("DisplayName"):
                continue
            times = [t for t in uninstall_times(reader, key, v, tz) if t is not None]
            placed = next((t for t in times if t.bound == "at"), None)
            found.append(
                SoftwareInstall(
                    name=str(value_text(v.get("DisplayName"))),
                    publisher=value_text(v.get("Publisher")),
                    version=value_text(v.get("DisplayVersion")),
                    install_location=value_text(v.get("InstallLocation")),
                    installed_at=placed.at if placed else None,
                    precision=placed.precision if placed else None,
                    times=tuple(times),
                    source=reader.provenance(key),
                )
            )
        return found

    return guarded("software installs", software, gaps if gaps is not None else [], read, [])
