"""``patchmortem schema``: the JSON Schemas ship with the package (issue 18); print one or its path."""

from __future__ import annotations

import click

from scanner.cli.exits import handle_errors


@click.command("schema")
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
