"""File-version arithmetic against the shipped OS profiles: parse, branch, service-pack level.

The expected values are the reference's facts (windows-servicing.md §2): 2003 SP1 = .1830, SP2 = .3959; the
build of an NT6 file is its SP level; NT5 branches come from the build-lab tag, NT6 branches from revision
ranges. A value the profiles leave unknown must come back None, never a guess.
"""

from __future__ import annotations

import pytest

from scanner.knowledge.os import OsProfile
from scanner.knowledge.profiles import load_knowledge
from scanner.knowledge.versions import branch_of, service_pack_of
from scanner.model import FileState, FileVersion, version_text

OS = {profile.id: profile for profile in load_knowledge().os_profiles}


def _v(text: str) -> FileVersion:
    version = FileVersion.parse(text)
    assert version is not None, text
    return version


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6.0.3790.1830", FileVersion(6, 0, 3790, 1830)),
        ("6.0.3790.1830 (srv03_sp1_rtm.050324-1447)", FileVersion(6, 0, 3790, 1830)),
        ("  5.00.2195.6717", FileVersion(5, 0, 2195, 6717)),
        ("6, 0, 3790, 0", FileVersion(6, 0, 3790, 0)),
        ("65535.65535.65535.65535", FileVersion(65535, 65535, 65535, 65535)),
        ("6.0.3790.65536", None),  # a PE version field holds 16 bits
        ("6.0.3790.123456", None),
        ("5.1.2600", None),
        ("version 6.0.3790.1830", None),
        ("", None),
        (None, None),
        ("6.0.3790.18x", FileVersion(6, 0, 3790, 18)),  # trailing junk after four fields is ignored
    ],
)
def test_parse(text: str | None, expected: FileVersion | None) -> None:
    assert FileVersion.parse(text) == expected


def test_a_file_carries_four_integers_and_its_json_keeps_the_dotted_string() -> None:
    """Issue 16 item 1: FileState.version is typed; the JSON contract (a dotted string) does not change."""
    version = FileVersion(6, 0, 3790, 3959)
    state = FileState("w3core.dll", version, None, None, None, None, None, None, None)
    assert state.to_dict()["version"] == "6.0.3790.3959" == version.__json__() == version_text(version)
    assert FileState("x.dll", None, None, None, None, None, None, None, None).to_dict()["version"] is None
    assert version_text(None) is None
    assert FileVersion(6, 0, 3790, 1830) < version < FileVersion(6, 0, 3790, 65535)  # compared as integers


def test_order_family_and_text() -> None:
    assert _v("6.0.3790.1830") < _v("6.0.3790.3959") < _v("6.0.3790.4611")
    assert _v("7.0.6002.18005").family == "7.0"
    assert str(_v("5.00.2195.6717")) == "5.0.2195.6717"


@pytest.mark.parametrize(
    ("profile", "version", "lab", "expected"),
    [
        ("windows-2003", "6.0.3790.4611", "srv03_sp2_gdr.091030-1513", "gdr"),
        ("windows-2003", "6.0.3790.4392", "srv03_sp2_qfe.080808-1216", "qfe"),
        ("windows-2003", "5.2.3790.3959", "srv03_sp2_rtm.070216-1710", "baseline"),
        ("windows-2003", "6.0.3790.0", "srv03_rtm.030324-2048", "baseline"),
        ("windows-2003", "6.0.3790.3959", None, None),  # NT5 without a lab tag: unknown
        ("windows-xp", "5.1.2600.5512", "xpsp.080413-2105", "baseline"),
        ("windows-xp", "5.1.2600.6022", "xpsp_sp3_qfe.100726-1753", "qfe"),
        ("windows-xp", "5.1.2600.6477", "xpsp_sp3_gdr.131015-1640", "gdr"),
        ("windows-xp", "5.1.2600.1106", "xpsp1.020828-1920", "baseline"),
        ("windows-xp", "5.1.2600.2180", "xpsp_sp2_rtm.040803-2158", "baseline"),
        ("windows-vista-2008", "6.0.6002.18005", "lh_sp2rtm.090410-1830", "baseline"),
        ("windows-vista-2008", "6.0.6002.18327", None, "gdr"),
        ("windows-vista-2008", "6.0.6002.19741", "vistasp2_gdr.170209-0600", "gdr"),
        ("windows-vista-2008", "7.0.6002.22343", None, "ldr"),  # IIS files follow the OS build
        ("windows-vista-2008", "6.0.6002.21000", None, None),  # between the ranges
        ("windows-vista-2008", "6.0.6001.22000", None, None),  # 6001 LDR range is unconfirmed: left out
        ("windows-vista-2008", "6.0.6000.16386", None, "baseline"),
        ("windows-7-2008r2", "6.1.7601.17514", "win7sp1_rtm.101119-1850", "baseline"),
        ("windows-7-2008r2", "6.1.7601.18015", None, "gdr"),
        ("windows-7-2008r2", "6.1.7601.22104", None, "ldr"),
        ("windows-7-2008r2", "6.1.7601.23000", None, None),  # 23xxx+ unconfirmed
        ("windows-7-2008r2", "6.1.7600.20655", None, "ldr"),
        ("windows-8-2012", "6.2.9200.16384", None, "baseline"),
        ("windows-8-2012", "6.2.9200.20521", None, "ldr"),
        ("windows-81-2012r2", "6.3.9600.16384", None, "baseline"),
        ("windows-81-2012r2", "6.3.9600.17031", "winblue_gdr.140221-1952", None),  # split unconfirmed
        ("windows-10", "10.0.17763.1", None, None),
    ],
)
def test_branch_of(profile: str, version: str, lab: str | None, expected: str | None) -> None:
    assert branch_of(_v(version), lab, OS[profile]) == expected


@pytest.mark.parametrize(
    ("profile", "version", "lab", "expected"),
    [
        ("windows-2003", "6.0.3790.1830", "srv03_sp1_rtm.050324-1447", 1),
        ("windows-2003", "6.0.3790.3959", None, 2),
        ("windows-2003", "6.0.3790.4611", "srv03_sp2_gdr.091030-1513", 2),
        ("windows-2003", "6.0.3790.0", "srv03_rtm.030324-2048", 0),
        ("windows-2003", "6.0.3790.3295", None, 1),  # a post-SP1 fix stays below the SP2 baseline
        ("windows-2003", "6.0.2600.41", "srv03_sp2_gdr.091030-1513", 2),  # other build: the lab tag decides
        ("windows-2003", "6.0.2600.41", "srv03_sp1_qfe.051219-1200", 1),
        ("windows-2003", "6.0.2600.41", None, None),
        ("windows-xp", "6.0.2900.5512", "xpsp.080413-2111", 3),
        ("windows-xp", "6.0.2900.3020", "xpsp_sp2_gdr.070227-2254", 2),
        ("windows-xp", "6.0.2800.1106", "xpsp1.020828-1920", 1),
        ("windows-vista-2008", "6.0.6002.18005", None, 2),
        ("windows-vista-2008", "7.0.6002.18372", None, 2),
        ("windows-vista-2008", "6.0.6001.18000", None, 1),
        ("windows-vista-2008", "6.0.6001.18215", None, 1),
        ("windows-vista-2008", "6.0.6001.16659", None, 1),  # below the 6001 baseline: the build is the level
        ("windows-vista-2008", "6.0.6000.16386", None, 0),
        ("windows-7-2008r2", "6.1.7601.17514", None, 1),
        ("windows-2000", "5.0.2195.6717", None, 4),
        ("windows-2000", "5.0.2195.5438", None, 3),
        ("windows-2000", "5.0.2195.4000", None, 1),  # SP2's revision is unknown: never claimed
        ("windows-2000", "5.0.2195.1", None, 0),
        ("nt4", "4.0.1381.133", None, None),  # NT4 SPs have no fixed revision
        ("windows-10", "10.0.17763.1", None, None),
        ("windows-2003", "6.0.9999.1", None, None),  # unknown build
    ],
)
def test_service_pack_of(profile: str, version: str, lab: str | None, expected: int | None) -> None:
    assert service_pack_of(_v(version), lab, OS[profile]) == expected


def test_required_level_for_updates_folder() -> None:
    # Updates\Windows 2000\SP5\KB942831 is a post-SP4 fix (reference §3.4); CBS systems have no SPn folders.
    assert OS["windows-2000"].required_level_for_folder(5) == 4
    assert OS["windows-2003"].required_level_for_folder(3) == 2
    assert OS["windows-vista-2008"].required_level_for_folder(3) is None
    assert OS["nt4"].required_level_for_folder(None) is None


def test_profile_service_pack_lookup() -> None:
    server2003: OsProfile = OS["windows-2003"]
    sp2 = server2003.service_pack(2)
    assert sp2 is not None and (sp2.name, sp2.revision, sp2.package) == ("Service Pack 2", 3959, "KB914961")
    assert server2003.service_pack(3) is None
    w2k_sp2 = OS["windows-2000"].service_pack(2)
    assert w2k_sp2 is not None and w2k_sp2.revision is None
