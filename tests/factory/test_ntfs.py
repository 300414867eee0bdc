"""NTFS volume builder: real mkntfs + wimlib volume, read back with dissect.ntfs and ntfs-3g tools."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dissect.ntfs import NTFS
from dissect.ntfs.c_ntfs import ATTRIBUTE_TYPE_CODE

from fixtures.factory.ntfs import NtfsTimes, TreeEntry, build_ntfs_volume
from fixtures.factory.ntfs_records import datetime_to_filetime

CLOCK = datetime(2009, 3, 4, 5, 6, 7, tzinfo=UTC)  # "install" time
BUILD = datetime(2008, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)  # file build time (keeps microseconds)
FORMAT = datetime(2007, 6, 1, 9, 0, 0, tzinfo=UTC)  # volume format / implicit directories
SIZE = 8 * 1024 * 1024
HIDDEN = 0x2
SYSTEM = 0x4
DIRECTORY_FN = 0x10000000


def _entries() -> list[TreeEntry]:
    copied = NtfsTimes(created=CLOCK, modified=BUILD, changed=CLOCK, accessed=CLOCK)
    entries = [
        TreeEntry("WINDOWS\\system32\\inetsrv\\w3core.dll", b"MZ" + bytes(range(256)) * 40, copied),
        TreeEntry("WINDOWS\\$NtUninstallKB935966$", None, NtfsTimes.all(CLOCK), hidden=True),
        TreeEntry("boot.ini", b"[boot loader]\r\ntimeout=30\r\n", NtfsTimes.all(FORMAT), hidden=True,
                  system=True),
        TreeEntry("WINDOWS\\system32\\CatRoot2", None, NtfsTimes.all(FORMAT)),  # explicit dir, mixed case
        TreeEntry("WINDOWS\\system32\\CatRoot2\\Empty.LOG", b"", NtfsTimes.all(BUILD)),
        TreeEntry(
            "WINDOWS\\system32\\big.bin",
            bytes((i * 7) & 0xFF for i in range(100_000)),
            NtfsTimes(created=BUILD, modified=BUILD + timedelta(seconds=1), changed=CLOCK, accessed=CLOCK),
            fn=NtfsTimes(created=BUILD, modified=BUILD, changed=BUILD, accessed=BUILD + timedelta(hours=1)),
        ),
    ]
    # Enough names in one directory to push its $I30 index out of $INDEX_ROOT into INDX blocks.
    for i in range(60):
        entries.append(TreeEntry(f"WINDOWS\\system32\\kb_long_file_name_{i:03d}.dll", bytes([i]) * (i * 37),
                                 NtfsTimes(CLOCK, BUILD + timedelta(days=i), CLOCK, CLOCK)))
    return entries


@pytest.fixture(scope="module")
def volume(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ntfs") / "vol.ntfs"
    build_ntfs_volume(_entries(), out, size=SIZE, label="SYSTEM", serial=0x1C2B3A49, clock=FORMAT)
    return out


def _times(attr: object) -> tuple[int, int, int, int]:
    return (attr.creation_time_ns, attr.last_modification_time_ns,  # type: ignore[attr-defined]
            attr.last_change_time_ns, attr.last_access_time_ns)  # type: ignore[attr-defined]


def _ns(times: NtfsTimes) -> tuple[int, ...]:
    # FILETIME (100 ns since 1601) -> ns since 1970, what dissect's *_ns properties return
    return tuple((ft - 116444736000000000) * 100 for ft in times.filetimes())


def test_size_and_fsck(volume: Path) -> None:
    assert volume.stat().st_size == SIZE
    proc = subprocess.run(["ntfsfix", "-n", str(volume)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "processed successfully" in proc.stdout


def test_files_times_and_attributes_read_back_with_dissect(volume: Path) -> None:
    with open(volume, "rb") as fh:
        fs = NTFS(fh)
        assert fs.serial == 0x1C2B3A49
        assert fs.volume_name == "SYSTEM"
        for entry in _entries():
            record = fs.mft.get(entry.path.replace("\\", "/"))
            assert record.filename == entry.path.split("\\")[-1]  # case preserved
            assert record.is_dir() == (entry.data is None)
            if entry.data is not None:
                assert record.open().read() == entry.data
            si = record.attributes[ATTRIBUTE_TYPE_CODE.STANDARD_INFORMATION][0]
            assert _times(si) == _ns(entry.si), entry.path
            fns = record.attributes[ATTRIBUTE_TYPE_CODE.FILE_NAME]
            assert fns, entry.path
            for fn in fns:
                assert _times(fn) == _ns(entry.fn_times), entry.path
                assert fn.flags == 1  # WIN32 namespace, no DOS name
            want = (HIDDEN if entry.hidden else 0) | (SYSTEM if entry.system else 0)
            assert si.file_attributes & (HIDDEN | SYSTEM) == want, entry.path
            if entry.data is not None:
                assert si.file_attributes & 0x20  # ARCHIVE, as Windows sets on new files


def test_parent_index_copies_match(volume: Path) -> None:
    """The $FILE_NAME keys in $I30 (root and INDX blocks) carry the same times and attributes."""
    expected = {e.path.split("\\")[-1]: e for e in _entries()}
    seen = 0
    with open(volume, "rb") as fh:
        fs = NTFS(fh)
        dirs = ("WINDOWS", "WINDOWS/system32", "WINDOWS/system32/CatRoot2", "WINDOWS/system32/inetsrv", "")
        for directory in dirs:
            record = fs.mft.get(directory) if directory else fs.mft.get(5)
            index = record.index("$I30")
            if directory == "WINDOWS/system32":
                assert index._index_stream is not None, "test needs INDX blocks"  # noqa: SLF001
            for ie in index.entries():
                key = ie.attribute
                if key is None or key.file_name not in expected:
                    continue
                entry = expected[key.file_name]
                assert _times(key) == _ns(entry.fn_times), key.file_name
                want = (HIDDEN if entry.hidden else 0) | (SYSTEM if entry.system else 0)
                assert key.attr.FileAttributes & (HIDDEN | SYSTEM) == want
                assert bool(key.attr.FileAttributes & DIRECTORY_FN) == (entry.data is None)
                if entry.data is not None:
                    assert key.file_size == len(entry.data)
                seen += 1
    assert seen == len(expected)


def test_implicit_parents_and_root_get_clock(volume: Path) -> None:
    with open(volume, "rb") as fh:
        fs = NTFS(fh)
        for path in ("WINDOWS", "WINDOWS/system32/inetsrv"):
            si = fs.mft.get(path).attributes[ATTRIBUTE_TYPE_CODE.STANDARD_INFORMATION][0]
            assert _times(si) == _ns(NtfsTimes.all(FORMAT))
        # No timestamp anywhere in the MFT may come from the wall clock or be zero.
        allowed = {datetime_to_filetime(t) for t in (FORMAT, CLOCK, BUILD)}
        allowed |= {datetime_to_filetime(BUILD + timedelta(days=i)) for i in range(60)}
        allowed |= {datetime_to_filetime(BUILD + timedelta(seconds=1)), datetime_to_filetime(
            BUILD + timedelta(hours=1))}
        for record in fs.mft.segments():
            for code in (ATTRIBUTE_TYPE_CODE.STANDARD_INFORMATION, ATTRIBUTE_TYPE_CODE.FILE_NAME):
                for attr in record.attributes[code]:
                    for ft in (attr.attr.CreationTime, attr.attr.LastModificationTime,
                               attr.attr.LastChangeTime, attr.attr.LastAccessTime):
                        assert ft in allowed, (record.segment, code)


def test_ntfs3g_tools_agree(volume: Path) -> None:
    listing = subprocess.run(["ntfsls", "-p", "/WINDOWS", str(volume)], capture_output=True, text=True,
                             check=True).stdout.split()
    assert {"system32", "$NtUninstallKB935966$"} <= set(listing)
    info = subprocess.run(["ntfsinfo", "-F", "/boot.ini", str(volume)], capture_output=True, text=True,
                          check=True).stdout
    assert "HIDDEN" in info and "SYSTEM" in info
    assert "Fri Jun  1 09:00:00 2007" in info
    assert "Namespace:\t\t Win32" in info
    data = subprocess.run(["ntfscat", str(volume), "/WINDOWS/system32/inetsrv/w3core.dll"],
                          capture_output=True, check=True).stdout
    assert data == _entries()[0].data


def test_deterministic(tmp_path: Path, volume: Path) -> None:
    again = tmp_path / "again.ntfs"
    build_ntfs_volume(_entries(), again, size=SIZE, label="SYSTEM", serial=0x1C2B3A49, clock=FORMAT,
                      workdir=tmp_path)
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(volume.read_bytes()).digest()


def test_rejects_case_duplicates(tmp_path: Path) -> None:
    t = NtfsTimes.all(CLOCK)
    with pytest.raises(ValueError):
        build_ntfs_volume([TreeEntry("A\\x", b"1", t), TreeEntry("a\\X", b"2", t)], tmp_path / "v", size=SIZE,
                          clock=CLOCK)
    with pytest.raises(ValueError):
        datetime_to_filetime(datetime(2009, 1, 1))  # noqa: DTZ001 - naive on purpose
