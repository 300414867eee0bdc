"""IIS traffic -> observations: each log day, each run of 5xx answers, and the last success before them.

W3C and HTTPERR logs are written in UTC. What each observation is (a day, a 5xx run, the last success) and
where its span ends are typed (``traffic``, ``end``): the onset reads them, never ``details``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from scanner.model import TrafficDay
from scanner.timeline.observe import Observation, source


def from_traffic(days: Iterable[TrafficDay]) -> Iterator[Observation]:
    """Per-day traffic, each run of 5xx answers, and the last success before each run."""
    days = sorted(days, key=lambda d: (d.site, d.day))
    for day in days:
        if day.requests == 0 or day.first_request is None:
            continue
        errors = sum(n for status, n in day.status_counts if status >= 500)
        if day.log == "httperr":
            says = f"{day.site} {day.day:%Y-%m-%d}: {day.requests} failed request(s), {errors} × 5xx"
        else:
            last_ok = day.last_success.strftime("%H:%M:%S") if day.last_success else "none"
            says = (
                f"{day.site} {day.day:%Y-%m-%d}: {day.requests} request(s), last success {last_ok} UTC, "
                f"{errors} × 5xx"
            )
        yield Observation(
            "traffic",
            f"{day.site}:{day.day:%Y%m%d}",
            "traffic",
            day.first_request,
            "second",
            source("traffic", day.first_request, "second", says, day.source),
            subject=day.site,
            summary=says,
            details=(("what", "day"), ("requests", str(day.requests)), ("5xx", str(errors))),
            end=day.last_request,
            traffic="day",
        )
        for run in day.error_runs:
            statuses = ", ".join(f"{n} × {s}" for s, n in run.statuses)
            why = ", ".join(f"{reason} × {n}" for reason, n in run.reasons)
            pools = ", ".join(run.queues)
            says = (
                f"{day.site}: {run.count} error answer(s) ({statuses}) "
                f"from {run.start:%H:%M:%S} to {run.end:%H:%M:%S} UTC"
                + (f"; reasons {why}" if why else "")
                + (f"; application pool {pools}" if pools else "")
            )
            yield Observation(
                "traffic",
                f"{day.site}:run:{run.start.isoformat()}",
                "traffic",
                run.start,
                "second",
                source("traffic", run.start, "second", says, run.first_line),
                subject=day.site,
                summary=says,
                details=(("what", "5xx-run"), ("count", str(run.count))),
                end=run.end,
                traffic="5xx-run",
            )
    successes = [d for d in days if d.last_success is not None and d.log == "w3c"]
    if successes:
        last = max(successes, key=lambda d: d.last_success or d.day)
        at = last.last_success
        says = f"{last.site}: last successful (2xx/3xx) request at {at:%Y-%m-%d %H:%M:%S} UTC"
        yield Observation(
            "traffic",
            f"{last.site}:last-success",
            "traffic",
            at,
            "second",
            source("traffic", at, "second", says, last.source),
            subject=last.site,
            summary=says,
            details=(("what", "last-success"),),
            traffic="last-success",
        )
