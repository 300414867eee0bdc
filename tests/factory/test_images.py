"""Round-trip tests of the COMMITTED fixture images against each scenario's declared ``expected`` facts.

Each image is opened the way the scanner will open it (dissect.target), its hives are read back with
python-registry, its PE versions with pefile and its event logs with dissect's evt parser, and the values
must equal what the scenario declares. These tests are the ground truth the scanner's later tests stand on.
"""

from __future__ import annotations

import hashlib
import io
from collections import Counter
from typing import Any

import pefile
import pytest
from dissect.eventlog.evt import Evt
from dissect.eventlog.evtx import Evtx
from Registry import Registry

from fixtures.factory.scenario import IMAGES_DIR, Scenario
from tests.factory.committed_images import (
    READABLE,
    SCENARIOS,
    first_file,
    image_ids,
    manifest_entries,
    read_hive,
    read_volume_file,
    windows_root,
)


def test_manifest_covers_every_scenario_and_format() -> None:
    images = manifest_entries()
    assert {m["scenario"] for m in images} == set(SCENARIOS)
    formats = {m["format"] for m in images}
    for fmt in (
        "split-raw",
        "vhd-dynamic",
        "vhdx",
        "vmdk",
        "qcow2",
        "e01",
        "avhd",
        "avhdx",
        "vmdk-delta",
        "qcow2-backing",
    ):
        assert fmt in formats, f"no fixture image in {fmt} format"


def test_committed_images_match_manifest_hashes() -> None:
    for image in manifest_entries():
        for f in image["files"]:
            data = (IMAGES_DIR / f["name"]).read_bytes()
            assert len(data) == f["size"]
            assert hashlib.sha256(data).hexdigest() == f["sha256"], f["name"]


def test_committed_images_are_small() -> None:
    total = sum(f["size"] for image in manifest_entries() for f in image["files"])
    # Sparse containers dominate; git compresses the zero runs of raw images further.
    assert total < 200 * 1024 * 1024




@pytest.mark.parametrize("image", READABLE, ids=image_ids(READABLE))
def test_system_facts_read_back(image: dict[str, Any]) -> None:
    sc: Scenario = SCENARIOS[image["scenario"]]
    exp = sc.expected["system"]
    path = first_file(image)
    assert windows_root(path) == exp["system_root"]
    sw = read_hive(path, "SOFTWARE")
    cv = sw.open("Microsoft\\Windows NT\\CurrentVersion")
    assert cv.value("ProductName").value() == exp["product"]
    assert f"{cv.value('CurrentVersion').value()}.{cv.value('CurrentBuildNumber').value()}" == exp["version"]
    if exp["csd_version"]:
        assert cv.value("CSDVersion").value() == exp["csd_version"]
    else:  # RTM: Windows writes no CSDVersion value at all
        assert "CSDVersion" not in [v.name() for v in cv.values()]
    from datetime import datetime, timezone

    install = datetime.fromtimestamp(cv.value("InstallDate").value(), tz=timezone.utc)
    assert install.isoformat() == exp["install_date"]
    sy = read_hive(path, "SYSTEM")
    current = sy.open("Select").value("Current").value()
    cs = f"ControlSet{current:03d}"
    assert (
        sy.open(f"{cs}\\Control\\ComputerName\\ComputerName").value("ComputerName").value() == exp["hostname"]
    )
    assert sy.open(f"{cs}\\Control\\Windows").value("CSDVersion").value() == exp["service_pack"] << 8
    tz = sy.open(f"{cs}\\Control\\TimeZoneInformation")
    assert tz.value("StandardName").value() == exp["timezone"]
    arch = sy.open(f"{cs}\\Control\\Session Manager\\Environment").value("PROCESSOR_ARCHITECTURE").value()
    assert arch == {"x86": "x86", "x64": "AMD64"}[exp["architecture"]]


@pytest.mark.parametrize("image", READABLE, ids=image_ids(READABLE))
def test_file_versions_read_back_with_pefile(image: dict[str, Any]) -> None:
    sc = SCENARIOS[image["scenario"]]
    path = first_file(image)
    for spec in sc.expected.get("files", []):
        data = read_volume_file(path, spec["path"])
        pe = pefile.PE(data=data, fast_load=True)
        pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_RESOURCE"]])
        ffi = pe.VS_FIXEDFILEINFO[0]
        numeric = (
            f"{ffi.FileVersionMS >> 16}.{ffi.FileVersionMS & 0xFFFF}."
            f"{ffi.FileVersionLS >> 16}.{ffi.FileVersionLS & 0xFFFF}"
        )
        if image["role"] == "child" or "parent_version" not in spec:
            assert numeric == spec["version"], spec["path"]
        strings = {
            k.decode(): v.decode()
            for fi in pe.FileInfo[0]
            if fi.Key == b"StringFileInfo"
            for st in fi.StringTable
            for k, v in st.entries.items()
        }
        if "lab_tag" in spec:
            assert f"({spec['lab_tag']})" in strings["FileVersion"]


@pytest.mark.parametrize("image", READABLE, ids=image_ids(READABLE))
def test_update_records_read_back(image: dict[str, Any]) -> None:
    sc = SCENARIOS[image["scenario"]]
    sw = read_hive(first_file(image), "SOFTWARE")
    product = sc.media.updates_product
    for spec in sc.expected.get("updates", []):
        if spec["kind"] == "package":
            key = sw.open("Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Packages")
            names = [k.name() for k in key.subkeys() if k.name().startswith(f"Package_for_{spec['id']}~")]
            assert bool(names) != bool(spec.get("only_in_transaction_log")), spec["id"]
            continue
        path = f"Microsoft\\Updates\\{product}\\SP{spec['sp_folder']}\\{spec['id']}"
        if spec.get("only_in_transaction_log"):
            with pytest.raises(Registry.RegistryKeyNotFoundException):
                sw.open(path)  # the primary alone does not have it: the scanner must replay the .LOG
        else:
            key = sw.open(path)
            assert key.value("Description").value()
            assert key.subkey("Filelist").subkeys()


EVT_IMAGES = [m for m in READABLE if SCENARIOS[m["scenario"]].expected.get("events")]


@pytest.mark.parametrize("image", EVT_IMAGES, ids=image_ids(EVT_IMAGES))
def test_events_read_back_with_dissect(image: dict[str, Any]) -> None:
    sc = SCENARIOS[image["scenario"]]
    path = first_file(image)
    root = windows_root(path)
    counts: dict[str, Counter[tuple[str, int]]] = {}
    if sc.media.current_version.startswith("6"):
        for log in ("System", "Setup", "Application"):
            evtx = Evtx(io.BytesIO(read_volume_file(path, f"{root}/System32/winevt/Logs/{log}.evtx")))
            counts[log] = Counter((r["Provider_Name"], int(r["EventID"])) for r in evtx)
    else:
        for log, name in (("System", "SysEvent.Evt"), ("Application", "AppEvent.Evt")):
            evt = Evt(io.BytesIO(read_volume_file(path, f"{root}/system32/config/{name}")))
            counts[log] = Counter((r.SourceName, r.EventID & 0xFFFF) for r in evt)
    for spec in sc.expected["events"]:
        assert counts[spec["log"]][(spec["source"], spec["event_id"])] == spec["count"], spec


