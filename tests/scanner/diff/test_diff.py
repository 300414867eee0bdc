"""``patchmortem diff``: the pure comparison of two scan JSONs, its reports and the CLI, on real fixtures.

The snapshot pair (fixtures/scenarios/snapshot-iis-from-rtm-media.toml, ``[expected.diff]``) is diffed in
its four chain formats: KB973917 added, exactly w3core.dll and w3isapi.dll changed 6.0.3790.0 ->
6.0.3790.4611 and attributed to KB973917, and the verdict changed (no onset -> onset, trigger KB973917).
Scans are cached per image so the module stays fast.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from rich.console import Console

from fixtures.factory.scenario import IMAGES_DIR
from scanner.cli import cli
from scanner.diff import diff_scans
from scanner.diff.report_html import render_diff_html
from scanner.diff.report_text import print_diff
from scanner.errors import ExitCode
from scanner.pipeline import scan
from scanner.report.scan_json import scan_to_dict

SCHEMA = json.loads((Path(__file__).parents[3] / "schemas" / "diff.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
MANIFEST = json.loads((IMAGES_DIR / "MANIFEST.json").read_text())
SCENARIO_IMAGES = sorted(
    {m["files"][0]["name"] for m in MANIFEST if m["role"] == "image"} | {"snapshot-iis-rtm-child.avhd"}
)
CHAINS = [
    ("snapshot-iis-rtm-parent.vhd", "snapshot-iis-rtm-child.avhd"),
    ("snapshot-iis-rtm-parent.vhdx", "snapshot-iis-rtm-child.avhdx"),
    ("snapshot-iis-rtm-parent.vmdk", "snapshot-iis-rtm-child.vmdk"),
    ("snapshot-iis-rtm-parent.qcow2", "snapshot-iis-rtm-child.qcow2"),
]
W3CORE = "WINDOWS\\system32\\inetsrv\\w3core.dll"
W3ISAPI = "WINDOWS\\system32\\inetsrv\\w3isapi.dll"


@cache
def _scan(name: str) -> dict[str, Any]:
    return scan_to_dict(scan(IMAGES_DIR / name))


def _text(diff: Any) -> str:
    console = Console(width=240, no_color=True, record=True)
    with console.capture() as captured:
        print_diff(diff, console)
    return captured.get()


def _without_labels(data: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    for side in ("before", "after"):
        data[side].pop("label")
        data[side].pop("source")
    data.pop("headline")
    data.pop("scanned_at")  # when each comparison ran (issue 18): two runs, two times
    return data


@pytest.mark.parametrize(("parent", "child"), CHAINS, ids=[c for _, c in CHAINS])
def test_snapshot_pair_names_the_update_and_exactly_its_files(parent: str, child: str) -> None:
    diff = diff_scans(_scan(parent), _scan(child), parent, child)
    assert [u.id for u in diff.updates_added] == ["KB973917"]
    assert not diff.updates_removed and not diff.updates_changed
    changes = {c.path: (c.before.version, c.after.version) for c in diff.files_changed}
    assert changes == {
        W3CORE: ("6.0.3790.0", "6.0.3790.4611"),
        W3ISAPI: ("6.0.3790.0", "6.0.3790.4611"),
    }
    assert [(c.changed_by.update, c.changed_by.rule) for c in diff.files_changed if c.changed_by] == [
        ("KB973917", "recorded-file"),
        ("KB973917", "recorded-file"),
    ]
    assert diff.files_changed[0].after.lab_tag == "srv03_sp2_gdr.091030-1513"
    assert not diff.files_added and not diff.files_removed and not diff.service_pack_changed
    assert diff.verdict_changed
    assert diff.verdict_before.failure_onset is None and diff.verdict_before.trigger is None
    assert diff.verdict_after.failure_onset == "2009-12-10T17:12:30+00:00"
    assert diff.verdict_after.trigger == "KB973917"
    assert diff.verdict_after.latent_cause == "files-below-service-pack"
    assert dict(diff.timeline_new)["worker-process-failure"] == 5
    text = _text(diff)
    assert text.splitlines()[0] == (
        "Verdict changed: no failure onset -> failing since 2009-12-10 17:12:30 UTC "
        "(trigger KB973917, latent cause files-below-service-pack)."
    )
    assert not list(VALIDATOR.iter_errors(diff.to_dict()))


@pytest.mark.parametrize("image", SCENARIO_IMAGES)
def test_a_scenario_against_itself_is_empty(image: str) -> None:
    saved = json.loads(json.dumps(_scan(image)))  # as written to and read back from a file
    diff = diff_scans(_scan(image), saved, image, image)
    assert diff.is_empty, diff.to_dict()
    assert diff.to_dict()["is_empty"] is True
    assert _text(diff) == (
        f"No differences: {image} and {image} have the same updates, component files, pending renames, "
        "findings, verdict and timeline.\n"
    )
    assert not list(VALIDATOR.iter_errors(diff.to_dict()))


def test_install_time_attribution_when_no_file_list_names_the_file() -> None:
    before = {
        "schema_version": "1.1",
        "updates": [],
        "files": [{"path": "WINDOWS\\system32\\x.dll", "version": "1.0", "lab_tag": "a"}],
    }
    after = {
        "schema_version": "1.1",
        "updates": [{"id": "kb1", "installed_at": "2009-01-01T10:10:00+00:00", "files": []}],
        "files": [
            {
                "path": "windows\\SYSTEM32\\x.dll",
                "version": "1.1",
                "lab_tag": "b",
                "created_at": "2009-01-01T10:00:00+00:00",
            }
        ],
    }
    diff = diff_scans(before, after, "a", "b")
    (change,) = diff.files_changed
    assert change.changed_by is not None
    assert (change.changed_by.update, change.changed_by.rule) == ("kb1", "install-time")
    assert "600 s from the file's new creation time 2009-01-01 10:00:00 UTC" in change.changed_by.evidence
    after["updates"][0]["installed_at"] = "2009-01-01T10:16:00+00:00"  # outside the 15 min window
    assert diff_scans(before, after, "a", "b").files_changed[0].changed_by is None


def test_untrusted_shapes_are_skipped_not_raised() -> None:
    junk: dict[str, Any] = {
        "updates": [1, None, {"id": 5}, {"id": "KB1", "state": ["x"]}],
        "files": "nope",
        "components": [{"files": [{"path": None}, 3]}],
        "findings": [{"rule": "r", "files": [{"path": 7}]}],
        "timeline": [{"kind": None}],
        "system": [],
        "diagnosis": {"failure_onset": "not a time"},
        "pending_renames": [{"source": "a"}],
    }
    diff = diff_scans({}, junk, "a", "b")
    assert [u.id for u in diff.updates_added] == ["KB1"]
    assert diff.verdict_changed and "not a time" in diff.headline
    assert not list(VALIDATOR.iter_errors(diff.to_dict()))


# -- CLI ---------------------------------------------------------------------------------------------------


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_cli_child_alone_equals_two_saved_scans_and_leaves_the_images_alone(tmp_path: Path) -> None:
    child, parent = IMAGES_DIR / "snapshot-iis-rtm-child.avhd", IMAGES_DIR / "snapshot-iis-rtm-parent.vhd"
    digests = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (child, parent)}
    from_images = _run("diff", str(child), "--format", "json")
    assert from_images.exit_code == 0, from_images.output
    data = json.loads(from_images.stdout)
    assert data["before"]["label"] == str(parent) and data["after"]["label"] == str(child)
    saved = []
    for image in (parent, child):
        out = tmp_path / f"{image.name}.json"
        result = _run("scan", str(image), "--format", "json", "--output", str(out))
        assert result.exit_code == 0, result.output
        saved.append(out)
    from_json = _run("diff", str(saved[0]), str(saved[1]), "--format", "json")
    assert from_json.exit_code == 0, from_json.output
    assert _without_labels(json.loads(from_json.stdout)) == _without_labels(data)
    assert not list(VALIDATOR.iter_errors(data))
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (child, parent)} == digests


def test_cli_image_against_itself_is_one_sentence() -> None:
    """Identical states give one "No differences" sentence: wrapped at 80 columns (a pipe), its continuation
    lines hang under it, and nothing else is printed."""
    image = str(IMAGES_DIR / "kb973917-iis6.vhd")
    result = _run("diff", image, image)
    assert result.exit_code == 0, result.output
    first, *rest = result.stdout.splitlines()
    assert first.startswith("No differences: ")
    assert all(line.startswith("  ") and len(line) <= 80 for line in rest)
    assert " ".join(part.strip() for part in [first, *rest]).endswith("findings, verdict and timeline.")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["/nonexistent/before.vhd", "/nonexistent/after.vhd"], ExitCode.SOURCE_NOT_FOUND, "no such file"),
        (["{missing}.json", "{missing}.json"], ExitCode.SOURCE_NOT_FOUND, "no such file"),
        (["{notscan}", "{notscan}"], ExitCode.UNSUPPORTED_SOURCE, "is not a patchmortem scan JSON"),
        (["{badjson}", "{notscan}"], ExitCode.UNSUPPORTED_SOURCE, "is not valid JSON"),
        (["{future}", "{future}"], ExitCode.UNSUPPORTED_SOURCE, "this patchmortem reads 1.x"),
        ([str(IMAGES_DIR / "kb973917-iis6.vhd")], ExitCode.USAGE, "is not a differencing disk"),
        (["{notscan}"], ExitCode.USAGE, "give AFTER"),
    ],
)
def test_cli_bad_inputs_give_one_line_and_the_documented_code(
    tmp_path: Path, args: list[str], code: ExitCode, message: str
) -> None:
    keys = ["schema_version", "system", "updates", "files", "timeline", "findings", "diagnosis"]
    (tmp_path / "notscan.json").write_text('{"schema_version": "1.0", "system": {}}')
    (tmp_path / "badjson.json").write_bytes(b"{\xff")
    (tmp_path / "future.json").write_text(json.dumps(dict.fromkeys(keys, {}) | {"schema_version": "2.0"}))
    names = {n: str(tmp_path / f"{n}.json") for n in ("missing", "notscan", "badjson", "future")}
    result = _run("diff", *(a.format(**names) for a in args))
    assert result.exit_code == int(code), result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("patchmortem: error: ")
    assert message in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("target", ["snapshot-iis-rtm-parent.vhd", "snapshot-iis-rtm-child.avhd"])
def test_cli_output_refuses_the_evidence(target: str) -> None:
    path = IMAGES_DIR / target
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    result = _run("diff", str(IMAGES_DIR / "snapshot-iis-rtm-child.avhd"), "--output", str(path))
    assert result.exit_code == int(ExitCode.OUTPUT_ERROR)
    assert "refusing to write" in result.stderr
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


# -- HTML --------------------------------------------------------------------------------------------------


def test_html_renders_hostile_strings_as_text(tmp_path: Path) -> None:
    diff = diff_scans(
        _scan("healthy-2003-sp2.vmdk"), _scan("q281402-dll-put-back.raw.001"), "before", "after<script>x"
    )
    assert "KB823718" in [u.id for u in diff.updates_added]
    page = render_diff_html(diff)
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&#39;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert "after&lt;script&gt;x" in page
    assert "Content-Security-Policy" in page and "default-src &#39;none&#39;" in page
    assert re.search(r"<link|src=\"http|href=\"http", page) is None  # self-contained


def test_html_of_the_snapshot_pair_via_cli(tmp_path: Path) -> None:
    out = tmp_path / "diff.html"
    child = str(IMAGES_DIR / "snapshot-iis-rtm-child.vmdk")
    result = _run("diff", child, "--format", "html", "--output", str(out))
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "Verdict changed" in page and "w3core.dll" in page and "KB973917" in page
