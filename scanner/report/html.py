"""The ``scan`` HTML report: one self-contained file an engineer attaches to the incident ticket.

Why Jinja2: the page is a template with autoescaping on, so every value — all of it evidence an attacker may
control (hotfix descriptions, file names, log lines, event strings) — is HTML-escaped unless the code marks
it safe, and only the scripts built here are. The plot's data travels as a JSON block (``<``, ``>``, ``&``
and quotes written as ``\\u`` escapes, so ``</script>`` cannot close it) that the page's script parses.

Defence in depth: a Content-Security-Policy meta tag allows no network access at all (``default-src
'none'``) and only the page's own scripts, by their SHA-256 — an injected ``<script>`` or ``onerror=``
would not run even if escaping failed. ``'unsafe-eval'`` is there because BokehJS compiles the tap
callback with ``new Function``. Control and bidi-override characters are shown escaped (``clean``), as in
the terminal report.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from typing import IO

from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from scanner.diagnose import ScanResult
from scanner.render.templating import TEMPLATES, html_environment, stylesheet
from scanner.report.plot import opening_preset, timeline_item, zoom_presets
from scanner.report.sections import template_values


@cache
def _bokeh_js() -> str:
    """BokehJS from the installed bokeh wheel: the same version that serialised the figure."""
    from bokeh.resources import Resources

    script = Resources(mode="inline", components=["bokeh"]).js_raw[0]
    if "</script" in script.lower():  # cannot happen with a real BokehJS; never emit a broken page
        raise RuntimeError("BokehJS contains '</script'")
    return script + '\nBokeh.set_log_level("warn");'


def _csp_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode() + "'"


def render_html(result: ScanResult) -> str:
    """The report as one HTML document (UTF-8 text)."""
    scripts = [_bokeh_js(), (TEMPLATES / "scan.js").read_text(encoding="utf-8")]
    csp = "; ".join(
        [
            "default-src 'none'",
            f"script-src {' '.join(_csp_hash(s) for s in scripts)} 'unsafe-eval'",
            "style-src 'unsafe-inline'",
            "img-src data:",
            "font-src data:",
            "connect-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    entries = result.timeline.entries
    presets = zoom_presets(result)
    template = html_environment().get_template("scan.html.j2")
    return template.render(
        **template_values(result),
        csp=csp,
        css=stylesheet(),
        entry_count=len(entries),
        undated=sum(1 for e in entries if e.at is None),
        zoom_presets=[(label, f"{start:.0f}", f"{end:.0f}") for label, start, end in presets],
        opening_zoom=opening_preset(presets),
        plot_json=htmlsafe_json_dumps(timeline_item(result)),
        scripts=[Markup(s) for s in scripts],
    )


def write_html(result: ScanResult, out: IO[str]) -> None:
    out.write(render_html(result))
