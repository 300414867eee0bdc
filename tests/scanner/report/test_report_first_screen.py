"""Issue 18: what a new reader sees first — the verdict's state, the traffic split at the onset, Markdown that
reads cleanly, and JSON outputs that say which tool, which profiles and when.

The browser side (opening zoom, labels apart) is in test_report_browser.py; these run real code on the
KB973917 fixture's scan and on hand-built values.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
from click.testing import CliRunner
from markdown_it import MarkdownIt

from scanner import __version__
from scanner.cli import cli
from scanner.diff import diff_scans
from scanner.diff.report_text import diff_to_dict
from scanner.evidence.kinds import container_kind
from scanner.knowledge.components import default_profiles_dir
from scanner.knowledge.profiles import load_knowledge, profiles_version
from scanner.model import Diagnosis, ErrorRun, Provenance, TrafficDay
from scanner.render.meta import RunMeta
from scanner.render.templating import escape_md
from scanner.report.html import render_html
from scanner.report.inventory import inventory_to_dict
from scanner.report.markdown import render_markdown
from scanner.report.plot import opening_preset, zoom_presets
from scanner.report.plot_traffic import traffic_bars
from scanner.report.scan_json import scan_to_dict
from scanner.report.schema_files import SCHEMAS, schema_dir
from scanner.report.sections import Fact, footnoted, headline, verdict_state
from scanner.report.timeline import typed_value
from scanner.repro import plan_repro
from scanner.repro.render import plan_to_dict
from scanner.timeline import Timeline
from tests.scanner.report.test_report_html import _kb973917

ROOT = Path(__file__).resolve().parents[3]
META = RunMeta("9.9.9", "sha256:0123456789abcdef", datetime(2026, 12, 7, 1, 2, 3, tzinfo=UTC))


def _validate(name: str, data: dict[str, object]) -> list[str]:
    schema = json.loads((ROOT / "schemas" / SCHEMAS[name]).read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]


# --- Markdown: escape only what a renderer would misread ---------------------------------------------------


def test_versions_are_not_escaped_but_block_starts_are() -> None:
    assert escape_md("6.0.3790.3959") == "6.0.3790.3959"
    assert escape_md("srv03_sp2_rtm.070216-1710") == "srv03\\_sp2\\_rtm.070216-1710"
    md = MarkdownIt("commonmark")
    for text in ("1. item", "12) item", "# heading", "- bullet", "+ bullet", "---", "==="):
        escaped = escape_md(text)
        rendered = md.render(f"para\n\n{escaped}\n")
        assert "<ol" not in rendered and "<ul" not in rendered and "<h" not in rendered, (text, rendered)
        assert "<hr" not in rendered, (text, rendered)
    for text in ("#tag", "-x", "a-b", "1.5 GB", "2009-12-09"):
        assert escape_md(text) == text


def test_markdown_report_shows_versions_as_written() -> None:
    md = render_markdown(_kb973917())
    assert "6.0.3790.3959" in md and "6\\.0" not in md
    rendered = MarkdownIt("commonmark").enable("table").render(md)
    assert "6.0.3790.3959" in rendered


# --- Verdict box: its state follows the verdict, and never "no failure" above failures ---------------------


def test_verdict_state_follows_the_verdict() -> None:
    result = _kb973917()
    assert verdict_state(result).css == "failing"
    html = render_html(result)
    assert 'class="verdict failing"' in html and ">Failing<" in html
    quiet = replace(result, diagnosis=Diagnosis(None, None, None, "No failure evidence was found ..."))
    assert verdict_state(quiet).css == "at-risk"  # the warning findings remain
    unexplained = replace(quiet, findings=[])
    state = verdict_state(unexplained)
    assert state.css == "unknown" and state.failures > 0
    said = headline(unexplained)
    assert "no failure" not in said.casefold() and f"holds {state.failures} failure entries" in said
    calm = [e for e in result.timeline.entries if e.kind in ("hotfix", "service-pack", "reboot")]
    healthy = replace(unexplained, timeline=Timeline(calm, ()))
    assert verdict_state(healthy).css == "healthy"
    assert 'class="verdict healthy"' in render_html(healthy)


def test_each_system_fact_source_is_listed_once() -> None:
    facts, sources = footnoted(
        [Fact("A", "1", "SOFTWARE"), Fact("B", "2", "SOFTWARE"), Fact("C", "3", "SYSTEM"), Fact("D", "4")]
    )
    assert sources == ["SOFTWARE", "SYSTEM"]
    assert [(f.ref, f.source) for f in facts] == [(1, ""), (1, ""), (2, ""), (0, "")]
    html = render_html(_kb973917())
    system = html[html.index('<section id="system"') :]
    registry = next(s for s in sources_of(system) if "SOFTWARE" in s)
    assert system.count(registry) == 1


def sources_of(section: str) -> list[str]:
    body = section[section.index('<ol class="sources') : section.index("</ol>")]
    return [item.split("</li>")[0] for item in body.split("<li>")[1:]]


# --- The timeline opens on the failure; errors never left of the onset ------------------------------------


def test_opening_zoom_is_trigger_to_onset() -> None:
    result = _kb973917()
    presets = zoom_presets(result)
    label, start, end = presets[opening_preset(presets)]
    assert label == "Trigger → onset"
    onset = result.diagnosis.failure_onset
    assert onset is not None and start <= onset.timestamp() * 1000 <= end
    assert opening_preset([("All history", 0.0, 1.0), ("Failure day", 0.0, 1.0)]) == 1
    assert opening_preset([("All history", 0.0, 1.0), ("Last 30 days", 0.0, 1.0)]) == 0


def _day(log: str, hourly: tuple[tuple[datetime, int, int], ...], runs: tuple[ErrorRun, ...]) -> TrafficDay:
    day = hourly[0][0].replace(hour=0)
    where = Provenance(f"WINDOWS\\system32\\LogFiles\\{log}.log", "lines 1-9")
    return TrafficDay(log, "W3SVC1", day, sum(h[1] for h in hourly), None, None, None, (), hourly, runs, None,
                      where)  # fmt: skip


def test_the_onset_hour_is_split_at_the_onset() -> None:
    hour = datetime(2009, 12, 9, 15, tzinfo=UTC)
    onset = hour + timedelta(minutes=55, seconds=1)
    end = hour + timedelta(hours=1, minutes=29)
    run = ErrorRun(onset, end, 27, ((503, 27),), Provenance("HTTPERR", "line 1"))
    w3c = _day("w3c", ((hour, 20, 0),), ())
    httperr = _day("httperr", ((hour, 11, 0), (hour + timedelta(hours=1), 16, 16)), (run,))
    bars = traffic_bars([w3c, httperr], onset, onset - timedelta(minutes=8))
    before, after, next_hour = bars
    assert before.right == onset == after.left
    assert (before.ok, before.errors) == (20, 0)  # every success lies before the onset
    assert (after.ok, after.errors) == (0, 11)  # HTTPERR entries are errors, all after the onset
    assert (next_hour.ok, next_hour.errors) == (0, 16)
    assert all(b.left < b.right for b in bars)
    # Without an onset in the hour, one bar per hour, inside its hour.
    plain = traffic_bars([w3c], None, None)
    assert len(plain) == 1 and hour < plain[0].left < plain[0].right < hour + timedelta(hours=1)


# --- Every JSON output says which tool, which profiles, and when -------------------------------------------


def test_profiles_version_follows_the_profile_bytes(tmp_path: Path) -> None:
    shipped = profiles_version()
    assert shipped.startswith("sha256:") and len(shipped) == 7 + 16
    copy = tmp_path / "profiles"
    shutil.copytree(default_profiles_dir(), copy)
    assert profiles_version(copy) == shipped  # where the directory is does not matter
    rules = copy / "rules.toml"
    rules.write_text(rules.read_text(encoding="utf-8") + "\n# a comment is a change\n", encoding="utf-8")
    assert profiles_version(copy) != shipped


def test_every_json_output_carries_tool_profiles_and_time() -> None:
    result = _kb973917()
    expected = {"tool_version": "9.9.9", "profiles_version": "sha256:0123456789abcdef",
                "scanned_at": "2026-12-07T01:02:03Z"}  # fmt: skip
    scan_json = scan_to_dict(result, META)
    outputs = {
        "scan": scan_json,
        "inventory": inventory_to_dict(result.inventory, META),
        "repro": plan_to_dict(plan_repro(result, load_knowledge()), META),
        "diff": diff_to_dict(diff_scans(scan_json, scan_json, "a.json", "b.json"), META),
    }
    for name, data in outputs.items():
        assert list(data)[:4] == ["schema_version", *expected], name
        assert {k: data[k] for k in expected} == expected, name
        assert _validate(name, data) == [], name
    now = scan_to_dict(result)  # a library caller without a RunMeta gets the clock and profiles of now
    assert now["tool_version"] == __version__ and now["profiles_version"] == profiles_version()
    assert abs(datetime.now(UTC) - datetime.fromisoformat(now["scanned_at"])) < timedelta(minutes=10)


# --- The schemas ship inside the package; `patchmortem schema` prints them ---------------------------------


def test_schemas_ship_in_the_package_and_the_command_prints_them() -> None:
    assert (ROOT / "scanner" / "schemas").resolve() == (ROOT / "schemas").resolve()
    assert '"scanner.schemas" = ["*.json"]' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert {p.name for p in schema_dir().glob("*.schema.json")} == set(SCHEMAS.values())
    runner = CliRunner()
    where = runner.invoke(cli, ["schema", "--path"])
    assert where.exit_code == 0 and Path(where.output.strip()) == schema_dir()
    listing = runner.invoke(cli, ["schema"])
    assert listing.exit_code == 0 and all(name in listing.output for name in SCHEMAS)
    for name, file in SCHEMAS.items():
        text = runner.invoke(cli, ["schema", name])
        shipped = json.loads((ROOT / "schemas" / file).read_text(encoding="utf-8"))
        assert text.exit_code == 0 and json.loads(text.output) == shipped
        path = runner.invoke(cli, ["schema", name, "--path"])
        assert Path(path.output.strip()).is_file()
    assert runner.invoke(cli, ["schema", "nope"]).exit_code == 2


# --- `describe` names container kinds as people do ---------------------------------------------------------


def test_describe_names_container_kinds_as_people_do() -> None:
    images = ROOT / "fixtures" / "images"
    runner = CliRunner()
    chain = runner.invoke(cli, ["describe", str(images / "snapshot-iis-rtm-child.avhd")])
    assert chain.exit_code == 0 and "containers: VHD differencing chain" in chain.output
    ewf = runner.invoke(cli, ["describe", str(images / "q281402-win2000.E01")])
    assert ewf.exit_code == 0 and "containers: E01 (EnCase / Expert Witness)" in ewf.output
    assert "Container" not in chain.output + ewf.output
    as_json = runner.invoke(cli, ["describe", str(images / "q281402-win2000.E01"), "--format", "json"])
    assert json.loads(as_json.output)["containers"] == ["EwfContainer"]  # the JSON value is unchanged
    assert container_kind("SomeNewContainer") == "SomeNew"
    assert "Format</th><td>VHD (Hyper-V / Virtual PC)" in render_html(_kb973917())


# --- `timeline --format jsonl` carries real types ----------------------------------------------------------


def test_jsonl_lines_carry_numbers_and_booleans() -> None:
    assert [typed_value(v) for v in ("4", "0", "-2", "yes", "False", "0x643", "6.0", "0216", "")] == [
        4, 0, -2, True, False, "0x643", "6.0", "0216", ""]  # fmt: skip
    result = CliRunner().invoke(cli, ["timeline", str(ROOT / "fixtures" / "images" / "kb973917-iis6.vhd"),
                                      "--format", "jsonl"])  # fmt: skip
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    entry_schema = json.loads((ROOT / "schemas" / SCHEMAS["timeline-entry"]).read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(entry_schema)
    for line in lines:
        assert list(validator.iter_errors(line)) == []
        assert line["source_count"] == len(line["sources"]) and isinstance(line["at"], (str, type(None)))
        assert set(line["details_typed"]) == set(line["details"])
        assert all(isinstance(v, str) for v in line["details"].values())  # the contract is unchanged
    typed = [line["details_typed"] for line in lines]
    assert any(isinstance(d.get("files"), int) for d in typed)
    assert any(d.get("reboot_required") is True for d in typed)
