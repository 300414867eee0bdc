"""Directory sources: a mounted volume (``WINDOWS/...``) or a KAPE-style collection (``C/WINDOWS/...``).

The registry is read as from an image (including the dirty hive's log replay); files get versions and
hashes, and the NTFS times a directory cannot carry are reported as gaps, never invented.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from dissect.target import Target

from fixtures.factory.scenario import IMAGES_DIR
from scanner.cli import cli

FILES = (
    "WINDOWS/system32/config/SOFTWARE",
    "WINDOWS/system32/config/software.LOG",
    "WINDOWS/system32/config/SYSTEM",
    "WINDOWS/system32/inetsrv/w3dt.dll",
    "WINDOWS/system32/ntoskrnl.exe",
)


def _extract(dest: Path) -> None:
    fs = Target.open(IMAGES_DIR / "kb973917-iis6.vhd").volumes[0].fs
    for rel in FILES:
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(fs.path("/" + rel).read_bytes())


@pytest.mark.parametrize("layout", ["mounted", "kape"])
def test_directory_source_inventory(tmp_path: Path, layout: str) -> None:
    root = tmp_path / "collection"
    _extract(root / "C" if layout == "kape" else root)
    result = CliRunner().invoke(cli, ["inventory", str(root), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["system"]["hostname"] == "WEBSERVER01" and data["system"]["service_pack"] == 2
    assert "KB973917" in {u["id"] for u in data["updates"]}  # only in software.LOG: replayed here too
    w3dt = next(f for f in data["files"] if f["path"].lower().endswith("w3dt.dll"))
    assert w3dt["version"] == "6.0.3790.1830" and w3dt["created_at"] is None
    reasons = {(g["what"].lower(), g["reason"]) for g in data["gaps"]}
    assert any(what.endswith("w3dt.dll") and "NTFS creation" in why for what, why in reasons)
    assert any(what.endswith("w3core.dll") and "not present" in why for what, why in reasons)


def test_system_root_is_found_by_its_hives_not_its_name(tmp_path: Path) -> None:
    """A custom %SystemRoot% (unattended installs may pick any name) is found; the registry's differs: gap."""
    root = tmp_path / "collection"
    _extract(root)
    (root / "WINDOWS").rename(root / "SRV2003")
    from scanner.evidence.source import describe_source

    assert [v.windows_dir for v in describe_source(root).windows_volumes] == ["SRV2003"]
    result = CliRunner().invoke(cli, ["inventory", str(root), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["system"]["system_root"] == "WINDOWS"  # what the registry says, reported as it is
    assert any(g["what"] == "system root" and "SRV2003" in g["reason"] for g in data["gaps"])


def test_live_windows_directory_wins_over_a_stray_copy(tmp_path: Path) -> None:
    root = tmp_path / "collection"
    _extract(root)
    (root / "Windows.old" / "system32" / "config").mkdir(parents=True)
    from scanner.evidence.source import describe_source

    assert [v.windows_dir for v in describe_source(root).windows_volumes] == ["WINDOWS"]
