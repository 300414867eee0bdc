"""``repro``: the lab plan, replayed step by step on the scenario's base media, rebuilds the declared state.

The replay below is the lab, simplified to what a scenario declares: install the base media (every file of the
OS core and of the components installed with the OS at the media's service-pack level), then apply each step
in order - a service pack raises every older file to its level, a hotfix or a deliberate deviation sets its
files' versions, a component install from media level X puts its files at X. The result must match the
scenario's ``[expected]`` files, updates and SP level, in the order of its ``[[history]]``, with the trigger
last. The plans come from real scans of the committed seed-case images (cached: one scan per image).
"""

from __future__ import annotations

import io
import json
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from scanner.diagnose import ScanResult
from scanner.knowledge.profiles import Knowledge, load_knowledge
from scanner.pipeline import scan
from scanner.repro import ReproPlan, plan_repro, render_repro_markdown, write_repro_json

ROOT = Path(__file__).resolve().parents[3]
IMAGES = ROOT / "fixtures" / "images"
SCENARIOS = ROOT / "fixtures" / "scenarios"
SCHEMA = json.loads((ROOT / "schemas" / "repro.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())

CASES = {
    "kb973917-iis6": "kb973917-iis6.vhd",
    "q281402-hotfix-before-sp": "q281402-win2000.E01",
    "q281402-dll-put-back": "q281402-dll-put-back.raw.001",
    "snapshot-iis-from-rtm-media": "snapshot-iis-rtm-child.avhd",
}
REAL_ID = re.compile(r"^(KB\d+|Q\d+|Service Pack \d)$")
LINK = re.compile(r"https?:|ftp:|www\.|download\.microsoft", re.IGNORECASE)
#: A Markdown code span (fence of n backticks ... the same fence): its content is shown literally, inert.
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)")
SERVICING = {"service-pack", "hotfix", "update", "package", "component-install", "software-install"}


@cache
def knowledge() -> Knowledge:
    return load_knowledge(None)


@cache
def scanned(case: str) -> ScanResult:
    return scan(IMAGES / CASES[case])


@cache
def plan(case: str) -> ReproPlan:
    return plan_repro(scanned(case), knowledge())


def scenario(case: str) -> dict[str, Any]:
    return tomllib.loads((SCENARIOS / f"{case}.toml").read_text(encoding="utf-8"))


def _revision(version: str) -> int:
    return int(version.split(".")[3])


def replay(case: str) -> tuple[dict[str, str | int], int, set[str]]:
    """Files (path -> explicit version, or an int SP level), the SP level and update ids after the plan."""
    p = plan(case)
    system = scanned(case).inventory.system
    assert system is not None
    profile = knowledge().os_for(system)
    assert profile is not None
    revision = {sp.level: sp.revision for sp in profile.service_packs}
    root = system.system_root or "WINDOWS"
    files: dict[str, str | int] = {}
    assert p.base.service_pack is not None
    level = p.base.service_pack
    for component in knowledge().components_for(system):
        if component.id == "os-core" or component.id in p.base.components:
            for f in component.files:
                files[f"{root}\\{f.path}".lower()] = level
    updates: set[str] = set()
    for step in p.steps[1:]:
        if step.action == "service-pack":
            assert step.level is not None and step.level > level, step.title
            level = step.level
            rev = revision[level]
            assert rev is not None
            for path, state in files.items():
                if (
                    isinstance(state, int)
                    and state < level
                    or isinstance(state, str)
                    and _revision(state) < rev
                ):
                    files[path] = level
            updates.add(f"Service Pack {level}")
        elif step.action == "component-install":
            assert step.level is not None and step.files
            for f in step.files:
                assert f.version is not None and _revision(f.version) == revision[step.level], f
                files[f.path.lower()] = step.level
        else:
            for f in step.files:
                assert f.version is not None
                files[f.path.lower()] = f.version
            if step.package_id:
                updates.add(step.package_id)
    return files, level, updates


@pytest.mark.parametrize("case", sorted(CASES))
def test_replayed_plan_reproduces_the_declared_state(case: str) -> None:
    expected = scenario(case)["expected"]
    files, level, updates = replay(case)
    profile = knowledge().os_for(scanned(case).inventory.system)
    assert profile is not None
    assert level == expected["system"]["service_pack"]
    for f in expected["files"]:
        state = files.get(f["path"].lower())
        assert state is not None, f"{f['path']} never installed by the plan"
        if isinstance(state, int):
            rev = profile.service_pack(state).revision  # type: ignore[union-attr]
            assert _revision(f["version"]) == rev, (f["path"], state, f["version"])
        else:
            assert state == f["version"], f["path"]
    for u in expected["updates"]:
        assert u["id"] in updates, u["id"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_steps_follow_the_history_and_end_with_the_trigger(case: str) -> None:
    data = scenario(case)
    p = plan(case)
    history = []
    for h in data["history"]:
        if h["action"] == "os-install":
            history.append("install-os")
        elif h["action"] == "service-pack":
            history.append(f"Service Pack {h['level']}")
        elif h["action"] == "hotfix":
            history.append(h["id"])
        elif h["action"] == "component-install":
            history.append(h["component"])
        elif h["action"] == "third-party-install":
            history.append(h["name"])
    steps = []
    for s in p.steps:
        if s.action == "install-os":
            steps.append("install-os")
        elif s.action == "service-pack":
            steps.append(f"Service Pack {s.level}")
        elif s.action == "component-install":
            steps.append(s.component)
        elif s.action == "software-install":
            steps.append(s.title.removeprefix("Install ").rsplit(" (it puts", 1)[0])
        elif s.action in SERVICING:
            steps.append(s.package_id)
    assert steps == history
    install = data["history"][0]
    assert p.base.service_pack == install["service_pack"]
    assert set(p.base.components) == set(install["components"]) - {"os-core"}
    servicing = [s for s in p.steps if s.action in SERVICING]
    trigger = data["expected"]["diagnosis"]["trigger"]
    assert servicing[-1].trigger and servicing[-1].package_id == trigger
    assert [s.package_id for s in p.steps if s.trigger] == [trigger]
    for s in p.steps:
        assert s.evidence, s.title
        if s.action in {"service-pack", "hotfix", "update", "package"}:
            assert s.package_id and REAL_ID.match(s.package_id), s.package_id


def test_kb973917_plan_content() -> None:
    p = plan("kb973917-iis6")
    assert p.base.service_pack_name == "Service Pack 1"
    assert p.base.language is None and p.base.edition is None
    titles = [s.title for s in p.steps]
    assert "Install Windows Server 2003 Service Pack 2 (KB914961)" in titles
    keep = next(s for s in p.steps if s.action == "set-file-versions")
    assert (
        keep.deviation
        and titles.index(keep.title)
        == titles.index("Install Windows Server 2003 Service Pack 2 (KB914961)") + 1
    )
    assert sorted(f.path for f in keep.files) == [
        "WINDOWS\\system32\\inetsrv\\iisutil.dll",
        "WINDOWS\\system32\\inetsrv\\iisw3adm.dll",
        "WINDOWS\\system32\\inetsrv\\w3dt.dll",
        "WINDOWS\\system32\\inetsrv\\w3tp.dll",
    ]
    assert {f.version for f in keep.files} == {"6.0.3790.1830"}
    assert "restore them from Service Pack 1 media after Service Pack 2" in keep.title
    assert p.symptom is not None
    first = p.symptom.signs[0]
    assert (first.provider, first.event_id, first.count, first.after_trigger_seconds) == (
        "W3SVC",
        1009,
        5,
        901,
    )
    assert p.symptom.watch_for.startswith("W3SVC 1009 (DefaultAppPool) ×5, then W3SVC 1002 (DefaultAppPool)")
    trigger = next(s for s in p.steps if s.trigger)
    assert any("do not reboot" in n for n in trigger.notes)


def test_snapshot_component_from_rtm_media_after_sp2() -> None:
    p = plan("snapshot-iis-from-rtm-media")
    step = next(s for s in p.steps if s.action == "component-install")
    assert step.title == (
        "Add IIS 6.0 worker-process core (Server 2003) (iis6) from RTM media (D:\\I386) after Service Pack 2"
    )
    assert step.level == 0 and step.deviation
    assert p.base.service_pack_name == "RTM"


def test_q281402_hotfix_forced_below_its_service_pack() -> None:
    p = plan("q281402-hotfix-before-sp")
    step = next(s for s in p.steps if s.package_id == "KB942831")
    assert step.deviation and step.trigger
    assert "below Service Pack 4" in step.notes[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_json_validates_and_carries_no_links(case: str) -> None:
    out = io.StringIO()
    write_repro_json(plan(case), out)
    data = json.loads(out.getvalue())
    errors = sorted(VALIDATOR.iter_errors(data), key=str)
    assert not errors, [e.message for e in errors[:5]]
    assert not LINK.search(out.getvalue())
    assert not LINK.search(render_repro_markdown(plan(case)))


def test_hostile_strings_are_escaped_in_markdown() -> None:
    full = render_repro_markdown(plan("q281402-dll-put-back"))
    text = CODE_SPAN.sub("", full)
    assert "<script>" not in text and "</script>" not in text and "<img" not in text
    assert "[x](javascript:" not in text and "{{7*7}}" not in text and "{{7\\*7}} \\${7\\*7}" in text
    assert 'Fabrikam WebPublisher 3.1 &lt;script&gt;alert("pm-xss-1")&lt;/script&gt;' in text
    assert "\\[x\\](javascript:alert(4))" in text
    assert "\\| \\`tick\\` \\*bold\\*" in full
    assert (
        "`` Program Files\\Fabrikam WebPublisher 3.1' onmouseover='alert(5)' data-x='&amp;`${alert(6)}` [MFT"
        in full
    )
