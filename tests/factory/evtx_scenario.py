"""The ``.evtx`` records test_evtx.py writes and reads back: a Vista/2008 "IIS died after the patch" mix.

Why a module of its own: the data (every event family the scanner keys on, with their real providers, GUIDs
and insertion strings) is most of the test file's length and none of its logic.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fixtures.factory.evtx_values import (
    EvtxRecord,
    EvtxValue,
    ValueType,
)

T0 = datetime(2009, 6, 2, 3, 14, 15, tzinfo=UTC)
SCM_GUID = "{555908d1-a6d7-4695-8e1e-26931d2012f4}"
SERVICING_GUID = "{bd12f3b8-fc40-4a61-a307-b7a013a069c1}"
WUA_GUID = "{945a8954-c147-4acd-923f-40c45405a658}"
WAS_GUID = "{524b5d04-133c-4a62-8362-64e8edb9ce40}"


def scenario_records() -> list[EvtxRecord]:
    """A Vista/2008 "IIS died after the patch" mix covering every event family the scanner keys on."""
    t = T0
    return [
        EvtxRecord(
            "Microsoft-Windows-Servicing",
            1,
            t,
            provider_guid=SERVICING_GUID,
            user_sid="S-1-5-18",
            data=(
                ("PackageIdentifier", "KB958644"),
                ("InitialPackageState", "Absent"),
                ("IntendedPackageState", "Installed"),
                ("Client", "WindowsUpdateAgent"),
            ),
        ),
        EvtxRecord(
            "Microsoft-Windows-Servicing",
            4,
            t + timedelta(seconds=5),
            provider_guid=SERVICING_GUID,
            user_sid="S-1-5-18",
            data=(("PackageIdentifier", "KB958644"), ("ErrorCode", EvtxValue(ValueType.HEX32, 0x800F0826))),
        ),
        EvtxRecord(
            "Microsoft-Windows-Servicing",
            4375,
            t + timedelta(seconds=6),
            provider_guid=SERVICING_GUID,
            data=(("UpdateTitle", "Security Update for Windows Server 2008 (KB958644)"),),
        ),
        EvtxRecord(
            "Microsoft-Windows-WindowsUpdateClient",
            19,
            t + timedelta(seconds=7),
            provider_guid=WUA_GUID,
            task=1,
            opcode=13,
            keywords=0x8000000000000018,
            process_id=1032,
            thread_id=2044,
            data=(
                ("updateTitle", "Security Update for Windows Server 2008 (KB958644)"),
                ("updateGuid", EvtxValue(ValueType.GUID, "{8e6b1b39-8a47-4cb6-bd45-6b81d6c3bd01}")),
                ("updateRevisionNumber", EvtxValue(ValueType.UINT32, 101)),
            ),
        ),
        EvtxRecord(
            "Microsoft-Windows-WindowsUpdateClient",
            20,
            t + timedelta(seconds=8),
            level=2,
            provider_guid=WUA_GUID,
            data=(("errorCode", "0x80070005"), ("updateTitle", "KB967723")),
        ),
        EvtxRecord(
            "EventLog",
            6006,
            t + timedelta(minutes=1),
            event_source_name="EventLog",
            qualifiers=32768,
            keywords=0x0080000000000000,
            data=(),
        ),
        EvtxRecord(
            "EventLog",
            6009,
            t + timedelta(minutes=3),
            event_source_name="EventLog",
            qualifiers=32768,
            keywords=0x0080000000000000,
            data=(
                (None, "6.00."),
                (None, "6002"),
                (None, "Service Pack 2"),
                (None, "Multiprocessor Free"),
                (None, "17514"),
            ),
        ),
        EvtxRecord(
            "EventLog",
            6005,
            t + timedelta(minutes=3),
            event_source_name="EventLog",
            qualifiers=32768,
            keywords=0x0080000000000000,
            data=(),
        ),
        EvtxRecord(
            "EventLog",
            6008,
            t + timedelta(minutes=3, seconds=1),
            level=2,
            event_source_name="EventLog",
            qualifiers=32768,
            keywords=0x0080000000000000,
            data=((None, "3:15:02 AM"), (None, "6/2/2009")),
        ),
        EvtxRecord(
            "Microsoft-Windows-WAS",
            5009,
            t + timedelta(minutes=4),
            level=3,
            provider_guid=WAS_GUID,
            event_source_name="WAS",
            qualifiers=32768,
            keywords=0x0080000000000000,
            data=(("AppPoolID", "DefaultAppPool"), ("ProcessID", "2288")),
        ),
        EvtxRecord(
            "Microsoft-Windows-WAS",
            5002,
            t + timedelta(minutes=4, seconds=9),
            level=1,
            provider_guid=WAS_GUID,
            event_source_name="WAS",
            qualifiers=49152,
            keywords=0x0080000000000000,
            data=(("AppPoolID", "DefaultAppPool"),),
        ),
        EvtxRecord(
            "Service Control Manager",
            7031,
            t + timedelta(minutes=5),
            level=2,
            provider_guid=SCM_GUID,
            event_source_name="Service Control Manager",
            qualifiers=49152,
            keywords=0x0080000000000000,
            process_id=476,
            thread_id=512,
            data=(
                ("param1", "World Wide Web Publishing Service"),
                ("param2", "1"),
                ("param3", "60000"),
                ("param4", "1"),
                ("param5", "Restart the service"),
            ),
        ),
        EvtxRecord(
            "Service Control Manager",
            7034,
            t + timedelta(minutes=6),
            level=2,
            provider_guid=SCM_GUID,
            event_source_name="Service Control Manager",
            qualifiers=49152,
            keywords=0x0080000000000000,
            data=(("param1", "Windows Process Activation Service"), ("param2", "2")),
        ),
        EvtxRecord(
            "Application Error",
            1000,
            t + timedelta(minutes=7),
            level=2,
            event_source_name="Application Error",
            qualifiers=0,
            keywords=0x0080000000000000,
            computer="IIS7-SRV.corp.example",
            data=(
                (None, "w3wp.exe"),
                (None, "7.0.6001.18000"),
                (None, "47919413"),
                (None, "ntdll.dll"),
                (None, "6.0.6002.18005"),
                (None, "49e0421d"),
                (None, "c0000374"),
                (None, "000afaf8"),
            ),
        ),
    ]
