"""The file/install time windows: one definition, in profiles/windows.toml (issue 16 item 2)."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from scanner.errors import ProfileError
from scanner.knowledge.components import default_profiles_dir
from scanner.knowledge.profiles import load_knowledge
from scanner.knowledge.windows import COMPONENT_WINDOW, FILE_WINDOW, load_windows
from scanner.rules import baseline, qfecheck


def test_the_shipped_windows_and_every_stage_reads_the_same_value() -> None:
    assert (FILE_WINDOW, COMPONENT_WINDOW) == (timedelta(minutes=15), timedelta(hours=2))
    assert baseline.FILE_WINDOW is qfecheck.FILE_WINDOW is FILE_WINDOW
    assert baseline.COMPONENT_WINDOW is qfecheck.COMPONENT_WINDOW is COMPONENT_WINDOW


def test_a_broken_windows_file_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "windows.toml").write_text(
        '[file_install_minutes]\nvalue = "15"\nwhy = "x"\n\n'
        '[component_install_minutes]\nvalue = 0\nwhy = "y"\n',
        encoding="utf-8",
    )
    with pytest.raises(ProfileError) as raised:
        load_windows(tmp_path)
    message = str(raised.value)
    assert "windows.toml:2:" in message and "must be an integer" in message
    assert "windows.toml:6: [component_install_minutes] value must be 1..1440 minutes" in message


def test_a_missing_windows_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="windows.toml:1: missing"):
        load_windows(tmp_path)


def test_a_profile_folder_cannot_change_the_windows_every_run_uses(tmp_path: Path) -> None:
    """The windows are the shipped ones for every run: a copy of the profiles whose windows.toml says 20
    minutes is refused at its value's line (exit 7), not checked as valid and then silently not used."""
    folder = tmp_path / "profiles"
    shutil.copytree(default_profiles_dir(), folder)
    load_knowledge(folder)  # an unchanged copy loads
    path = folder / "windows.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("value = 15\n", "value = 20\n", 1), encoding="utf-8")
    line = next(
        n for n, row in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if row == "value = 20"
    )
    with pytest.raises(ProfileError) as raised:
        load_knowledge(folder)
    (problem,) = [p for p in raised.value.problems if p.file.endswith("windows.toml")]
    assert problem.line == line
    assert "value 20 differs from the shipped 15 minutes" in problem.message
