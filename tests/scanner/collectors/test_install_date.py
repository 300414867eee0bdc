"""Programs and Uninstall-only updates are dated by ``InstallDate``, not by the Uninstall key's last write.

A real case: a program's Uninstall key was last written 35 days after its ``InstallDate`` (a repair rewrote
the key). The key's last write is when the key was last written, not the install: it stays a source, as a
``not-after`` bound, and the timeline places the install on the InstallDate's local day. When the last write
falls on that very day it is the install itself, to the second.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from Registry import Registry

from fixtures.factory.regf import HiveBuilder
from scanner.collectors.registry import Hive, software_installs, update_records
from scanner.model import Inventory, TimeZoneFacts
from scanner.timeline.fuse import fuse
from scanner.timeline.observe import from_inventory

UNINSTALL = "Microsoft\\Windows\\CurrentVersion\\Uninstall"
T0 = datetime(2009, 6, 1, 8, 0, tzinfo=UTC)
EASTERN = TimeZoneFacts(
    key_name="Eastern Standard Time",
    standard_name="Eastern Standard Time",
    daylight_name="Eastern Daylight Time",
    bias_minutes=300,
    standard_bias=0,
    daylight_bias=-60,
    standard_start=(0, 11, 0, 1, 2, 0, 0, 0),
    daylight_start=(0, 3, 0, 2, 2, 0, 0, 0),
)
LOCAL_MIDNIGHT = datetime(2009, 10, 15, 4, 0, tzinfo=UTC)  # 2009-10-15 00:00 EDT


def _software(written: datetime) -> Hive:
    b = HiveBuilder("SOFTWARE", default_time=T0)
    program = f"{UNINSTALL}\\AcmeBackup"
    b.add_key(program, last_written=written)
    for name, value in {
        "DisplayName": "Acme Backup Agent",
        "Publisher": "Acme",
        "InstallDate": "20091015",
    }.items():
        b.set_value(program, name, value)
    b.add_key(program, last_written=written)
    hotfix = f"{UNINSTALL}\\KB958644"
    for name, value in {
        "DisplayName": "Security Update for Windows Server 2003 (KB958644)",
        "ParentKeyName": "OperatingSystem",
        "InstallDate": "20091015",
    }.items():
        b.set_value(hotfix, name, value)
    b.add_key(hotfix, last_written=written)
    return Hive(Registry.Registry(io.BytesIO(b.build())), "WINDOWS\\system32\\config\\SOFTWARE")


def test_a_key_rewritten_35_days_later_does_not_date_the_program() -> None:
    rewritten = datetime(2009, 11, 19, 17, 30, tzinfo=UTC)  # 35 days after the InstallDate
    (app,) = software_installs(_software(rewritten), EASTERN)
    assert (app.installed_at, app.precision) == (LOCAL_MIDNIGHT, "day")
    day, key = app.times
    assert (day.at, day.precision, day.bound) == (LOCAL_MIDNIGHT, "day", "at")
    assert (key.at, key.precision, key.bound) == (rewritten, "second", "not-after")
    assert key.to_dict()["bound"] == "not-after"

    entries = fuse(from_inventory(Inventory(source={}, system=None, software=[app])), "HOST")
    (entry,) = [e for e in entries if e.kind == "software-install"]
    assert (entry.at, entry.precision) == (LOCAL_MIDNIGHT, "day")
    assert any(s.at == rewritten for s in entry.sources)  # kept as a source, with its own time


def test_a_key_written_on_the_install_day_times_the_install() -> None:
    written = LOCAL_MIDNIGHT + timedelta(hours=14, minutes=3)
    (app,) = software_installs(_software(written), EASTERN)
    assert all(t.bound == "at" for t in app.times)
    entries = fuse(from_inventory(Inventory(source={}, system=None, software=[app])), "HOST")
    (entry,) = [e for e in entries if e.kind == "software-install"]
    assert (entry.at, entry.precision) == (written, "second")


def test_uninstall_only_hotfix_is_dated_by_install_date_too() -> None:
    rewritten = datetime(2009, 11, 19, 17, 30, tzinfo=UTC)
    records, gaps = update_records(_software(rewritten), EASTERN)
    assert gaps == []
    (record,) = [r for r in records if r.id == "KB958644"]
    assert (record.installed_at, record.precision) == (LOCAL_MIDNIGHT, "day")
    assert [t.bound for t in record.times] == ["at", "not-after"]
    entries = fuse(from_inventory(Inventory(source={}, system=None, updates=[record])), "HOST")
    (entry,) = [e for e in entries if e.subject == "KB958644"]
    assert (entry.at, entry.precision) == (LOCAL_MIDNIGHT, "day")
