"""Hand-written VHD differencing disks (.avhd), checked field by field and with libvhdi / dissect / qemu."""

from __future__ import annotations

import hashlib
import json
import struct
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dissect.hypervisor.disk.vhd import VHD

from fixtures.factory.containers import convert, make_child
from fixtures.factory.disk import Partition, build_disk
from fixtures.factory.ntfs import NtfsTimes, TreeEntry, build_ntfs_volume
from fixtures.factory.vhd import bitmap_partial_bytes, vhd_timestamp, write_vhd_differencing

CLOCK = datetime(2008, 6, 26, 10, 0, 0, tzinfo=UTC)  # parent creation
SNAP = datetime(2008, 9, 1, 22, 30, 0, tzinfo=UTC)  # snapshot (child) creation
MIB = 1024 * 1024
BLOCK = 2 * MIB


def _tree(patched: bool) -> list[TreeEntry]:
    base = NtfsTimes.all(CLOCK - timedelta(days=500))
    folder = "WINDOWS\\system32\\inetsrv"
    entries = [TreeEntry(f"{folder}\\mod{i:02d}.dll", bytes([0x40 + i]) * (7000 + 97 * i), base)
               for i in range(24)]
    if patched:
        entries[7] = TreeEntry(entries[7].path, b"SP2 build" * 1200, NtfsTimes(SNAP, CLOCK, SNAP, SNAP))
        entries.append(TreeEntry("WINDOWS\\$NtUninstallKB939373$", None, NtfsTimes.all(SNAP), hidden=True))
    return entries


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("avhd")
    for name, patched in (("parent", False), ("child", True)):
        build_ntfs_volume(_tree(patched), d / f"{name}.ntfs", size=6 * MIB, label="W2K8", clock=CLOCK)
        build_disk([Partition(6 * MIB, d / f"{name}.ntfs", bootable=True)], d / f"{name}.raw")
    (parent,) = convert(d / "parent.raw", "vhd-dynamic", d / "W2K8.vhd", clock=CLOCK)
    child = make_child(parent, d / "parent.raw", d / "child.raw", "avhd", d / "W2K8_4C1F.avhd", clock=SNAP)
    return {"parent": parent, "child": child, "parent_raw": d / "parent.raw", "child_raw": d / "child.raw"}


def _checksum_ok(buf: bytes, at: int) -> bool:
    return (~(sum(buf) - sum(buf[at : at + 4])) & 0xFFFFFFFF) == struct.unpack_from(">I", buf, at)[0]


def _parse(path: Path) -> dict[str, object]:
    """An independent, test-local parse of the fields the spec defines (big-endian)."""
    data = path.read_bytes()
    footer, copy = data[-512:], data[:512]
    header = data[512:1536]
    table_offset, _ver, entries, block_size = struct.unpack_from(">QIII", header, 16)
    locators = {}
    for i in range(8):
        code, space, length, _res, offset = struct.unpack_from(">4sIIIQ", header, 576 + 24 * i)
        if code != bytes(4):
            locators[code.decode()] = (space, data[offset : offset + length].decode("utf-16-le"))
    bat = struct.unpack_from(f">{entries}I", data, table_offset)
    return {
        "data": data, "footer": footer, "copy": copy, "header": header, "bat": bat, "block_size": block_size,
        "parent_uuid": header[40:56], "parent_stamp": struct.unpack_from(">I", header, 56)[0],
        "parent_name": header[64:576].decode("utf-16-be").rstrip("\x00"), "locators": locators,
    }


def test_structure(chain: dict[str, Path]) -> None:
    child, parent = _parse(chain["child"]), _parse(chain["parent"])
    footer = child["footer"]
    assert isinstance(footer, bytes) and footer[:8] == b"conectix"
    assert child["copy"] == footer
    assert struct.unpack_from(">I", footer, 60)[0] == 4  # differencing
    assert struct.unpack_from(">I", footer, 24)[0] == vhd_timestamp(SNAP)
    assert _checksum_ok(footer, 64)
    header = child["header"]
    assert isinstance(header, bytes) and header[:8] == b"cxsparse" and _checksum_ok(header, 36)
    pfooter = parent["footer"]
    assert isinstance(pfooter, bytes)
    assert child["parent_uuid"] == pfooter[68:84]
    assert child["parent_stamp"] == struct.unpack_from(">I", pfooter, 24)[0] == vhd_timestamp(CLOCK)
    assert child["parent_name"] == "W2K8.vhd"
    assert child["locators"] == {"W2ru": (1, ".\\W2K8.vhd"), "W2ku": (1, "C:\\VMs\\W2K8.vhd")}
    assert struct.unpack_from(">QQ", footer, 40) == (6 * MIB + MIB, 6 * MIB + MIB)  # sizes = disk size


def test_bitmaps_mark_exactly_the_changed_sectors(chain: dict[str, Path]) -> None:
    info = _parse(chain["child"])
    data, bat, block_size = info["data"], info["bat"], info["block_size"]
    assert isinstance(data, bytes) and isinstance(bat, tuple) and block_size == BLOCK
    parent_raw, child_raw = chain["parent_raw"].read_bytes(), chain["child_raw"].read_bytes()
    allocated = 0
    for index, sector in enumerate(bat):
        lo = index * BLOCK
        if sector == 0xFFFFFFFF:
            assert parent_raw[lo : lo + BLOCK] == child_raw[lo : lo + BLOCK]
            continue
        allocated += 1
        bitmap = data[sector * 512 : sector * 512 + 512]
        payload = data[sector * 512 + 512 : sector * 512 + 512 + BLOCK]
        for n in range(BLOCK // 512):
            a, b = parent_raw[lo + n * 512 : lo + n * 512 + 512], child_raw[lo + n * 512 : lo + n * 512 + 512]
            marked = bool(bitmap[n // 8] & (0x80 >> (n % 8)))
            assert marked == (a != b), (index, n)
            assert payload[n * 512 : n * 512 + 512] == (b if marked else bytes(512))
    assert allocated >= 1


def test_libvhdi_follows_the_parent(chain: dict[str, Path], tmp_path: Path) -> None:
    pyvhdi = pytest.importorskip("pyvhdi")
    want = chain["child_raw"].read_bytes()

    def read_chain(child: Path) -> bytes:
        parent_file, child_file = pyvhdi.file(), pyvhdi.file()
        parent_file.open(str(chain["parent"]))
        child_file.open(str(child))
        assert child_file.disk_type == 4
        assert child_file.parent_identifier == parent_file.identifier
        assert child_file.parent_filename == "W2K8.vhd"
        child_file.set_parent(parent_file)
        return bytes(child_file.read_buffer_at_offset(len(want), 0))

    # Exact-sector bitmaps: NTFS changes 1 KiB MFT records etc., so some bitmap bytes are partial, and libvhdi
    # (which tests bits without masking) misreads exactly the sectors covered by such bytes, nothing else.
    partial = bitmap_partial_bytes(chain["child"])
    assert partial > 0
    got = read_chain(chain["child"])
    bad = {n for n in range(len(want) >> 9) if got[n * 512 : n * 512 + 512] != want[n * 512 : (n + 1) * 512]}
    info = _parse(chain["child"])
    data, bat = info["data"], info["bat"]
    assert isinstance(data, bytes) and isinstance(bat, tuple)
    partial_sectors: set[int] = set()
    for index, sector in enumerate(bat):
        if sector != 0xFFFFFFFF:
            for byte_no, value in enumerate(data[sector * 512 : sector * 512 + 512]):
                if value not in (0, 0xFF):
                    first = index * (BLOCK // 512) + byte_no * 8
                    partial_sectors.update(range(first, first + 8))
    assert bad <= partial_sectors
    # 4 KiB granularity (what Windows' page-sized writes give): no partial byte, libvhdi agrees byte for byte.
    coarse = chain["child"].with_name("W2K8_coarse.avhd")
    write_vhd_differencing(chain["parent"], chain["parent_raw"], chain["child_raw"], coarse, clock=SNAP,
                           granularity=4096)
    assert bitmap_partial_bytes(coarse) == 0
    assert read_chain(coarse) == want
    coarse.unlink()


def test_dissect_alone_reads_zeros_where_child_has_no_data(chain: dict[str, Path]) -> None:
    """The silent-wrong-data case: a reader ignoring the parent sees zeros, not the parent's sectors."""
    want = chain["child_raw"].read_bytes()
    with open(chain["child"], "rb") as fh:
        got = VHD(fh).read(len(want))
    info = _parse(chain["child"])
    data, bat = info["data"], info["bat"]
    assert isinstance(data, bytes) and isinstance(bat, tuple)
    for n in range(len(want) // 512):
        block, inner = divmod(n, BLOCK // 512)
        sector = bat[block]
        marked = sector != 0xFFFFFFFF and bool(data[sector * 512 + inner // 8] & (0x80 >> (inner % 8)))
        piece = got[n * 512 : n * 512 + 512]
        assert piece == (want[n * 512 : n * 512 + 512] if marked else bytes(512)), n
    assert got != want and got[:512] == bytes(512)  # even the MBR is missing without the parent


def test_qemu_opens_child_and_determinism(chain: dict[str, Path], tmp_path: Path) -> None:
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", "-f", "vpc", str(chain["child"])],
                                     capture_output=True, text=True, check=True).stdout)
    assert info["virtual-size"] == chain["child_raw"].stat().st_size
    # Same inputs, another directory: same bytes (the parent too, since its ids derive from its name).
    (parent,) = convert(chain["parent_raw"], "vhd-dynamic", tmp_path / "W2K8.vhd", clock=CLOCK)
    assert parent.read_bytes() == chain["parent"].read_bytes()
    again = make_child(parent, chain["parent_raw"], chain["child_raw"], "avhd", tmp_path / "W2K8_4C1F.avhd",
                       clock=SNAP)
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(chain["child"].read_bytes()).digest()
    # A fixed parent works as well.
    (fixed,) = convert(chain["parent_raw"], "vhd-fixed", tmp_path / "fixed.vhd", clock=CLOCK)
    child = make_child(fixed, chain["parent_raw"], chain["child_raw"], "avhd", tmp_path / "fixed_1.avhd",
                       clock=SNAP)
    assert _parse(child)["parent_uuid"] == fixed.read_bytes()[-512:][68:84]
