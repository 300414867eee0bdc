"""Every fixture scenario's HTML report, opened from disk in headless Chromium as a reader would (issue 6).

Per scenario: ``patchmortem scan IMAGE --format html --output report.html``, then Debian's Chromium (see
tests/scanner/report/browser.py: fresh profile, the issue's flags, every request but the file itself aborted)
opens it. The report must raise no console error and no uncaught exception, open no dialog, ask for nothing
over the network (it is one offline file), finish drawing the timeline plot, show the verdict on the first
screen with the diagnosis headline in it, and print to A4. A full-page screenshot stays in the test's tmp
dir (pytest keeps the last runs' dirs) for a person to look at.

The q281402-dll-put-back fixture carries attacker-style strings (``<script>alert("pm-xss-1")`` and
quote-breaking ones) in its evidence; its report must show them as text, run none of them, and hold exactly
the template's own <script> elements.

One browser serves the module; each report gets a new page. Without Chromium/Playwright the module is
skipped locally and fails under CI (which installs both).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from itertools import combinations
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner.cli import cli
from tests.scanner.e2e.test_scan_verdicts import IMAGES, SCENARIOS
from tests.scanner.report.browser import PageReport, ReportBrowser, require_browser

HOSTILE_SCENARIO = "q281402-dll-put-back"
#: Evidence strings of that fixture (fixtures/scenarios/q281402-dll-put-back.toml) that the report shows, each
#: of which must reach the reader verbatim: the program's name and its publisher. Its service's hostile
#: display name is no longer in the verdict's text (issue 14: a service outside the IIS components is context,
#: not the failure); it stays in the timeline figure's data, which must not turn it into a script either.
HOSTILE_LITERALS = (
    'Fabrikam WebPublisher 3.1 <script>alert("pm-xss-1")</script>',
    "Fabrikam \"Software' & <Co>",
)
#: A scenario without hostile strings: its report's <script> count is the template's own.
CLEAN_SCENARIO = "kb973917-iis6"
#: What the verdict must say first: the trigger update when the scenario has a failure onset.
NO_FAILURE_HEADLINE = "No root cause found"
#: A screenshot of a rendered report is tens of KB at least; a blank 1280x900 PNG is about 5 KB.
MIN_PNG_BYTES = 20_000

_REPORTS: dict[str, PageReport] = {}


@pytest.fixture(scope="module")
def browser() -> Iterator[ReportBrowser]:
    require_browser()
    with ReportBrowser() as running:
        yield running


def _html_report(scenario: str, out: Path) -> Path:
    report = out / "report.html"
    result = CliRunner().invoke(
        cli, ["scan", str(IMAGES[scenario]), "--format", "html", "--output", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert report.is_file() and report.stat().st_size > 0
    return report


def _open(scenario: str, browser: ReportBrowser, out: Path) -> PageReport:
    """The scenario's report as the browser saw it; a report already opened by another test is reused."""
    if scenario not in _REPORTS:
        html = _html_report(scenario, out)
        _REPORTS[scenario] = browser.open(html, out / f"{scenario}.png", out / f"{scenario}.pdf")
    return _REPORTS[scenario]


def _headline(scenario: str) -> str:
    declared = SCENARIOS[scenario].expected["diagnosis"]
    return declared["trigger"] if declared["failure_onset"] else NO_FAILURE_HEADLINE


@pytest.mark.parametrize("scenario", sorted(IMAGES))
def test_report_renders_cleanly_in_chromium(scenario: str, browser: ReportBrowser, tmp_path: Path) -> None:
    page = _open(scenario, browser, tmp_path)
    assert page.console_errors == () and page.page_errors == (), page.problems()
    assert page.dialogs == (), page.problems()
    assert page.requests == (), "the report must not touch the network: " + ", ".join(page.requests)
    assert page.rendered == "true", f"timeline plot data-rendered={page.rendered!r}; {page.problems()}"

    assert page.verdict_visible and page.verdict_in_viewport, page.verdict_box
    assert _headline(scenario) in page.verdict_text, page.verdict_text
    assert page.plot_visible and page.plot_box is not None, page.plot_box
    assert page.plot_box.width >= 300 and page.plot_box.height >= 100, page.plot_box

    assert page.screenshot.is_file() and page.screenshot.stat().st_size > MIN_PNG_BYTES
    assert page.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.pdf is not None and page.pdf.read_bytes()[:5] == b"%PDF-" and page.pdf_pages >= 1


#: The zooms the page may open on when the scenario has a failure onset (scanner.report.plot.OPENING).
OPENING_ZOOMS = ("Trigger → onset", "Failure day")


@pytest.mark.parametrize("scenario", sorted(IMAGES))
def test_report_opens_on_the_failure_with_labels_apart(
    scenario: str, browser: ReportBrowser, tmp_path: Path
) -> None:
    """Issue 18: the first screen shows the failure; the trigger / last-good / onset labels never overlap."""
    page = _open(scenario, browser, tmp_path)
    assert page.rendered == "true", page.problems()
    declared = SCENARIOS[scenario].expected["diagnosis"]
    if declared["failure_onset"]:
        onset = datetime.fromisoformat(str(declared["failure_onset"]).replace("Z", "+00:00"))
        assert page.opening_zoom in OPENING_ZOOMS, page.opening_zoom
        assert page.x_range is not None
        start, end = page.x_range
        assert start <= onset.timestamp() * 1000 <= end, (page.x_range, onset)
        opening = dict(page.marker_labels)["(opening)"]
        texts = [text for text, _box in opening]
        assert "failure onset" in texts, texts
        assert page.plot_box is not None
        for _text, box in opening:  # inside the plot, not spilling over the axis or the page
            assert page.plot_box.x <= box.x and box.x + box.width <= page.plot_box.x + page.plot_box.width
    for zoom, labels in page.marker_labels:
        for (a, box_a), (b, box_b) in combinations(labels, 2):
            assert not box_a.overlaps(box_b), f"at {zoom!r}: {a!r} {box_a} overlaps {b!r} {box_b}"


def test_hostile_evidence_strings_render_as_text(browser: ReportBrowser, tmp_path: Path) -> None:
    hostile = _open(HOSTILE_SCENARIO, browser, tmp_path / "hostile")
    clean = _open(CLEAN_SCENARIO, browser, tmp_path / "clean")
    assert "<script>alert(" in hostile.body_text
    for literal in HOSTILE_LITERALS:
        assert literal in hostile.body_text, literal
    assert hostile.dialogs == () and hostile.page_errors == (), hostile.problems()
    assert hostile.scripts == clean.scripts, "an evidence string became a <script> element"
    assert hostile.active_attributes == 0 == clean.active_attributes, "an on*= or javascript: attribute"
