"""Partitioned raw disks: hand-written MBR/GPT read back with dissect.volume, dissect.target and sfdisk."""

from __future__ import annotations

import hashlib
import struct
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dissect.target import Target
from dissect.volume.disk import Disk

from fixtures.factory.disk import Partition, build_disk, partition_guid
from fixtures.factory.ntfs import NtfsTimes, TreeEntry, build_ntfs_volume

CLOCK = datetime(2005, 4, 1, 8, 0, 0, tzinfo=UTC)
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def volumes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("vols")
    t = NtfsTimes.all(CLOCK)
    sys_vol, data_vol = d / "sys.ntfs", d / "data.ntfs"
    build_ntfs_volume([TreeEntry("WINDOWS\\system32\\ntoskrnl.exe", b"MZ kernel", t)], sys_vol, size=4 * MIB,
                      label="SYS", serial=0x11112222, clock=CLOCK)
    build_ntfs_volume([TreeEntry("Data\\readme.txt", b"data volume", t)], data_vol, size=4 * MIB,
                      label="DATA", serial=0x33334444, clock=CLOCK)
    return sys_vol, data_vol


def _sfdisk_dump(path: Path) -> str:
    subprocess.run(["sfdisk", "-V", str(path)], check=True, capture_output=True)
    return subprocess.run(["sfdisk", "-d", str(path)], check=True, capture_output=True, text=True).stdout


def _ntfs_files(path: Path) -> dict[int, set[str]]:
    """{partition offset: top-level names} for every NTFS file system dissect.target finds."""
    target = Target.open(path)
    out = {}
    for fs in target.filesystems:
        if fs.__type__ == "ntfs":
            out[fs.volume.offset] = set(fs.listdir("/"))
    return out


def test_mbr_three_partitions(tmp_path: Path, volumes: tuple[Path, Path]) -> None:
    sys_vol, data_vol = volumes
    out = tmp_path / "mbr.raw"
    size = build_disk([Partition(6 * MIB, sys_vol, bootable=True), Partition(2 * MIB, None, "linux"),
                       Partition(4 * MIB, data_vol)], out, disk_id=0xDEADBEEF)
    assert size == out.stat().st_size == (2048 + (6 + 2 + 4) * 2048) * 512
    with open(out, "rb") as fh:
        disk = Disk(fh)
        assert disk.serial == 0xDEADBEEF
        parts = [(p.offset, p.size, p.type, p.flags) for p in disk.partitions]
        assert parts == [(MIB, 6 * MIB, 0x07, 0x80), (7 * MIB, 2 * MIB, 0x83, 0), (9 * MIB, 4 * MIB, 0x07, 0)]
        # the NTFS boot sectors (primary and backup) now carry the partition start as "hidden sectors"
        fh.seek(MIB)
        assert struct.unpack_from("<I", fh.read(512), 0x1C)[0] == 2048
        fh.seek(MIB + 4 * MIB - 512)
        assert struct.unpack_from("<I", fh.read(512), 0x1C)[0] == 2048
        fh.seek(9 * MIB)
        assert struct.unpack_from("<I", fh.read(512), 0x1C)[0] == 9 * 2048
    dump = _sfdisk_dump(out)
    assert "label-id: 0xdeadbeef" in dump
    assert "start=        2048, size=       12288, type=7, bootable" in dump
    assert "type=83" in dump
    target = Target.open(out)
    assert [v.offset for v in target.volumes] == [MIB, 7 * MIB, 9 * MIB]
    meta = {"$Extend", "$AttrDef", "$BadClus", "$Bitmap", "$Boot", "$LogFile", "$MFT", "$MFTMirr", "$Secure",
            "$UpCase", "$Volume"}
    assert _ntfs_files(out) == {MIB: meta | {"WINDOWS"}, 9 * MIB: meta | {"Data"}}
    fs = next(f for f in target.filesystems if f.volume.offset == MIB)
    assert fs.path("WINDOWS/system32/ntoskrnl.exe").read_bytes() == b"MZ kernel"


def test_gpt_two_partitions(tmp_path: Path, volumes: tuple[Path, Path]) -> None:
    sys_vol, _ = volumes
    out = tmp_path / "gpt.raw"
    guid = "4E1A7C62-1D3B-4F6E-9B0A-2C5D7E8F9A01"
    parts = [Partition(4 * MIB, sys_vol, name="Basic data partition"),
             Partition(2 * MIB, None, "linux", name="linux-data")]
    size = build_disk(parts, out, scheme="gpt", disk_guid=guid)
    assert size == out.stat().st_size and size % MIB == 0
    dump = _sfdisk_dump(out)
    assert f"label-id: {guid}" in dump
    p0 = str(partition_guid(uuid.UUID(guid), 0)).upper()
    basic = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
    assert f"start=        2048, size=        8192, type={basic}, uuid={p0}" in dump
    assert 'name="linux-data"' in dump
    with open(out, "rb") as fh:
        disk = Disk(fh)
        assert type(disk.scheme).__name__ == "GPT"
        found = disk.partitions
        assert [(p.offset, p.type, p.name) for p in found] == [
            (MIB, uuid.UUID("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"), "Basic data partition"),
            (5 * MIB, uuid.UUID("0FC63DAF-8483-4772-8E79-3D69D8477DE4"), "linux-data"),
        ]
        assert found[0].guid == partition_guid(uuid.UUID(guid), 0)
    target = Target.open(out)
    assert len(target.volumes) == 2
    fs = next(f for f in target.filesystems if f.__type__ == "ntfs")
    assert fs.volume.offset == MIB
    assert fs.path("WINDOWS/system32/ntoskrnl.exe").read_bytes() == b"MZ kernel"


def test_first_sector_63_and_empty_slot(tmp_path: Path, volumes: tuple[Path, Path]) -> None:
    sys_vol, data_vol = volumes
    out = tmp_path / "w2k.raw"
    build_disk([Partition(4 * MIB, sys_vol, bootable=True), Partition(MIB, None, "empty"),
                Partition(4 * MIB, data_vol)], out, first_sector=63)
    dump = _sfdisk_dump(out)
    assert "start=          63, size=        8192, type=7, bootable" in dump
    assert f"start={63 + 8192 + 2048:>12}, size={8192:>12}, type=7\n" in dump
    with open(out, "rb") as fh:
        assert [(p.offset, p.type) for p in Disk(fh).partitions if p.type] == [
            (63 * 512, 0x07), ((63 + 8192 + 2048) * 512, 0x07)]
        fh.seek(63 * 512)
        assert struct.unpack_from("<I", fh.read(512), 0x1C)[0] == 63
    assert set(_ntfs_files(out)) == {63 * 512, (63 + 8192 + 2048) * 512}


def test_deterministic_and_validation(tmp_path: Path, volumes: tuple[Path, Path]) -> None:
    sys_vol, _ = volumes
    digests = set()
    for name in ("a.raw", "b.raw"):
        layout = [Partition(4 * MIB, sys_vol), Partition(MIB, None, "linux")]
        build_disk(layout, tmp_path / name, scheme="gpt")
        digests.add(hashlib.sha256((tmp_path / name).read_bytes()).hexdigest())
    assert len(digests) == 1
    with pytest.raises(ValueError):
        build_disk([Partition(MIB, sys_vol)], tmp_path / "small.raw")  # volume larger than partition
    with pytest.raises(ValueError):
        build_disk([Partition(MIB)] * 5, tmp_path / "five.raw")
    with pytest.raises(ValueError):
        build_disk([Partition(1000)], tmp_path / "odd.raw")
