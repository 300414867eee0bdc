"""PE writer: pefile reads back the version resource exactly as the scanner will (fast_load + resources), and
dissect.executable / file(1) agree when they are installed."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import threading
from datetime import datetime, timezone
from pathlib import Path

import pefile
import pytest

from fixtures.factory.pe import CORRUPT_MODES, VersionInfo, build_corrupt_pe_resource, build_pe

BUILT = datetime(2007, 2, 17, 1, 10, tzinfo=timezone.utc)
INFO = VersionInfo(
    file_version="6.0.3790.3959",
    file_version_string="6.0.3790.3959 (srv03_sp2_rtm.070216-1710)",
    original_filename="w3core.dll",
    internal_name="w3core",
    file_description="IIS Web Server Core",
    extra_strings=(("Comments", "patchmortem lab build \u2013 KB936181"), ("PrivateBuild", "pm-lab-07")),
)
MACHINE = {"i386": 0x014C, "amd64": 0x8664}
SUBSYSTEM = {"dll": 2, "exe": 3, "sys": 1}
FILE_TYPE = {"dll": 2, "exe": 1, "sys": 3}


def _parse(data: bytes) -> pefile.PE:
    pe = pefile.PE(data=data, fast_load=True)
    pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_RESOURCE"]])
    return pe


def _try_parse(data: bytes) -> pefile.PE | Exception:
    try:
        return _parse(data)
    except Exception as exc:  # noqa: BLE001 - the test inspects which exception it was
        return exc


def _strings(pe: pefile.PE) -> dict[str, str]:
    return {
        k.decode(): v.decode()
        for fi in pe.FileInfo[0]
        if fi.Key == b"StringFileInfo"
        for st in fi.StringTable
        for k, v in st.entries.items()
    }


def _leaves(directory: object) -> list[object]:
    """All IMAGE_RESOURCE_DATA_ENTRY leaves pefile found below a resource directory."""
    found: list[object] = []
    for entry in getattr(directory, "entries", []):
        if hasattr(entry, "data"):
            found.append(entry.data)
        if hasattr(entry, "directory"):
            found.extend(_leaves(entry.directory))
    return found


@pytest.mark.parametrize(("machine", "magic"), [("i386", 0x10B), ("amd64", 0x20B)])
@pytest.mark.parametrize("kind", ["dll", "exe", "sys"])
def test_version_resource_reads_back(machine: str, magic: int, kind: str) -> None:
    data = build_pe(INFO, machine=machine, kind=kind, timestamp=BUILT, size_hint=1234)
    pe = _parse(data)
    assert pe.FILE_HEADER.Machine == MACHINE[machine]
    assert pe.OPTIONAL_HEADER.Magic == magic
    assert pe.OPTIONAL_HEADER.Subsystem == SUBSYSTEM[kind]
    assert pe.FILE_HEADER.TimeDateStamp == int(BUILT.timestamp())
    assert pe.is_dll() == (kind == "dll")
    ffi = pe.VS_FIXEDFILEINFO[0]
    assert ffi.Signature == 0xFEEF04BD and ffi.FileType == FILE_TYPE[kind]
    assert (ffi.FileVersionMS, ffi.FileVersionLS) == ((6 << 16) | 0, (3790 << 16) | 3959)
    assert (ffi.ProductVersionMS, ffi.ProductVersionLS) == ((6 << 16) | 0, (3790 << 16) | 3959)
    strings = _strings(pe)
    assert list(strings.items()) == INFO.string_table()  # every string, in order, including the lab tags
    assert strings["FileVersion"] == "6.0.3790.3959 (srv03_sp2_rtm.070216-1710)"
    assert strings["ProductName"] == "Microsoft\u00ae Windows\u00ae Operating System"
    assert strings["LegalCopyright"] == "\u00a9 Microsoft Corporation. All rights reserved."
    assert strings["Comments"] == "patchmortem lab build \u2013 KB936181"
    var = [v.entry for fi in pe.FileInfo[0] if fi.Key == b"VarFileInfo" for v in fi.Var]
    assert var == [{b"Translation": "0x0409 0x04b0"}]
    assert [e.id for e in pe.DIRECTORY_ENTRY_RESOURCE.entries] == [pefile.RESOURCE_TYPE["RT_VERSION"]]
    assert pe.verify_checksum()
    assert not pe.get_warnings()
    # A full (non-fast) load runs pefile's heuristics too (e.g. "byte 0x.. makes up N% of the file").
    full = pefile.PE(data=data)
    assert full.verify_checksum() and not full.get_warnings()


def test_defaults_product_version_and_omitted_keys() -> None:
    info = VersionInfo("5.2.3790.1830", None, product_version="5.2.3790.1830",
                       product_version_string="5.2 SP1", legal_copyright="", language=0x0407, codepage=0x04E4)
    pe = _parse(build_pe(info, kind="sys", machine="amd64", timestamp=BUILT))
    strings = _strings(pe)
    assert strings["FileVersion"] == "5.2.3790.1830"  # None -> the numeric version
    assert strings["ProductVersion"] == "5.2 SP1"
    assert "LegalCopyright" not in strings and "OriginalFilename" not in strings  # empty -> omitted
    assert pe.FileInfo[0][0].StringTable[0].LangID == b"040704E4"
    assert pe.DIRECTORY_ENTRY_RESOURCE.entries[0].directory.entries[0].directory.entries[0].id == 0x0407
    short = _parse(build_pe(VersionInfo("1.2", None), timestamp=BUILT)).VS_FIXEDFILEINFO[0]
    assert (short.FileVersionMS, short.FileVersionLS) == (0x00010002, 0)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        build_pe(VersionInfo("6.0.70000.1", None), timestamp=BUILT)
    with pytest.raises(ValueError):
        build_pe(INFO, machine="arm64", timestamp=BUILT)
    with pytest.raises(ValueError):
        build_pe(INFO, kind="ocx", timestamp=BUILT)
    with pytest.raises(ValueError):
        build_pe(INFO, timestamp=datetime(2007, 2, 17))  # noqa: DTZ001 - naive on purpose


def test_sizes_differ_and_bytes_are_deterministic() -> None:
    a = build_pe(INFO, timestamp=BUILT, size_hint=0)
    b = build_pe(INFO, timestamp=BUILT, size_hint=4000)
    assert len(b) > len(a) and len(a) % 512 == 0 and len(b) % 512 == 0
    again = build_pe(INFO, timestamp=BUILT, size_hint=4000)
    assert hashlib.sha256(b).digest() == hashlib.sha256(again).digest()


@pytest.mark.parametrize("machine", ["i386", "amd64"])
def test_dissect_executable_agrees(machine: str) -> None:
    dpe = pytest.importorskip("dissect.executable.pe")
    pe = dpe.PE(io.BytesIO(build_pe(INFO, machine=machine, kind="sys", timestamp=BUILT, size_hint=99)))
    assert pe.timestamp == BUILT
    assert pe.is_64bit() == (machine == "amd64")
    info = pe.resources.vs_version_info()["VS_VERSION_INFO"]
    assert info["FileVersion"] == "6.0.3790.3959" and info["FileType"] == "DRV"
    assert info["StringFileInfo"]["en-US_utf-16"] == dict(INFO.string_table())
    assert info["VarFileInfo"]["Translation"] == ["en-US_utf-16"]


@pytest.mark.skipif(shutil.which("file") is None, reason="file(1) not installed")
@pytest.mark.parametrize(
    ("machine", "kind", "expected"),
    [
        ("i386", "dll", "PE32 executable (DLL) (GUI) Intel 80386"),
        ("amd64", "dll", "PE32+ executable (DLL) (GUI) x86-64"),
        ("i386", "sys", "PE32 executable (native) Intel 80386"),
        ("amd64", "exe", "PE32+ executable (console) x86-64"),
    ],
)
def test_file_command_recognises_it(tmp_path: Path, machine: str, kind: str, expected: str) -> None:
    path = tmp_path / f"x.{kind}"
    path.write_bytes(build_pe(INFO, machine=machine, kind=kind, timestamp=BUILT))
    out = subprocess.run(["file", "-b", str(path)], check=True, capture_output=True, text=True).stdout
    assert out.startswith(expected), out


@pytest.mark.parametrize("mode", CORRUPT_MODES)
def test_corrupt_resource_does_not_hang_pefile(mode: str) -> None:
    data = build_corrupt_pe_resource(INFO, mode=mode)
    assert data == build_corrupt_pe_resource(INFO, mode=mode)
    result: list[pefile.PE | Exception] = []
    worker = threading.Thread(target=lambda: result.append(_try_parse(data)), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert result, f"pefile did not finish on a {mode} resource within 30 s"
    pe = result[0]
    if isinstance(pe, Exception):
        assert isinstance(pe, pefile.PEFormatError)
        return
    # No version information comes out of any corrupt variant.
    assert not hasattr(pe, "VS_FIXEDFILEINFO")
    if mode == "loop":
        # pefile breaks resource-directory cycles silently (no warning): it just finds no RT_VERSION leaf.
        assert not _leaves(pe.DIRECTORY_ENTRY_RESOURCE)
    else:
        assert pe.get_warnings()


def test_default_corrupt_mode_warns() -> None:
    pe = _parse(build_corrupt_pe_resource())
    assert any("OffsetToData" in w for w in pe.get_warnings())
