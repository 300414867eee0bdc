"""Fusion rules on hand-built facts: one entry per real-world event, every source kept, conflicts shown.

These facts are what the collectors produce from real bytes (the fixture images test that end to end in
test_timeline.py); here each rule is pinned down with values a reviewer can check by eye.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from scanner.knowledge.events import load_event_catalog
from scanner.knowledge.profiles import Knowledge
from scanner.model import (
    EventRecord,
    FileState,
    LogEvent,
    Provenance,
    RecordedFile,
    SourceTime,
    SystemFacts,
    TimeZoneFacts,
    UpdateRecord,
)
from scanner.model.facts_bundle import Facts
from scanner.model.versions import FileVersion
from scanner.timeline import build_timeline

UTC = timezone.utc
SOFTWARE = "WINDOWS\\system32\\config\\SOFTWARE"
SYSEVT = "WINDOWS\\system32\\config\\SysEvent.Evt"
EASTERN = TimeZoneFacts(
    "Eastern Standard Time",
    "Eastern Standard Time",
    "Eastern Daylight Time",
    300,
    0,
    -60,
    (0, 11, 0, 1, 2, 0, 0, 0),
    (0, 3, 0, 2, 2, 0, 0, 0),
)
# The event catalog alone: no OS profile numbers service packs by file versions, no episode is looked for.
KNOWLEDGE = Knowledge((), (), load_event_catalog(), (), ())


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def system(tz: TimeZoneFacts | None = EASTERN) -> SystemFacts:
    return SystemFacts(
        "Microsoft Windows Server 2003",
        "5.2.3790",
        3790,
        2,
        "Service Pack 2",
        "x86",
        "WEB01",
        None,
        "WINDOWS",
        tz,
    )


def hotfix(
    kb: str, done: datetime, local_date: datetime, files: tuple[RecordedFile, ...] = ()
) -> UpdateRecord:
    key = f"Microsoft\\Updates\\Windows Server 2003\\SP3\\{kb}"
    return UpdateRecord(
        kb,
        "hotfix",
        done,
        "second",
        "installed",
        files,
        (Provenance(SOFTWARE, key),),
        3,
        f"Security Update for Windows Server 2003 ({kb})",
        times=(
            SourceTime(done, "second", "Updates key last written", Provenance(SOFTWARE, key)),
            SourceTime(
                local_date, "day", "InstalledDate (local date)", Provenance(SOFTWARE, key + "\\InstalledDate")
            ),
        ),
    )


def event(provider: str, event_id: int, at: datetime, *strings: str, number: int = 1) -> EventRecord:
    return EventRecord(
        "System",
        provider,
        event_id,
        "information",
        at,
        number,
        strings,
        source=Provenance(SYSEVT, f"record {number}"),
    )


def kb_log(kb: str, at: datetime) -> LogEvent:
    return LogEvent(
        "update.exe",
        "install-start",
        at,
        "second",
        kb,
        "0.000: ====",
        (("local_time", "x"),),
        Provenance(f"WINDOWS\\{kb}.log", "line 1"),
    )


def run(facts: Facts, events: list[EventRecord] = (), logs: list[LogEvent] = ()):  # type: ignore[assignment]
    return build_timeline(facts.adding(events=events, log_events=logs), KNOWLEDGE)


def test_one_install_with_four_kinds_of_source_is_one_entry() -> None:
    start, done = t("2009-12-09T15:40:00"), t("2009-12-09T15:41:15")
    facts = Facts({}, system(), updates=(hotfix("KB973917", done, t("2009-12-09T05:00:00")),))
    folder_time = start + timedelta(seconds=20)
    from scanner.collectors.uninstall import UninstallFolder

    facts = facts.adding(
        uninstall_folders=[
            UninstallFolder(
                "WINDOWS\\$NtUninstallKB973917$",
                "KB973917",
                folder_time,
                folder_time,
                (),
                (Provenance("WINDOWS\\$NtUninstallKB973917$", "MFT entry 88"),),
            )
        ]
    )
    timeline = run(
        facts,
        [event("NtServicePack", 4377, done, "Windows Server 2003", "KB973917")],
        [kb_log("KB973917", start)],
    )
    [entry] = [e for e in timeline.entries if e.subject == "KB973917"]
    assert entry.kind == "hotfix"
    assert entry.at == start and entry.precision == "second" and entry.end == done
    assert {s.type for s in entry.sources} == {"registry", "event", "log", "file"}
    assert entry.conflicts == ()


def test_a_reinstall_weeks_later_is_a_second_entry() -> None:
    first, second = t("2008-10-24T07:31:15"), t("2008-11-20T09:00:00")
    facts = Facts({}, system(), updates=(hotfix("KB958644", second, t("2008-11-20T05:00:00")),))
    timeline = run(
        facts,
        [
            event("NtServicePack", 4377, first, "Windows Server 2003", "KB958644", number=1),
            event("NtServicePack", 4377, second, "Windows Server 2003", "KB958644", number=2),
        ],
    )
    entries = [e for e in timeline.entries if e.subject == "KB958644"]
    assert [e.at for e in entries] == [first, second]


def test_a_registry_date_a_day_off_is_a_conflict_not_a_second_entry() -> None:
    # Written in Pacific time (10/23 20:10 local) but read with today's GMT rule: the day before the event.
    done = t("2008-10-24T03:11:15")
    facts = Facts({}, system(None), updates=(hotfix("KB958644", done, t("2008-10-23T00:00:00")),))
    timeline = run(facts, [event("NtServicePack", 4377, done, "Windows Server 2003", "KB958644")])
    [entry] = [e for e in timeline.entries if e.subject == "KB958644"]
    assert entry.at == done
    assert len(entry.conflicts) == 1 and "3.2 h before 2008-10-24 03:11:15 UTC" in entry.conflicts[0]
    assert "InstalledDate" in entry.conflicts[0]


def test_shutdown_and_boot_records_are_one_reboot_at_the_boot() -> None:
    boot = t("2009-12-09T15:46:00")
    facts = Facts({}, system())
    timeline = run(
        facts,
        [
            event("EventLog", 6006, boot - timedelta(seconds=95), number=1),
            event("EventLog", 6009, boot, "5.02.", "3790", "Service Pack 2", "Uniprocessor Free", number=2),
            event("EventLog", 6005, boot + timedelta(seconds=1), number=3),
        ],
    )
    [entry] = timeline.entries
    assert (entry.kind, entry.at, entry.subject, len(entry.sources)) == ("reboot", boot, "WEB01", 3)
    assert "clean shutdown" in entry.summary


def test_an_unexpected_shutdown_is_dated_by_its_local_time_text() -> None:
    facts = Facts({}, system())
    record = event("EventLog", 6008, t("2009-12-10T13:00:04"), "11:30:00 AM", "12/9/2009")
    [entry] = run(facts, [record]).entries
    assert entry.kind == "unexpected-shutdown"
    assert entry.at == t("2009-12-09T16:30:00")  # 11:30 EST = 16:30 UTC


def test_dr_watson_log_and_its_event_are_one_crash() -> None:
    when = t("2003-07-01T08:15:30")
    facts = Facts({}, system())
    log = LogEvent(
        "drwatson",
        "crash",
        when,
        "second",
        "C:\\WINNT\\system32\\inetsrv\\inetinfo.exe",
        "Application exception occurred:",
        (("exception", "c0000005"),),
        Provenance("Documents and Settings\\All Users\\Documents\\DrWatson\\drwtsn32.log", "line 3"),
    )
    timeline = run(
        facts,
        [event("DrWatson", 4097, when + timedelta(seconds=2), "inetinfo.exe", "c0000005", "0x6b9c2a10")],
        [log],
    )
    [entry] = timeline.entries
    assert (entry.kind, entry.subject, entry.at) == ("crash", "inetinfo.exe", when)
    assert {s.type for s in entry.sources} == {"log", "event"}


def test_files_join_the_install_that_made_them_and_strays_are_file_replaced() -> None:
    start = t("2009-12-09T15:40:00")
    recorded = (RecordedFile("w3core.dll", "6.0.3790.4611", "%SystemRoot%\\system32\\inetsrv"),)
    facts = Facts(
        {},
        system(),
        updates=(hotfix("KB973917", start + timedelta(seconds=75), t("2009-12-09T05:00:00"), recorded),),
    )
    prov = Provenance("WINDOWS\\system32\\inetsrv\\w3core.dll", "MFT entry 301")
    facts = facts.adding(
        files=[
            FileState(
                "WINDOWS\\system32\\inetsrv\\w3core.dll",
                FileVersion(6, 0, 3790, 4611),
                None,
                None,
                None,
                1,
                None,
                None,
                start + timedelta(seconds=40),
                sources=(prov,),
            ),
            FileState(
                "WINDOWS\\system32\\inetsrv\\asp.dll",
                FileVersion(6, 0, 3790, 1830),
                None,
                None,
                None,
                1,
                None,
                None,
                t("2005-06-14T19:22:45"),
                sources=(Provenance("WINDOWS\\system32\\inetsrv\\asp.dll", "MFT entry 302"),),
            ),
        ]
    )
    timeline = run(facts, logs=[kb_log("KB973917", start)])
    kb = next(e for e in timeline.entries if e.subject == "KB973917")
    assert any(s.type == "file" for s in kb.sources)
    stray = next(e for e in timeline.entries if e.kind == "file-replaced")
    assert stray.at == t("2005-06-14T19:22:45") and "asp.dll" in stray.summary
