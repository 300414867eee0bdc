"""The rules on hand-built facts: each condition, its attribution, and its absence.

Facts are built here literally (no image), knowledge is the shipped ``profiles/`` — so each test reads as
"a 2003 SP2 server whose w3dt.dll is 6.0.3790.1830 and was created before SP2 went in...".
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from scanner.knowledge.profiles import Knowledge, load_knowledge
from scanner.model import (
    FileState,
    Inventory,
    LogEvent,
    PendingRename,
    Provenance,
    RecordedFile,
    TimelineEntry,
    UpdateRecord,
)
from scanner.model.versions import FileVersion
from scanner.rules import RULES
from scanner.rules.levels import component_levels
from tests.scanner.rules.builders import (
    SOFTWARE,
    SP1,
    SP2,
    SP2_ENTRY,
    entry,
    file,
    iis6,
    package_state,
    run,
    system,
    t,
)


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge()


def test_rulebook_and_code_name_the_same_rules(knowledge: Knowledge) -> None:
    assert {r.id for r in knowledge.rules} == set(RULES)


# -- files-below-service-pack --------------------------------------------------------------------------


def test_files_left_by_an_incomplete_service_pack(knowledge: Knowledge) -> None:
    inv = Inventory(source={}, system=system(), files=iis6())
    svcpack_error = LogEvent(
        "svcpack",
        "error",
        t("2007-06-12T02:00:09"),
        "second",
        None,
        "9.656: DoInstallation:MyInstallCatalogFiles failed",
        source=Provenance("WINDOWS\\svcpack.log", "line 25"),
    )
    found = run(knowledge, inv, [SP2_ENTRY], [svcpack_error])
    (below,) = found["files-below-service-pack"]
    assert [f.path.rsplit("\\", 1)[-1] for f in below.files] == ["w3dt.dll", "iisutil.dll"]
    assert below.attribution == "service-pack-install-incomplete"
    assert below.files[0].expected == "6.0.3790.3959 (Service Pack 2 baseline)"
    assert below.confidence == "high"  # mixed levels inside the component + lab tags say SP1
    (incomplete,) = found["service-pack-install-incomplete"]
    assert "svcpack.log" in {e.source.artifact.rsplit("\\", 1)[-1] for e in incomplete.evidence}


def test_component_added_later_from_older_media(knowledge: Knowledge) -> None:
    files = iis6(created_old="2008-03-11T22:15:00")
    later = entry("component-install", "iis6", "2008-03-11T22:15:00", files=(files[2].path,))
    found = run(knowledge, Inventory(source={}, system=system(), files=files), [SP2_ENTRY, later])
    assert found["files-below-service-pack"][0].attribution == "component-installed-from-older-media"
    assert "service-pack-install-incomplete" not in found


def test_third_party_installer_put_old_files_back(knowledge: Knowledge) -> None:
    files = iis6(created_old="2008-05-01T10:00:05")
    app = entry("software-install", "Fabrikam WebPublisher", "2008-05-01T10:00:00")
    found = run(knowledge, Inventory(source={}, system=system(), files=files), [SP2_ENTRY, app])
    below = found["files-below-service-pack"][0]
    assert below.attribution == "third-party-installer"
    assert "a third-party installer put older copies back (Fabrikam WebPublisher)" in below.summary


def test_all_files_at_baseline_give_nothing(knowledge: Knowledge) -> None:
    files = [f for f in iis6() if f.version is not None and f.version.revision == 3959]
    found = run(knowledge, Inventory(source={}, system=system(), files=files), [SP2_ENTRY])
    assert found == {}


def test_table_and_finding_make_one_decision_for_unlisted_and_moved_files(knowledge: Knowledge) -> None:
    """A DLL the profile does not list (found by listing inetsrv) and a listed DLL found at another path are
    judged by the same below-service-pack decision as the listed ones, in the table and in the finding."""
    files = [f for f in iis6() if not f.path.endswith("iisutil.dll")]
    unlisted = file("w3extra.dll", "6.0.3790.1830", SP1, "2006-04-03T18:10:00")
    moved = replace(file("iisutil.dll", "6.0.3790.3959", SP2, "2007-06-12T02:01:30"),
                    path="WINDOWS\\system32\\inetsrv\\sub\\iisutil.dll")  # fmt: skip
    inv = Inventory(source={}, system=system(), files=[*files, unlisted, moved])
    (below,) = run(knowledge, inv, [SP2_ENTRY])["files-below-service-pack"]
    assert [f.path.rsplit("\\", 1)[-1] for f in below.files] == ["w3dt.dll", "w3extra.dll"]
    (table,) = [c for c in component_levels(inv, knowledge) if c.id == "iis6"]
    rows = {row.path.rsplit("\\", 1)[-1]: row for row in table.files}
    assert {name for name, row in rows.items() if row.below_baseline} == {"w3dt.dll", "w3extra.dll"}
    assert (rows["w3extra.dll"].listed, rows["w3extra.dll"].sp_level, rows["w3extra.dll"].why) == (
        False, 1, "not named by the profile: found by listing the component's folder",
    )  # fmt: skip
    assert rows["iisutil.dll"].listed_path == "WINDOWS\\system32\\inetsrv\\iisutil.dll"
    assert rows["iisutil.dll"].present and not rows["iisutil.dll"].below_baseline
    assert table.files[-1].path.endswith("w3extra.dll")  # unlisted files after the profile's own


def test_table_uses_the_volumes_windows_folder_not_systemroot(knowledge: Knowledge) -> None:
    """Issue 16's listed bug: the registry's SystemRoot says WINNT, the volume's folder is WINDOWS (the
    pipeline read the files there). The table used SystemRoot and showed every listed file as found "at
    another path" (listed_path WINNT\\...) and the missing ones under WINNT; it now lists them where they
    are, and its below-baseline rows are exactly the finding's files (one decision)."""
    inv = Inventory(source={}, system=replace(system(), system_root="WINNT"), files=iis6())
    (below,) = run(knowledge, inv, [SP2_ENTRY])["files-below-service-pack"]
    (table,) = [c for c in component_levels(inv, knowledge) if c.id == "iis6"]
    present = [row for row in table.files if row.present]
    assert {row.path for row in present} == {f.path for f in iis6()}
    assert all(row.listed_path is None for row in present), [row.listed_path for row in present]
    assert all(row.path.startswith("WINDOWS\\") for row in table.files)
    assert {row.path for row in table.files if row.below_baseline} == {f.path for f in below.files}
    assert {f.path for f in below.files} == {f.path for f in iis6() if "3790.1830" in str(f.version)}


def test_table_on_a_winnt_volume_whose_registry_says_windows(knowledge: Knowledge) -> None:
    """The reverse of the listed bug: the files were read from the volume's WINNT folder (an upgraded
    Windows 2000 install) while SystemRoot says WINDOWS. The table lists every row under WINNT, not at
    "another path", and its below-baseline rows are the finding's files: one decision, one folder."""
    files = [replace(f, path=f.path.replace("WINDOWS\\", "WINNT\\", 1)) for f in iis6()]
    inv = Inventory(source={}, system=system(), files=files)
    assert inv.system is not None and inv.system.system_root == "WINDOWS"
    (below,) = run(knowledge, inv, [SP2_ENTRY])["files-below-service-pack"]
    (table,) = [c for c in component_levels(inv, knowledge) if c.id == "iis6"]
    assert all(row.path.startswith("WINNT\\") for row in table.files), [row.path for row in table.files]
    assert all(row.listed_path is None for row in table.files if row.present)
    assert {row.path for row in table.files if row.present} == {f.path for f in files}
    assert {row.path for row in table.files if row.below_baseline} == {f.path for f in below.files}
    assert {f.path.rsplit("\\", 1)[-1] for f in below.files} == {"w3dt.dll", "iisutil.dll"}


def test_table_names_the_volumes_folder_when_no_listed_path_was_found(knowledge: Knowledge) -> None:
    """No file sits at a profile path (all were found by listing the component's folder, one level down), so
    the files cannot say which Windows folder was read: the source description's system volume does, not
    SystemRoot (WINNT here), for the listed paths the rows point at and the files not found."""
    files = [replace(f, path=f.path.replace("inetsrv\\", "inetsrv\\old\\")) for f in iis6()]
    volumes = [{"index": 0, "windows_dir": None}, {"index": 1, "windows_dir": "WINDOWS"}]
    source = {"system_volume": 1, "volumes": volumes}
    inv = Inventory(source=source, system=replace(system(), system_root="WINNT"), files=files)
    (table,) = [c for c in component_levels(inv, knowledge) if c.id == "iis6"]
    listed = [row.listed_path or row.path for row in table.files if row.listed]
    assert listed and all(p.startswith("WINDOWS\\") for p in listed), listed
    (below,) = run(knowledge, inv, [SP2_ENTRY])["files-below-service-pack"]
    assert {row.path for row in table.files if row.below_baseline} == {f.path for f in below.files}


# -- hotfixes ------------------------------------------------------------------------------------------


def hotfix(kb: str, folder: int, at: str, files: tuple[RecordedFile, ...] = ()) -> UpdateRecord:
    key = Provenance(SOFTWARE, f"Microsoft\\Updates\\Windows 2000\\SP{folder}\\{kb}")
    return UpdateRecord(kb, "hotfix", t(at), "second", "installed", files, (key,), sp_folder=folder)


def win2000(
    sp: int, files: list[FileState] | None = None, updates: list[UpdateRecord] | None = None
) -> Inventory:
    return Inventory(
        source={},
        system=system("5.0.2195", sp, "Microsoft Windows 2000"),
        files=files or [],
        updates=updates or [],
    )


def boot(at: str, sp: int) -> TimelineEntry:
    """A fused 6009 boot: the typed level fusion sets, and the text kept for people."""
    return replace(entry("reboot", "HOST", at, {"os": f"5.00. 2195 Service Pack {sp}"}), sp_level=sp)


def test_hotfix_built_for_a_later_service_pack(knowledge: Knowledge) -> None:
    fix = hotfix("KB942831", 5, "2008-02-13T14:05:00")
    inv = win2000(3, updates=[fix, hotfix("Q811114", 4, "2003-06-02T15:20:00")])
    found = run(
        knowledge, inv, [boot("2002-09-20T17:22:00", 3), entry("hotfix", "KB942831", "2008-02-13T14:05:00")]
    )
    (finding,) = found["hotfix-before-service-pack"]
    assert finding.updates == ("KB942831",)
    assert "Service Pack 4" in finding.summary and "still at Service Pack 3" in finding.summary


def test_hotfix_files_put_back_by_an_installer(knowledge: Knowledge) -> None:
    fix = hotfix(
        "KB823718",
        5,
        "2004-10-14T05:10:00",
        (RecordedFile("asp.dll", "5.0.2195.6891", "%SystemRoot%\\system32\\inetsrv"),),
    )
    asp = file("asp.dll", "5.0.2195.5438", None, "2005-06-14T19:22:45", component="iis5")
    app = entry("software-install", "Fabrikam WebPublisher 3.1", "2005-06-14T19:22:30", files=(asp.path,))
    found = run(knowledge, win2000(4, [asp], [fix]), [app])
    (finding,) = found["hotfix-files-regressed"]
    assert finding.attribution == "Fabrikam WebPublisher 3.1"
    assert finding.files[0].expected == "5.0.2195.6891 (recorded by KB823718)"


def test_newer_file_than_recorded_is_not_a_regression(knowledge: Knowledge) -> None:
    fix = hotfix(
        "Q811114",
        4,
        "2003-06-02T15:20:00",
        (RecordedFile("w3svc.dll", "5.0.2195.6620", "%SystemRoot%\\system32\\inetsrv"),),
    )
    w3svc = file("w3svc.dll", "5.0.2195.7147", None, "2008-02-13T14:05:40", component="iis5")
    assert "hotfix-files-regressed" not in run(knowledge, win2000(3, [w3svc], [fix]), [])


# -- unfinished servicing --------------------------------------------------------------------------------


def package(kb: str, state: str) -> UpdateRecord:
    key = Provenance(SOFTWARE, f"Component Based Servicing\\Packages\\Package_for_{kb}")
    return UpdateRecord(kb, "package", None, None, state, sources=(key,), cbs_state=0x60)


def cbs_inventory(renames: bool = True) -> Inventory:
    core = FileState(
        "Windows\\System32\\inetsrv\\iiscore.dll",
        FileVersion(7, 0, 6002, 18005),
        None,
        None,
        None,
        1,
        None,
        t("2009-04-10T18:30:00"),
        t("2010-06-01T01:00:00"),
        component="iis7",
    )
    pending = [
        PendingRename(
            "\\??\\C:\\Windows\\WinSxS\\Temp\\iiscore.dll",
            "!\\??\\C:\\Windows\\System32\\inetsrv\\iiscore.dll",
            True,
            (Provenance("Windows\\system32\\config\\SYSTEM", "PendingFileRenameOperations"),),
        )
    ]
    return Inventory(
        source={},
        system=system("6.0.6002", 2, "Windows Server (R) 2008 Standard"),
        files=[core],
        updates=[package("KB2463332", "install-pending"), package("KB2506212", "staged")],
        pending_renames=pending if renames else [],
    )


def test_reboot_pending_without_a_boot_after_the_install(knowledge: Knowledge) -> None:
    install = package_state("KB2463332", "2011-03-09T02:30:00", "install-pending")
    found = run(knowledge, cbs_inventory(), [install])
    (finding,) = found["reboot-pending"]
    assert finding.updates == ("KB2463332",)
    assert finding.files[0].path.endswith("iiscore.dll")
    after = entry("reboot", "HOST", "2011-03-09T03:00:00", {"os": "6.0. 6002 Service Pack 2"})
    after = replace(after, sp_level=2)
    assert "reboot-pending" not in run(knowledge, cbs_inventory(), [install, after])


def test_package_states(knowledge: Knowledge) -> None:
    (finding,) = run(knowledge, cbs_inventory(False), [])["package-state-broken"]
    assert finding.severity == "warning" and set(finding.updates) == {"KB2463332", "KB2506212"}
    only_staged = Inventory(source={}, system=system("6.0.6002", 2), updates=[package("KB2506212", "staged")])
    assert run(knowledge, only_staged, [])["package-state-broken"][0].severity == "info"


def test_branch_mix_is_information(knowledge: Knowledge) -> None:
    files = [
        file("w3core.dll", "6.0.3790.4611", "srv03_sp2_gdr.091030-1513", "2009-12-09T15:40:40"),
        file("w3isapi.dll", "6.0.3790.4612", "srv03_sp2_qfe.091030-1513", "2009-12-09T15:40:40"),
    ]
    (finding,) = run(knowledge, Inventory(source={}, system=system(), files=files), [])["branch-mix"]
    assert finding.severity == "info"
