"""``patchmortem diff``: what changed between two states of a server (images, saved scans, a child disk)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from scanner.cli.exits import handle_errors
from scanner.cli.options import diagnostics_options, format_option, output_option, profiles_option
from scanner.cli.output import (
    Writer,
    refuse_evidence_as_output,
    refuse_page_on_terminal,
    report_out,
    text_console,
)
from scanner.cli.progress import spinner, stderr_console

if TYPE_CHECKING:
    from scanner.diff.model import ScanDiff
    from scanner.render.meta import RunMeta


@dataclass(frozen=True)
class _Report:
    diff: ScanDiff
    meta: RunMeta


def _text(report: _Report, out: IO[str]) -> None:
    from scanner.diff.report_text import print_diff

    console = text_console(out)
    print_diff(report.diff, console)
    console.file.flush()


def _json(report: _Report, out: IO[str]) -> None:
    from scanner.diff.report_text import write_diff_json

    write_diff_json(report.diff, out, report.meta)


def _html(report: _Report, out: IO[str]) -> None:
    from scanner.diff.report_html import write_diff_html

    write_diff_html(report.diff, out)


FORMATS: dict[str, Writer[_Report]] = {"text": _text, "json": _json, "html": _html}


def _side(path: Path, profiles_dir: Path | None, progress: Callable[[str], None]) -> dict[str, Any]:
    """One side of ``diff``: a saved scan JSON (checked, schema 1.x) or evidence scanned now."""
    from scanner.diff.load import is_scan_json_path, load_scan_json
    from scanner.pipeline import scan as run_scan
    from scanner.report.scan_json import scan_to_dict

    if is_scan_json_path(path):
        return load_scan_json(path)
    return scan_to_dict(run_scan(path, profiles_dir=profiles_dir, progress=progress))


def _sides(before: Path, after: Path | None) -> tuple[Path, Path]:
    """BEFORE and AFTER; with AFTER omitted, BEFORE is a differencing disk compared with its parent."""
    from scanner.diff.chain import parent_of
    from scanner.diff.load import NoParentError, is_scan_json_path
    from scanner.errors import SourceNotFoundError

    if after is not None:
        return before, after
    if is_scan_json_path(before):
        raise NoParentError(f"{before} is a saved scan: give AFTER to compare it with")
    if not before.exists():
        raise SourceNotFoundError(f"{before}: no such file or directory")
    parent = parent_of(before)
    if parent is None:
        raise NoParentError(f"{before} is not a differencing disk (no parent): give AFTER to compare")
    return parent, before


@click.command()
@diagnostics_options
@click.argument("before", type=click.Path(path_type=Path))
@click.argument("after", type=click.Path(path_type=Path), required=False)
@format_option(
    FORMATS,
    help="text: the changes, headline first; json: the documented contract (schemas/diff.schema.json); "
    "html: one self-contained page (use --output).",
)
@output_option
@profiles_option
@handle_errors
def diff(
    before: Path,
    after: Path | None,
    fmt: str,
    output: Path | None,
    profiles_dir: Path | None,
) -> None:
    """What changed between two states of a server: BEFORE and AFTER are images or saved scan JSONs.

    With AFTER omitted, BEFORE must be a differencing disk (.avhd, .avhdx, VMDK delta, qcow2 with a
    backing file): its parent alone is compared with it. Reports updates added/removed/changed, component
    files whose version changed and which update did it, files added/removed, pending renames, the SP
    level, new and gone findings, and the verdict (a changed verdict is the headline).
    """
    from scanner.diff import diff_scans
    from scanner.diff.chain import parent_of
    from scanner.diff.load import is_scan_json_path
    from scanner.render.meta import RunMeta

    meta = RunMeta.start(profiles_dir)
    before, after = _sides(before, after)
    refuse_page_on_terminal(fmt, output)
    if output is not None:
        for side in (before, after):
            refuse_evidence_as_output(output, side, parent_of(side) if not is_scan_json_path(side) else None)
    with spinner(stderr_console()) as progress:
        progress(f"scanning {before}")
        old = _side(before, profiles_dir, progress.under(before))
        progress(f"scanning {after}")
        new = _side(after, profiles_dir, progress.under(after))
    report = _Report(diff_scans(old, new, str(before), str(after)), meta)
    with report_out(output) as out:
        FORMATS[fmt](report, out)
