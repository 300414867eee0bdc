"""``patchmortem profiles check``: load and cross-check the knowledge, or list each problem with file:line."""

from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

import click

from scanner.cli.exits import handle_errors
from scanner.cli.options import diagnostics_options
from scanner.errors import ExitCode, ProfileError

if TYPE_CHECKING:
    from scanner.knowledge.profiles import Knowledge

#: Ids shown on a summary line before "… (N more)".
SHOWN_IDS = 12


@click.group()
def profiles() -> None:
    """Work with the knowledge profiles (OS, components, events, rules, interactions, update profiles,
    failure-episode thresholds, install time windows)."""


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
    from scanner.knowledge.components import default_profiles_dir
    from scanner.knowledge.profiles import load_knowledge

    try:
        knowledge = load_knowledge(directory)
    except ProfileError as exc:
        for problem in exc.problems:  # one line each, as a compiler lists errors
            for text in str(problem).splitlines():
                if text.strip():
                    click.echo(f"patchmortem: error: {text.strip()}", err=True)
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
        ("time windows", _time_windows(directory)),
    ]
    for kind, ids in kinds:
        more = len(ids) - SHOWN_IDS
        shown = ", ".join(ids[:SHOWN_IDS]) + (f", … ({more} more)" if more > 0 else "")
        click.echo(f"{kind + ':':<19}{len(ids):>3}  {shown}")


def _time_windows(directory: Path | None) -> list[str]:
    """``name=N min`` of each install window (profiles/windows.toml, checked by load_knowledge above)."""
    from scanner.knowledge.windows import load_windows

    windows = load_windows(directory)
    minutes = lambda span: int(span.total_seconds() // 60)  # noqa: E731 - one conversion, two uses
    return [
        f"file_install={minutes(windows.file_install)} min",
        f"component_install={minutes(windows.component_install)} min",
    ]


def _episode_thresholds(knowledge: Knowledge) -> list[str]:
    """``name=value`` of each failure-episode threshold (profiles/episodes.toml), for the summary line."""
    rules = knowledge.episodes
    if rules is None:
        return []
    shown = []
    for field in fields(rules):
        value = getattr(rules, field.name)
        if field.name != "source" and isinstance(value, int):
            shown.append(f"{field.name}={value}")
    return shown
