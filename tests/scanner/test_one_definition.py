"""Issue 16 item 2, "one place per decision": each decision is defined once, in the layer that owns it.

Before issue 16 the failure kinds were spelt out in five modules, the 15-minute file/install window in four,
the severity order in three, and "Service Pack N" was parsed by four regexes; a change to one silently
disagreed with the others. These tests parse every module of ``scanner/`` (``ast``, no imports run) and fail
when a decision is written again outside its owner:

- failure kinds: ``scanner/model/timeline.py`` FAILURE_EVENT_KINDS, FAILURE_KINDS, EPISODE_KIND;
- install / servicing kinds: ``scanner/model/timeline.py`` INSTALL_KINDS, SERVICING_KINDS;
- severity order and "serious": ``scanner/model/verdict.py`` SEVERITY_ORDER, severity_rank, at_least,
  is_serious;
- the file / component install windows: ``profiles/windows.toml``, read by ``scanner/knowledge/windows.py``;
- "Service Pack N" in a name: ``scanner/model/update_ids.py`` sp_number, sp_folder_level, names_service_pack;
- the NTFS lookup: ``scanner/evidence/ntfs.py`` (resolve, child, search, listing, times);
- FILETIME -> datetime (NTFS, EVTX, CBS install times): ``scanner/formats/filetime.py`` filetime.

Each check looks for the *shape* a re-definition takes (a literal collection of kind names, a comparison of
a ``severity`` with a severity name, a ``timedelta`` of a profile window's length, a regex naming a service
pack), so a style map keyed by kind (a colour per kind) or a single kind compared in passing is not flagged.
Presentation that happens to share a window's length is listed in :data:`NOT_A_WINDOW` with its reason, and
the test fails if such an entry goes stale.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

import scanner
from scanner.knowledge.windows import COMPONENT_WINDOW, FILE_WINDOW
from scanner.model import EPISODE_KIND, FAILURE_KINDS, INSTALL_KINDS, SEVERITY_ORDER

PACKAGE = Path(scanner.__file__).parent
ROOT = PACKAGE.parent


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"), str(path))


MODULES = list(_modules())


def _strings(node: ast.AST) -> list[str]:
    """The string constants directly inside a literal set / tuple / list."""
    if isinstance(node, ast.Set | ast.Tuple | ast.List):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def _literals(tree: ast.AST) -> Iterator[tuple[int, list[str]]]:
    for node in ast.walk(tree):
        if found := _strings(node):
            yield getattr(node, "lineno", 0), found


# -- kinds ---------------------------------------------------------------------------------------------------


def test_failure_kinds_are_listed_only_in_the_model() -> None:
    """A literal collection naming two or more failure kinds decides "what is a failure" again."""
    failure = FAILURE_KINDS | {EPISODE_KIND}
    found = [
        f"{name}:{line}: {sorted(failure & set(strings))}"
        for name, tree in MODULES
        if name != "scanner/model/timeline.py"
        for line, strings in _literals(tree)
        if len(failure & set(strings)) >= 2
    ]
    assert not found, (
        "failure kinds re-listed; use scanner.model.FAILURE_EVENT_KINDS / FAILURE_KINDS:\n" + "\n".join(found)
    )


def test_install_kinds_are_listed_only_in_the_model() -> None:
    """A literal collection holding every install kind is INSTALL_KINDS / SERVICING_KINDS written again (the
    diagnosis's trigger kinds, qfecheck's put-back kinds and the report's window were three copies)."""
    found = [
        f"{name}:{line}"
        for name, tree in MODULES
        if name != "scanner/model/timeline.py"
        for line, strings in _literals(tree)
        if INSTALL_KINDS <= set(strings)
    ]
    assert not found, f"install kinds re-listed; use scanner.model.INSTALL_KINDS / SERVICING_KINDS: {found}"


def test_the_checks_see_a_re_listing() -> None:
    """The checks above are not vacuous: the shapes they look for are found in a module that has them."""
    kinds = ast.parse('BAD = {"crash", "service-failure"}\nOK = {"crash": "red", "service-failure": "red"}')
    assert [len(s) for _, s in _literals(kinds)] == [2]
    compare = ast.parse('x = [f for f in fs if f.severity in ("critical", "warning")]')
    assert list(_severity_compares(compare))


# -- severity ------------------------------------------------------------------------------------------------


def _is_severity(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "severity") or (
        isinstance(node, ast.Name) and node.id == "severity"
    )


def _severity_compares(tree: ast.AST) -> Iterator[int]:
    """Comparisons of a ``severity`` with severity names, and ranks read from SEVERITY_ORDER by hand."""
    names = set(SEVERITY_ORDER)
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(_is_severity(n) for n in (node.left, *node.comparators)):
            others = [n for n in (node.left, *node.comparators) if not _is_severity(n)]
            said = {n.value for n in others if isinstance(n, ast.Constant)} | {
                s for n in others for s in _strings(n)
            }
            if said & names:
                yield node.lineno
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "get"
            and isinstance(node.value, ast.Name)
            and node.value.id == "SEVERITY_ORDER"
        ) or (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == "SEVERITY_ORDER"
        ):
            yield node.lineno


def test_severity_is_ranked_only_by_the_model() -> None:
    """``severity in ("critical", "warning")``, ``severity != "info"`` or ``SEVERITY_ORDER.get(s, 9)`` each
    re-derive "serious" or the rank; scanner.model's severity_rank / at_least / is_serious say it once."""
    found = [
        f"{name}:{line}"
        for name, tree in MODULES
        if name != "scanner/model/verdict.py"
        for line in _severity_compares(tree)
    ]
    assert not found, (
        f"severity compared by name; use scanner.model.is_serious / at_least / severity_rank: {found}"
    )


# -- time windows --------------------------------------------------------------------------------------------

#: (module, the function or constant a ``timedelta`` is in) -> why its length is not an attribution window.
NOT_A_WINDOW = {
    ("scanner/report/plot.py", "zoom_presets"): 'the "Failure hour" view ends 15 minutes after the onset',
    (
        "scanner/report/strip.py",
        "_AFTER_ONSET",
    ): "the strip runs on 2 hours past the onset to show its failures",
}
_UNITS = {"weeks", "days", "hours", "minutes", "seconds", "milliseconds", "microseconds"}


def _constant_timedelta(call: ast.Call) -> timedelta | None:
    if not (isinstance(call.func, ast.Name) and call.func.id == "timedelta") or call.args:
        return None
    values = {}
    for keyword in call.keywords:
        if keyword.arg not in _UNITS or not isinstance(keyword.value, ast.Constant):
            return None
        values[keyword.arg] = keyword.value.value
    return timedelta(**values)


def _timedeltas(tree: ast.Module) -> Iterator[tuple[str, int, timedelta]]:
    """Each constant ``timedelta(...)`` with the top-level function, class or constant it is in."""
    for top in tree.body:
        if isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            where = top.name
        elif isinstance(top, ast.Assign) and isinstance(top.targets[0], ast.Name):
            where = top.targets[0].id
        elif isinstance(top, ast.AnnAssign) and isinstance(top.target, ast.Name):
            where = top.target.id
        else:
            where = ""
        for node in ast.walk(top):
            if isinstance(node, ast.Call) and (length := _constant_timedelta(node)) is not None:
                yield where, node.lineno, length


def test_install_windows_come_only_from_the_profile() -> None:
    """A ``timedelta`` as long as the file/install (15 min) or component (2 h) window, outside
    knowledge/windows.py, is that window written again (fuse.py's SETUPAPI_WINDOW was one)."""
    windows = {FILE_WINDOW, COMPONENT_WINDOW}
    found, used = [], set()
    for name, tree in MODULES:
        if name == "scanner/knowledge/windows.py":
            continue
        for where, line, length in _timedeltas(tree):
            if length not in windows:
                continue
            if (name, where) in NOT_A_WINDOW:
                used.add((name, where))
            else:
                found.append(f"{name}:{line} ({where or 'module'}): {length}")
    assert not found, f"an install window written again; use scanner.knowledge.windows: {found}"
    assert used == set(NOT_A_WINDOW), f"stale NOT_A_WINDOW entries: {set(NOT_A_WINDOW) - used}"


# -- names, regexes, lookups ---------------------------------------------------------------------------------

_RE_CALLS = {"compile", "search", "match", "fullmatch", "findall", "finditer", "sub", "split"}
#: A pattern reading a service pack out of a name: "service pack" (a space or ``\s`` between) or SP<digits>.
_NAMES_SP = re.compile(r"(?i)service(?: |\\s[*+?]?)pack|SP\(\\d")


def test_service_packs_are_read_from_names_only_in_update_ids() -> None:
    """Four regexes once parsed "Service Pack N"; update_ids.py's sp_number / sp_folder_level /
    names_service_pack are the only ones left."""
    found = []
    for name, tree in MODULES:
        if name == "scanner/model/update_ids.py":
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _RE_CALLS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and _NAMES_SP.search(node.args[0].value)
            ):
                found.append(f"{name}:{node.lineno}: {node.args[0].value!r}")
    assert not found, f"a service-pack regex outside scanner/model/update_ids.py: {found}"


@pytest.mark.parametrize(
    ("function", "owner"),
    [
        ("branch_of", "scanner/knowledge/versions.py"),
        ("service_pack_of", "scanner/knowledge/versions.py"),
        ("sp_number", "scanner/model/update_ids.py"),
        ("sp_label", "scanner/model/update_ids.py"),
        ("entry_evidence", "scanner/rules/context.py"),
        ("sources_evidence", "scanner/rules/context.py"),
        ("component_levels", "scanner/rules/levels.py"),
        ("severity_rank", "scanner/model/verdict.py"),
        ("resolve", "scanner/evidence/ntfs.py"),
        ("child", "scanner/evidence/ntfs.py"),
        ("filetime", "scanner/formats/filetime.py"),
    ],
)
def test_decision_functions_are_defined_once(function: str, owner: str) -> None:
    """Two ``branch_of`` and two ``entry_evidence`` once disagreed; each such function has one module-level
    definition (a method of the same name, such as a log parser's ``resolve``, is another thing)."""
    defined = sorted(
        name
        for name, tree in MODULES
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == function
    )
    assert defined == [owner]


#: dissect.ntfs calls that walk the MFT: outside evidence/ntfs.py they would be a second NTFS lookup.
_MFT_WALKS = {"index_buffer", "mft", "attributes", "dereference"}


def test_the_mft_is_walked_only_by_evidence_ntfs() -> None:
    """collectors/volume.py once had its own NTFS lookup (with float times, 1 µs off), and
    collectors/folders.py dereferenced a ``$I30`` entry without the stale-record check; every collector now
    goes through scanner/evidence/ntfs.py (resolve, child, listing, times)."""
    found = [
        f"{name}:{node.lineno}: .{node.attr}"
        for name, tree in MODULES
        if name != "scanner/evidence/ntfs.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in _MFT_WALKS
    ]
    assert not found, f"the MFT read outside scanner/evidence/ntfs.py: {found}"
