"""The diagnosis on hand-built facts: onset, trigger, latent cause and known issue, and what is not a trigger.

Facts are built literally (tests/scanner/rules/builders.py), knowledge is the shipped ``profiles/``; the
rules run first, as in a scan, and the timeline's failure episodes are added as the timeline stage does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from scanner.diagnose.verdict import diagnose
from scanner.knowledge.profiles import Knowledge, load_knowledge
from scanner.model import Inventory, Provenance, RecordedFile, UpdateRecord
from scanner.rules import run_rules
from tests.scanner.rules.builders import (
    SOFTWARE,
    SP2_ENTRY,
    entry,
    episodes,
    file,
    iis6,
    package_state,
    system,
    t,
    traffic,
)


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge()


def test_diagnosis_onset_trigger_and_latent_cause(knowledge: Knowledge) -> None:
    fix = UpdateRecord(
        "KB973917",
        "update",
        t("2009-12-09T15:40:00"),
        "second",
        "installed",
        (RecordedFile("w3core.dll", "6.0.3790.4611", "%SystemRoot%\\system32\\inetsrv"),),
        (Provenance(SOFTWARE, "Updates\\KB973917"),),
        sp_folder=3,
    )
    files = [
        file("w3core.dll", "6.0.3790.4611", "srv03_sp2_gdr.091030-1513", "2009-12-09T15:40:40"),
        *iis6()[1:],
    ]
    inv = Inventory(source={}, system=system(), files=files, updates=[fix])
    entries = [
        SP2_ENTRY,
        # fusion types the id (update_ids): only a change with an identity can be the trigger
        replace(entry("update", "KB973917", "2009-12-09T15:40:00"), update_ids=("KB973917",)),
        traffic("last-success", "2009-12-09T15:54:00"),
        entry("worker-process-failure", "DefaultAppPool", "2009-12-09T15:55:01"),
        entry("rapid-fail-disable", "DefaultAppPool", "2009-12-09T15:58:26"),
    ]
    findings, _ = run_rules(inv, entries, [], knowledge)
    verdict = diagnose(inv, episodes(entries, inv, knowledge), findings, knowledge)
    assert verdict.failure_onset == t("2009-12-09T15:55:01")
    assert verdict.trigger == "KB973917" and verdict.trigger_gap_seconds == 901
    assert verdict.latent_cause == "files-below-service-pack"
    assert verdict.known_issue == "KB2009746"
    assert verdict.remediation and "Service Pack 2" in verdict.remediation[0]


def test_failures_before_the_last_success_are_not_the_onset(knowledge: Knowledge) -> None:
    entries = [
        entry("crash", "w3wp.exe", "2009-12-01T10:00:00"),
        traffic("last-success", "2009-12-09T23:59:00"),
    ]
    inv = Inventory(source={}, system=system())
    verdict = diagnose(inv, episodes(entries, inv, knowledge), [], knowledge)
    assert verdict.failure_onset is None and verdict.trigger is None and verdict.latent_cause is None
    assert verdict.summary.startswith("No root cause found")


def test_staged_package_is_not_the_trigger(knowledge: Knowledge) -> None:
    entries = [
        package_state("KB2463332", "2011-03-09T02:29:20", "install-pending"),
        package_state("KB2506212", "2011-03-09T02:32:20", "staged"),
        entry("worker-process-failure", "DefaultAppPool", "2011-03-09T02:41:10"),
        entry("worker-process-failure", "DefaultAppPool", "2011-03-09T02:41:40"),
    ]
    inv = Inventory(source={}, system=system("6.0.6002", 2))
    verdict = diagnose(inv, episodes(entries, inv, knowledge), [], knowledge)
    assert verdict.trigger == "KB2463332"
    assert verdict.trigger_at is not None and verdict.failure_onset - verdict.trigger_at == timedelta(
        minutes=11, seconds=50
    )
