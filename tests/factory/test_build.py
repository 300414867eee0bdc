"""The generator is deterministic and agrees with what each scenario declares.

Rebuilding every scenario must give byte-identical images to the committed ones (MANIFEST.json): that is what
lets a reviewer trust that the committed binaries come from the committed scenarios. The rebuild needs the
Debian tools named in fixtures/README.md; without them the test is skipped on a developer machine, but fails
in CI (CI=true), where .ci/run installs them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from fixtures.factory.build import build_all
from fixtures.factory.scenario import IMAGES_DIR, all_scenarios
from fixtures.factory.simulate import simulate

TOOLS = ("mkntfs", "wimlib-imagex", "qemu-img", "ewfacquirestream", "faketime")


def _require_tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None and not Path("/usr/sbin", t).exists()]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must install the fixture tools; missing: {', '.join(missing)}")
        pytest.skip(f"fixture tools not installed: {', '.join(missing)}")


def test_rebuild_gives_the_committed_bytes(tmp_path: Path) -> None:
    _require_tools()
    build_all(tmp_path)
    committed = json.loads((IMAGES_DIR / "MANIFEST.json").read_text(encoding="utf-8"))
    rebuilt = json.loads((tmp_path / "MANIFEST.json").read_text(encoding="utf-8"))
    assert rebuilt == committed
    for image in rebuilt:
        for f in image["files"]:
            assert hashlib.sha256((tmp_path / f["name"]).read_bytes()).hexdigest() == f["sha256"], f["name"]


@pytest.mark.parametrize("scenario", all_scenarios(), ids=lambda s: s.id)
def test_simulated_state_matches_declared_expectations(scenario) -> None:  # type: ignore[no-untyped-def]
    """The simulator's final state agrees with the scenario's hand-written ``expected`` section."""
    state = simulate(scenario)
    exp = scenario.expected
    assert state.service_pack == exp["system"]["service_pack"]
    root = scenario.media.system_root
    for spec in exp.get("files", []):
        rel = spec["path"][len(root) + 1 :]
        assert state.files[rel.lower()].version == spec["version"], spec["path"]
        if "lab_tag" in spec:
            assert state.files[rel.lower()].lab == spec["lab_tag"]
    for spec in exp.get("updates", []):
        if spec["kind"] == "package":
            identity = next(
                s.params["identity"]
                for s in scenario.history
                if str(s.params.get("identity", "")).startswith(f"Package_for_{spec['id']}~")
            )
            key = f"Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Packages\\{identity}"
            assert state.software.has_key(key), key
        else:
            key = f"Microsoft\\Updates\\{scenario.media.updates_product}\\SP{spec['sp_folder']}\\{spec['id']}"
            assert state.software.has_key(key), key
