"""The simulator's varied shapes against the real artefacts they were taken from (PATCHMORTEM_REAL_CORPUS).

Each test renders our record or header and the real one with the same reader (python-evtx's XML, dissect's
.evt strings, the raw ``#Fields:`` line) and compares the structure: provider attributes, qualifiers,
keywords, Data names and string layout. The committed tests (tests/factory/test_failures.py,
test_variants.py) hold the same shapes as literals for CI, which has no corpus.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fixtures.factory import evtx as evtxlib
from fixtures.factory import noise
from fixtures.factory.scenario import SCENARIO_DIR, load_scenario
from fixtures.factory.simulate import simulate
from fixtures.factory.variants import W3C_FIELDS_IIS6, W3C_FIELDS_IIS7

Evtx = pytest.importorskip("Evtx.Evtx")


def _first(path: Path, marker: str) -> str:
    """The XML of the first record containing ``marker`` (python-evtx renders slowly: stop there)."""
    with Evtx.Evtx(str(path)) as log:
        return next(x for x in (r.xml() for r in log.records()) if marker in x)


def _shape(xml: str) -> dict[str, Any]:
    """What must agree: provider element, EventID qualifiers, level, keywords, Data names and count."""
    return {
        "provider": re.search(r"<Provider [^>]*>", xml).group(0),  # type: ignore[union-attr]
        "event_id": re.search(r"<EventID[^>]*>", xml).group(0),  # type: ignore[union-attr]
        "level": re.search(r"<Level>(\d+)", xml).group(1),  # type: ignore[union-attr]
        "keywords": re.search(r"<Keywords>([^<]*)", xml).group(1),  # type: ignore[union-attr]
        "data_names": re.findall(r"<Data(?: Name=\"([^\"]*)\")?>", xml),
    }


def _ours(tmp_path: Path, record: evtxlib.EvtxRecord) -> str:
    path = tmp_path / "ours.evtx"
    path.write_bytes(evtxlib.build_evtx([record], channel="System"))
    return _first(path, "<Event")


def test_scm_7023_preset_has_the_real_record_structure(real_corpus: Path, tmp_path: Path) -> None:
    real = _first(real_corpus / "plaso/evtx/System.evtx", ">7023</EventID>")
    rec = noise.preset("scm-7023", {}, nt6=True, subsystem=(6, 1), arch="x64", when=datetime.now(UTC))
    fields = noise.evtx_fields(rec.source, rec.event_id, rec.severity, rec.strings)
    ours = _ours(tmp_path, evtxlib.EvtxRecord(rec.source, rec.event_id, datetime(2015, 8, 8, tzinfo=UTC),
                                              **fields))  # type: ignore[arg-type]
    assert _shape(ours) == _shape(real)
    assert re.findall(r"<Data Name=\"param2\">(%%\d+)</Data>", real)  # the error as a %%N reference


def test_6009_real_variant_has_the_real_record_structure(real_corpus: Path, tmp_path: Path) -> None:
    real = _first(real_corpus / "plaso/evtx/System.evtx", ">6009</EventID>")
    for seed in range(1, 20):
        sc = load_scenario(SCENARIO_DIR / "cbs-2008-iis7-pending.toml")
        state = simulate(replace(sc, render={"seed": seed}))
        if state.written.render["6009-strings"] == "2008r2-real":
            break
    boot = next(r for r in state.evtx["System"] if r.event_id == 6009)
    ours = _ours(tmp_path, boot)
    assert _shape(ours) == _shape(real)
    string = r"&lt;string&gt;(.*?)&lt;/string&gt;"
    assert [len(re.findall(string, x)) for x in (ours, real)] == [5, 5]
    assert re.fullmatch(r"\d\.\d\d\.", re.findall(string, ours)[0])


def test_scm_7031_preset_is_the_real_xp_layout(real_corpus: Path) -> None:
    from dissect.eventlog.evt import Evt

    with (real_corpus / "plaso/SysEvent.Evt").open("rb") as fh:
        real = next(r.Strings for r in Evt(fh) if r.SourceName == "Service Control Manager"
                    and r.EventID & 0xFFFF == 7031)
    ours = noise.preset("scm-7031", {"service": real[0]}, nt6=False, subsystem=(5, 2), arch="x86",
                        when=datetime.now(UTC)).strings
    assert len(ours) == len(real) and ours[0] == real[0] and ours[3:] == tuple(real[3:])
    assert all(s.isdigit() for s in (*ours[1:3], *real[1:3]))


def test_w3c_field_variants_include_the_real_lines(real_corpus: Path) -> None:
    def fields(name: str) -> tuple[str, ...]:
        text = (real_corpus / "plaso/iis" / name).read_text("utf-8")
        return tuple(next(line for line in text.splitlines() if line.startswith("#Fields:")).split()[1:])

    assert fields("iis6.log") in {f for _, f in W3C_FIELDS_IIS6}
    assert fields("iis10.log") in {f for _, f in W3C_FIELDS_IIS7}
