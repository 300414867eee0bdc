"""Partial registry results: a damaged hive gives the facts its intact keys hold, plus gaps naming the rest.

The hives are the committed kb973917-iis6 image's own SOFTWARE and SYSTEM (read with the evidence layer),
damaged in memory: a targeted cell like the one in regipy's real ``corrupted_system_hive`` (an ``nk`` entry
of ``ControlSet001\\Control``'s subkey list that is no ``nk`` record), then cells chosen at random with fixed
seeds. Every registry collector runs on real python-registry parsing; nothing is mocked.
"""

from __future__ import annotations

import io
import json
import random
import struct
from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from dissect.target import Target
from Registry import Registry

from fixtures.factory.regf import HiveBuilder
from scanner.cli import cli
from scanner.collectors.hive import open_hive, read_hive_files
from scanner.collectors.registry import (
    Hive,
    iis_setup_time,
    pending_renames,
    servicing_markers,
    software_installs,
    system_facts,
    update_records,
)
from scanner.collectors.regsafe import HiveReader
from scanner.model import Gap, SystemFacts

IMAGE = Path(__file__).resolve().parents[3] / "fixtures" / "images" / "kb973917-iis6.vhd"
SOFTWARE = "WINDOWS\\system32\\config\\SOFTWARE"
SYSTEM = "WINDOWS\\system32\\config\\SYSTEM"
T0 = datetime(2009, 6, 1, 8, 0, tzinfo=UTC)
_SIGNATURES = (b"nk", b"vk", b"lf", b"lh", b"li", b"ri")


@pytest.fixture(scope="module")
def hive_bytes() -> Iterator[dict[str, bytes]]:
    target = Target.open(IMAGE)
    fs = target.filesystems[0]
    yield {name: read_hive_files(fs, f"WINDOWS/system32/config/{name}")[0] for name in ("SOFTWARE", "SYSTEM")}


def _hive(data: bytes, artifact: str) -> Hive:
    return Hive(Registry.Registry(io.BytesIO(data)), artifact)


def _everything(software: bytes, system: bytes) -> tuple[SystemFacts, dict[str, Any], list[Gap]]:
    """Every registry collector over the two hives, as the pipeline calls them."""
    sw, sy = _hive(software, SOFTWARE), _hive(system, SYSTEM)
    facts, gaps = system_facts(sw, sy)
    updates, more = update_records(sw, facts.timezone)
    gaps += more
    out = {
        "updates": {u.id: u for u in updates},
        "software": {p.name: p for p in software_installs(sw, facts.timezone, gaps)},
        "renames": pending_renames(sy, gaps),
        "markers": list(servicing_markers(sw, gaps)),
        "iis": iis_setup_time(sw, gaps),
    }
    return facts, out, gaps


def _cells(data: bytes) -> list[tuple[int, bytes]]:
    """(data offset, signature) of every allocated cell that holds a key, value or subkey-list record."""
    found = []
    offset = 4096
    while offset + 32 <= len(data) and data[offset : offset + 4] == b"hbin":
        size = struct.unpack_from("<I", data, offset + 8)[0]
        if size < 4096:
            break
        cell = offset + 32
        while cell + 4 <= min(offset + size, len(data)):
            length = struct.unpack_from("<i", data, cell)[0]
            if length == 0:
                break
            if length < 0 and data[cell + 4 : cell + 6] in _SIGNATURES:
                found.append((cell + 4, data[cell + 4 : cell + 6]))
            cell += abs(length)
        offset += size
    return found


def _key_offset(data: bytes, path: str) -> int:
    """Absolute offset of the key's ``nk`` record (python-registry offsets are offsets into the file)."""
    return int(Registry.Registry(io.BytesIO(data)).open(path)._nkrecord.offset())


def _clobber(data: bytes, *offsets: int) -> bytes:
    buf = bytearray(data)
    for offset in offsets:
        buf[offset : offset + 2] = b"\x00\x00"
    return bytes(buf)


def test_intact_hives_give_every_fact_and_no_registry_gap(hive_bytes: dict[str, bytes]) -> None:
    facts, out, gaps = _everything(hive_bytes["SOFTWARE"], hive_bytes["SYSTEM"])
    assert gaps == []
    assert facts.service_pack == 2 and facts.hostname and facts.architecture and facts.timezone
    assert "KB921883" in out["updates"] and out["software"] == {}  # KB973917 is only in software.LOG


def test_broken_sibling_nk_costs_only_that_key_like_the_real_corrupted_hive(
    hive_bytes: dict[str, bytes],
) -> None:
    """python-registry alone fails every key listed after a broken entry; read key by key, they survive."""
    system = _clobber(
        hive_bytes["SYSTEM"], _key_offset(hive_bytes["SYSTEM"], "ControlSet001\\Control\\ProductOptions")
    )
    with pytest.raises(Registry.RegistryParse.ParseException):
        Registry.Registry(io.BytesIO(system)).open("ControlSet001\\Control\\TimeZoneInformation")
    intact, _, _ = _everything(hive_bytes["SOFTWARE"], hive_bytes["SYSTEM"])
    facts, _, gaps = _everything(hive_bytes["SOFTWARE"], system)
    assert (facts.timezone, facts.service_pack, facts.hostname, facts.architecture) == (
        intact.timezone,
        intact.service_pack,
        intact.hostname,
        intact.architecture,
    )
    named = [g for g in gaps if any(s.locator == "ControlSet001\\Control" for s in g.sources)]
    assert named and all(s.artifact == SYSTEM for g in named for s in g.sources)
    assert "SYSTEM hive key ControlSet001\\Control" in named[0].reason


def test_a_damaged_update_key_costs_that_update_only(hive_bytes: dict[str, bytes]) -> None:
    software = hive_bytes["SOFTWARE"]
    _, intact, _ = _everything(software, hive_bytes["SYSTEM"])
    reader = HiveReader(Registry.Registry(io.BytesIO(software)), SOFTWARE, "probe")
    updates = reader.open("Microsoft\\Updates")
    assert updates is not None
    leaves = [
        k
        for product in reader.subkeys(updates)
        for level in reader.subkeys(product)
        for k in reader.subkeys(level)
    ]
    victim = leaves[0]
    damaged = _clobber(software, int(victim.key._nkrecord.offset()))
    _, out, gaps = _everything(damaged, hive_bytes["SYSTEM"])
    assert set(out["updates"]) < set(intact["updates"]) or set(out["updates"]) == set(intact["updates"])
    parent = victim.path.rsplit("\\", 1)[0]
    assert any(s.locator == parent and s.artifact == SOFTWARE for g in gaps for s in g.sources)
    assert out["software"] == intact["software"] and out["markers"] == intact["markers"]


def _same_or_missing(intact: object, partial: object) -> bool:
    return partial in (None, (), [], "", {}) or partial == intact


@pytest.mark.parametrize("seed", range(12))
def test_random_damage_gives_partial_facts_never_an_exception(
    hive_bytes: dict[str, bytes], seed: int
) -> None:
    """Record signatures clobbered at random (fixed seeds): what is read is right, the rest is a gap."""
    rng = random.Random(seed)
    intact_facts, intact, _ = _everything(hive_bytes["SOFTWARE"], hive_bytes["SYSTEM"])
    damaged: dict[str, bytes] = {}
    for name, data in hive_bytes.items():
        cells = [c for c in _cells(data) if c[0] != _key_offset(data, "")]  # the root is open_hive's concern
        damaged[name] = _clobber(
            data, *(off for off, _ in rng.sample(cells, k=min(len(cells), 1 + seed % 6)))
        )
    facts, out, gaps = _everything(damaged["SOFTWARE"], damaged["SYSTEM"])
    for f in fields(SystemFacts):
        if f.name not in ("sources", "timezone"):
            assert _same_or_missing(getattr(intact_facts, f.name), getattr(facts, f.name)), f.name
    if facts.timezone is not None:  # read value by value: each is right or missing (a rule value: a gap)
        assert intact_facts.timezone is not None
        rule_gap = any(g.what == "system fact: time zone rule" for g in gaps)
        for f in fields(facts.timezone):
            mine, theirs = getattr(facts.timezone, f.name), getattr(intact_facts.timezone, f.name)
            assert _same_or_missing(theirs, mine) or (rule_gap and mine == 0), f.name
    for update_id, record in out["updates"].items():
        if update_id in intact["updates"]:
            assert record.kind == intact["updates"][update_id].kind
    assert set(out["software"]) <= set(intact["software"])
    for gap in gaps:  # every gap names a hive and a key
        assert gap.sources and gap.sources[0].artifact in (SOFTWARE, SYSTEM)
    missing = [f.name for f in fields(SystemFacts) if getattr(facts, f.name) is None]
    gapped = {g.what for g in gaps}
    for name in ("product", "hostname", "architecture"):
        if name in missing:
            assert f"system fact: {name}" in gapped


@pytest.mark.parametrize("seed", range(8))
def test_random_byte_flips_never_raise(hive_bytes: dict[str, bytes], seed: int) -> None:
    """Bytes flipped anywhere inside record cells (counts, offsets, names, data): no exception escapes."""
    rng = random.Random(1000 + seed)
    damaged = {}
    for name, data in hive_bytes.items():
        buf = bytearray(data)
        cells = _cells(data)
        for offset, _ in rng.sample(cells, k=min(len(cells), 8)):
            for _ in range(4):
                buf[offset + rng.randrange(2, 0x50)] = rng.randrange(256)
        damaged[name] = bytes(buf)
    try:
        _hive(damaged["SOFTWARE"], SOFTWARE).registry.root()
    except Exception:  # noqa: BLE001 - a root this broken is open_hive's to refuse
        pytest.skip("the root key itself was hit")
    facts, _, _ = _everything(damaged["SOFTWARE"], damaged["SYSTEM"])
    assert facts.service_pack is None or isinstance(facts.service_pack, int)


# -- what attests a fact, and the gap when nothing does ------------------------------------------------------
def _built(builder: HiveBuilder, artifact: str) -> Hive:
    return Hive(Registry.Registry(io.BytesIO(builder.build())), artifact)


def test_no_hive_means_no_service_pack_and_a_gap_per_fact() -> None:
    facts, gaps = system_facts(None, None)
    assert facts.service_pack is None and facts.product is None and facts.timezone is None
    gapped = {g.what for g in gaps}
    for name in (
        "product",
        "version",
        "build",
        "service pack",
        "hostname",
        "architecture",
        "system root",
        "time zone",
        "install date",
    ):
        assert f"system fact: {name}" in gapped
    assert facts.to_dict()["service_pack"] is None


def test_empty_current_version_key_is_a_gap_not_rtm() -> None:
    b = HiveBuilder("SOFTWARE", default_time=T0)
    b.add_key("Microsoft\\Windows NT\\CurrentVersion")
    facts, gaps = system_facts(_built(b, SOFTWARE), None)
    assert facts.service_pack is None and facts.product is None and facts.build is None
    product = next(g for g in gaps if g.what == "system fact: product")
    assert "has no ProductName value" in product.reason
    assert product.sources[0].locator == "Microsoft\\Windows NT\\CurrentVersion\\ProductName"


def test_rtm_is_attested_by_a_real_current_version_key_without_csdversion() -> None:
    b = HiveBuilder("SOFTWARE", default_time=T0)
    cv = "Microsoft\\Windows NT\\CurrentVersion"
    b.set_value(cv, "ProductName", "Microsoft Windows Server 2003")
    b.set_value(cv, "CurrentVersion", "5.2")
    b.set_value(cv, "CurrentBuildNumber", "3790")
    facts, gaps = system_facts(_built(b, SOFTWARE), None)
    assert facts.service_pack == 0 and facts.version == "5.2.3790"
    assert "system fact: service pack" not in {g.what for g in gaps}


def _system_with_zone(values: dict[str, object]) -> HiveBuilder:
    b = HiveBuilder("SYSTEM", default_time=T0)
    b.set_value("Select", "Current", 1)
    tz = "ControlSet001\\Control\\TimeZoneInformation"
    for name, value in values.items():
        b.set_value(tz, name, value)  # type: ignore[arg-type]
    return b


# The real shape (regipy's SYSTEM_2, a Windows 10 system): names are tzres.dll references.
_VISTA_ZONE = {
    "Bias": 480,
    "StandardName": "@tzres.dll,-212",
    "DaylightName": "@tzres.dll,-211",
    "StandardBias": 0,
    "DaylightBias": 4294967236,
    "StandardStart": bytes.fromhex("00000b00010002000000000000000000"),
    "DaylightStart": bytes.fromhex("00000300020002000000000000000000"),
    "TimeZoneKeyName": "Pacific Standard Time",
    "DynamicDaylightTimeDisabled": 0,
    "ActiveTimeBias": 480,
}


def test_tzres_names_resolve_from_software_time_zones() -> None:
    sw = HiveBuilder("SOFTWARE", default_time=T0)
    zone = "Microsoft\\Windows NT\\CurrentVersion\\Time Zones\\Pacific Standard Time"
    for name, value in {
        "Std": "Pacific Standard Time",
        "Dlt": "Pacific Daylight Time",
        "MUI_Std": "@tzres.dll,-212",
        "MUI_Dlt": "@tzres.dll,-211",
        "Display": "(UTC-08:00) Pacific Time (US & Canada)",
    }.items():
        sw.set_value(zone, name, value)
    facts, _ = system_facts(_built(sw, SOFTWARE), _built(_system_with_zone(_VISTA_ZONE), SYSTEM))
    tz = facts.timezone
    assert tz is not None
    assert (tz.standard_name, tz.daylight_name, tz.key_name) == (
        "Pacific Standard Time",
        "Pacific Daylight Time",
        "Pacific Standard Time",
    )
    assert (tz.standard_name_ref, tz.daylight_name_ref) == ("@tzres.dll,-212", "@tzres.dll,-211")
    assert (tz.bias_minutes, tz.daylight_bias) == (480, -60)


def test_tzres_names_without_software_use_the_zone_id() -> None:
    facts, _ = system_facts(None, _built(_system_with_zone(_VISTA_ZONE), SYSTEM))
    tz = facts.timezone
    assert tz is not None and tz.standard_name == "Pacific Standard Time"
    assert tz.daylight_name == "" and tz.daylight_name_ref == "@tzres.dll,-211"
    assert facts.to_dict()["timezone"] == "Pacific Standard Time"


def test_tzres_names_found_by_mui_reference_without_key_name() -> None:
    zone = {k: v for k, v in _VISTA_ZONE.items() if k != "TimeZoneKeyName"}
    sw = HiveBuilder("SOFTWARE", default_time=T0)
    base = "Microsoft\\Windows NT\\CurrentVersion\\Time Zones"
    sw.set_value(f"{base}\\Alaskan Standard Time", "MUI_Std", "@tzres.dll,-52")
    sw.set_value(f"{base}\\Pacific Standard Time", "MUI_Std", "@tzres.dll,-212")
    sw.set_value(f"{base}\\Pacific Standard Time", "Std", "Pacific Standard Time")
    sw.set_value(f"{base}\\Pacific Standard Time", "Dlt", "Pacific Daylight Time")
    facts, _ = system_facts(_built(sw, SOFTWARE), _built(_system_with_zone(zone), SYSTEM))
    assert facts.timezone is not None
    assert (facts.timezone.standard_name, facts.timezone.daylight_name) == (
        "Pacific Standard Time",
        "Pacific Daylight Time",
    )


def test_inventory_of_a_folder_with_a_damaged_system_hive_exits_0(
    hive_bytes: dict[str, bytes], tmp_path: Path
) -> None:
    """The CLI on a triage folder whose SYSTEM hive is damaged: partial facts and a gap, never exit 70."""
    config = tmp_path / "WINDOWS" / "system32" / "config"
    config.mkdir(parents=True)
    (config / "SOFTWARE").write_bytes(hive_bytes["SOFTWARE"])
    system = hive_bytes["SYSTEM"]
    (config / "SYSTEM").write_bytes(
        _clobber(system, _key_offset(system, "ControlSet001\\Control\\ComputerName"))
    )
    result = CliRunner().invoke(cli, ["inventory", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["system"]["hostname"] is None and data["system"]["service_pack"] == 2
    assert data["system"]["timezone"] == "Eastern Standard Time"
    gaps = {(g["what"], g["sources"][0]["locator"]) for g in data["gaps"] if g["sources"]}
    assert (
        "system fact: hostname",
        "ControlSet001\\Control\\ComputerName\\ComputerName\\ComputerName",
    ) in gaps
    assert ("system facts", "ControlSet001\\Control") in gaps


def test_a_broken_root_entry_leaves_the_hive_readable() -> None:
    """open_hive no longer refuses a hive whose root list has one broken entry: the others still count."""
    b = HiveBuilder("SOFTWARE", default_time=T0)
    b.set_value("Classes\\.txt", "", "txtfile")
    cv = "Microsoft\\Windows NT\\CurrentVersion"
    for name, value in {
        "ProductName": "Microsoft Windows Server 2003",
        "CurrentVersion": "5.2",
        "CurrentBuildNumber": "3790",
        "CSDVersion": "Service Pack 2",
    }.items():
        b.set_value(cv, name, value)
    clean = b.build()
    damaged = _clobber(clean, _key_offset(clean, "Classes"))
    with pytest.raises(Registry.RegistryParse.ParseException):
        Registry.Registry(io.BytesIO(damaged)).root().subkeys()
    opened = open_hive(damaged, {}, artifact=SOFTWARE)
    facts, gaps = system_facts(Hive(opened.registry, SOFTWARE), None)
    assert (facts.product, facts.version, facts.service_pack) == (
        "Microsoft Windows Server 2003",
        "5.2.3790",
        2,
    )
    assert any(s.locator == "" and "(root)" in g.reason for g in gaps for s in g.sources)


def test_index_root_lists_are_read_leaf_by_leaf() -> None:
    """More than 500 subkeys: an ``ri`` index of leaves; a broken entry or a broken leaf costs only itself."""
    b = HiveBuilder("SOFTWARE", default_time=T0)
    uninstall = "Microsoft\\Windows\\CurrentVersion\\Uninstall"
    for i in range(1200):
        b.set_value(f"{uninstall}\\App{i:04d}", "DisplayName", f"Program {i}")
    clean = b.build()
    registry = Registry.Registry(io.BytesIO(clean))
    lst = registry.open(uninstall)._nkrecord.subkey_list()
    assert isinstance(lst, Registry.RegistryParse.RIRecord)
    assert len(software_installs(Hive(registry, SOFTWARE))) == 1200
    # break one program's nk, then the whole second leaf list of the index
    broken_entry = _clobber(clean, _key_offset(clean, f"{uninstall}\\App0007"))
    second_leaf = lst.abs_offset_from_hbin_offset(lst.unpack_dword(8)) + 4
    both = _clobber(broken_entry, second_leaf)
    gaps: list[Gap] = []
    apps = software_installs(_hive(both, SOFTWARE), None, gaps)
    assert 0 < len(apps) < 1199 and "Program 7" not in {a.name for a in apps}
    assert {a.name for a in apps} >= {"Program 0", "Program 6", "Program 8"}
    (gap,) = gaps
    assert (
        gap.sources[0].locator == uninstall
        and "index entry 1" in gap.reason
        and "subkey entry 7" in gap.reason
    )
