"""PE writer: pefile reads back the version resource exactly as the scanner will (fast_load + resources)."""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timezone

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
)


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


@pytest.mark.parametrize(("machine", "magic"), [("i386", 0x10B), ("amd64", 0x20B)])
@pytest.mark.parametrize("kind", ["dll", "exe", "sys"])
def test_version_resource_reads_back(machine: str, magic: int, kind: str) -> None:
    data = build_pe(INFO, machine=machine, kind=kind, timestamp=BUILT, size_hint=1234)
    pe = _parse(data)
    assert pe.OPTIONAL_HEADER.Magic == magic
    assert pe.FILE_HEADER.TimeDateStamp == int(BUILT.timestamp())
    assert pe.is_dll() == (kind == "dll")
    ffi = pe.VS_FIXEDFILEINFO[0]
    assert (ffi.FileVersionMS, ffi.FileVersionLS) == ((6 << 16) | 0, (3790 << 16) | 3959)
    assert (ffi.ProductVersionMS, ffi.ProductVersionLS) == ((6 << 16) | 0, (3790 << 16) | 3959)
    strings = _strings(pe)
    assert strings["FileVersion"] == "6.0.3790.3959 (srv03_sp2_rtm.070216-1710)"
    assert strings["OriginalFilename"] == "w3core.dll"
    assert strings["CompanyName"] == "Microsoft Corporation"
    assert pe.verify_checksum()
    assert not pe.get_warnings()


def test_sizes_differ_and_bytes_are_deterministic() -> None:
    a = build_pe(INFO, timestamp=BUILT, size_hint=0)
    b = build_pe(INFO, timestamp=BUILT, size_hint=4000)
    assert len(b) > len(a)
    again = build_pe(INFO, timestamp=BUILT, size_hint=4000)
    assert hashlib.sha256(b).digest() == hashlib.sha256(again).digest()


@pytest.mark.parametrize("mode", CORRUPT_MODES)
def test_corrupt_resource_does_not_hang_pefile(mode: str) -> None:
    data = build_corrupt_pe_resource(INFO, mode=mode)
    result: list[pefile.PE | Exception] = []
    worker = threading.Thread(target=lambda: result.append(_try_parse(data)), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert result, f"pefile did not finish on a {mode} resource within 30 s"
    pe = result[0]
    if isinstance(pe, Exception):
        assert isinstance(pe, pefile.PEFormatError)
        return
    # Parsed: the version information must be absent or flagged, never silently plausible.
    ok = hasattr(pe, "VS_FIXEDFILEINFO") and _strings(pe).get("FileVersion") == INFO.file_version_string
    assert not ok or pe.get_warnings()
