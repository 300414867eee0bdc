"""The HTML report's interactive timeline: Bokeh figures (lanes of events over IIS traffic) as a JSON item.

Why Bokeh: it is a maintained (NumFOCUS) plotting library whose Python API builds the figure and whose
BokehJS ships inside the wheel, so the report embeds it and works offline from one file; it has the zoom,
pan, hover and tap tools a timeline needs, and renders tooltips as text (a field is HTML only when a
template says ``{safe}``, which ours never does). The data goes into the page as a JSON document, never as
code; every evidence string is passed through :func:`scanner.render.text.clean` (bidi and control characters
shown escaped) and truncated, so a hostile hotfix description can neither run nor hide in the plot.

Lanes (top to bottom): service packs, hotfixes and packages, component and software installs, boots and
shutdowns, failures, IIS traffic entries; below them, requests per hour with 5xx stacked in red
(:mod:`scanner.report.plot_traffic`). Both share one x range (``name="timeline-x"``) that the page's zoom
buttons set; the plot opens on the zoom that shows the failure (:func:`opening_preset`).

The trigger, last-good and onset lines carry labels, each in its own row of a blank band under the lanes, so
no two labels can overlap at any zoom; they are HTML labels (text nodes, ``pm-marker`` class) that the
page's script turns toward the inside of the plot and hides when their line is out of view.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from scanner.diagnose import ScanResult
from scanner.model import EPISODE_KIND, FAILURE_EVENT_KINDS, TimelineEntry
from scanner.render.text import clean
from scanner.report.plot_traffic import draw_bars, hourly_traffic, traffic_bars

__all__ = ["LANES", "entry_columns", "hourly_traffic", "opening_preset", "timeline_item", "zoom_presets"]

#: Lane title -> the timeline kinds drawn in it.
LANES: dict[str, tuple[str, ...]] = {
    "Service packs": ("os-install", "service-pack"),
    "Hotfixes & packages": ("hotfix", "update", "package-state-change"),
    "Components & software": ("component-install", "software-install", "file-replaced"),
    "Boots & shutdowns": ("reboot", "unexpected-shutdown"),
    "Failures": (*sorted(FAILURE_EVENT_KINDS), EPISODE_KIND),
    "IIS traffic": ("traffic",),
}
OTHER_LANE = "Other"
#: kind -> (marker, colour); colours follow the terminal report's KIND_STYLE families.
KIND_MARK: dict[str, tuple[str, str]] = {
    "os-install": ("star", "#1f4e79"),
    "service-pack": ("diamond", "#1f77b4"),
    "hotfix": ("square", "#17becf"),
    "update": ("square", "#17becf"),
    "package-state-change": ("square_pin", "#bcbd22"),
    "component-install": ("triangle", "#9467bd"),
    "software-install": ("inverted_triangle", "#e377c2"),
    "file-replaced": ("diamond_cross", "#bcbd22"),
    "reboot": ("circle", "#2ca02c"),
    "unexpected-shutdown": ("x", "#d62728"),
    "service-failure": ("circle_x", "#d62728"),
    "worker-process-failure": ("circle_x", "#d62728"),
    "rapid-fail-disable": ("square_x", "#8b0000"),
    "crash": ("asterisk", "#8b0000"),
    EPISODE_KIND: ("triangle_pin", "#8b0000"),
    "traffic": ("hex", "#4c78a8"),
}
_DEFAULT_MARK = ("circle", "#7f7f7f")
_TEXT_MAX = 300  # characters of a summary or source line kept for hover / the details panel
_SOURCES_MAX = 12  # sources listed per entry in the details panel (the JSON report has all)

#: Runs in the browser on a tap: fills #timeline-details with the entry's sources, as text nodes only.
_TAP_JS = """
const i = source.selected.indices[0];
const panel = document.getElementById('timeline-details');
if (panel === null || i === undefined) { return; }
const d = source.data;
panel.replaceChildren();
const head = document.createElement('p');
const strong = document.createElement('strong');
strong.textContent = d.when[i] + ' \u2014 ' + d.kind[i] + ' \u2014 ' + d.subject[i];
head.appendChild(strong);
panel.appendChild(head);
const summary = document.createElement('p');
summary.textContent = d.summary[i];
panel.appendChild(summary);
const list = document.createElement('ul');
for (const text of String(d.sources[i]).split('\\n')) {
  const item = document.createElement('li');
  item.textContent = text;
  list.appendChild(item);
}
panel.appendChild(list);
"""


def _ms(at: datetime) -> float:
    """Bokeh's datetime axis unit: milliseconds since the epoch (UTC)."""
    return at.timestamp() * 1000.0


def _short(text: str, limit: int = _TEXT_MAX) -> str:
    text = clean(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def lane_of(kind: str) -> str:
    for lane, kinds in LANES.items():
        if kind in kinds:
            return lane
    return OTHER_LANE


def _source_lines(entry: TimelineEntry) -> str:
    lines = []
    for source in entry.sources[:_SOURCES_MAX]:
        where = source.provenance.artifact + (
            f" [{source.provenance.locator}]" if source.provenance.locator else ""
        )
        lines.append(_short(f"{source.type}: {where} — {source.says}"))
    if len(entry.sources) > _SOURCES_MAX:
        lines.append(f"… and {len(entry.sources) - _SOURCES_MAX} more source(s) (see the JSON report)")
    return "\n".join(lines)


def entry_columns(entries: Iterable[TimelineEntry], trigger: str | None) -> dict[str, list[Any]]:
    """The plotted entries as Bokeh ColumnDataSource columns (dated entries only)."""
    cols: dict[str, list[Any]] = defaultdict(list)
    wanted = (trigger or "").casefold()
    for entry in entries:
        if entry.at is None:
            continue
        marker, colour = KIND_MARK.get(entry.kind, _DEFAULT_MARK)
        is_trigger = (
            bool(wanted) and entry.subject.casefold() == wanted and entry.kind in LANES["Hotfixes & packages"]
        )
        cols["x"].append(_ms(entry.at))
        cols["lane"].append(lane_of(entry.kind))
        cols["marker"].append(marker)
        cols["color"].append(colour)
        cols["size"].append(16 if is_trigger else 10)
        cols["line"].append("#000000" if is_trigger else colour)
        cols["kind"].append(entry.kind)
        cols["subject"].append(_short(entry.subject, 120))
        cols["summary"].append(_short(entry.summary))
        precision = f" ({entry.precision})" if entry.precision and entry.precision != "second" else ""
        cols["when"].append(f"{entry.at:%Y-%m-%d %H:%M:%S} UTC{precision}")
        cols["sources"].append(_source_lines(entry))
        count = len(entry.sources)
        plural = "s" if count != 1 else ""
        cols["source_count"].append(f"{count} source{plural} (click the entry to list them)")
    return cols


def zoom_presets(result: ScanResult) -> list[tuple[str, float, float]]:
    """(label, start ms, end ms) for the zoom buttons: all history down to the hour of the failure."""
    dated = [e.at for e in result.timeline.entries if e.at is not None]
    if not dated:
        return []
    first, last = min(dated), max(dated)
    pad = max((last - first) * 0.02, timedelta(hours=1))
    presets = [("All history", _ms(first - pad), _ms(last + pad))]
    onset = result.diagnosis.failure_onset
    trigger_at = result.diagnosis.trigger_at
    if onset is not None:
        if trigger_at is not None and trigger_at < onset:
            span = onset - trigger_at
            presets.append(("Trigger → onset", _ms(trigger_at - span * 0.3), _ms(onset + span * 0.3)))
        presets.append(("30 days", _ms(onset - timedelta(days=30)), _ms(onset + timedelta(days=2))))
        presets.append(("Failure day", _ms(onset - timedelta(hours=18)), _ms(onset + timedelta(hours=6))))
        presets.append(
            ("Failure hour", _ms(onset - timedelta(minutes=45)), _ms(onset + timedelta(minutes=15)))
        )
    else:
        presets.append(("Last 30 days", _ms(last - timedelta(days=30)), _ms(last + timedelta(days=1))))
    return presets


#: The zoom the page opens on, first found: the failure in context, else its day (issue 18). "All history"
#: squeezes the trigger, last-good and onset lines into the right edge and the traffic into a sliver.
OPENING = ("Trigger → onset", "Failure day")


def opening_preset(presets: list[tuple[str, float, float]]) -> int:
    """Index of the preset the plot opens on: ``OPENING``'s first match, else the first ("All history")."""
    labels = [label for label, _start, _end in presets]
    return next((labels.index(name) for name in OPENING if name in labels), 0)


def timeline_item(result: ScanResult, target: str = "timeline-plot") -> dict[str, Any]:
    """The Bokeh JSON item for ``Bokeh.embed.embed_item`` (lanes figure over the traffic figure)."""
    from bokeh.core.types import ID
    from bokeh.embed import json_item
    from bokeh.layouts import column
    from bokeh.models import (
        BoxZoomTool,
        ColumnDataSource,
        CustomJS,
        DataRange1d,
        DatetimeTickFormatter,
        FactorRange,
        HoverTool,
        PanTool,
        Range1d,
        ResetTool,
        TapTool,
        WheelZoomTool,
    )
    from bokeh.models.annotations import Span
    from bokeh.models.annotations.html.labels import HTMLLabel
    from bokeh.plotting import figure

    d = result.diagnosis
    cols = entry_columns(result.timeline.entries, d.trigger)
    bars = traffic_bars(result.traffic, d.failure_onset, d.last_good)
    presets = zoom_presets(result)
    opening = presets[opening_preset(presets)] if presets else ("", 0.0, 86400000.0)
    x_range = Range1d(start=opening[1], end=opening[2], name="timeline-x")
    used = [lane for lane in [*LANES, OTHER_LANE] if lane in set(cols["lane"]) or lane == "Failures"]
    markers = _markers(result)
    # A blank band of two lanes under the real ones holds the marker labels, one row each (never overlapping).
    band = list(_LABEL_BAND) if markers else []
    lanes = figure(
        title=None,
        x_axis_type="datetime",
        x_range=x_range,
        y_range=FactorRange(factors=band + list(reversed(used))),
        height=60 + 42 * (len(used) + len(band)),
        sizing_mode="stretch_width",
        tools=[],
        toolbar_location="above",
        name="timeline-lanes",
        min_border_left=40,
    )
    source = ColumnDataSource(data=dict(cols), name="timeline-entries")
    points = lanes.scatter(
        x="x",
        y="lane",
        marker="marker",
        size="size",
        fill_color="color",
        line_color="line",
        fill_alpha=0.85,
        line_width=1.5,
        source=source,
    )
    hover = HoverTool(
        renderers=[points],
        tooltips=[("", "@when"), ("", "@kind: @subject"), ("", "@summary"), ("", "@source_count")],
    )
    tap = TapTool(renderers=[points], callback=CustomJS(args={"source": source}, code=_TAP_JS))
    wheel = WheelZoomTool(dimensions="width")
    lanes.add_tools(
        PanTool(dimensions="width"), wheel, BoxZoomTool(dimensions="width"), ResetTool(), hover, tap
    )
    lanes.toolbar.active_scroll = wheel
    figures = [lanes]
    if bars:
        traffic = figure(
            x_axis_type="datetime",
            x_range=x_range,
            height=150,
            sizing_mode="stretch_width",
            tools=[],
            toolbar_location=None,
            y_axis_label="requests / hour",
            y_range=DataRange1d(start=0),
            name="timeline-traffic",
        )
        draw_bars(traffic, bars)
        figures.append(traffic)
    formatter = DatetimeTickFormatter(
        hours="%Y-%m-%d %H:%M", minutes="%H:%M", days="%Y-%m-%d", months="%Y-%m", years="%Y"
    )
    for fig in figures:
        fig.xaxis.formatter = formatter
        fig.background_fill_color = "#fbfbfb"
        for at, _text, colour, dash in markers:
            fig.add_layout(
                Span(location=_ms(at), dimension="height", line_color=colour, line_width=2, line_dash=dash)
            )
    for index, (at, text, colour, _dash) in enumerate(markers):
        lanes.add_layout(
            HTMLLabel(
                x=_ms(at),
                y=_LABEL_ROWS[index % len(_LABEL_ROWS)],
                text=_short(text, 60),
                text_color=colour,
                text_font_size="9pt",
                text_baseline="middle",
                x_offset=-5,
                text_align="right",
                background_fill_color="white",
                background_fill_alpha=0.9,
                name=f"timeline-marker-{index}",
                **_PADDING,
                css_classes=["pm-marker"],
            )
        )
    layout = column(*figures, sizing_mode="stretch_width", name="timeline-layout")
    return dict(json_item(layout, ID(target)))


#: The label band's two blank factors (bottom of the lanes) and the rows in it, in data units: a factor is one
#: unit (about 42 px), so rows 0.65 apart are ~27 px apart, more than a 9 pt label's box is high.
_LABEL_BAND = ("\u2002", "\u2003")
_LABEL_ROWS = (1.65, 1.0, 0.35)
_PADDING: dict[str, Any] = {"padding": 2}  # Bokeh's stubs type ``padding`` too narrowly for an int


def _markers(result: ScanResult) -> list[tuple[datetime, str, str, str]]:
    """Vertical lines: the trigger install, the last good request and the failure onset."""
    d = result.diagnosis
    out = []
    if d.trigger_at is not None and d.trigger:
        out.append((d.trigger_at, f"trigger {d.trigger}", "#ff7f0e", "dashed"))
    if d.last_good is not None:
        out.append((d.last_good, "last good request", "#2ca02c", "dotted"))
    if d.failure_onset is not None:
        out.append((d.failure_onset, "failure onset", "#d62728", "solid"))
    return out
