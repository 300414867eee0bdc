"""The ``repro`` reports: JSON (the contract, ``schemas/repro.schema.json``) and Markdown for people.

The Markdown goes into tickets and lab wikis, so every evidence string is escaped exactly as the ``scan``
Markdown report escapes it (``scanner.report.markdown``: HTML entities for ``& < >``, backslashes before
Markdown punctuation, paths in code spans no backtick can close) by the template environment's finalize.
"""

from __future__ import annotations

from typing import IO, Any

from scanner import __version__
from scanner.render.meta import RunMeta
from scanner.render.phrases import span, where
from scanner.render.templating import markdown_environment, write_json
from scanner.repro.model import ReproPlan


def plan_to_dict(plan: ReproPlan, meta: RunMeta | None = None) -> dict[str, Any]:
    """The plan's contract: ``schema_version``, then how and when the scan ran (:mod:`scanner.render.meta`),
    then the plan."""
    data = plan.to_dict()
    return {"schema_version": data.pop("schema_version"), **(meta or RunMeta.start()).to_dict(), **data}


def write_repro_json(plan: ReproPlan, out: IO[str], meta: RunMeta | None = None) -> None:
    """The plan as indented UTF-8 JSON, newline-terminated."""
    write_json(plan_to_dict(plan, meta), out)


def render_repro_markdown(plan: ReproPlan) -> str:
    template = markdown_environment().get_template("repro.md.j2")
    return template.render(plan=plan, version=__version__, where=where, span=span)


def write_repro_markdown(plan: ReproPlan, out: IO[str]) -> None:
    out.write(render_repro_markdown(plan))
