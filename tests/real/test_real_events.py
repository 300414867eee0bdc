"""Real event logs: what the timeline says of them is what an independent reader of the same bytes says.

plaso's real XP ``SysEvent.Evt`` (read independently with libevt's pyevt) and 2008 R2 ``System.evtx`` (read
with python-evtx). Nothing here is committed data: the corpus comes from PATCHMORTEM_REAL_CORPUS.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from scanner.collectors.events import read_event_log
from scanner.knowledge.events import load_event_catalog
from scanner.knowledge.profiles import Knowledge
from scanner.model import EventRecord
from scanner.model.facts_bundle import Facts
from scanner.model.update_ids import sp_number
from scanner.timeline import build_timeline
from scanner.timeline.observe_events import from_events

CATALOG = load_event_catalog()
# The event catalog alone: no OS profile, no episode thresholds (events only, as the records give them).
KNOWLEDGE = Knowledge((), (), CATALOG, (), ())
INSTALL_KINDS = {"service-pack", "hotfix", "update", "package-state-change", "component-install"}
#: Windows Update's insertion string that holds the title(s), per event id (wuaueng.dll message table).
WUA_TITLES = {19: 0, 20: 1, 21: 0, 22: 1}
#: A title names its update in parentheses at its end: "Update for Windows XP (KB898461)". A list cut at
#: 999 characters leaves "(KB91043" without its closing parenthesis, which this reading does not take.
TITLE_KB = re.compile(r"\((KB\d{5,7})\)")


def _xp_log(corpus: Path) -> Path:
    path = corpus / "plaso" / "SysEvent.Evt"
    if not path.is_file():
        pytest.skip(f"{path} absent")
    return path


@cache
def _ours(path: Path, log: str) -> list[EventRecord]:
    with path.open("rb") as fh:
        return read_event_log(fh, path.name, log, keep=CATALOG.wants).records


def _pyevt_records(path: Path) -> list[tuple[str, int, list[str]]]:
    pytest.importorskip("pyevt")
    return _read_pyevt(path)


@cache
def _read_pyevt(path: Path) -> list[tuple[str, int, list[str]]]:
    return list(_iter_pyevt(path))


def _iter_pyevt(path: Path) -> Iterator[tuple[str, int, list[str]]]:
    import pyevt  # type: ignore[import-not-found]

    log = pyevt.file()
    log.open(str(path))
    try:
        for index in range(log.number_of_records):
            item: Any = log.get_record(index)
            strings = [item.get_string(i) or "" for i in range(item.number_of_strings)]
            yield item.source_name, item.event_identifier & 0xFFFF, strings
    finally:
        log.close()


def _independent_install_ids(path: Path) -> tuple[set[str], Counter[str]]:
    """KB ids pyevt's records name in 4377 (any source) and Windows Update 19-22; installs per KB (4377, 19).

    The rule read here is the profile's, written independently: 4377's %2 starts with the id; Windows
    Update's title string (%1 of 19/21, %2 of 20/22) names each id in parentheses at a title's end.
    """
    ids: set[str] = set()
    installed: Counter[str] = Counter()
    for source, event_id, strings in _pyevt_records(path):
        found: list[str] = []
        if event_id == 4377 and len(strings) >= 2:
            match = re.match(r"(?i)(KB|Q)(\d{5,7})", strings[1])
            found = [f"{match.group(1).upper()}{match.group(2)}"] if match else []
        elif (
            source == "Windows Update Agent"
            and event_id in WUA_TITLES
            and len(strings) > WUA_TITLES[event_id]
        ):
            found = sorted(set(TITLE_KB.findall(strings[WUA_TITLES[event_id]])))
        ids.update(found)
        if event_id in (4377, 19):
            installed.update(found)
    return ids, installed


def test_xp_install_entries_name_exactly_the_kbs_the_records_name(real_corpus: Path) -> None:
    path = _xp_log(real_corpus)
    expected, _ = _independent_install_ids(path)
    timeline = build_timeline(Facts({}, events=tuple(_ours(path, "System"))), KNOWLEDGE)
    installs = [e for e in timeline.entries if e.kind in INSTALL_KINDS]
    ours = {i for e in installs for i in e.update_ids}
    assert ours == expected
    assert len(expected) == 224
    for entry in installs:
        assert all(re.fullmatch(r"(KB|Q)\d{5,7}", i) for i in entry.update_ids)
        if entry.kind in ("hotfix", "update"):  # an update kind is named by its update id, always
            assert entry.update_ids and entry.subject in entry.update_ids, entry
        if not entry.update_ids and entry.kind != "service-pack":  # a titled install: a name, never a number
            assert entry.kind == "component-install"
            assert any(ch.isalpha() for ch in entry.subject)
    assert not [e for e in installs if e.subject.strip().isdigit()]
    titled = {e.subject for e in installs if not e.update_ids and e.kind != "service-pack"}
    assert titled == {"Automatic Updates", "Microsoft Windows Installer 3.1", "WgaNotify"}
    [sp3] = [
        e for e in installs if e.kind == "service-pack"
    ]  # NtServicePack 4371 ['Windows XP', 'Service Pack 3', ...]
    assert (sp3.sp_level, sp3.at and sp3.at.isoformat()) == (3, "2011-09-09T18:22:54+00:00")


def test_xp_every_install_record_is_one_observation_per_kb(real_corpus: Path) -> None:
    path = _xp_log(real_corpus)
    _, expected = _independent_install_ids(path)
    observations = from_events(_ours(path, "System"), CATALOG, None, "HOST")
    ours = Counter(o.key for o in observations if o.group == "install" and o.role == "end" and o.update_ids)
    assert ours == expected
    assert (
        sum(expected.values()) == 515
    )  # 4377: 266 NtServicePack, 14 WindowsMedia, 1 Windows Installer; 234 of 19


def test_xp_sp_level_of_every_boot(real_corpus: Path) -> None:
    path = _xp_log(real_corpus)
    expected = [sp_number(s[2]) for src, eid, s in _pyevt_records(path) if src == "EventLog" and eid == 6009]
    boots = [o for o in from_events(_ours(path, "System"), CATALOG, None, "HOST") if o.role == "start"]
    boots = [o for o in boots if o.group == "boot"]
    assert sorted(o.sp_level or -1 for o in boots) == sorted(e or -1 for e in expected)
    assert Counter(expected) == Counter({2: 6, 3: 18})


def _evtx_6009(path: Path) -> list[int | None]:
    """The SP each 6009 names, read by python-evtx: its unnamed <Data> holds <string> items in order."""
    evtx = pytest.importorskip("Evtx.Evtx")
    levels: list[int | None] = []
    with evtx.Evtx(str(path)) as log:
        for item in log.records():
            xml = item.xml()
            if '<Provider Name="EventLog"' in xml and ">6009<" in xml:
                strings = re.findall(r"&lt;string&gt;(.*?)&lt;/string&gt;", xml)
                levels.append(sp_number(strings[2]) if len(strings) > 2 else None)
    return levels


def test_nt6_evtx_sp_level_of_every_boot(real_corpus: Path) -> None:
    path = real_corpus / "plaso" / "evtx" / "System.evtx"
    if not path.is_file():
        pytest.skip(f"{path} absent")
    records = [r for r in _ours(path, "System") if r.provider == "EventLog" and r.event_id == 6009]
    assert records and all(len(r.strings) >= 3 for r in records)  # unnamed <Data> kept by position
    expected = _evtx_6009(path)  # python-evtx renders every record: slow, so only when needed
    boots = [o for o in from_events(records, CATALOG, None, "HOST") if o.group == "boot"]
    assert [o.sp_level for o in boots] == expected == [1] * 8


def test_nt6_evtx_unexpected_shutdown_time(real_corpus: Path) -> None:
    path = real_corpus / "plaso" / "evtx" / "System.evtx"
    if not path.is_file():
        pytest.skip(f"{path} absent")
    records = [r for r in _ours(path, "System") if r.provider == "EventLog" and r.event_id == 6008]
    assert len(records) == 1
    assert len(records[0].strings) >= 2  # unnamed <Data> kept by position: %1 time, %2 date
    [obs] = from_events(records, CATALOG, None, "HOST")
    # python-evtx: <string>1:34:44 PM</string><string>&#8206;8/&#8206;25/&#8206;2015</string>; no zone given
    assert obs.at is not None and obs.at.isoformat() == "2015-08-25T13:34:44+00:00"
