"""Regenerate the README's example picture: the KB973917 fixture's HTML report as Chromium shows it.

Run ``python tests/readme_picture.py`` after a change to the HTML report (it needs Debian's
/usr/bin/chromium and the test extras). It renders ``scan --format html`` of
fixtures/images/kb973917-iis6.vhd, opens it in headless Chromium exactly as the browser test does (fresh
profile, same flags, offline), leaves the timeline on the zoom the page opens on (issue 18: the first screen
a reader sees, "Trigger → onset"), and writes the page from the header to the end of the timeline section to
docs/report-example.png, scaled to 1000 px wide. The viewport is tall enough to hold that part, so the shot
is of the page as laid out, not re-laid out for a full-page capture.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner
from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scanner.cli import cli  # noqa: E402
from tests.scanner.report.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

IMAGE = "fixtures/images/kb973917-iis6.vhd"
PICTURE = ROOT / "docs" / "report-example.png"
WIDTH = 1000


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="patchmortem-picture-"))
    try:
        report = work / "report.html"
        os.chdir(ROOT)  # the report names the source as the user typed it: a relative path
        result = CliRunner().invoke(cli, ["scan", IMAGE, "--format", "html", "--output", str(report)])
        if result.exit_code != 0:
            raise SystemExit(f"scan failed: {result.output}")
        shot = work / "shot.png"
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(work / "profile"),
                executable_path=str(CHROMIUM),
                headless=True,
                args=list(CHROMIUM_ARGS),
                viewport={"width": 1280, "height": 2400},  # tall: no re-layout for the shot
                offline=True,
            )
            try:
                page = context.new_page()
                page.goto(report.as_uri())
                page.wait_for_selector("#timeline-plot[data-rendered='true']", timeout=60_000)
                page.wait_for_timeout(500)
                bottom = page.evaluate(
                    "() => { const r = document.getElementById('timeline').getBoundingClientRect();"
                    " return r.bottom + window.scrollY; }"
                )
                if bottom + 12 > 2400:
                    raise SystemExit(f"header to timeline is {bottom:.0f} px: taller than the viewport")
                page.screenshot(path=str(shot), clip={"x": 0, "y": 0, "width": 1280, "height": bottom + 12})
            finally:
                context.close()
        with Image.open(shot) as image:
            height = round(image.height * WIDTH / image.width)
            image.convert("RGB").resize((WIDTH, height), Image.LANCZOS).save(PICTURE, optimize=True)
        print(f"wrote {PICTURE.relative_to(ROOT)} ({PICTURE.stat().st_size:,} bytes)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
