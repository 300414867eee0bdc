"""Evidence opened layer by layer (issue 17 "Per-server cost"): no dissect Target, no OS plugin tree.

Every container the README lists opens to the volumes dissect's own collections find, every evidence file is
byte-for-byte unchanged afterwards, nothing is shared between two sources opened in one process, a partition
table nested in itself stays bounded, and a real ``patchmortem scan`` process never imports dissect's OS
plugins (checked in ``sys.modules``, not by timing).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from dissect.target import Target

from fixtures.factory.scenario import IMAGES_DIR
from scanner.errors import NoWindowsError, UnsupportedSourceError
from scanner.evidence.image import MAX_DEPTH, MAX_VOLUMES, open_image
from scanner.evidence.source import describe_source, open_evidence

ROOT = Path(__file__).resolve().parents[3]
MANIFEST = json.loads((IMAGES_DIR / "MANIFEST.json").read_text())
HASHES = {f["name"]: f["sha256"] for entry in MANIFEST for f in entry["files"]}
#: Every committed image by format (raw, split raw, VHD fixed/dynamic, .avhd chain, VHDX/.avhdx, VMDK and
#: its delta, qcow2 and its backing file, E01), as the README's "Sources" lists them.
BY_FORMAT = {entry["format"]: IMAGES_DIR / entry["files"][0]["name"] for entry in MANIFEST}
#: dissect.target.plugins modules a scan may import: the package chain ``wua_history`` sits in (the one plugin
#: used, without a Target: scanner/collectors/wua.py) and the default OS module dissect.target.target imports.
ALLOWED_PLUGIN_MODULES = {
    "dissect.target.plugins",
    "dissect.target.plugins.os",
    "dissect.target.plugins.os.default",
    "dissect.target.plugins.os.default._os",
    "dissect.target.plugins.os.windows",
    "dissect.target.plugins.os.windows.wua_history",
}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _dissect_volumes(path: Path) -> list[tuple[int, int, str | None]]:
    """Volumes as dissect's own Target collections find them, without the OS step (an independent open)."""
    target = Target.open(path, apply=False)
    target.disks.apply()
    target.volumes.apply()
    return [(int(v.offset or 0), int(v.size or 0), getattr(v.fs, "__type__", None)) for v in target.volumes]


@pytest.mark.parametrize("fmt", sorted(f for f in BY_FORMAT if f != "avhd"))
def test_every_container_opens_to_dissects_volumes(fmt: str) -> None:
    """Same volumes, offsets, sizes and file systems as dissect's DiskCollection/VolumeCollection."""
    path = BY_FORMAT[fmt]
    with open_evidence(path) as evidence:
        mine = [(v.offset, v.size, v.filesystem) for v in evidence.description.volumes]
        assert evidence.description.windows_volumes, fmt
    assert mine == _dissect_volumes(path)


def test_avhd_chain_opens_through_our_reader() -> None:
    """dissect would read the child alone: the chain's container is ours, its volume holds WINDOWS."""
    described = describe_source(BY_FORMAT["avhd"])
    assert described.containers == ["VhdChainContainer"]
    assert [Path(p).name for p in described.chain] == [BY_FORMAT["avhd"].name, "snapshot-iis-rtm-parent.vhd"]
    assert [v.windows_dir for v in described.volumes] == ["WINDOWS"]
    assert described.os == "windows"


def test_every_evidence_file_is_unchanged_after_opening_and_reading() -> None:
    for path in BY_FORMAT.values():
        with open_evidence(path) as evidence:
            volume, fs = evidence.system_volume()
            fs.path(f"/{volume.windows_dir}/system32/config/SOFTWARE").read_bytes()
    for name, digest in HASHES.items():
        assert _sha(IMAGES_DIR / name) == digest, f"{name} changed"


def test_two_sources_in_one_process_share_nothing() -> None:
    """A fleet worker opens source after source: no container, volume or file system is reused."""
    first = open_evidence(BY_FORMAT["vhd-fixed"])
    again = open_evidence(BY_FORMAT["vhd-fixed"])
    other = open_evidence(BY_FORMAT["qcow2"])
    assert first.image is not None and again.image is not None and other.image is not None
    assert first.image.containers[0] is not again.image.containers[0]
    assert first.filesystems[0] is not again.filesystems[0]
    first.close()
    hive = "/WINDOWS/system32/config/SOFTWARE"
    assert again.filesystems[0].path(hive).read_bytes()  # closing one source leaves the other readable
    assert other.system_volume()[1] is not again.system_volume()[1]
    again.close()
    other.close()


def _nested_mbrs(path: Path, levels: int) -> None:
    """A disk whose partition starts one sector in and holds the same table again, ``levels`` deep."""
    sectors = levels + 64
    raw = bytearray(sectors * 512)
    for level in range(levels):
        entry = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x07, b"\0\0\0", 1, sectors - level - 1)
        base = level * 512
        raw[base + 446 : base + 462] = entry
        raw[base + 510 : base + 512] = b"\x55\xaa"
    path.write_bytes(bytes(raw))


def test_a_table_nested_in_itself_is_bounded(tmp_path: Path) -> None:
    """dissect's loop follows nested volume systems until none is new; ours stops at MAX_DEPTH levels."""
    disk = tmp_path / "nested.raw"
    _nested_mbrs(disk, 40)
    layers = open_image(disk)
    try:
        assert len(layers.volumes) <= min(MAX_VOLUMES, MAX_DEPTH + 1)
    finally:
        layers.close()
    with pytest.raises((NoWindowsError, UnsupportedSourceError)):
        open_evidence(disk)


def test_empty_folder_is_no_windows_not_a_crash(tmp_path: Path) -> None:
    """dissect's vmsupport loader raised StopIteration on an empty folder (exit 70); now it is exit 5."""
    with pytest.raises(NoWindowsError, match="no Windows system volume found"):
        open_evidence(tmp_path)


def test_describe_names_the_os_by_the_windows_directory() -> None:
    text = describe_source(BY_FORMAT["e01"]).to_text()
    assert "os:         windows" in text and "dissect guess" not in text


def _modules_after(code: str, tmp_path: Path) -> set[str]:
    out = tmp_path / "modules.json"
    script = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: open({str(out)!r}, 'w').write(json.dumps(sorted(sys.modules))))\n" + code
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=False, capture_output=True,
                   timeout=600)
    return set(json.loads(out.read_text()))


def test_a_scan_process_never_imports_the_os_plugin_tree(tmp_path: Path) -> None:
    image = BY_FORMAT["vhd-dynamic"]
    code = (
        "sys.argv = ['patchmortem', 'scan', '--format', 'json', '--output', "
        f"{str(tmp_path / 'scan.json')!r}, {str(image)!r}]\n"
        "from scanner.cli import main\nmain()\n"
    )
    modules = _modules_after(code, tmp_path)
    assert json.loads((tmp_path / "scan.json").read_text())["source"]["os"] == "windows"  # it did scan
    plugins = {m for m in modules if m.startswith("dissect.target.plugins")}
    assert plugins <= ALLOWED_PLUGIN_MODULES, sorted(plugins - ALLOWED_PLUGIN_MODULES)
    assert "dissect.target.plugins.os.windows._os" not in modules  # dissect's WindowsPlugin
    loaders = {m for m in modules if m.startswith("dissect.target.loaders.")}
    assert loaders <= {"dissect.target.loaders.direct"}  # imported by dissect.target.target itself


def test_importing_the_cli_pulls_no_dissect_plugin(tmp_path: Path) -> None:
    modules = _modules_after("import scanner, scanner.cli\n", tmp_path)
    assert not {m for m in modules if m.startswith("dissect.target.plugins")}
