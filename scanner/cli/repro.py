"""``patchmortem repro``: a lab plan that reproduces the failure, step by step, with the customer's dates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from scanner.cli.exits import handle_errors
from scanner.cli.options import (
    diagnostics_options,
    format_option,
    output_option,
    parent_option,
    profiles_option,
    source_argument,
    system_option,
)
from scanner.cli.output import Writer, refuse_evidence_as_output, report_out
from scanner.cli.progress import spinner, stderr_console

if TYPE_CHECKING:
    from scanner.render.meta import RunMeta
    from scanner.repro import ReproPlan


@dataclass(frozen=True)
class _Report:
    plan: ReproPlan
    meta: RunMeta


def _md(report: _Report, out: IO[str]) -> None:
    from scanner.repro import write_repro_markdown

    write_repro_markdown(report.plan, out)


def _json(report: _Report, out: IO[str]) -> None:
    from scanner.repro import write_repro_json

    write_repro_json(report.plan, out, report.meta)


FORMATS: dict[str, Writer[_Report]] = {"md": _md, "json": _json}


@click.command()
@diagnostics_options
@source_argument
@format_option(
    FORMATS,
    help="md: the lab plan as Markdown for people; json: the documented contract "
    "(schemas/repro.schema.json).",
)
@output_option
@parent_option
@system_option
@profiles_option
@handle_errors
def repro(
    source: Path,
    fmt: str,
    output: Path | None,
    parent: Path | None,
    system_index: int | None,
    profiles_dir: Path | None,
) -> None:
    """Plan a lab reproduction of the failure: base media, ordered servicing steps with the customer's
    dates, the deliberate deviations, the trigger step and the symptom to watch for.

    Packages are named by their real identifiers (KB/Q numbers, service-pack names), never by download links.
    """
    from scanner.knowledge.profiles import load_knowledge
    from scanner.pipeline import scan as run_scan
    from scanner.render.meta import RunMeta
    from scanner.repro import plan_repro

    meta = RunMeta.start(profiles_dir)
    if output is not None:
        refuse_evidence_as_output(output, source, parent)
    with spinner(stderr_console()) as progress:
        knowledge = load_knowledge(profiles_dir)  # once: the scan and the plan read the same profiles
        result = run_scan(
            source,
            parent=parent,
            system=system_index,
            knowledge=knowledge,
            progress=progress,
        )
        plan = plan_repro(result, knowledge)
    with report_out(output) as out:
        FORMATS[fmt](_Report(plan, meta), out)
