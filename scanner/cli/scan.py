"""``patchmortem scan``: the post-mortem — when it broke, the trigger, the latent cause, the fix."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from scanner.cli.exits import handle_errors
from scanner.cli.options import (
    diagnostics_options,
    fail_on_option,
    format_option,
    output_option,
    parent_option,
    profiles_option,
    source_argument,
    system_option,
)
from scanner.cli.output import (
    Writer,
    refuse_evidence_as_output,
    refuse_page_on_terminal,
    report_out,
    text_console,
    warn,
    warn_gaps,
)
from scanner.cli.progress import spinner, stderr_console
from scanner.errors import ExitCode
from scanner.model import at_least

if TYPE_CHECKING:
    from scanner.diagnose import ScanResult
    from scanner.render.meta import RunMeta


@dataclass(frozen=True)
class _Report:
    result: ScanResult
    meta: RunMeta
    detail: int  # -d / -dd


def _text(report: _Report, out: IO[str]) -> None:
    from scanner.report.scan_text import print_scan

    console = text_console(out)
    print_scan(report.result, console, verbose=report.detail)
    console.file.flush()


def _json(report: _Report, out: IO[str]) -> None:
    from scanner.report.scan_json import write_scan_json

    write_scan_json(report.result, out, report.meta)


def _html(report: _Report, out: IO[str]) -> None:
    from scanner.report.html import write_html

    write_html(report.result, out)


def _md(report: _Report, out: IO[str]) -> None:
    from scanner.report.markdown import write_markdown

    write_markdown(report.result, out)


FORMATS: dict[str, Writer[_Report]] = {"text": _text, "json": _json, "html": _html, "md": _md}


@click.command()
@diagnostics_options
@source_argument
@format_option(
    FORMATS,
    help="text: the post-mortem report; json: the documented contract (schemas/scan.schema.json); html: one "
    "self-contained page with an interactive timeline (use --output); md: Markdown for tickets and wikis.",
)
@click.option(
    "--hash",
    "hash_evidence",
    is_flag=True,
    help="Add the SHA-256 of every evidence file (image, chain parents, segments) to the report; reads "
    "the whole evidence.",
)
@output_option
@parent_option
@system_option
@profiles_option
@click.option(
    "-d",
    "--detail",
    "detail",
    count=True,
    help="More report detail (text): -d every entry's sources and the findings' details; -dd the whole "
    "timeline. (-v is stderr diagnostics, as for every command.)",
)
@fail_on_option
@handle_errors
def scan(
    source: Path,
    fmt: str,
    output: Path | None,
    parent: Path | None,
    system_index: int | None,
    profiles_dir: Path | None,
    detail: int,
    hash_evidence: bool,
    fail_on: str | None,
) -> None:
    """Explain why the server failed: when it broke, what triggered it, the latent cause, and the fix.

    Runs the inventory and the timeline, applies the knowledge in profiles/ (rules over the facts), and
    reports the verdict, the timeline around the failure, every finding with its evidence, the remediation
    steps and what could not be checked. Progress and (for json) warnings go to stderr, the report to stdout
    or --output.
    """
    from scanner.pipeline import scan as run_scan
    from scanner.render.meta import RunMeta

    meta = RunMeta.start(profiles_dir)
    refuse_page_on_terminal(fmt, output)
    if output is not None:
        refuse_evidence_as_output(output, source, parent)
    err = stderr_console()
    with spinner(err) as progress:
        result = run_scan(
            source,
            parent=parent,
            system=system_index,
            profiles_dir=profiles_dir,
            progress=progress,
            hash_evidence=hash_evidence,
        )
    with report_out(output) as out:
        FORMATS[fmt](_Report(result, meta, detail), out)
    if fmt != "text":
        warn_gaps(err, result.gaps)
    if fail_on is not None:
        reached = [f for f in result.findings if at_least(f.severity, fail_on)]
        if reached:
            warn(err, f"patchmortem: {len(reached)} finding(s) at or above {fail_on} (--fail-on): exit 10")
            sys.exit(int(ExitCode.FINDINGS))
