"""The knowledge profiles: the shipped set loads and resolves, and every kind of mistake a user can make
while editing one is reported as ``file:line: message`` — all of them at once, in one ProfileError.

Error tests edit a copy of profiles/ in tmp_path; the line each message must name is found in the edited
text so a reader can check it against the file.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from scanner.errors import ProfileError, ProfileProblem
from scanner.knowledge.components import default_profiles_dir, load_components
from scanner.knowledge.profiles import PLACEHOLDERS, RULE_IDS, load_knowledge, template_problems
from scanner.model import SystemFacts

SHIPPED = default_profiles_dir()
SCENARIOS = Path(__file__).resolve().parents[3] / "fixtures" / "scenarios"
KNOWLEDGE = load_knowledge()


def _system(version: str | None, build: int | None) -> SystemFacts:
    return SystemFacts(None, version, build, 0, None, None, None, None, None, None)


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "profiles"
    shutil.copytree(SHIPPED, target)
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


def _problems(folder: Path) -> tuple[ProfileProblem, ...]:
    with pytest.raises(ProfileError) as caught:
        load_knowledge(folder)
    return caught.value.problems


# -- the shipped profiles ------------------------------------------------------------------------------------


def test_shipped_profiles_load() -> None:
    assert [p.id for p in KNOWLEDGE.os_profiles] == [
        "nt4",
        "windows-10",
        "windows-2000",
        "windows-2003",
        "windows-7-2008r2",
        "windows-8-2012",
        "windows-81-2012r2",
        "windows-vista-2008",
        "windows-xp",
    ]
    assert sorted(c.id for c in KNOWLEDGE.components) == [
        "iis10", "iis4", "iis5", "iis51", "iis6", "iis7", "iis75", "iis8", "iis85", "os-core",
    ]
    assert {c.id: c.version_family for c in KNOWLEDGE.components if c.id.startswith("iis")} == {
        "iis4": "4.2", "iis5": "5.0", "iis51": "5.1", "iis6": "6.0",
        "iis7": "7.0", "iis75": "7.5", "iis8": "8.0", "iis85": "8.5", "iis10": "10.0",
    }
    assert len(KNOWLEDGE.events.meanings) > 0
    assert [i.id for i in KNOWLEDGE.interactions] == ["KB2009746", "Q281402"]
    assert all(f.why for c in KNOWLEDGE.components for f in c.files)


def test_rule_texts() -> None:
    assert {r.id: (r.severity, r.latent_rank) for r in KNOWLEDGE.rules} == {
        "hotfix-before-service-pack": ("warning", 10),
        "files-below-service-pack": ("warning", 20),
        "reboot-pending": ("warning", 30),
        "hotfix-files-regressed": ("warning", 40),
        "package-state-broken": ("warning", 50),
        "service-pack-install-incomplete": ("warning", 60),
        "branch-mix": ("info", 90),
    }
    assert {r.id for r in KNOWLEDGE.rules} == RULE_IDS
    text = KNOWLEDGE.rule("files-below-service-pack")
    path, line = text.source.rsplit(":", 1)
    assert text.remediation and text.why and path == str(SHIPPED / "rules.toml") and line.isdigit()
    with pytest.raises(KeyError):
        KNOWLEDGE.rule("no-such-rule")


def test_placeholders_are_exactly_the_documented_set() -> None:
    assert PLACEHOLDERS == {
        "product", "service_pack", "service_pack_package", "files", "updates", "component", "source",
        "trigger", "trigger_uninstall", "required_by", "service_pack_file", "trigger_package",
        "reinstall_order",
    }
    assert template_problems("Reinstall {service_pack} for {product}; literal {{braces}} are fine.") == []
    assert template_problems("{0} and {}")[0].startswith("unknown placeholder {0}")
    assert template_problems("a stray } brace")[0].startswith("malformed template")


def test_interactions_as_the_seeds_state_them() -> None:
    kb2009746, q281402 = KNOWLEDGE.interactions
    assert (kb2009746.triggers, kb2009746.components, kb2009746.conditions) == (
        ("KB973917",), ("iis6",), ("files-below-service-pack",),
    )
    assert "0xffffffff" in kb2009746.symptom and "1002" in kb2009746.symptom
    assert "reinstalling {trigger} should not be necessary" in kb2009746.remediation[1].text
    assert (q281402.triggers, q281402.components) == ((), ("iis4", "iis5"))
    assert q281402.conditions == ("hotfix-before-service-pack", "files-below-service-pack")
    assert len(q281402.remediation) == 5
    assert "-x" in q281402.remediation[0].text and "hotfix -y /m" in q281402.remediation[1].text
    assert KNOWLEDGE.interactions_for("kb973917", ["iis6"]) == (kb2009746,)
    assert KNOWLEDGE.interactions_for("KB942831", ["iis5", "os-core"]) == (q281402,)
    assert KNOWLEDGE.interactions_for("KB2463332", ["iis7"]) == ()


@pytest.mark.parametrize(
    ("scenario", "profile", "components"),
    [
        ("kb973917-iis6", "windows-2003", ["iis6", "os-core"]),
        ("healthy-2003-sp2", "windows-2003", ["iis6", "os-core"]),
        ("snapshot-iis-from-rtm-media", "windows-2003", ["iis6", "os-core"]),
        ("q281402-hotfix-before-sp", "windows-2000", ["iis5", "os-core"]),
        ("q281402-dll-put-back", "windows-2000", ["iis5", "os-core"]),
        ("cbs-2008-iis7-pending", "windows-vista-2008", ["iis7", "os-core"]),
        ("cbs-2012r2-dirty-hive", "windows-81-2012r2", ["iis85", "os-core"]),
    ],
)
def test_os_for_each_fixture(scenario: str, profile: str, components: list[str]) -> None:
    truth = tomllib.loads((SCENARIOS / f"{scenario}.toml").read_text(encoding="utf-8"))
    expected = truth["expected"]["system"]
    system = _system(expected["version"], expected["build"])
    found = KNOWLEDGE.os_for(system)
    assert found is not None and found.id == profile
    assert sorted(c.id for c in KNOWLEDGE.components_for(system)) == components


@pytest.mark.parametrize(
    ("version", "build", "profile"),
    [
        ("4.0.1381", 1381, "nt4"),
        ("5.1.2600", 2600, "windows-xp"),
        ("6.1.7601", 7601, "windows-7-2008r2"),
        ("6.2.9200", 9200, "windows-8-2012"),
        ("10.0.20348", 20348, "windows-10"),
        ("10.0.19045", 19045, "windows-10"),  # a build the profile does not list: CurrentVersion decides
        ("5.2", None, "windows-2003"),
        ("7.1.1", 1, None),
        (None, None, None),
    ],
)
def test_os_for(version: str | None, build: int | None, profile: str | None) -> None:
    found = KNOWLEDGE.os_for(_system(version, build))
    assert (found.id if found else None) == profile


def test_os_for_nothing() -> None:
    assert KNOWLEDGE.os_for(None) is None
    assert KNOWLEDGE.components_for(None) == ()


# -- errors, each with file:line -------------------------------------------------------------------------


def test_bad_toml(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    broken = folder / "os" / "broken.toml"
    broken.write_text('id = "broken"\ntitle = \nversions = ["9.9"]\n', encoding="utf-8")
    assert f"{broken}:2: TOML syntax error: Invalid value" in _errors(folder)


def test_unknown_key_is_a_typo(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    rules = folder / "rules.toml"
    line = _edit(rules, 'severity = "info"', 'severty = "info"')
    message = _errors(folder)
    assert f"{rules}:{line}: unknown key 'severty' in [[rule]] (did you mean 'severity'?)" in message
    header = rules.read_text(encoding="utf-8").splitlines()[: line].count("[[rule]]")
    assert header == 7  # the branch-mix table, the last one
    assert "is missing 'severity'" in message


def test_wrong_type(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    path = folder / "os" / "windows-2003.toml"
    line = _edit(path, "revision = 3959", 'revision = "3959"')
    assert f"{path}:{line}: 'revision' in [[service_pack]] must be an integer" in _errors(folder)


def test_duplicate_id_across_two_files(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    iis6, xp = folder / "components" / "iis6.toml", folder / "os" / "windows-xp.toml"
    shutil.copy(iis6, folder / "components" / "zz-iis6.toml")
    shutil.copy(xp, folder / "os" / "zz-windows-xp.toml")
    message = _errors(folder)
    copies = folder / "components" / "zz-iis6.toml", folder / "os" / "zz-windows-xp.toml"
    assert f"{copies[0]}:3: component id 'iis6' already defined at {iis6}:3" in message
    assert f"{copies[1]}:8: OS profile id 'windows-xp' already defined at {xp}:8" in message


def test_dangling_interaction_component(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    path = folder / "interactions" / "kb2009746.toml"
    line = _edit(path, 'components = ["iis6"]', 'components = ["iis66"]')
    assert f"{path}:{line}: unknown component 'iis66' (no components/*.toml)" in _errors(folder)


def test_unknown_rule_condition(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    path = folder / "interactions" / "q281402.toml"
    old = 'conditions = ["hotfix-before-service-pack", "files-below-service-pack"]'
    line = _edit(path, old, 'conditions = ["hotfix-before-service-pack", "files-below-servicepack"]')
    expected = f"{path}:{line}: unknown rule 'files-below-servicepack' in conditions (see rules.toml)"
    assert expected in _errors(folder)


def test_bad_placeholder(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    rules = folder / "rules.toml"
    tail = '",\n]\nlatent_rank = 60'
    line = _edit(rules, '"Restart the computer.' + tail, '"Restart the {computer}.' + tail)
    expected = f"{rules}:{line}: unknown placeholder {{computer}} in remediation (known: component, files,"
    assert expected in _errors(folder)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    rules = folder / "rules.toml"
    rank_line = _edit(rules, "latent_rank = 90", 'latent_rank = "90"')
    interaction = folder / "interactions" / "kb2009746.toml"
    trigger_line = _edit(interaction, 'triggers = ["KB973917"]', 'trigers = ["KB973917"]')
    component = folder / "components" / "iis51.toml"
    _edit(component, 'why = "FTP service" }', 'why = "FTP service", optionl = true }')
    message = _errors(folder)
    assert f"{rules}:{rank_line}: 'latent_rank' in [[rule]] must be an integer" in message
    typo = "unknown key 'trigers' in interaction (did you mean 'triggers'?)"
    assert f"{interaction}:{trigger_line}: {typo}" in message
    ftp_line = component.read_text(encoding="utf-8").splitlines().index(
        "  { path = 'system32\\inetsrv\\ftpsv251.dll', why = \"FTP service\", optionl = true },"
    ) + 1
    assert f"{component}:{ftp_line}: unknown key 'optionl' in files[3] (did you mean 'optional'?)" in message
    # A broken rule text is reported once, not again as a dangling condition of the interactions.
    assert "in conditions" not in message


def test_missing_rule_text(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    rules = folder / "rules.toml"
    text = rules.read_text(encoding="utf-8")
    rules.write_text(text[: text.rindex("[[rule]]")], encoding="utf-8")
    assert f"{rules}:1: no [[rule]] for 'branch-mix'" in _errors(folder)


def test_load_components_reports_file_and_line(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    path = folder / "components" / "iis6.toml"
    line = _edit(path, "{ path = 'system32\\inetsrv\\w3core.dll', why = \"request pipeline core\" }",
                 "{ path = 'system32\\inetsrv\\w3core.dll' }")
    with pytest.raises(ProfileError) as caught:
        load_components(folder)
    assert f"{path}:{line}: files[1] is missing 'why'" in str(caught.value)


def test_component_version_no_os_profile_has(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    path = folder / "components" / "iis51.toml"
    line = _edit(path, 'applies_to = { versions = ["5.1"] }', 'applies_to = { versions = ["5.3"] }')
    assert f"{path}:{line}: applies_to version '5.3' matches no os/*.toml profile" in _errors(folder)


def test_component_folders_shipped() -> None:
    folders = {c.id: [(f.path.lower(), f.depth, f.lookup_only) for f in c.folders]
               for c in KNOWLEDGE.components}  # fmt: skip
    assert folders.pop("os-core") == []  # system32 is named file by file: listing it would read thousands
    assert all(v == [("system32\\inetsrv", 0, False)] for v in folders.values()), folders
    assert all(f.why for c in KNOWLEDGE.components for f in c.folders)


INETSRV = "path = 'system32\\inetsrv', why = \"x\""


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (f"{{ {INETSRV}, depth = 9 }}", "depth of folder 'system32\\\\inetsrv' must be 0..3"),
        (f"{{ {INETSRV}, depth = -1 }}", "must be 0..3 (bounded listing)"),
        ("{ path = '..\\system32', why = \"x\" }", "folder '..\\\\system32' must be a path below"),
        ("{ path = 'C:\\inetpub', why = \"x\" }", "must be a path below %SystemRoot%"),
        ("{ path = 'system32', why = \"x\", lookup_only = true, depth = 1 }", "is never listed, so it takes"),
        (f"{{ {INETSRV} }}, {{ path = 'SYSTEM32\\inetsrv', why = \"y\" }}", "listed twice"),
        ("{ path = 'system32\\inetsrv' }", "folders[0] is missing 'why'"),
        (f"{{ {INETSRV}, recurse = true }}", "unknown key 'recurse' in folders[0]"),
    ],
)  # fmt: skip
def test_component_folder_errors_name_file_and_line(tmp_path: Path, entry: str, message: str) -> None:
    folder = _copy(tmp_path)
    path = folder / "components" / "iis6.toml"
    text = path.read_text(encoding="utf-8")
    old = next(line for line in text.splitlines() if line.startswith("folders = "))
    line = _edit(path, old, f"folders = [{entry}]")
    with pytest.raises(ProfileError) as caught:
        load_components(folder)
    assert f"{path}:{line}: " in str(caught.value) and message in str(caught.value)


# -- ProfileError keeps its problems typed, one by one (issue 16) --------------------------------------------


def test_problems_are_typed_one_by_one(tmp_path: Path) -> None:
    """Every problem of every loader (events included, which raises its own ProfileError) is one
    ProfileProblem with its file and line; str() of the error is still all of them, "; "-joined."""
    folder = _copy(tmp_path)
    components = folder / "components" / "iis6.toml"
    with components.open("a", encoding="utf-8") as broken:
        broken.write("\n[[[ not toml\n")
    shutil.copy(folder / "events" / "iis.toml", folder / "events" / "iis-copy.toml")  # duplicate ids
    problems = _problems(folder)
    assert all(isinstance(p, ProfileProblem) for p in problems)
    syntax = [p for p in problems if p.file == str(components)]
    assert len(syntax) == 1 and syntax[0].line == len(components.read_text().splitlines())
    assert syntax[0].message.startswith("TOML syntax error")
    duplicates = [p for p in problems if p.file == str(folder / "events" / "iis.toml")]
    assert len(duplicates) > 1 and all("already defined" in p.message and p.line for p in duplicates)
    assert all("; " not in p.message for p in duplicates)
    with pytest.raises(ProfileError) as caught:
        load_knowledge(folder)
    assert str(caught.value) == "; ".join(str(p) for p in problems)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("/p/rules.toml:12: severity must be one of a, b",
         ProfileProblem("/p/rules.toml", 12, "severity must be one of a, b")),
        ("C:\\p\\os\\x.toml:3: bad: value", ProfileProblem("C:\\p\\os\\x.toml", 3, "bad: value")),
        ("/p/events/a.toml: id 'x' already defined at /p/b.toml:6",
         ProfileProblem("/p/events/a.toml", None, "id 'x' already defined at /p/b.toml:6")),
        ("no place at all", ProfileProblem("", None, "no place at all")),
    ],
)  # fmt: skip
def test_a_located_problem_reads_back_unchanged(text: str, problem: ProfileProblem) -> None:
    assert ProfileProblem.from_located(text) == problem
    assert str(problem) == text


def test_profile_error_survives_pickling() -> None:
    """Fleet workers send errors across processes: the problems arrive one by one, not re-joined."""
    import pickle

    error = ProfileError([ProfileProblem("/a.toml", 1, "x; y"), "/b.toml:2: z"])
    again = pickle.loads(pickle.dumps(error))
    assert again.problems == error.problems and str(again) == "/a.toml:1: x; y; /b.toml:2: z"
