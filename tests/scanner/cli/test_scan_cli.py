"""``patchmortem scan`` (text and JSON reports), the scan JSON schema, and ``patchmortem profiles check``.

The CLI runs on the committed images; the report's content (findings, evidence, the verdict) is checked on
a ScanResult built by hand from the real KB973917 inventory and timeline plus hand-made findings carrying
hostile strings, so these tests do not depend on what the rules conclude.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from rich.console import Console

from fixtures.factory.scenario import IMAGES_DIR as IMAGES
from scanner import __version__
from scanner.cli import cli
from scanner.diagnose import ScanResult
from scanner.errors import ExitCode
from scanner.knowledge.components import default_profiles_dir
from scanner.knowledge.profiles import profiles_version
from scanner.model import (
    FAILURE_KINDS,
    Diagnosis,
    Evidence,
    Finding,
    FindingFile,
    Gap,
    Provenance,
    TimelineEntry,
    TimelineSource,
)
from scanner.pipeline import timeline
from scanner.report.scan_json import scan_to_dict, write_scan_json
from scanner.report.scan_text import print_scan
from scanner.timeline import Timeline

SCHEMAS = Path(__file__).parents[3] / "schemas"
SCHEMA = json.loads((SCHEMAS / "scan.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
KEYS = [
    "schema_version", "tool_version", "profiles_version", "scanned_at",
    "source", "system", "updates", "files", "timeline", "findings", "diagnosis", "gaps",
    "pending_renames", "software", "uninstall_folders", "facts", "components", "folders",
]  # fmt: skip
SECTIONS = [
    "Verdict", "Timeline strip", "Around the failure", "Findings", "Remediation", "Not checked / partly read",
]  # fmt: skip
RULE_IDS = [
    "files-below-service-pack", "hotfix-before-service-pack", "hotfix-files-regressed",
    "service-pack-install-incomplete", "reboot-pending", "package-state-broken", "branch-mix",
]  # fmt: skip
KB973917 = IMAGES / "kb973917-iis6.vhd"
HEALTHY = IMAGES / "healthy-2003-sp2.vmdk"
UTC = timezone.utc
SVCPACK_LINE_17 = datetime(2007, 6, 12, 2, 0, 9, tzinfo=UTC)
HOSTILE = "[bold]<script>alert(1)</script>[/] \x1b[31mred\x1b[0m\nforged: line \u202eevil"


def _section_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(line.startswith(s) for s in SECTIONS)]


def _errors(data: dict[str, object]) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in VALIDATOR.iter_errors(data)]


def _knowledge_ready() -> None:
    """scan and profiles check need the knowledge loader (issue 5, written concurrently)."""
    from scanner.knowledge.profiles import load_knowledge

    try:
        load_knowledge(None)
    except NotImplementedError:
        pytest.skip("scanner.knowledge.profiles.load_knowledge is not implemented yet")


# -- the CLI on the committed images -------------------------------------------------------------------------


def test_scan_json_to_output_file_follows_the_contract(tmp_path: Path) -> None:
    _knowledge_ready()
    written = tmp_path / "scan.json"
    result = CliRunner().invoke(cli, ["scan", str(KB973917), "--format", "json", "--output", str(written)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    data = json.loads(written.read_text(encoding="utf-8"))
    assert list(data) == KEYS
    assert _errors(data) == []
    assert data["schema_version"] == "1.4"
    assert data["tool_version"] == __version__ and data["profiles_version"] == profiles_version()
    scanned = datetime.fromisoformat(data["scanned_at"])
    assert scanned.utcoffset() == timedelta(0) and abs(datetime.now(UTC) - scanned) < timedelta(hours=1)
    assert data["system"]["hostname"] == "WEBSERVER01"
    assert {(e["kind"], e["subject"]) for e in data["timeline"]} >= {
        ("update", "KB973917"),
        ("rapid-fail-disable", "DefaultAppPool"),
    }
    # Warnings go to stderr, one unwrapped line per gap, the same gaps as the JSON's.
    warnings = result.stderr.splitlines()
    assert len(warnings) == len(data["gaps"]) >= 4
    assert all(line.startswith("patchmortem: warning: ") for line in warnings)
    damage = "WINDOWS\\system32\\LogFiles\\W3SVC1\\ex091209.log: 1 malformed line(s) skipped (first: line "
    assert [line for line in warnings if line.startswith("patchmortem: warning: " + damage)]


def test_scan_json_on_stdout_healthy_has_no_warning_finding() -> None:
    _knowledge_ready()
    result = CliRunner().invoke(cli, ["scan", str(HEALTHY), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == KEYS and _errors(data) == []
    assert data["system"]["hostname"] == "WEB-FRONT-07"
    assert [f["rule"] for f in data["findings"] if f["severity"] != "info"] == []  # scenario: no warning
    assert data["diagnosis"]["latent_cause"] is None and data["diagnosis"]["trigger"] is None


def test_scan_text_kb973917_sections_in_order_verbose() -> None:
    _knowledge_ready()
    result = CliRunner().invoke(cli, ["scan", str(KB973917), "--detail"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert all(len(line) <= 80 for line in out.splitlines())  # a pipe: wrapped at 80 columns
    assert out.startswith(
        "patchmortem post-mortem — Microsoft Windows Server 2003 Service Pack 2 x86, host\n"
    )
    assert [line.split(" ")[0] for line in _section_lines(out)] == [
        "Verdict", "Timeline", "Around", "Findings", "Remediation", "Not",
    ]  # fmt: skip
    # The five W3SVC 1009 deaths are one entry (first line greppable); -v lists each one's record under it.
    assert "\n2009-12-09 15:55:01Z  5 × worker-process-failure DefaultAppPool\n" in out
    flat = " ".join(out.split())  # the report's words, whatever the wrapping
    assert (
        "2009-12-09 15:55:01Z 5 × worker-process-failure DefaultAppPool 15:55:01–15:57:45 first: A process "
        "serving application pool 'DefaultAppPool' terminated unexpectedly (PID 3120, exit code 0xffffffff)"
    ) in flat
    assert flat.count("event: WINDOWS\\system32\\config\\SysEvent.Evt [record") >= 5
    gaps = flat[flat.index("Not checked / partly read") :]
    assert "• WINDOWS\\system32\\config\\SysEvent.Evt: 1 corrupt record(s) skipped (first at offset" in gaps
    assert result.stderr == ""  # text: the gaps are in the report, not repeated on stderr


def test_scan_text_healthy_sections_and_honest_verdict() -> None:
    _knowledge_ready()
    result = CliRunner().invoke(cli, ["scan", str(HEALTHY)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line for line in lines if line in SECTIONS or line.startswith(tuple(SECTIONS))][0] == "Verdict"
    verdict = lines[lines.index("Verdict") + 1]
    assert "no root cause found" in verdict.lower()
    assert [s.split(" ")[0] for s in _section_lines(result.stdout)] == [
        "Verdict", "Timeline", "Around", "Findings", "Remediation", "Not",
    ]  # fmt: skip


def test_scan_output_never_overwrites_the_evidence(tmp_path: Path) -> None:
    image = IMAGES / "q281402-dll-put-back.raw.001"
    before = hashlib.sha256(image.read_bytes()).hexdigest()
    for target in (image, IMAGES / "q281402-dll-put-back.raw.002"):
        result = CliRunner().invoke(cli, ["scan", str(image), "--format", "json", "--output", str(target)])
        assert result.exit_code == ExitCode.OUTPUT_ERROR == 8
        assert result.stderr.startswith("patchmortem: error: refusing to write")
        assert result.stderr.count("\n") == 1
    assert hashlib.sha256(image.read_bytes()).hexdigest() == before


def test_scan_unwritable_output_is_exit_8(tmp_path: Path) -> None:
    _knowledge_ready()
    target = tmp_path / "missing-dir" / "scan.json"
    result = CliRunner().invoke(cli, ["scan", str(KB973917), "--format", "json", "--output", str(target)])
    assert result.exit_code == 8 and "cannot write" in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("missing.vhd", None, ExitCode.SOURCE_NOT_FOUND),
        ("empty.img", b"", ExitCode.UNSUPPORTED_SOURCE),
        ("zero.img", bytes(1024 * 1024), ExitCode.NO_WINDOWS),
    ],
    ids=["missing", "empty", "all-zero"],
)
def test_scan_bad_source_is_one_line_and_its_code(
    tmp_path: Path, name: str, content: bytes | None, code: ExitCode
) -> None:
    _knowledge_ready()
    source = tmp_path / name
    if content is not None:
        source.write_bytes(content)
    result = CliRunner().invoke(cli, ["scan", str(source)])
    assert result.exit_code == code
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("patchmortem: error: ")
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_scan_rejects_an_unknown_format() -> None:
    result = CliRunner().invoke(cli, ["scan", str(KB973917), "--format", "pdf"])
    assert result.exit_code == ExitCode.USAGE


# -- the report's content, on a hand-built ScanResult --------------------------------------------------------


@pytest.fixture(scope="module")
def hand_built() -> ScanResult:
    """The real KB973917 inventory and timeline with hand-made findings, a diagnosis and hostile evidence."""
    inv, tl = timeline(KB973917)
    below = Finding(
        rule="files-below-service-pack",
        severity="warning",
        title="IIS 6.0 files below the Service Pack 2 baseline",
        summary="4 IIS 6.0 files are at SP1 level on a Service Pack 2 system.",
        files=(
            FindingFile(
                "WINDOWS\\system32\\inetsrv\\w3dt.dll",
                "6.0.3790.1830",
                "srv03_sp1_rtm.050324-1447",
                "6.0.3790.3959 (Service Pack 2 baseline)",
                "iis6",
            ),
        ),
        updates=("KB973917",),
        evidence=(
            Evidence(HOSTILE, Provenance("WINDOWS\\svcpack.log", "line 17"), SVCPACK_LINE_17),
            Evidence("backed-up files of [red]KB973917", Provenance("WINDOWS\\$NtUninstallKB973917$\\")),
        ),
        remediation=("Reinstall Windows Server 2003 Service Pack 2 [bold]now[/bold].",),
        confidence="high",
        attribution="service-pack-install-incomplete",
        details=(("attribution", "svcpack.log: 4 files not replaced"), ("service_pack", "2")),
    )
    branch = Finding(
        rule="branch-mix",
        severity="info",
        title="GDR and QFE builds mixed in IIS 6.0",
        summary="w3core.dll is GDR, the others baseline.",
        remediation=("Nothing urgent.",),
    )
    diagnosis = Diagnosis(
        failure_onset=datetime(2009, 12, 9, 15, 55, 1, tzinfo=UTC),
        trigger="KB973917",
        latent_cause="files-below-service-pack",
        summary="KB973917 exposed IIS 6.0 DLLs left at SP1 level by an incomplete SP2 install",
        remediation=("Reinstall Windows Server 2003 SP2; KB973917 does not need to be reinstalled.", HOSTILE),
        confidence="high",
        cause_attribution="service-pack-install-incomplete",
        last_good=datetime(2009, 12, 9, 15, 46, 52, tzinfo=UTC),
        trigger_at=datetime(2009, 12, 9, 15, 40, tzinfo=UTC),
        known_issue="KB2009746",
    )
    gaps = [*inv.gaps, *tl.gaps, Gap("rule hotfix-files-regressed", "no Filelist for " + HOSTILE)]
    return ScanResult(inv, tl, [branch, below], diagnosis, gaps)


def _render(result: ScanResult, verbose: int = 0) -> str:
    buffer = io.StringIO()
    print_scan(result, Console(file=buffer, width=240, no_color=True), verbose=verbose)
    return buffer.getvalue()


def test_report_prints_hostile_evidence_literally(hand_built: ScanResult) -> None:
    out = _render(hand_built)
    literal = "[bold]<script>alert(1)</script>[/] \\x1b[31mred\\x1b[0m\\x0aforged: line \\u202eevil"
    assert (
        "      WINDOWS\\svcpack.log [line 17]: " + literal + "  (2007-06-12 02:00:09 UTC)"
    ) in out.splitlines()
    assert "      WINDOWS\\$NtUninstallKB973917$\\: backed-up files of [red]KB973917" in out.splitlines()
    assert "  2. " + literal in out.splitlines()  # remediation
    assert "  • rule hotfix-files-regressed: no Filelist for " + literal in out.splitlines()
    assert "\x1b" not in out and "\u202e" not in out
    assert not any(line.startswith("forged") for line in out.splitlines())


def test_report_sections_verdict_and_findings(hand_built: ScanResult) -> None:
    out = _render(hand_built)
    lines = out.splitlines()
    assert lines[:2] == [
        "patchmortem post-mortem — Microsoft Windows Server 2003 Service Pack 2 x86, host WEBSERVER01 — "
        + str(KB973917),
        "All times are UTC.",
    ]
    assert [line.split(" ")[0] for line in _section_lines(out)] == [
        "Verdict", "Timeline", "Around", "Findings", "Remediation", "Not",
    ]  # fmt: skip
    verdict = out[out.index("Verdict\n") + 8 : out.index("\n\nTimeline strip")].replace("\n", " ")
    assert " ".join(verdict.split()) == (
        "KB973917 exposed IIS 6.0 DLLs left at SP1 level by an incomplete SP2 install. "
        "Failure onset: 2009-12-09 15:55:01 UTC (last good request 2009-12-09 15:46:52 UTC, 8 min before). "
        "Trigger: KB973917, installed 2009-12-09 15:40:00 UTC, 15 min before the onset. "
        "Latent cause: files-below-service-pack — IIS 6.0 files below the Service Pack 2 baseline "
        "(cause: service-pack-install-incomplete). Known issue: KB2009746. Confidence: high."
    )
    findings = lines[lines.index("Findings (2)") + 1 : lines.index("Remediation")]
    assert findings[:5] == [
        "  WARNING  files-below-service-pack  IIS 6.0 files below the Service Pack 2 baseline",  # before info
        "    4 IIS 6.0 files are at SP1 level on a Service Pack 2 system.",
        "    files:",
        "      WINDOWS\\system32\\inetsrv\\w3dt.dll  6.0.3790.1830 (srv03_sp1_rtm.050324-1447) "
        "-> 6.0.3790.3959 (Service Pack 2 baseline)",
        "    updates: KB973917",
    ]
    assert (
        "    confidence: high · attribution: service-pack-install-incomplete — "
        "svcpack.log: 4 files not replaced"
    ) in findings
    assert "  INFO  branch-mix  GDR and QFE builds mixed in IIS 6.0" in findings
    assert "    service_pack: 2" not in findings and "    service_pack: 2" in _render(hand_built, verbose=1)
    remediation = lines[lines.index("Remediation") + 1 : lines.index("Remediation") + 3]
    assert remediation[0] == (
        "  1. Reinstall Windows Server 2003 SP2; KB973917 does not need to be reinstalled."
    )


def test_verdict_does_not_repeat_what_the_summary_says(hand_built: ScanResult) -> None:
    """The lead's summary already gives onset, trigger (with its time) and known issue: not said twice."""
    d = hand_built.diagnosis
    summary = (
        "WEBSERVER01 failed at 2009-12-09 15:55:01Z, 15 min after KB973917 (2009-12-09 15:40:00Z); "
        "known issue KB2009746"
    )
    diagnosis = Diagnosis(
        d.failure_onset, d.trigger, d.latent_cause, summary, confidence="high", known_issue="KB2009746",
        trigger_at=d.trigger_at, symptom="sites answer 503",
    )  # fmt: skip
    out = _render(ScanResult(hand_built.inventory, hand_built.timeline, hand_built.findings, diagnosis, []))
    verdict = " ".join(out[out.index("Verdict\n") + 8 : out.index("\n\nTimeline strip")].split())
    assert verdict == (
        summary + ". Latent cause: files-below-service-pack — IIS 6.0 files below the Service Pack 2 "
        "baseline. Confidence: high."
    )


def test_report_window_around_the_failure(hand_built: ScanResult) -> None:
    lines = _render(hand_built).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Around the failure"))
    # one entry per record: a line that starts with its time (continuation lines hang under the kind)
    window = [line for line in lines[start + 1 : lines.index("Findings (2)") - 1] if not line.startswith(" ")]
    assert lines[start] == (
        "Around the failure — from the last servicing before KB973917 to the end (16 of 23 entries)"
    )
    # From KB958644 (the install before the trigger) to the end; the 5 W3SVC 1009 deaths collapsed into one.
    assert window[0].startswith("2008-10-24 07:30:00Z  hotfix                 KB958644  ")
    assert [line[:20] for line in window] == [
        "2008-10-24 07:30:00Z", "2008-10-24 07:36:00Z", "2009-12-07 05:00:15Z", "2009-12-08 00:02:40Z",
        "2009-12-09 00:02:41Z", "2009-12-09 15:40:00Z", "2009-12-09 15:46:52Z", "2009-12-09 15:55:01Z",
        "2009-12-09 15:55:01Z", "2009-12-09 15:55:01Z", "2009-12-09 15:55:01Z", "2009-12-09 15:58:26Z",
    ]  # fmt: skip
    # The failure episode (issue 14) starts at the onset; the first failure record carries the marker.
    assert window[7].startswith("2009-12-09 15:55:01Z  failure-episode        iis6  ")
    assert window[5].endswith("(15 source(s): event,file,log,registry)  ◀ trigger")
    assert window[6].endswith("(1 source(s): traffic)  ◀ last good request")
    assert window[10].startswith(
        "2009-12-09 15:55:01Z  5 × worker-process-failure DefaultAppPool 15:55:01–15:57:45  first: "
    )
    assert window[10].endswith("(5 source(s): event)  ◀ failure onset")


def _entry(at: datetime, kind: str, subject: str, summary: str = "") -> TimelineEntry:
    source = TimelineSource("event", at, "second", summary or kind, Provenance("WINDOWS\\x.evt", "record 1"))
    return TimelineEntry(at, "second", kind, subject, summary or f"{kind} {subject}", (source,))


def test_window_leaves_out_months_of_routine_and_splits_runs_at_a_boot(hand_built: ScanResult) -> None:
    """Hand-made timeline: 30 quiet days between two installs are counted, not listed; failures after a
    reboot are a new run; without a trigger the window starts 2 days before the onset."""
    onset = datetime(2009, 12, 9, 15, 55, tzinfo=UTC)
    entries = [
        _entry(datetime(2009, 1, 1, 12, 0, tzinfo=UTC), "hotfix", "KB1"),
        *(_entry(datetime(2009, 11, day, 0, 5, tzinfo=UTC), "traffic", "W3SVC1") for day in range(1, 31)),
        _entry(datetime(2009, 12, 9, 15, 40, tzinfo=UTC), "update", "KB2"),
        _entry(onset, "worker-process-failure", "Pool", "died 1"),
        _entry(datetime(2009, 12, 9, 15, 56, tzinfo=UTC), "worker-process-failure", "pool", "died 2"),
        _entry(datetime(2009, 12, 9, 16, 0, tzinfo=UTC), "reboot", "HOST"),
        _entry(datetime(2009, 12, 10, 9, 0, tzinfo=UTC), "worker-process-failure", "Pool", "died 3"),
    ]
    tl = Timeline(entries, [])
    with_trigger = Diagnosis(onset, "KB2", None, "x", trigger_at=datetime(2009, 12, 9, 15, 40, tzinfo=UTC))
    out = _render(ScanResult(hand_built.inventory, tl, [], with_trigger, []))
    window = out[out.index("Around the failure") : out.index("\n\nFindings")].splitlines()
    assert window == [
        "Around the failure — from the last servicing before KB2 to the end (6 of 36 entries)",
        "  (30 routine traffic/boot entries before the trigger left out; -vv shows them)",
        "2009-01-01 12:00:00Z  hotfix                 KB1  hotfix KB1  (1 source(s): event)",
        "2009-12-09 15:40:00Z  update                 KB2  update KB2  (1 source(s): event)  ◀ trigger",
        "2009-12-09 15:55:00Z  2 × worker-process-failure Pool 15:55:00–15:56:00  first: died 1  "
        "(2 source(s): event)  ◀ failure onset",
        "2009-12-09 16:00:00Z  reboot                 HOST  reboot HOST  (1 source(s): event)",
        "2009-12-10 09:00:00Z  worker-process-failure Pool  died 3  (1 source(s): event)",
    ]
    no_trigger = Diagnosis(onset, None, None, "Failing, cause unknown")
    unexplained = ScanResult(hand_built.inventory, tl, [], no_trigger, [])
    out = _render(unexplained)
    assert "Around the failure — from 2 days before the onset to the end (5 of 36 entries)\n" in out
    assert "\nNo root cause found. Failing, cause unknown. Failure onset: 2009-12-09 15:55:00 UTC.\n" in out
    assert "(36 of 36 entries)" in _render(unexplained, verbose=2)


def test_report_without_onset_shows_the_last_entries(hand_built: ScanResult) -> None:
    nothing = Diagnosis(None, None, None, "The evidence shows no failure")
    healthy = ScanResult(hand_built.inventory, hand_built.timeline, [], nothing, [])
    out = _render(healthy)
    # Issue 18: failures the diagnosis did not date: the verdict never says "no failure" above them.
    failures = sum(1 for e in hand_built.timeline.entries if e.kind in FAILURE_KINDS)
    assert failures and f"Verdict\nCould not tell: the timeline holds {failures} failure entries" in out
    assert "no failure" not in out[out.index("Verdict\n") : out.index("\n\nTimeline strip")].casefold()
    calm = [e for e in hand_built.timeline.entries if e.kind not in FAILURE_KINDS]
    quiet = ScanResult(hand_built.inventory, Timeline(calm, []), [], nothing, [])
    assert "Verdict\nNo root cause found. The evidence shows no failure.\n" in _render(quiet)
    assert "Around the failure — no failure onset: the last 15 entries (15 of 23 entries)" in out
    assert "  Nothing to do: no root cause found and no finding calls for a fix." in out
    assert "Not checked / partly read (0)\n  Nothing: every artefact the scan looks for was read" in out


def test_scan_json_of_a_hand_built_result(hand_built: ScanResult) -> None:
    data = scan_to_dict(hand_built)
    assert list(data) == KEYS and _errors(data) == []
    assert data["findings"][1]["evidence"][0] == {
        "says": HOSTILE,
        "at": "2007-06-12T02:00:09+00:00",
        "artifact": "WINDOWS\\svcpack.log",
        "locator": "line 17",
    }
    assert data["diagnosis"]["failure_onset"] == "2009-12-09T15:55:01+00:00"
    buffer = io.StringIO()
    write_scan_json(hand_built, buffer)
    written = json.loads(buffer.getvalue())
    assert written.pop("scanned_at") >= data.pop("scanned_at")  # made a moment later (second boundary)
    assert written == data
    data = scan_to_dict(hand_built)
    # The schema holds the contract: a non-UTC time, an unknown rule id or severity is refused.
    for path, bad in (
        (("diagnosis", "failure_onset"), "2009-12-09T10:55:01-05:00"),
        (("diagnosis", "latent_cause"), "files-below-sp"),
        (("findings", 0, "severity"), "error"),
        (("findings", 0, "rule"), "branch-mixed"),
    ):
        broken = json.loads(json.dumps(data))
        target = broken
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = bad
        assert _errors(broken), path


def test_write_scan_json_survives_lone_surrogates(hand_built: ScanResult) -> None:
    result = ScanResult(
        hand_built.inventory, hand_built.timeline, [], hand_built.diagnosis, [Gap("odd\udc80name", "reason")]
    )
    buffer = io.StringIO()
    write_scan_json(result, buffer)
    buffer.getvalue().encode("utf-8")  # writable as UTF-8
    assert json.loads(buffer.getvalue())["gaps"][0]["what"] == "odd\udc80name"
    assert "odd\\udc80name" in _render(result)


def test_scan_schema_copies_match_their_sources() -> None:
    """scan.schema.json copies the inventory and timeline-entry shapes; they must not drift apart."""
    inventory = json.loads((SCHEMAS / "inventory.schema.json").read_text())
    entry = json.loads((SCHEMAS / "timeline-entry.schema.json").read_text())
    defs = SCHEMA["$defs"]
    assert defs["timeline_entry"] == {k: v for k, v in entry.items() if k not in ("$schema", "$id")}
    assert defs["system"] == inventory["properties"]["system"]
    assert defs["update"] == inventory["properties"]["updates"]["items"]
    assert defs["file"] == inventory["properties"]["files"]["items"]
    assert defs["gap"] == inventory["properties"]["gaps"]["items"]
    assert defs["source"] == inventory["$defs"]["source"]
    assert defs["rule_id"]["enum"] == RULE_IDS
    meta = ("tool_version", "profiles_version", "scanned_at")  # 1.2: optional, so 1.1 files still validate
    assert SCHEMA["required"] == [k for k in KEYS[:12] if k not in meta]
    assert list(SCHEMA["properties"]) == KEYS


# -- profiles check ------------------------------------------------------------------------------------------


def test_profiles_check_shipped_profiles() -> None:
    _knowledge_ready()
    result = CliRunner().invoke(cli, ["profiles", "check"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"profiles in {default_profiles_dir()}: valid"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "operating systems", "components", "event meanings", "rules", "interactions", "update profiles",
        "episode thresholds", "time windows",
    ]  # fmt: skip
    assert lines[4].startswith("rules:               7  ")
    assert lines[-1] == "time windows:        2  file_install=15 min, component_install=120 min"
    assert set(lines[4].split(maxsplit=2)[2].split(", ")) == set(RULE_IDS)


def test_profiles_check_reports_every_error_with_file_and_line(tmp_path: Path) -> None:
    _knowledge_ready()
    profiles = tmp_path / "profiles"
    shutil.copytree(default_profiles_dir(), profiles)
    with (profiles / "components" / "iis6.toml").open("a", encoding="utf-8") as broken:
        broken.write("\n[[[ not toml\n")
    shutil.copy(profiles / "events" / "iis.toml", profiles / "events" / "iis-copy.toml")  # duplicate ids
    result = CliRunner().invoke(cli, ["profiles", "check", str(profiles)])
    assert result.exit_code == ExitCode.PROFILE_ERROR == 7
    lines = result.stderr.splitlines()
    assert len(lines) >= 2 and all(line.startswith("patchmortem: error: ") for line in lines)
    assert any("iis6.toml" in line for line in lines)
    assert any("iis-copy.toml" in line or "already defined" in line for line in lines)
    assert result.stdout == ""


def test_profiles_check_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["profiles", "check", str(tmp_path / "nope")])
    assert result.exit_code == ExitCode.USAGE
