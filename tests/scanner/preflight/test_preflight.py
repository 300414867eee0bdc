"""``patchmortem preflight`` on the fixture images: the snapshot scenario's parent (the last checkpoint before
KB973917) is at risk with KB2009746 and the IIS 6 files below SP2; the healthy scenario is safe; an update
without a profile is unknown. The CLI's JSON follows its schema and its exit codes say the worst verdict.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from fixtures.factory.scenario import IMAGES_DIR
from scanner.cli import cli
from scanner.diagnose import ScanResult
from scanner.errors import ExitCode
from scanner.knowledge.profiles import load_knowledge
from scanner.pipeline import scan
from scanner.preflight.assess import assess
from scanner.preflight.facts import PreflightFacts
from scanner.preflight.saved import facts_from_scan_json

ROOT = Path(__file__).resolve().parents[3]
PARENT = IMAGES_DIR / "snapshot-iis-rtm-parent.vhd"
HEALTHY = IMAGES_DIR / "healthy-2003-sp2.vhd"
SCHEMA = json.loads((ROOT / "schemas" / "preflight.schema.json").read_text(encoding="utf-8"))
KNOWLEDGE = load_knowledge()
#: The IIS 6 files the parent holds at RTM level (the scenario installed IIS from the original CD after SP2).
IIS6_AT_RTM = {"w3wp.exe", "w3core.dll", "w3isapi.dll", "w3dt.dll", "w3tp.dll", "w3cache.dll", "iisw3adm.dll",
               "iisutil.dll", "iisres.dll", "infocomm.dll", "isatq.dll", "inetinfo.exe", "metadata.dll",
               "asp.dll", "httpext.dll"}


@cache
def _scan(image: Path) -> ScanResult:
    return scan(image)


def test_snapshot_parent_is_at_risk_with_kb2009746_and_the_files() -> None:
    (verdict,) = assess(_scan(PARENT), ["KB973917"], KNOWLEDGE)
    assert (verdict.update, verdict.status, verdict.installed) == ("KB973917", "at-risk", False)
    risks = [r for r in verdict.reasons if r.effect == "risk"]
    assert [(r.kind, r.interaction, r.rule) for r in risks] == [
        ("known-interaction", "KB2009746", "files-below-service-pack")
    ]
    files = {f.path.rsplit("\\", 1)[-1]: f for f in risks[0].files}
    assert set(files) == IIS6_AT_RTM
    assert {(f.on_disk, f.required, f.component, f.sp_level) for f in files.values()} == {
        ("6.0.3790.0", "6.0.3790.3959", "iis6", 0)
    }
    assert files["w3dt.dll"].path == "WINDOWS\\system32\\inetsrv\\w3dt.dll"
    assert all(f.sources and f.sources[0].artifact == f.path for f in files.values())
    assert risks[0].evidence  # the finding's provenance travels with the reason
    assert verdict.missing == ()


def test_healthy_server_is_safe_and_says_kb973917_is_installed() -> None:
    kb973917, ms08_005 = assess(_scan(HEALTHY), ["KB973917", "KB942831"], KNOWLEDGE)
    assert (kb973917.status, kb973917.installed) == ("safe", True)
    assert [r.kind for r in kb973917.reasons] == ["already-installed"]
    assert kb973917.reasons[0].evidence  # the registry record that says so
    assert (ms08_005.status, ms08_005.installed, ms08_005.reasons) == ("safe", False, ())


def test_update_without_profile_is_unknown_never_guessed() -> None:
    for result in (_scan(PARENT), _scan(HEALTHY)):
        (verdict,) = assess(result, ["kb2416400"], KNOWLEDGE)
        assert (verdict.update, verdict.status, verdict.title) == ("KB2416400", "unknown", None)
        assert [r.kind for r in verdict.reasons] == ["no-profile"]
        assert verdict.missing == ("profiles/updates entry for KB2416400",)


def test_facts_and_scan_result_give_the_same_verdicts() -> None:
    result = _scan(PARENT)
    ids = ["KB973917", "KB942831", "KB917537", "Q811114", "KB958644", "KB999999"]
    assert assess(result, ids, KNOWLEDGE) == assess(PreflightFacts.from_scan(result), ids, KNOWLEDGE)
    statuses = {v.update: v.status for v in assess(result, ids, KNOWLEDGE)}
    assert statuses == {
        "KB973917": "at-risk",  # KB2009746
        "KB942831": "at-risk",  # MS08-005 patches infocomm.dll of an IIS 6 below SP2
        "KB917537": "safe",  # built for SP1 at most: SP2 contains it
        "Q811114": "unknown",  # its profile has no Server 2003 entry
        "KB958644": "safe",  # an OS-core fix for SP1/SP2; nothing against it
        "KB999999": "unknown",  # no profile
    }


def test_cli_json_follows_the_schema_and_exit_code_says_at_risk() -> None:
    result = CliRunner().invoke(
        cli, ["preflight", str(PARENT), str(HEALTHY), "--update", "KB973917", "--format", "json"]
    )
    assert result.exit_code == ExitCode.PREFLIGHT_AT_RISK == 20, result.output
    data = json.loads(result.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    assert data["updates"] == ["KB973917"] and data["summary"] == {"safe": 1, "at-risk": 1, "unknown": 0}
    parent, healthy = data["servers"]
    assert (parent["hostname"], parent["service_pack"], parent["verdicts"][0]["status"]) == (
        "APP-IIS-03", 2, "at-risk")
    assert parent["verdicts"][0]["reasons"][0]["interaction"] == "KB2009746"
    assert (healthy["hostname"], healthy["verdicts"][0]["status"]) == ("WEB-FRONT-07", "safe")


@pytest.mark.parametrize(
    ("updates", "code"),
    [(["KB973917"], ExitCode.OK), (["KB973917", "KB2416400"], ExitCode.PREFLIGHT_UNKNOWN)],
)
def test_cli_exit_codes_on_the_healthy_server(updates: list[str], code: int) -> None:
    args = ["preflight", str(HEALTHY)] + [a for u in updates for a in ("--update", u)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == code, result.output
    assert "WEB-FRONT-07" in result.stdout and "KB973917  SAFE" in result.stdout


def test_cli_text_and_markdown_name_the_files(tmp_path: Path) -> None:
    text = CliRunner().invoke(cli, ["preflight", str(PARENT), "--update", "KB973917"])
    assert text.exit_code == 20
    assert "KB973917  AT RISK" in text.stdout and "KB2009746" in text.stdout
    assert "WINDOWS\\system32\\inetsrv\\w3dt.dll  6.0.3790.0 -> needs 6.0.3790.3959" in text.stdout
    out = tmp_path / "preflight.md"
    md = CliRunner().invoke(cli, ["preflight", str(PARENT), "--update", "KB973917", "--format", "md",
                                  "--output", str(out)])
    assert md.exit_code == 20 and md.stdout == ""
    page = out.read_text(encoding="utf-8")
    assert "| `KB973917` | **AT RISK** |" in page and "`w3dt.dll` `6.0.3790.0` → `6.0.3790.3959`" in page


def test_cli_unreadable_source_among_several_is_a_row(tmp_path: Path) -> None:
    empty = tmp_path / "empty.vhd"
    empty.write_bytes(b"")
    result = CliRunner().invoke(
        cli, ["preflight", str(empty), str(HEALTHY), "--update", "KB973917", "--format", "json"]
    )
    assert result.exit_code == ExitCode.PREFLIGHT_UNKNOWN, result.output
    data = json.loads(result.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    broken, healthy = data["servers"]
    assert broken["error"] and broken["verdicts"][0]["status"] == "unknown"
    assert healthy["verdicts"][0]["status"] == "safe"
    alone = CliRunner().invoke(cli, ["preflight", str(empty), "--update", "KB973917"])
    assert alone.exit_code == ExitCode.UNSUPPORTED_SOURCE  # one source keeps scan's own exit code


def test_cli_refuses_what_is_not_an_update_id() -> None:
    result = CliRunner().invoke(cli, ["preflight", str(HEALTHY), "--update", "12345"])
    assert result.exit_code == ExitCode.USAGE and "not an update id" in result.output


def test_schema_command_prints_the_preflight_schema() -> None:
    result = CliRunner().invoke(cli, ["schema", "preflight"])
    assert result.exit_code == 0 and json.loads(result.output) == SCHEMA


def test_saved_scan_json_gives_the_same_verdicts(tmp_path: Path) -> None:
    saved = tmp_path / "parent.json"
    written = CliRunner().invoke(cli, ["scan", str(PARENT), "--format", "json", "--output", str(saved)])
    assert written.exit_code == 0
    ids = ["KB973917", "KB942831", "KB917537", "KB958644", "KB999999"]
    from_json = facts_from_scan_json(json.loads(saved.read_text(encoding="utf-8")))
    assert assess(from_json, ids, KNOWLEDGE) == assess(_scan(PARENT), ids, KNOWLEDGE)
    both = CliRunner().invoke(cli, ["preflight", str(saved), str(PARENT), "--update", "KB973917",
                                    "--format", "json"])
    assert both.exit_code == 20
    first, second = json.loads(both.stdout)["servers"]
    assert {**first, "source": ""} == {**second, "source": ""}


def test_a_mangled_saved_scan_is_read_as_gaps_never_a_traceback(tmp_path: Path) -> None:
    system = PreflightFacts.from_scan(_scan(PARENT)).system
    assert system is not None
    mangled = {"schema_version": "1.0", "system": {**system.to_dict(), "service_pack": "two", "sources": "x"},
               "updates": [{"id": 5}, "text", {"id": "KB973917", "state": None}], "files": {"no": "list"},
               "timeline": [], "findings": [{"rule": "files-below-service-pack", "severity": "loud"},
                                            {"rule": "reboot-pending", "severity": "warning", "files": [1]}],
               "diagnosis": {},
               "components": [{"id": "iis6", "files": [{"path": 7}, {"path": "x", "present": 1}]}]}
    path = tmp_path / "mangled.json"
    path.write_text(json.dumps(mangled), encoding="utf-8")
    result = CliRunner().invoke(cli, ["preflight", str(path), "--update", "KB973917", "--format", "json"])
    assert result.exit_code == 20, result.output  # the one well-formed finding left: a pending restart
    (server,) = json.loads(result.stdout)["servers"]
    assert server["service_pack"] is None
    kinds = [r["kind"] for r in server["verdicts"][0]["reasons"]]
    assert kinds == ["reboot-pending", "evidence-missing", "evidence-missing"]
    not_scan = tmp_path / "inventory.json"
    not_scan.write_text('{"schema_version": "1.0"}', encoding="utf-8")
    refused = CliRunner().invoke(cli, ["preflight", str(not_scan), "--update", "KB973917"])
    assert refused.exit_code == ExitCode.UNSUPPORTED_SOURCE
    assert "not a patchmortem scan JSON" in refused.stderr
