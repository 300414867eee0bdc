"""The one JSON codec writes every record exactly as the hand-written ``to_dict`` methods it replaced did.

Each record is built twice — every field set, and only the required ones (defaults) — and its ``to_dict()``
is compared, as JSON text (so KEY ORDER counts: golden files and saved reports are text), with its entry in
``tests/golden/codec/records.json``. That golden was first what the hand-written methods returned, before
they were deleted (issue 16 item 4); since then it has only gained keys (the typed clock, anchor, event
reference, record state, traffic mark, installer and CBS state of the same issue). The scan/inventory/diff/
repro/preflight schema tests and the goldens check the same contracts end to end.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

from scanner.collectors.folder_facts import ComponentFolder
from scanner.collectors.uninstall import UninstallFolder
from scanner.diff.model import (
    Attribution,
    FileChange,
    FileRef,
    FindingRef,
    RenameRef,
    ScanDiff,
    Side,
    UpdateChange,
    UpdateRef,
    Verdict,
)
from scanner.evidence.source import SourceDescription, VolumeDescription
from scanner.fleet.groups import Group
from scanner.model import (
    ComponentFileLevel,
    ComponentLevels,
    Diagnosis,
    ErrorRun,
    EventRecord,
    Evidence,
    FileLeftBehind,
    FileState,
    Finding,
    FindingFile,
    Gap,
    InstallOutcome,
    LogEvent,
    PendingRename,
    Provenance,
    RecordedFile,
    SoftwareInstall,
    SourceTime,
    SystemFacts,
    TimelineEntry,
    TimelineSource,
    TimeZoneFacts,
    TrafficDay,
    UpdateRecord,
)
from scanner.model.codec import JsonRecord, JsonShape, encode, encoder_of, plan_of
from scanner.preflight.model import PreflightFile, PreflightReason, PreflightVerdict, ServerPreflight
from scanner.render.meta import RunMeta
from scanner.repro.model import (
    BaseMedia,
    ExpectedSymptom,
    FailureSign,
    MediaFact,
    ReproPlan,
    ReproStep,
    StepFile,
)

T1 = datetime(2009, 12, 9, 14, 30, 5, tzinfo=UTC)
T2 = datetime(2010, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
HIVE = "WINDOWS\\system32\\config\\SOFTWARE"
P_FULL = Provenance(HIVE, "Microsoft\\Updates\\KB973917 InstalledDate", "recovered from transaction log")
P_MIN = Provenance("WINDOWS\\KB973917.log")
TZ_FULL = TimeZoneFacts(
    "Pacific Standard Time",
    "Pacific Standard Time",
    "Pacific Daylight Time",
    480,
    0,
    -60,
    (0, 11, 0, 1, 2, 0, 0, 0),
    (0, 3, 0, 2, 2, 0, 0, 0),
    420,
    "@tzres.dll,-212",
    "@tzres.dll,-211",
)
TZ_MIN = TimeZoneFacts("", "", "", 0, 0, 0, (), ())
ST_FULL = SourceTime(T1, "day", "Installed On = 12/9/2009", P_FULL, "not-after")
ST_MIN = SourceTime(T1, "second", "key last written", P_MIN)
OUTCOME_FULL = InstallOutcome(
    "partial",
    12,
    (FileLeftBehind("WINDOWS\\system32\\w3core.dll", "in-use-delayed", 32), FileLeftBehind("x.dll", "other")),
    True,
    0,
    0x80070005,
)
FF_FULL = FindingFile(
    "WINDOWS\\system32\\inetsrv\\w3core.dll",
    "6.0.3790.1830",
    "srv03_sp1_rtm",
    "6.0.3790.3959",
    "iis6",
    T1,
    T2,
    "KB973917",
    "6.0.3790.4584",
    "6.0.3790.3959",
    "Contoso Setup",
    "software-install",
    T2,
)
EV_FULL = Evidence("CSDVersion = Service Pack 2", P_FULL, T1)
EV_MIN = Evidence("file on disk", P_MIN)
CFL_FULL = ComponentFileLevel(
    "WINDOWS\\system32\\inetsrv\\w3core.dll",
    True,
    "6.0.3790.1830",
    "srv03_sp1_rtm",
    1,
    "Service Pack 1",
    T1,
    T2,
    True,
    "6.0.3790.3959",
    True,
    "request pipeline core",
    (P_FULL, P_MIN),
    False,
    "WINDOWS\\system32\\w3core.dll",
)
CFL_MIN = ComponentFileLevel(
    "WINDOWS\\system32\\inetsrv\\w3wp.exe", False, None, None, None, None, None, None, False
)
UREF_FULL = UpdateRef("KB973917", "hotfix", "installed", "2009-12-09T14:30:05+00:00", "Security Update")
UREF_MIN = UpdateRef("Q281402", None, None, None)
FREF_FULL = FileRef(
    "WINDOWS\\system32\\w3core.dll",
    "iis6",
    "6.0.3790.3959",
    "srv03_sp2_rtm",
    "2009-12-09T14:30:05+00:00",
    "2010-01-02T03:04:05+00:00",
)
FREF_MIN = FileRef("WINDOWS\\system32\\w3wp.exe", None, None, None)
PFILE_FULL = PreflightFile(
    "WINDOWS\\system32\\w3core.dll", "6.0.3790.1830", "6.0.3790.3959", "iis6", 1, "srv03_sp1_rtm", (P_FULL,)
)
PREASON_FULL = PreflightReason(
    "known-interaction",
    "risk",
    "KB973917 sets off KB2009746",
    "files-below-service-pack",
    "KB2009746",
    (PFILE_FULL,),
    ("KB973917",),
    2,
    1,
    ("the SP level",),
    (P_FULL, P_MIN),
)
PVERDICT_FULL = PreflightVerdict(
    "KB973917",
    "at-risk",
    (PREASON_FULL,),
    "Security update for IIS",
    True,
    ("the SP level",),
    ("https://support.microsoft.com/kb/2009746",),
)
MFACT_FULL = MediaFact("service_pack", "1", "the SP1 install entry", (EV_FULL,))
STEP_FULL = ReproStep(
    3,
    "hotfix",
    "Install KB973917",
    T1,
    "second",
    "KB973917",
    2,
    "iis6",
    (StepFile("WINDOWS\\system32\\w3core.dll", "6.0.3790.4584", "recorded by KB973917"),),
    True,
    True,
    ("do not reboot",),
    (EV_FULL, EV_MIN),
)
SIGN_FULL = FailureSign("worker-process-failure", "DefaultAppPool", "W3SVC", 1009, 5, T2, 600, (EV_FULL,))
BASE_FULL = BaseMedia(
    "Windows Server 2003", "Standard", "x86", "en-US", 1, "Service Pack 1", ("iis6",), (MFACT_FULL,)
)
SYMPTOM_FULL = ExpectedSymptom(
    "IIS worker processes crash", "W3SVC 1009 (DefaultAppPool) x5", T2, T1, (SIGN_FULL,)
)

CASES: dict[str, Callable[[], Any]] = {
    # scanner.model.facts
    "Provenance/full": lambda: P_FULL,
    "Provenance/defaults": lambda: P_MIN,
    "Gap/full": lambda: Gap("event logs", "no System.evt", (P_FULL, P_MIN)),
    "Gap/defaults": lambda: Gap("event logs", "no System.evt"),
    "TimeZoneFacts/full": lambda: TZ_FULL,
    "TimeZoneFacts/defaults": lambda: TZ_MIN,
    "SystemFacts/full": lambda: SystemFacts(
        "Windows Server 2003",
        "5.2.3790",
        3790,
        2,
        "Service Pack 2",
        "x86",
        "WEB01",
        T1,
        "WINDOWS",
        TZ_FULL,
        "Standard",
        "srv03_sp2_rtm.070216",
        (P_FULL, P_MIN),
    ),
    "SystemFacts/defaults": lambda: SystemFacts(None, None, None, None, None, None, None, None, None, None),
    "SystemFacts/unnamed-zone": lambda: SystemFacts(
        None, None, None, None, None, None, None, None, None, TZ_MIN
    ),
    "RecordedFile/full": lambda: RecordedFile(
        "w3core.dll", "6.0.3790.4584", "%SystemRoot%\\system32\\inetsrv"
    ),
    "RecordedFile/defaults": lambda: RecordedFile("w3core.dll", None),
    "SourceTime/full": lambda: ST_FULL,
    "SourceTime/defaults": lambda: ST_MIN,
    "UpdateRecord/full": lambda: UpdateRecord(
        "KB973917",
        "hotfix",
        T1,
        "second",
        "installed",
        (RecordedFile("w3core.dll", "6.0.3790.4584"), RecordedFile("w3wp.exe", None, "inetsrv")),
        (P_FULL, P_MIN),
        3,
        "Security Update for Windows Server 2003",
        (("InstalledBy", "Administrator"), ("Type", "Update")),
        (ST_FULL, ST_MIN),
        2,
        "KB973917",
        "C:\\WINDOWS\\$NtUninstallKB973917$\\spuninst\\spuninst.exe",
    ),
    "UpdateRecord/defaults": lambda: UpdateRecord("KB973917", "hotfix", None, None, "unknown"),
    "FileState/full": lambda: FileState(
        "WINDOWS\\system32\\inetsrv\\w3core.dll",
        "6.0.3790.1830",
        "srv03_sp1_rtm",
        "6.0.3790.1830 (srv03_sp1_rtm.050324-1447)",
        "6.0.3790.1830",
        245760,
        "ab" * 32,
        T1,
        T2,
        T1,
        T2,
        "iis6",
        T1,
        (P_FULL,),
    ),
    "FileState/defaults": lambda: FileState(
        "WINDOWS\\system32\\w3wp.exe", None, None, None, None, None, None, None, None
    ),
    "SoftwareInstall/full": lambda: SoftwareInstall(
        "Contoso Web Tools", "Contoso", "2.1", "C:\\Contoso", T1, "day", (ST_FULL,), P_FULL
    ),
    "SoftwareInstall/defaults": lambda: SoftwareInstall("Contoso Web Tools", None, None, None, None, None),
    # scanner.model.records
    "EventRecord/full": lambda: EventRecord(
        "System",
        "W3SVC",
        1009,
        "warning",
        T1,
        4711,
        ("DefaultAppPool", "1234"),
        (("AppPoolID", "DefaultAppPool"), ("ProcessID", "1234")),
        "WEB01",
        "S-1-5-18",
        0x80000000 | 1009,
        3,
        "A process serving ...",
        True,
        P_FULL,
    ),
    "EventRecord/defaults": lambda: EventRecord("System", "EventLog", 6008, "error", T1, 1),
    "LogEvent/full": lambda: LogEvent(
        "update.exe",
        "install-end",
        T1,
        "second",
        "KB973917",
        "Installation done",
        (("local_time", "12/9/2009 6:30:05"),),
        P_FULL,
        2,
        OUTCOME_FULL,
        "KB973917",
        "windows\\system32\\inetsrv\\w3core.dll",
        "6.0.3790.4584",
    ),
    "LogEvent/defaults": lambda: LogEvent("svcpack", "install-start", None, None, None, "start"),
    "FileLeftBehind/full": lambda: FileLeftBehind("x.dll", "copy-failed", 5),
    "FileLeftBehind/defaults": lambda: FileLeftBehind("x.dll", "other"),
    "InstallOutcome/full": lambda: OUTCOME_FULL,
    "InstallOutcome/defaults": lambda: InstallOutcome(),
    # scanner.model.timeline
    "TimelineSource/full": lambda: TimelineSource("registry", T1, "second", "InstalledDate", P_FULL),
    "TimelineSource/defaults": lambda: TimelineSource("log", None, None, "", P_MIN),
    "TimelineEntry/full": lambda: TimelineEntry(
        T1,
        "second",
        "hotfix",
        "KB973917",
        "KB973917 installed",
        (
            TimelineSource("registry", T1, "second", "InstalledDate", P_FULL),
            TimelineSource("log", T2, "minute", "update.exe", P_MIN),
        ),
        T2,
        ("the log says 14:31",),
        (("errors", "0"),),
        ("KB973917", "Q281402"),
        2,
        OUTCOME_FULL,
        ("iis6",),
    ),
    "TimelineEntry/defaults": lambda: TimelineEntry(None, None, "reboot", "", "reboot", ()),
    # scanner.model.verdict
    "Evidence/full": lambda: EV_FULL,
    "Evidence/defaults": lambda: EV_MIN,
    "FindingFile/full": lambda: FF_FULL,
    "FindingFile/defaults": lambda: FindingFile("WINDOWS\\system32\\w3wp.exe", None),
    "Finding/full": lambda: Finding(
        "files-below-service-pack",
        "critical",
        "IIS files below SP2",
        "3 files ...",
        (FF_FULL,),
        ("KB973917",),
        (EV_FULL, EV_MIN),
        ("Reapply SP2",),
        "high",
        "component-installed-from-older-media",
        T1,
        (("component", "iis6"),),
    ),
    "Finding/defaults": lambda: Finding("reboot-pending", "info", "Reboot pending", "a reboot is pending"),
    "Diagnosis/full": lambda: Diagnosis(
        T2,
        "KB973917",
        "files-below-service-pack",
        "IIS broke",
        ("Reapply SP2",),
        "high",
        "component-installed-from-older-media",
        "w3wp crashes",
        T1,
        T1,
        120,
        ("reboot-pending",),
        "KB2009746",
        ("https://support/kb/2009746",),
        (EV_FULL, EV_MIN),
    ),
    "Diagnosis/defaults": lambda: Diagnosis(None, None, None, "no failure found"),
    "ComponentFileLevel/full": lambda: CFL_FULL,
    "ComponentFileLevel/defaults": lambda: CFL_MIN,
    "ComponentLevels/full": lambda: ComponentLevels(
        "iis6", "IIS 6.0 worker-process core", (CFL_FULL, CFL_MIN)
    ),
    "ComponentLevels/defaults": lambda: ComponentLevels("iis6", "IIS 6.0", ()),
    # scanner.diff.model
    "Side/full": lambda: Side(
        "before.vhd", "before.vhd", "WEB01", "Windows Server 2003", 2, "Service Pack 2"
    ),
    "Side/defaults": lambda: Side("parent of x.avhd", None, None, None, None, None),
    "Verdict/full": lambda: Verdict(
        "2010-01-02T03:04:05+00:00", "KB973917", "files-below-service-pack", "broke"
    ),
    "Verdict/defaults": lambda: Verdict(None, None, None),
    "UpdateRef/full": lambda: UREF_FULL,
    "UpdateRef/defaults": lambda: UREF_MIN,
    "UpdateChange/full": lambda: UpdateChange("KB973917", UREF_MIN, UREF_FULL),
    "FileRef/full": lambda: FREF_FULL,
    "FileRef/defaults": lambda: FREF_MIN,
    "Attribution/full": lambda: Attribution("KB973917", "recorded-file", "Filelist names w3core.dll"),
    "FileChange/full": lambda: FileChange(
        "WINDOWS\\system32\\w3core.dll",
        FREF_MIN,
        FREF_FULL,
        Attribution("KB973917", "install-time", "within 15 minutes"),
    ),
    "FileChange/unattributed": lambda: FileChange("WINDOWS\\system32\\w3core.dll", FREF_MIN, FREF_FULL, None),
    "RenameRef/full": lambda: RenameRef("\\??\\C:\\WINDOWS\\w3core.dll.new", ""),
    "FindingRef/full": lambda: FindingRef(
        "files-below-service-pack", "critical", "IIS below SP2", ("a", "b")
    ),
    "FindingRef/defaults": lambda: FindingRef("reboot-pending", None, None, ()),
    "ScanDiff/full": lambda: ScanDiff(
        Side("a", "a", "WEB01", "W2K3", 1, "Service Pack 1"),
        Side("b", "b", "WEB01", "W2K3", 2, "Service Pack 2"),
        "SP2 installed",
        True,
        Verdict(None, None, None),
        Verdict("2010-01-02T03:04:05+00:00", "KB973917", "x"),
        True,
        (UREF_FULL,),
        (UREF_MIN,),
        (UpdateChange("KB1", UREF_MIN, UREF_FULL),),
        (FileChange("p", FREF_MIN, FREF_FULL, None),),
        (FREF_FULL,),
        (FREF_MIN,),
        (RenameRef("s", "d"),),
        (RenameRef("s2", ""),),
        (FindingRef("r", "info", "t", ("f",)),),
        (FindingRef("g", None, None, ()),),
        (("hotfix", 2), ("reboot", 1)),
        (10, 13),
        ("a note",),
    ),
    "ScanDiff/defaults": lambda: ScanDiff(
        Side("a", None, None, None, None, None),
        Side("b", None, None, None, None, None),
        "no change",
        False,
        Verdict(None, None, None),
        Verdict(None, None, None),
        False,
    ),
    # scanner.repro.model
    "MediaFact/full": lambda: MFACT_FULL,
    "MediaFact/defaults": lambda: MediaFact("language", None, "nothing says"),
    "BaseMedia/full": lambda: BASE_FULL,
    "StepFile/full": lambda: StepFile(
        "WINDOWS\\system32\\w3core.dll", "6.0.3790.4584", "recorded by KB973917"
    ),
    "StepFile/defaults": lambda: StepFile("WINDOWS\\system32\\w3core.dll", None),
    "ReproStep/full": lambda: STEP_FULL,
    "ReproStep/defaults": lambda: ReproStep(1, "install-os", "Install the OS", None, None),
    "FailureSign/full": lambda: SIGN_FULL,
    "FailureSign/defaults": lambda: FailureSign("crash", "w3wp.exe", None, None, 1, None, None),
    "ExpectedSymptom/full": lambda: SYMPTOM_FULL,
    "ReproPlan/full": lambda: ReproPlan(
        "image.vhd",
        "Windows Server 2003 SP2 x86 — host WEB01",
        BASE_FULL,
        (STEP_FULL,),
        "KB973917",
        "files-below-service-pack",
        "component-installed-from-older-media",
        "KB2009746",
        SYMPTOM_FULL,
        ("the language is unknown",),
    ),
    "ReproPlan/defaults": lambda: ReproPlan(
        "image.vhd", "unknown", BASE_FULL, (), None, None, None, None, None
    ),
    # scanner.preflight.model
    "PreflightFile/full": lambda: PFILE_FULL,
    "PreflightFile/defaults": lambda: PreflightFile("WINDOWS\\system32\\w3core.dll", None, None),
    "PreflightReason/full": lambda: PREASON_FULL,
    "PreflightReason/defaults": lambda: PreflightReason("no-profile", "missing", "no profile"),
    "PreflightVerdict/full": lambda: PVERDICT_FULL,
    "PreflightVerdict/defaults": lambda: PreflightVerdict("KB1", "unknown", ()),
    "ServerPreflight/full": lambda: ServerPreflight(
        "image.vhd", (PVERDICT_FULL,), "WEB01", "Windows Server 2003", "5.2.3790", 1, "x86", "could not read"
    ),
    "ServerPreflight/defaults": lambda: ServerPreflight("image.vhd", ()),
    # scanner.fleet.groups, scanner.render.meta, scanner.evidence.source, scanner.collectors
    "Group/full": lambda: Group(
        ("files-below-service-pack", ("iis6",), (1,), 2), ("web01", "web02"), (("KB973917", 2), ("", 1))
    ),
    "RunMeta/full": lambda: RunMeta(
        "1.4.0", "sha256:0123456789abcdef", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    ),
    "SourceDescription/full": lambda: SourceDescription(
        "image.vhd",
        1024,
        ["vhd"],
        [
            VolumeDescription(0, 32256, 1000, "ntfs", "WINDOWS", "C", ("uploads/auto/C%3A", ""), "inetpub"),
            VolumeDescription(1, 0, 10, None, None),
        ],
        "windows",
        ["parent.vhd", "image.avhd"],
        "triage",
        ["a note"],
    ),
    "SourceDescription/defaults": lambda: SourceDescription("x", 0, []),
    "UninstallFolder/full": lambda: UninstallFolder(
        "WINDOWS\\$NtUninstallKB973917$",
        "KB973917",
        T1,
        T2,
        (
            FileState(
                "WINDOWS\\$NtUninstallKB973917$\\w3core.dll",
                "6.0.3790.3959",
                None,
                None,
                None,
                10,
                None,
                T1,
                T2,
            ),
        ),
        (P_FULL,),
        "hotfix-backup",
    ),
    "UninstallFolder/defaults": lambda: UninstallFolder(
        "WINDOWS\\$NtServicePackUninstall$", None, None, None, (), ()
    ),
    "ComponentFolder/full": lambda: ComponentFolder(
        "WINDOWS\\system32\\inetsrv",
        "iis6",
        1,
        False,
        True,
        40,
        2,
        30,
        3,
        8,
        3,
        45,
        65536,
        "cap reached",
        (P_FULL,),
    ),
    "ComponentFolder/defaults": lambda: ComponentFolder(
        "WINDOWS\\system32\\inetsrv", "iis6", 0, True, False, None, 0, 0, 0, 0, 0, 0, 0
    ),
}

#: Every case's JSON, reviewed by a person (tests/golden/codec/records.json; its first version was the
#: hand-written to_dict methods' output, copied literally). Regenerate with PATCHMORTEM_UPDATE_GOLDEN=1 and
#: read the diff: a contract only ever gains keys.
GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "codec" / "records.json"
UPDATE = os.environ.get("PATCHMORTEM_UPDATE_GOLDEN") == "1"
EXPECTED: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))


def _as_text(data: Any) -> str:
    """JSON text, keys as written: two dicts with the same items in another order differ."""
    return json.dumps(data, indent=1, ensure_ascii=False)


@pytest.mark.parametrize("case", list(CASES))
def test_record_json_is_the_contract(case: str) -> None:
    found = CASES[case]().to_dict()
    if UPDATE:
        golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
        golden[case] = json.loads(json.dumps(found))
        GOLDEN.write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    assert json.loads(json.dumps(found)) == EXPECTED[case]
    assert _as_text(found) == _as_text(EXPECTED[case])  # same key order, at every level


# -- the codec's own rules ---------------------------------------------------------------------------------


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass(frozen=True)
class Version:
    """A small value type that says how it is written (as FileVersion does): its ``__json__`` wins."""

    parts: tuple[int, ...]

    def __json__(self) -> str:
        return ".".join(map(str, self.parts))


@dataclasses.dataclass(frozen=True)
class Sample(JsonRecord):
    name: str
    colour: Colour
    version: Version | None
    when: datetime | None
    named: tuple[tuple[str, str], ...]
    counts: tuple[tuple[str, int], ...]  # not (str, str) pairs: a list of lists
    nested: tuple[Provenance, ...]
    table: dict[str, Any]
    note: str = ""

    json_shape: ClassVar[JsonShape] = JsonShape(
        omit_empty=("note",), rename={"named": "details"}, computed={"first": lambda s: s.nested[0]}
    )


def test_each_value_type_has_one_rule() -> None:
    sample = Sample(
        "x",
        Colour.RED,
        Version((6, 0, 3790, 3959)),
        T2,
        (("a", "1"), ("b", "2")),
        (("c", 3),),
        (P_MIN,),
        {"k": (T1, None)},
    )
    assert sample.to_dict() == {
        "name": "x",
        "colour": "red",
        "version": "6.0.3790.3959",
        "when": "2010-01-02T03:04:05.000006+00:00",
        "details": {"a": "1", "b": "2"},
        "counts": [["c", 3]],
        "nested": [{"artifact": "WINDOWS\\KB973917.log", "locator": ""}],
        "table": {"k": ["2009-12-09T14:30:05+00:00", None]},
        "first": {"artifact": "WINDOWS\\KB973917.log", "locator": ""},
    }
    assert encode(dataclasses.replace(sample, note="kept", version=None))["note"] == "kept"


def test_a_value_without_a_json_form_fails_loudly() -> None:
    sample = Sample("x", Colour.RED, None, None, (), (), (), {"k": {1, 2}})
    with pytest.raises(TypeError, match="set"):
        sample.to_dict()


@dataclasses.dataclass(frozen=True)
class BadShape(JsonRecord):
    name: str
    json_shape: ClassVar[JsonShape] = JsonShape(omit_empty=("nmae",))


@dataclasses.dataclass(frozen=True)
class BadOrder(JsonRecord):
    name: str
    json_shape: ClassVar[JsonShape] = JsonShape(order=("name", "nmae"))


@dataclasses.dataclass(frozen=True)
class BadFlatten(JsonRecord):
    nmae: Provenance
    json_shape: ClassVar[JsonShape] = JsonShape(flatten=("nmae",), omit_empty=("nmae",))


@pytest.mark.parametrize("cls", [BadShape, BadOrder, BadFlatten])
def test_a_shape_naming_no_field_fails(cls: type) -> None:
    with pytest.raises(TypeError, match="nmae|flattened"):
        plan_of(cls)


def _records(cls: type = JsonRecord) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_records(sub)]
    return found


def test_every_record_shape_names_real_fields() -> None:
    """Every record of the package compiles (a shape naming a field that was renamed fails here, not in a
    report); the test samples above are records too."""
    records = [cls for cls in _records() if cls.__module__.startswith("scanner.")]
    assert len(records) > 40
    for cls in records:
        assert plan_of(cls), cls
        assert encoder_of(cls).__doc__.startswith(f"def encode_{cls.__name__}(r):"), cls  # type: ignore[union-attr]


def test_records_not_in_a_contract_of_their_own_still_encode() -> None:
    """PendingRename is written by the inventory report field by field; the codec writes the same keys."""
    rename = PendingRename("\\??\\C:\\a.dll.new", "\\??\\C:\\a.dll", True, (P_MIN,))
    assert rename.to_dict() == {
        "source": "\\??\\C:\\a.dll.new",
        "destination": "\\??\\C:\\a.dll",
        "replace_existing": True,
        "sources": [{"artifact": "WINDOWS\\KB973917.log", "locator": ""}],
    }
    run = ErrorRun(T1, T2, 3, ((503, 3),), P_MIN, (("AppOffline", 3),), ("DefaultAppPool",))
    assert run.to_dict()["statuses"] == [[503, 3]]
    day = TrafficDay("w3c", "W3SVC1", T1, 1, T1, T1, T1, ((200, 1),), ((T1, 1, 0),), (run,), None, P_MIN)
    assert day.to_dict()["hourly"] == [["2009-12-09T14:30:05+00:00", 1, 0]]
