"""Registry family "system": product, version, build, SP, architecture, host, install date, root, zone.

Layouts (reference: libyal winreg-kb; Microsoft KB184305, KB262841, KB888535):
- ``SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion``: ProductName, CurrentVersion, CurrentBuildNumber,
  CSDVersion, InstallDate (Unix seconds, UTC), SystemRoot, EditionID, BuildLab; its ``Time Zones\\<zone>``
  subkeys hold each zone's names (``Std``/``Dlt``/``Display``, and on Vista+ ``MUI_Std``/``MUI_Dlt``, the
  ``@tzres.dll,-N`` references that ``TimeZoneInformation`` stores instead of a name).
- ``SYSTEM\\Select\\Current`` names the control set (there is no CurrentControlSet offline); in it
  ``Control\\Windows\\CSDVersion`` (DWORD, high byte = SP major), ``Control\\ComputerName\\ComputerName``,
  ``Control\\TimeZoneInformation`` and ``Control\\Session Manager\\Environment\\PROCESSOR_ARCHITECTURE``.

Every fact is read through :mod:`scanner.collectors.regsafe`: each system fact and the time zone is read on
its own and fails alone, as a gap naming the hive and key (the other families:
:mod:`scanner.collectors.registry`). A system fact nobody attests is None plus a gap that says which hive, key
or value was missing — never a default.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from scanner.collectors.registry_tz import time_zone
from scanner.collectors.regsafe import Hive, Node, value_text
from scanner.model import Gap, Provenance, SystemFacts
from scanner.model.timerange import accepted
from scanner.model.update_ids import sp_number

__all__ = ["CV", "current_control_set", "system_facts"]

UTC = timezone.utc
CV = "Microsoft\\Windows NT\\CurrentVersion"
_ARCH = {"X86": "x86", "AMD64": "x64", "IA64": "ia64", "ARM64": "arm64"}


def current_control_set(system: Hive, gaps: list[Gap] | None = None) -> tuple[str, Provenance] | None:
    """``ControlSet00N`` from ``Select\\Current`` (falling back to ``Default``)."""
    reader = system.reader("control set", gaps if gaps is not None else [])
    select = reader.open("Select")
    if select is None:
        return None
    values = reader.values(select)
    number = values.get("Current") or values.get("Default")
    if not isinstance(number, int) or not 0 < number < 1000:
        return None
    return f"ControlSet{number:03d}", reader.provenance(select, "Current")


@dataclass
class _Key:
    """One key read for system facts: its values, or why there are none (for the gap of a missing fact)."""

    hive_name: str
    artifact: str
    path: str
    values: dict[str, Any]
    node: Node | None
    missing: str  # "" when read; else why not ("no SOFTWARE hive was read", "... has no key ...")

    def why(self, value: str) -> str:
        """Why ``value`` of this key attests nothing."""
        if self.missing:
            return self.missing
        empty = value in self.values and self.values[value] in ("", None, [])
        return f"{self.hive_name} {self.path} has {'an empty' if empty else 'no'} {value} value"

    def where(self, value: str) -> Provenance:
        return Provenance(self.artifact or f"{self.hive_name} hive", f"{self.path}\\{value}")


def _read_key(hive: Hive | None, hive_name: str, path: str, family: str, gaps: list[Gap]) -> _Key:
    if hive is None:
        return _Key(hive_name, "", path, {}, None, f"no {hive_name} hive was read")
    reader = hive.reader(family, gaps)
    node = reader.open(path)
    if node is None:
        return _Key(hive_name, hive.artifact, path, {}, None, f"{hive_name} has no readable key {path}")
    return _Key(hive_name, hive.artifact, path, reader.values(node), node, "")


class _Facts:
    """Collects attested facts, their sources, and a gap for each fact nobody attests."""

    def __init__(self) -> None:
        self.gaps: list[Gap] = []
        self.sources: list[Provenance] = []

    def attested(self, key: _Key, value: str, *, hive: Hive | None) -> None:
        if hive is not None and key.node is not None:
            self.sources.append(Provenance(hive.artifact, f"{key.path}\\{value}", hive.note))

    def unattested(self, fact: str, key: _Key, value: str, extra: str = "") -> None:
        self.gaps.append(
            Gap(f"system fact: {fact}", f"not attested: {key.why(value)}{extra}", (key.where(value),))
        )


def system_facts(software: Hive | None, system: Hive | None) -> tuple[SystemFacts, list[Gap]]:
    """Product, version, build, SP, architecture, host name, install date, system root and time zone.

    Each is read on its own from the key that attests it; what no key attests is None and a gap. Optional
    descriptors (EditionID, BuildLab, CSDVersion text) are absent on older systems and are no gaps.
    """
    out = _Facts()
    cv = _read_key(software, "SOFTWARE", CV, "system facts", out.gaps)
    v = cv.values
    if cv.node is not None and software is not None:
        out.sources.append(Provenance(software.artifact, CV, software.note))

    product = value_text(v.get("ProductName")) or None
    if product is None:
        out.unattested("product", cv, "ProductName")
    current = str(v.get("CurrentVersion", "") or "").strip("\x00 ") or None
    build_text = str(v.get("CurrentBuildNumber", "") or v.get("CurrentBuild", "") or "").strip("\x00 ")
    build = int(build_text) if build_text.isdigit() else None
    if build is None:
        out.unattested("build", cv, "CurrentBuildNumber")
    if isinstance(v.get("CurrentMajorVersionNumber"), int):  # Windows 10+: CurrentVersion is frozen at "6.3"
        current = f"{v['CurrentMajorVersionNumber']}.{v.get('CurrentMinorVersionNumber', 0)}"
    version = f"{current}.{build}" if current and build is not None else None
    if version is None:
        out.unattested("version", cv, "CurrentVersion" if current is None else "CurrentBuildNumber")
    install = v.get("InstallDate")
    install_date = None
    if isinstance(install, int) and 0 < install < 1 << 32:
        install_date = accepted(datetime.fromtimestamp(install, tz=UTC))
    if install_date is None:  # absent, or outside the accepted range (timerange.py): a malformed value
        out.unattested("install date", cv, "InstallDate")
    system_root = None
    if isinstance(v.get("SystemRoot"), str):
        system_root = v["SystemRoot"].replace("/", "\\").split(":", 1)[-1].strip("\\\x00 ") or None
    if system_root is None:
        out.unattested("system root", cv, "SystemRoot")

    ccs = current_control_set(system, out.gaps) if system is not None else None
    if ccs is not None and system is not None:
        cs, select_prov = ccs
        out.sources.append(select_prov)

        def key(path: str, family: str) -> _Key:
            return _read_key(system, "SYSTEM", f"{cs}\\{path}", family, out.gaps)
    else:
        reason = "no SYSTEM hive was read" if system is None else "SYSTEM has no readable Select\\Current"

        def key(path: str, family: str) -> _Key:
            artifact = system.artifact if system else ""
            return _Key("SYSTEM", artifact, f"ControlSet00N\\{path}", {}, None, reason)

    win = key("Control\\Windows", "system facts")
    service_pack, csd_version = _service_pack(win, cv, out, software, system)
    names = key("Control\\ComputerName\\ComputerName", "system facts")
    hostname = value_text(names.values.get("ComputerName")) or None
    if hostname:
        out.attested(names, "ComputerName", hive=system)
    else:
        out.unattested("hostname", names, "ComputerName")
    env = key("Control\\Session Manager\\Environment", "system facts")
    raw_arch = value_text(env.values.get("PROCESSOR_ARCHITECTURE"))
    architecture = _ARCH.get((raw_arch or "").upper())
    if architecture:
        out.attested(env, "PROCESSOR_ARCHITECTURE", hive=system)
    else:
        extra = f" (it reads {raw_arch!r}, which is no known architecture)" if raw_arch else ""
        out.unattested("architecture", env, "PROCESSOR_ARCHITECTURE", extra)
    tzkey = key("Control\\TimeZoneInformation", "time zone")
    timezone_facts = time_zone(tzkey.values, software, out.gaps) if tzkey.node is not None else None
    if timezone_facts is None:
        out.unattested("time zone", tzkey, "Bias")
    else:
        rule = ("StandardBias", "DaylightBias", "StandardStart", "DaylightStart")
        if lost := [name for name in rule if name not in tzkey.values]:
            out.gaps.append(
                Gap(
                    "system fact: time zone rule",
                    f"not attested: SYSTEM {tzkey.path} has no {', '.join(lost)} value(s); local times are "
                    "converted with Bias and what remains of the daylight rule (taken as no change)",
                    tuple(tzkey.where(name) for name in lost),
                )
            )
        if system is not None:
            out.sources.append(Provenance(system.artifact, tzkey.path, system.note))

    facts = SystemFacts(
        product=product,
        version=version,
        build=build,
        service_pack=service_pack,
        csd_version=csd_version,
        architecture=architecture,
        hostname=hostname,
        install_date=install_date,
        system_root=system_root,
        timezone=timezone_facts,
        edition=value_text(v.get("EditionID")) or None,
        build_lab=value_text(v.get("BuildLabEx") or v.get("BuildLab")) or None,
        sources=tuple(out.sources),
    )
    return facts, out.gaps


def _service_pack(
    win: _Key, cv: _Key, out: _Facts, software: Hive | None, system: Hive | None
) -> tuple[int | None, str | None]:
    """The SP level and the CSDVersion text, from what attests them (None and a gap when nothing does).

    In order: SYSTEM ``Control\\Windows\\CSDVersion`` (DWORD; high byte = SP major, KB158238) when non-zero;
    else SOFTWARE ``CurrentVersion\\CSDVersion`` ("Service Pack 2"); else RTM (0) when either the DWORD says
    0 or a readable CurrentVersion key of a real NT system (one that has ``CurrentBuildNumber``) has no
    CSDVersion. Why absence attests RTM: ntoskrnl rewrites ``CurrentVersion\\CSDVersion`` at every boot from
    the CSD string built into it (Q222507: a mis-built hotfix kernel shows "Service Pack 3 RC 1.32" there),
    and an RTM kernel has none, so a booted RTM system has no value (Windows 10/2016+ have none either, and
    their SYSTEM DWORD is 0, as in regipy's real Windows 10 SYSTEM hives). A CurrentVersion key without
    ``CurrentBuildNumber`` (emptied, or not a Windows SOFTWARE hive) attests nothing.
    """
    csd_text = value_text(cv.values.get("CSDVersion")) or None
    dword = win.values.get("CSDVersion")
    if isinstance(dword, int) and dword >> 8:
        out.attested(win, "CSDVersion", hive=system)
        return dword >> 8 & 0xFF, csd_text
    if csd_text:
        if (number := sp_number(csd_text)) is not None:
            out.attested(cv, "CSDVersion", hive=software)
            return number, csd_text
        extra = f" that names a service pack (it reads {csd_text!r})"
        out.unattested("service pack", cv, "CSDVersion", extra)
        return None, csd_text
    if isinstance(dword, int):
        out.attested(win, "CSDVersion", hive=system)
        return 0, None
    has_build = any(name in cv.values for name in ("CurrentBuildNumber", "CurrentBuild"))
    if cv.node is not None and has_build:
        out.attested(cv, "CurrentBuildNumber", hive=software)  # RTM: a readable NT key without CSDVersion
        return 0, None
    why = win.why("CSDVersion") + "; and " + (cv.why("CurrentBuildNumber") if not cv.missing else cv.missing)
    out.gaps.append(
        Gap(
            "system fact: service pack",
            f"not attested: {why}",
            (win.where("CSDVersion"), cv.where("CSDVersion")),
        )
    )
    return None, None
