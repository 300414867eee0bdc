"""The ``repro`` reports: JSON (the contract, ``schemas/repro.schema.json``) and Markdown for people.

The Markdown goes into tickets and lab wikis, so every evidence string is escaped exactly as the ``scan``
Markdown report escapes it (``scanner.report.markdown``: HTML entities for ``& < >``, backslashes before
Markdown punctuation, paths in code spans no backtick can close) by the template environment's finalize.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import IO, Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from scanner import __version__
from scanner.report.markdown import _finalize, code_span, escape_md
from scanner.report.sections import span, where
from scanner.repro.model import ReproPlan

#: A lone UTF-16 surrogate cannot be written as UTF-8; as a ``\\uXXXX`` escape it reads back as itself.
_SURROGATE = re.compile("[\ud800-\udfff]")


def plan_to_dict(plan: ReproPlan) -> dict[str, Any]:
    return plan.to_dict()


def write_repro_json(plan: ReproPlan, out: IO[str]) -> None:
    """The plan as indented UTF-8 JSON, newline-terminated."""
    text = json.dumps(plan_to_dict(plan), indent=2, ensure_ascii=False)
    out.write(_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("scanner.report", "templates"),
        autoescape=False,
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["code"] = code_span
    env.filters["md"] = escape_md
    return env


def render_repro_markdown(plan: ReproPlan) -> str:
    template = _environment().get_template("repro.md.j2")
    return template.render(plan=plan, version=__version__, where=where, span=span)


def write_repro_markdown(plan: ReproPlan, out: IO[str]) -> None:
    out.write(render_repro_markdown(plan))
