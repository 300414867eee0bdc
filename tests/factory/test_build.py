"""The generator is deterministic and agrees with what each scenario declares.

Rebuilding every scenario must give byte-identical images to the committed ones (MANIFEST.json): that is what
lets a reviewer trust that the committed binaries come from the committed scenarios. The rebuild needs the
Debian tools named in fixtures/README.md; without them the test is skipped on a developer machine, but fails
in CI (CI=true), where .ci/run installs them.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from Registry import Registry

from fixtures.factory.build import build_all
from fixtures.factory.scenario import IMAGES_DIR, ScenarioError, Step, all_scenarios
from fixtures.factory.simulate import simulate
from tests.factory.timeline_truth import declared_timeline, derive_timeline

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


@pytest.mark.parametrize("scenario", all_scenarios(), ids=lambda s: s.id)
def test_simulated_timeline_matches_declared_timeline(scenario) -> None:  # type: ignore[no-untyped-def]
    """Every install, boot, failure and last-success entry the replay implies is declared, and nothing else.

    The derivation (tests/factory/timeline_truth.py) dates installs from the history steps and boots,
    failures and traffic from the replayed event records and W3C logs.
    """
    declared = declared_timeline(scenario)
    assert declared, "every scenario declares its [[expected.timeline]]"
    derived = derive_timeline(scenario, simulate(scenario))
    missing = [e for e in derived if e not in declared]
    extra = [e for e in declared if e not in derived]
    assert not missing and not extra, f"not declared: {missing}\ndeclared but not replayed: {extra}"


def test_timeline_declarations_use_the_documented_vocabulary() -> None:
    installs = "service-pack hotfix update package-state-change component-install software-install os-install"
    others = (
        "reboot unexpected-shutdown service-failure worker-process-failure rapid-fail-disable crash traffic"
    )
    kinds = set(installs.split()) | set(others.split())
    for scenario in all_scenarios():
        for row in scenario.expected["timeline"]:
            assert row["kind"] in kinds, row
            assert row["precision"] in ("second", "day"), row
            assert set(row["sources"]) <= {"registry", "event", "log", "file", "traffic"}, row
            assert datetime.fromisoformat(row["at"]).utcoffset() == timedelta(0), row
            assert set(row) <= {"kind", "subject", "at", "precision", "sources", "conflict", "count", "what"}


def test_the_conflict_scenario_is_the_time_zone_change() -> None:
    """healthy-2003-sp2: KB958644's local dates were written in Pacific time, the registry now says GMT."""
    scenario = next(s for s in all_scenarios() if s.id == "healthy-2003-sp2")
    state = simulate(scenario)
    hotfix = "Microsoft\\Windows NT\\CurrentVersion\\Hotfix\\KB958644"
    hive = Registry.Registry(io.BytesIO(state.software.build()))
    assert hive.open(hotfix).value("Installed On").value() == "10/23/2008"  # Pacific date of 03:11 UTC
    events = [r for r in state.evt["System"] if r.strings[1:] == ("KB958644",)]
    assert [r.time_generated.isoformat() for r in events] == ["2008-10-24T03:11:15+00:00"]
    tz = Registry.Registry(io.BytesIO(state.system.build())).open(
        "ControlSet001\\Control\\TimeZoneInformation"
    )
    assert tz.value("StandardName").value() == "GMT Standard Time"
    changed = tz.timestamp().replace(tzinfo=timezone.utc)
    assert changed == datetime(2008, 10, 27, 9, 30, tzinfo=timezone.utc)  # the change, after the install
    assert b"2008/10/23 20:10:00.000 (local)" in state.text_logs["WINDOWS\\KB958644.log"]
    assert b"tz: -0700" in state.text_logs["WINDOWS\\WindowsUpdate.log"]
    [row] = [r for r in scenario.expected["timeline"] if r["subject"] == "KB958644"]
    assert row["conflict"] is True


def test_declared_damage_is_what_the_crash_left() -> None:
    scenario = next(s for s in all_scenarios() if s.id == "kb973917-iis6")
    state = simulate(scenario)
    damage = {d["artifact"]: d for d in scenario.expected["damage"]}
    w3c = damage["WINDOWS\\system32\\LogFiles\\W3SVC1\\ex091209.log"]
    data = state.text_logs[w3c["artifact"]]
    lines = data.split(b"\r\n")
    assert lines[-1].startswith(b"2009-12-09 15:50:24 ") and lines[-1].endswith(b"\0" * 357)
    fields = len(next(x for x in lines if x.startswith(b"#Fields:")).split()) - 1
    malformed = [
        x for x in lines if x and not x.startswith(b"#") and (b"\0" in x or len(x.split()) != fields)
    ]
    assert (w3c["kind"], len(malformed)) == ("malformed-lines", w3c["count"])
    evt = damage["WINDOWS\\system32\\config\\SysEvent.Evt"]
    torn = state.evt_torn["System"]
    assert (evt["kind"], len(torn)) == ("corrupt-records", evt["count"])
    assert [(r.source, r.event_id & 0xFFFF) for r in torn] == [("Service Control Manager", 7036)]
    declared_events = {(e["source"], e["event_id"]) for e in scenario.expected["events"]}
    assert not declared_events & {(r.source, r.event_id & 0xFFFF) for r in torn}


# Issue 6: the q281402-dll-put-back scenario's third-party strings are hostile (fixtures/README.md, "Hostile
# strings"); they must reach the artefacts byte for byte, or a report test would prove nothing.
HOSTILE_NAME = 'Fabrikam WebPublisher 3.1 <script>alert("pm-xss-1")</script>'
HOSTILE_PUBLISHER = "Fabrikam \"Software' & <Co>"
HOSTILE_FOLDER = "Program Files\\Fabrikam WebPublisher 3.1' onmouseover='alert(5)' data-x='&amp;`${alert(6)}`"
HOSTILE_DESCRIPTION = "Windows 2000 Hotfix - KB823718 '\"><img src=x onerror=alert(2)>"
HOSTILE_SERVICE = (
    "Fabrikam Publishing Agent </script><script>alert(3)</script> {{7*7}} ${7*7} | `tick` *bold* "
    "[x](javascript:alert(4))"
)


def test_hostile_strings_reach_the_artefacts_verbatim() -> None:
    scenario = next(s for s in all_scenarios() if s.id == "q281402-dll-put-back")
    state = simulate(scenario)
    hive = Registry.Registry(io.BytesIO(state.software.build()))
    app = hive.open(f"Microsoft\\Windows\\CurrentVersion\\Uninstall\\{HOSTILE_NAME}")
    assert app.value("DisplayName").value() == HOSTILE_NAME
    assert app.value("Publisher").value() == HOSTILE_PUBLISHER
    assert app.value("InstallLocation").value() == f"C:\\{HOSTILE_FOLDER}"
    assert HOSTILE_FOLDER.lower() in {e.path.lower() for e in state.extras}
    assert f"{HOSTILE_FOLDER}\\wpsetup.exe".lower() in {e.path.lower() for e in state.extras}
    fix = hive.open("Microsoft\\Updates\\Windows 2000\\SP5\\KB823718")
    assert fix.value("Description").value() == HOSTILE_DESCRIPTION
    assert hive.open("Microsoft\\Windows NT\\CurrentVersion\\Hotfix\\KB823718").value(
        "Fix Description"
    ).value() == HOSTILE_DESCRIPTION
    failed = [r.strings[0] for r in state.evt["System"] if r.source == "Service Control Manager"]
    assert failed == ["IIS Admin Service", "World Wide Web Publishing Service", HOSTILE_SERVICE]
    assert {f["put_back_by"] for f in scenario.expected["files"] if "put_back_by" in f} == {HOSTILE_NAME}


def test_a_name_windows_would_refuse_is_not_written_as_a_folder() -> None:
    """Without ``install_dir`` the folder would be ``Program Files\\<name>``: '<', '"', '/' are not Win32."""
    scenario = next(s for s in all_scenarios() if s.id == "q281402-dll-put-back")
    history = tuple(
        Step(step.action, step.at, {k: v for k, v in step.params.items() if k != "install_dir"})
        for step in scenario.history
    )
    with pytest.raises(ScenarioError, match="is not a Windows path"):
        simulate(replace(scenario, history=history))
