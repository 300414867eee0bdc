"""``patchmortem fleet``: scan many servers, each in its own worker process, and summarise them together.

The command only wires the stages: discover the servers (:mod:`scanner.fleet.sources`), skip what
``--resume`` finds finished, run the rest locally (:mod:`scanner.fleet.local`) or on a Dask cluster
(:mod:`scanner.fleet.cluster`), turn each outcome into a record as it arrives (:mod:`scanner.fleet.records`),
and render the summary (:mod:`scanner.fleet.render`). Exit codes (README "Exit codes"): 0; 10 when
``--fail-on warning|critical`` is reached by a server's finding (``scan``'s meaning); 12 when ``--fail-on
unreadable`` is given and a source could not be scanned; 13 when the Dask scheduler cannot be reached; the
usual 2 (usage), 7 (profiles) and 8 (output) otherwise. A source that cannot be read is a row, never an exit.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Any

import click

from scanner.cli.exits import handle_errors
from scanner.cli.options import diagnostics_options, format_option, profiles_option
from scanner.cli.output import Writer, report_out, text_console, warn
from scanner.cli.progress import stderr_console
from scanner.errors import ExitCode, OutputError
from scanner.model import SEVERITY_ORDER, at_least, severity_rank
from scanner.preflight.command import update_ids_callback

#: Default per-source time-out (seconds): far above a real scan (seconds to minutes), below "stuck forever".
DEFAULT_TIMEOUT = 3600.0


def _summary_html(records: list[dict[str, Any]], out: IO[str]) -> None:
    from scanner.fleet.render import render_html

    out.write(render_html(records))


def _summary_csv(records: list[dict[str, Any]], out: IO[str]) -> None:
    from scanner.fleet.render import write_csv

    write_csv(records, out)


def _summary_text(records: list[dict[str, Any]], out: IO[str]) -> None:
    from scanner.fleet.render import print_summary

    console = text_console(out)
    print_summary(records, console)
    console.file.flush()


def _summary_none(_records: list[dict[str, Any]], _out: IO[str]) -> None:
    """jsonl: no summary; each record was streamed as its server finished."""


#: The summary written once every server is done, by --format (jsonl's records stream as they come).
FORMATS: dict[str, Writer[list[dict[str, Any]]]] = {
    "text": _summary_text, "jsonl": _summary_none, "csv": _summary_csv, "html": _summary_html,
}


@click.command("fleet")
@diagnostics_options
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@click.option("--from", "lists", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
              help="A list file: one source per line, optionally followed by a TAB and a label (repeatable).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Local worker processes (default: the CPU count).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on an existing Dask distributed cluster (tcp://HOST:8786) instead of locally; needs "
              "'patchmortem[fleet]' here and patchmortem on the workers.")
@format_option(FORMATS,
               help="text: a table and the shared conditions; jsonl: one fleet record per source as each "
               "finishes (schemas/fleet-record.schema.json); csv: one summary row per server; html: one page "
               "(with --output: DIR/index.html, linking each server's report).")
@click.option("--output", "output", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for records.jsonl, each server's scan JSON (scans/) and, for html, reports.")
@click.option("--resume", is_flag=True,
              help="Skip sources whose result is already in --output for the same evidence (path, size, "
              "modification time, chain).")
@click.option("--fail-on", "fail_on", multiple=True, type=click.Choice(["warning", "critical", "unreadable"]),
              help="Exit 10 when a server has a finding at least this severe; 'unreadable': exit 12 when a "
              "source could not be scanned (repeatable; 10 wins).")
@click.option("--timeout", type=click.FloatRange(min=1), default=DEFAULT_TIMEOUT, show_default=True,
              help="Seconds one source may take before its scan is stopped and it becomes an error row.")
@click.option("--preflight", "preflight", multiple=True, callback=update_ids_callback, metavar="KB",
              help="Also say, per server, whether this update is safe, at risk (why) or unknown before it is "
              "installed (as `patchmortem preflight`); repeatable.")
@profiles_option
@handle_errors
def fleet_command(sources: tuple[Path, ...], lists: tuple[Path, ...], workers: int | None,
          scheduler: str | None, fmt: str, output: Path | None, resume: bool, fail_on: tuple[str, ...],
          timeout: float, preflight: tuple[str, ...], profiles_dir: Path | None) -> None:
    """Scan many servers at once, each in its own worker process, and group them by shared condition.

    SOURCES are images, differencing children, triage folders, folders of images (each image once: a split
    set, an E01 set or a chain is one server) or, with --from, list files. Results stream as each server
    finishes; one that cannot be read is a row with its reason, and the others complete.
    """
    from scanner.fleet.records import OutputDir
    from scanner.fleet.sources import discover
    from scanner.knowledge.profiles import load_knowledge

    if not sources and not lists:
        raise click.UsageError("give at least one SOURCE or --from LIST")
    if scheduler and workers:
        raise click.UsageError("--workers is for local mode: a Dask cluster has the workers it started with")
    if resume and output is None:
        raise click.UsageError("--resume needs --output DIR (where the earlier results are)")
    if fmt == "html" and output is None and sys.stdout.isatty():
        raise click.UsageError("--format html writes a whole web page: give --output DIR")
    knowledge = load_knowledge(profiles_dir)  # a broken profile fails once, here, not once per server
    found = discover(list(sources), list(lists))
    if output is not None:
        _refuse_evidence(output, found, list(sources))
    err = stderr_console()
    folder = OutputDir(output, resume) if output is not None else None
    previous = folder.previous() if folder is not None and resume else {}
    if folder is not None:
        folder.open()
    try:
        ask = _asker(preflight, knowledge)
        records = _run(found, previous, folder, fmt, workers, scheduler, timeout, profiles_dir, err, ask)
    finally:
        if folder is not None:
            folder.close()
    _write_summary(records, fmt, output)
    _exit_code(records, fail_on, err)


def _asker(update_ids: tuple[str, ...], knowledge: Any) -> Any:
    """``--preflight``: a function adding the verdicts to a record (the identity without it)."""
    if not update_ids:
        return lambda record: record
    from scanner.fleet.preflight import preflight_verdicts

    return lambda record: {**record, "preflight": preflight_verdicts(record, update_ids, knowledge)}


def _run(found: list[Any], previous: dict[str, dict[str, Any]], folder: Any, fmt: str, workers: int | None,
         scheduler: str | None, timeout: float, profiles_dir: Path | None, err: Any, ask: Any
         ) -> list[dict[str, Any]]:
    """Run every source not resumed; stream records (stdout for jsonl, the output folder) as they arrive."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from scanner.fleet.records import make_record
    from scanner.fleet.task import Task

    records: dict[int, dict[str, Any]] = {}
    tasks = []
    for index, source in enumerate(found):
        kept = previous.get(str(source.path.resolve()))
        if kept is not None and kept.get("identity") == source.identity():
            records[index] = ask({k: v for k, v in kept.items() if k != "preflight"})  # asked anew
            _stream(records[index], fmt)
        else:
            tasks.append(Task(index, str(source.path), str(profiles_dir) if profiles_dir else None,
                              html=fmt == "html" and folder is not None))
    resumed = f" ({len(records)} resumed)" if records else ""
    columns = (TextColumn(f"servers{resumed}"), BarColumn(), MofNCompleteColumn(), TextColumn("ETA"),
               TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        bar = progress.add_task("fleet", total=len(tasks))
        for task, outcome in _runner(tasks, workers, scheduler, timeout):
            source = found[task.index]
            saved = folder.save(source, outcome) if folder is not None else (None, None)
            record = ask(make_record(source, outcome, saved))
            records[task.index] = record
            if folder is not None:
                folder.append(record)
            _stream(record, fmt)
            progress.advance(bar)
            if record["status"] == "error":
                where = "" if record["error"].startswith(record["source"]) else f"{record['source']}: "
                warn(progress.console, f"patchmortem: warning: {where}{record['error']}")
    return [records[i] for i in sorted(records)]


def _runner(tasks: list[Any], workers: int | None, scheduler: str | None, timeout: float) -> Any:
    if scheduler:
        from scanner.fleet.cluster import run_dask

        return run_dask(tasks, scheduler, timeout)
    from scanner.fleet.local import run_local

    return run_local(tasks, workers or os.cpu_count() or 1, timeout)


def _stream(record: dict[str, Any], fmt: str) -> None:
    if fmt == "jsonl":
        from scanner.fleet.records import record_line

        sys.stdout.write(record_line(record))
        sys.stdout.flush()


def _write_summary(records: list[dict[str, Any]], fmt: str, output: Path | None) -> None:
    """The summary on stdout, or for html with --output, as DIR/index.html linking each server's report."""
    if FORMATS[fmt] is _summary_none:
        return
    target = output / "index.html" if fmt == "html" and output is not None else None
    with report_out(target) as out:
        FORMATS[fmt](records, out)


def _refuse_evidence(output: Path, found: list[Any], named: list[Path]) -> None:
    """The output folder is never an evidence file, nor inside a folder named as a source (a triage
    collection or a folder of images): evidence is read-only."""
    target = output.resolve()
    for path in [f for source in found for f in (source.files or (source.path,))] + named:
        real = path.resolve()
        if target == real or (path.is_dir() and real in target.parents):
            raise OutputError(f"refusing to write {output}: it is (part of) the evidence {path}")


def _exit_code(records: list[dict[str, Any]], fail_on: tuple[str, ...], err: Any) -> None:
    levels = [level for level in fail_on if level in SEVERITY_ORDER]
    if levels:
        threshold = max(levels, key=severity_rank)  # the least severe level named: it and worse fail
        reached = [r for r in records if any(at_least(str(f.get("severity") or ""), threshold)
                                             for f in (r.get("scan") or {}).get("findings", []))]
        if reached:
            warn(err, f"patchmortem: {len(reached)} server(s) with a finding at or above the --fail-on "
                 "level: exit 10")
            sys.exit(int(ExitCode.FINDINGS))
    if "unreadable" in fail_on:
        failed = [r for r in records if r["status"] == "error"]
        if failed:
            warn(err, f"patchmortem: {len(failed)} source(s) could not be scanned (--fail-on unreadable): "
                 "exit 12")
            sys.exit(int(ExitCode.FLEET_UNREADABLE))
