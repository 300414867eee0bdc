"""`patchmortem scan` gives every fixture scenario its declared verdict, and the reviewed golden report.

Two anchors: the scenario's hand-written ``[expected.diagnosis]`` / ``must_not_report`` /
``no_warning_findings`` (written with the fixture, before the rules existed), and a golden file per scenario
(tests/golden/scan/<scenario>.json) holding the findings and diagnosis exactly as a reviewer accepted them —
evidence, remediation text and all. A missing golden fails; regenerate after a deliberate change with
``PATCHMORTEM_UPDATE_GOLDEN=1 pytest tests/scanner/e2e/test_scan_verdicts.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from fixtures.factory.scenario import IMAGES_DIR, all_scenarios
from scanner.knowledge.profiles import PLACEHOLDERS
from scanner.pipeline import scan
from scanner.report.scan_json import scan_to_dict

SCENARIOS = {s.id: s for s in all_scenarios()}
MANIFEST = json.loads((IMAGES_DIR / "MANIFEST.json").read_text())
IMAGES = {m["scenario"]: IMAGES_DIR / m["files"][0]["name"] for m in MANIFEST if m["role"] == "image"}
IMAGES["snapshot-iis-from-rtm-media"] = IMAGES_DIR / "snapshot-iis-rtm-child.avhd"
GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "scan"
UPDATE = os.environ.get("PATCHMORTEM_UPDATE_GOLDEN") == "1"


@cache
def _verdict(scenario: str) -> dict[str, Any]:
    """The reviewed part of the scan JSON: findings and diagnosis (the rest has its own tests)."""
    data = scan_to_dict(scan(IMAGES[scenario]))
    return {"scenario": scenario, "findings": data["findings"], "diagnosis": data["diagnosis"]}


def _declared(scenario: str) -> dict[str, Any]:
    return SCENARIOS[scenario].expected


@pytest.mark.parametrize("scenario", sorted(IMAGES))
def test_declared_diagnosis(scenario: str) -> None:
    declared = _declared(scenario)["diagnosis"]
    diagnosis = _verdict(scenario)["diagnosis"]
    assert (diagnosis["failure_onset"] or "") == declared["failure_onset"]
    assert (diagnosis["trigger"] or "") == declared["trigger"]
    assert (diagnosis["latent_cause"] or "") == declared["latent_cause"]
    if "cause_attribution" in declared:
        assert diagnosis["cause_attribution"] == declared["cause_attribution"]
    for rule in declared.get("also", []):
        assert rule in diagnosis["contributing"], f"{rule} should contribute to the verdict"


@pytest.mark.parametrize("scenario", sorted(IMAGES))
def test_nothing_reported_that_must_not_be(scenario: str) -> None:
    expected = _declared(scenario)
    findings = _verdict(scenario)["findings"]
    reported = {f["rule"] for f in findings}
    assert not reported & set(expected.get("must_not_report", []))
    if expected.get("no_warning_findings"):
        assert [f["rule"] for f in findings if f["severity"] != "info"] == []


@pytest.mark.parametrize("scenario", sorted(IMAGES))
def test_files_declared_below_service_pack_are_reported_and_no_others(scenario: str) -> None:
    findings = _verdict(scenario)["findings"]
    below = {
        f["path"].lower()
        for finding in findings
        if finding["rule"] == "files-below-service-pack"
        for f in finding["files"]
    }
    files = _declared(scenario)["files"]
    assert {f["path"].lower() for f in files if f.get("below_service_pack")} <= below
    assert not {f["path"].lower() for f in files if not f.get("below_service_pack")} & below


@pytest.mark.parametrize("scenario", sorted(IMAGES))
def test_every_claim_carries_evidence(scenario: str) -> None:
    verdict = _verdict(scenario)
    for finding in verdict["findings"]:
        assert finding["evidence"], finding["rule"]
        assert all(e["artifact"] for e in finding["evidence"])
        assert finding["remediation"], finding["rule"]
        # No unfilled placeholder (rendered "<name>"); evidence strings may hold "<" and ">" themselves.
        steps = " ".join(finding["remediation"])
        assert not [name for name in PLACEHOLDERS if f"<{name}>" in steps], finding["remediation"]
    diagnosis = verdict["diagnosis"]
    if diagnosis["failure_onset"]:
        assert diagnosis["evidence"] and diagnosis["remediation"]


@pytest.mark.parametrize("scenario", sorted(IMAGES))
def test_matches_reviewed_golden(scenario: str) -> None:
    path = GOLDEN / f"{scenario}.json"
    found = json.dumps(_verdict(scenario), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(found, encoding="utf-8")
    assert path.exists(), (
        f"no golden verdict for {scenario}: create it with PATCHMORTEM_UPDATE_GOLDEN=1 and review"
    )
    assert found == path.read_text(encoding="utf-8")
