"""The pipeline (issue 16): profiles read once per run, the collectors in one ordered tuple, one Facts value.

Reads of profiles/ are counted at ``tomllib.loads`` (every profile goes through it), so the tests say how
much work was done, never how long it took.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.factory.scenario import IMAGES_DIR
from scanner import pipeline
from scanner.collectors.chain import COLLECTORS, INVENTORY_COLLECTORS, LOG_COLLECTORS
from scanner.knowledge.profiles import load_knowledge
from scanner.model import Gap, Provenance
from scanner.model.facts_bundle import Facts
from scanner.report.inventory import inventory_to_dict

IMAGE = IMAGES_DIR / "kb973917-iis6.vhd"


@pytest.fixture
def toml_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], int]]:
    """How many TOML documents have been parsed since the fixture started."""
    count = 0
    real = tomllib.loads

    def counting(text: str, **kwargs: Any) -> dict[str, Any]:
        nonlocal count
        count += 1
        return real(text, **kwargs)

    monkeypatch.setattr(tomllib, "loads", counting)
    yield lambda: count


def test_a_scan_reads_the_profiles_once(toml_reads: Callable[[], int]) -> None:
    load_knowledge()
    one_load = toml_reads()
    pipeline.scan(IMAGE)
    assert toml_reads() == 2 * one_load  # the load above, and the scan's own: no second or third reading


def test_given_knowledge_no_profile_is_read(toml_reads: Callable[[], int], tmp_path: Path) -> None:
    knowledge = load_knowledge()
    before = toml_reads()
    missing = tmp_path / "no-profiles"
    inv = pipeline.inventory(IMAGE, profiles_dir=missing, knowledge=knowledge)
    _, tl = pipeline.timeline(IMAGE, profiles_dir=missing, knowledge=knowledge)
    assert toml_reads() == before
    assert inv.system is not None and inv.system.hostname and tl.entries


def test_inventory_is_the_inventory_collectors_of_the_full_run() -> None:
    knowledge = load_knowledge()
    facts = pipeline.collect(IMAGE, knowledge, INVENTORY_COLLECTORS)
    assert facts.events == () and facts.traffic == () and facts.log_gaps == ()
    collected, inventoried = (inventory_to_dict(i) for i in (facts.inventory(), pipeline.inventory(IMAGE)))
    assert {**collected, "scanned_at": None} == {**inventoried, "scanned_at": None}
    assert COLLECTORS == INVENTORY_COLLECTORS + LOG_COLLECTORS
    assert COLLECTORS[0][1].__module__ == "scanner.collectors.registry_facts"  # the OS version comes first


def test_facts_adding_appends_in_order_and_replaces_the_system() -> None:
    first, second = Gap("a", "one"), Gap("b", "two", (Provenance("x"),))
    facts = Facts(source={"path": "s"}).adding(gaps=[first]).adding(gaps=[second], system=None)
    assert facts.gaps == (first, second)
    assert facts.inventory().gaps == [first, second] and facts.inventory().source == {"path": "s"}
    with pytest.raises(AttributeError):
        facts.gaps = ()  # type: ignore[misc]


def test_every_collect_function_is_registered() -> None:
    """Every ``collect*(volume, knowledge, facts)`` of a collector module is in the ordered tuple."""
    import importlib
    import pkgutil

    import scanner.collectors as package

    registered = {(c.__module__, c.__name__) for _, c in COLLECTORS}
    defined = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"scanner.collectors.{info.name}")
        for name, value in vars(module).items():
            own = callable(value) and getattr(value, "__module__", "") == module.__name__
            params = list(getattr(value, "__annotations__", {})) if own else []
            if name.startswith("collect") and params[:3] == ["volume", "knowledge", "facts"]:
                defined.add((module.__name__, name))
    assert defined == registered
