"""Dirty hives + transaction logs from fixtures.factory.hivelog, replayed by regipy and python-registry.

Values that exist ONLY in the log (absent or different in the primary): CurrentVersion\\CSDVersion =
"Service Pack 2", the new key Updates\\KB968389 (with its values), HotFix\\Q1\\Installed = 1 (was 0),
and the deletion of Run\\Obsolete. Everything else is identical in both states.
"""

from __future__ import annotations

import io
import shutil
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dissect.regf import RegistryHive as DissectHive
from regipy.recovery import apply_transaction_logs
from regipy.registry import RegistryHive as RegipyHive
from Registry import Registry, RegistryLog, RegistryParse

from fixtures.factory.hivelog import (
    build_dirty_nt5,
    build_dirty_nt6,
    build_pair,
    dirty_page_offsets,
    marvin32,
)
from fixtures.factory.regf import HiveBuilder
from fixtures.factory.regf_format import BASE_BLOCK_SIZE, BaseBlock, regf_checksum

T0 = datetime(2009, 6, 1, 8, 0, 0, tzinfo=UTC)
T_OLD = datetime(2009, 12, 1, 10, 0, 0, tzinfo=UTC)
T_NEW = datetime(2009, 12, 9, 11, 2, 0, 500000, tzinfo=UTC)
CV = "Microsoft\\Windows NT\\CurrentVersion"
RUN = "Microsoft\\Windows\\CurrentVersion\\Run"


def state(minor: int, *, new: bool) -> HiveBuilder:
    b = HiveBuilder("$$$PROTO.HIV", default_time=T0, minor_version=minor)
    b.add_key(CV, last_written=T_OLD)
    b.set_value(CV, "ProductName", "Microsoft Windows Server 2003")
    b.set_value(CV, "CSDVersion", "Service Pack 1")
    b.set_value(CV, "CurrentBuildNumber", "3790")
    for i in range(60):  # bulk so the hive spans several bins and only some pages change
        b.set_value(f"Microsoft\\Bulk\\Key{i:02d}", "Data", bytes([i]) * 300)
    b.set_value(RUN, "Obsolete", "C:\\old.exe")
    b.set_value("Microsoft\\Updates\\HotFix\\Q1", "Installed", 0)
    b.set_value("Microsoft\\Updates\\Zeta", "Keep", "unchanged")
    if new:
        b.add_key(CV, last_written=T_NEW)
        b.set_value(CV, "CSDVersion", "Service Pack 2")
        b.add_key("Microsoft\\Updates\\KB968389", last_written=T_NEW)
        b.set_value("Microsoft\\Updates\\KB968389", "Description", "Security Update for Windows Server 2003")
        b.set_value("Microsoft\\Updates\\HotFix\\Q1", "Installed", 1)
        b.delete_value(RUN, "Obsolete")
    return b


def assert_old(reg: Registry.Registry) -> None:
    assert reg.open(CV).value("CSDVersion").value() == "Service Pack 1"
    assert reg.open(CV).timestamp().replace(tzinfo=UTC) == T_OLD
    assert reg.open("Microsoft\\Updates\\HotFix\\Q1").value("Installed").value() == 0
    assert reg.open(RUN).value("Obsolete").value() == "C:\\old.exe"
    with pytest.raises(Registry.RegistryKeyNotFoundException):
        reg.open("Microsoft\\Updates\\KB968389")


def assert_new(reg: Registry.Registry) -> None:
    assert reg.open(CV).value("CSDVersion").value() == "Service Pack 2"
    assert reg.open(CV).value("ProductName").value() == "Microsoft Windows Server 2003"
    assert reg.open(CV).timestamp().replace(tzinfo=UTC) == T_NEW
    kb = reg.open("Microsoft\\Updates\\KB968389")
    assert kb.value("Description").value() == "Security Update for Windows Server 2003"
    assert kb.timestamp().replace(tzinfo=UTC) == T_NEW
    assert reg.open("Microsoft\\Updates\\HotFix\\Q1").value("Installed").value() == 1
    assert reg.open("Microsoft\\Updates\\Zeta").value("Keep").value() == "unchanged"
    assert [v.name() for v in reg.open(RUN).values()] == []
    assert reg.open("Microsoft\\Bulk\\Key59").value("Data").value() == bytes([59]) * 300


def assert_regipy_new(path: Path) -> None:
    rh = RegipyHive(str(path))
    assert rh.get_key("\\" + CV).get_value("CSDVersion") == "Service Pack 2"
    assert rh.get_key("\\Microsoft\\Updates\\KB968389").get_value("Description").startswith("Security Update")
    assert rh.get_key("\\Microsoft\\Updates\\HotFix\\Q1").get_value("Installed") == 1


def new_hbins(minor: int) -> bytes:
    return build_pair(state(minor, new=False), state(minor, new=True), sequence=1)[1][BASE_BLOCK_SIZE:]


# --- NT5 (.LOG, DIRT) ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nt5(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes, bytes]:
    primary, log = build_dirty_nt5(state(3, new=False), state(3, new=True), sequence=41)
    root = tmp_path_factory.mktemp("nt5")
    (root / "SOFTWARE").write_bytes(primary)
    (root / "SOFTWARE.LOG").write_bytes(log)
    return root / "SOFTWARE", root / "SOFTWARE.LOG", primary, log


def test_nt5_primary_alone_is_old_and_dirty(nt5: tuple[Path, Path, bytes, bytes]) -> None:
    path, _, primary, log = nt5
    block = BaseBlock.unpack(primary)
    assert (block.primary_sequence, block.secondary_sequence) == (42, 41)
    assert struct.unpack_from("<I", primary, 508)[0] == regf_checksum(primary)  # mid-flush, not corrupt
    reg = Registry.Registry(io.BytesIO(primary))
    rec = reg._regf.recovery_required()
    assert rec.recover_data and not rec.recover_header
    assert_old(reg)
    dh = DissectHive(io.BytesIO(primary))
    assert dh.in_transaction
    assert dh.open(CV).value("CSDVersion").value == "Service Pack 1"
    assert RegipyHive(str(path)).get_key("\\" + CV).get_value("CSDVersion") == "Service Pack 1"


def test_nt5_log_layout(nt5: tuple[Path, Path, bytes, bytes]) -> None:
    _, _, primary, log = nt5
    head = BaseBlock.unpack(log[:512])
    assert head.file_type == 1
    assert head.primary_sequence == head.secondary_sequence == 42
    assert head.timestamp == BaseBlock.unpack(primary).timestamp  # "log applies" rule of the spec
    assert struct.unpack_from("<I", log, 508)[0] == regf_checksum(log[:512])
    hbins_size = len(primary) - BASE_BLOCK_SIZE
    assert log[512:516] == b"DIRT"
    bitmap = log[516 : 516 + hbins_size // 4096]
    assert set(bitmap) <= {0x00, 0xFF}  # Windows tracks dirtiness in 4 KiB blocks
    dirty = [i for i, byte in enumerate(bitmap) if byte]
    assert 0 < len(dirty) < len(bitmap)  # only part of the hive changed
    assert len(log) == 1024 + len(dirty) * 4096
    with pytest.raises(RegistryParse.NotSupportedException):  # python-registry only replays new logs
        RegistryLog.RegistryLog(io.BytesIO(primary), io.BytesIO(log))


def test_nt5_regipy_replay_yields_new_state(nt5: tuple[Path, Path, bytes, bytes], tmp_path: Path) -> None:
    path, log_path, primary, _ = nt5
    before = path.read_bytes()
    restored, pages = apply_transaction_logs(str(path), str(log_path), restored_hive_path=str(tmp_path / "r"))
    assert path.read_bytes() == before  # the original is untouched
    data = Path(restored).read_bytes()
    assert pages > 0
    assert data[BASE_BLOCK_SIZE:] == new_hbins(3)
    assert_new(Registry.Registry(io.BytesIO(data)))
    assert_regipy_new(Path(restored))


# --- NT6 (.LOG1/.LOG2, HvLE) --------------------------------------------------------------------------------
@pytest.mark.parametrize(("minor", "entries"), [(5, 1), (5, 3), (3, 2)])
def test_nt6_python_registry_replay(minor: int, entries: int, tmp_path: Path) -> None:
    primary, log1, log2 = build_dirty_nt6(state(minor, new=False), state(minor, new=True), sequence=100,
                                          entries=entries)
    assert log2 == b""  # no log switch happened: .LOG2 is empty
    block = BaseBlock.unpack(primary)
    assert (block.primary_sequence, block.secondary_sequence) == (100 + entries, 100)
    assert_old(Registry.Registry(io.BytesIO(primary)))

    head = RegistryParse.REGFBlock(log1, 0, False)
    assert head.is_new_transaction_log_file() and head.hive_sequence2() == 100
    found = list(head.log_entries())  # python-registry checks Hash-1, Hash-2 and the sequence chain
    assert [e.sequence() for e in found] == list(range(100, 100 + entries))
    assert all(e.validate_log_entry() for e in found)

    work = tmp_path / "SOFTWARE"
    work.write_bytes(primary)
    with work.open("r+b") as fh:
        log = RegistryLog.RegistryLog(fh, io.BytesIO(log1))
        assert log.is_eligible_log()
        assert log.recover_hive() == 100 + entries - 1
    recovered = work.read_bytes()
    assert recovered[BASE_BLOCK_SIZE:] == new_hbins(minor)
    reg = Registry.Registry(io.BytesIO(recovered))
    assert not reg._regf.recovery_required().recover_data
    assert_new(reg)


def test_nt6_stale_log2_and_regipy(tmp_path: Path) -> None:
    old, new = state(5, new=False), state(5, new=True)
    primary, log1, log2 = build_dirty_nt6(old, new, sequence=7, stale_log2=True)
    for name, data in (("SOFTWARE", primary), ("SOFTWARE.LOG1", log1), ("SOFTWARE.LOG2", log2)):
        (tmp_path / name).write_bytes(data)
    shutil.copy(tmp_path / "SOFTWARE", tmp_path / "work")
    with (tmp_path / "work").open("r+b") as fh:
        first = RegistryLog.RegistryLog(fh, str(tmp_path / "SOFTWARE.LOG1"))
        fh.seek(0)
        second = RegistryLog.RegistryLog(fh, str(tmp_path / "SOFTWARE.LOG2"))
        assert first.is_eligible_log() and not second.is_eligible_log()  # LOG2 predates the primary
        assert [e.sequence() for e in RegistryParse.REGFBlock(log2, 0, False).log_entries()] == [6]
        first.recover_hive()
    assert_new(Registry.Registry(str(tmp_path / "work")))

    # regipy (no hash or eligibility checks) with LOG1 only, and with the stale LOG2 applied first.
    out, pages = apply_transaction_logs(str(tmp_path / "SOFTWARE"), str(tmp_path / "SOFTWARE.LOG1"),
                                        restored_hive_path=str(tmp_path / "r1"))
    assert pages > 0 and Path(out).read_bytes()[BASE_BLOCK_SIZE:] == new_hbins(5)
    assert_regipy_new(Path(out))
    out, _ = apply_transaction_logs(str(tmp_path / "SOFTWARE"), str(tmp_path / "SOFTWARE.LOG1"),
                                    str(tmp_path / "SOFTWARE.LOG2"), restored_hive_path=str(tmp_path / "r2"))
    assert Path(out).read_bytes()[BASE_BLOCK_SIZE:] == new_hbins(5)
    assert (tmp_path / "SOFTWARE").read_bytes() == primary


def test_marvin32_matches_reference_and_python_registry() -> None:
    # Published Marvin32 vectors for seed 0x82EF4D887A4E55C5, as the 32-bit fold lo ^ hi.
    for data, folded in ((b"", 0xB00892AC), (b"h", 0xF41A608E), (b"he", 0x11107C6B), (b"hel", 0x24056A46)):
        value = marvin32(data)
        assert (value >> 32) ^ (value & 0xFFFFFFFF) == folded
    block = RegistryParse.HvLEBlock(b"HvLE" + bytes(60), 0, False)
    sample = bytes((i * 31) & 0xFF for i in range(4096))
    assert marvin32(sample) == block.marvin32_hash(sample)


def test_dirty_builders_are_deterministic() -> None:
    a = build_dirty_nt5(state(3, new=False), state(3, new=True))
    b = build_dirty_nt5(state(3, new=False), state(3, new=True))
    assert a == b
    c = build_dirty_nt6(state(5, new=False), state(5, new=True), stale_log2=True)
    d = build_dirty_nt6(state(5, new=False), state(5, new=True), stale_log2=True)
    assert c == d
    old, new = build_pair(state(5, new=False), state(5, new=True), sequence=1, min_size=256 * 1024)
    assert len(old) == len(new) == BASE_BLOCK_SIZE + 256 * 1024
    assert dirty_page_offsets(old[BASE_BLOCK_SIZE:], new[BASE_BLOCK_SIZE:])
