"""Containers and snapshot children, verified with qemu-img, ewfverify, dissect.target and libvhdi."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dissect.hypervisor.disk.vhdx import VHDX
from dissect.target import Target

from fixtures.factory.containers import FORMATS, convert, make_child
from fixtures.factory.disk import Partition, build_disk
from fixtures.factory.ntfs import NtfsTimes, TreeEntry, build_ntfs_volume
from fixtures.factory.vhdx import crc32c

CLOCK = datetime(2008, 11, 12, 13, 14, 15, tzinfo=UTC)
LATER = CLOCK + timedelta(days=40)
MIB = 1024 * 1024
NAMES = {"raw": "disk.raw", "split-raw": "disk", "vhd-fixed": "fixed.vhd", "vhd-dynamic": "disk.vhd",
         "vhdx": "disk.vhdx", "vmdk": "disk.vmdk", "qcow2": "disk.qcow2", "e01": "disk.E01"}
QEMU_FMT = {"raw": "raw", "vhd-fixed": "vpc", "vhd-dynamic": "vpc", "vhdx": "vhdx", "vmdk": "vmdk",
            "qcow2": "qcow2"}


def _tree(patched: bool) -> list[TreeEntry]:
    old = NtfsTimes.all(CLOCK - timedelta(days=300))
    entries = [TreeEntry(f"WINDOWS\\system32\\drv{i:02d}.sys", bytes([i + 1]) * (5000 + 300 * i), old)
               for i in range(20)]
    if patched:
        entries[3] = TreeEntry(entries[3].path, b"new build" * 900, NtfsTimes(LATER, CLOCK, LATER, LATER))
        entries.append(TreeEntry("WINDOWS\\$NtUninstallKB950000$", None, NtfsTimes.all(LATER), hidden=True))
        entries.append(TreeEntry("WINDOWS\\$NtUninstallKB950000$\\drv03.sys", bytes([4]) * 5900, old,
                                 NtfsTimes.all(LATER)))
    return entries


@pytest.fixture(scope="module")
def disks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(parent raw, child raw): the same disk before and after a hotfix."""
    d = tmp_path_factory.mktemp("disks")
    for name, patched in (("parent", False), ("child", True)):
        build_ntfs_volume(_tree(patched), d / f"{name}.ntfs", size=4 * MIB, label="SYS", clock=CLOCK)
        build_disk([Partition(4 * MIB, d / f"{name}.ntfs", bootable=True)], d / f"{name}.raw")
    return d / "parent.raw", d / "child.raw"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, disks: tuple[Path, Path]) -> dict[str, list[Path]]:
    d = tmp_path_factory.mktemp("containers")
    return {fmt: convert(disks[0], fmt, d / NAMES[fmt], clock=CLOCK) for fmt in FORMATS}


def _read_ntfs_file(path: Path, name: str = "WINDOWS/system32/drv03.sys") -> bytes:
    target = Target.open(path)
    fs = next(f for f in target.filesystems if f.__type__ == "ntfs")
    return fs.path(name).read_bytes()


def test_qemu_sees_identical_content(built: dict[str, list[Path]], disks: tuple[Path, Path]) -> None:
    raw = disks[0]
    for fmt, qfmt in QEMU_FMT.items():
        (path,) = built[fmt]
        proc = subprocess.run(["qemu-img", "compare", "-f", "raw", "-F", qfmt, str(raw), str(path)],
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 0, (fmt, proc.stdout, proc.stderr)
        info = subprocess.run(["qemu-img", "info", "-f", qfmt, str(path)], capture_output=True, text=True,
                              check=True).stdout
        assert f"({raw.stat().st_size} bytes)" in info, fmt
    for fmt in ("vhdx", "qcow2", "vmdk"):
        subprocess.run(["qemu-img", "check", "-f", QEMU_FMT[fmt], str(built[fmt][0])], check=True,
                       capture_output=True)
    parts = built["split-raw"]
    assert [p.name for p in parts] == ["disk.001", "disk.002"]
    assert b"".join(p.read_bytes() for p in parts) == raw.read_bytes()


def test_dissect_reads_ntfs_in_every_format(built: dict[str, list[Path]]) -> None:
    expected = bytes([4]) * (5000 + 300 * 3)
    for fmt, files in built.items():
        assert _read_ntfs_file(files[0]) == expected, fmt


def test_e01_verifies(built: dict[str, list[Path]], disks: tuple[Path, Path], tmp_path: Path) -> None:
    (e01,) = built["e01"]
    assert e01.name == "disk.E01"
    proc = subprocess.run(["ewfverify", "-q", str(e01)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "SUCCESS" in proc.stdout
    info = subprocess.run(["ewfinfo", str(e01)], capture_output=True, text=True, check=True).stdout
    assert "Acquisition date:\tWed Nov 12 13:14:15 2008" in info
    assert "Case number:\t\tPATCHMORTEM" in info
    # Several segments: incompressible content, 1 MiB segment size.
    raw = tmp_path / "noise.raw"
    raw.write_bytes(b"".join(hashlib.sha256(i.to_bytes(4, "little")).digest() for i in range(3 * MIB // 32)))
    segs = convert(raw, "e01", tmp_path / "noise.E01", clock=CLOCK, split_size=MIB)
    assert [p.name for p in segs][:3] == ["noise.E01", "noise.E02", "noise.E03"]
    target = Target.open(segs[0])
    disk = target.disks[0]
    disk.seek(0)
    assert disk.read(3 * MIB) == raw.read_bytes()


def test_vhdx_checksums(built: dict[str, list[Path]]) -> None:
    data = built["vhdx"][0].read_bytes()
    for off, size in ((64 * 1024, 4096), (128 * 1024, 4096), (192 * 1024, 65536), (256 * 1024, 65536)):
        block = bytearray(data[off : off + size])
        stored = int.from_bytes(block[4:8], "little")
        block[4:8] = bytes(4)
        assert crc32c(block) == stored
    assert not any(data[MIB : 2 * MIB])  # log region emptied


def test_deterministic(tmp_path: Path, built: dict[str, list[Path]], disks: tuple[Path, Path]) -> None:
    for fmt in FORMATS:
        again = convert(disks[0], fmt, tmp_path / NAMES[fmt], clock=CLOCK)
        assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in again] == [
            hashlib.sha256(p.read_bytes()).hexdigest() for p in built[fmt]], fmt


@pytest.mark.parametrize(("parent_fmt", "child_fmt", "child_name"), [
    ("vmdk", "vmdk-delta", "disk-000001.vmdk"),
    ("qcow2", "qcow2", "snap.qcow2"),
    ("vhdx", "avhdx", "disk_7A1C.avhdx"),
])
def test_children(tmp_path: Path, disks: tuple[Path, Path], parent_fmt: str, child_fmt: str,
                  child_name: str) -> None:
    parent_raw, child_raw = disks
    outs = []
    for sub in ("a", "b"):
        d = tmp_path / sub
        d.mkdir()
        (parent,) = convert(parent_raw, parent_fmt, d / NAMES[parent_fmt], clock=CLOCK)
        outs.append(make_child(parent, parent_raw, child_raw, child_fmt, d / child_name, clock=LATER))
    child = outs[0]
    assert hashlib.sha256(child.read_bytes()).digest() == hashlib.sha256(outs[1].read_bytes()).digest()
    want = child_raw.read_bytes()
    # Only changed data is stored: far smaller than the disk's payload.
    assert child.stat().st_blocks * 512 < len(want) // 2 or child_fmt == "avhdx"
    if child_fmt != "avhdx":  # qemu cannot open VHDX differencing disks
        cmd = ["qemu-img", "info", "--output=json", str(child)]
        info = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
        assert info["backing-filename"] == NAMES[parent_fmt]  # relative: file name only
        subprocess.run(["qemu-img", "compare", "-f", "raw", str(child_raw), str(child)], check=True,
                       capture_output=True)
    else:
        vhdx = VHDX(child)
        assert vhdx.parent is not None and vhdx.parent_locator.entries["relative_path"] == ".\\disk.vhdx"
        assert vhdx.read(len(want)) == want
        pyvhdi = pytest.importorskip("pyvhdi")
        parent_file, child_file = pyvhdi.file(), pyvhdi.file()
        parent_file.open(str(child.parent / NAMES[parent_fmt]))
        child_file.open(str(child))
        child_file.set_parent(parent_file)
        assert child_file.read_buffer_at_offset(len(want), 0) == want
    # dissect.target follows the chain and sees the patched file system.
    assert _read_ntfs_file(child) == b"new build" * 900
    assert _read_ntfs_file(child, "WINDOWS/$NtUninstallKB950000$/drv03.sys") == bytes([4]) * 5900


def test_child_rejects_foreign_directory(tmp_path: Path, built: dict[str, list[Path]],
                                         disks: tuple[Path, Path]) -> None:
    with pytest.raises(ValueError):
        make_child(built["qcow2"][0], disks[0], disks[1], "qcow2", tmp_path / "x.qcow2", clock=LATER)
