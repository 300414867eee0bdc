"""The ``diff`` as one self-contained HTML page (Jinja2 template ``diff.html.j2``, autoescaped, no script).

Every value comes from a scan and is evidence an attacker may control, so autoescaping is on and nothing
from the scans is marked safe; control and bidi-override characters are shown escaped (``clean``), as in
the terminal. The page needs no script at all, so its Content-Security-Policy allows none
(``default-src 'none'``; only the inline stylesheet, which is the scan report's own ``scan.css``).
"""

from __future__ import annotations

from typing import IO

from scanner import __version__
from scanner.diff.model import ScanDiff
from scanner.diff.wording import utc_text, verdict_phrase
from scanner.render.templating import html_environment, stylesheet

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def render_diff_html(diff: ScanDiff) -> str:
    """The diff as one HTML document (UTF-8 text)."""
    return (
        html_environment()
        .get_template("diff.html.j2")
        .render(
            diff=diff,
            csp=CSP,
            css=stylesheet(),
            version=__version__,
            phrase_before=verdict_phrase(diff.verdict_before),
            phrase_after=verdict_phrase(diff.verdict_after),
            utc=utc_text,
            timeline_new=", ".join(f"{count} {kind}" for kind, count in diff.timeline_new) or "none",
        )
    )


def write_diff_html(diff: ScanDiff, out: IO[str]) -> None:
    out.write(render_diff_html(diff))
