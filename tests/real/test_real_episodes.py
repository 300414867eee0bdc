"""Real healthy logs give no failure onset (issue 14 item 2: the noise floor).

plaso's real XP ``SysEvent.Evt`` (McAfee McShield's SCM 7031 and other services' failures after a KB install),
its Windows ``System.evtx`` (SCM 7023 of Windows Time, twice) and ``System2.evtx``, and its real IIS 6 log (a
day of answers in 2013, then one ``500`` in 2015) are routine: none is a failure episode of the IIS
components, so ``scan`` gives no onset, no trigger and no ``failure-episode`` entry. The literal shapes are
checked without the corpus in tests/scanner/timeline/test_episodes.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scanner.model import EPISODE_KIND
from scanner.pipeline import scan

CASES = {
    "xp-sysevent": {"plaso/SysEvent.Evt": "Windows/System32/config/SysEvent.Evt"},
    "system-evtx": {"plaso/evtx/System.evtx": "Windows/System32/winevt/Logs/System.evtx"},
    "system2-evtx": {"plaso/evtx/System2.evtx": "Windows/System32/winevt/Logs/System.evtx"},
    "iis6-log": {"plaso/iis/iis6.log": "Windows/System32/LogFiles/W3SVC1/ex130730.log"},
    "iis10-logs": {
        "plaso/iis/iis10.log": "inetpub/logs/LogFiles/W3SVC1/u_ex210401.log",
        "plaso/iis/iis10_edge_cases.log": "inetpub/logs/LogFiles/W3SVC1/u_ex220101.log",
    },
    "all-with-hive": {
        "plaso/SysEvent.Evt": "Windows/System32/config/SysEvent.Evt",
        "plaso/evtx/System.evtx": "Windows/System32/winevt/Logs/System.evtx",
        "plaso/iis/iis6.log": "Windows/System32/LogFiles/W3SVC1/ex130730.log",
        "regipy/SYSTEM": "Windows/System32/config/SYSTEM",
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_real_healthy_logs_give_no_onset(real_corpus: Path, tmp_path: Path, case: str) -> None:
    for src, rel in CASES[case].items():
        if not (real_corpus / src).is_file():
            pytest.skip(f"{src} absent from the real corpus")
        dest = tmp_path / "C" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(real_corpus / src, dest)
    result = scan(tmp_path)
    assert [e for e in result.timeline.entries if e.kind == EPISODE_KIND] == []
    d = result.diagnosis
    assert (d.failure_onset, d.trigger, d.latent_cause) == (None, None, None)
    assert d.summary.startswith("No root cause found")
