"""Tests for fixtures.factory.textlogs: exact bytes, encodings, line ends, round trips, determinism."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from fixtures.factory.textlogs import (
    cbs,
    drwatson,
    setuplogs,
    updateexe,
    updateexe_events,
    windowsupdate,
)
from fixtures.factory.textlogs.updateexe_events import LogEvent, UpdateExeFailure

PST = ZoneInfo("America/Los_Angeles")
T0 = datetime(2009, 12, 9, 3, 0, 12, 345000, tzinfo=PST)


def _lines(data: bytes, encoding: str = "cp1252") -> list[str]:
    text = data.decode(encoding)
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", ""), "bare LF"
    assert "\r" not in text.replace("\r\n", ""), "bare CR"
    return text[:-2].split("\r\n")


# --- update.exe / svcpack ---------------------------------------------------------------------------------

def test_offset_format_uses_locale_separator() -> None:
    assert updateexe.format_offset(1.313, ",") == "1,313"
    assert updateexe.format_offset(1448.406) == "1448.406"
    assert updateexe.format_offset(0.1) == "0.100"
    with pytest.raises(ValueError):
        updateexe.format_offset(-1)


def test_update_exe_log_exact_bytes() -> None:
    events = [
        LogEvent(1.297, "[PatchFilesFromResponseBlob] returning STATUS_READY_TO_INSTALL"),
        LogEvent(1.313, updateexe_events.did_not_complete("KB979309")),
        LogEvent(1.313, updateexe_events.extended_error(0xF201)),
    ]
    data = updateexe.update_exe_log("KB979309", T0, events, ",", header_offset=0.109,
                                    command_line="/quiet /norestart",
                                    unpack_dir="c:\\0123456789abcdef01234567")
    assert data == (
        b"0,109: " + b"=" * 80 + b"\r\n"
        b"0,109: 2009/12/09 03:00:12.345 (local)\r\n"
        b"0,109: c:\\0123456789abcdef01234567\\update\\update.exe (version 6.3.4.0)\r\n"
        b"0,109: Hotfix started with following command line: /quiet /norestart\r\n"
        b"1,297: [PatchFilesFromResponseBlob] returning STATUS_READY_TO_INSTALL\r\n"
        b"1,313: KB979309 installation did not complete.\r\n"
        b"1,313: Update.exe extended error code = 0xf201\r\n"
    )


def test_update_exe_log_is_ansi_and_validates() -> None:
    copied = updateexe_events.copied_file("C:\\Dokumente\\Büro.dll")
    data = updateexe.update_exe_log("KB1", T0, [LogEvent(1, copied)])
    assert "Copied file:  C:\\Dokumente\\Büro.dll".encode("cp1252") in data
    with pytest.raises(ValueError):
        updateexe.update_exe_log("KB1", T0.replace(tzinfo=None), [])
    with pytest.raises(ValueError):
        updateexe.update_exe_log("KB1", T0, [LogEvent(2, "a"), LogEvent(1, "b")])
    with pytest.raises(UnicodeEncodeError):
        updateexe.update_exe_log("KB1", T0, [LogEvent(1, "\u4e2d")])


def test_typical_hotfix_success_and_failure() -> None:
    files = ["C:\\WINDOWS\\system32\\win32k.sys", "C:\\WINDOWS\\system32\\gdi32.dll"]
    events = updateexe_events.typical_hotfix_events("KB973917", files)
    ok = _lines(updateexe.update_exe_log("KB973917", T0, events))
    assert ok[4].startswith("0.109: ")
    assert ok[5].startswith("0.125: ") and ok[6].startswith("0.141: ")  # 15.625 ms timer ticks
    assert [x.split(": ", 1)[1] for x in ok if "Copied file" in x] == [f"Copied file:  {f}" for f in files]
    assert ok[-2].endswith("Update.exe extended error code = 0x0")
    assert "installation did not complete" not in "".join(ok)
    fail = updateexe_events.typical_hotfix_events(
        "KB979309", files, failure=UpdateExeFailure("Setup cannot update files.", 0xF201))
    texts = [e.text for e in fail]
    assert texts[-3:] == ["KB979309 installation did not complete.",
                          "Update.exe extended error code = 0xf201",
                          "Update.exe return code was masked to 0x643 for MSI custom action compliance."]
    assert not any("Copied file" in t for t in texts)


def test_svcpack_catalog_failure_matches_kb_sample() -> None:
    ev = updateexe_events.typical_service_pack_events(
        "Windows Server 2003 Service Pack", [], catalog_failure=True
    )
    lines = _lines(updateexe.svcpack_log(T0, ev))
    assert lines[3] == "0.156: Service Pack started with following command line:"
    body = [x.split(": ", 1)[1] for x in lines[4:]]
    assert "DoInstallation:MyInstallCatalogFiles  failed:STR_CATALOG_INSTALL_FAILED" in body
    assert "DeRegistering the Uninstall Program -> Windows Server 2003 Service Pack, 0" in body
    assert body[-2:] == ["Update.exe extended error code = 0xf01e",
                         "Update.exe return code was masked to 0x643 for MSI custom action compliance."]


def test_hotfix_exe_artefacts_windows_2000() -> None:
    a = updateexe.hotfix_exe_artefacts("Q323255", 3)
    assert a.hotfix_key == "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Hotfix\\Q323255"
    assert a.updates_key == "SOFTWARE\\Microsoft\\Updates\\Windows 2000\\SP3\\Q323255"
    assert a.uninstall_dir == "C:\\WINNT\\$NtUninstallQ323255$"
    assert updateexe.update_exe_log_path("KB973917") == "C:\\WINDOWS\\KB973917.log"


# --- iis5/iis6.log and setupapi.log ---------------------------------------------------------------------

def test_iis_setup_log_unpadded_stamp() -> None:
    t = datetime(1999, 12, 7, 14, 24, 0, tzinfo=PST)
    data = setuplogs.iis_setup_log([setuplogs.OcLine(t, "OC_INIT_COMPONENT:!FAIL!")])
    assert data == b"[12/7/1999 14:24:0] OC_INIT_COMPONENT:!FAIL!\r\n"


def test_iis_setup_session_records_source_and_failure() -> None:
    lines = _lines(setuplogs.iis_setup_log(setuplogs.iis_setup_session(T0, source_path="D:\\I386",
                                                                      fail_dll="asp.dll")))
    assert lines[0] == "[12/9/2009 3:0:12] OC_PREINITIALIZE:Start."
    assert any(x.endswith("m_csPathSource=D:\\I386") for x in lines)
    assert lines[-2].endswith(
        "OC_COMPLETE_INSTALLATION:CallProcedureInDll():C:\\WINDOWS\\system32\\inetsrv\\asp.dll:"
        "DllRegisterServer:() FAILED.")
    with pytest.raises(ValueError):
        setuplogs.iis_setup_log([setuplogs.OcLine(T0, "a"), setuplogs.OcLine(T0 - timedelta(seconds=1), "b")])
    assert setuplogs.iis_setup_log_path(6) == "C:\\WINDOWS\\iis6.log"


def test_setupapi_log_exact_bytes() -> None:
    section = setuplogs.SetupApiSection(
        T0, 264, 1531,
        (setuplogs.searching_hardware_ids(["MS_L2tpMiniport"]),
         setuplogs.executing("C:\\WINDOWS\\system32\\setup.exe", "setup -newsetup"),
         setuplogs.device_install_finished("ROOT\\MS_L2TPMINIPORT\\0000")),
        kind="Driver Install")
    plain = setuplogs.SetupApiSection(
        T0 + timedelta(minutes=5), 1234, 5,
        (setuplogs.copying_file("D:\\I386\\asp.dl_", "C:\\WINDOWS\\system32\\inetsrv\\asp.dll"),))
    data = setuplogs.setupapi_log(setuplogs.SetupApiLog((section, plain),
                                                        setuplogs.SetupApiHeader(service_pack=2)))
    assert data == (
        b"[SetupAPI Log]\r\nOS Version = 5.2.3790 Service Pack 2\r\nPlatform ID = 2 (NT)\r\n"
        b"Service Pack = 2.0\r\nSuite = 0x0110\r\nProduct Type = 3\r\nArchitecture = x86\r\n"
        b"[2009/12/09 03:00:12 264.1531 Driver Install]\r\n"
        b"#-019 Searching for hardware ID(s): ms_l2tpminiport\r\n"
        b'#-199 Executing "C:\\WINDOWS\\system32\\setup.exe" with command line: setup -newsetup\r\n'
        b'#I121 Device install of "ROOT\\MS_L2TPMINIPORT\\0000" finished successfully.\r\n'
        b"[2009/12/09 03:05:12 1234.5]\r\n"
        b'#-024 Copying file "D:\\I386\\asp.dl_" to "C:\\WINDOWS\\system32\\inetsrv\\asp.dll".\r\n'
    )


# --- WindowsUpdate.log ----------------------------------------------------------------------------------

def test_windowsupdate_line_format() -> None:
    lines = windowsupdate.logging_initialized(T0, 952, 0x5B4, build="7.3.7600.16385")
    data = windowsupdate.windowsupdate_log(lines[:1])
    assert data == (b"2009-12-09\t03:00:12:345\t 952\t5b4\tMisc\t===========  Logging initialized "
                    b"(build: 7.3.7600.16385, tz: -0800)  ===========\r\n")
    ist = datetime(2013, 5, 24, 3, 0, 34, 609000, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert windowsupdate.tz_field(ist) == "+0530"
    assert windowsupdate.format_line(windowsupdate.WuLine(ist, 1276, 0x1490, "AU", "x")) == (
        "2013-05-24\t03:00:34:609\t1276\t1490\tAU\tx")


def test_windowsupdate_install_session() -> None:
    upd = windowsupdate.WuUpdate("Security Update for Windows Server 2003 (KB973917)",
                                 "0A1B2C3D-1111-2222-3333-444455556666")
    ok = _lines(windowsupdate.windowsupdate_log(windowsupdate.install_session(T0, upd)))
    cols = [x.split("\t") for x in ok]
    assert all(len(c) >= 6 for c in cols)
    texts = [c[5] for c in cols]
    assert "** START **  Agent: Installing updates [CallerId = AutomaticUpdates]" in texts
    assert "  *   Title = Security Update for Windows Server 2003 (KB973917)" in texts
    assert ("  : Command line install completed. Return code = 0x00000bc2, Result = Succeeded, "
            "Reboot required = true") in texts
    report = cols[-1]
    assert report[4] == "Report" and report[5].startswith("REPORT EVENT: {")
    assert report[6] == "2009-12-09 03:01:12:390-0800" and report[8] == "183" and report[14] == "Success"
    bad = windowsupdate.install_session(T0, upd, succeeded=False, return_code=0x643, reboot_required=False)
    assert bad[-1].text.endswith("with error 0x80070643: Security Update for Windows Server 2003 (KB973917)")


# --- CBS.log --------------------------------------------------------------------------------------------

def test_cbs_line_padding_matches_real_log() -> None:
    t = datetime(2016, 9, 28, 4, 30, 31, tzinfo=timezone(timedelta(hours=8)))
    info = cbs.format_line(cbs.CbsLine(t, "Ending TrustedInstaller initialization."))
    assert info == "2016-09-28 04:30:31, Info                  CBS    Ending TrustedInstaller initialization."
    err = cbs.format_line(cbs.failed_single_phase(t, 0x80070308))
    assert err == ("2016-09-28 04:30:31, Error                 CBS    Failed to process single phase "
                   "execution. [HRESULT = 0x80070308 - ERROR_REQUEST_OUT_OF_SEQUENCE]")
    assert cbs.hresult(0x800F0826) == "[HRESULT = 0x800f0826 - Unknown Error]"


def test_cbs_session_id_and_csi_stamp_match_real_log() -> None:
    # loghub Windows_2k.log: 04:30:31 local (UTC+8) -> "Session: 30546173_..." and
    # CSI "00000001@2016/9/27:20:30:31.455"
    t = datetime(2016, 9, 28, 4, 30, 31, 455000, tzinfo=timezone(timedelta(hours=8)))
    assert cbs.session_id(t).startswith("30546173_")
    assert cbs.csi_stamp(1, t) == "00000001@2016/9/27:20:30:31.455"


def test_cbs_failure_session() -> None:
    pkg = "Package_for_KB3172605~31bf3856ad364e35~amd64~~6.1.1.4"
    data = cbs.cbs_log(cbs.package_install_session(T0, pkg, failure=(0x800F0826, "CBS Other"),
                                                   start_state="Installed", target_state="Absent"))
    lines = _lines(data, "ascii")
    assert any(x.endswith(f"WER: Generating failure report for package: {pkg}, status: 0x800f0826, failure "
                          "source: CBS Other, start state: Installed, target state: Absent, client id: "
                          "WindowsUpdateAgent") for x in lines)
    assert not any("Reboot mark set" in x for x in lines)
    ok = _lines(cbs.cbs_log(cbs.package_install_session(T0, pkg)), "ascii")
    sid = cbs.session_id(T0)
    assert f"2009-12-09 03:00:12, Info                  CBS    Session: {sid} initialized by client " \
           "WindowsUpdateAgent." in ok
    assert ok[-1] == (f"2009-12-09 03:00:42, Info                  CBS    Session: {sid} finalized. Reboot "
                      "required: yes [HRESULT = 0x00000000 - S_OK]")


# --- drwtsn32.log ---------------------------------------------------------------------------------------

def _crash(when: datetime, pid: int = 1234) -> drwatson.DrWatsonEntry:
    return drwatson.DrWatsonEntry(
        app="C:\\WINDOWS\\system32\\inetsrv\\inetinfo.exe", pid=pid, when=when, exception_code=0xC0000005,
        thread_id=0x4D8, fault_function="ntdll!RtlDestroyHeap", fault_address=0x77F7D357,
        tasks=drwatson.default_tasks("xp", pid, "inetinfo.exe"),
        modules=((0x01000000, 0x01006000, "C:\\WINDOWS\\system32\\inetsrv\\inetinfo.exe"),),
        stack=(drwatson.StackFrame(0x0012FE90, 0x77F7D339, "ntdll!RtlDestroyHeap+0x1e"),),
    )


def test_drwatson_xp_entry() -> None:
    t = datetime(2002, 3, 14, 10, 22, 5, 123000, tzinfo=PST)
    lines = _lines(drwatson.drwtsn32_log([_crash(t), _crash(t + timedelta(hours=1), 2345)]))
    assert lines[:6] == [
        "Microsoft (R) DrWtsn32", "Copyright (C) 1985-2001 Microsoft Corp. All rights reserved.", "", "",
        "Application exception occurred:",
        "        App: C:\\WINDOWS\\system32\\inetsrv\\inetinfo.exe (pid=1234)",
    ]
    assert lines[6] == "        When: 3/14/2002 @ 10:22:05.123"
    assert lines[7] == "        Exception number: c0000005 (access violation)"
    for title in ("*----> System Information <----*", "*----> Task List <----*", "*----> Module List <----*",
                  "*----> State Dump for Thread Id 0x4d8 <----*", "*----> Stack Back Trace <----*",
                  "*----> Raw Stack Dump <----*"):
        assert lines.count(title) == 2
    assert lines.count("Application exception occurred:") == 2
    assert "FAULT ->77f7d357 8908             mov     [eax],ecx" in lines
    assert "1234 inetinfo.exe" in lines and "        Terminal Session Id: 0" in lines


def test_drwatson_2000_variant_and_order() -> None:
    t = datetime(2000, 12, 29, 15, 7, 41, 106000, tzinfo=PST)
    lines = _lines(drwatson.drwtsn32_log([_crash(t)], "2000"))
    assert "        When: 12/29/2000 @ 15:7:41.106" in lines
    assert "State Dump for Thread Id 0x4d8" in lines
    assert "FramePtr ReturnAd Param#1  Param#2  Param#3  Param#4  Function Name" in lines
    assert not any("Terminal Session Id" in x for x in lines)
    with pytest.raises(ValueError):
        drwatson.drwtsn32_log([_crash(t), _crash(t - timedelta(seconds=1))])


