"""scanner.collectors.hive on the committed dirty-hive images and on factory-built hives and logs.

Nothing is mocked: the images are opened with dissect.target, hives parsed with python-registry, and the
old-format replay is compared byte for byte with regipy's (a test-only dependency).
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dissect.target import Target
from regipy.recovery import apply_transaction_logs
from Registry import Registry, RegistryLog

from fixtures.factory.hivelog import build_dirty_nt5, build_dirty_nt6, marvin32
from fixtures.factory.regf import BASE_BLOCK_SIZE, HiveBuilder, patch_base_block, regf_checksum
from scanner.collectors import hive as hive_mod
from scanner.collectors.hive import HiveRecovery, HiveUnreadable, OpenHive, open_hive, read_hive_files
from scanner.formats.regf_log import replay_nt5

IMAGES = Path(__file__).resolve().parents[3] / "fixtures" / "images"
KB973917 = "Microsoft\\Updates\\Windows Server 2003\\SP3\\KB973917"
KB3000850 = (
    "Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Packages\\"
    "Package_for_KB3000850~31bf3856ad364e35~amd64~~6.3.1.2"
)
T0 = datetime(2009, 6, 1, 8, 0, tzinfo=UTC)
T_OLD = datetime(2009, 12, 1, 10, 0, tzinfo=UTC)
T_NEW = datetime(2009, 12, 9, 15, 40, tzinfo=UTC)
CV = "Microsoft\\Windows NT\\CurrentVersion"
NEW_KEY = "Microsoft\\Updates\\KB968389"


def image_path(name: str) -> Path:
    """Find an image through MANIFEST.json (and check it is the committed one)."""
    manifest = json.loads((IMAGES / "MANIFEST.json").read_text(encoding="utf-8"))
    for entry in manifest:
        for f in entry["files"]:
            if f["name"] == name:
                path = IMAGES / name
                assert hashlib.sha256(path.read_bytes()).hexdigest() == f["sha256"]
                return path
    raise AssertionError(f"{name} is not in MANIFEST.json")


def has_key(registry: Registry.Registry, path: str) -> bool:
    try:
        registry.open(path)
    except Registry.RegistryKeyNotFoundException:
        return False
    return True


def state(minor: int, *, new: bool) -> HiveBuilder:
    b = HiveBuilder("$$$PROTO.HIV", default_time=T0, minor_version=minor)
    b.add_key(CV, last_written=T_OLD)
    b.set_value(CV, "CSDVersion", "Service Pack 1")
    for i in range(40):  # several bins, so only some pages are dirty
        b.set_value(f"Microsoft\\Bulk\\Key{i:02d}", "Data", bytes([i]) * 300)
    if new:
        b.add_key(CV, last_written=T_NEW)
        b.set_value(CV, "CSDVersion", "Service Pack 2")
        b.add_key(NEW_KEY, last_written=T_NEW)
        b.set_value(NEW_KEY, "Description", "Security Update for Windows Server 2003")
    return b


def assert_new(registry: Registry.Registry) -> None:
    assert registry.open(CV).value("CSDVersion").value() == "Service Pack 2"
    assert registry.open(NEW_KEY).value("Description").value().startswith("Security Update")
    assert registry.open("Microsoft\\Bulk\\Key39").value("Data").value() == bytes([39]) * 300


def assert_old(registry: Registry.Registry) -> None:
    assert registry.open(CV).value("CSDVersion").value() == "Service Pack 1"
    assert not has_key(registry, NEW_KEY)


@pytest.fixture(scope="module")
def nt5() -> tuple[bytes, bytes]:
    return build_dirty_nt5(state(3, new=False), state(3, new=True), sequence=41)


@pytest.fixture(scope="module")
def nt6() -> tuple[bytes, bytes, bytes]:
    return build_dirty_nt6(state(5, new=False), state(5, new=True), sequence=7, entries=2, stale_log2=True)


def new_hbins(minor: int) -> bytes:
    """The NEW state's hive bins, as the builders pad them (both states share one size)."""
    if minor == 3:
        primary, log = build_dirty_nt5(state(3, new=False), state(3, new=True), sequence=41)
    else:
        primary, *_ = build_dirty_nt6(state(5, new=False), state(5, new=True), sequence=7)
    return state(minor, new=True).build(sequence=1, min_size=len(primary) - BASE_BLOCK_SIZE)[BASE_BLOCK_SIZE:]


# --- the committed images -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def kb973917() -> Iterator[Target]:
    yield Target.open(image_path("kb973917-iis6.vhd"))


@pytest.fixture(scope="module")
def cbs2012() -> Iterator[Target]:
    yield Target.open(image_path("cbs-2012r2-dirty-hive.dd"))


def test_kb973917_nt5_log_recovers_the_update_key(kb973917: Target, tmp_path: Path) -> None:
    path = "WINDOWS/system32/config/SOFTWARE"
    primary, logs = read_hive_files(kb973917.filesystems[0], path)
    assert list(logs) == ["software.LOG"]  # the name as stored, found case-insensitively
    copies = (bytes(primary), {k: bytes(v) for k, v in logs.items()})

    assert not has_key(Registry.Registry(io.BytesIO(primary)), KB973917)  # only in the log
    opened = open_hive(primary, logs, artifact=path)
    assert isinstance(opened, OpenHive) and (opened.name, opened.artifact) == ("SOFTWARE", path)
    assert opened.recovery == HiveRecovery(True, True, "software.LOG", "nt5", opened.recovery.pages, None)
    assert opened.recovery.pages > 0
    key = opened.registry.open(KB973917)
    assert key.value("Description").value() == "Update for Windows Server 2003 (KB973917)"
    assert (primary, logs) == copies  # the evidence bytes are untouched

    # Byte for byte against regipy: identical hive bins; the header differs only where we mark it clean.
    (tmp_path / "SOFTWARE").write_bytes(primary)
    (tmp_path / "software.LOG").write_bytes(logs["software.LOG"])
    out, pages = apply_transaction_logs(str(tmp_path / "SOFTWARE"), str(tmp_path / "software.LOG"),
                                        restored_hive_path=str(tmp_path / "restored"))
    theirs = Path(out).read_bytes()
    ours, our_pages = replay_nt5(primary, logs["software.LOG"])
    assert opened.registry._buf == ours and our_pages == pages == opened.recovery.pages
    assert ours[BASE_BLOCK_SIZE:] == theirs[BASE_BLOCK_SIZE:]
    assert [i for i in range(BASE_BLOCK_SIZE) if ours[i] != theirs[i]] == [
        i for i in (*range(8, 12), *range(508, 512)) if ours[i] != theirs[i]
    ]
    assert struct.unpack_from("<II", ours, 4)[0] == struct.unpack_from("<II", ours, 4)[1]
    assert struct.unpack_from("<I", ours, 508)[0] == regf_checksum(ours)


def test_cbs2012r2_nt6_log_recovers_the_package_key(cbs2012: Target, tmp_path: Path) -> None:
    path = "Windows\\System32\\config\\software"  # backslashes and other case
    primary, logs = read_hive_files(cbs2012.fs.path("/sysvol"), path)  # a TargetPath root works too
    assert logs.keys() == {"SOFTWARE.LOG1", "SOFTWARE.LOG2"} and logs["SOFTWARE.LOG2"] == b""
    assert not has_key(Registry.Registry(io.BytesIO(primary)), KB3000850)
    opened = open_hive(primary, logs, artifact="Windows/System32/config/SOFTWARE")
    assert opened.recovery == HiveRecovery(True, True, "SOFTWARE.LOG1", "nt6", 1, None)
    assert opened.registry.open(KB3000850).value("CurrentState").value() == 0x70

    # python-registry's own replay on a file copy, and regipy's: same hive bins.
    (tmp_path / "SOFTWARE").write_bytes(primary)
    (tmp_path / "SOFTWARE.LOG1").write_bytes(logs["SOFTWARE.LOG1"])
    with (tmp_path / "SOFTWARE").open("r+b") as fh:
        RegistryLog.RegistryLog(fh, io.BytesIO(logs["SOFTWARE.LOG1"])).recover_hive()
    reference = (tmp_path / "SOFTWARE").read_bytes()
    assert opened.registry._buf == reference  # header included: python-registry marks it clean as we do
    out, _ = apply_transaction_logs(str(tmp_path / "SOFTWARE"), str(tmp_path / "SOFTWARE.LOG1"),
                                    restored_hive_path=str(tmp_path / "r"))
    assert Path(out).read_bytes()[BASE_BLOCK_SIZE:] == reference[BASE_BLOCK_SIZE:]


def test_read_hive_files_errors(kb973917: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    fs = kb973917.filesystems[0]
    with pytest.raises(HiveUnreadable, match="does not exist"):
        read_hive_files(fs, "WINDOWS/system32/config/SECURITY")
    with pytest.raises(HiveUnreadable, match="cannot be located"):
        read_hive_files(fs, "WINNT/system32/config/SOFTWARE")
    primary, logs = read_hive_files(fs, "windows/SYSTEM32/config/system")  # no log beside SYSTEM
    assert primary[:4] == b"regf" and logs == {}
    monkeypatch.setattr(hive_mod, "MAX_HIVE_SIZE", 4096)  # bounded: larger files are refused
    with pytest.raises(HiveUnreadable, match="larger than"):
        read_hive_files(fs, "WINDOWS/system32/config/SOFTWARE")


def test_read_hive_files_from_a_host_directory(nt5: tuple[bytes, bytes], tmp_path: Path) -> None:
    config = tmp_path / "WINDOWS" / "system32" / "config"
    config.mkdir(parents=True)
    (config / "software").write_bytes(nt5[0])
    (config / "SOFTWARE.log").write_bytes(nt5[1])
    (config / "SOFTWARE.LOG2").write_bytes(b"")
    (config / "SOFTWARE.sav").write_bytes(b"not a log")
    (config / "SYSTEM.LOG").write_bytes(b"other hive")
    primary, logs = read_hive_files(tmp_path, "windows\\System32\\CONFIG\\SOFTWARE")
    assert primary == nt5[0] and logs == {"SOFTWARE.log": nt5[1], "SOFTWARE.LOG2": b""}
    assert open_hive(primary, logs, artifact="WINDOWS/system32/config/software").recovery.recovered
    assert (config / "software").read_bytes() == nt5[0]


# --- factory-built hives and logs -----------------------------------------------------------------------
def test_clean_hive_is_returned_as_is_and_logs_are_ignored(nt5: tuple[bytes, bytes]) -> None:
    clean = state(3, new=False).build(sequence=5)
    opened = open_hive(clean, {"SOFTWARE.LOG": nt5[1]}, artifact="C:\\WINDOWS\\system32\\config\\SOFTWARE")
    assert opened.name == "SOFTWARE"
    assert opened.recovery == HiveRecovery(dirty=False, recovered=False)
    assert opened.registry._buf == clean
    assert_old(opened.registry)


@pytest.mark.parametrize("log_name", ["SOFTWARE.LOG", "SOFTWARE.LOG1"])  # Vista-8.0 name old logs .LOG1
def test_nt5_replay_matches_regipy(nt5: tuple[bytes, bytes], log_name: str, tmp_path: Path) -> None:
    primary, log = nt5
    opened = open_hive(primary, {log_name: log, "SOFTWARE.LOG2": b""}, artifact="SOFTWARE")
    assert (opened.recovery.recovered, opened.recovery.log_name, opened.recovery.log_format) == (
        True, log_name, "nt5")
    assert_new(opened.registry)
    assert opened.registry._buf[BASE_BLOCK_SIZE:] == new_hbins(3)
    (tmp_path / "h").write_bytes(primary)
    (tmp_path / "l").write_bytes(log)
    out, pages = apply_transaction_logs(str(tmp_path / "h"), str(tmp_path / "l"),
                                        restored_hive_path=str(tmp_path / "r"))
    assert Path(out).read_bytes()[BASE_BLOCK_SIZE:] == opened.registry._buf[BASE_BLOCK_SIZE:]
    assert pages == opened.recovery.pages


def test_nt5_dirty_vector_in_a_4k_sector(nt5: tuple[bytes, bytes]) -> None:
    primary, log = nt5
    pad = bytes(BASE_BLOCK_SIZE - 512)  # base block sector, DIRT sector and pages all on 4 KiB boundaries
    log4k = log[:512] + pad + log[512:1024] + pad + log[1024:]
    ours, _ = replay_nt5(primary, log4k)
    assert ours == replay_nt5(primary, log)[0]


def test_nt5_bad_primary_checksum_recovers_the_base_block(nt5: tuple[bytes, bytes]) -> None:
    primary, log = nt5
    broken = bytearray(primary)
    broken[0x30:0x34] = b"XXXX"  # base block damaged: checksum no longer matches
    broken[BASE_BLOCK_SIZE + 20 : BASE_BLOCK_SIZE + 28] = log[12:20]  # first hive bin's time stamp is used
    opened = open_hive(bytes(broken), {"SOFTWARE.LOG": log}, artifact="SOFTWARE")
    assert opened.recovery.recovered and opened.recovery.warning is None
    assert_new(opened.registry)
    assert opened.registry._buf[:512] != log[:512]  # sealed: file type 0, fresh checksum
    assert struct.unpack_from("<I", opened.registry._buf, 28)[0] == 0


def _flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1 :]


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda log: log[: len(log) - 4096], "truncated"),
        (lambda log: log[:518], "truncated inside its dirty vector"),
        (lambda log: _flip(log, 0x40), "base block is invalid"),
        (lambda log: patch_base_block(log, timestamp=1)[:512] + log[512:], "another flush"),
    ],
)
def test_nt5_bad_log_falls_back_with_warning(nt5: tuple[bytes, bytes], mangle: object, reason: str) -> None:
    primary, log = nt5
    assert callable(mangle)
    opened = open_hive(primary, {"software.LOG": mangle(log)}, artifact="SOFTWARE")
    rec = opened.recovery
    assert rec.dirty and not rec.recovered and rec.pages == 0 and rec.log_name == "software.LOG"
    assert rec.warning is not None and reason in rec.warning and rec.warning.count(". ") == 0
    assert rec.warning.startswith("The hive is dirty") and rec.warning.endswith("may be missing.")
    assert_old(opened.registry)
    assert opened.registry._buf == primary


def test_nt5_replay_that_breaks_a_hive_bin_is_refused(nt5: tuple[bytes, bytes]) -> None:
    primary, log = nt5
    first_page = log.index(b"hbin", 1024)  # a dirty page that starts a hive bin
    opened = open_hive(primary, {"software.LOG": log[:first_page] + b"XXXX" + log[first_page + 4 :]},
                       artifact="SOFTWARE")
    assert not opened.recovery.recovered and "invalid hive bin" in (opened.recovery.warning or "")


def test_dirty_without_logs_warns() -> None:
    primary, _ = build_dirty_nt5(state(3, new=False), state(3, new=True))
    opened = open_hive(primary, {"SOFTWARE.LOG1": b"", "SOFTWARE.LOG2": b""}, artifact="SOFTWARE")
    assert opened.recovery == HiveRecovery(
        True, False, warning="The hive is dirty but it has no log, so its newest changes may be missing.")
    opened = open_hive(primary, {"SOFTWARE.LOG": b"garbage" * 200}, artifact="SOFTWARE")
    assert "none of its logs (SOFTWARE.LOG) is a transaction log" in (opened.recovery.warning or "")
    assert_old(opened.registry)


def test_nt6_two_entries_and_stale_log2(nt6: tuple[bytes, bytes, bytes], tmp_path: Path) -> None:
    primary, log1, log2 = nt6
    opened = open_hive(primary, {"SOFTWARE.LOG2": log2, "SOFTWARE.LOG1": log1}, artifact="SOFTWARE")
    assert opened.recovery == HiveRecovery(True, True, "SOFTWARE.LOG1", "nt6", opened.recovery.pages, None)
    assert opened.recovery.pages >= 2
    assert_new(opened.registry)
    assert opened.registry._buf[BASE_BLOCK_SIZE:] == new_hbins(5)
    (tmp_path / "h").write_bytes(primary)
    (tmp_path / "l1").write_bytes(log1)
    out, _ = apply_transaction_logs(str(tmp_path / "h"), str(tmp_path / "l1"),
                                    restored_hive_path=str(tmp_path / "r"))
    assert Path(out).read_bytes()[BASE_BLOCK_SIZE:] == opened.registry._buf[BASE_BLOCK_SIZE:]


def test_nt6_entries_split_over_log1_and_log2() -> None:
    """Dual logging: entries 7, 8 in LOG2 and 9 in LOG1; LOG2 must be applied first, LOG1 continues."""
    primary, log, _ = build_dirty_nt6(state(5, new=False), state(5, new=True), sequence=7, entries=3)
    offsets = [i for i in range(512, len(log), 512) if log[i : i + 4] == b"HvLE"]
    assert len(offsets) == 3
    later = patch_base_block(log[:512] + bytes(BASE_BLOCK_SIZE - 512), primary_sequence=9,
                             secondary_sequence=9)[:512] + log[offsets[2] :]
    opened = open_hive(primary, {"SOFTWARE.LOG1": later, "SOFTWARE.LOG2": log[: offsets[2]]},
                       artifact="SOFTWARE")
    assert opened.recovery.log_name == "SOFTWARE.LOG2, SOFTWARE.LOG1"
    assert_new(opened.registry)
    assert struct.unpack_from("<II", opened.registry._buf, 4) == (9, 9)


def _hvle(sequence: int, refs: list[tuple[int, int]], pages: bytes, hbins_size: int) -> bytes:
    """An HvLE entry with valid hashes whatever its references say (a hostile but well-hashed log)."""
    body = b"".join(struct.pack("<II", o, s) for o, s in refs) + pages
    body += bytes(-(40 + len(body)) % 512)
    size = 40 + len(body)
    head = struct.pack("<4sIIIIIQ", b"HvLE", size, 0, sequence, hbins_size, len(refs), marvin32(body))
    return head + struct.pack("<Q", marvin32(head)) + body


@pytest.mark.parametrize(
    ("refs", "hbins_size", "reason"),
    [
        ([(0x7FFFF000, 4096)], 0x8000, "outside the hive"),  # would grow the copy to 2 GiB
        ([(0, 4096)], 0xFFFFF000, "outside the hive"),  # entry claims a 4 GiB hive
        ([(0, 4096 * 64)], 0x100000, "truncated inside a log entry"),  # page larger than the log
    ],
)
def test_nt6_hostile_entries_are_refused(
    nt6: tuple[bytes, bytes, bytes], refs: list[tuple[int, int]], hbins_size: int, reason: str
) -> None:
    primary, log1, _ = nt6
    log = log1[:512] + _hvle(7, refs, bytes(4096), hbins_size)
    opened = open_hive(primary, {"SOFTWARE.LOG1": log}, artifact="SOFTWARE")
    assert not opened.recovery.recovered and reason in (opened.recovery.warning or "")
    assert_old(opened.registry)


def test_nt6_truncated_or_stale_log_falls_back(nt6: tuple[bytes, bytes, bytes]) -> None:
    primary, log1, log2 = nt6
    opened = open_hive(primary, {"SOFTWARE.LOG1": log1[:1024]}, artifact="SOFTWARE")
    assert "has no valid log entry" in (opened.recovery.warning or "")
    assert opened.recovery.log_format == "nt6"
    opened = open_hive(primary, {"SOFTWARE.LOG2": log2}, artifact="SOFTWARE")
    assert "predates" in (opened.recovery.warning or "")
    opened = open_hive(primary, {"SOFTWARE.LOG1": _flip(log1, 0x40)}, artifact="SOFTWARE")
    assert "not a valid log" in (opened.recovery.warning or "")
    assert_old(opened.registry)


def test_corrupt_primary_is_unreadable(nt5: tuple[bytes, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    clean = state(3, new=False).build()
    zero_bin = clean[:BASE_BLOCK_SIZE] + bytes(len(clean) - BASE_BLOCK_SIZE)
    cases = {
        "not a registry hive": b"MZ" + bytes(9000),
        "does not parse": zero_bin,
        "is a transaction log": nt5[1][:512] + bytes(BASE_BLOCK_SIZE),
    }
    for message, data in cases.items():
        with pytest.raises(HiveUnreadable, match=message) as err:
            open_hive(data, {}, artifact="SOFTWARE")
        assert isinstance(err.value, ValueError) and str(err.value).endswith(".")
    dirty_zero = patch_base_block(zero_bin, primary_sequence=9)
    with pytest.raises(HiveUnreadable, match="no log repairs it"):
        open_hive(dirty_zero, {"SOFTWARE.LOG": nt5[1]}, artifact="SOFTWARE")
    monkeypatch.setattr(hive_mod, "MAX_HIVE_SIZE", 4096)
    with pytest.raises(HiveUnreadable, match="larger than"):
        open_hive(clean, {}, artifact="SOFTWARE")


def test_hostile_bytes_never_traceback(nt5: tuple[bytes, bytes], nt6: tuple[bytes, bytes, bytes]) -> None:
    rng = random.Random(3)
    primary5, log5 = nt5
    primary6, log6, _ = nt6
    for _ in range(150):
        for primary, name, log in ((primary5, "S.LOG", log5), (primary6, "S.LOG1", log6)):
            target = rng.choice(("log", "primary", "both"))
            p, lg = bytearray(primary), bytearray(log)
            for buf in ((lg,) if target == "log" else (p,) if target == "primary" else (p, lg)):
                for _ in range(rng.randint(1, 8)):
                    buf[rng.randrange(len(buf) if rng.random() < 0.5 else 1100)] = rng.randrange(256)
            if rng.random() < 0.2:
                del lg[rng.randrange(len(lg)) :]
            try:
                opened = open_hive(bytes(p), {name: bytes(lg)}, artifact="SOFTWARE")
            except HiveUnreadable:
                continue
            assert opened.recovery.recovered or opened.recovery.warning or not opened.recovery.dirty
