"""One place for how reports turn evidence into documents: Jinja2 environments and escaping, JSON text.

Every report template (scan HTML/Markdown, diff HTML, repro Markdown) renders attacker-controlled evidence.
The environments here make escaping the default, so a template cannot forget it:

- HTML: autoescaping on; ``finalize`` first shows control and bidi-override characters as ``\\xNN`` /
  ``\\uNNNN`` (:func:`scanner.render.text.clean`, as in the terminal). Only ``Markup`` built by code passes.
- Markdown: ``finalize`` runs :func:`escape_md` on every value; only :class:`Raw` (code spans built by
  :func:`code_span`) passes. Markdown renderers pass HTML through and turn punctuation into structure, so
  ``& < >`` become entities and Markdown syntax is backslash-escaped; line breaks become spaces.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files
from typing import IO, Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from scanner.render.text import clean

TEMPLATES = files("scanner.render") / "templates"
#: A lone UTF-16 surrogate (from a badly decoded artefact) cannot be written as UTF-8; inside a JSON string it
#: can be written as a ``\\uXXXX`` escape, which reads back as the same string.
_SURROGATE = re.compile("[\ud800-\udfff]")
#: Characters that make inline structure anywhere in a line (emphasis, code, links, tables, strike, math).
_INLINE = frozenset("`*_[]|~$")
#: What starts a block at the start of a line, as CommonMark reads it: an ATX heading (1-6 ``#`` then a space
#: or the end), a bullet (``-`` or ``+`` then a space or the end), an ordered-list item (1-9 digits, ``.`` or
#: ``)``, then a space or the end). ``6.0.3790.3959`` starts none of these, so it is left alone (issue 18).
_BLOCK_START = re.compile(r"^(#{1,6}|[+\-]|\d{1,9}[.)])(?=[ \t]|$)")
#: A line of only ``-`` / ``=`` (and spaces) is a setext underline or a thematic break.
_RULE_LINE = re.compile(r"^[ \t]*[-=][-= \t]*$")
_ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_BACKTICKS = re.compile(r"`+")


class Raw(str):
    """Text that is already Markdown (a code span built by :func:`code_span`): finalize leaves it alone."""


def _one_line(text: str) -> str:
    return " ".join(clean(text.replace("\r", " ").replace("\n", " ")).split())


def escape_md(text: str) -> str:
    """Evidence text as inert Markdown: HTML entities for ``& < >``, backslashes before Markdown syntax.

    Only what can make structure is escaped, so a ticket's raw text stays readable: a backslash is literal
    in Markdown unless ASCII punctuation follows it (``WINDOWS\\system32`` needs no escaping), and a
    version such as ``6.0.3790.3959`` is not a list item (only ``1.`` followed by a space is).
    """
    text = _one_line(text)
    out = []
    for i, char in enumerate(text):
        if char in _INLINE:
            out.append("\\" + char)
        elif char == "\\" and (i + 1 == len(text) or text[i + 1] in _ASCII_PUNCTUATION):
            out.append("\\\\")
        else:
            out.append({"&": "&amp;", "<": "&lt;", ">": "&gt;"}.get(char, char))
    escaped = "".join(out)
    match = _BLOCK_START.match(escaped)
    if match:
        escaped = escaped[: match.end() - 1] + "\\" + escaped[match.end() - 1 :]
    elif _RULE_LINE.match(escaped):
        at = len(escaped) - len(escaped.lstrip(" \t"))
        escaped = escaped[:at] + "\\" + escaped[at:]
    return escaped


def code_span(value: Any, in_table: bool = False) -> Raw:
    """A code span that no backtick inside ``value`` can close; in a table ``|`` is escaped (GFM) so the
    cell cannot be split."""
    text = _one_line(str(value))
    if in_table:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return Raw(f"{fence}{pad}{text}{pad}{fence}")


def _html_finalize(value: Any) -> Any:
    """Each ``{{ value }}``: control/bidi characters shown escaped (evidence text), then autoescaped."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return clean(value)


def _markdown_finalize(value: Any) -> Any:
    if isinstance(value, Raw) or not isinstance(value, str):
        return value
    return escape_md(value)


@cache
def html_environment() -> Environment:
    """Autoescaping HTML templates from ``scanner/render/templates``."""
    return Environment(
        loader=PackageLoader("scanner.render", "templates"),
        autoescape=True,
        finalize=_html_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def markdown_environment() -> Environment:
    """Markdown templates: every value escaped by :func:`escape_md`; filters ``code`` and ``md``."""
    env = Environment(
        loader=PackageLoader("scanner.render", "templates"),
        autoescape=False,
        finalize=_markdown_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["code"] = code_span
    env.filters["md"] = escape_md
    return env


def stylesheet() -> Markup:
    """The reports' shared stylesheet, to inline (the pages load nothing)."""
    return Markup((TEMPLATES / "scan.css").read_text(encoding="utf-8"))


def write_json(data: Any, out: IO[str]) -> None:
    """JSON text (indented, UTF-8, newline-terminated); lone surrogates written as ``\\u`` escapes."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    out.write(_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")
