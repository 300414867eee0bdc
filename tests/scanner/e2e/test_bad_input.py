"""Bad input: one clear line on stderr and a documented exit code, or partial results plus a gap.

Never a traceback, never a hang, never a write: every case also checks the source's bytes are unchanged.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from fixtures.factory.ntfs import NtfsTimes, TreeEntry, build_ntfs_volume
from fixtures.factory.regf import HiveBuilder
from fixtures.factory.scenario import IMAGES_DIR
from scanner.cli import cli
from scanner.errors import ExitCode
from scanner.evidence.source import describe_source

T = datetime(2009, 12, 9, 12, 0, tzinfo=timezone.utc)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _one_line_error(result: Result, code: ExitCode, needle: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("patchmortem: error:"), result.stderr
    assert needle in lines[0]
    assert "Traceback" not in result.output + result.stderr


def test_truncated_vhd(tmp_path: Path) -> None:
    data = (IMAGES_DIR / "kb973917-iis6.vhd").read_bytes()
    bad = tmp_path / "cut.vhd"
    bad.write_bytes(data[: len(data) // 3])
    before = _sha(bad)
    _one_line_error(_run("inventory", str(bad)), ExitCode.UNSUPPORTED_SOURCE, "truncated VHD")
    assert _sha(bad) == before


def test_unknown_format(tmp_path: Path) -> None:
    bad = tmp_path / "notes.bin"
    bad.write_bytes(b"these are not the sectors you are looking for\n" * 2000)
    _one_line_error(_run("inventory", str(bad)), ExitCode.UNSUPPORTED_SOURCE, "not a recognised")


def test_all_zero_image(tmp_path: Path) -> None:
    bad = tmp_path / "zero.dd"
    bad.write_bytes(bytes(2 * 1024 * 1024))
    _one_line_error(_run("inventory", str(bad)), ExitCode.NO_WINDOWS, "blank disk")


@pytest.mark.skipif(shutil.which("mkfs.ext4") is None, reason="mkfs.ext4 (e2fsprogs) not installed")
def test_linux_disk_has_no_windows(tmp_path: Path) -> None:
    img = tmp_path / "ext4.img"
    img.write_bytes(bytes(8 * 1024 * 1024))
    subprocess.run(["mkfs.ext4", "-q", "-F", str(img)], check=True)
    _one_line_error(_run("inventory", str(img)), ExitCode.NO_WINDOWS, "ext2/3/4")


def test_bitlocker_volume_is_named(tmp_path: Path) -> None:
    source = IMAGES_DIR / "cbs-2012r2-dirty-hive.dd"
    start = describe_source(source).windows_volumes[0].offset
    disk = bytearray(source.read_bytes())
    assert disk[start + 3 : start + 11] == b"NTFS    "
    disk[start + 3 : start + 11] = b"-FVE-FS-"  # what a BitLocker volume's boot sector carries
    bad = tmp_path / "bitlocker.dd"
    bad.write_bytes(bytes(disk))
    _one_line_error(_run("inventory", str(bad)), ExitCode.UNSUPPORTED_SOURCE, "BitLocker")


def test_missing_avhd_parent_stops_the_scan(tmp_path: Path) -> None:
    child = tmp_path / "snapshot-iis-rtm-child.avhd"
    shutil.copy(IMAGES_DIR / "snapshot-iis-rtm-child.avhd", child)  # its parent is not beside it
    _one_line_error(_run("inventory", str(child)), ExitCode.INCOMPLETE_CHAIN, "parent")


def test_wrong_parent_is_refused() -> None:
    child = IMAGES_DIR / "snapshot-iis-rtm-child.avhd"
    result = _run("inventory", str(child), "--parent", str(IMAGES_DIR / "kb973917-iis6.vhd"))
    _one_line_error(result, ExitCode.INCOMPLETE_CHAIN, "UUID")


def test_system_index_without_windows() -> None:
    result = _run("inventory", str(IMAGES_DIR / "healthy-2003-sp2.vmdk"), "--system", "1")
    _one_line_error(result, ExitCode.NO_WINDOWS, "volume 1")


def _volume_with_corrupt_software_hive(tmp_path: Path) -> Path:
    system = HiveBuilder("SYSTEM", default_time=T)
    system.set_value("Select", "Current", 1)
    system.set_value("ControlSet001\\Control\\ComputerName\\ComputerName", "ComputerName", "BROKENHIVE")
    system.set_value("ControlSet001\\Control\\Windows", "CSDVersion", 0x200)
    times = NtfsTimes.all(T)
    entries = [
        TreeEntry("WINDOWS\\system32\\config\\SYSTEM", system.build(), times),
        TreeEntry("WINDOWS\\system32\\config\\SOFTWARE", b"regf" + b"\xde\xad" * 3000, times),
    ]
    volume = tmp_path / "broken.ntfs"
    build_ntfs_volume(entries, volume, size=4 * 1024 * 1024, clock=T, workdir=tmp_path)
    return volume


@pytest.mark.skipif(shutil.which("mkntfs") is None and not Path("/usr/sbin/mkntfs").exists(),
                    reason="mkntfs (ntfs-3g) not installed")
def test_corrupt_hive_gives_partial_results_and_a_gap(tmp_path: Path) -> None:
    volume = _volume_with_corrupt_software_hive(tmp_path)
    before = _sha(volume)
    result = _run("inventory", str(volume), "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["system"]["hostname"] == "BROKENHIVE" and data["system"]["service_pack"] == 2
    assert any(g["what"] == "SOFTWARE hive" for g in data["gaps"])
    assert _sha(volume) == before
