"""The comparison of a verdict with a sampled case's truth: each field, each way it can go wrong."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from fixtures.factory.sampled_run import CaseResult, Exception_, Mismatch, compare, unexcused
from fixtures.factory.truth import Truth
from scanner.model import Diagnosis, Finding, FindingFile

UTC = timezone.utc
ONSET = datetime(2009, 12, 9, 15, 55, 1, tzinfo=UTC)
TRUTH = Truth(
    seed=14,
    index=3,
    pattern="sp-incomplete",
    os="2003",
    failure_mode="total",
    trigger="KB973917",
    latent_cause="files-below-service-pack",
    onset=ONSET,
    files=("WINDOWS\\system32\\inetsrv\\w3dt.dll",),
    exact_files=True,
    attribution="service-pack-install-incomplete",
    also=("service-pack-install-incomplete",),
    remediation=("Service Pack 2",),
    must_not=("reboot-pending",),
)


@dataclass(frozen=True)
class Verdict:
    """The two parts of a ScanResult the comparison reads."""

    diagnosis: Diagnosis
    findings: list[Finding] = field(default_factory=list)


def _right() -> Verdict:
    diagnosis = Diagnosis(
        failure_onset=ONSET + timedelta(minutes=4),
        trigger="KB973917",
        latent_cause="files-below-service-pack",
        summary="",
        remediation=("Reinstall Service Pack 2 for Microsoft Windows Server 2003 (KB914961).",),
        cause_attribution="service-pack-install-incomplete",
        contributing=("service-pack-install-incomplete",),
    )
    finding = Finding(
        "files-below-service-pack",
        "warning",
        "",
        "",
        files=(FindingFile("WINDOWS\\System32\\inetsrv\\W3DT.dll", "6.0.3790.1830"),),
    )
    return Verdict(diagnosis, [finding])


def test_a_matching_verdict_has_no_mismatch() -> None:
    assert compare(TRUTH, _right()) == []


def test_each_field_is_told_apart() -> None:
    right = _right()
    wrong = Verdict(
        replace(
            right.diagnosis,
            failure_onset=ONSET + timedelta(minutes=6),
            trigger="KB958644",
            latent_cause=None,
            cause_attribution=None,
            contributing=(),
            remediation=("Restart IIS",),
        ),
        [
            replace(
                right.findings[0],
                files=(FindingFile("WINDOWS\\system32\\inetsrv\\w3tp.dll", "6.0.3790.1830"),),
            ),
            Finding("reboot-pending", "warning", "", ""),
        ],
    )
    fields = [m.field for m in compare(TRUTH, wrong)]
    assert fields == [
        "onset",
        "trigger",
        "latent_cause",
        "attribution",
        "also",
        "files",
        "files",
        "remediation",
        "must_not",
    ]


def test_no_onset_is_required_for_a_server_that_never_failed() -> None:
    healthy = replace(
        TRUTH,
        onset=None,
        trigger=None,
        latent_cause=None,
        files=(),
        attribution=None,
        also=(),
        remediation=(),
    )
    right = _right()
    quiet = Verdict(
        replace(
            right.diagnosis,
            failure_onset=None,
            trigger=None,
            latent_cause=None,
            cause_attribution=None,
            contributing=(),
            remediation=(),
        )
    )
    assert compare(healthy, quiet) == []
    assert [m.field for m in compare(healthy, Verdict(replace(quiet.diagnosis, failure_onset=ONSET)))] == [
        "onset"
    ]


def test_a_service_pack_trigger_may_carry_the_product_name() -> None:
    truth = replace(TRUTH, trigger="Service Pack 2")
    named = Verdict(
        replace(_right().diagnosis, trigger="Windows Server 2003 Service Pack 2"), _right().findings
    )
    assert compare(truth, named) == []


def test_advice_that_does_not_fit_is_a_mismatch() -> None:
    truth = replace(TRUTH, remediation_absent=("Rapid-Fail",))
    right = _right()
    advice = ("Reinstall Service Pack 2", "Re-enable the pools that Rapid-Fail Protection disabled")
    found = compare(truth, Verdict(replace(right.diagnosis, remediation=advice), right.findings))
    assert [m.field for m in found] == ["remediation"]


def test_exceptions_accept_only_their_pattern_os_and_field() -> None:
    result = CaseResult(TRUTH, "sampled", (Mismatch("onset", "x"), Mismatch("trigger", "y")), 0.0, 0.0)
    assert unexcused(result, [Exception_("sp-incomplete", "onset", "why")]) == [Mismatch("trigger", "y")]
    assert unexcused(result, [Exception_("*", "trigger", "why", os="2000")]) == list(result.mismatches)
    assert unexcused(result, [Exception_("put-back", "onset", "why")]) == list(result.mismatches)
