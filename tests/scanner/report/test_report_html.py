"""``scan --format html`` and ``--format md``: one offline file, every section, evidence rendered as text.

The report is built from the real KB973917 scan. The hostile-string tests inject attacker-style strings
(``<script>``, quote breakers, Markdown and template syntax, bidi overrides) into every place evidence
reaches — timeline entries and their sources, findings, files, gaps, system facts — and parse the output
back (html.parser; markdown-it, the CommonMark renderer rich already depends on) to prove they stay text.
The browser test (test_report_browser.py) renders the same pages in Chromium.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

from fixtures.factory.scenario import IMAGES_DIR
from scanner.cli import cli
from scanner.diagnose import ScanResult
from scanner.model import (
    Evidence,
    Finding,
    FindingFile,
    Gap,
    Provenance,
    TimelineEntry,
    TimelineSource,
    TrafficDay,
)
from scanner.pipeline import scan
from scanner.report.html import render_html
from scanner.report.markdown import render_markdown
from scanner.timeline import Timeline

UTC = timezone.utc
KB973917 = IMAGES_DIR / "kb973917-iis6.vhd"
E01 = IMAGES_DIR / "q281402-win2000.E01"
SECTION_IDS = ["verdict", "timeline", "components", "findings", "gaps", "system"]
BELOW = {"w3dt.dll", "w3tp.dll", "iisw3adm.dll", "iisutil.dll"}
HOSTILE = [
    '<script>alert("pm-1")</script>',
    "'\"><img src=x onerror=alert(2)>",
    "</script><script>alert(3)</script>",
    "{{7*7}} ${7*7} | `tick` *bold* [x](javascript:alert(4)) <!-- ]]>",
]
HOSTILE_TEXT = " ".join(HOSTILE)


@cache
def _kb973917() -> ScanResult:
    return scan(KB973917)


def _hostile(result: ScanResult) -> ScanResult:
    """The real scan with a hostile string in every place evidence can reach a report."""
    where = Provenance(f"WINDOWS\\{HOSTILE[0]}.log", f"line {HOSTILE[1]}", HOSTILE[2])
    entry = TimelineEntry(
        at=datetime(2009, 12, 9, 15, 41, tzinfo=UTC),
        precision="second",
        kind="hotfix",
        subject=f"KB666 {HOSTILE[0]}",
        summary=HOSTILE_TEXT + " \u202eevil",
        sources=(TimelineSource("registry", None, None, HOSTILE_TEXT, where),),
    )
    finding = Finding(
        rule="files-below-service-pack",
        severity="critical",
        title=f"title {HOSTILE[1]}",
        summary=HOSTILE_TEXT + " \u202eevil",
        files=(FindingFile(f"WINDOWS\\{HOSTILE[1]}.dll", HOSTILE[3], HOSTILE[0], HOSTILE[2]),),
        updates=(HOSTILE[0],),
        evidence=(Evidence(HOSTILE_TEXT, where),),
        remediation=(HOSTILE_TEXT,),
        attribution=HOSTILE[1],
    )
    system = result.inventory.system
    assert system is not None
    inventory = replace(
        result.inventory,
        system=replace(system, hostname=HOSTILE[1], product=HOSTILE[0]),
        source={**result.inventory.source, "path": HOSTILE[2]},
    )
    diagnosis = replace(result.diagnosis, summary=HOSTILE_TEXT, symptom=HOSTILE[1], trigger=HOSTILE[0])
    component = result.components[0]
    components = [replace(component, title=HOSTILE[0], files=(replace(component.files[0], path=HOSTILE[1]),))]
    return replace(
        result,
        inventory=inventory,
        timeline=Timeline([*result.timeline.entries, entry], result.timeline.gaps),
        findings=[finding, *result.findings],
        diagnosis=diagnosis,
        gaps=[Gap(HOSTILE[0], HOSTILE_TEXT, (where,))],
        components=components,
    )


class _Page(HTMLParser):
    """Tags, attributes and text of a page, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.script_bodies: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        (self.script_bodies if self._in_script else self.text).append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def test_html_report_is_one_offline_file_with_every_section(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["scan", str(KB973917), "--format", "html", "--output", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    page = _parse(html)
    ids = [attrs.get("id") for tag, attrs in page.tags if tag == "section"]
    assert ids == SECTION_IDS
    # Nothing is fetched: no element points anywhere, and the CSP forbids every fetch anyway.
    for tag, attrs in page.tags:
        for name in ("src", "href", "action", "poster", "data"):
            assert name not in attrs, f"<{tag} {name}=...> would make a request"
    csp = next(a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv"))
    assert csp is not None and csp.startswith("default-src 'none'") and "connect-src 'none'" in csp
    scripts = [attrs for tag, attrs in page.tags if tag == "script"]
    assert [s.get("type") for s in scripts] == ["application/json", None, None]
    assert re.search(r"Bokeh\.embed\.embed_item", html)
    assert 1_000_000 < len(html.encode()) < 2_000_000  # BokehJS (~1.3 MB) is the bulk of it


def test_html_verdict_and_component_table() -> None:
    html = render_html(_kb973917())
    page = _parse(html)
    text = " ".join(page.text)
    verdict = text[text.index("Verdict") : text.index("Timeline")]
    assert "KB973917" in verdict and "files-below-service-pack" in verdict and "KB2009746" in verdict
    assert "Reinstall Service Pack 2" in verdict
    rows = re.findall(r'<tr class="below">\s*<td><code>([^<]+)</code>', html)
    assert {row.rsplit("\\", 1)[1] for row in rows} == BELOW
    assert html.count("▼ below baseline") == len(BELOW)


def test_hostile_strings_render_as_text_in_html() -> None:
    html = render_html(_hostile(_kb973917()))
    page = _parse(html)
    # Only the template's own scripts: the JSON block, BokehJS and the page script.
    assert sum(1 for tag, _ in page.tags if tag == "script") == 3
    assert not any(tag == "img" for tag, _ in page.tags)
    assert not any(name.startswith("on") for _, attrs in page.tags for name in attrs)
    text = "".join(page.text)
    for hostile in HOSTILE:
        assert hostile in text  # shown to the reader, literally
    assert "\u202e" not in html and "\\u202e" in text  # a bidi override is shown, not obeyed
    # The plot data is JSON that no "</script>" can end, and it carries the hostile strings intact.
    data = json.loads(page.script_bodies[0])
    plotted = json.dumps(data, ensure_ascii=False)
    assert HOSTILE[2] in plotted and "\\u202eevil" in plotted and "\u202e" not in plotted
    assert "</script>" not in page.script_bodies[0]


def test_hostile_strings_stay_text_in_markdown() -> None:
    md = render_markdown(_hostile(_kb973917()))
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(md)
    assert "<script" not in rendered and "<img" not in rendered and "<!--" not in rendered
    assert "javascript:" not in re.findall(r'href="([^"]*)"', rendered).__str__()
    assert "<em>" not in rendered and "<strong>bold" not in rendered
    assert "&lt;script&gt;alert(&quot;pm-1&quot;)&lt;/script&gt;" in rendered
    # A "|" in evidence does not split a table cell: every row of a table has its header's cell count.
    for table in re.findall(r"<table>.*?</table>", rendered, re.S):
        heads = len(re.findall(r"<th[ >]", table.split("</thead>")[0]))
        for row in re.findall(r"<tr>(.*?)</tr>", table.split("</thead>")[1], re.S):
            assert len(re.findall(r"<td[ >]", row)) == heads


def test_markdown_report_has_the_same_sections_minus_the_plot(tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    result = CliRunner().invoke(cli, ["scan", str(KB973917), "--format", "md", "--output", str(out)])
    assert result.exit_code == 0, result.output
    md = out.read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+?)(?: \(.*)?$", md, re.M)
    assert headings == ["Verdict", "Timeline", "Component files", "Findings", "Not checked / partly read",
                        "System and source"]  # fmt: skip
    assert "<script" not in md and "Bokeh" not in md
    assert "◀ trigger" in md and "◀ failure onset" in md
    assert md.count("**▼ below baseline**") == len(BELOW)


def test_hash_option_names_every_segment_and_leaves_the_evidence_unchanged(tmp_path: Path) -> None:
    segments = sorted(E01.parent.glob("q281402-win2000.E0*"))
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in segments}
    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["scan", str(E01), "--hash", "--format", "html", "--output", str(out)])
    assert result.exit_code == 0, result.output
    text = " ".join(_parse(out.read_text(encoding="utf-8")).text)
    for digest in before.values():
        assert digest in text
    assert before == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in segments}


def _busy(result: ScanResult, hotfixes: int, days: int) -> ScanResult:
    """Years of monthly patching (``hotfixes`` updates, 3 sources each) and a year of busy hourly traffic."""
    start = datetime(2000, 1, 1, tzinfo=UTC)
    entries = list(result.timeline.entries)
    for n in range(hotfixes):
        at = start + timedelta(hours=29 * n)
        key = Provenance("WINDOWS\\system32\\config\\SOFTWARE", f"Hotfix\\KB{900000 + n}")
        sources = tuple(
            TimelineSource(kind, at, "second", f"KB{900000 + n} installed", key)
            for kind in ("registry", "log", "event")
        )
        entries.append(
            TimelineEntry(at, "second", "hotfix", f"KB{900000 + n}", "Security Update installed", sources)
        )
    traffic = []
    for d in range(days):
        day = datetime(2009, 1, 1, tzinfo=UTC) + timedelta(days=d)
        hourly = tuple((day + timedelta(hours=h), 50_000 + h, h % 7) for h in range(24))
        traffic.append(
            TrafficDay("w3c", "W3SVC1", day, 1_200_000, day, day, day, ((200, 1_200_000),), hourly, (), None,
                       Provenance(f"WINDOWS\\system32\\LogFiles\\W3SVC1\\ex{day:%y%m%d}.log"))
        )  # fmt: skip
    entries.sort(key=lambda e: e.at or start)
    facts = replace(result.facts, traffic=tuple(traffic))  # the plot reads the facts' traffic days
    return replace(result, timeline=Timeline(entries, result.timeline.gaps), facts=facts)


def test_thousands_of_hotfixes_and_a_busy_year_stay_a_few_megabytes() -> None:
    busy = _busy(_kb973917(), hotfixes=3000, days=365)
    html = render_html(busy)
    assert len(html.encode()) < 4_000_000
    assert len(render_markdown(busy).encode()) < 200_000


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_report_refuses_to_overwrite_the_evidence(fmt: str) -> None:
    result = CliRunner().invoke(cli, ["scan", str(KB973917), "--format", fmt, "--output", str(KB973917)])
    assert result.exit_code == 8
    assert "refusing to write" in result.output


def test_readme_shows_a_real_report_picture() -> None:
    """The README's picture is a screenshot of a real report (regenerate: python tests/readme_picture.py)."""
    root = Path(__file__).resolve().parents[3]
    assert "![" in (readme := (root / "README.md").read_text()) and "docs/report-example.png" in readme
    picture = root / "docs" / "report-example.png"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 50_000
