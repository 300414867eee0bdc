"""The ``scan`` report's timeline strip: the last days before the failure, one symbol row per lane.

A reader should *see* the story before reading it — days of steady traffic, an update, a reboot, then
failures and 5xx answers — as ``git log --graph`` shows history at a glance. The grid is fixed (2 h per
column, 7 days in 84 columns; coarser on a narrow terminal; never over 100 columns with the lane labels)
and aligned to UTC midnight, so each day is a whole number of columns.

Lanes, each shown only when it holds something (failures always): updates (the trigger as ``T``), installs,
boots ``▲`` and unexpected shutdowns ``!``, failures (``✖``, or the count when several share a column), IIS
requests as a sparkline scaled to the busiest column, and 5xx answers on their own scale and row (visible
without colour). The onset column is flagged ``▼`` and drawn through the lanes ``│``. An entry dated only by
its day (registry ``Installed On``, a local date) is spread over that day as ``·``, never pinned to a time.

ASCII stand-ins replace every glyph when the console's encoding cannot encode them (latin-1,
``PYTHONIOENCODING=ascii``). The only evidence string in the strip, the trigger id in the legend, goes
through :func:`scanner.render.text.clean` and is cut to a bounded width.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.cells import cell_len, set_cell_size
from rich.console import Console

from scanner.diagnose import ScanResult
from scanner.model import FAILURE_EVENT_KINDS, TimelineEntry, TrafficDay
from scanner.render.text import Part, clean, line
from scanner.report.scan_window import trigger_entry
from scanner.report.timeline import KIND_STYLE

DAYS = 7
MAX_WIDTH = 100  # columns of the widest strip line, lane labels included
LABEL_WIDTH = 10
#: Column durations tried in order, the finest whose grid fits the console; each divides a day.
_COLUMN_HOURS = (2, 3, 4, 6)
_AFTER_ONSET = timedelta(hours=2)  # the window runs on past the onset so its failures and 5xx are visible
_DAY = timedelta(days=1)
_TRIGGER_CELLS = 24  # the trigger id in the legend is cut to this many cells
_ONSET_STYLE = "bold red"
_5XX_STYLE = "bold red"
_TRIGGER_STYLE = "bold reverse yellow"

#: name -> (Unicode glyph, ASCII stand-in, what the legend calls it; "" = not in the legend).
GLYPHS: dict[str, tuple[str, str, str]] = {
    "trigger": ("T", "T", "trigger"),
    "service-pack": ("◆", "S", "service pack"),
    "update": ("●", "o", "update"),
    "package": ("○", "p", "package change"),
    "install": ("■", "#", "install"),
    "file-replaced": ("◇", "*", "file put in place"),
    "boot": ("▲", "^", "boot"),
    "shutdown": ("!", "!", "unexpected shutdown"),
    "failure": ("✖", "x", "failure (digit: count)"),
    "day": ("·", ".", "date only (no time)"),
    "many": ("+", "+", "10 or more failures"),
    "onset": ("│", "|", ""),
    "flag": ("▼", "v", ""),
    "tick": ("╵", "'", ""),
}
SPARKS = ("▁▂▃▄▅▆▇█", ".:-=+*#@")
#: kind -> (lane, glyph name, rank): the higher rank wins a shared cell.
_KINDS: dict[str, tuple[str, str, int]] = {
    "service-pack": ("updates", "service-pack", 4),
    **dict.fromkeys(("hotfix", "update"), ("updates", "update", 3)),
    "package-state-change": ("updates", "package", 2),
    **dict.fromkeys(("os-install", "component-install", "software-install"), ("installs", "install", 2)),
    "file-replaced": ("installs", "file-replaced", 3),
    "reboot": ("boots", "boot", 2),
    "unexpected-shutdown": ("boots", "shutdown", 3),
    **dict.fromkeys(FAILURE_EVENT_KINDS, ("failures", "failure", 2)),
    # Which failure wins a shared cell is drawing, not a kind family (those are scanner.model's).
    "rapid-fail-disable": ("failures", "failure", 3),
    "crash": ("failures", "failure", 3),
}
_EVENT_LANES = ("updates", "installs", "boots", "failures")
#: Legend glyphs drawn as the strip draws them.
_LEGEND_STYLE = {name: KIND_STYLE.get(kind, "bold") for kind, (_, name, _) in _KINDS.items()} | {
    "trigger": _TRIGGER_STYLE, "many": "bold red", "day": "dim",
}  # fmt: skip

Cell = tuple[int, str, str]  # rank, glyph name (or a failure count), style
Drawn = tuple[str, str] | None  # glyph, style


@dataclass(frozen=True)
class Strip:
    """A laid-out strip: the heading's caption, the grid's geometry, and the rows ready for ``line``."""

    caption: str
    start: datetime  # the first column's start (UTC)
    column: timedelta
    columns: int
    rows: tuple[tuple[Part, ...], ...] = ()

    def column_of(self, at: datetime) -> int | None:
        """The column holding ``at``, or None outside the window."""
        index = (at - self.start) // self.column
        return index if 0 <= index < self.columns else None


def unicode_ok(console: Console) -> bool:
    """Whether the console's encoding can carry the strip's Unicode glyphs (else the ASCII ones are used)."""
    try:
        ("".join(g[0] for g in GLYPHS.values()) + SPARKS[0]).encode(console.encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def print_strip(result: ScanResult, console: Console) -> None:
    """Print the strip as a report section (nothing at all when there is no dated evidence)."""
    ascii_only = not unicode_ok(console)
    strip = build_strip(result, ascii_only=ascii_only, width=console.width)
    if strip is None:
        return
    console.print()
    line(console, ("Timeline strip", "bold"), f" {'-' if ascii_only else '—'} {strip.caption}", wrap=True)
    for row in strip.rows:
        line(console, *row, wrap=False)  # a drawing: its columns are times


def build_strip(result: ScanResult, *, ascii_only: bool = False, width: int = MAX_WIDTH) -> Strip | None:
    """Lay out the strip of ``result``: the window, every lane's cells, the axis and the legend.

    Args:
        result: the scan.
        ascii_only: draw with the ASCII stand-ins.
        width: the console's width (capped at 100); the finest column duration whose grid fits is used.

    Returns:
        The strip, or None when there is neither an onset nor any dated timeline entry.
    """
    width = min(width, MAX_WIDTH)
    d = result.diagnosis
    dated = [e for e in result.timeline.entries if e.at is not None]
    hours = next((h for h in _COLUMN_HOURS if DAYS * 24 // h + LABEL_WIDTH <= width), _COLUMN_HOURS[-1])
    column, columns = timedelta(hours=hours), DAYS * 24 // hours
    try:
        if d.failure_onset is not None:
            end = _floor(d.failure_onset + _AFTER_ONSET, column) + column
            caption = f"last {DAYS} days before the failure onset, {hours} h per column"
        elif dated:
            end = _floor(max((e.end or e.at) for e in dated if e.at is not None), column) + column
            caption = f"no failure onset: last {DAYS} days of evidence, {hours} h per column"
        else:
            return None
        grid = Strip(caption, end - column * columns, column, columns)
    except OverflowError:  # a hostile time stamp at the edge of the calendar: no strip rather than a crash
        return None
    glyph, spark = _glyphs(ascii_only)
    onset = grid.column_of(d.failure_onset) if d.failure_onset is not None else None
    rows: list[tuple[Part, ...]] = []
    if onset is not None and d.failure_onset is not None:
        rows.append(_flag_row(onset, f"failure onset {d.failure_onset:%H:%M}", glyph["flag"]))
    lanes: dict[str, list[Drawn]] = {}
    events = _event_lanes(grid, dated, trigger_entry(dated, d))
    for lane in _EVENT_LANES:
        if lane in events or lane == "failures":
            lanes[lane] = [None if c is None else _draw(c, glyph) for c in events.get(lane, [None] * columns)]
    requests, errors = _traffic(grid, result.traffic)
    for lane, counts, style in (("requests", requests, KIND_STYLE["traffic"]), ("5xx", errors, _5XX_STYLE)):
        if any(counts):
            lanes[lane] = [_spark(n, max(counts), spark, style) for n in counts]
    for lane, cells in lanes.items():
        if not any(cells) and onset is None:  # the failures lane says so rather than stay blank
            rows.append(((f"{lane:<{LABEL_WIDTH}}", "dim"), ("none", "dim")))
            continue
        if onset is not None and cells[onset] is None:
            cells[onset] = (glyph["onset"], _ONSET_STYLE)
        rows.append(_row(lane, cells))
    rows.append(_axis(grid, glyph["tick"], width))
    used = {c[1] for cells in events.values() for c in cells if c is not None} | set(lanes) | {"failure"}
    rows += _legend(result, used, ascii_only, onset is not None, width)
    return Strip(caption, grid.start, column, columns, tuple(rows))


def _glyphs(ascii_only: bool) -> tuple[dict[str, str], str]:
    pick = 1 if ascii_only else 0
    return {name: g[pick] for name, g in GLYPHS.items()}, SPARKS[pick]


def _floor(at: datetime, column: timedelta) -> datetime:
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + column * ((at - midnight) // column)


def _event_lanes(
    grid: Strip, dated: Iterable[TimelineEntry], trigger: TimelineEntry | None
) -> dict[str, list[Cell | None]]:
    """Each event lane's cells (lanes with nothing in the window left out); failures are counted."""
    lanes: dict[str, list[Cell | None]] = {}
    failures = [0] * grid.columns
    for entry in dated:
        if entry.at is None or entry.kind not in _KINDS:
            continue
        lane, name, rank = _KINDS[entry.kind]
        style = KIND_STYLE.get(entry.kind, "white")
        if entry is trigger:
            name, rank, style = "trigger", 9, _TRIGGER_STYLE
        cells = lanes.setdefault(lane, [None] * grid.columns)
        if entry.precision == "day":  # the UTC span of a local date: spread over it, never pin a time
            first = _floor(entry.at, grid.column)
            times = (first + grid.column * i for i in range(_DAY // grid.column + 1))
            marks = [c for c in map(grid.column_of, times) if c is not None]
            marks = [c for c in marks if grid.start + grid.column * c < entry.at + _DAY]
            for i, mark in enumerate(marks):
                _put(cells, mark, (rank, name, style) if i == 0 and entry is trigger else (1, "day", "dim"))
            continue
        col = grid.column_of(entry.at)
        if col is None:
            continue
        if lane == "failures":
            failures[col] += 1
            rank = max(rank, (cells[col] or (0,))[0])
            name = name if failures[col] == 1 else str(failures[col]) if failures[col] < 10 else "many"
            cells[col] = (rank, name, "bold red" if rank >= 3 else "red")
        else:
            _put(cells, col, (rank, name, style))
    return {lane: cells for lane, cells in lanes.items() if any(cells)}


def _put(cells: list[Cell | None], col: int, cell: Cell) -> None:
    if cells[col] is None or cell[0] > (cells[col] or (0,))[0]:
        cells[col] = cell


def _draw(cell: Cell, glyph: dict[str, str]) -> tuple[str, str]:
    _, name, style = cell
    return (name if name.isdigit() else glyph[name]), style


def _traffic(grid: Strip, days: Iterable[TrafficDay]) -> tuple[list[int], list[int]]:
    """Requests and 5xx answers per column, summed over every site's W3C and HTTPERR hours."""
    requests, errors = [0] * grid.columns, [0] * grid.columns
    for day in days:
        for hour, count, failed in day.hourly:
            col = grid.column_of(hour)
            if col is not None:
                requests[col] += max(count, 0)
                errors[col] += max(failed, 0)
    return requests, errors


def _spark(count: int, top: int, spark: str, style: str) -> Drawn:
    """A sparkline cell: nothing for zero, else one of eight heights relative to the busiest column."""
    if count <= 0 or top <= 0:
        return None
    return spark[min(len(spark) - 1, (count * len(spark) - 1) // top)], style


def _row(label: str, cells: list[Drawn]) -> tuple[Part, ...]:
    parts: list[Part] = [(f"{label:<{LABEL_WIDTH}}", "dim")]
    while cells and cells[-1] is None:  # no trailing blanks
        cells = cells[:-1]
    for cell in cells:
        text, style = cell if cell is not None else (" ", "")
        last = parts[-1]
        if len(parts) > 1 and isinstance(last, tuple) and last[1] == style:
            parts[-1] = (last[0] + text, style)  # one part per run of one style
        else:
            parts.append((text, style))
    return tuple(parts)


def _flag_row(col: int, label: str, flag: str) -> tuple[Part, ...]:
    """``failure onset 15:55 ▼`` with the flag over the onset column (the label after it when no room)."""
    text = f"{label} {flag}".rjust(col + 1) if col > len(label) else " " * col + f"{flag} {label}"
    return (" " * LABEL_WIDTH, (text, _ONSET_STYLE))


def _axis(grid: Strip, tick: str, width: int) -> tuple[Part, ...]:
    """Day labels (UTC) under the grid: a tick at each midnight, then the date when it fits."""
    cells = [" "] * max(grid.columns, width - LABEL_WIDTH)
    day, free = _floor(grid.start, _DAY), 0
    for _ in range(DAYS + 2):
        col = grid.column_of(day)
        if col is not None and col >= free:
            label = f"{tick}{day:%b %d}"[: len(cells) - col]
            cells[col : col + len(label)] = label
            free = col + len(label) + 1
        day += _DAY
    last = grid.start + grid.column * (grid.columns - 1)
    year = f"{grid.start:%Y}" if grid.start.year == last.year else f"{grid.start:%Y}-{last:%y}"
    return ((f"UTC {year}".ljust(LABEL_WIDTH), "dim"), ("".join(cells).rstrip(), "dim"))


def _legend(
    result: ScanResult, used: set[str], ascii_only: bool, onset: bool, width: int
) -> list[tuple[Part, ...]]:
    """The glyphs the strip uses, named: one line at 100 columns, wrapped (never cut) on a narrower one."""
    glyph, spark = _glyphs(ascii_only)
    items: list[tuple[tuple[str, str], str]] = []
    for name, (_, _, words) in GLYPHS.items():
        if name in used and words:
            if name == "trigger" and result.diagnosis.trigger:
                trigger = clean(result.diagnosis.trigger)  # evidence: cleaned, cut short, encodable
                if ascii_only:
                    trigger = trigger.encode("ascii", "backslashreplace").decode("ascii")
                if cell_len(trigger) > _TRIGGER_CELLS:
                    more = "..." if ascii_only else "…"
                    trigger = set_cell_size(trigger, _TRIGGER_CELLS - len(more)) + more
                words = f"trigger {trigger}"
            items.append(((glyph[name], _LEGEND_STYLE.get(name, "bold")), f" {words}"))
    low_high = spark[0] + spark[len(spark) // 2] + spark[-1]
    if "requests" in used:
        items.append(((low_high, KIND_STYLE["traffic"]), " requests"))
    if "5xx" in used:
        items.append(((low_high, _5XX_STYLE), " 5xx answers"))
    if onset:
        items.append(((glyph["onset"], _ONSET_STYLE), " onset"))
    rows: list[tuple[Part, ...]] = []
    parts: list[Part] = [" " * LABEL_WIDTH]
    room = width - LABEL_WIDTH
    for symbol, words in items:
        size = cell_len(symbol[0]) + cell_len(words) + (2 if len(parts) > 1 else 0)
        if len(parts) > 1 and size > room:
            rows.append(tuple(parts))
            parts, room = [" " * LABEL_WIDTH], width - LABEL_WIDTH
            size -= 2
        parts += ["  ", symbol, words] if len(parts) > 1 else [symbol, words]
        room -= size
    rows.append(tuple(parts))
    return rows
