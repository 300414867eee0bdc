"""The HTML timeline's traffic chart: requests per hour, errors in red, never on the wrong side of the onset.

IIS logs are reduced to hourly counts (``TrafficDay.hourly``), so an hour bar that contains the failure onset
holds both the last good requests and the first 5xx answers. Drawn as one stacked bar, the red 5xx appear
before the onset line at "Failure hour" zoom, which tells the reader the errors started earlier than they
did. So the onset hour is split at the onset: the part before it keeps the successful requests and the 5xx
answers whose error runs (``TrafficDay.error_runs``, exact start/end) lie before the onset; the part after
it holds the rest. Successful requests all lie before the onset when the diagnosis' last good request does
(that is how the onset is chosen: the first failure after the last success), so they stay left of it.

Bars are quads with explicit edges (a small gap inside each hour), so a bar never reaches past its hour.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from scanner.model import TrafficDay

_HOUR = timedelta(hours=1)
_GAP = timedelta(minutes=3)  # white space between neighbouring hour bars
_MIN_WIDTH = timedelta(minutes=1)  # a split part stays visible at "Failure hour" zoom


@dataclass(frozen=True)
class Bar:
    """One drawn bar: [left, right) in UTC, successful requests and 5xx answers in that span."""

    left: datetime
    right: datetime
    ok: int
    errors: int
    label: str  # what the hover says the bar covers


def hourly_traffic(days: Iterable[TrafficDay]) -> tuple[list[datetime], list[int], list[int]]:
    """Requests and errors per hour over every IIS log (W3C and HTTPERR summed), sorted by hour.

    An error is a 5xx answer, and every HTTPERR entry (``TrafficDay.log == "httperr"``): HTTP.sys logs only
    requests it failed or dropped (503 queue full, app offline, connection abandoned), never a success.
    """
    requests: dict[datetime, int] = defaultdict(int)
    errors: dict[datetime, int] = defaultdict(int)
    for day in days:
        for hour, count, fives in day.hourly:
            requests[hour] += count
            errors[hour] += count if day.log == "httperr" else fives
    hours = sorted(requests)
    return hours, [requests[h] for h in hours], [errors[h] for h in hours]


def _errors_before(days: Iterable[TrafficDay], hour: datetime, onset: datetime) -> int:
    """5xx answers of the hour starting at ``hour`` that precede ``onset`` (error runs, split by time)."""
    end = hour + _HOUR
    before = 0.0
    for day in days:
        for run in day.error_runs:
            start, stop = max(run.start, hour), min(run.end, end)
            if stop < start or run.count <= 0:
                continue
            whole = (run.end - run.start).total_seconds()
            if whole <= 0:
                before += run.count if run.start < onset else 0
                continue
            # The run's answers are spread evenly over its span: the share inside the hour and before onset.
            inside_before = (min(stop, onset) - start).total_seconds()
            before += run.count * max(0.0, inside_before) / whole
    return round(before)


def traffic_bars(days: Iterable[TrafficDay], onset: datetime | None, last_good: datetime | None) -> list[Bar]:
    """The bars to draw: one per logged hour, the onset hour split at the onset (see the module docstring)."""
    hours, requests, errors = hourly_traffic(days)
    bars = []
    for hour, count, fives in zip(hours, requests, errors, strict=True):
        left, right = hour + _GAP, hour + _HOUR - _GAP
        label = f"{hour:%Y-%m-%d %H}:00 UTC"
        splittable = onset is not None and hour < onset < hour + _HOUR
        if onset is None or not splittable or (last_good is not None and last_good >= onset):
            bars.append(Bar(left, right, count - fives, fives, label))
            continue
        assert onset is not None
        early = min(fives, _errors_before(days, hour, onset))
        before_left = left if onset - left >= _MIN_WIDTH else hour
        bars.append(Bar(before_left, onset, count - fives, early, f"{label}, before the onset"))
        bars.append(Bar(onset, max(right, onset + _MIN_WIDTH), 0, fives - early, f"{label}, from the onset"))
    return bars


_PADDING: dict[str, Any] = {"padding": 2}  # Bokeh's stubs type ``padding`` too narrowly for an int


def _ms(at: datetime) -> float:
    return at.timestamp() * 1000.0


def draw_bars(traffic: Any, bars: list[Bar]) -> None:
    """Successful requests in blue, 5xx in red stacked on them, one quad pair per bar; legend above the
    chart (inside, it covered the first bars)."""
    from bokeh.models import ColumnDataSource, HoverTool, PanTool, WheelZoomTool
    from bokeh.models.annotations.legends import Legend, LegendItem

    data = ColumnDataSource(
        data={
            "left": [_ms(b.left) for b in bars],
            "right": [_ms(b.right) for b in bars],
            "ok": [b.ok for b in bars],
            "top": [b.ok + b.errors for b in bars],
            "errors": [b.errors for b in bars],
            "requests": [b.ok + b.errors for b in bars],
            "hour": [b.label for b in bars],
        }
    )
    edges: dict[str, Any] = {"left": "left", "right": "right", "line_color": None, "source": data}
    ok = traffic.quad(bottom=0, top="ok", fill_color="#9ecae1", **edges)
    bad = traffic.quad(bottom="ok", top="top", fill_color="#d62728", **edges)
    traffic.add_tools(
        HoverTool(
            renderers=[ok, bad],
            tooltips=[("hour", "@hour"), ("requests", "@requests"), ("errors", "@errors")],
        ),
        PanTool(dimensions="width"),
        WheelZoomTool(dimensions="width"),
    )
    legend = Legend(
        items=[
            LegendItem(label="requests", renderers=[ok]),
            LegendItem(label="errors (5xx, HTTPERR)", renderers=[bad]),
        ],
        orientation="horizontal",
        label_text_font_size="9pt",
        location="top_left",
        border_line_alpha=0,
        margin=0,
        **_PADDING,
    )
    traffic.add_layout(legend, "above")
