"""``[render] seed = N``: each artefact drawn among real shapes, read back by the scanner's own collectors.

The committed scenarios are replayed with several render seeds; every variant must carry the same facts
(requests, last success, the install session's copies and times) as today's single shape, and without
``[render]`` nothing changes (test_build compares the images byte for byte).
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
from typing import Any

import pytest

from fixtures.factory import evtx as evtxlib
from fixtures.factory.scenario import SCENARIO_DIR, Scenario, load_scenario
from fixtures.factory.sim_state import SystemState
from fixtures.factory.simulate import simulate
from fixtures.factory.variants import ALL_FIELDS, W3C_FIELDS_IIS5, W3C_FIELDS_IIS6, W3C_FIELDS_IIS7
from scanner.collectors.logs.updateexe import parse_updateexe
from scanner.collectors.logs.w3c import summarise_w3c

SEEDS = range(1, 9)


def scenario(name: str, seed: int | None = None) -> Scenario:
    sc = load_scenario(SCENARIO_DIR / f"{name}.toml")
    return sc if seed is None else replace(sc, render={"seed": seed})


def w3c_facts(state: SystemState) -> list[tuple[str, int, Any, Any]]:
    out = []
    for path, data in sorted(state.text_logs.items()):
        name = path.rsplit("\\", 1)[-1]
        if re.fullmatch(r"(u_)?ex\d{6}\.log", name):
            text = data.decode("utf-8" if name.startswith("u_") else "cp1252")
            for day in summarise_w3c(text.splitlines(), name, "W3SVC1"):
                out.append((name, day.requests, day.last_success, dict(day.status_counts).get(503)))
    return out


def fields_of(state: SystemState) -> set[str]:
    return {
        line
        for data in state.text_logs.values()
        for line in data.decode("cp1252").splitlines()
        if line.startswith("#Fields: ") and "c-port" not in line  # not HTTPERR's
    }


def test_without_render_nothing_is_drawn() -> None:
    state = simulate(scenario("kb973917-iis6"))
    assert state.written.render == {}
    assert fields_of(state) == {"#Fields: " + " ".join(W3C_FIELDS_IIS6[0][1]) + " "}


@pytest.mark.parametrize("name", ["healthy-2003-sp2", "q281402-dll-put-back", "cbs-2008-iis7-pending"])
def test_every_w3c_field_variant_carries_the_same_requests(name: str) -> None:
    """(Not kb973917-iis6: its crash loses the log's last sector, and longer lines lose fewer requests.)"""
    base = w3c_facts(simulate(scenario(name)))
    drawn = set()
    for seed in SEEDS:
        state = simulate(scenario(name, seed))
        drawn.add(state.written.render["w3c-fields"])
        assert w3c_facts(state) == base, (name, seed, state.written.render["w3c-fields"])
        (line,) = fields_of(state)
        fields = line.removeprefix("#Fields: ").split()
        assert {"time", "c-ip", "cs-method", "cs-uri-stem", "sc-status"} <= set(fields)
    assert len(drawn) >= 2


def test_field_lists_are_real_subsets_in_iis_order() -> None:
    """IIS writes the fields it logs in one fixed order; an admin's selection only drops some."""
    for name, fields in (*W3C_FIELDS_IIS6, *W3C_FIELDS_IIS7):
        if name == "ms-doc-example":
            continue  # the documented example's own order (IIS 5-era), kept as Microsoft printed it
        positions = [ALL_FIELDS.index(f) for f in fields]
        assert positions == sorted(positions), name
    assert W3C_FIELDS_IIS5[0][1] == ("time", "c-ip", "cs-method", "cs-uri-stem", "sc-status")


def _kb_sessions(state: SystemState) -> dict[str, list[tuple[str, Any]]]:
    sc = state.scenario
    out = {}
    for path, data in sorted(state.text_logs.items()):
        name = path.rsplit("\\", 1)[-1]
        if re.fullmatch(r"(KB\d+|svcpack)\.log", name, re.IGNORECASE):
            parsed = parse_updateexe(io.BytesIO(data), path, None)
            kept = ("install-start", "file-replaced")
            out[name] = [(e.what, e.at) for e in parsed.events if e.what in kept]
            assert parsed.events, (sc.id, name)
    return out


def test_update_exe_variants_parse_to_the_same_sessions() -> None:
    base = _kb_sessions(simulate(scenario("healthy-2003-sp2")))
    seps = set()
    for seed in SEEDS:
        state = simulate(scenario("healthy-2003-sp2", seed))
        seps.add(state.written.render["locale-decimal"])
        assert _kb_sessions(state) == base, (seed, state.written.render)
        logs = b"".join(v for p, v in state.text_logs.items() if p.lower().endswith(("kb958644.log",)))
        sep = "," if state.written.render["locale-decimal"] == "de-DE" else "."
        assert re.match(rb"\d+" + re.escape(sep.encode()) + rb"\d{3}: ", logs)
    assert seps == {"en-US", "de-DE"}


def test_6009_real_2008r2_shape_reads_back(tmp_path: Any) -> None:
    Evtx = pytest.importorskip("Evtx.Evtx")
    for seed in SEEDS:
        state = simulate(scenario("cbs-2008-iis7-pending", seed))
        if state.written.render["6009-strings"] == "2008r2-real":
            break
    else:
        pytest.fail("no seed drew the real 2008 R2 6009 shape")
    path = tmp_path / "System.evtx"
    records = sorted(state.evtx["System"], key=lambda r: r.time_created)
    path.write_bytes(evtxlib.build_evtx(records, channel="System"))
    with Evtx.Evtx(str(path)) as log:
        boots = [r.xml() for r in log.records() if ">6009</EventID>" in r.xml()]
    # One <Data> holding a string array, as python-evtx renders the real 2008 R2 record:
    # <Data>&lt;string&gt;6.01.&lt;/string&gt;\n&lt;string&gt;7601&lt;/string&gt;...
    (data,) = re.findall(r"<Data>(.*?)</Data>", boots[-1], re.DOTALL)
    strings = re.findall(r"&lt;string&gt;(.*?)&lt;/string&gt;", data)
    assert strings[0] == "6.00." and strings[2] == "Service Pack 2"
    assert strings[4].isdigit() and strings[4] != "0"
    assert "<Keywords>0x0080000000000000</Keywords>" in boots[-1]
