"""`patchmortem timeline` on every fixture image contains the entries its scenario declares.

Each scenario's hand-written ``[[expected.timeline]]`` (fixtures/scenarios) names the install, reboot and
failure entries a correct timeline must hold: kind, subject, UTC time, precision, which kinds of source must
attest it, and whether it must show a conflict. tests/factory/test_build.py checks those declarations
against the simulator's replay; this test checks the scanner against them, through the CLI's JSON lines.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from fixtures.factory.scenario import IMAGES_DIR, all_scenarios
from scanner.cli import cli

SCHEMA = json.loads((Path(__file__).parents[3] / "schemas" / "timeline-entry.schema.json").read_text())
SCENARIOS = {s.id: s for s in all_scenarios()}
MANIFEST = json.loads((IMAGES_DIR / "MANIFEST.json").read_text())
IMAGES = {m["scenario"]: IMAGES_DIR / m["files"][0]["name"] for m in MANIFEST if m["role"] == "image"}
IMAGES["snapshot-iis-from-rtm-media"] = IMAGES_DIR / "snapshot-iis-rtm-child.avhd"


def _run(*args: str) -> Any:
    result = CliRunner().invoke(cli, ["timeline", *args])
    assert result.exit_code == 0, result.output + result.stderr
    return result


@cache
def _timeline(scenario: str) -> list[dict[str, Any]]:
    out = _run(str(IMAGES[scenario]), "--format", "jsonl").stdout
    return [json.loads(line) for line in out.splitlines()]


def _same_second(found: str | None, declared: str) -> bool:
    """Sources with milliseconds (WindowsUpdate.log) keep them; a declaration names the second."""
    return (
        found is not None
        and abs((datetime.fromisoformat(found) - datetime.fromisoformat(declared)).total_seconds()) < 1
    )


def _matches(entry: dict[str, Any], row: dict[str, Any]) -> bool:
    return (
        entry["kind"] == row["kind"]
        and entry["subject"].lower() == str(row["subject"]).lower()
        and (row.get("what") is None or entry["details"].get("what") == row["what"])
    )


@pytest.mark.parametrize("scenario", sorted(IMAGES))
def test_timeline_holds_every_declared_entry(scenario: str) -> None:
    entries = _timeline(scenario)
    for entry in entries:
        jsonschema.validate(entry, SCHEMA)
    problems = []
    for row in SCENARIOS[scenario].expected["timeline"]:
        label = f"{row['kind']} {row['subject']} at {row['at']}"
        same = [e for e in entries if _matches(e, row)]
        at_time = [e for e in same if _same_second(e["at"], row["at"])]
        if not at_time:
            near = sorted(e["at"] for e in same)[:6]
            problems.append(f"{label}: missing (entries of that kind/subject at {near})")
            continue
        entry = at_time[0]
        if entry["precision"] != row["precision"]:
            problems.append(f"{label}: precision {entry['precision']} != {row['precision']}")
        types = {s["type"] for s in entry["sources"]}
        if not set(row["sources"]) <= types:
            problems.append(
                f"{label}: source types {sorted(types)} lack {sorted(set(row['sources']) - types)}"
            )
        if row.get("conflict") and not entry["conflicts"]:
            problems.append(f"{label}: a conflict was declared but none is shown")
        if "count" in row:
            later = [e for e in same if e["at"] >= row["at"]]
            if len(later) < int(row["count"]):
                problems.append(f"{label}: {len(later)} entries, {row['count']} declared")
        for source in entry["sources"]:
            if not source["artifact"]:
                problems.append(f"{label}: a source without an artefact path")
    assert not problems, "\n".join(problems)


def test_entries_without_declared_conflicts_are_consistent() -> None:
    """The KB973917 case is consistent (one clock, one zone): no entry may claim a conflict."""
    assert [e for e in _timeline("kb973917-iis6") if e["conflicts"]] == []


def test_one_hotfix_install_is_one_entry_with_all_its_sources() -> None:
    [entry] = [e for e in _timeline("kb973917-iis6") if e["subject"] == "KB973917"]
    artifacts = {s["artifact"].lower() for s in entry["sources"]}
    assert "windows\\kb973917.log" in artifacts
    assert "windows\\$ntuninstallkb973917$" in artifacts
    assert "windows\\system32\\config\\sysevent.evt" in artifacts
    assert any(s["type"] == "registry" and "transaction log" in s.get("note", "") for s in entry["sources"])


def test_failure_records_past_the_stale_header_are_in_the_timeline() -> None:
    failures = [e for e in _timeline("kb973917-iis6") if e["kind"] == "worker-process-failure"]
    assert len(failures) == 5
    assert all("past the stale header" in e["sources"][0]["says"] for e in failures)


@pytest.mark.parametrize("scenario", sorted(s for s in SCENARIOS if SCENARIOS[s].expected.get("damage")))
def test_damage_is_skipped_with_a_counted_warning(scenario: str) -> None:
    result = _run(str(IMAGES[scenario]), "--format", "jsonl")
    wording = {"malformed-lines": "malformed line(s) skipped", "corrupt-records": "corrupt record(s) skipped"}
    for damage in SCENARIOS[scenario].expected["damage"]:
        expected = f"warning: {damage['artifact']}: {damage['count']} {wording[damage['kind']]}"
        assert any(line.startswith(f"patchmortem: {expected}") for line in result.stderr.splitlines()), (
            damage,
            result.stderr,
        )


def test_text_csv_and_timesketch_exports() -> None:
    image = str(IMAGES["kb973917-iis6"])
    text = _run(image).stdout
    assert "KB973917" in text and "rapid-fail-disable" in text and "SysEvent.Evt" in text
    rows = list(csv.DictReader(io.StringIO(_run(image, "--format", "csv").stdout)))
    assert rows and set(rows[0]) >= {"at", "precision", "kind", "subject", "summary", "sources"}
    sketch = [json.loads(line) for line in _run(image, "--format", "timesketch").stdout.splitlines()]
    assert all({"message", "datetime", "timestamp_desc"} <= set(line) for line in sketch)
    assert any(line["timestamp_desc"] == "Install Time" and "KB973917" in line["message"] for line in sketch)


def test_since_and_until_bound_the_entries() -> None:
    out = _run(
        str(IMAGES["kb973917-iis6"]),
        "--format",
        "jsonl",
        "--since",
        "2009-12-09T15:00Z",
        "--until",
        "2009-12-09",
    ).stdout
    entries = [json.loads(line) for line in out.splitlines()]
    assert entries and all("2009-12-09" in (e["end"] or e["at"]) for e in entries)
    assert any(e["subject"] == "KB973917" for e in entries)
    bad = CliRunner().invoke(cli, ["timeline", str(IMAGES["kb973917-iis6"]), "--since", "yesterday"])
    assert bad.exit_code == 2 and "ISO-8601" in bad.output


def test_the_image_is_unchanged() -> None:
    image = IMAGES["q281402-hotfix-before-sp"]
    before = hashlib.sha256(image.read_bytes()).hexdigest()
    _run(str(image), "--format", "jsonl")
    assert hashlib.sha256(image.read_bytes()).hexdigest() == before
