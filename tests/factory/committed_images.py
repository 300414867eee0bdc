"""The committed fixture images as the image tests see them: the manifest, and each image's Windows volume.

Why apart: test_images.py (read back what each scenario declares) and test_images_damage.py (damage, dirty
hives, snapshot chains, disks) open the same images the same way (dissect.target, cached per image).
"""

from __future__ import annotations

import io
import json
from functools import cache
from pathlib import Path
from typing import Any

from dissect.target import Target
from Registry import Registry

from fixtures.factory.scenario import IMAGES_DIR, all_scenarios

MANIFEST = IMAGES_DIR / "MANIFEST.json"
SCENARIOS = {sc.id: sc for sc in all_scenarios()}


def manifest_entries() -> list[dict[str, Any]]:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def images_of(role: str | None = None) -> list[dict[str, Any]]:
    return [m for m in manifest_entries() if role is None or m["role"] == role]


# dissect does not follow legacy VHD differencing chains (it reads the child alone, silently wrong): the
# scanner implements that chain itself (issue 3); these tests overlay .avhd children on their parent.
DISSECT_READABLE = {
    "raw",
    "split-raw",
    "vhd-fixed",
    "vhd-dynamic",
    "vhdx",
    "vmdk",
    "qcow2",
    "e01",
    "avhdx",
    "vmdk-delta",
    "qcow2-backing",
}


def first_file(image: dict[str, Any]) -> Path:
    return IMAGES_DIR / image["files"][0]["name"]


@cache
def open_windows_fs(path: Path) -> Any:
    target = Target.open(path)
    for volume in target.volumes:
        fs = getattr(volume, "fs", None)
        if fs is None:
            continue
        for entry in fs.path("/").iterdir():
            if entry.name.lower() in ("windows", "winnt") and fs.path(f"/{entry.name}/system32").exists():
                return fs, entry.name
    raise AssertionError(f"{path}: no Windows volume")


def read_volume_file(path: Path, rel: str) -> bytes:
    fs, _ = open_windows_fs(path)
    return fs.path("/" + rel.replace("\\", "/")).read_bytes()


def windows_root(path: Path) -> str:
    return str(open_windows_fs(path)[1])


def read_hive(path: Path, name: str) -> Registry.Registry:
    root = windows_root(path)
    return Registry.Registry(io.BytesIO(read_volume_file(path, f"{root}/system32/config/{name}")))


def image_ids(images: list[dict[str, Any]]) -> list[str]:
    return [f"{m['scenario']}:{m['role']}:{m['format']}" for m in images]



READABLE = [m for m in images_of() if m["format"] in DISSECT_READABLE and m["role"] != "parent"]
