"""What event records mean, on the literal shapes real logs store (issue 13).

Every insertion-string tuple here was seen in a real log (plaso's XP ``SysEvent.Evt`` and 2008 R2
``System.evtx``, see tests/real/test_real_events.py) or is the layout a message table gives (cited in
profiles/events/*.toml); CI has no real corpus, so these literals are what pins the interpretation down.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from scanner.errors import ProfileError
from scanner.knowledge.events import load_event_catalog
from scanner.knowledge.profiles import Knowledge
from scanner.model import EventRecord, Provenance
from scanner.model.facts_bundle import Facts
from scanner.model.update_ids import is_title_list, title_update_ids, titles_in
from scanner.timeline import build_timeline
from scanner.timeline.observe import Observation
from scanner.timeline.observe_events import from_events

UTC = timezone.utc
CATALOG = load_event_catalog()
# The event catalog alone: no OS profile, no episode thresholds (events only, as the records give them).
KNOWLEDGE = Knowledge((), (), CATALOG, (), ())
T0 = datetime(2011, 9, 9, 7, 0, 52, tzinfo=UTC)
XP22 = ("15", "\n- Update for Windows XP (KB898461)\n- Microsoft Windows Installer 3.1")


def record(
    provider: str, event_id: int, *strings: str, at: datetime = T0, log: str = "System"
) -> EventRecord:
    return EventRecord(
        log, provider, event_id, "information", at, 1, strings, source=Provenance("x.evt", "r1")
    )


def observe(*records: EventRecord) -> list[Observation]:
    return list(from_events(records, CATALOG, None, "HOST"))


def installs(*records: EventRecord) -> list[Observation]:
    return [o for o in observe(*records) if o.group == "install"]


# --- titles -----------------------------------------------------------------------------------------------


def test_title_lists_split_and_a_cut_id_is_not_trusted() -> None:
    assert titles_in(XP22[1]) == ("Update for Windows XP (KB898461)", "Microsoft Windows Installer 3.1")
    assert is_title_list(XP22[1]) and not is_title_list("Update for Windows XP (KB898461)")
    assert titles_in("Windows Malicious Software Removal Tool - September 2011 (KB890830)") == (
        "Windows Malicious Software Removal Tool - September 2011 (KB890830)",
    )
    assert title_update_ids("Security Update for Windows XP (KB91043") == ()  # cut at 999 characters
    assert title_update_ids("KB898461") == ("KB898461",)
    assert title_update_ids(
        "Definition Update for Windows Defender - KB915597 (Definition 1.227.2715.0)"
    ) == ("KB915597",)


def test_event_22_attests_its_kb_and_no_update_called_15() -> None:
    found = installs(record("Windows Update Agent", 22, *XP22))
    assert [(o.key, o.update_ids, o.role) for o in found] == [("KB898461", ("KB898461",), "reboot-required")]
    assert ("restart_in_minutes", "15") in found[0].details


def test_a_cut_title_list_attests_only_its_whole_ids() -> None:
    cut = "\n- Update for Windows XP (KB968389)\n- Security Update for Windows XP (KB91043"
    assert [o.key for o in installs(record("Windows Update Agent", 21, cut))] == ["KB968389"]
    cut = "\n- Update for Windows XP (KB968389)\n- Securi"
    assert [o.key for o in installs(record("Windows Update Agent", 21, cut))] == ["KB968389"]


def test_event_19_one_title_and_a_titled_install_without_kb() -> None:
    [one] = installs(record("Windows Update Agent", 19, "Update for Windows XP (KB898461)"))
    assert (one.key, one.update_ids, one.role) == ("KB898461", ("KB898461",), "end")
    [titled] = installs(record("Windows Update Agent", 19, "Microsoft Windows Installer 3.1"))
    assert (titled.key, titled.update_ids) == ("Microsoft Windows Installer 3.1", ())
    assert ("titled", "no update id") in titled.details
    assert installs(record("Windows Update Agent", 19, "15")) == []
    assert installs(record("Windows Update Agent", 19, "")) == []


def test_scheduled_updates_are_not_installs() -> None:
    strings = ("Friday, September 09, 2011", "3:00 AM", "\n- Update for Windows XP (KB898461)")
    assert observe(record("Windows Update Agent", 18, *strings)) == []
    assert observe(record("Microsoft-Windows-WindowsUpdateClient", 17, "\n- Update (KB898461)")) == []


def test_event_20_error_then_title_and_vista_43_start() -> None:
    [failed] = installs(record("Windows Update Agent", 20, "0x80070643", "Security Update (KB958644)"))
    assert (failed.key, failed.role, dict(failed.details)["error"]) == (
        "KB958644",
        "install-failed",
        "0x80070643",
    )
    wuc = record("Microsoft-Windows-WindowsUpdateClient", 43, "Update for Windows (KB2919355)", "{guid}", "1")
    [started] = installs(wuc)
    assert (started.key, started.role) == ("KB2919355", "start")


@pytest.mark.parametrize(
    ("provider", "strings", "key", "suffix"),
    [
        ("NtServicePack", ("Windows XP", "KB943729"), "KB943729", None),
        ("WindowsMedia", ("Windows Media Player", "KB979402_WM9L"), "KB979402", "WM9L"),
        ("Windows Installer 3.1", ("Windows Installer", "KB893803v2"), "KB893803", "v2"),
        ("NtServicePack", ("Internet Explorer 8", "KB2618444-IE8"), "KB2618444", "IE8"),
    ],
)
def test_4377_from_every_provider_names_its_kb(
    provider: str, strings: tuple[str, str], key: str, suffix: str | None
) -> None:
    [found] = installs(record(provider, 4377, *strings))
    assert (found.key, found.update_ids) == (key, (key,))
    assert dict(found.details)["package"] == strings[1]
    assert dict(found.details).get("package_suffix") == suffix


def test_4371_names_the_service_pack_number() -> None:
    [found] = installs(record("NtServicePack", 4371, "Windows XP", "Service Pack 3", "Service Pack 2"))
    assert (found.key, found.sp_level, found.update_ids, found.kind) == ("SP3", 3, (), "service-pack")
    assert dict(found.details)["previous"] == "Service Pack 2"


def test_4377_wganotify_is_a_titled_install() -> None:
    [found] = installs(record("WgaNotify", 4377, "Windows XP", "WgaNotify"))
    assert (found.key, found.update_ids) == ("WgaNotify", ())


def test_fused_install_entries_carry_update_ids_and_no_number_is_an_id() -> None:
    events = [
        record("Windows Update Agent", 19, "Update for Windows XP (KB898461)", at=T0 - timedelta(minutes=2)),
        record("Windows Update Agent", 19, "Microsoft Windows Installer 3.1", at=T0 - timedelta(minutes=1)),
        record("Windows Update Agent", 22, *XP22),
    ]
    timeline = build_timeline(Facts({}, events=tuple(events)), KNOWLEDGE)
    by_subject = {e.subject: e for e in timeline.entries}
    assert set(by_subject) == {"KB898461", "Microsoft Windows Installer 3.1"}
    assert by_subject["KB898461"].update_ids == ("KB898461",)
    assert dict(by_subject["KB898461"].details)["reboot_required"] == "yes"
    assert by_subject["Microsoft Windows Installer 3.1"].update_ids == ()


# --- boots and shutdowns ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strings", "level"),
    [
        (("5.01.", "2600", "Service Pack 3", "Uniprocessor Free"), 3),  # real XP .evt
        (("6.01.", "7601", "Service Pack 1", "Multiprocessor Free", "17514"), 1),  # real 2008 R2 .evtx
        (("5.02.", "3790", "", "Uniprocessor Free"), 0),  # RTM: eventlog.c writes "" for no CSDVersion
        (("6.01., 7601, Service Pack 1, Multiprocessor Free, 17514",), None),  # glued: %3 absent, unknown
    ],
)
def test_6009_gives_the_sp_level_of_each_boot(strings: tuple[str, ...], level: int | None) -> None:
    [boot] = observe(record("EventLog", 6009, *strings))
    assert (boot.group, boot.sp_level) == ("boot", level)
    timeline = build_timeline(Facts({}, events=(record("EventLog", 6009, *strings),)), KNOWLEDGE)
    [entry] = timeline.entries
    assert (entry.kind, entry.sp_level) == ("reboot", level)


def test_6008_nt6_positional_strings_with_marks_give_the_shutdown_time() -> None:
    strings = ("1:34:44 PM", "\u200e8/\u200e25/\u200e2015", "", "", "934", "", "")  # real 2008 R2 .evtx
    [obs] = observe(record("EventLog", 6008, *strings, at=datetime(2015, 8, 25, 20, 0, tzinfo=UTC)))
    assert obs.at == datetime(2015, 8, 25, 13, 34, 44, tzinfo=UTC)  # no zone known: taken as UTC
    assert "shutdown time 8/25/2015 1:34:44 PM local" in obs.source.says
    assert obs.summary == "The previous system shutdown at 1:34:44 PM on 8/25/2015 was unexpected"


def test_without_a_zone_the_6008_local_time_taken_as_utc_is_a_gap() -> None:
    """An evtx-only triage folder has no SYSTEM hive: the UTC shown for 6008 is an assumption, said so."""
    strings = ("1:34:44 PM", "\u200e8/\u200e25/\u200e2015", "", "", "934", "", "")
    event = record("EventLog", 6008, *strings, at=datetime(2015, 8, 25, 20, 0, tzinfo=UTC))
    timeline = build_timeline(Facts({}, events=(event,)), KNOWLEDGE)
    [gap] = [g for g in timeline.gaps if g.what == "event local times"]
    assert "taken as UTC" in gap.reason and gap.sources == (Provenance("x.evt", "r1"),)


# --- failures -----------------------------------------------------------------------------------------------


def test_7023_terminated_with_an_error_keeps_the_error() -> None:
    [obs] = observe(record("Service Control Manager", 7023, "Windows Time", "%%1792"))
    assert obs.summary == "The Windows Time service terminated with the following error: %%1792"
    assert dict(obs.details)["error"] == "%%1792"
    [obs] = observe(
        record("Service Control Manager", 7031, "McAfee McShield", "1", "5000", "1", "Restart the service")
    )
    assert "terminated unexpectedly" in obs.summary and dict(obs.details)["action"] == "Restart the service"


def test_application_error_layout_by_string_count() -> None:
    nt5 = ("w3wp.exe", "6.0.3790.1830", "kernel32.dll", "5.2.3790.4062", "0000bef7")
    [crash] = observe(record("Application Error", 1000, *nt5, log="Application"))
    assert (crash.group, crash.subject, dict(crash.details)["module"]) == (
        "crash",
        "w3wp.exe",
        "kernel32.dll",
    )
    nt6 = ("w3wp.exe", "7.5.7601.17514", "4ce7afa2", "KERNELBASE.dll", "6.1.7601.23915", "59b94ee4",
           "e0434352", "0000c54f", "9d4", "01d1", "c:\\windows\\system32\\inetsrv\\w3wp.exe",
           "C:\\Windows\\system32\\KERNELBASE.dll", "7c2a6d1e")  # fmt: skip
    [crash] = observe(record("Application Error", 1000, *nt6, log="Application"))
    assert dict(crash.details)["module"] == "KERNELBASE.dll"
    assert dict(crash.details)["exception"] == "0xe0434352"


def test_iis_failures_name_their_component() -> None:
    [pool] = observe(record("W3SVC", 1009, "DefaultAppPool", "6280", "c0000005"))
    assert (pool.component, pool.subject, dict(pool.details)["exit_code"]) == (
        "iis",
        "DefaultAppPool",
        "c0000005",
    )
    [isapi] = observe(
        record("W3SVC-WP", 2262, "c:\\...\\aspnet_isapi.dll", "Deadlock detected", log="Application")
    )
    assert (isapi.component, dict(isapi.details)["reason"]) == ("iis", "Deadlock detected")
    [crash] = observe(
        record("Application Error", 1000, "w3wp.exe", "6.0", "x.dll", "1.0", "0", log="Application")
    )
    assert crash.component == ""  # an application crash names its process, not a component


# --- the catalog --------------------------------------------------------------------------------


def test_catalog_rejects_bad_optional_keys(tmp_path: Path) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "x.toml").write_text(
        '[[event]]\nid = "a"\nproviders = ["P"]\nids = [1]\nrole = "failure"\nkind = "crash"\n'
        'subject = "%1"\nsummary = "s"\nwhy = "w"\nmin_strings = -1\n',
        encoding="utf-8",
    )
    with pytest.raises(ProfileError, match="min_strings"):
        load_event_catalog(tmp_path)
    text = (folder / "x.toml").read_text(encoding="utf-8").replace("min_strings = -1", 'title = "%1"')
    (folder / "x.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError, match="unknown key 'title' \\(did you mean 'titles'\\?\\)"):
        load_event_catalog(tmp_path)
