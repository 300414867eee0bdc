"""Every preflight reason on hand-built facts: the shipped rules and component table run over a literal
inventory (no image), so each test reads as "a Windows 2000 SP3 server with IIS 5 at SP3, asked about
MS08-005..."; knowledge is the shipped ``profiles/`` or a copy with one extra update profile."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from scanner.knowledge.components import default_profiles_dir
from scanner.knowledge.profiles import Knowledge, load_knowledge
from scanner.model import FileState, Inventory, Provenance, RecordedFile, SystemFacts, UpdateRecord
from scanner.model.versions import FileVersion
from scanner.preflight.assess import assess
from scanner.preflight.facts import PreflightFacts
from scanner.preflight.model import PreflightVerdict
from scanner.rules import run_rules
from scanner.rules.levels import component_levels

SHIPPED = load_knowledge()
SOFTWARE = "WINDOWS\\system32\\config\\SOFTWARE"
AT = datetime(2009, 1, 1, tzinfo=UTC)


def system(version: str, sp: int | None, root: str = "WINDOWS") -> SystemFacts:
    return SystemFacts(
        product="Windows", version=version, build=int(version.split(".")[2]), service_pack=sp,
        csd_version=f"Service Pack {sp}" if sp else None, architecture="x86", hostname="WEB01",
        install_date=AT, system_root=root, timezone=None,
        sources=(Provenance(SOFTWARE, "Microsoft\\Windows NT\\CurrentVersion\\CSDVersion"),),
    )


def pe(path: str, version: str, component: str | None, lab: str | None = None) -> FileState:
    return FileState(path, FileVersion.parse(version), lab, None, None, 1000, None, AT, AT,
                     component=component, sources=(Provenance(path, "MFT entry 42"),))


def update(uid: str, state: str = "installed", files: tuple[RecordedFile, ...] = ()) -> UpdateRecord:
    key = f"Microsoft\\Updates\\Windows Server 2003\\SP3\\{uid}"
    return UpdateRecord(uid, "update", AT, "second", state, files=files, sources=(Provenance(SOFTWARE, key),))


def facts(sys: SystemFacts, files: list[FileState], updates: list[UpdateRecord] | None = None,
          knowledge: Knowledge = SHIPPED) -> PreflightFacts:
    """Run the real rules and component table over a literal inventory: the facts a scan would give."""
    inv = Inventory(source={}, system=sys, updates=updates or [], files=files)
    findings, _ = run_rules(inv, [], [], knowledge)
    return PreflightFacts(sys, tuple(inv.updates), tuple(findings), tuple(component_levels(inv, knowledge)),
                          tuple(files))


def one(f: PreflightFacts, uid: str, knowledge: Knowledge = SHIPPED) -> PreflightVerdict:
    (verdict,) = assess(f, [uid], knowledge)
    return verdict


IIS5 = "WINNT\\system32\\inetsrv\\"
IIS6 = "WINDOWS\\system32\\inetsrv\\"


def win2000(sp: int | None) -> PreflightFacts:
    """Windows 2000 with IIS 5 files at the SP's own level (SP3 .5438, SP4 .6717, reference §2.2)."""
    revision = {4: 6717}.get(sp or 3, 5438)
    names = ("w3svc.dll", "infocomm.dll", "asp.dll")
    files = [pe(IIS5 + name, f"5.0.2195.{revision}", "iis5") for name in names]
    return facts(system("5.0.2195", sp, "WINNT"), files)


def test_update_needs_a_higher_service_pack_q281402() -> None:
    verdict = one(win2000(3), "KB942831")
    assert verdict.status == "at-risk"
    (reason,) = verdict.reasons
    assert (reason.kind, reason.interaction, reason.required_service_pack, reason.service_pack) == (
        "requires-service-pack", "Q281402", 4, 3)
    assert reason.evidence[0].locator.endswith("CSDVersion")
    assert one(win2000(4), "KB942831").status == "safe"


def test_service_pack_not_attested_is_unknown() -> None:
    verdict = one(win2000(None), "KB942831")
    assert verdict.status == "unknown" and verdict.missing == ("the installed service-pack level",)


def test_server_sp_already_contains_the_update() -> None:
    verdict = one(win2000(4), "Q811114")  # MS03-018 was built for SP2-SP3; SP4 contains it
    assert verdict.status == "safe"
    assert [(r.kind, r.required_service_pack, r.service_pack) for r in verdict.reasons] == [
        ("service-pack-contains-it", 3, 4)]


def test_component_not_read_is_unknown() -> None:
    verdict = one(facts(system("5.2.3790", 2), []), "KB973917")
    assert verdict.status == "unknown" and verdict.missing == ("the files of iis6",)


def test_update_profile_has_no_entry_for_this_os() -> None:
    verdict = one(win2000(4), "KB973917")
    assert verdict.status == "unknown" and [r.kind for r in verdict.reasons] == ["not-for-this-os"]


def test_files_below_baseline_set_off_kb2009746() -> None:
    files = [pe(IIS6 + "w3core.dll", "6.0.3790.3959", "iis6", "srv03_sp2_rtm.070216-1710"),
             pe(IIS6 + "w3dt.dll", "6.0.3790.1830", "iis6", "srv03_sp1_rtm.050324-1447")]
    verdict = one(facts(system("5.2.3790", 2), files), "KB973917")
    assert verdict.status == "at-risk"
    (reason,) = [r for r in verdict.reasons if r.effect == "risk"]
    assert (reason.kind, reason.interaction, reason.rule) == ("known-interaction", "KB2009746",
                                                              "files-below-service-pack")
    assert [(f.path, f.on_disk, f.required, f.sp_level) for f in reason.files] == [
        (IIS6 + "w3dt.dll", "6.0.3790.1830", "6.0.3790.3959", 1)]
    # MS08-005 touches the same component but names no interaction: the condition itself is the reason
    other = one(facts(system("5.2.3790", 2), files), "KB942831")
    assert [(r.kind, r.rule) for r in other.reasons] == [("component-condition", "files-below-service-pack")]


def test_regressed_hotfix_files_of_the_component() -> None:
    recorded = (RecordedFile("infocomm.dll", "6.0.3790.4215", "%SystemRoot%\\system32\\inetsrv"),)
    files = [pe(IIS6 + "infocomm.dll", "6.0.3790.3959", "iis6", "srv03_sp2_rtm.070216-1710")]
    verdict = one(facts(system("5.2.3790", 2), files, [update("KB942831", files=recorded)]), "KB973917")
    assert verdict.status == "at-risk"
    (reason,) = [r for r in verdict.reasons if r.effect == "risk"]
    assert (reason.kind, reason.rule) == ("component-condition", "hotfix-files-regressed")
    assert [(f.on_disk, f.required) for f in reason.files] == [("6.0.3790.3959", "6.0.3790.4215")]


def test_pending_packages_and_the_update_itself_pending() -> None:
    files = [pe(IIS6 + "w3core.dll", "6.0.3790.3959", "iis6", "srv03_sp2_rtm.070216-1710")]
    sys = system("5.2.3790", 2)
    other = one(facts(sys, files, [update("KB958644", "install-pending")]), "KB973917")
    assert other.status == "at-risk"
    assert [(r.kind, r.updates) for r in other.reasons] == [("package-pending", ("KB958644",))]
    itself = one(facts(sys, files, [update("KB973917", "staged")]), "KB973917")
    assert [(r.kind, r.updates) for r in itself.reasons] == [("package-pending", ("KB973917",))]
    assert not itself.installed
    # a server-wide risk does not make a profile-less update anything but unknown
    assert one(facts(sys, files, [update("KB958644", "install-pending")]), "KB2416400").status == "unknown"


@pytest.fixture(scope="module")
def extra(tmp_path_factory: pytest.TempPathFactory) -> Knowledge:
    """The shipped profiles plus a QFE-only IIS 6 hotfix that supersedes KB973917."""
    folder = tmp_path_factory.mktemp("profiles") / "profiles"
    shutil.copytree(default_profiles_dir(), folder)
    (folder / "updates" / "kb900001.toml").write_text(
        '''id = "KB900001"
title = "A QFE-only IIS 6 hotfix (test)"
supersedes = ["KB973917"]
references = ["test"]

[[applies]]
os = "windows-2003"
components = ["iis6"]
min_service_pack = 2
max_service_pack = 2
why = "test"

[[applies.files]]
path = 'system32\\inetsrv\\w3core.dll'
version = "6.0.3790.4700"
branch = "qfe"
service_pack = 2
why = "test"
''',
        encoding="utf-8",
    )
    return load_knowledge(folder)


def test_update_ships_no_binary_for_the_files_branch(extra: Knowledge) -> None:
    gdr = [pe(IIS6 + "w3core.dll", "6.0.3790.4611", "iis6", "srv03_sp2_gdr.091030-1513")]
    verdict = one(facts(system("5.2.3790", 2), gdr, knowledge=extra), "KB900001", extra)
    assert verdict.status == "at-risk"
    (reason,) = verdict.reasons
    assert reason.kind == "branch-missing"
    assert [(f.on_disk, f.required) for f in reason.files] == [("6.0.3790.4611", "6.0.3790.4700")]
    qfe = [pe(IIS6 + "w3core.dll", "6.0.3790.4611", "iis6", "srv03_sp2_qfe.091030-1513")]
    assert one(facts(system("5.2.3790", 2), qfe, knowledge=extra), "KB900001", extra).status == "safe"


def test_superseding_update_installed_counts_as_installed(extra: Knowledge) -> None:
    files = [pe(IIS6 + "w3core.dll", "6.0.3790.4700", "iis6", "srv03_sp2_qfe.100101-0000")]
    verdict = one(facts(system("5.2.3790", 2), files, [update("KB900001")], extra), "KB973917", extra)
    assert (verdict.status, verdict.installed) == ("safe", True)
    assert [(r.kind, r.updates) for r in verdict.reasons] == [("already-installed", ("KB900001",))]


def test_ids_are_normalised_and_assessed_once() -> None:
    verdicts = assess(win2000(4), ["kb942831", "KB942831-v2", "Q811114"], SHIPPED)
    assert [v.update for v in verdicts] == ["KB942831", "Q811114"]


def test_verdict_json_is_typed() -> None:
    data = one(win2000(3), "KB942831").to_dict()
    assert data["status"] == "at-risk" and data["reasons"][0]["kind"] == "requires-service-pack"
    assert data["reasons"][0]["evidence"][0]["artifact"] == SOFTWARE


def test_architecture_the_profile_does_not_list_is_unknown() -> None:
    server = win2000(4)
    assert server.system is not None
    verdict = one(replace(server, system=replace(server.system, architecture="ia64")), "KB942831")
    assert verdict.status == "unknown" and verdict.missing == ("KB942831 facts for Windows 2000 ia64",)
