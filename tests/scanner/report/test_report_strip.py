"""The ``scan`` report's timeline strip, on the committed images, read the way a person reads a terminal.

Column arithmetic is written out in the comments: the 7-day window ends one 2-hour column after the onset's
column, days start at UTC midnight, and every row starts with a 10-character lane label, so "column c"
is character ``10 + c`` of a row.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from rich.cells import cell_len
from rich.console import Console

from fixtures.factory.scenario import IMAGES_DIR as IMAGES
from scanner.cli import cli
from scanner.diagnose import ScanResult
from scanner.model import Diagnosis, TimelineEntry
from scanner.pipeline import scan
from scanner.report.strip import build_strip, print_strip
from scanner.timeline import Timeline

UTC = timezone.utc
KB973917 = IMAGES / "kb973917-iis6.vhd"
Q281402 = IMAGES / "q281402-win2000.E01"
HEALTHY = IMAGES / "healthy-2003-sp2.vmdk"
CBS2008 = IMAGES / "cbs-2008-iis7.qcow2"
LABEL = 10


@pytest.fixture(scope="module")
def results() -> dict[str, ScanResult]:
    return {p.name: scan(p) for p in (KB973917, Q281402, HEALTHY, CBS2008)}


def _strip_section(text: str) -> list[str]:
    """The lines of the "Timeline strip" section: its heading up to the blank line before the next one."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Timeline strip"))
    end = next((i for i in range(start, len(lines)) if not lines[i]), len(lines))
    return lines[start:end]


def _render(result: ScanResult, width: int = 240, encoding: str | None = None) -> str:
    if encoding is None:
        buffer = io.StringIO()
        print_strip(result, Console(file=buffer, width=width, no_color=True))
        return buffer.getvalue()
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, newline="")  # strict: one unencodable char raises
    print_strip(result, Console(file=stream, width=width, no_color=True))
    stream.flush()
    return raw.getvalue().decode(encoding)


def _rows(section: list[str]) -> dict[str, str]:
    """Lane label -> its row (the flag row above the grid is keyed "flag", the legend "legend")."""
    rows = {}
    for line in section[1:]:
        label = line[:LABEL].strip()
        key = label or ("flag" if "onset" in line and "trigger" not in line else "legend")
        rows.setdefault(key, line)
    return rows


def test_kb973917_strip_in_the_scan_report() -> None:
    # COLUMNS widens a pipe's 80 columns (README "Output"): the geometry below is that of a 120-column page.
    result = CliRunner().invoke(cli, ["scan", str(KB973917)], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    # Right after the verdict, before the detailed window.
    assert out.index("\nVerdict\n") < out.index("\nTimeline strip") < out.index("\nAround the failure")
    section = _strip_section(out)
    assert section[0] == "Timeline strip — last 7 days before the failure onset, 2 h per column"
    rows = _rows(section)
    # No boot, install or shutdown in the last 7 days: those lanes are left out.
    assert [line[:LABEL].strip() for line in section[1:]] == [
        "", "updates", "failures", "requests", "5xx", "UTC 2009", "",
    ]  # fmt: skip
    # Window 2009-12-02 18:00 .. 12-09 18:00. Onset 15:55:01 lies in column 82 (12-09 14:00-16:00):
    # (6 days 20 h) / 2 h = 82, character 92.
    assert rows["flag"].rstrip().endswith("failure onset 15:55 ▼") and rows["flag"].index("▼") == 92
    # KB973917 went in at 15:40: the same column, marked T; nothing else was installed that week.
    assert rows["updates"][92] == "T" and rows["updates"][LABEL:92].strip() == ""
    # Five W3SVC 1009 deaths and the Rapid-Fail 1002 between 15:55 and 15:58: one column, counted.
    assert rows["failures"].rstrip() == "failures" + " " * 84 + "6"
    # Traffic: W3C logs from 12-07 05:00 (column 53, character 63) until the onset's column, then only
    # HTTP.sys: no 5xx before the onset (the onset line runs through that cell), 503s in 16:00-18:00.
    assert rows["requests"].index(rows["requests"][LABEL:].strip()) == 63
    assert len(rows["requests"].rstrip()) == 94 and " " not in rows["requests"][63:94]
    assert rows["5xx"].rstrip() == "5xx" + " " * 89 + "│█"
    # Axis: 12-03 00:00 starts column 3; a tick and the day every 12 columns.
    axis = rows["UTC 2009"]
    assert [axis.index(f"╵Dec 0{day}") for day in range(3, 10)] == [13, 25, 37, 49, 61, 73, 85]
    assert rows["legend"].split("  ")[5:] == [
        "T trigger KB973917", "✖ failure (digit: count)", "▁▅█ requests", "▁▅█ 5xx answers", "│ onset",
    ]  # fmt: skip
    assert max(cell_len(line) for line in section) <= 100


def test_q281402_strip_shows_the_crash_and_the_silence_after_it(results: dict[str, ScanResult]) -> None:
    section = _strip_section(_render(results[Q281402.name]))
    rows = _rows(section)
    assert list(rows) == ["flag", "updates", "boots", "failures", "requests", "UTC 2008", "legend"]
    # Onset 2008-02-13 14:31:12 (inetinfo.exe crash); window from 02-06 18:00, so column 82 again.
    assert rows["flag"].index("▼") == 92 and "failure onset 14:31" in rows["flag"]
    assert rows["updates"].rstrip() == "updates" + " " * 85 + "T"  # KB942831 at 14:05, same column
    # Hotfix reboot 14:14 and the unexpected shutdown 15:41 share the column: the shutdown shows.
    assert rows["boots"].rstrip() == "boots" + " " * 87 + "!"
    # Crash 14:31, SCM 7031 twice, crash again 15:02: four failures.
    assert rows["failures"].rstrip() == "failures" + " " * 84 + "4"
    # IIS 5 logs nothing once inetinfo.exe is dead: the requests end in the onset column, no 5xx row.
    assert len(rows["requests"].rstrip()) == 93
    assert "5xx" not in rows
    assert "! unexpected shutdown" in rows["legend"] and "▲ boot" not in rows["legend"]


def test_cbs_2008_strip_shows_5xx_from_the_onset_column(results: dict[str, ScanResult]) -> None:
    rows = _rows(_strip_section(_render(results[CBS2008.name])))
    # Onset 2011-03-09 02:41:10 (WAS 5009); window 03-02 06:00 .. 03-09 06:00; 02:00-04:00 is column 82.
    assert rows["flag"].index("▼") == 92
    assert rows["updates"].rstrip().endswith("T") and len(rows["updates"].rstrip()) == 93  # KB2463332 02:29
    assert rows["failures"][92] == "6"  # five 5009s and the 5002
    # HTTPERR 503s: 34 in 02:00-04:00 and 34 in 04:00-06:00, the busiest 5xx columns.
    assert rows["5xx"].rstrip() == "5xx" + " " * 89 + "██"


def test_healthy_strip_has_no_onset_and_says_no_failures(results: dict[str, ScanResult]) -> None:
    section = _strip_section(_render(results[HEALTHY.name]))
    assert section[0] == "Timeline strip — no failure onset: last 7 days of evidence, 2 h per column"
    rows = _rows(section)
    assert list(rows) == ["updates", "boots", "failures", "requests", "UTC 2009", "legend"]
    assert not any("▼" in line or "│" in line for line in section)
    # Last evidence 12-10 22:59 -> window 12-04 00:00 .. 12-11 00:00; KB973917 at 12-09 03:00 and its
    # reboot at 03:06 are in column (5 days + 2 h) / 2 h = 61, character 71.
    assert rows["updates"].rstrip() == "updates" + " " * 64 + "●"
    assert rows["boots"].rstrip() == "boots" + " " * 66 + "▲"
    assert rows["failures"].rstrip() == "failures  none"
    assert rows["UTC 2009"].index("╵Dec 04") == 10


def test_ascii_fallback_on_a_console_that_cannot_encode_the_glyphs(results: dict[str, ScanResult]) -> None:
    for encoding in ("ascii", "latin-1"):  # latin-1 has "·" but no box or block characters
        out = _render(results[KB973917.name], encoding=encoding)
        section = _strip_section(out)
        assert section[0] == "Timeline strip - last 7 days before the failure onset, 2 h per column"
        rows = _rows(section)
        assert rows["flag"].index("v") == 92 and rows["flag"].rstrip().endswith("failure onset 15:55 v")
        assert rows["updates"][92] == "T" and rows["failures"][92] == "6"
        assert rows["5xx"].rstrip() == "5xx" + " " * 89 + "|@"
        assert set(rows["requests"][63:94]) <= set(".:-=+*#@")
        assert rows["UTC 2009"].index("'Dec 03") == 13
        legend = "x failure (digit: count)  .+@ requests  .+@ 5xx answers  | onset"
        assert rows["legend"].endswith(legend)
        assert all(ord(char) < 128 for char in out)


@pytest.mark.parametrize("width", [240, 100, 80, 60, 40])
def test_no_strip_line_is_wider_than_100_columns_or_the_console(
    results: dict[str, ScanResult], width: int
) -> None:
    for result in results.values():
        section = _strip_section(_render(result, width=width))
        assert max(cell_len(line) for line in section) <= min(width, 100)
    # Narrower consoles get coarser columns rather than wrapped rows.
    text = " ".join(" ".join(_strip_section(_render(results[KB973917.name], width=width))).split())
    expected = {240: 2, 100: 2, 80: 3, 60: 4, 40: 6}[width]
    assert f"failure onset, {expected} h per column" in text


def test_hostile_trigger_id_is_cleaned_and_cut_in_the_legend(results: dict[str, ScanResult]) -> None:
    base = results[KB973917.name]
    hostile = "KB\u202e1\x1b[31m" + "漢" * 60 + "\n forged: line"
    entries = [replace(e, subject=hostile) if e.subject == "KB973917" else e for e in base.timeline.entries]
    diagnosis = replace(base.diagnosis, trigger=hostile)
    result = replace(base, timeline=Timeline(entries, []), diagnosis=diagnosis)
    out = _render(result)
    section = _strip_section(out)
    # Cleaned, then cut to 24 cells (a wide character counts two); the legend wraps rather than overflow.
    legend = [line.strip() for line in section if "T trigger" in line]
    assert legend == ["T trigger KB\\u202e1\\x1b[31m漢漢漢…  ✖ failure (digit: count)  ▁▅█ requests"]
    assert "\x1b" not in out and "\u202e" not in out and "forged" not in out
    assert max(cell_len(line) for line in section) <= 100
    assert "T trigger KB\\u202e1\\x1b[31m\\u6f...  x failure" in _render(result, encoding="ascii")


def test_a_date_only_entry_is_spread_over_its_day(results: dict[str, ScanResult]) -> None:
    """A registry "Installed On" date is a day in local time: drawn as that day's span, not a point."""
    base = results[HEALTHY.name]
    # 12-07 local midnight in a UTC-8 zone is 12-07 08:00 UTC: columns 40..51 (08:00 .. 08:00 next day).
    day = TimelineEntry(datetime(2009, 12, 7, 8, tzinfo=UTC), "day", "hotfix", "KB000001", "installed", ())
    timeline = Timeline([*base.timeline.entries, day], [])
    rows = _rows(_strip_section(_render(replace(base, timeline=timeline))))
    assert rows["updates"].rstrip() == "updates" + " " * 43 + "·" * 12 + " " * 9 + "●"
    assert "· date only (no time)" in rows["legend"]


def test_no_dated_evidence_no_strip(results: dict[str, ScanResult]) -> None:
    base = results[HEALTHY.name]
    nothing = Diagnosis(None, None, None, "No root cause found.")
    empty = ScanResult(base.inventory, Timeline([], []), [], nothing)
    assert build_strip(empty) is None
    assert _render(empty) == ""


def test_ten_failures_in_a_column_and_an_install(results: dict[str, ScanResult]) -> None:
    base = results[HEALTHY.name]
    # Healthy window: 12-04 00:00 .. 12-11 00:00. Twelve W3SVC deaths at 12-10 10:00-10:11 (column 77,
    # character 87) and a program installed 12-10 09:30 (column 76).
    deaths = [
        TimelineEntry(datetime(2009, 12, 10, 10, n, tzinfo=UTC), "second", "worker-process-failure", "Pool",
                      "died", ())
        for n in range(12)
    ]  # fmt: skip
    setup = TimelineEntry(
        datetime(2009, 12, 10, 9, 30, tzinfo=UTC), "second", "software-install", "App", "", ()
    )
    timeline = Timeline([*base.timeline.entries, setup, *deaths], [])
    rows = _rows(_strip_section(_render(replace(base, timeline=timeline))))
    assert list(rows) == ["updates", "installs", "boots", "failures", "requests", "UTC 2009", "legend"]
    assert rows["installs"].rstrip() == "installs" + " " * 78 + "■"
    assert rows["failures"].rstrip() == "failures" + " " * 79 + "+"
    assert "■ install" in rows["legend"] and "+ 10 or more failures" in rows["legend"]
