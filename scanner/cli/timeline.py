"""``patchmortem timeline``: the fused servicing history, one entry per event, in four formats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from scanner.cli.exits import handle_errors, verbosity
from scanner.cli.options import (
    diagnostics_options,
    format_option,
    output_option,
    parent_option,
    profiles_option,
    source_argument,
    system_option,
)
from scanner.cli.output import Writer, refuse_evidence_as_output, report_out, text_console, warn_gaps
from scanner.cli.progress import spinner, stderr_console

if TYPE_CHECKING:
    from rich.console import Console

    from scanner.model import Gap, TimelineEntry


@dataclass(frozen=True)
class _Report:
    entries: list[TimelineEntry]
    gaps: list[Gap]
    err: Console  # where the Timesketch export says how many undated entries it left out
    verbose: bool


def _text(report: _Report, out: IO[str]) -> None:
    from scanner.report.timeline import print_timeline

    console = text_console(out)
    print_timeline(report.entries, report.gaps, console, verbose=report.verbose)
    console.file.flush()


def _csv(report: _Report, out: IO[str]) -> None:
    from scanner.report.timeline import write_csv

    write_csv(report.entries, out)


def _jsonl(report: _Report, out: IO[str]) -> None:
    from scanner.report.timeline import write_jsonl

    write_jsonl(report.entries, out)


def _timesketch(report: _Report, out: IO[str]) -> None:
    from scanner.report.timeline import write_timesketch

    undated = write_timesketch(report.entries, out)
    if undated:
        report.err.print(f"patchmortem: {undated} undated entries left out of the Timesketch export")


FORMATS: dict[str, Writer[_Report]] = {"text": _text, "csv": _csv, "jsonl": _jsonl, "timesketch": _timesketch}


def utc_bound(value: str | None, *, end: bool) -> datetime | None:
    """``2009-12-09`` (a whole UTC day) or ``2009-12-09T15:00[:00][Z|+hh:mm]``; naive times are UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO-8601 date or time (e.g. 2009-12-09 or 2009-12-09T15:40Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        if end and len(value.strip()) == 10:  # a date: until the end of that day
            parsed += timedelta(days=1) - timedelta(microseconds=1)
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31 as a whole day, 0001-01-01 east of UTC
        raise click.BadParameter(f"{value!r} is outside the dates a timeline can hold") from None


@click.command()
@diagnostics_options
@source_argument
@format_option(
    FORMATS,
    help="text: one line per entry; csv; jsonl: the entry JSON contract per line; timesketch: JSONL with "
    "message/datetime/timestamp_desc for Timesketch import.",
)
@click.option("--since", default=None, help="Only entries at or after this UTC date/time (ISO 8601).")
@click.option("--until", default=None, help="Only entries at or before this UTC date/time (a date: its end).")
@output_option
@parent_option
@system_option
@profiles_option
@handle_errors
def timeline(
    source: Path,
    fmt: str,
    since: str | None,
    until: str | None,
    output: Path | None,
    parent: Path | None,
    system_index: int | None,
    profiles_dir: Path | None,
) -> None:
    """The servicing history and what happened after: every SP, hotfix, boot and failure, one entry each.

    Fuses the registry's update records, the event logs (.evt/.evtx, including records past a dirty
    header), installer logs (KB/svcpack, setupapi, iis6, WindowsUpdate, CBS), Dr. Watson, IIS logs and file
    times into one UTC timeline; each entry lists every source that attests it and any conflicts between them.
    """
    from scanner.pipeline import timeline as run_timeline

    start, stop = utc_bound(since, end=False), utc_bound(until, end=True)
    if start is not None and stop is not None and start > stop:
        raise click.UsageError(f"--since {since} is after --until {until}: nothing can fall between them")
    if output is not None:
        refuse_evidence_as_output(output, source, parent)
    err = stderr_console()
    with spinner(err) as progress:
        _, fused = run_timeline(
            source, parent=parent, system=system_index, profiles_dir=profiles_dir, progress=progress
        )
    with report_out(output) as out:
        FORMATS[fmt](_Report(fused.between(start, stop), list(fused.gaps), err, verbosity() > 0), out)
    if fmt != "text":
        warn_gaps(err, fused.gaps)
