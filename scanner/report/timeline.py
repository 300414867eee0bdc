"""Timeline exports: text for the terminal, CSV, JSON lines, and Timesketch-importable JSON lines.

JSON lines carry each entry as its JSON contract (``TimelineEntry.to_dict``): ``at``, ``precision``,
``kind``, ``subject``, ``summary``, ``sources[]`` plus ``end``, ``conflicts``, ``details``; and, for record
tools (issue 18), ``source_count`` and ``details_typed``: ``details`` (a string→string contract) with each
value that is a plain decimal integer as a number and ``true``/``false``/``yes``/``no`` as a boolean. Other
values stay strings as written: ``0x643`` is a code, ``6.0`` may be a version, ``0216`` keeps its zero.
Times stay ISO 8601 strings. Timesketch's
importer wants ``message``, ``datetime`` (ISO 8601) and ``timestamp_desc`` on every line and keeps any other
field as an attribute; it cannot place an undated entry, so those are left out and counted.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from typing import IO

from rich.console import Console

from scanner.model import Gap, TimelineEntry
from scanner.render.text import line

CSV_COLUMNS = (
    "at",
    "precision",
    "end",
    "kind",
    "subject",
    "summary",
    "conflicts",
    "source_types",
    "sources",
)
#: Timesketch ``timestamp_desc`` per entry kind: what the time of the line means.
TIMESTAMP_DESC = {
    "os-install": "OS Install Time",
    "service-pack": "Install Time",
    "hotfix": "Install Time",
    "update": "Install Time",
    "package-state-change": "Package State Change Time",
    "component-install": "Install Time",
    "software-install": "Install Time",
    "reboot": "Boot Time",
    "unexpected-shutdown": "Shutdown Time",
    "traffic": "Request Time",
    "file-replaced": "File Created",
    "failure-episode": "Failure Episode Start",
}


def _sources_text(entry: TimelineEntry) -> str:
    return " | ".join(
        f"{s.type}: {s.provenance.artifact}" + (f" [{s.provenance.locator}]" if s.provenance.locator else "")
        for s in entry.sources
    )


#: A decimal integer as written by a program (no leading zero, no sign but ``-``), small enough for a double.
_INTEGER = re.compile(r"-?(0|[1-9][0-9]{0,14})")
_BOOLEAN = {"true": True, "false": False, "yes": True, "no": False}


def typed_value(text: str) -> int | bool | str:
    """A ``details`` value as a JSON type a record tool can compare (see the module docstring)."""
    if _INTEGER.fullmatch(text):
        return int(text)
    return _BOOLEAN.get(text.casefold(), text)


def jsonl_record(entry: TimelineEntry) -> dict[str, object]:
    """One JSON line: the entry's contract plus ``source_count`` and ``details_typed``."""
    return {
        **entry.to_dict(),
        "source_count": len(entry.sources),
        "details_typed": {name: typed_value(value) for name, value in entry.details},
    }


def write_jsonl(entries: Iterable[TimelineEntry], out: IO[str]) -> None:
    for entry in entries:
        out.write(json.dumps(jsonl_record(entry), ensure_ascii=False) + "\n")


def write_csv(entries: Iterable[TimelineEntry], out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        data = entry.to_dict()
        writer.writerow(
            [
                data["at"] or "",
                entry.precision or "",
                data["end"] or "",
                entry.kind,
                entry.subject,
                entry.summary,
                " ; ".join(entry.conflicts),
                ",".join(sorted({s.type for s in entry.sources})),
                _sources_text(entry),
            ]
        )


def write_timesketch(entries: Iterable[TimelineEntry], out: IO[str]) -> int:
    """Timesketch JSONL; returns how many undated entries were left out."""
    undated = 0
    for entry in entries:
        if entry.at is None:
            undated += 1
            continue
        line = {
            "message": f"[{entry.kind}] {entry.subject}: {entry.summary}",
            "datetime": entry.at.isoformat(),
            "timestamp": int(entry.at.timestamp() * 1_000_000),
            "timestamp_desc": TIMESTAMP_DESC.get(entry.kind, "Event Time"),
            "data_type": f"patchmortem:timeline:{entry.kind}",
            "kind": entry.kind,
            "subject": entry.subject,
            "precision": entry.precision,
            "end": entry.end.isoformat() if entry.end else "",
            "conflicts": " ; ".join(entry.conflicts),
            "source_types": ",".join(sorted({s.type for s in entry.sources})),
            "sources": _sources_text(entry),
        }
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return undated


KIND_STYLE = {
    "service-pack": "bold cyan",
    "hotfix": "cyan",
    "update": "cyan",
    "package-state-change": "yellow",
    "component-install": "magenta",
    "software-install": "magenta",
    "reboot": "green",
    "unexpected-shutdown": "bold red",
    "service-failure": "red",
    "worker-process-failure": "red",
    "rapid-fail-disable": "bold red",
    "crash": "bold red",
    "failure-episode": "bold red",
    "traffic": "blue",
    "file-replaced": "yellow",
}


#: Where a timeline entry's continuation lines start: under its kind, past the 20-column time stamp.
TIME_HANG = 22


def when_text(entry: TimelineEntry) -> str:
    if entry.at is None:
        return "(undated)".ljust(20)
    if entry.precision == "day":
        return f"{entry.at:%Y-%m-%d} (day)".ljust(20)
    return f"{entry.at:%Y-%m-%d %H:%M:%S}Z"


def print_timeline(
    entries: list[TimelineEntry], gaps: list[Gap], console: Console, *, verbose: bool = False
) -> None:
    """One line per entry (time, kind, subject, summary, source types), conflicts under it, then gaps.

    Evidence strings are printed literally and cleaned (scanner/render/text.py), never read as markup.
    """
    line(console, ("Servicing timeline", "bold"), f" — {len(entries)} entries, times in UTC")
    for entry in entries:
        style = KIND_STYLE.get(entry.kind, "white")
        types = ",".join(sorted({s.type for s in entry.sources}))
        line(
            console,
            f"{when_text(entry)}  ",
            (f"{entry.kind:<22}", style),
            " ",
            (entry.subject, "bold"),
            f"  {entry.summary}  ",
            (f"({len(entry.sources)} source(s): {types})", "dim"),
            hang=TIME_HANG,
        )
        for conflict in entry.conflicts:
            line(console, "    ", ("conflict:", "red"), f" {conflict}")
        if verbose:
            for source in entry.sources:
                where = source.provenance.artifact + (
                    f" [{source.provenance.locator}]" if source.provenance.locator else ""
                )
                note = f" ({source.provenance.note})" if source.provenance.note else ""
                line(console, (f"    {source.type}: {where} — {source.says}{note}", "dim"), hang=6)
    if gaps:
        console.print()
        line(console, ("Not read or partly read", "bold"), f" ({len(gaps)})")
        for gap in gaps:
            line(console, "  ", ("•", "yellow"), f" {gap.what}: {gap.reason}", hang=4)
