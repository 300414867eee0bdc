"""Meta-test: data flows one way. A stage may import only the stages before it (README "Architecture").

The order is the pipeline's: shared definitions, evidence, collectors, facts/timeline, knowledge, rules,
diagnosis, reports, then the pipeline and the CLI that drive them. A module missing from the map fails the
test, so a new stage must be placed deliberately.
"""

from __future__ import annotations

import ast
from pathlib import Path

import scanner

PACKAGE = Path(scanner.__file__).parent

# Lower rank = further upstream. A module may import modules of equal or lower rank only.
LAYERS: dict[str, int] = {
    "scanner": 0,
    "scanner.__main__": 9,
    "scanner.errors": 0,
    "scanner.model": 0,
    "scanner.evidence": 1,
    "scanner.formats": 0,  # byte parsers: below evidence and collectors, which use them; import no stage
    "scanner.collectors": 2,
    "scanner.timeline": 3,
    "scanner.knowledge": 3,
    "scanner.rules": 4,
    "scanner.diagnose": 5,
    "scanner.report": 6,
    "scanner.diff": 6,
    "scanner.repro": 6,
    "scanner.preflight": 6,
    "scanner.preflight.command": 8,  # a CLI command in its own module (registered by scanner.cli)
    "scanner.pipeline": 7,
    "scanner.cli": 8,
    "scanner.fleet": 8,  # issue 17: drives the pipeline per server, like the CLI
}


def _layer(module: str) -> int:
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        rank = LAYERS.get(".".join(parts[:i]))
        if rank is not None and (i > 1 or module == "scanner"):
            return rank
    raise AssertionError(f"{module} is not placed in a pipeline layer (tests/scanner/test_layers.py)")


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        found.append((name, path))
    return found


def test_every_module_has_a_layer() -> None:
    for name, _ in _modules():
        _layer(name)


def test_stages_import_only_upstream() -> None:
    violations = []
    for name, path in _modules():
        own = _layer(name)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            for target in targets:
                if target.startswith("scanner") and target != "scanner" and _layer(target) > own:
                    violations.append(f"{name} (layer {own}) imports {target} (layer {_layer(target)})")
    assert not violations, "\n".join(violations)


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
