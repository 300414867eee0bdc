"""Issue 14 items 4-7 on hand-built facts: the offline qfecheck and who put files back, an SP install that did
not finish by either signal, pending renames mapped back to their update, and remediation that fits the
system (``when`` steps, SP package files, known procedures).

Facts are literal (no image); knowledge is the shipped ``profiles/``. The helpers are test_rules.py's.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from scanner.collectors.uninstall import UninstallFolder
from scanner.diagnose.verdict import diagnose
from scanner.errors import ProfileError
from scanner.knowledge.components import default_profiles_dir
from scanner.knowledge.profiles import Knowledge, load_knowledge
from scanner.model import (
    FileLeftBehind,
    FileState,
    FileVersion,
    InstallOutcome,
    Inventory,
    LogEvent,
    PendingRename,
    Provenance,
    RecordedFile,
    TimelineEntry,
    UpdateRecord,
)
from tests.scanner.rules.builders import (
    SOFTWARE,
    SP1,
    SP2,
    SP2_ENTRY,
    entry,
    episodes,
    file,
    iis6,
    run,
    system,
    t,
)

INETSRV = "%SystemRoot%\\system32\\inetsrv"


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge()


def fix(
    kb: str, at: str, files: tuple[RecordedFile, ...] = (), product: str = "Windows 2000"
) -> UpdateRecord:
    key = Provenance(SOFTWARE, f"Microsoft\\Updates\\{product}\\SP5\\{kb}")
    return UpdateRecord(kb, "hotfix", t(at), "second", "installed", files, (key,), sp_folder=5)


def iis5(name: str, version: str, created: str) -> FileState:
    return replace(
        file(name, version, None, created, component="iis5"), path=f"WINNT\\system32\\inetsrv\\{name}"
    )


def win2000(files: list[FileState], updates: list[UpdateRecord], **more: object) -> Inventory:
    return Inventory(
        source={},
        system=system("5.0.2195", 4, "Microsoft Windows 2000"),
        files=files,
        updates=updates,
        **more,
    )  # type: ignore[arg-type]


def sp_install(level: int, at: str, outcome: InstallOutcome | None = None) -> TimelineEntry:
    name = f"Windows 2000 Service Pack {level}"
    return replace(entry("service-pack", name, at), sp_level=level, outcome=outcome)


def svcpack_copy(path: str, at: str, level: int, version: str = "") -> LogEvent:
    """svcpack.log ``Copied file:`` as the update.exe parser gives it: typed path, version and SP number."""
    return LogEvent(
        "svcpack",
        "file-replaced",
        t(at),
        "second",
        f"C:\\{path}",
        f"12.5: Copied file:  C:\\{path}",
        source=Provenance("WINNT\\svcpack.log", "line 40"),
        sp_level=level,
        file_path=path.lower(),
        file_version=version or None,
    )


# -- 4. hotfix files regressed (offline qfecheck) ------------------------------------------------------------


def test_service_pack_rerun_puts_a_hotfix_file_back_named_by_its_log_line(knowledge: Knowledge) -> None:
    """Q194334/Q196269's shape: the SP applied again after a fix writes its own, older copy over the fix's."""
    kb = fix("KB823718", "2004-10-14T05:10:00", (RecordedFile("asp.dll", "5.0.2195.6891", INETSRV),))
    asp = iis5("asp.dll", "5.0.2195.6717", "2005-03-01T10:01:30")
    rerun = sp_install(4, "2005-03-01T10:00:00")
    line = svcpack_copy("WINNT\\system32\\inetsrv\\asp.dll", "2005-03-01T10:01:30", 4, "5.0.2195.6717")
    found = run(knowledge, win2000([asp], [kb]), [sp_install(4, "2004-02-09T23:30:00"), rerun], [line])
    (finding,) = found["hotfix-files-regressed"]
    (row,) = finding.files
    assert (row.recorded_by, row.recorded_version, row.version) == (
        "KB823718",
        "5.0.2195.6891",
        "5.0.2195.6717",
    )
    assert (row.replaced_by, row.replaced_by_kind, row.replaced_at) == (
        "Windows 2000 Service Pack 4",
        "service-pack",
        t("2005-03-01T10:01:30"),
    )
    assert finding.confidence == "high" and finding.attribution == "Windows 2000 Service Pack 4"
    assert line.text in {e.says for e in finding.evidence}


def test_backup_alone_shows_the_fix_is_gone_and_the_creation_time_names_the_installer(
    knowledge: Knowledge,
) -> None:
    """No Filelist (hotfix.exe era): the $NtUninstall$ backup holds the version the fix replaced; a disk copy
    no newer than it means the fix's copy is gone. The program whose install time matches put it back."""
    kb = fix("Q300972", "2002-01-10T09:00:00")
    w3svc = iis5("w3svc.dll", "5.0.2195.4500", "2003-05-05T12:00:20")
    backup = replace(
        iis5("w3svc.dll", "5.0.2195.4500", "2002-01-10T09:00:10"),
        path="WINNT\\$NtUninstallQ300972$\\w3svc.dll",
        component=None,
    )
    folder = UninstallFolder(
        "WINNT\\$NtUninstallQ300972$",
        "Q300972",
        t("2002-01-10T09:00:05"),
        None,
        (backup,),
        (Provenance("WINNT\\$NtUninstallQ300972$", "MFT entry 7"),),
    )
    app = entry("software-install", "Contoso Site Manager 2.0", "2003-05-05T12:00:00")
    inv = win2000([w3svc], [kb], uninstall_folders=[folder])
    (finding,) = run(knowledge, inv, [app])["hotfix-files-regressed"]
    (row,) = finding.files
    assert (row.recorded_version, row.previous_version) == (None, "5.0.2195.4500")
    assert (row.replaced_by, row.replaced_by_kind) == ("Contoso Site Manager 2.0", "software-install")
    assert row.expected == "newer than 5.0.2195.4500 (the version Q300972 replaced)"


def test_a_newer_disk_copy_than_the_backup_is_no_finding(knowledge: Knowledge) -> None:
    kb = fix("Q300972", "2002-01-10T09:00:00")
    w3svc = iis5("w3svc.dll", "5.0.2195.6717", "2004-02-09T23:31:30")  # a later SP replaced it: fine
    backup = replace(
        w3svc, path="WINNT\\$NtUninstallQ300972$\\w3svc.dll", version=FileVersion(5, 0, 2195, 4500)
    )
    folder = UninstallFolder("WINNT\\$NtUninstallQ300972$", "Q300972", None, None, (backup,), ())
    assert "hotfix-files-regressed" not in run(
        knowledge, win2000([w3svc], [kb], uninstall_folders=[folder]), []
    )


def test_several_regressed_fixes_are_reinstalled_in_install_order(knowledge: Knowledge) -> None:
    later = fix("KB917537", "2006-06-20T14:02:00", (RecordedFile("infocomm.dll", "5.0.2195.7084", INETSRV),))
    earlier = fix("KB823718", "2004-10-14T05:10:00", (RecordedFile("asp.dll", "5.0.2195.6891", INETSRV),))
    files = [
        iis5("asp.dll", "5.0.2195.6717", "2006-07-01T08:00:40"),
        iis5("infocomm.dll", "5.0.2195.6717", "2006-07-01T08:00:40"),
    ]
    media = entry("component-install", "iis5", "2006-07-01T08:00:00")
    (finding,) = run(knowledge, win2000(files, [later, earlier]), [media])["hotfix-files-regressed"]
    assert finding.updates == ("KB823718", "KB917537")
    assert [f.recorded_by for f in finding.files] == ["KB823718", "KB917537"]
    assert {f.replaced_by_kind for f in finding.files} == {"component-install"}
    assert any(
        "Reinstall KB823718, then KB917537 (in the order first installed" in s for s in finding.remediation
    )
    assert any("qfecheck" in s for s in finding.remediation)  # Windows 2000 has qfecheck (KB282784)


def test_nt4_regression_remedy_removes_fixes_first_and_has_no_qfecheck(knowledge: Knowledge) -> None:
    kb = replace(
        fix("Q241211", "1999-12-01T10:00:00", (RecordedFile("w3svc.dll", "4.2.700.1", INETSRV),)),
        sources=(Provenance(SOFTWARE, "Microsoft\\Windows NT\\CurrentVersion\\Hotfix\\Q241211"),),
    )
    disk = replace(
        file("w3svc.dll", "4.2.631.1", None, "2000-01-05T10:00:00", component="iis4"),
        path="WINNT\\system32\\inetsrv\\w3svc.dll",
    )
    inv = Inventory(
        source={}, system=system("4.0.1381", 6, "Microsoft Windows NT"), files=[disk], updates=[kb]
    )
    (finding,) = run(knowledge, inv, [])["hotfix-files-regressed"]
    steps = " ".join(finding.remediation)
    assert "hotfix -y -m" in steps and "qfecheck" not in steps
    assert finding.confidence == "medium" and finding.attribution == "unknown"


# -- 5. service-pack install incomplete: either signal, both = high ------------------------------------------


def _sp2(outcome: InstallOutcome | None = None) -> TimelineEntry:
    return replace(SP2_ENTRY, outcome=outcome)


def test_sp_outcome_alone_names_the_files_it_left(knowledge: Knowledge) -> None:
    """The log says w3dt.dll was not replaced; the file's NTFS times are after the SP (no time signal)."""
    left = InstallOutcome(
        "partial", 19, (FileLeftBehind("C:\\WINDOWS\\system32\\inetsrv\\w3dt.dll", "copy-failed"),)
    )
    files = [f for f in iis6("2007-06-12T02:05:00") if not f.path.endswith("iisutil.dll")]
    found = run(knowledge, Inventory(source={}, system=system(), files=files), [_sp2(left)])
    (below,) = found["files-below-service-pack"]
    assert below.attribution == "service-pack-install-incomplete"  # the same decision as the SP rule
    (incomplete,) = found["service-pack-install-incomplete"]
    assert incomplete.confidence == "medium" and [f.path[-8:] for f in incomplete.files] == ["w3dt.dll"]


def test_times_alone_suffice_and_both_signals_are_high(knowledge: Knowledge) -> None:
    inv = Inventory(source={}, system=system(), files=iis6())  # SP1 files created before SP2 went in
    (alone,) = run(knowledge, inv, [_sp2()])["service-pack-install-incomplete"]
    assert alone.confidence == "medium" and "(created before it)" in alone.summary
    failed = InstallOutcome(
        "failed", 19, (FileLeftBehind("C:\\WINDOWS\\system32\\inetsrv\\w3dt.dll", "copy-failed"),)
    )
    (both,) = run(knowledge, inv, [_sp2(failed)])["service-pack-install-incomplete"]
    assert both.confidence == "high"


def test_a_file_modified_after_the_sp_does_not_predate_it(knowledge: Knowledge) -> None:
    touched = [replace(f, modified_at=t("2008-01-01T00:00:00")) if f.lab_tag == SP1 else f for f in iis6()]
    found = run(knowledge, Inventory(source={}, system=system(), files=touched), [_sp2()])
    assert "service-pack-install-incomplete" not in found
    assert found["files-below-service-pack"][0].attribution == "unknown"


# -- 6. pending reboot: the update whose files wait, and the versions ----------------------------------------


W3CORE_TARGET = "C:\\WINDOWS\\system32\\inetsrv\\w3core.dll"


def _pending_2003(
    staged: list[FileState] | None = None, updates: list[UpdateRecord] | None = None
) -> Inventory:
    rename = PendingRename(
        "C:\\WINDOWS\\system32\\inetsrv\\SET3F.tmp",
        W3CORE_TARGET,
        True,
        (Provenance("WINDOWS\\system32\\config\\SYSTEM", "PendingFileRenameOperations"),),
    )
    core = file("w3core.dll", "6.0.3790.3959", SP2, "2007-06-12T02:01:30")
    return Inventory(
        source={},
        system=system(),
        files=[core],
        updates=updates or [],
        pending_renames=[rename],
        staged_files=staged or [],
    )


def _kb(kb: str, version: str, at: str) -> UpdateRecord:
    return fix(kb, at, (RecordedFile("w3core.dll", version, INETSRV),), "Windows Server 2003")


def test_pending_rename_mapped_through_the_update_log(knowledge: Knowledge) -> None:
    end = LogEvent(
        "update.exe",
        "install-end",
        t("2009-12-09T15:41:00"),
        "second",
        "KB973917",
        "41.0: Update.exe extended error code = 0x0",
        source=Provenance("WINDOWS\\KB973917.log", "line 30"),
        update_id="KB973917",
        outcome=InstallOutcome("success", 1, (FileLeftBehind(W3CORE_TARGET, "in-use-delayed"),), True),
    )
    updates = [_kb("KB973917", "6.0.3790.4611", "2009-12-09T15:40:00")]
    found = run(
        knowledge, _pending_2003(updates=updates), [entry("update", "KB973917", "2009-12-09T15:40:00")], [end]
    )
    (finding,) = found["reboot-pending"]
    (row,) = finding.files
    assert finding.updates == ("KB973917",)
    assert (row.version, row.recorded_by, row.recorded_version) == (
        "6.0.3790.3959",
        "KB973917",
        "6.0.3790.4611",
    )
    assert "w3core.dll 6.0.3790.3959 on disk, 6.0.3790.4611 staged by KB973917" in finding.summary


def test_pending_rename_mapped_by_the_staged_copy_version(knowledge: Knowledge) -> None:
    staged = replace(file("SET3F.tmp", "6.0.3790.4611", None, "2009-12-09T15:40:30"), component=None)
    updates = [
        _kb("KB970000", "6.0.3790.4500", "2009-10-01T10:00:00"),
        _kb("KB973917", "6.0.3790.4611", "2009-12-09T15:40:00"),
        _kb("KB980000", "6.0.3790.4700", "2009-11-01T10:00:00"),
    ]
    entries = [entry("update", "KB973917", "2009-12-09T15:40:00")]
    (finding,) = run(knowledge, _pending_2003([staged], updates), entries)["reboot-pending"]
    assert finding.files[0].recorded_by == "KB973917" and finding.files[0].recorded_version == "6.0.3790.4611"


def test_pending_rename_mapped_by_filelist_when_nothing_else_says(knowledge: Knowledge) -> None:
    updates = [_kb("KB973917", "6.0.3790.4611", "2009-12-09T15:40:00")]
    entries = [entry("update", "KB973917", "2009-12-09T15:40:00")]
    (finding,) = run(knowledge, _pending_2003(updates=updates), entries)["reboot-pending"]
    assert finding.files[0].recorded_by == "KB973917"
    assert "queued for the next boot" in (finding.files[0].expected or "")


# -- 7. remediation that fits the system ---------------------------------------------------------------------


def _below_2000() -> Inventory:
    files = [
        iis5("asp.dll", "5.0.2195.5438", "2003-11-17T15:10:00"),
        iis5("w3svc.dll", "5.0.2195.6717", "2004-02-09T23:31:30"),
    ]
    return win2000(files, [])


def test_no_rapid_fail_advice_on_iis5_and_the_sp_package_file(knowledge: Knowledge) -> None:
    (below,) = run(knowledge, _below_2000(), [sp_install(4, "2004-02-09T23:30:00")])[
        "files-below-service-pack"
    ]
    steps = " ".join(below.remediation)
    assert "Rapid-Fail" not in steps and "application pool" not in steps.replace("no application pools", "")
    assert "W2KSP4_EN.EXE" in steps and "qfecheck" in steps


def test_rapid_fail_advice_on_iis6_and_the_x64_package(knowledge: Knowledge) -> None:
    inv = Inventory(source={}, system=replace(system(), architecture="x64"), files=iis6())
    (below,) = run(knowledge, inv, [SP2_ENTRY])["files-below-service-pack"]
    steps = " ".join(below.remediation)
    assert "Rapid-Fail Protection" in steps
    assert "WindowsServer2003.WindowsXP-KB914961-SP2-x64-ENU.exe" in steps


def test_no_qfecheck_on_nt6(knowledge: Knowledge) -> None:
    core = replace(
        file("iiscore.dll", "7.0.6001.18000", None, "2008-02-01T00:00:00", component="iis7"),
        path="Windows\\System32\\inetsrv\\iiscore.dll",
    )
    inv = Inventory(source={}, system=system("6.0.6002", 2, "Windows Server (R) 2008 Standard"), files=[core])
    (below,) = run(knowledge, inv, [])["files-below-service-pack"]
    steps = " ".join(below.remediation)
    assert "qfecheck" not in steps and "Rapid-Fail Protection" in steps
    assert "Windows6.0-KB948465-X86.exe" in steps


def test_unknown_components_keep_every_step(knowledge: Knowledge) -> None:
    """No component file found: nothing shows the step does not fit, so it stays (steps.py)."""
    from scanner.knowledge.steps import Step

    step = Step("x", components=("iis6",), os=("windows-2003",))
    assert step.fits(None, None) and step.fits("windows-2003", None) and not step.fits("windows-2000", None)
    assert step.fits(None, {"iis6"}) and not step.fits(None, {"iis5"})


def test_q281402_procedure_with_the_real_packages(knowledge: Knowledge) -> None:
    """The known interaction's procedure names the SP's package file and the trigger's package from the
    evidence (a CBS-style identity here); a package name equal to the id names no package (README rule)."""
    kb = replace(
        fix("KB917537", "2006-06-20T14:02:00", (RecordedFile("asp.dll", "5.0.2195.7084", INETSRV),)),
        package_name="Windows2000-KB917537-x86-ENU.EXE",
        uninstall_command="C:\\WINNT\\$NtUninstallKB917537$\\spuninst\\spuninst.exe",
    )
    files = [
        iis5("asp.dll", "5.0.2195.7084", "2006-06-20T14:02:40"),
        iis5("isatq.dll", "5.0.2195.5438", "2005-06-14T19:22:45"),
    ]
    entries = [
        sp_install(4, "2004-02-09T23:30:00"),
        replace(entry("hotfix", "KB917537", "2006-06-20T14:02:00"), update_ids=("KB917537",)),
        entry("crash", "inetinfo.exe", "2006-06-20T14:20:31"),
        entry("service-failure", "IIS Admin Service", "2006-06-20T14:20:33"),
    ]
    inv = win2000(files, [kb])
    findings = [f for fs in run(knowledge, inv, entries).values() for f in fs]
    entries = episodes(entries, inv, knowledge)  # the crash and IIS Admin's 7031: one failure episode
    verdict = diagnose(inv, entries, findings, knowledge)
    assert verdict.known_issue == "Q281402"
    steps = verdict.remediation
    assert "`Windows2000-KB917537-x86-ENU.EXE -x`" in steps[0]
    assert "$NtUninstallKB917537$" in steps[1] and "W2KSP4_EN.EXE" in steps[2]
    plain = replace(kb, package_name="KB917537")
    verdict = diagnose(win2000(files, [plain]), entries, findings, knowledge)
    assert "`<trigger_package> -x`" in verdict.remediation[0]


def test_profiles_check_validates_when_steps(tmp_path: Path) -> None:
    """A step's ``when`` must name declared components and OS profiles, with known keys, at file:line."""
    folder = tmp_path / "profiles"
    shutil.copytree(default_profiles_dir(), folder)
    rules = folder / "rules.toml"
    text = rules.read_text(encoding="utf-8")
    anchor = '    "Restart the computer.",\n'
    assert anchor in text
    bad = (
        anchor
        + '    { text = "a", when = { components = ["iis99"] } },\n'
        + '    { text = "b", when = { os = ["windows-95"] } },\n'
        + '    { text = "c", when = { component = ["iis6"] } },\n'
        + '    { text = "d", when = { os = [] } },\n'
        + '    { text = "e {nope}", when = { os = ["nt4"] } },\n'
        + '    { txt = "f" },\n'
    )
    rules.write_text(text.replace(anchor, bad, 1), encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_knowledge(folder)
    message = str(caught.value)
    located = rf"{re.escape(str(rules))}:\d+: remediation step \d+: unknown component 'iis99'"
    assert re.search(located, message)
    assert "unknown OS profile 'windows-95' in when.os" in message
    assert "unknown key 'component' in when" in message
    assert "when.components and when.os must be non-empty lists of ids" in message
    assert "unknown placeholder {nope}" in message
    assert "unknown key 'txt'" in message


def test_optional_groups_show_what_the_case_has() -> None:
    """README "Profiles": a parenthesised group of placeholders keeps the values the case has, else goes."""
    from scanner.rules.context import render

    template = ["Reinstall SP2 ({service_pack_package}, {service_pack_file}) now; {files}."]
    assert render(
        template, {"service_pack_package": "KB914961", "service_pack_file": "x.exe", "files": "a"}
    ) == ("Reinstall SP2 (KB914961, x.exe) now; a.",)
    assert render(template, {"service_pack_file": "x.exe"}) == ("Reinstall SP2 (x.exe) now; <files>.",)
    assert render(template, {}) == ("Reinstall SP2 now; <files>.",)
