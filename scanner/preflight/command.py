"""``patchmortem preflight SOURCE... --update KB...``: before the next patch, safe / at risk / unknown.

Its own module (scanner/cli/ registers it with one line) so the CLI file stays one job. Each source is
scanned exactly as ``scan`` scans it, then :func:`scanner.preflight.assess` reads the typed facts. Exit codes
(README "Exit codes"): 0 every update is safe on every server; 20 at least one is at risk; 21 none is at
risk but at least one is unknown (no profile, missing evidence, or — with several sources — a source that
could not be read); a single unreadable source keeps its own code (3-6), as ``scan``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from scanner.cli.exits import handle_errors
from scanner.cli.options import diagnostics_options, format_option, output_option, profiles_option
from scanner.cli.output import Writer, refuse_evidence_as_output, report_out
from scanner.cli.progress import spinner, stderr_console
from scanner.errors import ExitCode, ScannerError
from scanner.model.update_ids import normalise_update_id
from scanner.preflight.model import PreflightReason, PreflightVerdict, ServerPreflight

if TYPE_CHECKING:
    from scanner.render.meta import RunMeta


def update_ids_callback(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    """``--update``/``--preflight`` values as normalised update ids, each once (a usage error otherwise)."""
    ids = []
    for value in values:
        update_id = normalise_update_id(value)
        if update_id is None:
            raise click.BadParameter(f"{value!r} is not an update id (KBnnnnnn or Qnnnnnn)")
        ids.append(update_id)
    return tuple(dict.fromkeys(ids))


@dataclass(frozen=True)
class _Report:
    servers: list[ServerPreflight]
    updates: tuple[str, ...]
    meta: RunMeta


def _text(report: _Report, out: IO[str]) -> None:
    from scanner.preflight.render import write_preflight_text

    write_preflight_text(report.servers, out)


def _json(report: _Report, out: IO[str]) -> None:
    from scanner.preflight.render import write_preflight_json

    write_preflight_json(report.servers, report.updates, out, report.meta)


def _md(report: _Report, out: IO[str]) -> None:
    from scanner.preflight.render import write_preflight_markdown

    write_preflight_markdown(report.servers, out)


FORMATS: dict[str, Writer[_Report]] = {"text": _text, "json": _json, "md": _md}


@click.command("preflight")
@diagnostics_options
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--update", "updates", multiple=True, required=True, callback=update_ids_callback, metavar="KB",
    help="An update to check (KB973917, Q811114); repeat for several.",
)
@format_option(
    FORMATS,
    help="text: one block per server; json: the contract (schemas/preflight.schema.json); md: a table per "
    "server for tickets and change records.",
)
@output_option
@profiles_option
@handle_errors
def preflight(
    sources: tuple[Path, ...], updates: tuple[str, ...], fmt: str, output: Path | None,
    profiles_dir: Path | None,
) -> None:
    """Before installing an update: is it safe on each server, at risk (why), or unknown (what is missing)?

    Scans every SOURCE as `scan` does (a SOURCE ending in .json is a saved scan JSON, read instead of
    scanning again) and checks each --update against what profiles/updates says it
    requires and patches: a known interaction it would set off (KB973917 on IIS 6 files below SP2 ->
    KB2009746), a service pack or file branch the server lacks (Q281402), a component already below its SP
    baseline or with regressed hotfix files, a pending restart or package. An update without a profile is
    "unknown: no profile", never a guess. Exit 0 all safe, 20 any at risk, 21 none at risk but some unknown.
    """
    from scanner.diff.load import is_scan_json_path, load_scan_json
    from scanner.knowledge.profiles import load_knowledge
    from scanner.pipeline import scan as run_scan
    from scanner.preflight.assess import assess_server
    from scanner.preflight.facts import PreflightFacts
    from scanner.preflight.saved import facts_from_scan_json
    from scanner.render.meta import RunMeta

    meta = RunMeta.start(profiles_dir)
    knowledge = load_knowledge(profiles_dir)  # a broken profile fails (exit 7) before any evidence is read
    if output is not None:
        for source in sources:
            refuse_evidence_as_output(output, source, None)
    err = stderr_console()
    servers: list[ServerPreflight] = []
    for source in sources:
        with spinner(err, source) as progress:
            try:
                if is_scan_json_path(source):  # a saved scan (scan --format json, a fleet result)
                    facts = facts_from_scan_json(load_scan_json(source))
                else:
                    facts = PreflightFacts.from_scan(run_scan(source, profiles_dir=profiles_dir,
                                                              progress=progress))
            except ScannerError as exc:
                if len(sources) == 1:
                    raise
                servers.append(_unreadable(str(source), str(exc), updates))
                continue
        servers.append(assess_server(str(source), facts, updates, knowledge))
    with report_out(output) as out:
        FORMATS[fmt](_Report(servers, updates, meta), out)
    statuses = {v.status for s in servers for v in s.verdicts}
    if "at-risk" in statuses:
        sys.exit(int(ExitCode.PREFLIGHT_AT_RISK))
    if "unknown" in statuses:
        sys.exit(int(ExitCode.PREFLIGHT_UNKNOWN))


def _unreadable(source: str, error: str, updates: tuple[str, ...]) -> ServerPreflight:
    """A source that could not be scanned: a row with the reason, every verdict unknown."""
    reason = PreflightReason("evidence-missing", "missing", f"the source could not be read: {error}",
                             missing=("a readable source",))
    verdicts = tuple(PreflightVerdict(u, "unknown", (reason,), missing=reason.missing) for u in updates)
    return ServerPreflight(source=source, verdicts=verdicts, error=error)
