"""Issue 14 item 4 end to end on a built case: a service pack re-applied after a hotfix puts the fix's file
back (Q194334/Q196269's shape on Windows 2000), read through the real collectors, timeline and rules.

The case is the q281402-dll-put-back scenario's history with its third-party install replaced by a
re-run of SP4: the simulator's SP writes its own copy of every component file, so KB823718's asp.dll
(5.0.2195.6891) goes back to SP4's, and svcpack.log records the copy.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from fixtures.factory.build import build_volume
from fixtures.factory.scenario import SCENARIO_DIR, Step, load_scenario
from fixtures.factory.simulate import simulate
from scanner.diagnose import ScanResult
from scanner.pipeline import scan


@pytest.fixture(scope="module")
def sp_rerun(tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    scenario = load_scenario(SCENARIO_DIR / "q281402-dll-put-back.toml")
    history = tuple(
        Step("service-pack", s.at, {"level": 4}) if s.action == "third-party-install" else s
        for s in scenario.history
    )
    state = simulate(replace(scenario, history=history))
    out = tmp_path_factory.mktemp("sp-rerun")
    build_volume(state, out / "volume.ntfs", out / "work")
    return scan(out / "volume.ntfs")


def test_sp_rerun_named_as_what_put_the_hotfix_file_back(sp_rerun: ScanResult) -> None:
    (finding,) = [f for f in sp_rerun.findings if f.rule == "hotfix-files-regressed"]
    (row,) = [f for f in finding.files if f.path.lower().endswith("asp.dll")]
    assert (row.recorded_by, row.recorded_version) == ("KB823718", "5.0.2195.6891")
    assert row.version is not None and row.version < "5.0.2195.6891"
    assert row.replaced_by_kind == "service-pack" and row.replaced_by is not None
    assert row.replaced_at is not None and row.replaced_at.year == 2005
    assert any(e.source.artifact.lower().endswith("svcpack.log") for e in finding.evidence)
    assert any("Reinstall KB823718" in step for step in finding.remediation)
    assert not any("Rapid-Fail" in step for step in finding.remediation)


def test_the_hotfix_file_on_disk_is_the_service_packs(sp_rerun: ScanResult) -> None:
    """What the rule compared: the disk copy is SP4's, the Filelist's is KB823718's."""
    asp = next(f for f in sp_rerun.inventory.files if f.path.lower().endswith("inetsrv\\asp.dll"))
    kb = next(u for u in sp_rerun.inventory.updates if u.id == "KB823718")
    assert [(r.name, r.version) for r in kb.files] == [("asp.dll", "5.0.2195.6891")]
    assert asp.version != "5.0.2195.6891"
