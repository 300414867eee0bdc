"""Meta-test: tests/scanner/ mirrors scanner/, so a reader finds a module's tests by the module's path.

Each folder under tests/scanner/ is named after a subpackage of scanner/ (or a top-level module, such as
``pipeline``) and holds the tests whose main subject lives there. ``e2e`` is the one exception: the
cross-cutting end-to-end tests (every scenario's verdict and golden report, bad input, damaged images) whose
subject is the whole scanner. The tests about the package as a whole (:data:`META_TESTS`) stay at the top.
"""

from __future__ import annotations

from pathlib import Path

import scanner

PACKAGE = Path(scanner.__file__).parent
TESTS = Path(__file__).parent
#: Folders that are not a subpackage on purpose.
CROSS_CUTTING = frozenset({"e2e"})
#: Tests about the whole package (imports, layout, prose, one definition per decision), at the top.
META_TESTS = frozenset(
    {"test_layers.py", "test_mirror.py", "test_no_prose_branches.py", "test_one_definition.py"}
)


def _folders() -> list[Path]:
    return sorted(p for p in TESTS.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))


def _in_scanner(name: str) -> bool:
    return (PACKAGE / name / "__init__.py").is_file() or (PACKAGE / f"{name}.py").is_file()


def test_every_test_folder_names_a_scanner_subpackage() -> None:
    stray = [p.name for p in _folders() if p.name not in CROSS_CUTTING and not _in_scanner(p.name)]
    assert not stray, f"tests/scanner/ folders with no scanner subpackage of that name: {stray}"


def test_every_test_folder_is_a_package() -> None:
    """Without ``__init__.py`` two folders' ``test_x.py`` would clash, and ``tests.scanner.<pkg>`` helpers
    (counting, browser, evtx_dissect) could not be imported."""
    missing = [p.name for p in _folders() if not (p / "__init__.py").is_file()]
    assert not missing, f"tests/scanner/ folders without __init__.py: {missing}"


def test_only_meta_tests_at_the_top() -> None:
    """A test of one subpackage belongs in its folder; the top keeps the tests about the whole package."""
    stray = sorted(p.name for p in TESTS.glob("test_*.py") if p.name not in META_TESTS)
    assert not stray, f"move into the folder of the subpackage they test: {stray}"
