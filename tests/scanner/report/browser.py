"""Test helper: open an HTML report in Debian's headless Chromium and record what a reader's browser did.

Issue 6 requires the report to be tested as a person would see it: opened from disk in a real browser, with
no console errors, no network request (the file must be self-contained and work offline), the verdict and
the timeline plot visible, and a screenshot kept. This module drives ``/usr/bin/chromium`` (Debian's package,
never a Playwright-downloaded browser) through Python Playwright with a fresh profile and the flags the issue
names, and returns the facts as a frozen :class:`PageReport` so the tests assert on plain values.

What is recorded, and why:
- console messages of type error/warning (Bokeh and the report's own script log their failures there);
- page errors (uncaught exceptions, which the console does not always show);
- dialogs (alert/confirm/prompt): a report has no reason to open one, so one is a sign that an evidence
  string was injected as script; each is dismissed so the page cannot block;
- EVERY request the page makes: ``page.route("**/*")`` lets only the report's own ``file://`` URL through and
  aborts (and records) everything else, and a ``request`` listener records what routing might not see.
  ``data:`` and ``blob:`` URLs are in-page and never reach the network, so they are not requests here.

Every step is bounded by one deadline (default 60 s) and the browser is always closed.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Playwright, Request, Route

CHROMIUM = Path("/usr/bin/chromium")
#: The first four are the flags issue 6 names; the rest keep a fresh profile from phoning home.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
)
VIEWPORT_WIDTH, VIEWPORT_HEIGHT = 1280, 900
TIMEOUT_S = 60.0
#: The report's script sets this attribute on the plot root: "true" once Bokeh rendered, "error" on failure.
PLOT_READY = "#timeline-plot[data-rendered]"
_IN_PAGE = ("data:", "blob:")
#: Seconds of the deadline kept back from waiting for the plot, for the facts, screenshot and PDF.
_RESERVE_S = 15.0
# A PDF page object is "/Type /Page" (the tree is "/Type /Pages"); Chromium's PDFs keep them uncompressed.
_PDF_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
# Inline event-handler attributes and javascript: URLs: script that an escaped string could never create.
# The timeline's x range from BokehJS (None when the plot never rendered).
_X_RANGE_JS = """() => {
  if (typeof Bokeh === 'undefined' || !Bokeh.documents.length) { return null; }
  const range = Bokeh.documents[Bokeh.documents.length - 1].get_model_by_name('timeline-x');
  return range ? [range.start, range.end] : null;
}"""
# Wait two animation frames: Bokeh repaints (and moves its HTML labels) on the next frame after a change.
_TWO_FRAMES_JS = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"
# A Bokeh HTML label's text: the text nodes of its shadow root (its <style> elements are not text).
_LABEL_TEXT_JS = """el => Array.from((el.shadowRoot || el).childNodes)
  .filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.textContent).join('')"""
_ACTIVE_ATTRIBUTES_JS = """() => {
  let n = 0;
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      const v = a.value.trim().toLowerCase();
      if (a.name.toLowerCase().startsWith('on') || v.startsWith('javascript:')) n++;
    }
  }
  return n;
}"""


@dataclass(frozen=True)
class Box:
    """An element's bounding box in CSS pixels, relative to the top-left of the viewport at scroll 0."""

    x: float
    y: float
    width: float
    height: float

    @property
    def empty(self) -> bool:
        return self.width <= 0 or self.height <= 0

    def overlaps(self, other: Box) -> bool:
        """True when the two boxes share some area (touching edges do not count)."""
        return (
            self.x < other.x + other.width
            and other.x < self.x + self.width
            and self.y < other.y + other.height
            and other.y < self.y + self.height
        )

    def in_viewport(self, width: float, height: float) -> bool:
        """True when some of the box lies in the first screen, i.e. a reader sees it without scrolling."""
        if self.empty:
            return False
        return self.x < width and self.y < height and self.x + self.width > 0 and self.y + self.height > 0


@dataclass(frozen=True)
class ConsoleLine:
    """One console message: ``kind`` is Chromium's type ("error" or "warning"), ``where`` url:line."""

    kind: str
    text: str
    where: str

    def __str__(self) -> str:
        return f"console {self.kind}: {self.text} ({self.where})"


@dataclass(frozen=True)
class PageReport:
    """What the browser did with one report file. Elements that do not exist give None / "" / False.

    Attributes:
        url: the report's ``file://`` URL.
        console: error and warning console messages, in order.
        page_errors: uncaught exceptions (message, first line of the stack when there is one).
        dialogs: "alert: <message>" for each dialog opened (each was dismissed).
        requests: every URL the page asked for other than its own file (aborted, or seen by the listener);
            an offline, self-contained report has none.
        rendered: the plot root's ``data-rendered`` ("true", "error"), None when it never appeared in time.
        verdict_box / plot_box: bounding boxes of ``#verdict`` and ``#timeline-plot`` at scroll 0.
        verdict_visible / plot_visible: Playwright's visibility (displayed, non-empty box, not hidden).
        verdict_text: the verdict section's rendered text.
        body_text: the whole page's rendered text (what a reader can read, scripts excluded).
        scripts: the number of <script> elements in the DOM after rendering.
        active_attributes: inline ``on*=`` handler attributes and ``javascript:`` URLs in the DOM.
        screenshot: the full-page PNG written; pdf: the A4 print written (None when not asked for).
        pdf_pages: page objects in that PDF (0 without a PDF).
        seconds: wall time from opening the page to the last fact.
        opening_zoom: the zoom button marked active when the page opened ("" without buttons).
        x_range: the timeline's x range (ms since the epoch, UTC) when the page opened; None without a plot.
        marker_labels: per zoom button, in button order, the trigger / last-good / onset labels visible after
            clicking it, as (text, box); the first entry ("(opening)") is the state before any click.
    """

    url: str
    console: tuple[ConsoleLine, ...]
    page_errors: tuple[str, ...]
    dialogs: tuple[str, ...]
    requests: tuple[str, ...]
    rendered: str | None
    verdict_box: Box | None
    verdict_visible: bool
    verdict_text: str
    plot_box: Box | None
    plot_visible: bool
    body_text: str
    scripts: int
    active_attributes: int
    screenshot: Path
    pdf: Path | None
    pdf_pages: int
    seconds: float
    opening_zoom: str = ""
    x_range: tuple[float, float] | None = None
    marker_labels: tuple[tuple[str, tuple[tuple[str, Box], ...]], ...] = ()

    @property
    def console_errors(self) -> tuple[ConsoleLine, ...]:
        return tuple(c for c in self.console if c.kind == "error")

    @property
    def verdict_in_viewport(self) -> bool:
        return self.verdict_box is not None and self.verdict_box.in_viewport(VIEWPORT_WIDTH, VIEWPORT_HEIGHT)

    def problems(self) -> list[str]:
        """Everything a reader's browser complained about or was asked to do, one line each (for messages)."""
        return (
            [str(c) for c in self.console]
            + [f"page error: {e}" for e in self.page_errors]
            + [f"dialog: {d}" for d in self.dialogs]
            + [f"request: {r}" for r in self.requests]
        )


def require_browser() -> None:
    """Skip when Chromium or Playwright is missing locally; fail under CI, which must run the browser test."""
    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} (Debian package chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package (pip install -e '.[test]')")
    if not missing:
        return
    message = "browser test needs " + " and ".join(missing)
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set: .ci/run installs them)", pytrace=False)
    pytest.skip(message)


class ReportBrowser:
    """One headless Chromium (fresh profile) that opens reports in new pages; use it as a context manager.

    Starting Chromium costs about two seconds, so a test module shares one and opens a page per report.
    """

    def __init__(self, timeout_s: float = TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._playwright: Playwright | None = None
        self._context: BrowserContext | None = None
        self._profile: str | None = None

    def __enter__(self) -> ReportBrowser:
        from playwright.sync_api import sync_playwright

        self._profile = tempfile.mkdtemp(prefix="pm-chromium-profile-")
        try:
            self._playwright = sync_playwright().start()
            self._context = self._playwright.chromium.launch_persistent_context(
                user_data_dir=self._profile,
                executable_path=str(CHROMIUM),
                headless=True,
                args=list(CHROMIUM_ARGS),
                viewport={"width": VIEWPORT_WIDTH, "height": VIEWPORT_HEIGHT},
                timeout=self.timeout_s * 1000,
                offline=True,
                service_workers="block",
            )
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the browser and remove its profile; safe to call twice and after a failed start."""
        try:
            if self._context is not None:
                self._context.close()
        finally:
            self._context = None
            try:
                if self._playwright is not None:
                    self._playwright.stop()
            finally:
                self._playwright = None
                if self._profile is not None:
                    shutil.rmtree(self._profile, ignore_errors=True)
                    self._profile = None

    def open(self, html_path: Path, screenshot_path: Path, pdf_path: Path | None = None) -> PageReport:
        """Open ``html_path`` from disk in a new page, wait for the plot, record the facts, close the page."""
        if self._context is None:
            raise RuntimeError("ReportBrowser.open outside its with-block")
        page = self._context.new_page()
        try:
            return _Visit(page, Path(html_path).resolve(), time.monotonic() + self.timeout_s).run(
                Path(screenshot_path), pdf_path
            )
        finally:
            page.close()


def open_report(
    html_path: Path,
    screenshot_path: Path,
    pdf_path: Path | None = None,
    browser: ReportBrowser | None = None,
    timeout_s: float = TIMEOUT_S,
) -> PageReport:
    """Open one report in headless Chromium and return what happened.

    Args:
        html_path: the report file (opened as a ``file://`` URL, as a reader double-clicking it would).
        screenshot_path: where the full-page PNG goes.
        pdf_path: where the A4 print goes (default: next to the screenshot, ``.pdf``).
        browser: a running :class:`ReportBrowser` to reuse; without one a browser is started and closed.
        timeout_s: the bound for everything, launch included when a browser is started here.
    """
    pdf = pdf_path if pdf_path is not None else Path(screenshot_path).with_suffix(".pdf")
    if browser is not None:
        return browser.open(html_path, screenshot_path, pdf)
    with ReportBrowser(timeout_s) as own:
        return own.open(html_path, screenshot_path, pdf)


class _Visit:
    """The listeners and checks of one page visit, all bounded by one deadline."""

    def __init__(self, page: Page, html: Path, deadline: float) -> None:
        self.page = page
        self.url = html.as_uri()
        self.deadline = deadline
        self.started = time.monotonic()
        self.console: list[ConsoleLine] = []
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []

    def _ms(self, keep: float = 0.0) -> float:
        """What is left of the deadline minus ``keep`` seconds, in Playwright's milliseconds (at least 1 ms:
        0 would mean 'no limit')."""
        return max(1.0, (self.deadline - keep - time.monotonic()) * 1000)

    def _own(self, url: str) -> bool:
        return url.split("#", 1)[0] == self.url

    def _note_request(self, url: str) -> None:
        if not self._own(url) and not url.startswith(_IN_PAGE) and url not in self.requests:
            self.requests.append(url)

    def _route(self, route: Route) -> None:
        url = route.request.url
        if self._own(url):
            route.continue_()
        else:
            self._note_request(url)
            route.abort("blockedbyclient")

    def _on_request(self, request: Request) -> None:
        self._note_request(request.url)

    def _listen(self) -> None:
        page = self.page
        page.set_default_timeout(self._ms())
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.page_errors.append(_first_lines(exc)))
        page.on("dialog", self._on_dialog)
        page.on("request", self._on_request)
        page.on("websocket", lambda ws: self._note_request(ws.url))
        page.route("**/*", self._route)

    def _on_console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            loc = message.location or {}
            where = f"{loc.get('url', '')}:{loc.get('lineNumber', '')}"
            self.console.append(ConsoleLine(message.type, message.text, where))

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _box(self, selector: str) -> tuple[Box | None, bool]:
        locator = self.page.locator(selector)
        if locator.count() == 0:
            return None, False
        raw = locator.first.bounding_box(timeout=self._ms())
        box = Box(raw["x"], raw["y"], raw["width"], raw["height"]) if raw else None
        return box, locator.first.is_visible()

    def run(self, screenshot: Path, pdf: Path | None) -> PageReport:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        page = self.page
        self._listen()
        page.goto(self.url, wait_until="load", timeout=self._ms())
        # A plot that never finishes must still leave time to record the facts and the screenshot.
        keep = min(_RESERVE_S, (self.deadline - self.started) / 3)
        try:
            page.wait_for_selector(PLOT_READY, state="attached", timeout=self._ms(keep))
        except PlaywrightTimeout:
            pass  # rendered stays None: the report never said it finished drawing
        plot = page.locator("#timeline-plot")
        rendered = plot.first.get_attribute("data-rendered") if plot.count() else None
        verdict_box, verdict_visible = self._box("#verdict")
        verdict = page.locator("#verdict")
        verdict_text = verdict.first.inner_text(timeout=self._ms()) if verdict.count() else ""
        plot_box, plot_visible = self._box("#timeline-plot")
        body_text = page.inner_text("body", timeout=self._ms())
        scripts = int(page.evaluate("() => document.querySelectorAll('script').length"))
        active = int(page.evaluate(_ACTIVE_ATTRIBUTES_JS))
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=screenshot, full_page=True, timeout=self._ms())
        pdf_pages = 0
        if pdf is not None:
            pdf.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(path=pdf, format="A4", print_background=True)
            pdf_pages = len(_PDF_PAGE.findall(pdf.read_bytes()))
        active_zoom = page.locator(".zoom button.active")
        opening_zoom = active_zoom.first.inner_text(timeout=self._ms()) if active_zoom.count() else ""
        raw_range = page.evaluate(_X_RANGE_JS) if rendered == "true" else None
        x_range = (float(raw_range[0]), float(raw_range[1])) if raw_range else None
        marker_labels = self._marker_labels() if rendered == "true" else ()
        return PageReport(
            url=self.url,
            console=tuple(self.console),
            page_errors=tuple(self.page_errors),
            dialogs=tuple(self.dialogs),
            requests=tuple(self.requests),
            rendered=rendered,
            verdict_box=verdict_box,
            verdict_visible=verdict_visible,
            verdict_text=verdict_text,
            plot_box=plot_box,
            plot_visible=plot_visible,
            body_text=body_text,
            scripts=scripts,
            active_attributes=active,
            screenshot=screenshot,
            pdf=pdf,
            pdf_pages=pdf_pages,
            seconds=round(time.monotonic() - self.started, 2),
            opening_zoom=opening_zoom,
            x_range=x_range,
            marker_labels=marker_labels,
        )

    def _labels_now(self) -> tuple[tuple[str, Box], ...]:
        """The visible marker labels (Bokeh HTML labels, class ``pm-marker``; Playwright pierces their shadow
        roots) with their text and box."""
        self.page.evaluate(_TWO_FRAMES_JS)
        out = []
        for label in self.page.locator(".pm-marker").all():
            if not label.is_visible():
                continue
            raw = label.bounding_box(timeout=self._ms())
            if raw is None:
                continue
            text = str(label.evaluate(_LABEL_TEXT_JS))
            out.append((text.strip(), Box(raw["x"], raw["y"], raw["width"], raw["height"])))
        return tuple(out)

    def _marker_labels(self) -> tuple[tuple[str, tuple[tuple[str, Box], ...]], ...]:
        """The marker labels as the page opened, then after each zoom button is clicked (in order)."""
        states = [("(opening)", self._labels_now())]
        buttons = self.page.locator(".zoom button")
        for index in range(buttons.count()):
            button = buttons.nth(index)
            name = button.inner_text(timeout=self._ms())
            button.click(timeout=self._ms())
            states.append((name, self._labels_now()))
        return tuple(states)


def _first_lines(exc: BaseException) -> str:
    """An uncaught page exception as one line: its message plus the stack's first frame."""
    stack = str(getattr(exc, "stack", "") or "").splitlines()
    frame = next((s.strip() for s in stack[1:] if s.strip().startswith("at ")), "")
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{text} {frame}".strip()
