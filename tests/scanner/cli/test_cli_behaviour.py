"""The command line as people use it (issue 15): options after the subcommand, ``--output -``, a page never
dumped on a terminal, inverted time windows, ``--fail-on``, broken pipes, clean piped text.

These run the real program in a subprocess where the behaviour depends on the process (a pipe, a terminal)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.factory.scenario import IMAGES_DIR as IMAGES
from scanner.cli import cli
from scanner.errors import ExitCode

KB973917 = IMAGES / "kb973917-iis6.vhd"
HEALTHY = IMAGES / "healthy-2003-sp2.vmdk"
ROOT = Path(__file__).parents[3]


def _run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "scanner", *args], env=env, cwd=ROOT, **kwargs)  # type: ignore[call-overload]


@pytest.mark.parametrize("flag", ["-q", "--quiet", "-v", "--verbose"])
def test_diagnostics_flags_are_accepted_after_the_subcommand(flag: str) -> None:
    result = CliRunner().invoke(cli, ["describe", str(KB973917), flag])
    assert result.exit_code == 0, result.output
    assert "Windows" in result.stdout


def test_scan_detail_is_not_the_diagnostics_flag() -> None:
    quiet = CliRunner().invoke(cli, ["scan", str(KB973917), "-q"])
    detailed = CliRunner().invoke(cli, ["scan", str(KB973917), "--detail"])
    assert quiet.exit_code == detailed.exit_code == 0
    assert quiet.stderr == ""
    # --detail adds each entry's sources; -q/-v never change the report itself.
    assert "event: WINDOWS\\system32\\config\\SysEvent.Evt [record" in detailed.stdout
    assert "event: WINDOWS\\system32\\config\\SysEvent.Evt [record" not in quiet.stdout


def test_output_dash_is_stdout() -> None:
    result = CliRunner().invoke(cli, ["timeline", str(KB973917), "--format", "jsonl", "--output", "-"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") > 10 and result.stdout.lstrip().startswith("{")


def test_html_to_a_terminal_is_refused_with_a_hint() -> None:
    leader, follower = pty.openpty()
    try:
        done = _run("scan", str(KB973917), "--format", "html", stdout=follower, stderr=subprocess.PIPE,
                    timeout=120)
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == ExitCode.USAGE
    assert b"--output report.html" in done.stderr


def test_unwritable_output_is_exit_8(tmp_path: Path) -> None:
    for target in ("/proc/version", "/proc/self/no-such-entry", str(tmp_path / "missing" / "dir" / "r.txt")):
        result = CliRunner().invoke(cli, ["timeline", str(KB973917), "--output", target])
        assert result.exit_code == ExitCode.OUTPUT_ERROR, (target, result.output)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_inverted_window_is_a_usage_error() -> None:
    window = ["--since", "2010-01-01", "--until", "2009-01-01"]
    result = CliRunner().invoke(cli, ["timeline", str(KB973917), *window])
    assert result.exit_code == ExitCode.USAGE
    assert "is after --until" in result.stderr


def test_fail_on_gives_exit_10_only_when_a_finding_reaches_the_level() -> None:
    failing = CliRunner().invoke(cli, ["scan", str(KB973917), "--format", "json", "--fail-on", "warning"])
    healthy = CliRunner().invoke(cli, ["scan", str(HEALTHY), "--format", "json", "--fail-on", "warning"])
    assert failing.exit_code == ExitCode.FINDINGS == 10
    assert failing.stdout.lstrip().startswith("{")  # the report is written first
    assert healthy.exit_code == 0, healthy.output


@pytest.mark.parametrize("command", ["timeline", "scan", "inventory"])
def test_a_closed_pipe_ends_quietly(command: str) -> None:
    shell = f"{sys.executable} -m scanner {command} {KB973917} | head -c 10 >/dev/null"
    shell += "; exit ${PIPESTATUS[0]}"
    done = subprocess.run(["bash", "-c", shell], env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                          stderr=subprocess.PIPE, timeout=120)
    assert done.returncode == ExitCode.BROKEN_PIPE == 141
    assert done.stderr == b""


def test_piped_text_has_no_trailing_spaces_and_wraps_at_80_columns() -> None:
    """Every text command on a pipe: no trailing spaces, no line over 80 characters, and each timeline entry's
    first line still carries its time, kind and subject (what a reader greps for)."""
    child = IMAGES / "snapshot-iis-rtm-child.avhd"
    for args in (["scan", KB973917], ["timeline", KB973917], ["inventory", KB973917], ["describe", child],
                 ["diff", child], ["scan", KB973917, "-dd"]):  # fmt: skip
        result = CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": None})
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert [n for n, line in enumerate(lines, 1) if line != line.rstrip()] == [], args
        assert [line for line in lines if len(line) > 80] == [], args
    timeline = CliRunner().invoke(cli, ["timeline", str(KB973917)], env={"COLUMNS": None}).stdout
    assert "\n2009-12-09 15:40:00Z  update                 KB973917  Update for Windows Server\n" in timeline


def test_columns_widens_piped_text() -> None:
    wide = CliRunner().invoke(cli, ["timeline", str(KB973917)], env={"COLUMNS": "200"}).stdout
    assert max(len(line) for line in wide.splitlines()) > 80
    assert "KB973917  Update for Windows Server 2003 (KB973917) installed  (15 source(s)" in wide
