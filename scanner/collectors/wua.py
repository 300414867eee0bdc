"""Windows Update Agent history: table ``tbHistory`` of ``SoftwareDistribution\\DataStore\\DataStore.edb``.

The WUA (XP/2003 with WUA 2.0+, Vista and later) records each finished install operation in an ESE database
(reference §4.3): ``Date`` (OLE automation time, UTC), ``Status`` (1 success, 2 failure), result codes,
``UpdateId``, ``ClientId`` (``AutomaticUpdates``, ``UpdateOrchestrator``, ...), ``Title`` ("... (KB973917)").
dissect.target's ``wua_history`` plugin knows that table (columns, GUID and OLE-date decoding, result-code
names; libyal esedb-kb "Windows Update"). The plugin wants a Target and resolves the path itself; we have the
system volume's file system, so the plugin's table-record mapping (``WuaHistoryPlugin.get_table_records``)
is run on a ``dissect.database.ese.ESE`` opened from our own read-only file handle. The plugin is
instantiated without its ``__init__`` (which needs a Target); subclassing it instead would register a second
plugin in dissect's global registry.

A dead server's database is usually in "dirty shutdown" state: the newest operations may still be in the
``edb*.log`` transaction logs, which are not replayed; a gap says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from scanner.collectors.volume import READ_ERRORS, lookup, windows_path
from scanner.model import Gap, LogEvent, Provenance

__all__ = ["DATASTORE", "history_event", "read_wua_history"]

DATASTORE = "{windir}\\SoftwareDistribution\\DataStore\\DataStore.edb"
MAX_RECORDS = 100_000
_DIRTY_SHUTDOWN = 2  # DBFILEHDR.dbstate: JET_dbstateDirtyShutdown (ESE source, jethdr.h)
_KB = re.compile(r"\bKB\s*(\d{5,8})\b", re.IGNORECASE)


def history_event(record: dict[str, Any], artifact: str, number: int) -> LogEvent | None:
    """One ``wua`` LogEvent from a record as the plugin's ``get_table_records`` maps it; None without a date.

    ``what`` is ``install-end`` for Status 1 (success) and ``error`` otherwise; tbHistory does not say
    whether the operation was an install or an uninstall, so ``operation`` is not claimed.
    """
    at = record.get("ts")
    if not isinstance(at, datetime) or at.tzinfo is None or at.year < 1995:
        return None
    title = str(record.get("title") or "")
    kb = _KB.search(title)
    update_id = str(record.get("update_id") or "")
    status = str(record.get("status_mapped") or record.get("status_id") or "")
    details = [
        ("title", title),
        ("result", status),
        ("result_code", str(record.get("mapped_result") or "")),
        ("result_name", str(record.get("mapped_result_description") or "")),
        ("client", str(record.get("client_id") or "")),
        ("update_id", update_id),
        ("server", str(record.get("server_id_mapped") or "")),
        ("classification", str(record.get("classification_mapped") or "")),
    ]
    return LogEvent(
        log="wua",
        what="install-end" if status == "Success" else "error",
        at=at,
        precision="second",
        subject=f"KB{kb.group(1)}" if kb else (update_id or title or None),
        text=f"{status}: {title}".strip(": "),
        details=tuple((k, v) for k, v in details if v and v != "Unknown"),
        source=Provenance(artifact, f"tbHistory record {number} (IdEvent {record.get('id_event')})"),
    )


def _records(table: Any) -> Iterator[dict[str, Any]]:
    """The plugin's own mapping of tbHistory rows (column names, GUIDs, OLE dates, result-code names)."""
    from dissect.target.plugins.os.windows.wua_history import WuaHistoryPlugin

    plugin = object.__new__(WuaHistoryPlugin)  # no Target: the table comes from our file handle
    plugin._update_table = table
    yield from plugin.get_table_records()


def read_wua_history(fs: Any, windows_dir: str) -> tuple[list[LogEvent], list[Gap]]:
    """WUA history events from the DataStore on the system volume, with a gap for what could not be read."""
    path = DATASTORE.format(windir=windows_dir)
    entry = lookup(fs, path)
    if entry is None:
        reason = "not found: no Windows Update Agent history (WUA never ran, or its store was reset)"
        return [], [Gap(path, reason, (Provenance(path),))]
    # Imported only when a DataStore exists: dissect.database's package imports every database format it
    # reads (ESE, SQLite, Berkeley DB ...), a cost a server without WUA history need not pay.
    from dissect.database.ese import ESE
    from dissect.database.exception import Error as EseError

    errors = (EseError, *READ_ERRORS, TypeError)
    artifact = windows_path(entry) or path
    events: list[LogEvent] = []
    gaps: list[Gap] = []
    number = 0
    try:
        with entry.open("rb") as fh:
            db = ESE(fh)
            if int(getattr(db.header, "dbstate", 0)) == _DIRTY_SHUTDOWN:
                reason = "dirty shutdown: operations still in the transaction logs (edb*.log) are not read"
                gaps.append(Gap(artifact, reason, (Provenance(artifact, "database header"),)))
            skipped = 0
            for number, record in enumerate(_records(db.table("tbHistory")), 1):
                if number > MAX_RECORDS:
                    gaps.append(Gap(artifact, f"only the first {MAX_RECORDS} history records read",
                                    (Provenance(artifact),)))
                    break
                event = history_event(record, artifact, number)
                if event is None:
                    skipped += 1
                else:
                    events.append(event)
            if skipped:
                gaps.append(Gap(artifact, f"{skipped} history record(s) without a valid date skipped",
                                (Provenance(artifact, "tbHistory"),)))
    except errors as exc:
        where = f"after record {number}" if number else "opening the database"
        gaps.append(Gap(artifact, f"unreadable ({where}): {exc or type(exc).__name__}",
                        (Provenance(artifact, f"tbHistory record {number + 1}" if number else ""),)))
    return events, gaps
