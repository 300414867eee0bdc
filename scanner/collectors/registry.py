"""Registry collector: system facts, update records and pending operations from SOFTWARE and SYSTEM.

Layouts (reference: libyal winreg-kb; Microsoft KB184305, KB262841, KB888535; TechNet CBS states):
- ``SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion``: ProductName, CurrentVersion, CurrentBuildNumber,
  CSDVersion, InstallDate (Unix seconds, UTC), SystemRoot, EditionID, BuildLab.
- ``SYSTEM\\Select\\Current`` names the control set (there is no CurrentControlSet offline); in it
  ``Control\\Windows\\CSDVersion`` (DWORD, high byte = SP major), ``Control\\ComputerName\\ComputerName``,
  ``Control\\TimeZoneInformation``, ``Control\\Session Manager\\Environment\\PROCESSOR_ARCHITECTURE`` and
  ``Control\\Session Manager\\PendingFileRenameOperations``.
- Updates: ``…\\CurrentVersion\\Hotfix\\<id>`` (only ``Installed`` is guaranteed; value types vary),
  ``SOFTWARE\\Microsoft\\Updates\\<product>\\<SPn>\\<id>`` (+ ``Filelist\\<n>``), Add/Remove Programs
  ``…\\Uninstall\\<id>``, and Vista+ CBS ``Packages\\<identity>``.

One :class:`UpdateRecord` per update id; each registry key that attests it is one of its ``sources``.
``installed_at`` comes from the most precise source: CBS InstallTimeHigh/Low, else the Updates/Hotfix key's
last-write time (second precision; the installer wrote the key at install), else the Uninstall
``InstallDate`` (a local date: ``day`` precision, converted at local midnight).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from Registry import Registry

from scanner.collectors.localtime import local_date_to_utc
from scanner.collectors.update_ids import normalise_update_id
from scanner.model import (
    Gap,
    PendingRename,
    Precision,
    Provenance,
    RecordedFile,
    SoftwareInstall,
    SourceTime,
    SystemFacts,
    TimeZoneFacts,
    UpdateRecord,
)

UTC = timezone.utc
CV = "Microsoft\\Windows NT\\CurrentVersion"
UNINSTALL = "Microsoft\\Windows\\CurrentVersion\\Uninstall"
CBS = "Microsoft\\Windows\\CurrentVersion\\Component Based Servicing"

#: CBS CurrentState values (TechNet "CBS Servicing States Chart"); negative = that state, but broken.
CBS_STATES = {
    0x00: "absent",
    0x05: "uninstall-pending",
    0x10: "resolving",
    0x20: "resolved",
    0x30: "staging",
    0x40: "staged",
    0x50: "superseded",
    0x60: "install-pending",
    0x65: "partially-installed",
    0x70: "installed",
    0x80: "permanent",
}


@dataclass(frozen=True)
class Hive:
    """A parsed hive and where it came from (for provenance)."""

    registry: Registry.Registry
    artifact: str
    note: str = ""  # e.g. "recovered from transaction log software.LOG"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _open(hive: Hive, path: str) -> Registry.RegistryKey | None:
    try:
        return hive.registry.open(path)
    except Registry.RegistryKeyNotFoundException:
        return None


def _values(key: Registry.RegistryKey) -> dict[str, Any]:
    """All values of a key by name; unreadable values are skipped (a hostile hive must not stop us)."""
    out: dict[str, Any] = {}
    for value in key.values():
        try:
            out[value.name()] = value.value()
        except Exception:  # noqa: BLE001 - python-registry raises many types on corrupt cells
            continue
    return out


def _prov(hive: Hive, key: Registry.RegistryKey, value: str = "") -> Provenance:
    path = key.path().split("\\", 1)[1] if "\\" in key.path() else ""
    locator = f"{path}\\{value}" if value else path
    return Provenance(hive.artifact, locator, hive.note)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ";".join(str(v) for v in value if v)
    if isinstance(value, bytes):
        return value.hex()
    return str(value).rstrip("\x00")


def current_control_set(system: Hive) -> tuple[str, Provenance] | None:
    """``ControlSet00N`` from ``Select\\Current`` (falling back to ``Default``)."""
    select = _open(system, "Select")
    if select is None:
        return None
    values = _values(select)
    number = values.get("Current") or values.get("Default")
    if not isinstance(number, int):
        return None
    return f"ControlSet{number:03d}", _prov(system, select, "Current")


def _systemtime(raw: Any) -> tuple[int, ...]:
    if isinstance(raw, bytes) and len(raw) >= 16:
        return struct.unpack("<8H", raw[:16])
    return ()


def _signed(value: Any) -> int:
    return value - (1 << 32) if isinstance(value, int) and value >= 1 << 31 else int(value or 0)


def _timezone(system: Hive, ccs: str) -> tuple[TimeZoneFacts | None, list[Provenance]]:
    key = _open(system, f"{ccs}\\Control\\TimeZoneInformation")
    if key is None:
        return None, []
    v = _values(key)
    tz = TimeZoneFacts(
        key_name=str(v.get("TimeZoneKeyName") or v.get("StandardName") or ""),
        standard_name=str(v.get("StandardName", "")),
        daylight_name=str(v.get("DaylightName", "")),
        bias_minutes=_signed(v.get("Bias", 0)),
        standard_bias=_signed(v.get("StandardBias", 0)),
        daylight_bias=_signed(v.get("DaylightBias", 0)),
        standard_start=_systemtime(v.get("StandardStart")),
        daylight_start=_systemtime(v.get("DaylightStart")),
        active_bias=_signed(v["ActiveTimeBias"]) if "ActiveTimeBias" in v else None,
    )
    return tz, [_prov(system, key)]


def system_facts(software: Hive | None, system: Hive | None) -> tuple[SystemFacts, list[Gap]]:
    """Product, version, build, SP, architecture, host name, install date, system root and time zone."""
    gaps: list[Gap] = []
    sources: list[Provenance] = []
    v: dict[str, Any] = {}
    if software is not None and (cv := _open(software, CV)) is not None:
        v = _values(cv)
        sources.append(_prov(software, cv))
    else:
        gaps.append(Gap("system facts from SOFTWARE", "SOFTWARE hive or its CurrentVersion key is missing"))
    current = str(v.get("CurrentVersion", "") or "") or None
    build_text = str(v.get("CurrentBuildNumber", "") or v.get("CurrentBuild", "") or "")
    build = int(build_text) if build_text.isdigit() else None
    if isinstance(v.get("CurrentMajorVersionNumber"), int):  # Windows 10+: CurrentVersion is frozen at "6.3"
        current = f"{v['CurrentMajorVersionNumber']}.{v.get('CurrentMinorVersionNumber', 0)}"
    version = f"{current}.{build}" if current and build is not None else None
    install = v.get("InstallDate")
    install_date = (
        datetime.fromtimestamp(install, tz=UTC) if isinstance(install, int) and install > 0 else None
    )
    system_root = None
    if isinstance(v.get("SystemRoot"), str):
        system_root = v["SystemRoot"].replace("/", "\\").split(":", 1)[-1].strip("\\") or None

    service_pack = 0
    hostname = architecture = None
    timezone_facts = None
    if system is not None and (ccs := current_control_set(system)) is not None:
        cs, select_prov = ccs
        sources.append(select_prov)
        if (win := _open(system, f"{cs}\\Control\\Windows")) is not None:
            csd = _values(win).get("CSDVersion")
            if isinstance(csd, int):
                service_pack = csd >> 8
                sources.append(_prov(system, win, "CSDVersion"))
        if (cn := _open(system, f"{cs}\\Control\\ComputerName\\ComputerName")) is not None:
            hostname = _text(_values(cn).get("ComputerName"))
            sources.append(_prov(system, cn, "ComputerName"))
        if (env := _open(system, f"{cs}\\Control\\Session Manager\\Environment")) is not None:
            raw_arch = str(_values(env).get("PROCESSOR_ARCHITECTURE", "")).upper()
            architecture = {"X86": "x86", "AMD64": "x64", "IA64": "ia64", "ARM64": "arm64"}.get(raw_arch)
            sources.append(_prov(system, env, "PROCESSOR_ARCHITECTURE"))
        timezone_facts, tz_sources = _timezone(system, cs)
        sources += tz_sources
    else:
        gaps.append(Gap("system facts from SYSTEM", "SYSTEM hive or its Select key is missing"))
    csd_version = _text(v.get("CSDVersion"))
    if service_pack == 0 and csd_version:  # no SYSTEM hive: fall back on the CSDVersion string
        match = re.search(r"Service Pack (\d+)", csd_version)
        service_pack = int(match.group(1)) if match else 0
    facts = SystemFacts(
        product=_text(v.get("ProductName")),
        version=version,
        build=build,
        service_pack=service_pack,
        csd_version=csd_version,
        architecture=architecture,
        hostname=hostname,
        install_date=install_date,
        system_root=system_root,
        timezone=timezone_facts,
        edition=_text(v.get("EditionID")),
        build_lab=_text(v.get("BuildLabEx") or v.get("BuildLab")),
        sources=tuple(sources),
    )
    return facts, gaps


@dataclass
class _Draft:
    """An update record being assembled from several keys."""

    id: str
    kind: str = "hotfix"
    installed_at: datetime | None = None
    precision: Precision | None = None
    state: str = "installed"
    files: list[RecordedFile] = field(default_factory=list)
    sources: list[Provenance] = field(default_factory=list)
    sp_folder: int | None = None
    description: str | None = None
    details: dict[str, str] = field(default_factory=dict)
    times: list[SourceTime] = field(default_factory=list)
    _rank: int = 99

    def when(
        self, at: datetime, precision: Precision, rank: int, says: str = "", source: Provenance | None = None
    ) -> None:
        """Record one source's time claim; ``installed_at`` keeps the most precise (lower rank wins)."""
        if source is not None:
            self.times.append(SourceTime(at, precision, says, source))
        if rank < self._rank:
            self.installed_at, self.precision, self._rank = at, precision, rank

    def freeze(self) -> UpdateRecord:
        return UpdateRecord(
            self.id,
            self.kind,
            self.installed_at,
            self.precision,
            self.state,
            tuple(self.files),
            tuple(self.sources),
            self.sp_folder,
            self.description,
            tuple(sorted(self.details.items())),
            tuple(self.times),
        )


def _draft(drafts: dict[str, _Draft], update_id: str) -> _Draft:
    return drafts.setdefault(update_id, _Draft(update_id))


def _hotfix_keys(software: Hive, drafts: dict[str, _Draft], tz: TimeZoneFacts | None) -> None:
    root = _open(software, f"{CV}\\Hotfix")
    for key in root.subkeys() if root is not None else []:
        update_id = normalise_update_id(key.name())
        if update_id is None:
            continue
        v = _values(key)
        d = _draft(drafts, update_id)
        d.sources.append(_prov(software, key))
        d.when(_utc(key.timestamp()), "second", 2, "Hotfix key last written", _prov(software, key))
        if claim := _day_claim(software, key, v, "Installed On", tz):
            d.when(claim.at, "day", 5, claim.says, claim.source)
        d.description = d.description or _text(v.get("Fix Description") or v.get("Comments"))
        if isinstance(v.get("Service Pack"), int):
            d.details["hotfix_service_pack"] = str(v["Service Pack"])
        for name in ("Installed", "Installed By", "Installed On", "Backup Dir", "Valid"):
            if name in v:
                d.details[f"hotfix_{name.lower().replace(' ', '_')}"] = _text(v[name]) or ""
        if v.get("Installed") not in (None, 1, "1"):
            d.state = "unknown"


def _filelist(software: Hive, key: Registry.RegistryKey) -> list[RecordedFile]:
    try:
        fl = key.subkey("Filelist")
    except Registry.RegistryKeyNotFoundException:
        return []
    files = []
    for entry in fl.subkeys()[:10_000]:
        v = _values(entry)
        name = _text(v.get("FileName"))
        if name:
            files.append(RecordedFile(name, _text(v.get("Version")), _text(v.get("Location"))))
    return files


def _updates_keys(software: Hive, drafts: dict[str, _Draft], tz: TimeZoneFacts | None) -> None:
    root = _open(software, "Microsoft\\Updates")
    for product in root.subkeys() if root is not None else []:
        for level in product.subkeys():
            match = re.fullmatch(r"(?i)SP(\d+)", level.name())
            children = level.subkeys() if match else [level]
            for key in children:
                update_id = normalise_update_id(key.name())
                if update_id is None:
                    continue
                v = _values(key)
                d = _draft(drafts, update_id)
                d.sources.append(_prov(software, key))
                d.when(_utc(key.timestamp()), "second", 1, "Updates key last written", _prov(software, key))
                if claim := _day_claim(software, key, v, "InstalledDate", tz):
                    d.when(claim.at, "day", 5, claim.says, claim.source)
                d.sp_folder = int(match.group(1)) if match else d.sp_folder
                d.description = _text(v.get("Description")) or d.description
                d.details["updates_product"] = product.name()
                for name in ("InstalledBy", "InstalledDate", "Type", "PackageName", "PackageVersion"):
                    if name in v:
                        d.details[f"updates_{name.lower()}"] = _text(v[name]) or ""
                if str(v.get("Type", "")).lower() == "update":
                    d.kind = "update"
                d.files = _filelist(software, key) or d.files


def _local_date(text: str, tz: TimeZoneFacts | None) -> datetime | None:
    """A registry local date -> the UTC instant of local midnight (precision: day).

    ``YYYYMMDD`` (Uninstall ``InstallDate``) or ``M/D/YYYY`` (Hotfix ``Installed On``, Updates
    ``InstalledDate``: update.exe writes the US form whatever the locale). Other spellings are not guessed.
    """
    text = text.strip().rstrip("\x00")
    if match := re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text):
        year, month, day = (int(g) for g in match.groups())
    elif match := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text):
        month, day, year = (int(g) for g in match.groups())
    else:
        return None
    return local_date_to_utc(year, month, day, tz)


def _day_claim(
    hive: Hive, key: Registry.RegistryKey, values: dict[str, Any], name: str, tz: TimeZoneFacts | None
) -> SourceTime | None:
    """A local-date value (``Installed On``, ``InstalledDate``, ``InstallDate``) as a day-precision claim."""
    text = values.get(name)
    day = _local_date(text, tz) if isinstance(text, str) else None
    if day is None:
        return None
    return SourceTime(day, "day", f"{name} = {text} (local date)", _prov(hive, key, name))


def _uninstall_keys(software: Hive, drafts: dict[str, _Draft], tz: TimeZoneFacts | None) -> None:
    root = _open(software, UNINSTALL)
    for key in root.subkeys() if root is not None else []:
        v = _values(key)
        name = key.name()
        release = str(v.get("ReleaseType", ""))
        if release.lower() == "service pack" or re.search(r"(?i)service pack$", name):
            update_id = str(v.get("DisplayName") or name)
            d = _draft(drafts, update_id)
            d.kind = "service-pack"
        else:
            found = normalise_update_id(name)
            if found is None or str(v.get("ParentKeyName", "")) != "OperatingSystem" and not release:
                continue
            d = _draft(drafts, found)
            if release.lower() == "update" and d.kind == "hotfix":
                d.kind = "update"
        d.sources.append(_prov(software, key))
        d.description = d.description or _text(v.get("DisplayName"))
        for value in ("ReleaseType", "ParentKeyName", "InstallDate", "UninstallString", "RegistryLocation"):
            if value in v:
                d.details[f"uninstall_{value.lower()}"] = _text(v[value]) or ""
        if claim := _day_claim(software, key, v, "InstallDate", tz):
            d.when(claim.at, "day", 3, claim.says, claim.source)
        rank = 4 if d.kind == "service-pack" else 6
        d.when(_utc(key.timestamp()), "second", rank, "Uninstall key last written", _prov(software, key))


def _cbs_packages(software: Hive, drafts: dict[str, _Draft]) -> None:
    root = _open(software, f"{CBS}\\Packages")
    for key in root.subkeys() if root is not None else []:
        v = _values(key)
        identity = key.name()
        update_id = normalise_update_id(identity.split("~", 1)[0]) or identity.split("~", 1)[0]
        d = _draft(drafts, update_id)
        d.kind = "package"
        d.sources.append(_prov(software, key))
        state = v.get("CurrentState")
        if isinstance(state, int):
            signed = _signed(state)
            name = CBS_STATES.get(abs(signed), f"0x{abs(signed):x}")
            d.state = f"broken-{name}" if signed < 0 else name
            d.details["cbs_current_state"] = f"0x{state:x}"
        high, low = v.get("InstallTimeHigh"), v.get("InstallTimeLow")
        if isinstance(high, int) and isinstance(low, int) and (high or low):
            filetime = (high << 32) | low
            at = datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=filetime // 10)
            d.when(at, "second", 0, "InstallTimeHigh/Low", _prov(software, key, "InstallTimeHigh"))
        for value in ("InstallClient", "InstallUser", "InstallName", "SelfUpdate", "Visibility"):
            if value in v:
                d.details[f"cbs_{value.lower()}"] = _text(v[value]) or ""
        d.details["cbs_identity"] = identity


def update_records(
    software: Hive | None, tz: TimeZoneFacts | None = None
) -> tuple[list[UpdateRecord], list[Gap]]:
    """Every SP, hotfix, update and CBS package the SOFTWARE hive records, one record per update id."""
    if software is None:
        return [], [Gap("update records", "SOFTWARE hive is missing or unreadable")]
    drafts: dict[str, _Draft] = {}
    _hotfix_keys(software, drafts, tz)
    _updates_keys(software, drafts, tz)
    _uninstall_keys(software, drafts, tz)
    _cbs_packages(software, drafts)
    records = [d.freeze() for d in drafts.values()]
    return sorted(records, key=lambda r: (r.installed_at or datetime.max.replace(tzinfo=UTC), r.id)), []


def software_installs(software: Hive | None, tz: TimeZoneFacts | None = None) -> list[SoftwareInstall]:
    """Add/Remove Programs entries that are not Microsoft updates: installers that may put old DLLs back.

    Q281402 cause 2: "other software may have put back older DLLs". Matching a program's install time with
    the creation time of a system file below its service-pack level is how the rules attribute it.
    """
    if software is None:
        return []
    root = _open(software, UNINSTALL)
    found: list[SoftwareInstall] = []
    for key in root.subkeys()[:20_000] if root is not None else []:
        v = _values(key)
        release = str(v.get("ReleaseType", ""))
        if release or str(v.get("ParentKeyName", "")) == "OperatingSystem" or normalise_update_id(key.name()):
            continue
        if re.search(r"(?i)service pack$", key.name()) or not v.get("DisplayName"):
            continue
        times: list[SourceTime] = []
        if claim := _day_claim(software, key, v, "InstallDate", tz):
            times.append(claim)
        times.append(SourceTime(_utc(key.timestamp()), "second", "Uninstall key last written",
                                _prov(software, key)))
        found.append(
            SoftwareInstall(
                name=str(_text(v.get("DisplayName"))),
                publisher=_text(v.get("Publisher")),
                version=_text(v.get("DisplayVersion")),
                install_location=_text(v.get("InstallLocation")),
                installed_at=times[0].at,
                precision=times[0].precision,
                times=tuple(times),
                source=_prov(software, key),
            )
        )
    return found


def iis_setup_time(software: Hive | None) -> tuple[int, SourceTime] | None:
    """``SOFTWARE\\Microsoft\\InetStp``: IIS's major version and the key's last write (its setup time)."""
    key = _open(software, "Microsoft\\InetStp") if software is not None else None
    if key is None or software is None:
        return None
    major = _values(key).get("MajorVersion")
    if not isinstance(major, int):
        return None
    says = f"InetStp key last written (IIS MajorVersion {major})"
    return major, SourceTime(_utc(key.timestamp()), "second", says, _prov(software, key))


def _nt_path(text: str) -> tuple[str, bool]:
    """``!\\??\\C:\\x`` -> (``C:\\x``, replace_existing)."""
    replace_existing = text.startswith("!")
    text = text.lstrip("!")
    for prefix in ("\\??\\", "\\\\?\\"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text, replace_existing


def pending_renames(system: Hive | None) -> list[PendingRename]:
    """PendingFileRenameOperations(2): (source, destination) pairs; empty destination = delete at boot."""
    if system is None or (ccs := current_control_set(system)) is None:
        return []
    key = _open(system, f"{ccs[0]}\\Control\\Session Manager")
    if key is None:
        return []
    out = []
    for name in ("PendingFileRenameOperations", "PendingFileRenameOperations2"):
        raw = _values(key).get(name)
        items = [s for s in raw if isinstance(s, str)] if isinstance(raw, list) else []
        prov = _prov(system, key, name)
        for src, dst in zip(items[0::2], items[1::2], strict=False):
            if not src:
                continue
            source, _ = _nt_path(src)
            destination, replace_existing = _nt_path(dst)
            out.append(PendingRename(source, destination, replace_existing, (prov,)))
    return out


def servicing_markers(software: Hive | None) -> Iterator[tuple[str, str, Provenance]]:
    """Reboot/incomplete-install markers and the SP source path, as (name, value, provenance) facts."""
    if software is None:
        return
    if (key := _open(software, f"{CBS}\\RebootPending")) is not None:
        names = ",".join(v.name() for v in key.values()) or "present"
        yield "cbs_reboot_pending", names, _prov(software, key)
    if (key := _open(software, "Microsoft\\Updates\\UpdateExeVolatile")) is not None:
        yield "update_exe_volatile", _text(_values(key).get("Flags")) or "present", _prov(software, key)
    if (key := _open(software, "Microsoft\\Windows\\CurrentVersion\\Setup")) is not None:
        v = _values(key)
        for name in ("ServicePackSourcePath", "SourcePath"):
            if name in v:
                yield name, _text(v[name]) or "", _prov(software, key, name)


def with_note(record: UpdateRecord, note: str) -> UpdateRecord:
    """Mark every source of a record (e.g. 'recovered from transaction log')."""
    return replace(record, sources=tuple(replace(s, note=note) for s in record.sources))
