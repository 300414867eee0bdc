"""Command-line interface: parses options, calls the pipeline, picks a report. The only place that exits.

Every :class:`~scanner.errors.ScannerError` becomes one line on stderr and its documented exit code; any
other exception is a bug and becomes one line plus exit code 70 (``--verbose`` adds the traceback), so a
user never sees a raw traceback from bad evidence.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from functools import wraps
from pathlib import Path
from typing import IO, Any, TypeVar, cast

import click

from scanner import __version__
from scanner.errors import ExitCode, OutputError, ScannerError
from scanner.model import SEVERITY_ORDER

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: ExitCode) -> None:
    click.echo(f"patchmortem: error: {message}", err=True)
    sys.exit(int(code))


def handle_errors(func: F) -> F:
    """Turn scanner errors into one stderr line + exit code; never let a traceback escape."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ScannerError as exc:
            _fail(str(exc), exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            _quiet_broken_pipe()
        except KeyboardInterrupt:
            _fail("interrupted", ExitCode.INTERNAL)
        except Exception as exc:  # noqa: BLE001 - last line of defence, reported as a bug
            ctx = click.get_current_context(silent=True)
            if ctx is not None and ctx.find_root().obj and ctx.find_root().obj.get("verbosity", 0) > 0:
                traceback.print_exc()
            _fail(f"internal error ({type(exc).__name__}: {exc}); please report it", ExitCode.INTERNAL)

    return wrapper  # type: ignore[return-value]


#: Shared by every command that opens evidence.
parent_option = click.option(
    "--parent",
    type=click.Path(path_type=Path),
    default=None,
    help="Parent disk of a legacy VHD differencing disk (.avhd), if its locators do not find it.",
)

system_option = click.option(
    "--system",
    "system_index",
    type=int,
    default=None,
    help="Volume index of the Windows system to read when a disk holds several (see describe).",
)
output_option = click.option(
    "--output",
    "output",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    default=None,
    help="Write to this file instead of stdout ('-' is stdout).",
)
profiles_option = click.option(
    "--profiles",
    "profiles_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Knowledge profiles directory (default: the shipped profiles/).",
)


def _set_diagnostics(level: int) -> None:
    """Apply a diagnostics level (-1 quiet, 0 normal, 1 verbose) to logging on stderr."""
    logging.basicConfig(format="patchmortem: %(levelname)s: %(message)s", stream=sys.stderr)
    logging.getLogger().setLevel({-1: logging.ERROR, 0: logging.WARNING, 1: logging.DEBUG}[level])
    # dissect logs chatty warnings for every plugin it cannot load (with tracebacks for optional loaders at
    # INFO level); they are not the user's problem, even with --verbose.
    for name in ("dissect", "dissect.target"):
        logging.getLogger(name).setLevel(logging.ERROR if level < 1 else logging.WARNING)


def _diagnostics_callback(ctx: click.Context, _param: click.Parameter, value: int | None) -> None:
    """``-v``/``-q`` after a subcommand mean what they mean before it: stderr diagnostics, never report
    detail (that is ``scan --detail``)."""
    if value is None or ctx.resilient_parsing:
        return
    root = ctx.find_root()
    root.obj = {**(root.obj or {}), "verbosity": value}
    _set_diagnostics(value)


def diagnostics_options(func: F) -> F:
    """``-v/--verbose`` and ``-q/--quiet``, accepted after every subcommand as well as before it."""
    func = click.option(
        "-q", "--quiet", "quiet_flag", flag_value=-1, default=None, expose_value=False, is_eager=True,
        callback=_diagnostics_callback, help="Only errors on stderr (same as before the command).",
    )(func)
    return click.option(
        "-v", "--verbose", "verbose_flag", flag_value=1, default=None, expose_value=False, is_eager=True,
        callback=_diagnostics_callback,
        help="Progress and debug detail on stderr, and a traceback for internal errors (same as before the "
        "command).",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="patchmortem")
@click.option("-v", "--verbose", "verbosity", flag_value=1, help="Show progress and debug detail on stderr.")
@click.option("-q", "--quiet", "verbosity", flag_value=-1, help="Only errors on stderr.")
@click.pass_context
def cli(ctx: click.Context, verbosity: int | None) -> None:
    """Explain, offline and read-only, why a Windows server died after a patch.

    SOURCE is a disk image (raw/dd, split raw, VHD, VHDX, VMDK, qcow2, E01) or a directory.
    """
    level = verbosity or 0
    ctx.obj = {"verbosity": level}
    _set_diagnostics(level)


@cli.command()
@diagnostics_options
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format on stdout.",
)
@parent_option
@handle_errors
def describe(source: Path, fmt: str, parent: Path | None) -> None:
    """Describe an evidence SOURCE: container, disks, volumes, file systems and Windows systems found."""
    from scanner.evidence.source import describe_source

    description = describe_source(source, parent=parent)
    if fmt == "json":
        click.echo(json.dumps(description.to_dict(), indent=2))
    else:
        from scanner.render.text import line

        out = _text_console(sys.stdout)
        for text in description.to_text().splitlines():
            line(out, text, hang=12)  # under the value column ("source:     ...")
        out.file.flush()


@cli.command()
@diagnostics_options
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: readable tables; json: the documented contract (schemas/inventory.schema.json).",
)
@parent_option
@system_option
@profiles_option
@click.pass_context
@handle_errors
def inventory(
    ctx: click.Context,
    source: Path,
    fmt: str,
    parent: Path | None,
    system_index: int | None,
    profiles_dir: Path | None,
) -> None:
    """Inventory a Windows system's servicing state: system facts, recorded updates, real file versions.

    Reads the registry (replaying dirty hives' transaction logs in memory), the component files a profile
    names (PE version resource, lab tag, NTFS times) and the uninstall folders; what cannot be read is listed
    as a gap. Progress goes to stderr, data to stdout.
    """
    from rich.console import Console

    from scanner.pipeline import inventory as run_inventory
    from scanner.render.meta import RunMeta
    from scanner.report.inventory import inventory_to_dict, print_inventory

    meta = RunMeta.start(profiles_dir)
    quiet = ctx.find_root().obj.get("verbosity", 0) < 0
    err = Console(stderr=True, quiet=quiet)
    with err.status("working") as status:
        inv = run_inventory(
            source,
            parent=parent,
            system=system_index,
            profiles_dir=profiles_dir,
            progress=lambda message: status.update(message),
        )
    if fmt == "json":
        click.echo(json.dumps(inventory_to_dict(inv, meta), indent=2))
    else:
        # A pipe or file gets every column in full; a terminal gets its own width.
        out = _text_console(sys.stdout)
        print_inventory(inv, out)
        out.file.flush()


@contextmanager
def _report_out(output: Path | None) -> Iterator[IO[str]]:
    """Where a report goes: ``--output`` opened for writing (OutputError, exit 8, if it cannot be), else
    stdout. The caller has already refused evidence paths (``_refuse_evidence_as_output``)."""
    if output is not None and str(output) == "-":
        output = None
    try:
        stream = output.open("w", encoding="utf-8", newline="") if output else None
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from exc
    try:
        yield stream or sys.stdout
        if stream is not None:
            stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:  # a device or pseudo-file that accepted the open but refuses the bytes
        raise OutputError(f"cannot write {output or 'stdout'}: {exc.strerror or exc}") from exc
    finally:
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass


def _text_console(out: IO[str]) -> Any:
    """A rich Console for a text report: a terminal gets its own width and colours; a pipe or a file gets
    80 columns (long lines wrap on word boundaries, nothing is cut) and no colour codes."""
    from rich.console import Console

    class ReportConsole(Console):
        def on_broken_pipe(self) -> None:
            """rich would exit 1 on its own; the CLI ends every broken pipe the same documented way."""
            raise BrokenPipeError

    if out is sys.stdout and sys.stdout.isatty():
        return ReportConsole()
    return ReportConsole(file=cast(IO[str], _RstripLines(out)), width=pipe_width(), no_color=True)


#: Text written to a pipe or a file wraps at this width (a terminal uses its own): long lines break on word
#: boundaries with a hanging indent (scanner/render/text.py ``line``), nothing is cut with an ellipsis.
PIPE_WIDTH = 80


def pipe_width() -> int:
    """The width of text written to a pipe or a file: ``COLUMNS`` when it is set to a sane number (the POSIX
    way to ask for wider or narrower output: ``COLUMNS=200 patchmortem scan X > report.txt``), else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return PIPE_WIDTH
    return columns if 40 <= columns <= 1000 else PIPE_WIDTH


class _RstripLines(io.TextIOBase):
    """A text stream that drops the spaces rich pads table cells with at the end of each line, so piped
    text diffs and greps cleanly."""

    def __init__(self, out: IO[str]) -> None:
        super().__init__()
        self._out = out
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        if lines:
            self._out.write("".join(line.rstrip(" ") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._out.write(self._pending.rstrip(" "))
            self._pending = ""
        self._out.flush()


_SEGMENT = re.compile(r"\.(\d{3}|[Ee]\d{2}|[Ee][A-Za-z]{2})")


def _refuse_evidence_as_output(output: Path, source: Path, parent: Path | None) -> None:
    """Evidence is read-only: a report must never land on the source, its parent, a segment or inside it."""
    if str(output) == "-":
        return
    target = output.resolve()
    for evidence in (source, parent):
        if evidence is None:
            continue
        real = evidence.resolve()
        segment = target.parent == real.parent and bool(_SEGMENT.fullmatch(target.suffix)) and (
            target.stem.split(".")[0] == real.name.split(".")[0]
        )
        if target == real or real in target.parents or segment:
            raise OutputError(f"refusing to write {output}: it is (part of) the evidence {evidence}")


def _refuse_page_on_terminal(fmt: str, output: Path | None) -> None:
    """An HTML page (over a megabyte with the plot's JavaScript) is never dumped on a terminal by accident."""
    if fmt == "html" and output is None and sys.stdout.isatty():
        raise click.UsageError(
            "--format html writes a whole web page: give --output report.html (or --output - to force stdout)"
        )


def _utc_bound(value: str | None, *, end: bool) -> datetime | None:
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


@cli.command()
@diagnostics_options
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "csv", "jsonl", "timesketch"]),
    default="text",
    show_default=True,
    help="text: one line per entry; csv; jsonl: the entry JSON contract per line; timesketch: JSONL with "
    "message/datetime/timestamp_desc for Timesketch import.",
)
@click.option("--since", default=None, help="Only entries at or after this UTC date/time (ISO 8601).")
@click.option("--until", default=None, help="Only entries at or before this UTC date/time (a date: its end).")
@output_option
@parent_option
@system_option
@profiles_option
@click.pass_context
@handle_errors
def timeline(
    ctx: click.Context,
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
    from rich.console import Console

    from scanner.pipeline import timeline as run_timeline
    from scanner.render.text import clean
    from scanner.report.timeline import print_timeline, write_csv, write_jsonl, write_timesketch

    start, stop = _utc_bound(since, end=False), _utc_bound(until, end=True)
    if start is not None and stop is not None and start > stop:
        raise click.UsageError(f"--since {since} is after --until {until}: nothing can fall between them")
    if output is not None:
        _refuse_evidence_as_output(output, source, parent)
    quiet = ctx.find_root().obj.get("verbosity", 0) < 0
    err = Console(stderr=True, quiet=quiet)
    with err.status("working") as status:
        _, fused = run_timeline(
            source,
            parent=parent,
            system=system_index,
            profiles_dir=profiles_dir,
            progress=lambda message: status.update(message),
        )
    entries = fused.between(start, stop)
    with _report_out(output) as out:
        if fmt == "jsonl":
            write_jsonl(entries, out)
        elif fmt == "csv":
            write_csv(entries, out)
        elif fmt == "timesketch":
            undated = write_timesketch(entries, out)
            if undated:
                err.print(f"patchmortem: {undated} undated entries left out of the Timesketch export")
        else:
            console = _text_console(out)
            print_timeline(entries, fused.gaps, console, verbose=ctx.find_root().obj.get("verbosity", 0) > 0)
            console.file.flush()
    for gap in fused.gaps if fmt != "text" else []:
        # One line per warning, never wrapped, so it can be grepped.
        err.print(
            f"patchmortem: warning: {clean(gap.what)}: {clean(gap.reason)}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


@cli.command()
@diagnostics_options
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "html", "md"]),
    default="text",
    show_default=True,
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
@click.option(
    "--fail-on",
    "fail_on",
    type=click.Choice(["warning", "critical"]),
    default=None,
    help="Exit 10 (after writing the report) when a finding is at least this severe: for scripts and fleets.",
)
@click.pass_context
@handle_errors
def scan(
    ctx: click.Context,
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
    from rich.console import Console

    from scanner.pipeline import scan as run_scan
    from scanner.render.meta import RunMeta
    from scanner.render.text import clean
    from scanner.report.scan_json import write_scan_json
    from scanner.report.scan_text import print_scan

    meta = RunMeta.start(profiles_dir)
    _refuse_page_on_terminal(fmt, output)
    if output is not None:
        _refuse_evidence_as_output(output, source, parent)
    verbosity = ctx.find_root().obj.get("verbosity", 0)
    err = Console(stderr=True, quiet=verbosity < 0)
    with err.status("working") as status:
        result = run_scan(
            source,
            parent=parent,
            system=system_index,
            profiles_dir=profiles_dir,
            progress=lambda message: status.update(message),
            hash_evidence=hash_evidence,
        )
    with _report_out(output) as out:
        if fmt == "json":
            write_scan_json(result, out, meta)
        elif fmt == "html":
            from scanner.report.html import write_html

            write_html(result, out)
        elif fmt == "md":
            from scanner.report.markdown import write_markdown

            write_markdown(result, out)
        else:
            console = _text_console(out)
            print_scan(result, console, verbose=detail)
            console.file.flush()
    for gap in result.gaps if fmt != "text" else []:
        err.print(
            f"patchmortem: warning: {clean(gap.what)}: {clean(gap.reason)}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if fail_on is not None:
        threshold = SEVERITY_ORDER[fail_on]
        reached = [f for f in result.findings if SEVERITY_ORDER.get(f.severity, 9) <= threshold]
        if reached:
            err.print(f"patchmortem: {len(reached)} finding(s) at or above {fail_on} (--fail-on): exit 10",
                      highlight=False, markup=False, soft_wrap=True)
            sys.exit(int(ExitCode.FINDINGS))


def _diff_side(path: Path, profiles_dir: Path | None, progress: Callable[[str], None]) -> dict[str, Any]:
    """One side of ``diff``: a saved scan JSON (checked, schema 1.x) or evidence scanned now."""
    from scanner.diff.load import is_scan_json_path, load_scan_json
    from scanner.pipeline import scan as run_scan
    from scanner.report.scan_json import scan_to_dict

    if is_scan_json_path(path):
        return load_scan_json(path)
    return scan_to_dict(run_scan(path, profiles_dir=profiles_dir, progress=progress))


@cli.command()
@diagnostics_options
@click.argument("before", type=click.Path(path_type=Path))
@click.argument("after", type=click.Path(path_type=Path), required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "html"]),
    default="text",
    show_default=True,
    help="text: the changes, headline first; json: the documented contract (schemas/diff.schema.json); "
    "html: one self-contained page (use --output).",
)
@output_option
@profiles_option
@click.pass_context
@handle_errors
def diff(
    ctx: click.Context,
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
    from rich.console import Console

    from scanner.diff import diff_scans
    from scanner.diff.chain import parent_of
    from scanner.diff.load import NoParentError, is_scan_json_path
    from scanner.diff.report_text import print_diff, write_diff_json
    from scanner.render.meta import RunMeta

    meta = RunMeta.start(profiles_dir)
    if after is None:
        if is_scan_json_path(before):
            raise NoParentError(f"{before} is a saved scan: give AFTER to compare it with")
        if not before.exists():
            from scanner.errors import SourceNotFoundError

            raise SourceNotFoundError(f"{before}: no such file or directory")
        parent = parent_of(before)
        if parent is None:
            raise NoParentError(f"{before} is not a differencing disk (no parent): give AFTER to compare")
        before, after = parent, before
    _refuse_page_on_terminal(fmt, output)
    if output is not None:
        for side in (before, after):
            _refuse_evidence_as_output(output, side, parent_of(side) if not is_scan_json_path(side) else None)
    verbosity = ctx.find_root().obj.get("verbosity", 0)
    err = Console(stderr=True, quiet=verbosity < 0)
    with err.status("working") as status:
        status.update(f"scanning {before}")
        old = _diff_side(before, profiles_dir, lambda message: status.update(f"{before}: {message}"))
        status.update(f"scanning {after}")
        new = _diff_side(after, profiles_dir, lambda message: status.update(f"{after}: {message}"))
    result = diff_scans(old, new, str(before), str(after))
    with _report_out(output) as out:
        if fmt == "json":
            write_diff_json(result, out, meta)
        elif fmt == "html":
            from scanner.diff.report_html import write_diff_html

            write_diff_html(result, out)
        else:
            console = _text_console(out)
            print_diff(result, console)
            console.file.flush()


@cli.command()
@diagnostics_options
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "json"]),
    default="md",
    show_default=True,
    help="md: the lab plan as Markdown for people; json: the documented contract "
    "(schemas/repro.schema.json).",
)
@output_option
@parent_option
@system_option
@profiles_option
@click.pass_context
@handle_errors
def repro(
    ctx: click.Context,
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
    from rich.console import Console

    from scanner.knowledge.profiles import load_knowledge
    from scanner.pipeline import scan as run_scan
    from scanner.render.meta import RunMeta
    from scanner.repro import plan_repro, write_repro_json, write_repro_markdown

    meta = RunMeta.start(profiles_dir)
    if output is not None:
        _refuse_evidence_as_output(output, source, parent)
    verbosity = ctx.find_root().obj.get("verbosity", 0)
    err = Console(stderr=True, quiet=verbosity < 0)
    with err.status("working") as status:
        knowledge = load_knowledge(profiles_dir)  # once: the scan and the plan read the same profiles
        result = run_scan(
            source,
            parent=parent,
            system=system_index,
            knowledge=knowledge,
            progress=lambda message: status.update(message),
        )
        plan = plan_repro(result, knowledge)
    with _report_out(output) as out:
        if fmt == "json":
            write_repro_json(plan, out, meta)
        else:
            write_repro_markdown(plan, out)


#: A ProfileError lists its problems as "path:line: message" joined by newlines or "; " (one per problem).
_PROFILE_PROBLEM = re.compile(r"\n|;\s+(?=\S+\.toml\b)")


@cli.group()
def profiles() -> None:
    """Work with the knowledge profiles (OS, components, events, rules, interactions, update profiles,
    failure-episode thresholds)."""


@profiles.command("check")
@diagnostics_options
@click.argument(
    "directory",
    metavar="[DIR]",
    required=False,
    type=click.Path(path_type=Path, exists=True, file_okay=False),
)
@handle_errors
def profiles_check(directory: Path | None) -> None:
    """Load and cross-check every profile in DIR (default: the shipped profiles/).

    Prints one summary line per kind of profile and exits 0, or prints every problem as file:line: message
    (syntax, unknown or missing keys, duplicate ids, references that do not resolve) and exits 7.
    """
    from scanner.errors import ProfileError
    from scanner.knowledge.components import default_profiles_dir
    from scanner.knowledge.profiles import load_knowledge

    try:
        knowledge = load_knowledge(directory)
    except ProfileError as exc:
        for problem in _PROFILE_PROBLEM.split(str(exc)):
            if problem.strip():
                click.echo(f"patchmortem: error: {problem.strip()}", err=True)
        sys.exit(int(ExitCode.PROFILE_ERROR))
    click.echo(f"profiles in {directory or default_profiles_dir()}: valid")
    kinds: list[tuple[str, list[str]]] = [
        ("operating systems", [o.id for o in knowledge.os_profiles]),
        ("components", [c.id for c in knowledge.components]),
        ("event meanings", [m.id for m in knowledge.events.meanings]),
        ("rules", [r.id for r in knowledge.rules]),
        ("interactions", [i.id for i in knowledge.interactions]),
        ("update profiles", [u.id for u in knowledge.updates]),
        ("episode thresholds", _episode_thresholds(knowledge)),
    ]
    for kind, ids in kinds:
        shown = ", ".join(ids[:12]) + (f", … ({len(ids) - 12} more)" if len(ids) > 12 else "")
        click.echo(f"{kind + ':':<19}{len(ids):>3}  {shown}")


def _episode_thresholds(knowledge: Any) -> list[str]:
    """``name=value`` of each failure-episode threshold (profiles/episodes.toml), for the summary line."""
    from dataclasses import fields

    rules = knowledge.episodes
    if rules is None:
        return []
    shown = []
    for field in fields(rules):
        value = getattr(rules, field.name)
        if field.name != "source" and isinstance(value, int):
            shown.append(f"{field.name}={value}")
    return shown


def main() -> None:
    """Console-script entry point.

    A report written to a stream that cannot encode its characters (``PYTHONIOENCODING=ascii``, a legacy
    code page) shows them as ``\\uXXXX`` instead of dying mid-report with a UnicodeEncodeError.
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    try:
        try:
            cli.main(prog_name="patchmortem", standalone_mode=False)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            _fail("interrupted", ExitCode.INTERNAL)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        sys.stdout.flush()  # the last buffered bytes: a reader gone by now is a broken pipe too
    except BrokenPipeError:
        _quiet_broken_pipe()


def _quiet_broken_pipe() -> None:
    """``patchmortem timeline X | head -1``: the reader went away; end quietly, as Unix tools do.

    Python would print an "Exception ignored … BrokenPipeError" when it flushes stdout at exit; pointing
    stdout at /dev/null first keeps that flush silent (the recipe in the ``signal`` module's documentation).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(int(ExitCode.BROKEN_PIPE))


# --- issue 18: the JSON Schemas ship with the package; `patchmortem schema` prints them or their path. ---
@cli.command("schema")
@click.argument(
    "name", required=False,
    type=click.Choice(["scan", "inventory", "timeline-entry", "diff", "repro", "preflight", "fleet-record"]),
)
@click.option("--path", "show_path", is_flag=True, help="Print the path (without NAME: the directory).")
@handle_errors
def schema(name: str | None, show_path: bool) -> None:
    """Print the JSON Schema of a JSON output (scan, inventory, timeline-entry, diff, repro, preflight,
    fleet-record), or its path.

    Without NAME, lists every schema with its path. The schemas are installed with patchmortem, so a
    pipeline can validate `scan --format json` without a source checkout.
    """
    from scanner.report.schema_files import SCHEMAS, schema_dir, schema_path

    if name is None:
        if show_path:
            click.echo(str(schema_dir()))
            return
        for key in SCHEMAS:
            click.echo(f"{key:<15} {schema_path(key)}")
        return
    path = schema_path(name)
    click.echo(str(path) if show_path else path.read_text(encoding="utf-8").rstrip("\n"))


# --- issue 17: many servers at once; the command lives in its own module. ---
def _register_fleet() -> None:
    """Registered last, from its own module: it imports the helpers above."""
    from scanner.fleet.command import fleet_command

    cli.add_command(cast(click.Command, fleet_command))


_register_fleet()


# --- issue 17: `patchmortem preflight` lives in its own module (it imports the helpers above). ---
def _register_preflight() -> None:
    from scanner.preflight.command import preflight

    cli.add_command(preflight)


_register_preflight()
