"""CLI behaviour a user sees: help on every command, version, one-line errors with documented exit codes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import scanner
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


# -- the CLI package's shape (issue 16): FORMATS per command, one progress helper, small modules -----------

CLI_PACKAGE = Path(scanner.__file__).resolve().parent / "cli"


def _format_choices(command: click.Command) -> list[str]:
    option = next(p for p in command.params if p.name == "fmt")
    return list(option.type.choices)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "name", ["describe", "inventory", "timeline", "scan", "diff", "repro", "preflight", "fleet"]
)
def test_format_choices_are_the_writers_of_the_command(name: str) -> None:
    """``--format`` offers exactly the keys of the command's FORMATS table, the first one the default."""
    import importlib

    command = cli.commands[name]
    module = importlib.import_module(command.callback.__module__)  # type: ignore[union-attr]
    assert _format_choices(command) == list(module.FORMATS), name
    assert next(p for p in command.params if p.name == "fmt").default == next(iter(module.FORMATS))


def test_one_progress_helper_and_no_format_chains() -> None:
    """The stderr console and spinner are made in scanner/cli/progress.py only; no command picks its writer
    by comparing the format name (``fmt == "json"``)."""
    scanner_dir = CLI_PACKAGE.parent
    for path in scanner_dir.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name != "progress.py" or path.parent != CLI_PACKAGE:
            assert "Console(stderr=True" not in text and ".status(" not in text, path
        if path.parent == CLI_PACKAGE or path.name == "command.py":
            assert not [f for f in ('"json"', '"md"', '"csv"') if f"fmt == {f}" in text], path


def test_cli_modules_stay_small() -> None:
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in CLI_PACKAGE.glob("*.py")}
    assert sizes and all(lines <= 350 for lines in sizes.values()), sizes


@pytest.mark.parametrize(
    "module", ["scanner.preflight.command", "scanner.fleet.command", "scanner.cli.options"]
)
def test_a_command_module_imports_first(module: str) -> None:
    """fleet and preflight import the CLI's shared options; importing either before scanner.cli is no cycle
    (the group registers its commands on first use of scanner.cli.cli)."""
    code = f"import {module}\nfrom scanner.cli import cli\nprint(sorted(cli.commands))\n"
    root = Path(scanner.__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=root,
                          env={**os.environ, "PYTHONPATH": str(root)}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "'fleet'" in proc.stdout and "'preflight'" in proc.stdout and "'scan'" in proc.stdout
