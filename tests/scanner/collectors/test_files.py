"""File facts and uninstall folders, on the committed fixture images and on a purpose-built NTFS volume."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from dissect.target import Target
from dissect.target.filesystems.ntfs import NtfsFilesystem

from fixtures.factory.ntfs import NtfsTimes, TreeEntry, build_ntfs_volume
from fixtures.factory.pe import CORRUPT_MODES, VersionInfo, build_corrupt_pe_resource, build_pe
from fixtures.factory.scenario import IMAGES_DIR, SCENARIO_DIR
from scanner.collectors.files import collect_files
from scanner.collectors.pe_version import read_pe_version
from scanner.collectors.uninstall import UninstallFolder, collect_uninstall_folders
from scanner.collectors.volume import created_at
from scanner.model.versions import version_text
from tests.scanner.collectors.counting import CountingReader
from tests.scanner.collectors.damaged_ntfs import damaged_volumes

INETSRV = "WINDOWS\\system32\\inetsrv"


def _scenario(name: str) -> dict[str, Any]:
    return tomllib.loads((SCENARIO_DIR / f"{name}.toml").read_text(encoding="utf-8"))


def _images() -> Iterator[tuple[str, str]]:
    """(scenario, first image file) of each single-image scenario, one container format each."""
    seen = set()
    for item in json.loads((IMAGES_DIR / "MANIFEST.json").read_text(encoding="utf-8")):
        if item["role"] == "image" and item["scenario"] not in seen:
            seen.add(item["scenario"])
            yield item["scenario"], item["files"][0]["name"]


@cache
def _system_fs(image: str) -> tuple[Any, str]:
    """The file system of the volume holding WINDOWS/WINNT, and that directory's name."""
    target = Target.open(IMAGES_DIR / image)
    for volume in target.volumes:
        fs = volume.fs
        if fs is None:
            continue
        for entry in fs.path("/").iterdir():
            if entry.name.upper() in ("WINDOWS", "WINNT"):
                return fs, entry.name
    raise AssertionError(f"{image}: no Windows volume")


def _by_path(files: list[Any]) -> dict[str, Any]:
    return {f.path.upper(): f for f in files}


# --- committed fixture images ---------------------------------------------------------------------------


def test_kb973917_component_versions_and_times() -> None:
    fs, _ = _system_fs("kb973917-iis6.vhd")
    files, gaps = collect_files(fs, [f"{INETSRV}\\w3dt.dll", f"{INETSRV}\\w3core.dll"], volume_label="0")
    assert gaps == []
    w3dt, w3core = files
    assert (str(w3dt.version), w3dt.lab_tag) == ("6.0.3790.1830", "srv03_sp1_rtm.050324-1447")
    assert (str(w3core.version), w3core.lab_tag) == ("6.0.3790.4611", "srv03_sp2_gdr.091030-1513")
    assert w3core.file_version_string == "6.0.3790.4611 (srv03_sp2_gdr.091030-1513)"
    step = next(s for s in _scenario("kb973917-iis6")["history"] if s.get("id") == "KB973917")
    built = next(f["built"] for f in step["files"] if f["path"].endswith("w3core.dll"))
    assert w3core.modified_at == built == datetime(2009, 10, 30, 20, 13, tzinfo=UTC)  # build date
    assert w3core.link_time == built
    assert w3core.created_at == step["at"] + timedelta(seconds=40)  # install time
    assert w3core.created_at != w3core.modified_at
    assert w3core.fn_created_at == w3core.fn_modified_at == w3core.created_at
    assert w3core.size is not None and w3core.sha256 is not None and len(w3core.sha256) == 64
    (source,) = w3core.sources
    assert source.artifact == f"{INETSRV}\\w3core.dll"
    assert source.locator.startswith("MFT entry ") and source.note == "volume 0"
    record = fs.ntfs.mft.get(f"{INETSRV}\\w3core.dll")
    assert source.locator == f"MFT entry {record.segment}"


@pytest.mark.parametrize(("scenario", "image"), list(_images()))
def test_expected_files_of_every_scenario(scenario: str, image: str) -> None:
    expected = _scenario(scenario)["expected"]["files"]
    fs, _ = _system_fs(image)
    files, gaps = collect_files(fs, [e["path"] for e in expected])
    assert gaps == []
    found = _by_path(files)
    for item in expected:
        state = found[item["path"].upper()]
        assert state.path == item["path"]  # spelled as on disk
        assert version_text(state.version) == item["version"], item["path"]
        if "lab_tag" in item:
            assert state.lab_tag == item["lab_tag"]


def test_windows_2000_files_have_numeric_version_but_no_lab_tag() -> None:
    fs, root = _system_fs("q281402-win2000.E01")
    assert root == "WINNT"
    files, gaps = collect_files(fs, ["WINNT\\system32\\inetsrv\\infocomm.dll"])
    assert gaps == []
    (infocomm,) = files
    assert str(infocomm.version) == "5.0.2195.7147"
    assert infocomm.file_version_string == "5.00.2195.7147"
    assert infocomm.lab_tag is None


def test_lookup_is_case_insensitive_and_reports_the_disk_spelling() -> None:
    fs, _ = _system_fs("kb973917-iis6.vhd")
    files, gaps = collect_files(fs, ["windows/SYSTEM32/InetSrv/W3CORE.DLL", f"{INETSRV}\\w3core.dll"])
    assert gaps == []
    assert [f.path for f in files] == [f"{INETSRV}\\w3core.dll"]  # duplicates merged


def test_missing_paths_and_directories_give_gaps() -> None:
    fs, _ = _system_fs("kb973917-iis6.vhd")
    files, gaps = collect_files(fs, [f"{INETSRV}\\nosuch.dll", "NOWHERE\\x.dll", INETSRV, "..\\x", ""])
    assert files == []
    reasons = {g.what: g.reason for g in gaps}
    assert reasons[f"{INETSRV}\\nosuch.dll"] == "not present on the volume"
    assert reasons["NOWHERE\\x.dll"] == "not present on the volume"
    assert reasons[INETSRV] == "is a directory, not a file"
    assert len(gaps) == 5


def test_kb973917_uninstall_folder_holds_the_versions_before_the_fix() -> None:
    fs, root = _system_fs("kb973917-iis6.vhd")
    folders, gaps = collect_uninstall_folders(fs, root)
    assert gaps == []
    by_id = {f.update_id: f for f in folders}
    assert set(by_id) == {"KB921883", "KB958644", "KB973917", None}
    kb = by_id["KB973917"]
    assert kb.path == "WINDOWS\\$NtUninstallKB973917$" and kb.kind == "hotfix-backup"
    versions = {f.path.rsplit("\\", 1)[1]: str(f.version) for f in kb.files}
    assert versions == {"w3core.dll": "6.0.3790.3959", "w3isapi.dll": "6.0.3790.3959"}
    step = next(s for s in _scenario("kb973917-iis6")["history"] if s.get("id") == "KB973917")
    assert kb.created_at == kb.fn_created_at == step["at"] + timedelta(seconds=15)
    backup = next(f for f in kb.files if f.path.endswith("w3core.dll"))
    assert backup.lab_tag == "srv03_sp2_rtm.070216-1710" and backup.modified_at != backup.created_at
    sp = by_id[None]
    assert sp.path == "WINDOWS\\$NtServicePackUninstall$" and sp.kind == "service-pack-backup"
    assert all(not f.path.upper().endswith("SPUNINST") for f in sp.files)
    assert kb.sources[0].locator.startswith("MFT entry ")


def test_missing_system_root_gives_a_gap() -> None:
    fs, _ = _system_fs("kb973917-iis6.vhd")
    folders, gaps = collect_uninstall_folders(fs, "WINNT")
    assert folders == []
    assert [(g.what, g.reason) for g in gaps] == [("WINNT", "not present on the volume")]


# --- a purpose-built NTFS volume --------------------------------------------------------------------------

CLOCK = datetime(2010, 1, 1, tzinfo=UTC)
INSTALLED = datetime(2009, 12, 9, 15, 40, 40, 123457, tzinfo=UTC)  # µs that a float round trip would lose
BUILT = datetime(2009, 10, 30, 20, 13, 0, 999_999, tzinfo=UTC)
INFO = VersionInfo("6.0.3790.4611", "6.0.3790.4611 (srv03_sp2_qfe.091030-1513)", original_filename="big.dll")
MANY = 600  # enough names for a multi-level $I30 B-tree




def _entry(path: str, data: bytes | None, *, hidden: bool = False) -> TreeEntry:
    si = NtfsTimes(created=INSTALLED, modified=BUILT, changed=INSTALLED, accessed=INSTALLED)
    return TreeEntry(path, data, si, hidden=hidden)


@pytest.fixture(scope="module")
def volume(tmp_path_factory: pytest.TempPathFactory) -> CountingReader:
    small = build_pe(INFO, timestamp=BUILT.replace(microsecond=0))
    entries = [
        _entry("WINDOWS\\system32\\big.dll", build_pe(INFO, timestamp=CLOCK, size_hint=5 * 1024 * 1024)),
        _entry("WINDOWS\\system32\\readme.txt", b"not a PE\r\n"),
        *(_entry(f"WINDOWS\\system32\\broken_{m}.dll", build_corrupt_pe_resource(INFO, mode=m))
          for m in CORRUPT_MODES),
        *(_entry(f"WINDOWS\\many\\file{i:04d}.dll", b"x") for i in range(MANY)),
        _entry("WINDOWS\\$NtUninstallKB999999$", None, hidden=True),
        _entry("WINDOWS\\$NtUninstallKB999999$\\w3core.dll", small),
        _entry("WINDOWS\\$NtUninstallKB999999$\\spuninst\\spuninst.exe", small),
        _entry("WINDOWS\\$NtUninstallKB999999$\\sub\\one.dll", small),
        _entry("WINDOWS\\$NtUninstallKB999999$\\sub\\deeper\\two.dll", small),
        _entry("WINDOWS\\$hf_mig$\\KB999999\\SP2QFE\\w3core.dll", small),
        _entry("WINDOWS\\$NtUninstallKB1$", b"a file, not a folder"),
    ]
    out = tmp_path_factory.mktemp("ntfs") / "volume.ntfs"
    build_ntfs_volume(entries, out, size=16 * 1024 * 1024, clock=CLOCK)
    return CountingReader(out.read_bytes())


def test_times_are_exact_to_the_microsecond(volume: CountingReader) -> None:
    files, _ = collect_files(NtfsFilesystem(volume), ["WINDOWS\\system32\\readme.txt"])
    (readme,) = files
    assert readme.created_at == INSTALLED and readme.modified_at == BUILT
    assert readme.fn_created_at == INSTALLED


def test_non_pe_and_corrupt_pes_give_gaps_quickly(volume: CountingReader) -> None:
    paths = ["WINDOWS\\system32\\readme.txt", *(f"WINDOWS\\system32\\broken_{m}.dll" for m in CORRUPT_MODES)]
    files, gaps = collect_files(NtfsFilesystem(volume), paths)
    assert [f.path for f in files] == paths
    assert all(f.version is None and f.sha256 is not None and f.created_at == INSTALLED for f in files)
    assert {g.what for g in gaps} == set(paths)
    assert all(g.reason.startswith("PE version unreadable: ") for g in gaps)
    assert all(g.sources[0].locator.startswith("MFT entry ") for g in gaps)


def test_version_step_reads_far_less_than_a_5_mb_dll(volume: CountingReader) -> None:
    fs = NtfsFilesystem(volume)
    record = fs.ntfs.mft.get("WINDOWS\\system32\\big.dll")
    assert record.size() > 5 * 1024 * 1024
    volume.bytes_read = 0
    version = read_pe_version(record.open(), record.size())
    assert version.file_version == "6.0.3790.4611"
    assert version.lab_tag is not None and "_qfe." in version.lab_tag
    assert volume.bytes_read < 128 * 1024, volume.bytes_read  # volume bytes, whole clusters included
    volume.bytes_read = 0
    files, gaps = collect_files(fs, ["WINDOWS\\system32\\big.dll"], hash_files=False)
    assert gaps == [] and files[0].sha256 is None and str(files[0].version) == "6.0.3790.4611"
    assert volume.bytes_read < 512 * 1024, volume.bytes_read


def test_every_name_of_a_large_directory_is_found(volume: CountingReader) -> None:
    fs = NtfsFilesystem(volume)
    paths = [f"windows\\MANY\\FILE{i:04d}.DLL" for i in range(0, MANY, 7)]
    files, gaps = collect_files(fs, [*paths, "WINDOWS\\many\\file9999.dll", "WINDOWS\\many\\file0000.dl"])
    assert [f.path for f in files] == [f"WINDOWS\\many\\file{i:04d}.dll" for i in range(0, MANY, 7)]
    missing = [g.what for g in gaps if g.reason == "not present on the volume"]
    assert missing == ["WINDOWS\\many\\file9999.dll", "WINDOWS\\many\\file0000.dl"]
    assert len(gaps) == len(files) + 2  # each 1-byte file: "PE version unreadable: not a PE file"


def test_uninstall_folders_and_hf_mig(volume: CountingReader) -> None:
    folders, gaps = collect_uninstall_folders(NtfsFilesystem(volume), "windows")
    assert gaps == []
    assert [(f.path, f.update_id, f.kind) for f in folders] == [
        ("WINDOWS\\$hf_mig$\\KB999999", "KB999999", "hotfix-migration"),
        ("WINDOWS\\$NtUninstallKB999999$", "KB999999", "hotfix-backup"),
    ]
    mig, backup = folders
    assert isinstance(backup, UninstallFolder)
    assert [f.path for f in mig.files] == ["WINDOWS\\$hf_mig$\\KB999999\\SP2QFE\\w3core.dll"]
    # spuninst (the uninstaller's own files) and anything two levels down are left out
    assert [f.path for f in backup.files] == [
        "WINDOWS\\$NtUninstallKB999999$\\sub\\one.dll",
        "WINDOWS\\$NtUninstallKB999999$\\w3core.dll",
    ]
    assert all(str(f.version) == "6.0.3790.4611" for f in backup.files)
    assert backup.created_at == INSTALLED
    assert backup.to_dict()["files"][0]["path"] == "WINDOWS\\$NtUninstallKB999999$\\sub\\one.dll"


def test_not_ntfs_gives_gaps() -> None:
    # A non-NTFS file system is read as a directory source; one it cannot even list yields only gaps.
    files, gaps = collect_files(object(), ["WINDOWS\\x.dll"])
    assert files == [] and "not present" in gaps[0].reason
    folders, gaps = collect_uninstall_folders(object(), "WINDOWS")
    assert folders == [] and "not NTFS" in gaps[0].reason


def test_no_evidence_is_written(volume: CountingReader) -> None:
    before = volume.getvalue()
    fs = NtfsFilesystem(volume)
    collect_files(fs, ["WINDOWS\\system32\\readme.txt"])
    collect_uninstall_folders(fs, "WINDOWS")
    assert volume.getvalue() == before


def test_damaged_mft_records_and_indexes_give_gaps_not_tracebacks(volume: CountingReader) -> None:
    paths = ["WINDOWS\\system32\\readme.txt", "WINDOWS\\$NtUninstallKB999999$\\w3core.dll", "WINDOWS\\x"]
    checked = 0
    for fs in damaged_volumes(volume.getvalue(), seed=2009):
        files, gaps = collect_files(fs, paths, hash_files=False)
        folders, _ = collect_uninstall_folders(fs, "WINDOWS", hash_files=False)
        assert len(files) + len({g.what for g in gaps}) >= len(paths)
        assert all(isinstance(f, UninstallFolder) for f in folders)
        checked += 1
    assert checked > 20


def test_install_folder_creation_time_is_the_exact_filetime(volume: CountingReader) -> None:
    """Issue 16: one NTFS lookup; the folder time is the raw $SI FILETIME, not dissect's float (1 µs off)."""
    found = created_at(NtfsFilesystem(volume), "windows\\$ntuninstallkb999999$")
    assert found is not None
    when, locator = found
    assert when == INSTALLED and locator.startswith("MFT entry ")
    assert created_at(NtfsFilesystem(volume), "WINDOWS\\no such folder") is None
