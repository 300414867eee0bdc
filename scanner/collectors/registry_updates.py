"""Update records and installed programs from the SOFTWARE hive, each key family read on its own.

- ``…\\CurrentVersion\\Hotfix\\<id>`` (only ``Installed`` is guaranteed; value types vary),
- ``Microsoft\\Updates\\<product>\\<SPn>\\<id>`` (+ ``Filelist\\<n>``),
- Add/Remove Programs ``…\\Uninstall\\<id>`` (hotfix, update and SP entries; programs),
- Vista+ CBS ``Component Based Servicing\\Packages\\<identity>`` (TechNet "CBS Servicing States Chart").

One :class:`UpdateRecord` per update id; each key that attests it is one of its ``sources``. ``installed_at``
comes from the most precise source that dates the install itself: CBS InstallTimeHigh/Low, else the
Updates/Hotfix key's last write (the installer wrote the key at install), else the Uninstall ``InstallDate``
(``YYYYMMDD``, a local date: ``day`` precision, local midnight converted with the image's zone). An Uninstall
key's last write is only when the key was last written — a repair, an upgrade or a later update rewrites it —
so it never outranks ``InstallDate``; when it falls outside that local day it is kept as a claim marked
``bound="not-after"`` (the install happened no later than it), which the timeline does not place by.

Each family (Hotfix, Updates, Uninstall, CBS packages, programs) is read through :mod:`regsafe`: a damaged
key or value is skipped with a gap naming the hive and key path, and the rest still counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from scanner.collectors.regsafe import Hive, HiveReader, Node, guarded, signed_dword, value_text
from scanner.formats.filetime import filetime
from scanner.model import (
    Gap,
    Precision,
    Provenance,
    RecordedFile,
    SourceTime,
    TimeZoneFacts,
    UpdateRecord,
)
from scanner.model.localtime import local_date_to_utc, zone_clock
from scanner.model.timerange import accepted
from scanner.model.update_ids import names_service_pack, normalise_update_id, sp_folder_level

UTC = timezone.utc
CV = "Microsoft\\Windows NT\\CurrentVersion"
UNINSTALL = "Microsoft\\Windows\\CurrentVersion\\Uninstall"
CBS = "Microsoft\\Windows\\CurrentVersion\\Component Based Servicing"
DAY = timedelta(days=1)
_MAX_FILES = 10_000

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
    hotfix_service_pack: int | None = None
    package_name: str | None = None
    uninstall_command: str | None = None
    cbs_state: int | None = None
    _rank: int = 99

    def when(
        self, at: datetime, precision: Precision, rank: int, says: str = "", source: Provenance | None = None,
        anchor: bool = False,
    ) -> None:
        """Record one source's time claim; ``installed_at`` keeps the most precise (lower rank wins)."""
        if source is not None:
            self.times.append(SourceTime(at, precision, says, source, anchor=anchor))
        if rank < self._rank:
            self.installed_at, self.precision, self._rank = at, precision, rank

    def claim(self, claim: SourceTime, rank: int) -> None:
        """A claim built elsewhere (an ``InstallDate`` day, or a key write bounded by it)."""
        self.times.append(claim)
        if claim.bound == "at" and rank < self._rank:
            self.installed_at, self.precision, self._rank = claim.at, claim.precision, rank

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
            self.hotfix_service_pack,
            self.package_name,
            self.uninstall_command,
            cbs_state=self.cbs_state,
        )


def _draft(drafts: dict[str, _Draft], update_id: str) -> _Draft:
    return drafts.setdefault(update_id, _Draft(update_id))


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
    return accepted(local_date_to_utc(year, month, day, tz))  # out of range: malformed, not a claim


def _day_claim(
    reader: HiveReader, key: Node, values: dict[str, Any], name: str, tz: TimeZoneFacts | None
) -> SourceTime | None:
    """A local-date value (``Installed On``, ``InstalledDate``, ``InstallDate``) as a day-precision claim."""
    text = values.get(name)
    day = _local_date(text, tz) if isinstance(text, str) else None
    if day is None:
        return None
    return SourceTime(
        day, "day", f"{name} = {text} (local date)", reader.provenance(key, name), clock=zone_clock(tz)
    )


def uninstall_times(
    reader: HiveReader, key: Node, values: dict[str, Any], tz: TimeZoneFacts | None
) -> tuple[SourceTime | None, SourceTime | None]:
    """(``InstallDate`` claim, key last-write claim) of an Uninstall key.

    The last write dates the install only when it falls on the ``InstallDate``'s local day (or there is no
    InstallDate); otherwise the key was rewritten later and the claim is a ``not-after`` bound.
    """
    day = _day_claim(reader, key, values, "InstallDate", tz)
    written = reader.timestamp(key)
    if written is None:
        return day, None
    if day is None or day.at <= written < day.at + DAY:
        return day, SourceTime(written, "second", "Uninstall key last written", reader.provenance(key))
    says = "Uninstall key last written (after its InstallDate's day: rewritten since the install)"
    return day, SourceTime(written, "second", says, reader.provenance(key), bound="not-after")


def _hotfix_keys(reader: HiveReader, drafts: dict[str, _Draft], tz: TimeZoneFacts | None) -> None:
    root = reader.open(f"{CV}\\Hotfix")
    for key in reader.subkeys(root) if root is not None else []:
        update_id = normalise_update_id(key.name)
        if update_id is None:
            continue
        v = reader.values(key)
        d = _draft(drafts, update_id)
        d.sources.append(reader.provenance(key))
        if (written := reader.timestamp(key)) is not None:
            d.when(written, "second", 2, "Hotfix key last written", reader.provenance(key))
        if claim := _day_claim(reader, key, v, "Installed On", tz):
            d.claim(claim, 5)
        d.description = d.description or value_text(v.get("Fix Description") or v.get("Comments"))
        if isinstance(v.get("Service Pack"), int):
            d.details["hotfix_service_pack"] = str(v["Service Pack"])
            d.hotfix_service_pack = v["Service Pack"]
        for name in ("Installed", "Installed By", "Installed On", "Backup Dir", "Valid"):
            if name in v:
                d.details[f"hotfix_{name.lower().replace(' ', '_')}"] = value_text(v[name]) or ""
        if v.get("Installed") not in (None, 1, "1"):
            d.state = "unknown"


def _filelist(reader: HiveReader, key: Node) -> list[RecordedFile]:
    fl = reader.subkey(key, "Filelist")
    files = []
    for entry in reader.subkeys(fl, _MAX_FILES) if fl is not None else []:
        v = reader.values(entry)
        name = value_text(v.get("FileName"))
        if name:
            files.append(RecordedFile(name, value_text(v.get("Version")), value_text(v.get("Location"))))
    return files


def _updates_keys(reader: HiveReader, drafts: dict[str, _Draft], tz: TimeZoneFacts | None) -> None:
    root = reader.open("Microsoft\\Updates")
    for product in reader.subkeys(root) if root is not None else []:
        for level in reader.subkeys(product):
            folder = sp_folder_level(level.name)
            children = reader.subkeys(level) if folder is not None else [level]
            for key in children:
                update_id = normalise_update_id(key.name)
                if update_id is None:
                    continue
                v = reader.values(key)
                d = _draft(drafts, update_id)
                d.sources.append(reader.provenance(key))
                if (written := reader.timestamp(key)) is not None:
                    d.when(written, "second", 1, "Updates key last written", reader.provenance(key))
                if claim := _day_claim(reader, key, v, "InstalledDate", tz):
                    d.claim(claim, 5)
                d.sp_folder = folder if folder is not None else d.sp_folder
                d.description = value_text(v.get("Description")) or d.description
                d.details["updates_product"] = product.name
                for name in ("InstalledBy", "InstalledDate", "Type", "PackageName", "PackageVersion"):
                    if name in v:
                        d.details[f"updates_{name.lower()}"] = value_text(v[name]) or ""
                d.package_name = value_text(v.get("PackageName")) or d.package_name
                if str(v.get("Type", "")).lower() == "update":
                    d.kind = "update"
                d.files = _filelist(reader, key) or d.files


def _uninstall_keys(reader: HiveReader, drafts: dict[str, _Draft], tz: TimeZoneFacts | None) -> None:
    root = reader.open(UNINSTALL)
    for key in reader.subkeys(root) if root is not None else []:
        v = reader.values(key)
        name = key.name
        release = str(v.get("ReleaseType", ""))
        if release.lower() == "service pack" or names_service_pack(name):
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
        d.sources.append(reader.provenance(key))
        d.description = d.description or value_text(v.get("DisplayName"))
        for value in ("ReleaseType", "ParentKeyName", "InstallDate", "UninstallString", "RegistryLocation"):
            if value in v:
                d.details[f"uninstall_{value.lower()}"] = value_text(v[value]) or ""
        d.uninstall_command = value_text(v.get("UninstallString")) or d.uninstall_command
        day, written = uninstall_times(reader, key, v, tz)
        if day is not None:
            d.claim(day, 3)
        if written is not None:
            d.claim(written, 4 if d.kind == "service-pack" else 6)


def _cbs_packages(reader: HiveReader, drafts: dict[str, _Draft]) -> None:
    root = reader.open(f"{CBS}\\Packages")
    for key in reader.subkeys(root) if root is not None else []:
        v = reader.values(key)
        identity = key.name
        update_id = normalise_update_id(identity.split("~", 1)[0]) or identity.split("~", 1)[0]
        d = _draft(drafts, update_id)
        d.kind = "package"
        d.sources.append(reader.provenance(key))
        state = v.get("CurrentState")
        if isinstance(state, int):
            signed = signed_dword(state)
            name = CBS_STATES.get(abs(signed), f"0x{abs(signed):x}")
            d.state = f"broken-{name}" if signed < 0 else name
            d.details["cbs_current_state"] = f"0x{state:x}"
            d.cbs_state = state
        high, low = v.get("InstallTimeHigh"), v.get("InstallTimeLow")
        if isinstance(high, int) and isinstance(low, int) and (high or low):
            at = accepted(filetime((high << 32) | low))
            if at is not None:  # out of range: a malformed value, the package stays undated by CBS
                d.when(at, "second", 0, "InstallTimeHigh/Low", reader.provenance(key, "InstallTimeHigh"),
                       anchor=True)
        for value in ("InstallClient", "InstallUser", "InstallName", "SelfUpdate", "Visibility"):
            if value in v:
                d.details[f"cbs_{value.lower()}"] = value_text(v[value]) or ""
        d.details["cbs_identity"] = identity
        d.package_name = identity


def update_records(
    software: Hive | None, tz: TimeZoneFacts | None = None
) -> tuple[list[UpdateRecord], list[Gap]]:
    """Every SP, hotfix, update and CBS package the SOFTWARE hive records, one record per update id.

    The four key families are read one after the other, each on its own: a damaged Hotfix key costs the
    Hotfix records it held (and says so), not the Uninstall or CBS ones.
    """
    if software is None:
        return [], [Gap("update records", "SOFTWARE hive is missing or unreadable")]
    drafts: dict[str, _Draft] = {}
    gaps: list[Gap] = []
    guarded("update records (Hotfix keys)", software, gaps, lambda r: _hotfix_keys(r, drafts, tz), None)
    guarded("update records (Updates keys)", software, gaps, lambda r: _updates_keys(r, drafts, tz), None)
    guarded("update records (Uninstall keys)", software, gaps, lambda r: _uninstall_keys(r, drafts, tz), None)
    guarded("update records (CBS packages)", software, gaps, lambda r: _cbs_packages(r, drafts), None)
    records = [d.freeze() for d in drafts.values()]
    return sorted(records, key=lambda r: (r.installed_at or datetime.max.replace(tzinfo=UTC), r.id)), gaps
