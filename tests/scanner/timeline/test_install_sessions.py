"""Issue 13: re-installs are their own entries, every service-pack entry has a number, outcomes are typed.

The log lines marked "confirmed" are quoted from public samples (the same ones cited in
scanner/collectors/logs/updateexe.py): a KB928843.log posted on tutorials-win.com and a Windows Server 2003
SP2 svcpack.log excerpt on technicalpath.blogspot.com. Lines marked "ours" are the shapes the parser accepts
without a public sample (scanner/collectors/logs/leftbehind.py says which).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from scanner.collectors.logs.leftbehind import left_behind
from scanner.collectors.logs.updateexe import parse_updateexe
from scanner.collectors.uninstall import UninstallFolder
from scanner.knowledge.events import load_event_catalog
from scanner.knowledge.profiles import Knowledge
from scanner.model import (
    EventRecord,
    FileLeftBehind,
    LogEvent,
    Provenance,
    SourceTime,
    SystemFacts,
    TimelineSource,
    UpdateRecord,
)
from scanner.model.facts_bundle import Facts
from scanner.model.versions import FileVersion
from scanner.timeline import Timeline, build_timeline
from scanner.timeline.fuse import UNNUMBERED_SP, fuse
from scanner.timeline.observe import Observation
from scanner.timeline.observe_logs import from_logs

UTC = timezone.utc
SYSEVT = "WINDOWS\\system32\\config\\SysEvent.Evt"
SOFTWARE = "WINDOWS\\system32\\config\\SOFTWARE"
# The event catalog alone: no OS profile numbers service packs by file versions, no episode is looked for.
KNOWLEDGE = Knowledge((), (), load_event_catalog(), (), ())


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def system(csd: str | None = "Service Pack 2", level: int = 2) -> SystemFacts:
    return SystemFacts(
        "Microsoft Windows Server 2003", "5.2.3790", 3790, level, csd, "x86", "WEB01", None, "WINDOWS", None
    )


def ntservicepack(kb: str, at: datetime, number: int) -> EventRecord:
    return EventRecord(
        "System",
        "NtServicePack",
        4377,
        "information",
        at,
        number,
        ("Windows Server 2003", kb),
        source=Provenance(SYSEVT, f"record {number}"),
    )


def hotfix_record(kb: str, written: datetime) -> UpdateRecord:
    key = f"Microsoft\\Updates\\Windows Server 2003\\SP3\\{kb}"
    return UpdateRecord(
        kb,
        "hotfix",
        written,
        "second",
        "installed",
        (),
        (Provenance(SOFTWARE, key),),
        3,
        f"Security Update for Windows Server 2003 ({kb})",
        times=(SourceTime(written, "second", "Updates key last written", Provenance(SOFTWARE, key)),),
    )


def run(
    facts: Facts,
    events: list[EventRecord] = (),  # type: ignore[assignment]
    logs: list[LogEvent] = (),  # type: ignore[assignment]
    knowledge: Knowledge = KNOWLEDGE,
) -> Timeline:
    return build_timeline(facts.adding(events=events, log_events=logs), knowledge)


# -- re-installs ------------------------------------------------------------------------------------------


def test_a_reinstall_hours_later_is_its_own_entry_linked_to_the_same_update() -> None:
    first, second = t("2008-10-24T07:31:15"), t("2008-10-24T13:02:40")
    facts = Facts({}, system(), updates=(hotfix_record("KB958644", second + timedelta(seconds=5)),))
    timeline = run(facts, [ntservicepack("KB958644", first, 1), ntservicepack("KB958644", second, 2)])
    entries = [e for e in timeline.entries if "KB958644" in e.update_ids]
    assert [e.at for e in entries] == [first, second]
    assert {e.subject for e in entries} == {"KB958644"}
    # The registry keeps only the last install: its key's last write joins the second session.
    assert [{s.type for s in e.sources} for e in entries] == [{"event"}, {"event", "registry"}]


def test_two_update_exe_sessions_minutes_apart_are_two_runs() -> None:
    lines = [
        "2.703: 2008/10/24 07:31:15.000 (local)",
        "2.703: c:\\ca03c3c4ff2d4881eff7a8\\update\\update.exe (version 6.2.29.0)",
        "2.703: Hotfix started with following command line:",
        "9.100: Update.exe extended error code = 0x0",
        "1.500: 2008/10/24 07:40:02.000 (local)",
        "1.500: Hotfix started with following command line: /quiet",
        "7.250: Update.exe extended error code = 0x0",
    ]
    events = parse_updateexe(lines, "WINDOWS\\KB958644.log", None).events
    timeline = run(Facts({}, system()), logs=events)
    entries = [e for e in timeline.entries if e.subject == "KB958644"]
    assert [e.at for e in entries] == [t("2008-10-24T07:31:15"), t("2008-10-24T07:40:02")]
    assert all(e.outcome is not None and e.outcome.result == "success" for e in entries)


def test_one_long_service_pack_run_stays_one_entry() -> None:
    # The backup folder is created at the start, 4377 is logged at the end, 50 minutes later.
    start, end = t("2007-06-12T02:00:00"), t("2007-06-12T02:50:00")
    facts = Facts({}, system())
    facts = facts.adding(
        uninstall_folders=[
            UninstallFolder(
                "WINDOWS\\$NtServicePackUninstall$",
                None,
                start,
                start,
                (),
                (Provenance("WINDOWS\\$NtServicePackUninstall$", "MFT entry 77"),),
            )
        ]
    )
    record = EventRecord(
        "System",
        "NtServicePack",
        4377,
        "information",
        end,
        9,
        ("Windows Server 2003", "Service Pack 2"),
        source=Provenance(SYSEVT, "record 9"),
    )
    timeline = run(facts, [record])
    [entry] = [e for e in timeline.entries if e.kind == "service-pack"]
    assert (entry.at, entry.end, entry.sp_level, entry.subject) == (start, end, 2, "Service Pack 2")


# -- service-pack numbers ---------------------------------------------------------------------------------

SP2_CANCELLED = [
    # Header: the confirmed KB928843.log shape; the banner word is update.exe's own for an SP run.
    "2.703: 2007/06/11 22:00:00.000 (local)",
    "2.703: c:\\d3a1b9f0c4e2a7b8c9d0e1f2\\update\\update.exe (version 6.3.4.0)",
    "2.703: Service Pack started with following command line:",
    "40.125: Copied file:  C:\\WINDOWS\\system32\\inetsrv\\w3core.dll",
    # Confirmed (technicalpath.blogspot.com, Windows Server 2003 SP2 svcpack.log):
    "962.656: Service Pack 2 Setup canceled.",
    "962.656: Update.exe extended error code = 0xf00d",
    "962.656: Update.exe return code was masked to 0x643 for MSI custom action compliance.",
]


def test_the_svcpack_banner_numbers_the_sp_and_the_outcome_is_typed() -> None:
    events = parse_updateexe(SP2_CANCELLED, "WINDOWS\\svcpack.log", None).events
    assert {e.sp_level for e in events} == {2}
    [end] = [e for e in events if e.what == "install-end"]
    assert end.outcome is not None
    assert (end.outcome.result, end.outcome.files_replaced) == ("cancelled", 1)
    assert (end.outcome.return_code, end.outcome.extended_error) == (0x643, 0xF00D)
    [entry] = [e for e in run(Facts({}, system()), logs=events).entries if e.kind == "service-pack"]
    assert (entry.subject, entry.sp_level, entry.outcome) == ("Service Pack 2", 2, end.outcome)


def test_a_masked_zero_return_code_does_not_hide_a_nonzero_extended_error() -> None:
    lines = [
        "1.000: 2009/12/09 10:40:00.000 (local)",
        "1.000: Hotfix started with following command line: /quiet",
        "12.500: Update.exe extended error code = 0xf201",  # confirmed shape (KB979309 post)
        "12.500: Return Code = 0",  # ours
    ]
    events = parse_updateexe(lines, "WINDOWS\\KB973917.log", None).events
    [end] = [e for e in events if e.what == "install-end"]
    assert end.outcome is not None
    assert (end.outcome.result, end.outcome.return_code, end.outcome.extended_error) == ("failed", 0, 0xF201)


def _obs(
    group: str,
    key: str,
    at: datetime | None,
    *,
    role: str = "attest",
    sp: int | None = None,
    kind: str = "service-pack",
) -> Observation:
    source = TimelineSource(
        "event" if group == "boot" else "log",
        at,
        "second",
        f"{group} {key}",
        Provenance("X", f"{group} {at}"),
    )
    return Observation(group, key, kind, at, "second" if at else None, source, role=role, sp_level=sp)


def test_the_next_boot_numbers_a_service_pack_no_other_source_names() -> None:
    start = t("2007-06-12T02:00:00")
    observations = [
        _obs("boot", "WEB01", start - timedelta(days=30), role="start", sp=1, kind="reboot"),
        _obs("install", "SP?", start, role="start"),
        _obs("install", "SP?", start + timedelta(minutes=20), role="end"),
        _obs("boot", "WEB01", start + timedelta(minutes=25), role="start", sp=2, kind="reboot"),
    ]
    [sp] = [e for e in fuse(observations, "WEB01") if e.kind == "service-pack"]
    assert (sp.sp_level, sp.subject) == (2, "Service Pack 2")
    assert dict(sp.details)["sp_from"] == "the SP level the next boot reports"
    assert any(s.type == "event" for s in sp.sources)


def test_a_boot_at_the_same_level_does_not_number_it_and_csdversion_does() -> None:
    start = t("2007-06-12T02:00:00")
    observations = [
        _obs("boot", "WEB01", start - timedelta(days=1), role="start", sp=2, kind="reboot"),
        _obs("install", "SP?", start, role="start"),
        _obs("boot", "WEB01", start + timedelta(minutes=25), role="start", sp=2, kind="reboot"),
    ]
    [sp] = [e for e in fuse(observations, "WEB01") if e.kind == "service-pack"]
    assert sp.sp_level is None and sp.subject == UNNUMBERED_SP
    says = "CSDVersion = Service Pack 3"
    source = TimelineSource("registry", None, None, says, Provenance(SOFTWARE))
    csd = Observation(
        "sp-now",
        "csd",
        "service-pack",
        None,
        None,
        source,
        anchor=False,
        sp_level=3,
        sp_from="CSDVersion",
    )
    [sp] = [e for e in fuse([*observations, csd], "WEB01") if e.kind == "service-pack"]
    assert (sp.sp_level, sp.subject, dict(sp.details)["sp_from"]) == (3, "Service Pack 3", "CSDVersion")


def test_an_unnumbered_service_pack_keeps_no_number_and_a_gap_says_so() -> None:
    lines = [
        "2.703: 2007/06/11 22:00:00.000 (local)",
        "2.703: Service Pack started with following command line:",
        "900.000: Update.exe extended error code = 0x0",
    ]
    events = parse_updateexe(lines, "WINDOWS\\svcpack.log", None).events
    timeline = run(Facts({}, system(csd=None, level=0)), logs=events)
    [sp] = [e for e in timeline.entries if e.kind == "service-pack"]
    assert (sp.sp_level, sp.subject) == (None, UNNUMBERED_SP)
    gaps = [g for g in timeline.gaps if g.what.startswith("service pack installed")]
    assert len(gaps) == 1 and "not guessed" in gaps[0].reason


def test_from_logs_keys_a_numbered_svcpack_session_by_its_number() -> None:
    events = parse_updateexe(SP2_CANCELLED, "WINDOWS\\svcpack.log", None).events
    assert {o.key for o in from_logs(events)} == {"SP2"}


# -- files left behind ------------------------------------------------------------------------------------


def test_every_left_behind_shape_is_typed() -> None:
    # All ours (no public sample has a per-file line): see scanner/collectors/logs/leftbehind.py.
    w3dt = "C:\\WINDOWS\\system32\\inetsrv\\w3dt.dll"
    assert left_behind(f"File {w3dt} is in use, will be replaced on reboot") == FileLeftBehind(
        w3dt, "in-use-delayed"
    )
    assert left_behind("DelayReplace: C:\\WINDOWS\\system32\\inetsrv\\w3tp.dll") == FileLeftBehind(
        "C:\\WINDOWS\\system32\\inetsrv\\w3tp.dll", "in-use-delayed"
    )
    iisutil = "C:\\WINDOWS\\system32\\iisutil.dll"
    assert left_behind(f"CopyFileEx failed for {iisutil}, error 0x20") == FileLeftBehind(
        iisutil, "copy-failed", 0x20
    )
    assert left_behind("MoveFileEx failed for C:\\WINDOWS\\system32\\x.dll; error 5") == FileLeftBehind(
        "C:\\WINDOWS\\system32\\x.dll", "move-failed", 5
    )
    not_replaced = FileLeftBehind("iisw3adm.dll", "not-replaced")
    assert left_behind("Warning: iisw3adm.dll was not replaced") == not_replaced
    # Confirmed lines that name no file left behind are not one.
    for line in (
        "DoInstallation: CleanPFR failed: 0x2",
        "In Function TestVolatileFlag, line 11873, RegOpenKeyEx failed with error 0x2",
        "InstallSingleCatalogFile: MyInstallCatalog failed for Tmp.0.ntprint.cat; error=0xfffffbfe.",
    ):
        assert left_behind(line) is None, line


def test_files_left_behind_make_the_outcome_partial_and_in_use_ones_need_a_reboot() -> None:
    lines = [
        "1.000: 2007/06/11 22:00:00.000 (local)",
        "1.000: Service Pack started with following command line:",
        "50.000: Copied file:  C:\\WINDOWS\\system32\\inetsrv\\w3core.dll",
        "51.000: File C:\\WINDOWS\\system32\\inetsrv\\w3dt.dll is in use, will be replaced on reboot",
        "52.000: Warning: C:\\WINDOWS\\system32\\inetsrv\\iisutil.dll was not replaced",
        "900.000: Update.exe extended error code = 0x0",
    ]
    events = parse_updateexe(lines, "WINDOWS\\svcpack.log", None).events
    [end] = [e for e in events if e.what == "install-end"]
    assert end.outcome is not None
    assert end.outcome.result == "partial" and end.outcome.reboot_required is True
    assert [(f.path.rsplit("\\", 1)[-1], f.reason) for f in end.outcome.left_behind] == [
        ("w3dt.dll", "in-use-delayed"),
        ("iisutil.dll", "not-replaced"),
    ]
    assert [e.detail("reason") for e in events if e.what == "file-not-replaced"] == [
        "in-use-delayed",
        "not-replaced",
    ]


def test_the_boot_after_a_cancelled_run_does_not_number_it() -> None:
    start = t("2007-06-12T02:00:00")
    cancelled = parse_updateexe(SP2_CANCELLED[:4] + SP2_CANCELLED[5:], "WINDOWS\\svcpack.log", None).events
    assert {e.sp_level for e in cancelled} == {None}
    observations = [
        *(o for o in from_logs(cancelled)),
        _obs("boot", "WEB01", start + timedelta(hours=2), role="start", sp=1, kind="reboot"),
    ]
    [sp] = [e for e in fuse(observations, "WEB01") if e.kind == "service-pack"]
    assert sp.outcome is not None and sp.outcome.result == "partial"  # one file copied, then it failed
    assert sp.sp_level is None


def test_the_versions_of_the_files_it_copied_number_a_service_pack() -> None:
    from scanner.knowledge.profiles import load_knowledge
    from scanner.model import FileState

    lines = [
        "2.703: 2007/06/12 02:00:00.000 (local)",
        "2.703: Service Pack started with following command line:",
        "900.000: Update.exe extended error code = 0x0",
    ]
    events = parse_updateexe(lines, "WINDOWS\\svcpack.log", None).events
    facts = Facts({}, system(csd=None, level=0))
    copied = t("2007-06-12T02:05:00")

    def copy(name: str, version: str) -> FileState:
        path = f"WINDOWS\\system32\\inetsrv\\{name}"
        return FileState(
            path,
            FileVersion.parse(version),
            None,
            None,
            None,
            1,
            None,
            copied,
            copied,
            sources=(Provenance(path, "MFT entry 1"),),
        )

    facts = facts.adding(files=[copy("w3core.dll", "6.0.3790.3959"), copy("w3isapi.dll", "6.0.3790.3959")])
    # The OS profiles give the SP file baselines; still no episode is looked for.
    knowledge = replace(KNOWLEDGE, os_profiles=load_knowledge().os_profiles)
    assert knowledge.os_for(facts.system) is not None
    timeline = run(facts, logs=events, knowledge=knowledge)
    [sp] = [e for e in timeline.entries if e.kind == "service-pack"]
    assert (sp.sp_level, sp.subject) == (2, "Service Pack 2")
    assert dict(sp.details)["sp_from"] == "the versions of 2 of 2 file(s) it copied"
    assert not [g for g in timeline.gaps if g.what.startswith("service pack installed")]
