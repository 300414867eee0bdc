"""Meta-test: data flows one way. A stage imports only itself and the stages below it (README "Architecture").

A module belongs to the stage of the longest matching entry in :data:`LAYERS`. It may import modules of its
own stage and of stages of a strictly LOWER rank. Stages that share a rank are siblings: neither may import
the other, in either direction. A plain ordering (every stage its own number, imports of equal-or-lower
allowed) would still let the later of two siblings borrow from the earlier (``diff`` -> ``report``,
``timeline`` -> ``collectors``); siblings on one rank make every sideways import fail.

Why each stage sits where it does (ranks from the bottom):

0. ``scanner`` (``__version__``) and ``errors`` (the ``ScannerError`` tree): the base every stage may raise
   or stamp with; they import nothing of ours.
1. ``formats``: byte parsers (regf logs, ``.evt``, ``.evtx``, PE version, VHD) that know nothing of the
   model; below it, so a parser that imports the model fails.
2. ``model``: the frozen values every stage shares, and the pure helpers on those values that the collectors
   and the timeline both use (``update_ids``: KB/Q ids and service-pack numbers; ``timerange``: the accepted
   time range; ``localtime``: a local time through the registry's zone rule).
3. ``evidence``: opens the source read-only and finds the system volume; reads bytes, knows no profile.
4. ``knowledge``: loads and checks ``profiles/``. The collectors are told what to look for by it
   (``collect(volume, knowledge)``), so it sits below them and owns the limits a profile may ask for.
5. ``collectors`` | ``timeline``: siblings. Collectors turn one volume's artefacts into facts; the timeline
   turns facts (model values) into one fused UTC timeline. The pipeline hands the one to the other; what
   both need (ids, time range, local time) lives in the model.
6. ``rules``: pure checks over facts, timeline and knowledge.
7. ``diagnose``: findings + timeline -> onset, trigger, cause; ``ScanResult`` is what every consumer reads.
8. ``render``: the presentation toolkit every consumer shares (run stamp, escaping templates and JSON writer,
   terminal text, the shared phrases), below them so that no consumer borrows from a sibling.
9. ``report`` | ``diff`` | ``repro`` | ``preflight`` | ``pipeline``: siblings. The four consumers read a
   scan (``diff`` its saved JSON, the others the verdict) and render it; none may import another. The
   pipeline runs open -> collect -> fuse -> rules -> diagnose; it renders nothing, and no consumer may start
   a scan (a report renders the result it is given).
10. ``fleet``: many servers; runs the pipeline per server and writes each server's reports and preflight.
11. ``cli``: the only place that exits; the command modules other packages keep (``preflight.command``,
    ``fleet.command``) belong to this stage (:data:`PART_OF`) because the CLI registers them and they use its
    options.
12. ``__main__``.

A module missing from the map fails the test, so a new stage must be placed deliberately.
"""

from __future__ import annotations

import ast
from pathlib import Path

import scanner

PACKAGE = Path(scanner.__file__).parent

# Lower rank = further upstream; equal rank = siblings that may not import each other.
# One entry per line (helpers edit their own lines concurrently).
LAYERS: dict[str, int] = {
    "scanner": 0,
    "scanner.errors": 0,
    "scanner.formats": 1,
    "scanner.model": 2,
    "scanner.evidence": 3,
    "scanner.knowledge": 4,
    "scanner.collectors": 5,
    "scanner.timeline": 5,
    "scanner.rules": 6,
    "scanner.diagnose": 7,
    "scanner.render": 8,
    "scanner.report": 9,
    "scanner.diff": 9,
    "scanner.repro": 9,
    "scanner.preflight": 9,
    "scanner.pipeline": 9,
    "scanner.fleet": 10,
    "scanner.cli": 11,
    "scanner.preflight.command": 11,  # a CLI command in its own module (registered by scanner.cli)
    "scanner.fleet.command": 11,  # a CLI command in its own module (registered by scanner.cli)
    "scanner.__main__": 12,
}
#: Modules that live in one package but belong to another stage (same rank as that stage, one entry per line).
PART_OF: dict[str, str] = {
    "scanner.preflight.command": "scanner.cli",
    "scanner.fleet.command": "scanner.cli",
}


def _stage(module: str) -> str:
    """The LAYERS entry ``module`` belongs to (the longest matching prefix, then :data:`PART_OF`)."""
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        key = ".".join(parts[:i])
        if key in LAYERS and (i > 1 or module == "scanner"):
            return PART_OF.get(key, key)
    raise AssertionError(f"{module} is not placed in a pipeline layer (tests/scanner/test_layers.py)")


def _allowed(importer: str, target: str) -> bool:
    """Whether ``importer`` may import ``target``: same stage, or a stage of strictly lower rank."""
    own, other = _stage(importer), _stage(target)
    return own == other or LAYERS[other] < LAYERS[own]


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        found.append((name, path))
    return found


def _imports(path: Path) -> list[str]:
    """Every ``scanner.*`` module ``path`` imports (module level or in a function); absolute imports only."""
    targets: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets.append(node.module)
        elif isinstance(node, ast.Import):
            targets.extend(alias.name for alias in node.names)
    return [t for t in targets if t.startswith("scanner.")]


def test_every_module_has_a_layer() -> None:
    for name, _ in _modules():
        _stage(name)


def test_no_relative_imports() -> None:
    """The stage check reads absolute imports; a relative one would slip past it."""
    relative = []
    for name, path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                relative.append(f"{name}: from {'.' * node.level}{node.module or ''} import ...")
    assert not relative, "\n".join(relative)


def test_stages_import_only_upstream() -> None:
    violations = [
        f"{name} ({_stage(name)}, rank {LAYERS[_stage(name)]}) imports {target} "
        f"({_stage(target)}, rank {LAYERS[_stage(target)]})"
        for name, path in _modules()
        for target in _imports(path)
        if not _allowed(name, target)
    ]
    assert not violations, "\n".join(violations)


def test_sideways_imports_are_refused() -> None:
    """The rule itself: the sideways imports this layout removed (issue 16 item 5) would fail again."""
    refused = [
        ("scanner.repro.plan", "scanner.report.sections"),
        ("scanner.diff.report_text", "scanner.report.text"),
        ("scanner.preflight.render", "scanner.report.meta"),
        ("scanner.timeline.observe", "scanner.collectors.localtime"),
        ("scanner.collectors.registry", "scanner.timeline.fuse"),
        ("scanner.knowledge.components", "scanner.collectors.folder_facts"),
        ("scanner.report.html", "scanner.pipeline"),
        ("scanner.pipeline", "scanner.report.scan_json"),
        ("scanner.formats.evtx", "scanner.model"),
    ]
    assert [pair for pair in refused if _allowed(*pair)] == []
    allowed = [
        ("scanner.repro.plan", "scanner.render.phrases"),
        ("scanner.timeline.observe", "scanner.model.localtime"),
        ("scanner.fleet.task", "scanner.report.html"),
        ("scanner.preflight.command", "scanner.cli"),
        ("scanner.cli", "scanner.preflight.command"),
    ]
    assert [pair for pair in allowed if not _allowed(*pair)] == []
def test_formats_import_no_other_scanner_package() -> None:
    """scanner/formats/ holds byte parsers that know nothing of the model or any stage (STYLE.md): they may
    import each other and third-party parsers only, so they can be fuzzed and reused alone."""
    found = []
    for name, path in _modules():
        if not name.startswith("scanner.formats"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                # formats/ is flat: one dot stays inside it, two leave it
                targets = [node.module or ""] if node.level == 0 else ["scanner.formats" if node.level == 1
                                                                      else "(relative import)"]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            for target in targets:
                outside = target == "(relative import)" or target.split(".")[0] == "scanner"
                if outside and not target.startswith("scanner.formats"):
                    found.append(f"{name} imports {target}")
    assert not found, "\n".join(found)
