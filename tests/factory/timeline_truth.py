"""The timeline a scenario's history implies, derived from its steps and the simulator's replay.

``[[expected.timeline]]`` in each scenario is written by hand; :func:`derive_timeline` recomputes it so that
tests/factory/test_build.py can check that the two agree. Installs are dated from the history steps with the
rules fixtures/README.md states (an install's time is the earliest time a *correctly read* source gives: the
KB/svcpack/iis log's session start, CBS's Servicing event 1 forty seconds before the key, a third-party
setup's folder); boots, failures and traffic come from the replayed event records and W3C logs themselves.

A local-time artefact written under a zone the image no longer holds (``timezone-change`` after it) cannot
be read correctly with the registry's rule: such an entry is dated by the sources that carry their own
offset (UTC events, NTFS and registry-key times, WindowsUpdate.log's ``tz:`` banner) and is a conflict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from fixtures.factory.scenario import Scenario, Step
from fixtures.factory.sim_events import POOL_FAILURE_ACTIONS, pool_failure
from fixtures.factory.sim_state import SystemState
from fixtures.factory.sim_traffic import W3C_LOG_NAME
from fixtures.factory.timezones import WindowsZone, zone

UTC = timezone.utc
HOTFIX_SOURCES = ("event", "file", "log", "registry")
CBS_SOURCES = ("event", "log", "registry")


@dataclass(frozen=True, order=True)
class Entry:
    """One ``[[expected.timeline]]`` row, normalised for comparison."""

    at: str
    kind: str
    subject: str
    precision: str = "second"
    sources: tuple[str, ...] = ()
    count: int = 1
    conflict: bool = False
    what: str = ""


def declared_timeline(scenario: Scenario) -> list[Entry]:
    """The scenario's hand-written ``[[expected.timeline]]``, normalised and sorted."""
    out = []
    for row in scenario.expected.get("timeline", []):
        out.append(
            Entry(
                at=str(row["at"]),
                kind=str(row["kind"]),
                subject=str(row["subject"]),
                precision=str(row["precision"]),
                sources=tuple(sorted(row["sources"])),
                count=int(row.get("count", 1)),
                conflict=bool(row.get("conflict", False)),
                what=str(row.get("what", "")),
            )
        )
    return sorted(out)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def _offset(z: WindowsZone, when: datetime) -> timedelta:
    return z.local(when).utcoffset() or timedelta(0)


def derive_timeline(scenario: Scenario, state: SystemState) -> list[Entry]:
    """Every install, boot, failure and last-success entry the replay of ``scenario`` implies, sorted."""
    system_zone = zone(scenario.system["timezone"])
    final = system_zone
    for step in scenario.history:
        if step.action == "timezone-change":
            final = zone(str(step.get("to", scenario.system["timezone"])))
    current = system_zone
    out: list[Entry] = []
    for step in scenario.history:
        if step.action == "os-install":
            current = zone(str(step.get("timezone", scenario.system["timezone"])))
        elif step.action == "timezone-change":
            current = zone(str(step.get("to", scenario.system["timezone"])))
        # Local-time artefacts of this step, read with the final rule, are off by the zones' difference.
        stale = abs(_offset(current, step.at) - _offset(final, step.at)) > timedelta(hours=1)
        out.extend(_install_entries(scenario, step, stale))
    out.extend(_event_entries(scenario, state))
    out.extend(_traffic_entries(scenario, state))
    return sorted(out)


def _install_entries(scenario: Scenario, step: Step, stale: bool) -> list[Entry]:
    media, at = scenario.media, step.at
    if step.action == "os-install":
        product = str(scenario.system.get("product_name", media.product_name))
        return [Entry(_iso(at), "os-install", product, sources=("registry",))]
    if step.action == "service-pack":
        level = int(step["level"])
        name = f"{media.updates_product} {media.levels[level].csd}"
        # svcpack.log's header is local; $NtServicePackUninstall$ is created 20 s in (NTFS, UTC).
        when = at + timedelta(seconds=20) if stale else at
        return [Entry(_iso(when), "service-pack", name, sources=("file", "log", "registry"), conflict=stale)]
    if step.action == "hotfix":
        kind = "update" if str(step.get("release_type", "")) == "Update" else "hotfix"
        # The KB log's header is local; WindowsUpdate.log's banner carries its own offset; the
        # $NtUninstall<id>$ folder is created 15 s in.
        trusted = not stale or step.get("via") == "automatic-updates"
        when = at if trusted else at + timedelta(seconds=15)
        return [Entry(_iso(when), kind, str(step["id"]), sources=HOTFIX_SOURCES, conflict=stale)]
    if step.action == "component-install":
        # iis6.log/setupapi.log are local; the OC Manager and InetStp keys are written at the same moment.
        return [
            Entry(
                _iso(at),
                "component-install",
                str(step["component"]),
                sources=("file", "log", "registry"),
                conflict=stale,
            )
        ]
    if step.action == "third-party-install":
        # The setup's folder and exe are created 30 s in; the Uninstall key's InstallDate is a local date.
        return [
            Entry(
                _iso(at + timedelta(seconds=30)),
                "software-install",
                str(step["name"]),
                sources=("file", "registry"),
                conflict=stale,
            )
        ]
    if step.action == "cbs-package":
        identity = str(step["identity"])
        kb = identity.split("~")[0].removeprefix("Package_for_")
        kind = "update" if int(step["state"]) == 0x70 else "package-state-change"
        # Microsoft-Windows-Servicing 1 ("initiating changes") is logged 40 s before the package key.
        return [Entry(_iso(at - timedelta(seconds=40)), kind, kb, sources=CBS_SOURCES, conflict=stale)]
    if step.action == "drwatson":
        app = str(step.get("app", f"C:\\{media.system_root}\\system32\\inetsrv\\inetinfo.exe"))
        # drwtsn32.log's "When" is local; the DrWatson 4097 event follows 2 s later.
        when = at + timedelta(seconds=2) if stale else at
        return [Entry(_iso(when), "crash", app.rsplit("\\", 1)[-1], sources=("event", "log"), conflict=stale)]
    if step.action == "boot" and not step.get("clean", True):
        down = step.get("down_at")
        when = down if isinstance(down, datetime) else at - timedelta(minutes=5)
        return [Entry(_iso(when), "unexpected-shutdown", scenario.system["hostname"], sources=("event",))]
    return []


_FAILURES = {
    # (provider, event id) -> (kind, how the subject is named)
    ("W3SVC", 1009): "worker-process-failure",
    ("W3SVC", 1002): "rapid-fail-disable",
    ("Microsoft-Windows-WAS", 5009): "worker-process-failure",
    ("Microsoft-Windows-WAS", 5002): "rapid-fail-disable",
    ("Service Control Manager", 7031): "service-failure",
    ("Service Control Manager", 7034): "service-failure",
}


def _events(state: SystemState) -> list[tuple[datetime, str, int, str]]:
    """(time, provider, 16-bit id, first string) of every replayed System record, oldest first."""
    rows = [
        (r.time_generated, r.source, r.event_id & 0xFFFF, r.strings[0] if r.strings else "")
        for r in state.evt.get("System", [])
    ]
    rows += [
        (r.time_created, r.provider, r.event_id, str(r.data[0][1]) if r.data else "")
        for r in state.evtx.get("System", [])
    ]
    return sorted(rows)


def _event_entries(scenario: Scenario, state: SystemState) -> list[Entry]:
    host = str(scenario.system["hostname"])
    out: list[Entry] = []
    runs: dict[tuple[str, str], list[datetime]] = {}
    for when, provider, event_id, first in _events(state):
        if (provider, event_id) == ("EventLog", 6009):
            out.append(Entry(_iso(when), "reboot", host, sources=("event",)))
            continue
        kind = _FAILURES.get((provider, event_id))
        if kind is None:
            continue
        if kind == "worker-process-failure":
            runs.setdefault((kind, first), []).append(when)
        else:
            out.append(Entry(_iso(when), kind, first, sources=("event",)))
    for (kind, pool), times in runs.items():
        # One entry per burst: a run of failures of one pool with no pause longer than 15 minutes.
        bursts: list[list[datetime]] = []
        for when in times:
            if bursts and when - bursts[-1][-1] <= timedelta(minutes=15):
                bursts[-1].append(when)
            else:
                bursts.append([when])
        out += [Entry(_iso(b[0]), kind, pool, sources=("event",), count=len(b)) for b in bursts]
    return out


_STATUS_OK = re.compile(r"^[23]\d\d$")


def last_success(data: bytes) -> datetime | None:
    """The time of the last complete 2xx/3xx line of one W3C log (malformed lines are skipped)."""
    fields: list[str] = []
    day = ""
    best: datetime | None = None
    for raw in data.split(b"\n"):
        line = raw.rstrip(b"\r").decode("latin-1")
        if line.startswith("#Fields:"):
            fields = line[len("#Fields:") :].split()
        elif line.startswith("#Date:"):
            day = line.split()[1]
        elif line and not line.startswith("#") and "\0" not in line:
            values = line.split()
            if len(values) != len(fields):
                continue
            row = dict(zip(fields, values, strict=True))
            if not _STATUS_OK.match(row.get("sc-status", "")):
                continue
            when = datetime.fromisoformat(f"{row.get('date', day)}T{row['time']}").replace(tzinfo=UTC)
            best = when if best is None or when > best else best
    return best


def _stops(scenario: Scenario, step: Step) -> bool:
    """Whether a traffic step's site stops answering: IIS 5 at its ``outage``, IIS 6+ at its pool's first
    worker-process failure (the simulator's rule, fixtures/README.md)."""
    pool = str(step.get("pool", "DefaultAppPool"))
    failures = [pool_failure(s) for s in scenario.history if s.action in POOL_FAILURE_ACTIONS]
    return step.get("outage") is not None or any(
        f.pool == pool and f.deaths and step.at <= f.deaths[0] < step["until"] for f in failures
    )


def _traffic_entries(scenario: Scenario, state: SystemState) -> list[Entry]:
    out = []
    for step in scenario.history:
        if step.action != "traffic" or not _stops(scenario, step):
            continue
        site = f"W3SVC{int(step.get('site', 1))}"
        times = [
            t
            for path, data in state.text_logs.items()
            if f"\\{site.lower()}\\" in path.lower() and W3C_LOG_NAME.match(path.rsplit("\\", 1)[-1])
            for t in [last_success(data)]
            if t is not None
        ]
        out.append(Entry(_iso(max(times)), "traffic", site, sources=("traffic",), what="last-success"))
    return out
