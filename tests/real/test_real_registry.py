"""Real hives (regipy's and yarp's test data; not committed): what we read is what an independent reader says.

- regipy's real SYSTEM hives: control set, host name, SP level and time zone, against regipy's own reading.
- regipy's ``corrupted_system_hive``: partial facts plus a gap naming the hive and the damaged key (it used to
  end the run with exit 70); the facts we do give agree with regipy, which reads the same cells.
- yarp's dirty hives: our in-memory log replay (collectors/hive.py) gives the same keys, values and last-write
  times as the hive Windows itself recovered (``RecoveredHive_Windows10`` / ``_Windows7``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from regipy.registry import RegistryHive
from Registry import Registry

from scanner.collectors.hive import open_hive
from scanner.collectors.registry import Hive, current_control_set, pending_renames, system_facts
from scanner.collectors.regsafe import HiveReader
from scanner.model import Gap

ARTIFACT = "Windows\\System32\\config\\SYSTEM"
SYSTEM_HIVES = ("SYSTEM", "SYSTEM_2", "SYSTEM_B", "SYSTEM_WIN_10_1709", "corrupted_system_hive")


def _open(path: Path) -> Hive:
    logs = {p.name: p.read_bytes() for p in path.parent.glob(f"{path.name}.LOG*")}
    return Hive(open_hive(path.read_bytes(), logs, artifact=ARTIFACT).registry, ARTIFACT)


def _regipy_values(hive: RegistryHive, path: str) -> dict[str, Any]:
    return {v.name: v.value for v in hive.get_key(path).iter_values()}


def _utf16_text(value: Any) -> str:
    """regipy leaves a REG_SZ with slack after its terminator as bytes; the string ends at the NUL."""
    if isinstance(value, bytes):
        return value.decode("utf-16-le", errors="replace").split("\x00", 1)[0]
    return str(value).split("\x00", 1)[0]


@pytest.mark.parametrize("name", SYSTEM_HIVES)
def test_system_facts_agree_with_regipy(real_corpus: Path, name: str) -> None:
    path = real_corpus / "regipy" / name
    if not path.is_file():
        pytest.skip(f"{path} absent")
    ours, gaps = system_facts(None, _open(path))
    theirs = RegistryHive(str(path))
    select = _regipy_values(theirs, "\\Select")
    control_set = f"ControlSet{select['Current']:03d}"
    assert current_control_set(_open(path)) is not None
    assert current_control_set(_open(path))[0] == control_set  # type: ignore[index]
    control = f"\\{control_set}\\Control"
    assert ours.hostname == _regipy_values(theirs, f"{control}\\ComputerName\\ComputerName")["ComputerName"]
    assert ours.service_pack == _regipy_values(theirs, f"{control}\\Windows")["CSDVersion"] >> 8
    tz = _regipy_values(theirs, f"{control}\\TimeZoneInformation")
    assert ours.timezone is not None
    assert ours.timezone.bias_minutes == tz["Bias"]
    if "TimeZoneKeyName" in tz:  # Vista+: @tzres.dll names, resolved to the zone id without SOFTWARE
        key_name = _utf16_text(tz["TimeZoneKeyName"])
        assert str(tz["StandardName"]).startswith("@tzres.dll,")
        assert ours.timezone.key_name == ours.timezone.standard_name == key_name
        assert ours.timezone.standard_name_ref == tz["StandardName"]
        assert ours.timezone.daylight_name_ref == tz["DaylightName"]
    else:  # XP/2003: plain names
        assert (ours.timezone.standard_name, ours.timezone.daylight_name) == (
            tz["StandardName"],
            tz["DaylightName"],
        )
    assert ours.product is None and any(g.what == "system fact: product" for g in gaps)  # no SOFTWARE here


def test_corrupted_hive_gives_partial_facts_and_names_the_damaged_key(real_corpus: Path) -> None:
    path = real_corpus / "regipy" / "corrupted_system_hive"
    if not path.is_file():
        pytest.skip(f"{path} absent")
    hive = _open(path)
    facts, gaps = system_facts(None, hive)
    assert (facts.hostname, facts.service_pack, facts.architecture) == ("GINEVRA", 3, "x86")
    assert facts.timezone is not None and facts.timezone.standard_name == "Eastern Standard Time"
    damaged = [g for g in gaps if any(s.locator == "ControlSet001\\Control" for s in g.sources)]
    assert damaged, [g.reason for g in gaps]
    assert all(s.artifact == ARTIFACT for g in damaged for s in g.sources)
    assert "SYSTEM hive key ControlSet001\\Control" in damaged[0].reason
    assert "Invalid NK Record ID" in damaged[0].reason
    more: list[Gap] = []
    assert pending_renames(hive, more) == []
    assert any(g.what == "pending file renames" for g in more)


def _walk(hive: Hive, limit: int = 50_000) -> set[tuple[str, str | None, str]]:
    """Every key (with its last-write time) and value (name, data), bounded."""
    reader = HiveReader(hive.registry, hive.artifact, "walk")
    found: set[tuple[str, str | None, str]] = set()
    stack = [(reader.root(), 0)]
    while stack and len(found) < limit:
        node, depth = stack.pop()
        if node is None:
            continue
        found.add((node.path.lower(), None, str(reader.timestamp(node))))
        for name, value in reader.values(node).items():
            found.add((node.path.lower(), name.lower(), repr(value)))
        if depth < 32:
            stack += [(child, depth + 1) for child in reader.subkeys(node)]
    assert reader.gaps == []
    return found


@pytest.mark.parametrize(
    ("folder", "primary", "recovered"),
    [
        ("NewDirtyHive1", "NewDirtyHive", "RecoveredHive_Windows10"),
        ("OldDirtyHive", "OldDirtyHive", "RecoveredHive_Windows7"),
    ],
)
def test_log_replay_matches_the_hive_windows_recovered(
    real_corpus: Path, folder: str, primary: str, recovered: str
) -> None:
    base = real_corpus / "yarp" / folder
    if not (base / primary).is_file():
        pytest.skip(f"{base} absent")
    logs = {p.name: p.read_bytes() for p in base.iterdir() if ".LOG" in p.name}
    opened = open_hive((base / primary).read_bytes(), logs, artifact=primary)
    assert opened.recovery.dirty and opened.recovery.recovered
    ours = _walk(Hive(opened.registry, primary))
    windows = _walk(_open_plain(base / recovered))
    as_is = _walk(_open_plain(base / primary))
    assert ours == windows
    assert as_is != windows  # the replay is what makes them equal


def _open_plain(path: Path) -> Hive:
    return Hive(Registry.Registry(str(path)), path.name)
