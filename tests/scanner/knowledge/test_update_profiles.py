"""Update profiles (``profiles/updates/*.toml``): the shipped set loads with its facts, and every mistake a
user can make editing one is reported by ``profiles check`` as ``file:line: message`` (exit 7)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner.cli import cli
from scanner.errors import ExitCode, ProfileError
from scanner.knowledge.components import default_profiles_dir
from scanner.knowledge.profiles import load_knowledge
from scanner.knowledge.versions import FileVersion
from scanner.model.update_ids import normalise_update_id

KNOWLEDGE = load_knowledge()


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "profiles"
    shutil.copytree(default_profiles_dir(), target)
    return target


def _edit(path: Path, old: str, new: str) -> int:
    """Replace ``old`` once; return the 1-based line where ``new`` now starts."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return text[: text.index(new)].count("\n") + 1


def _errors(folder: Path) -> str:
    with pytest.raises(ProfileError) as caught:
        load_knowledge(folder)
    return str(caught.value)


def test_shipped_update_profiles() -> None:
    assert [u.id for u in KNOWLEDGE.updates] == ["KB917537", "KB942831", "KB958644", "KB973917", "Q811114"]
    for update in KNOWLEDGE.updates:
        assert normalise_update_id(update.id) == update.id and update.references and update.applies
        for entry in update.applies:
            assert entry.why and (entry.files or entry.files_note), (update.id, entry.os)
            assert all(f.why for f in entry.files)
    kb973917 = KNOWLEDGE.update("KB973917")
    assert kb973917 is not None and kb973917.components == ("iis6", "iis7")
    on_2003 = kb973917.for_os("windows-2003")
    assert on_2003 is not None and (on_2003.min_service_pack, on_2003.max_service_pack) == (2, 2)
    assert on_2003.files == () and "not confirmed" in on_2003.files_note  # never guessed
    ms08_005 = KNOWLEDGE.update("KB942831")
    assert ms08_005 is not None
    on_2000 = ms08_005.for_os("windows-2000")
    assert on_2000 is not None and on_2000.min_service_pack == 4
    assert [(f.path, f.version) for f in on_2000.files] == [
        ("system32\\inetsrv\\infocomm.dll", FileVersion(5, 0, 2195, 7147))
    ]
    assert KNOWLEDGE.update("KB999999") is None


def test_profiles_check_lists_update_profiles() -> None:
    result = CliRunner().invoke(cli, ["profiles", "check"])
    assert result.exit_code == 0
    assert "update profiles:     5  KB917537, KB942831, KB958644, KB973917, Q811114" in result.output


def test_profiles_check_catches_a_broken_update_profile(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    path = folder / "updates" / "kb942831.toml"
    id_line = _edit(path, 'id = "KB942831"', 'id = "kb942831"')
    os_line = _edit(path, 'os = "windows-xp"', 'os = "windows-xq"')
    comp_line = _edit(path, 'components = ["iis6"]', 'components = ["iis66"]')
    sp_line = _edit(path, "min_service_pack = 0\n", "min_service_pack = 7\n")
    version_line = _edit(path, '"7.0.6000.16576"', '"7.0.6000"')
    result = CliRunner().invoke(cli, ["profiles", "check", str(folder)])
    assert result.exit_code == ExitCode.PROFILE_ERROR == 7
    err = result.stderr
    assert f"{path}:{id_line}: id 'kb942831' is not normalised (write 'KB942831')" in err
    assert f"{path}:{os_line}: unknown OS profile 'windows-xq'" in err
    assert f"{path}:{comp_line}: unknown component 'iis66'" in err
    assert f"{path}:{sp_line}: windows-vista-2008 has no service-pack level 7" in err
    assert f"{path}:{version_line}: version '7.0.6000' is not major.minor.build.revision" in err


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('components = ["iis5"]\nmin_service_pack = 4\nmax_service_pack = 4\narchitectures',
         'components = ["iis6"]\nmin_service_pack = 4\nmax_service_pack = 4\narchitectures',
         "component 'iis6' does not apply to windows-2000"),
        ('architectures = ["x86"]', 'architectures = ["sparc"]', "unknown architecture(s) sparc"),
        ('service_pack = 0, branch = "gdr"', 'service_pack = 0, branch = "green"', "unknown branch 'green'"),
        ('min_service_pack = 2\nmax_service_pack = 2\nwhy = "MS08-005: IIS 5.1',
         'min_service_pack = 2\nmax_service_pack = 1\nwhy = "MS08-005: IIS 5.1',
         "max_service_pack 1 is below 2"),
        ('references = ["MS08-005"', 'supersedes = ["KB942831"]\nreferences = ["MS08-005"',
         "KB942831 cannot supersede itself"),
        ('title = "MS08-005', 'titel = "MS08-005', "unknown key 'titel' in update (did you mean 'title'?)"),
    ],
)
def test_update_profile_mistakes(tmp_path: Path, old: str, new: str, message: str) -> None:
    folder = _copy(tmp_path)
    path = folder / "updates" / "kb942831.toml"
    line = _edit(path, old, new)
    errors = _errors(folder)
    assert str(path) in errors and message in errors, errors
    assert any(f"{path}:" in part and message in part for part in errors.split("; ")), line


def test_duplicate_update_id_across_files(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    first = folder / "updates" / "kb973917.toml"
    shutil.copy(first, folder / "updates" / "zz-kb973917.toml")
    assert f"update id 'KB973917' already defined at {first}:" in _errors(folder)


def test_updates_folder_is_optional(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    shutil.rmtree(folder / "updates")
    assert load_knowledge(folder).updates == ()
