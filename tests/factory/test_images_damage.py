"""The COMMITTED fixture images' harder shapes: declared damage, dirty hives and their logs, snapshot chains,
partitioned disks, and that reading an image never changes it (see test_images.py for the read-back tests).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from dissect.target import Target
from Registry import Registry

from fixtures.factory.scenario import IMAGES_DIR
from tests.factory.committed_images import (
    DISSECT_READABLE,
    READABLE,
    SCENARIOS,
    first_file,
    image_ids,
    images_of,
    manifest_entries,
    open_windows_fs,
    read_volume_file,
)


def _evt_record_validity(data: bytes) -> list[bool]:
    """Validity of every record found by its "LfLe" signature: does the trailing Length copy match?"""
    import struct

    out = []
    pos = data.find(b"LfLe", 0x30)
    while pos != -1:
        offset = pos - 4
        (length,) = struct.unpack_from("<I", data, offset)
        if 0x38 <= length <= len(data) - offset:
            out.append(struct.unpack_from("<I", data, offset + length - 4)[0] == length)
        pos = data.find(b"LfLe", pos + 4)
    return out


def _w3c_malformed_lines(data: bytes) -> int:
    fields = 0
    bad = 0
    for line in data.split(b"\n"):
        line = line.rstrip(b"\r")
        if line.startswith(b"#Fields:"):
            fields = len(line.split()) - 1
        elif line and not line.startswith(b"#") and (b"\0" in line or len(line.split()) != fields):
            bad += 1
    return bad


DAMAGED = [m for m in READABLE if SCENARIOS[m["scenario"]].expected.get("damage")]


@pytest.mark.parametrize("image", DAMAGED, ids=image_ids(DAMAGED))
def test_declared_damage_is_in_the_image(image: dict[str, Any]) -> None:
    """The crash damage a scenario declares is on disk: malformed log lines, torn event records."""
    sc = SCENARIOS[image["scenario"]]
    path = first_file(image)
    for spec in sc.expected["damage"]:
        data = read_volume_file(path, spec["artifact"])
        if spec["kind"] == "malformed-lines":
            assert data.endswith(b"\0" * 64)  # the unflushed tail reads as zeros
            assert _w3c_malformed_lines(data) == spec["count"]
        else:
            assert spec["kind"] == "corrupt-records"
            validity = _evt_record_validity(data)
            assert validity.count(False) == spec["count"] and validity.count(True) > 10


def _updates_key_exists(hive_bytes: bytes, path: str) -> bool:
    try:
        Registry.Registry(io.BytesIO(hive_bytes)).open(path)
    except Registry.RegistryKeyNotFoundException:
        return False
    return True


def test_dirty_software_hive_recovers_the_newest_update_from_its_nt5_log(tmp_path: Path) -> None:
    """KB973917's registry record exists only in software.LOG; regipy's independent replay recovers it."""
    from regipy.recovery import apply_transaction_logs

    image = next(m for m in images_of("image") if m["scenario"] == "kb973917-iis6")
    path = first_file(image)
    primary = read_volume_file(path, "WINDOWS/system32/config/SOFTWARE")
    log = read_volume_file(path, "WINDOWS/system32/config/software.LOG")
    key = "Microsoft\\Updates\\Windows Server 2003\\SP3\\KB973917"
    assert not _updates_key_exists(primary, key)
    (tmp_path / "SOFTWARE").write_bytes(primary)
    (tmp_path / "software.LOG").write_bytes(log)
    recovered, _ = apply_transaction_logs(
        str(tmp_path / "SOFTWARE"),
        primary_log_path=str(tmp_path / "software.LOG"),
        restored_hive_path=str(tmp_path / "SOFTWARE.recovered"),
    )
    data = Path(recovered).read_bytes()
    assert _updates_key_exists(data, key)
    desc = Registry.Registry(io.BytesIO(data)).open(key).value("Description").value()
    assert desc == "Update for Windows Server 2003 (KB973917)"


CHAIN_PAIRS = [
    (p, c)
    for p, c in zip(images_of("parent"), images_of("child"), strict=True)
    if c["format"] in DISSECT_READABLE
]


@pytest.mark.parametrize("pair", CHAIN_PAIRS, ids=[c["format"] for _, c in CHAIN_PAIRS])
def test_snapshot_child_adds_the_update_its_parent_lacks(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    parent, child = pair
    key = "Microsoft\\Updates\\Windows Server 2003\\SP3\\KB973917"
    software = "WINDOWS/system32/config/SOFTWARE"
    assert not _updates_key_exists(read_volume_file(first_file(parent), software), key)
    assert _updates_key_exists(read_volume_file(first_file(child), software), key)


def _overlay_vhd_child(child: Path, parent_raw: bytes) -> bytes:
    """Apply a VHD differencing disk to its parent's bytes, per the VHD spec: BAT + per-sector bitmaps.

    Written here from the specification, independent of the factory's writer. (libvhdi, the usual
    independent reader, misreads bitmap bytes other than 0x00/0xFF, and NTFS's 1 KiB MFT records make them.)
    """
    import struct

    data = child.read_bytes()
    footer = data[-512:]
    assert footer[:8] == b"conectix" and struct.unpack(">I", footer[60:64])[0] == 4  # differencing
    header_off = struct.unpack(">Q", footer[16:24])[0]
    header = data[header_off : header_off + 1024]
    assert header[:8] == b"cxsparse"
    (table_off,) = struct.unpack(">Q", header[16:24])
    entries, block_size = struct.unpack(">II", header[28:36])
    sectors_per_block = block_size // 512
    bitmap_bytes = -(-sectors_per_block // 8)
    bitmap_size = -(-bitmap_bytes // 512) * 512
    out = bytearray(parent_raw)
    for block in range(entries):
        (sector,) = struct.unpack(">I", data[table_off + 4 * block : table_off + 4 * block + 4])
        if sector == 0xFFFFFFFF:
            continue
        base = sector * 512
        bitmap = data[base : base + bitmap_bytes]
        for i in range(sectors_per_block):
            if bitmap[i // 8] & (0x80 >> (i % 8)):
                src = base + bitmap_size + i * 512
                dst = block * block_size + i * 512
                out[dst : dst + 512] = data[src : src + 512]
    return bytes(out)


def test_avhd_child_reads_through_its_parent(tmp_path: Path) -> None:
    """The .avhd child overlaid on its parent holds the post-patch state; the child alone does not."""
    from dissect.hypervisor.disk.vhd import VHD

    child = next(m for m in images_of("child") if m["format"] == "avhd")
    parent = next(m for m in images_of("parent") if m["format"] == "vhd-dynamic")
    with first_file(parent).open("rb") as fh:
        vhd = VHD(fh)
        parent_raw = vhd.read(vhd.size)
    raw = tmp_path / "chain.raw"
    raw.write_bytes(_overlay_vhd_child(first_file(child), parent_raw))
    key = "Microsoft\\Updates\\Windows Server 2003\\SP3\\KB973917"
    assert _updates_key_exists(read_volume_file(raw, "WINDOWS/system32/config/SOFTWARE"), key)
    # The child opened by dissect on its own has no readable system volume: never trust it alone.
    with pytest.raises(Exception):  # noqa: B017 - any failure is fine; success would be silently wrong data
        read_volume_file(first_file(child), "WINDOWS/system32/config/SOFTWARE")


def test_multi_partition_disk_has_one_windows_volume() -> None:
    image = next(m for m in images_of("image") if m["scenario"] == "healthy-2003-sp2")
    target = Target.open(first_file(image))
    kinds = [getattr(getattr(v, "fs", None), "__type__", None) for v in target.volumes]
    assert kinds.count("ntfs") == 2
    from scanner.evidence.source import describe_source

    described = describe_source(first_file(image))
    assert [v.index for v in described.windows_volumes] == [0]


def test_gpt_disk_places_windows_after_esp_and_msr() -> None:
    image = next(m for m in images_of("image") if m["scenario"] == "cbs-2008-iis7-pending")
    from scanner.evidence.source import describe_source

    described = describe_source(first_file(image))
    assert len(described.windows_volumes) == 1
    assert described.windows_volumes[0].offset > 3 * 1024 * 1024


def test_reading_images_never_changes_them() -> None:
    before = {f["name"]: f["sha256"] for m in manifest_entries() for f in m["files"]}
    for image in READABLE:
        open_windows_fs(first_file(image))
    after = {name: hashlib.sha256((IMAGES_DIR / name).read_bytes()).hexdigest() for name in before}
    assert before == after


def test_dirty_software_hive_recovers_the_newest_package_from_its_new_format_log(tmp_path: Path) -> None:
    """Windows 8.1+ (HvLE) log: python-registry's RegistryLog replays it onto a copy of the primary."""
    from Registry.RegistryLog import RegistryLog

    image = next(m for m in images_of("image") if m["scenario"] == "cbs-2012r2-dirty-hive")
    path = first_file(image)
    config = "Windows/System32/config"
    hive = tmp_path / "SOFTWARE"
    hive.write_bytes(read_volume_file(path, f"{config}/SOFTWARE"))
    (tmp_path / "SOFTWARE.LOG1").write_bytes(read_volume_file(path, f"{config}/SOFTWARE.LOG1"))
    (tmp_path / "SOFTWARE.LOG2").write_bytes(read_volume_file(path, f"{config}/SOFTWARE.LOG2"))
    packages = "Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Packages"
    key = f"{packages}\\Package_for_KB3000850~31bf3856ad364e35~amd64~~6.3.1.2"
    assert not _updates_key_exists(hive.read_bytes(), key)
    with hive.open("r+b") as fh:  # the tmp copy, never the evidence
        log = RegistryLog(fh, io.BytesIO(read_volume_file(path, f"{config}/SOFTWARE.LOG1")))
        assert log.is_eligible_log()
        log.recover_hive()
    assert _updates_key_exists(hive.read_bytes(), key)
