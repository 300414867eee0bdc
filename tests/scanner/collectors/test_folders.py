"""Component folders: every PE file of a profile folder, one $I30 listing per folder, cost set by the folder.

Built on small NTFS volumes from the fixture factory (real NTFS written by mkntfs + wimlib, real PE files),
read through a counting reader: the read cost of a folder must not depend on files elsewhere on the volume.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
from dissect.target.filesystems.dir import DirectoryFilesystem
from dissect.target.filesystems.ntfs import NtfsFilesystem

import scanner.collectors.folders as folders
from fixtures.factory.build import build_volume
from fixtures.factory.ntfs import NtfsTimes, TreeEntry, build_ntfs_volume
from fixtures.factory.pe import VersionInfo, build_pe
from fixtures.factory.scenario import SCENARIO_DIR, load_scenario
from fixtures.factory.simulate import simulate
from scanner.collectors.folders import FolderRequest, FolderScan, collect_component_folders
from scanner.knowledge.components import default_profiles_dir
from scanner.pipeline import inventory, scan
from scanner.report.inventory import inventory_to_dict
from tests.scanner.collectors.counting import CountingReader
from tests.scanner.collectors.damaged_ntfs import damaged_volumes

CLOCK = datetime(2010, 1, 1, tzinfo=UTC)
BUILT = datetime(2007, 2, 17, 1, 10, tzinfo=UTC)
INSTALLED = datetime(2007, 9, 4, 21, 5, tzinfo=UTC)
INETSRV = "WINDOWS\\system32\\inetsrv"
SP2 = ("6.0.3790.3959", "srv03_sp2_rtm.070216-1710")
SP1 = ("6.0.3790.1830", "srv03_sp1_rtm.050324-1447")


def _pe(name: str, level: tuple[str, str]) -> bytes:
    version, lab = level
    info = VersionInfo(version, f"{version} ({lab})", original_filename=name)
    return build_pe(info, timestamp=BUILT, size_hint=len(name) * 300)


def _entry(path: str, data: bytes | None) -> TreeEntry:
    return TreeEntry(path, data, NtfsTimes(INSTALLED, BUILT, INSTALLED, INSTALLED))


def _tree(unrelated: int) -> list[TreeEntry]:
    """inetsrv with listed, unlisted, relocated and non-PE files; ``unrelated`` files elsewhere."""
    return [
        _entry(f"{INETSRV}\\w3core.dll", _pe("w3core.dll", SP2)),  # listed, at its path
        _entry(f"{INETSRV}\\w3extra.dll", _pe("w3extra.dll", SP1)),  # the profile does not list it
        _entry(f"{INETSRV}\\helper.bin", _pe("helper.bin", SP2)),  # a PE whatever its extension says
        _entry(f"{INETSRV}\\readme.txt", b"not a PE, though it is long enough to be probed " * 4),
        _entry(f"{INETSRV}\\fake.dll", b"MZ" + b"\0" * 200),  # MZ but no PE signature: not a PE
        _entry(f"{INETSRV}\\sub\\w3dt.dll", _pe("w3dt.dll", SP2)),  # listed at inetsrv\w3dt.dll
        _entry(f"{INETSRV}\\sub\\deeper\\tooDeep.dll", _pe("tooDeep.dll", SP2)),  # below the depth asked
        _entry("WINDOWS\\system32\\iisutil.dll", _pe("iisutil.dll", SP2)),  # listed at inetsrv\iisutil.dll
        *(_entry(f"WINDOWS\\unrelated\\u{i:04d}\\file.dll", _pe("file.dll", SP2)) for i in range(unrelated)),
    ]


@cache
def _volume(unrelated: int, mib: int) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "volume.ntfs"
        build_ntfs_volume(_tree(unrelated), out, size=mib * 1024 * 1024, clock=CLOCK, workdir=Path(tmp))
        return out.read_bytes()


REQUESTS = [
    FolderRequest(INETSRV, "iis6", depth=1),
    FolderRequest("WINDOWS\\system32", "iis6", lookup_only=True),
]
KNOWN = [f"{INETSRV}\\w3core.dll"]
MISSING = [
    (f"{INETSRV}\\w3dt.dll", "iis6"),
    (f"{INETSRV}\\iisutil.dll", "iis6"),
    (f"{INETSRV}\\gone.dll", "iis6"),
]


def _scan(unrelated: int = 0, mib: int = 8) -> tuple[FolderScan, int]:
    reader = CountingReader(_volume(unrelated, mib))
    fs = NtfsFilesystem(reader)
    reader.bytes_read = 0
    found = collect_component_folders(fs, REQUESTS, known=KNOWN, missing=MISSING, volume_label="0")
    return found, reader.bytes_read


def test_every_pe_file_of_the_folder_is_inventoried() -> None:
    found, _ = _scan()
    by_path = {f.path: f for f in found.files}
    assert set(by_path) == {
        f"{INETSRV}\\w3extra.dll",
        f"{INETSRV}\\helper.bin",
        f"{INETSRV}\\sub\\w3dt.dll",
        "WINDOWS\\system32\\iisutil.dll",
    }
    extra = by_path[f"{INETSRV}\\w3extra.dll"]
    assert (str(extra.version), extra.lab_tag, extra.component) == (*SP1, "iis6")
    assert extra.created_at == INSTALLED and extra.modified_at == BUILT
    assert extra.sha256 is None  # found by listing only: the version resource is read, the file is not hashed
    assert extra.sources[0].locator.startswith("MFT entry ")
    assert str(by_path[f"{INETSRV}\\helper.bin"].version) == SP2[0]


def test_a_listed_file_at_another_path_is_found_not_missing() -> None:
    found, _ = _scan()
    assert found.relocated == {
        f"{INETSRV}\\w3dt.dll": f"{INETSRV}\\sub\\w3dt.dll",
        f"{INETSRV}\\iisutil.dll": "WINDOWS\\system32\\iisutil.dll",
    }
    moved = {f.path: f for f in found.files}["WINDOWS\\system32\\iisutil.dll"]
    assert moved.sha256 is not None  # a listed file is read as listed files are: hashed
    assert "listed by the profile as WINDOWS\\system32\\inetsrv\\iisutil.dll" in moved.sources[0].note
    assert found.placed == {f"{INETSRV}\\W3CORE.DLL".upper(): "iis6"}
    assert found.gaps == []  # gone.dll stays the caller's "not present" gap


def test_folder_records_count_entries_pe_files_and_cost() -> None:
    found, total = _scan()
    inetsrv, system32 = found.folders
    assert (inetsrv.path, inetsrv.present, inetsrv.lookup_only, inetsrv.gap) == (INETSRV, True, False, None)
    # inetsrv: 6 entries (5 files + sub); sub: 2 entries (w3dt.dll + deeper), deeper not listed (depth 1)
    assert (inetsrv.entries, inetsrv.subfolders, inetsrv.listings) == (8, 1, 2)
    assert (inetsrv.pe_files, inetsrv.unlisted, inetsrv.not_pe) == (4, 2, 2)  # w3core counted, not re-read
    assert inetsrv.mft_records == 8
    assert 0 < inetsrv.bytes_read < 64 * 1024
    assert (system32.lookup_only, system32.entries, system32.pe_files, system32.listings) == (
        True,
        None,
        1,
        0,
    )
    assert total < 256 * 1024, total
    data = inetsrv.to_dict()
    assert data["cost"] == {"listings": 2, "mft_records": 8, "bytes_read": inetsrv.bytes_read}


def test_cost_does_not_depend_on_unrelated_files_or_the_image_size() -> None:
    small, small_bytes = _scan(0, 8)
    big, big_bytes = _scan(400, 24)  # 400 more folders and DLLs elsewhere, an image three times the size
    costs = [f.to_dict()["cost"] for f in small.folders]
    assert costs == [f.to_dict()["cost"] for f in big.folders]
    # Volume bytes: the same records, index blocks and file data. dissect reads the $MFT in 4 KiB aligned
    # blocks, so where the smaller $MFT ends mid-block one record read is short: at most one block apart.
    assert abs(small_bytes - big_bytes) <= 4096, (small_bytes, big_bytes)
    assert big_bytes < 128 * 1024


def test_missing_folder_and_caps_are_gaps() -> None:
    fs = NtfsFilesystem(CountingReader(_volume(0, 8)))
    found = collect_component_folders(fs, [FolderRequest("WINDOWS\\system32\\nowhere", "iis6")])
    (folder,) = found.folders
    assert (folder.present, folder.entries, folder.gap) == (False, None, "not present on the volume")
    assert [(g.what, g.reason) for g in found.gaps] == [
        ("WINDOWS\\system32\\nowhere", "component folder not present on the volume")
    ]


def test_pe_cap_cuts_with_a_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(folders, "MAX_PE_FILES", 1)
    fs = NtfsFilesystem(CountingReader(_volume(0, 8)))
    found = collect_component_folders(fs, [FolderRequest(INETSRV, "iis6")])
    (folder,) = found.folders
    assert folder.pe_files == 1 and folder.gap == "PE inventory cut at 1 files"
    assert [g.reason for g in found.gaps] == ["PE inventory cut at 1 files"]


def test_a_directory_source_is_listed_the_same_way(tmp_path: Path) -> None:
    """A triage collection (no MFT): the same files, versions and relocations; times are a gap."""
    for entry in _tree(0):
        if entry.data is not None:
            target = tmp_path.joinpath(*entry.path.split("\\"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(entry.data)
    found = collect_component_folders(DirectoryFilesystem(tmp_path), REQUESTS, known=KNOWN, missing=MISSING)
    ntfs, _ = _scan()
    assert sorted(f.path for f in found.files) == sorted(f.path for f in ntfs.files)
    assert {f.path: f.version for f in found.files} == {f.path: f.version for f in ntfs.files}
    assert found.relocated == ntfs.relocated and found.placed == ntfs.placed
    inetsrv, system32 = found.folders
    assert (inetsrv.entries, inetsrv.pe_files, inetsrv.unlisted, inetsrv.not_pe) == (8, 4, 2, 2)
    assert (inetsrv.listings, inetsrv.mft_records) == (2, 0) and 0 < inetsrv.bytes_read < 64 * 1024
    assert (system32.lookup_only, system32.pe_files) == (True, 1)
    assert {g.reason for g in found.gaps} == {
        "directory source: NTFS creation and $FILE_NAME times are not available"
    }
    absent = collect_component_folders(
        DirectoryFilesystem(tmp_path), [FolderRequest("WINDOWS\\nowhere", "iis6")]
    )
    assert [g.reason for g in absent.gaps] == ["component folder not present in the directory source"]


# --- end to end: a fixture scenario's system with an unlisted DLL and listed DLLs at other paths ------------


@pytest.fixture(scope="module")
def altered_2003(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The healthy 2003 SP2 scenario's system volume (no warning finding as committed), with an IIS DLL no
    profile lists left at SP1 level in inetsrv, and two listed DLLs moved: ``w3tp.dll`` to ``system32``,
    ``iisutil.dll`` to ``inetsrv\\sub``; and a copy of the profiles whose iis6 folders reach both places."""
    state = simulate(load_scenario(SCENARIO_DIR / "healthy-2003-sp2.toml"))
    w3tp = state.files.pop("system32\\inetsrv\\w3tp.dll")
    iisutil = state.files.pop("system32\\inetsrv\\iisutil.dll")
    state.files["system32\\w3tp.dll"] = replace(w3tp, path="system32\\w3tp.dll")
    state.files["system32\\inetsrv\\sub\\iisutil.dll"] = replace(
        iisutil, path="system32\\inetsrv\\sub\\iisutil.dll"
    )
    extra = replace(w3tp, path="system32\\inetsrv\\w3extra.dll", version=SP1[0], lab=SP1[1], description="x")
    state.files[extra.path] = extra
    out = tmp_path_factory.mktemp("altered")
    build_volume(state, out / "volume.ntfs", out / "work")
    profiles = out / "profiles"
    shutil.copytree(default_profiles_dir(), profiles)
    iis6 = profiles / "components" / "iis6.toml"
    text = iis6.read_text(encoding="utf-8")
    folders = next(line for line in text.splitlines() if line.startswith("folders = "))
    iis6.write_text(
        text.replace(
            folders,
            "folders = [{ path = 'system32\\inetsrv', why = \"IIS 6\", depth = 1 },"
            " { path = 'system32', why = \"another release's place\", lookup_only = true }]",
        ),
        encoding="utf-8",
    )
    return out / "volume.ntfs", profiles


def test_an_unlisted_dll_below_the_baseline_is_a_finding(altered_2003: tuple[Path, Path]) -> None:
    volume, profiles = altered_2003
    result = scan(volume, profiles_dir=profiles)
    extra = next(f for f in result.inventory.files if f.path.endswith("w3extra.dll"))
    assert (extra.path, str(extra.version), extra.component) == (f"{INETSRV}\\w3extra.dll", SP1[0], "iis6")
    (below,) = [f for f in result.findings if f.rule == "files-below-service-pack"]
    assert [f.path for f in below.files] == [f"{INETSRV}\\w3extra.dll"]
    assert below.files[0].expected == "6.0.3790.3959 (Service Pack 2 baseline)"
    (iis6,) = [c for c in result.components if c.id == "iis6"]
    rows = {row.path: row for row in iis6.files}
    assert rows[f"{INETSRV}\\w3extra.dll"].listed is False
    assert rows[f"{INETSRV}\\w3extra.dll"].below_baseline is True
    moved = rows["WINDOWS\\system32\\w3tp.dll"]  # in profile order, where the profile lists it
    assert (moved.present, moved.listed, moved.listed_path) == (True, True, f"{INETSRV}\\w3tp.dll")
    assert [r.path for r in iis6.files][-1] == f"{INETSRV}\\w3extra.dll"  # unlisted files come last


def test_listed_dlls_at_other_paths_are_found_not_missing(altered_2003: tuple[Path, Path]) -> None:
    volume, profiles = altered_2003
    inv = inventory(volume, profiles_dir=profiles)
    absent = {g.what.lower() for g in inv.gaps if "not present" in g.reason}
    assert not any(name in path for path in absent for name in ("w3tp.dll", "iisutil.dll")), absent
    paths = {f.path: f for f in inv.files}
    assert str(paths["WINDOWS\\system32\\w3tp.dll"].version) == "6.0.3790.3959"
    assert paths[f"{INETSRV}\\sub\\iisutil.dll"].component == "iis6"
    data = inventory_to_dict(inv)
    inetsrv, system32 = data["folders"]
    assert (inetsrv["path"], inetsrv["depth"], inetsrv["cost"]["listings"]) == (INETSRV, 1, 2)
    assert (inetsrv["pe_files"], inetsrv["unlisted"], inetsrv["gap"]) == (15, 1, None)
    assert (system32["lookup_only"], system32["pe_files"], system32["entries"]) == (True, 1, None)


def test_damaged_records_and_indexes_give_gaps_not_tracebacks() -> None:
    checked = 0
    for fs in damaged_volumes(_volume(0, 8), seed=13):
        found = collect_component_folders(fs, REQUESTS, known=KNOWN, missing=MISSING)
        assert len(found.folders) == 2
        assert all(f.listings <= 1 + folders.MAX_SUBFOLDERS for f in found.folders)  # whatever the bytes
        checked += 1
    assert checked > 20
