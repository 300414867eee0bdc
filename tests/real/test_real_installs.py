"""Real XP System log (plaso's SysEvent.Evt): every NtServicePack 4377 install record is its own session.

An independent count of the same bytes: 266 NtServicePack 4377 records, 58 update ids recorded more than once
(re-installs hours apart). Before issue 13, 56 of those records were merged into another install's entry.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from scanner.collectors.events import read_event_log
from scanner.knowledge.events import load_event_catalog
from scanner.knowledge.profiles import Knowledge
from scanner.model.facts_bundle import Facts
from scanner.timeline import build_timeline


def test_every_ntservicepack_install_record_is_its_own_entry(real_corpus: Path) -> None:
    path = real_corpus / "plaso" / "SysEvent.Evt"
    with path.open("rb") as fh:
        records = read_event_log(fh, "WINDOWS\\system32\\config\\SysEvent.Evt", "System").records
    installs = [r for r in records if r.event_id == 4377 and r.provider == "NtServicePack"]
    assert len(installs) == 266
    knowledge = Knowledge((), (), load_event_catalog(), (), ())  # the catalog alone: no OS, no episode
    timeline = build_timeline(Facts({}, events=tuple(records)), knowledge)
    holding = [e for e in timeline.entries if any(s.says.startswith("NtServicePack 4377") for s in e.sources)]
    assert len(holding) == len(installs)
    per_record = Counter(sum(s.says.startswith("NtServicePack 4377") for s in e.sources) for e in holding)
    assert per_record == Counter({1: 266})
    # Each re-install is linked to the same update: same subject, same update ids.
    twice = Counter(r.strings[1] for r in installs)
    kb = next(k for k, n in twice.items() if n == 2 and k.startswith("KB"))
    same = [e for e in holding if kb in e.update_ids]
    assert len(same) == 2 and len({e.subject for e in same}) == 1
