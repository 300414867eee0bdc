"""CLI behaviour a user sees: help on every command, version, one-line errors with documented exit codes."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from fixtures.factory.scenario import IMAGES_DIR as IMAGES
from scanner import __version__
from scanner.cli import cli
from scanner.errors import ExitCode


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, prefix + (name,))
        else:
            found.append(prefix + (name,))
    return found


@pytest.mark.parametrize("path", _commands(cli), ids=lambda p: " ".join(p) or "patchmortem")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    command = cli
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    assert command.help and len(command.help.strip()) > 20, f"{path} needs a real help text"


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_verbose_and_quiet_are_accepted() -> None:
    for flag in ("--verbose", "-v", "--quiet", "-q"):
        assert CliRunner().invoke(cli, [flag, "--help"]).exit_code == 0


def test_missing_source_is_one_line_and_exit_code_3(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["describe", str(tmp_path / "nope.vhd")])
    assert result.exit_code == ExitCode.SOURCE_NOT_FOUND == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("patchmortem: error:")
    assert "Traceback" not in result.output


def test_empty_file_is_unsupported(tmp_path: Path) -> None:
    empty = tmp_path / "empty.img"
    empty.write_bytes(b"")
    result = CliRunner().invoke(cli, ["describe", str(empty)])
    assert result.exit_code == ExitCode.UNSUPPORTED_SOURCE
    assert len(result.stderr.strip().splitlines()) == 1


def test_all_zero_disk_has_no_windows(tmp_path: Path) -> None:
    zero = tmp_path / "zero.img"
    zero.write_bytes(bytes(1024 * 1024))
    result = CliRunner().invoke(cli, ["describe", str(zero)])
    assert result.exit_code == ExitCode.NO_WINDOWS
    assert "blank disk" in result.stderr


def test_usage_error_exit_code() -> None:
    result = CliRunner().invoke(cli, ["describe"])
    assert result.exit_code == ExitCode.USAGE


def test_python_dash_m_entry_point() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "scanner", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0 and __version__ in proc.stdout


def test_timeline_output_never_overwrites_the_evidence(tmp_path: Path) -> None:
    """--output naming the image (or a segment of it) is refused before anything is opened for writing."""
    image = IMAGES / "q281402-dll-put-back.raw.001"
    before = hashlib.sha256(image.read_bytes()).hexdigest()
    for target in (image, IMAGES / "q281402-dll-put-back.raw.002"):
        result = CliRunner().invoke(cli, ["timeline", str(image), "--format", "csv", "--output", str(target)])
        assert result.exit_code == 8 and "refusing to write" in result.stderr
    assert hashlib.sha256(image.read_bytes()).hexdigest() == before
    unwritable = tmp_path / "missing-dir" / "t.csv"
    result = CliRunner().invoke(cli, ["timeline", str(image), "--format", "csv", "--output", str(unwritable)])
    assert result.exit_code == 8 and result.stderr.count("\n") == 1 and "cannot write" in result.stderr
    written = tmp_path / "timeline.csv"
    result = CliRunner().invoke(cli, ["timeline", str(image), "--format", "csv", "--output", str(written)])
    assert result.exit_code == 0 and written.read_text().startswith("at,precision,end,kind")
