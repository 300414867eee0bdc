"""`patchmortem inventory` on every fixture image gives what its scenario declares, with provenance.

The expected values come from each scenario's hand-written ``[expected]`` section (fixtures/scenarios), so
these tests compare the scanner's eyes with the ground truth the fixture factory wrote.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from fixtures.factory.scenario import IMAGES_DIR, all_scenarios
from scanner.cli import cli

SCHEMA = json.loads((Path(__file__).parents[3] / "schemas" / "inventory.schema.json").read_text())
SCENARIOS = {s.id: s for s in all_scenarios()}
MANIFEST = json.loads((IMAGES_DIR / "MANIFEST.json").read_text())
# One image per scenario (the snapshot pair: its .avhd child, read through our own chain reader).
IMAGES = {m["scenario"]: IMAGES_DIR / m["files"][0]["name"] for m in MANIFEST if m["role"] == "image"}
IMAGES["snapshot-iis-from-rtm-media"] = IMAGES_DIR / "snapshot-iis-rtm-child.avhd"
# The same snapshot's other chain formats, which dissect follows itself.
CHILDREN = {m["format"]: IMAGES_DIR / m["files"][0]["name"] for m in MANIFEST if m["role"] == "child"}


@pytest.mark.parametrize("fmt", sorted(CHILDREN))
def test_every_snapshot_chain_format_reads_the_child_state(fmt: str) -> None:
    data = _inventory(CHILDREN[fmt])
    assert "KB973917" in {u["id"] for u in data["updates"]}
    files = {f["path"].lower().rsplit("\\", 1)[-1]: f["version"] for f in data["files"]}
    assert files["w3core.dll"] == "6.0.3790.4611" and files["w3dt.dll"] == "6.0.3790.0"


@cache
def _inventory(path: Path) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["inventory", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("scenario", sorted(IMAGES))
def test_inventory_matches_the_scenario(scenario: str) -> None:
    sc = SCENARIOS[scenario]
    data = _inventory(IMAGES[scenario])
    jsonschema.validate(data, SCHEMA)
    exp = sc.expected["system"]
    system = data["system"]
    for key in ("product", "version", "build", "service_pack", "architecture", "hostname", "install_date",
                "system_root", "timezone"):
        assert system[key] == exp[key], key
    assert (system["csd_version"] or "") == exp["csd_version"]
    artifacts = {s["artifact"].lower() for s in system["sources"]}
    root = exp["system_root"].lower()
    config = f"{root}\\system32\\config"
    assert f"{config}\\software" in artifacts and f"{config}\\system" in artifacts

    updates = {u["id"]: u for u in data["updates"]}
    for spec in sc.expected.get("updates", []):
        update = updates[spec["id"]]
        assert update["kind"] == spec["kind"], spec["id"]
        if "sp_folder" in spec:
            assert update["sp_folder"] == spec["sp_folder"]
        if "state" in spec:
            assert update["state"] == spec["state"]
        if "installed_at" in spec:
            assert update["installed_at"] == spec["installed_at"]
        assert update["sources"] and all(s["artifact"] and s["locator"] for s in update["sources"])
        if spec.get("only_in_transaction_log"):
            assert all("transaction log" in s.get("note", "") for s in update["sources"])

    files = {f["path"].lower(): f for f in data["files"]}
    for spec in sc.expected.get("files", []):
        found = files[spec["path"].lower()]
        assert found["version"] == spec["version"], spec["path"]
        if "lab_tag" in spec:
            assert found["lab_tag"] == spec["lab_tag"]
        assert found["sources"][0]["locator"].startswith("MFT entry ")
        assert found["sha256"] and found["modified_at"] and found["created_at"]


def test_hotfix_files_keep_build_time_and_install_time() -> None:
    data = _inventory(IMAGES["kb973917-iis6"])
    w3core = next(f for f in data["files"] if f["path"].lower().endswith("w3core.dll"))
    assert w3core["modified_at"] == "2009-10-30T20:13:00+00:00"  # build date, as update.exe copies it
    assert w3core["created_at"] == "2009-12-09T15:40:40+00:00"  # install time
    folder = next(u for u in data["uninstall_folders"] if u["path"].endswith("$NtUninstallKB973917$"))
    assert {f["version"] for f in folder["files"]} == {"6.0.3790.3959"}  # the versions before the fix


def test_dirty_hive_recovery_is_reported_as_a_fact() -> None:
    data = _inventory(IMAGES["kb973917-iis6"])
    fact = next(f for f in data["facts"] if f["name"] == "software_recovered_from_log")
    assert fact["value"] == "software.LOG"
    assert fact["sources"][0]["artifact"] == "WINDOWS\\system32\\config\\software.LOG"


def test_pending_operations_and_markers() -> None:
    data = _inventory(IMAGES["cbs-2008-iis7-pending"])
    assert any(p["destination"].lower().endswith("inetsrv\\iiscore.dll") for p in data["pending_renames"])
    assert any(f["name"] == "cbs_reboot_pending" for f in data["facts"])


def test_missing_component_files_are_gaps_not_silence() -> None:
    data = _inventory(IMAGES["cbs-2012r2-dirty-hive"])
    missing = {g["what"].lower() for g in data["gaps"]}
    assert "windows\\system32\\advapi32.dll" in missing


def test_text_format_prints_tables_and_nothing_on_stderr_but_progress() -> None:
    result = CliRunner().invoke(cli, ["--quiet", "inventory", str(IMAGES["q281402-hotfix-before-sp"])])
    assert result.exit_code == 0
    assert "KB942831" in result.stdout and "infocomm.dll" in result.stdout
    assert result.stderr == ""


def test_inventory_never_changes_the_evidence() -> None:
    paths = [IMAGES_DIR / f["name"] for m in MANIFEST for f in m["files"]]
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    for path in IMAGES.values():
        _inventory(path)
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    assert before == after


@pytest.mark.parametrize("scenario", sorted(IMAGES))
def test_component_folders_are_listed_once_each(scenario: str) -> None:
    data = _inventory(IMAGES[scenario])
    (folder,) = data["folders"]  # the IIS profile's inetsrv; os-core names its files one by one
    assert folder["path"].lower().endswith("\\system32\\inetsrv")
    assert folder["present"] and folder["gap"] is None
    assert folder["cost"]["listings"] == 1 and folder["cost"]["mft_records"] == folder["entries"]
    assert folder["pe_files"] == folder["entries"]  # the fixtures' inetsrv holds PE files only
    inside = [f for f in data["files"] if f["path"].lower().startswith(folder["path"].lower())]
    assert len([f for f in inside if not f["sha256"]]) == folder["unlisted"]  # only listed files are hashed


def test_an_unlisted_inetsrv_dll_is_inventoried_and_reported() -> None:
    # Server 2008's media installs authsspi.dll (Windows authentication module), which the iis7 profile
    # does not list: it is inventoried by listing inetsrv, read only as far as its version resource.
    data = _inventory(IMAGES["cbs-2008-iis7-pending"])
    authsspi = next(f for f in data["files"] if f["path"].lower().endswith("authsspi.dll"))
    assert (authsspi["version"], authsspi["component"]) == ("7.0.6002.18005", "iis7")
    assert authsspi["sha256"] is None
    assert data["folders"][0]["unlisted"] == 1 and 0 < data["folders"][0]["cost"]["bytes_read"] < 16 * 1024
    result = CliRunner().invoke(cli, ["--quiet", "inventory", str(IMAGES["cbs-2008-iis7-pending"])])
    assert "folder Windows\\System32\\inetsrv (iis7): 10 entries, 10 PE files (1 not in the profile)" in (
        " ".join(result.stdout.split())
    )
