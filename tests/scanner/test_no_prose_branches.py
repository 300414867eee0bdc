"""Meta-test: no decision reads the text written for people (issue 16 item 1, STYLE.md "Facts are typed").

``says``, ``summary``, ``note``, ``details`` and ``text`` (and ``LogEvent.detail(...)``) exist to be read by a
person. Code may print them — f-strings, joins, report rendering — but a decision must read a typed field:
this test parses every module of ``scanner/`` and fails when one of those names is read inside

- the test of an ``if`` / ``while`` / conditional expression, or a comprehension's filter,
- a comparison (``==``, ``in``, ``not in``, ``<``...),
- ``.startswith / .endswith / .split / .find`` (and their kin) called on it,
- a ``re.*`` call or a compiled pattern's ``.match / .search / .sub...`` given it,
- ``int()`` / ``float()`` of it.

One rendering shape is not a decision and is allowed: ``f" ({x.note})" if x.note else ""`` — a conditional
whose test is the very text its f-string prints and whose other branch is an empty string or None (print
the note when there is one).

``ALLOWED`` lists the offenders other helpers remove in this same session (issue 16), each with its file, a
fragment of its line and why it is there; the integrator empties it after the merge. An entry that no longer
matches anything fails, so the list only shrinks.
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

_RAW = "raw log line (Line.text): the parser's input, not people text"

#: (file under scanner/, fragment of the offending line, why it is tolerated until the merge). A fragment of
#: the line rather than its number: the eight branches of this session move lines; the fragment survives.
ALLOWED: tuple[tuple[str, str, str], ...] = (
    # helper "clock" (issue 16 item 1: anchor, event reference, last-success marker, package state)
    ("timeline/observe.py", '"InstallTime" in claim.says', "clock: typed anchor on SourceTime"),
    ("timeline/observe.py", 'claim.says.startswith("install folder")', "clock: typed anchor on SourceTime"),
    ("timeline/fuse.py", 'o.source.type == "registry" and o.summary', "clock: entry title, typed"),
    ("timeline/fuse.py", "o.summary for o in obs if o.summary", "clock: entry summary from typed fields"),
    ("timeline/observe_events.py", "_MARKS.sub(", "clock: template marks stripped from rendered text"),
    ("repro/plan.py", "_EVENT_SAYS.match(source.says)", "clock: TimelineSource.event (provider, id, record)"),
    (
        "diagnose/onset.py",
        'dict(entry.details).get("what") == "last-success"',
        "clock adds the typed last-success marker on traffic entries (its brief item 4); onset reads it",
    ),
    (
        "diagnose/onset.py",
        'dict(entry.details).get("state", "installed")',
        "clock adds the typed package state on package-state-change entries (its brief, item 4)",
    ),
    # helper "codec": the generic codec's omit-when-empty replaces the hand-written to_dict
    ("model/facts.py", "if self.note:", "codec: Provenance.note omitted when empty (field metadata)"),
    # collectors/logs: the raw line a parser reads (collectors.logs.Line.text) is the artefact's input, not
    # people text; helpers "formats"/"pipeline" own these files — renaming Line.text to Line.raw ends these.
    ("collectors/logs/__init__.py", "elif line.text.strip():", _RAW),
    ("collectors/logs/setuplogs.py", "_OC.match(line.text.strip())", _RAW),
    ("collectors/logs/setuplogs.py", "elif line.text.strip():", _RAW),
    (
        "collectors/logs/setuplogs.py",
        '"program" not in run.details',
        "a session draft's own details dict being filled (pipeline/formats: a typed draft field)",
    ),
    ("collectors/logs/updateexe.py", "line.text.split(", _RAW),
    ("collectors/logs/updateexe.py", "_OFFSET.match(line.text)", _RAW),
    ("collectors/logs/updateexe.py", "_STAMP.match(line.text.strip())", _RAW),
    ("collectors/logs/windowsupdate.py", "_LINE.match(line.text)", _RAW),
)


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


def _tests(node: ast.AST) -> Iterator[tuple[str, ast.expr]]:
    """The sub-expressions of ``node`` that decide something, with what kind of decision."""
    if isinstance(node, ast.IfExp) and not _optional_text(node):
        yield "condition", node.test
    elif isinstance(node, ast.If | ast.While):
        yield "condition", node.test
    elif isinstance(node, ast.comprehension):
        for test in node.ifs:
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
    ],
)
def test_the_checker_lets_rendering_pass(code: str) -> None:
    assert not prose_branches(code), code
