"""Meta-test: no decision reads the text written for people (issue 16 item 1, STYLE.md "Facts are typed").

``says``, ``summary``, ``note``, ``details`` and ``text`` (and ``LogEvent.detail(...)``) exist to be read by a
person. Code may print them — f-strings, joins, report rendering — but a decision must read a typed field:
this test parses every module of ``scanner/`` and fails when one of those names is read inside

- the test of an ``if`` / ``while`` / conditional expression, or a comprehension's filter,
- a comparison (``==``, ``in``, ``not in``, ``<``...),
- ``.startswith / .endswith / .split / .find`` (and their kin) called on it,
- a ``re.*`` call or a compiled pattern's ``.match / .search / .sub...`` given it,
- ``int()`` / ``float()`` of it.

Two rendering shapes are not decisions and are allowed: ``f" ({x.note})" if x.note else ""`` — a
conditional whose test is the very text its f-string prints and whose other branch is an empty string or
None (print the note when there is one); and ``[o.summary for o in obs if o.summary and o.role != "file"]``
— a comprehension that yields a text and filters on that same text being non-empty (the other conditions,
here ``o.role``, are still checked): choosing which non-empty text to print.

``ALLOWED`` is empty: it listed the offenders the helpers of issue 16 removed in the same session (each with
its file, a fragment of its line and why), and the merge emptied it. An entry that no longer matches
anything fails, so the list can only shrink; a new entry needs a reason a reviewer accepts.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import scanner

PACKAGE = Path(scanner.__file__).parent
PROSE = frozenset({"says", "summary", "note", "details", "text"})
TEXT_METHODS = frozenset(
    {"startswith", "endswith", "split", "rsplit", "find", "rfind", "index", "rindex", "partition"}
    | {"rpartition"}
)
PATTERN_METHODS = frozenset({"match", "search", "fullmatch", "findall", "finditer", "sub", "subn"})

#: (file under scanner/, fragment of the offending line, why it is tolerated): a fragment, not a line number,
#: so an entry survives edits around it.
ALLOWED: tuple[tuple[str, str, str], ...] = ()


def _reads_prose(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr in PROSE:
            return True
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr == "detail":
            return True
    return False


def _optional_text(node: ast.IfExp) -> bool:
    """``f"... {x.note} ..." if x.note else ""``: printing a text when there is one, not a decision."""
    empty = isinstance(node.orelse, ast.Constant) and node.orelse.value in ("", None)
    if not empty or not isinstance(node.body, ast.JoinedStr):
        return False
    shown = {ast.dump(v.value) for v in node.body.values if isinstance(v, ast.FormattedValue)}
    return ast.dump(node.test) in shown


def _and_operands(test: ast.expr) -> list[ast.expr]:
    """``a and b and c`` -> [a, b, c]; any other test -> [test]."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return [part for value in test.values for part in _and_operands(value)]
    return [test]


def _tests(node: ast.AST) -> Iterator[tuple[str, ast.expr]]:
    """The sub-expressions of ``node`` that decide something, with what kind of decision."""
    if isinstance(node, ast.IfExp) and not _optional_text(node):
        yield "condition", node.test
    elif isinstance(node, ast.If | ast.While):
        yield "condition", node.test
    elif isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp):
        shown = ast.dump(node.elt)
        for generator in node.generators:
            for test in generator.ifs:
                for operand in _and_operands(test):
                    if ast.dump(operand) != shown:  # filtering on the text it prints: see above
                        yield "comprehension filter", operand
    elif isinstance(node, ast.DictComp):
        for generator in node.generators:
            for test in generator.ifs:
                yield "comprehension filter", test
    elif isinstance(node, ast.Compare):
        for operand in (node.left, *node.comparators):
            yield "comparison", operand
    elif isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute):
            if func.attr in TEXT_METHODS:
                yield f".{func.attr}()", func.value
            if isinstance(func.value, ast.Name) and func.value.id == "re":
                for arg in node.args:
                    yield f"re.{func.attr}()", arg
            elif func.attr in PATTERN_METHODS:
                for arg in node.args:
                    yield f".{func.attr}()", arg
        elif isinstance(func, ast.Name) and func.id in ("int", "float"):
            for arg in node.args:
                yield f"{func.id}()", arg


def prose_branches(source: str) -> list[tuple[int, str]]:
    """(line, kind of decision) for every decision that reads people text in ``source``."""
    found: set[tuple[int, str]] = set()
    for node in ast.walk(ast.parse(source)):
        for what, expr in _tests(node):
            if _reads_prose(expr):
                found.add((getattr(node, "lineno", expr.lineno), what))
    return sorted(found)


def _offences() -> list[tuple[str, int, str, str]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        rel = path.relative_to(PACKAGE).as_posix()
        for line, what in prose_branches(text):
            out.append((rel, line, what, lines[line - 1].strip()))
    return out


def _allowed(rel: str, code: str) -> tuple[str, str, str] | None:
    return next((a for a in ALLOWED if a[0] == rel and a[1] in code), None)


def test_no_decision_reads_people_text() -> None:
    bad = [
        f"scanner/{rel}:{line}: {what}: {code}"
        for rel, line, what, code in _offences()
        if not _allowed(rel, code)
    ]
    assert not bad, "decisions must read typed fields, not says/summary/note/details/text:\n" + "\n".join(bad)


def test_every_allowed_offender_still_exists() -> None:
    """Fixed offenders leave the list: an entry that matches nothing is stale."""
    used = {_allowed(rel, code) for rel, _, _, code in _offences()}
    stale = [
        f"{rel}: {fragment!r} ({why})" for rel, fragment, why in ALLOWED if (rel, fragment, why) not in used
    ]
    assert not stale, "remove from ALLOWED (fixed):\n" + "\n".join(stale)


@pytest.mark.parametrize(
    "code",
    [
        "if claim.says.startswith('install folder'): pass",
        "x = 'InstallTime' in claim.says",
        "x = [e for e in entries if e.summary]",
        "n = int(dict(entry.details).get('errors', '0'))",
        "n = int(entry.details['errors'])",
        "m = re.match(r'SP(\\d)', entry.summary)",
        "m = _PATTERN.search(source.says)",
        "ok = line.detail('state') == 'installed'",
        "x = parts if entry.text.split(' installed')[0] else None",
        "while dict(x.details).get('more'): pass",
        "x = 'a' if source.note else 'b'",
        "x = [o.summary for o in obs if o.says]",
        "x = [o.summary for o in obs if o.summary and 'KB' in o.says]",
        "x = {o.at: o for o in obs if o.summary}",
    ],
)
def test_the_checker_catches(code: str) -> None:
    assert prose_branches(code), code


@pytest.mark.parametrize(
    "code",
    [
        "x = f'{entry.subject}: {entry.summary}'",
        "x = ', '.join(s.says for s in entry.sources)",
        "x = f' ({source.note})' if source.note else ''",
        "x = dict(entry.details).get('os') or 'unknown'",
        "Evidence(line.text, line.source, line.at)",
        "if entry.sp_level is not None and entry.outcome.result == 'failed': pass",
        "x = [o.summary for o in obs if o.source.type == 'registry' and o.summary]",
        "x = next((o.summary for o in obs if o.summary and o.role != 'file'), subject)",
    ],
)
def test_the_checker_lets_rendering_pass(code: str) -> None:
    assert not prose_branches(code), code
