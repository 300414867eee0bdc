"""Text-log events -> observations: servicing logs (installs, component setups) and Dr. Watson crashes.

Most of these logs are written in local time; the collectors converted them and typed the clock they used
(``LogEvent.clock``). A time converted with a zone rule nothing confirms becomes a ``local_clock``
observation, which fusion trusts after the UTC-native sources (scanner/timeline/installs.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from scanner.model import UNCONFIRMED_LOCAL, LogEvent, TimelineSource
from scanner.model.update_ids import update_ids_in
from scanner.timeline.observe import Observation, sp_of_key, update_key

#: Log families that narrate installs of updates and service packs.
_INSTALL_LOGS = {"update.exe", "svcpack", "windowsupdate", "cbs", "wua", "updspapi"}
#: Component setup logs: iis-setup names the component, setupapi.log only the setup program.
_SETUP_LOGS = ("iis-setup", "setupapi")
#: A log line's ``what`` -> the role its observation plays in an install run (see fuse.py).
_ROLES = {
    "install-start": "start",
    "install-end": "end",
    "package-state": "end",
    "error": "error",
    "reboot-required": "reboot-required",
    "file-replaced": "file",
    "file-not-replaced": "error",
    "download": "before",
}


def from_logs(events: Iterable[LogEvent]) -> Iterator[Observation]:
    """Text-log events by family: installs, component installs, crashes."""
    for event in events:
        local = event.clock in UNCONFIRMED_LOCAL
        source = TimelineSource("log", event.at, event.precision, event.text, event.source, event.clock)
        if event.log == "drwatson":
            yield _crash(event, source, local)
        elif event.log in _SETUP_LOGS and event.what in ("component-install", "install-start", "install-end"):
            yield _component(event, source, local)
        elif event.log in _INSTALL_LOGS or event.log in _SETUP_LOGS:
            found = _install(event, source, local)
            if found is not None:
                yield found


def _crash(event: LogEvent, source: TimelineSource, local: bool) -> Observation:
    subject = (event.subject or "").rsplit("\\", 1)[-1]
    return Observation(
        "crash",
        subject.lower(),
        "crash",
        event.at,
        event.precision,
        source,
        subject=subject,
        summary=f"{subject} crashed (Dr. Watson)",
        details=event.details,
        local_clock=local,
    )


def _component(event: LogEvent, source: TimelineSource, local: bool) -> Observation:
    subject = event.subject or ""
    # setupapi.log names the setup program, not the component: fusion joins it by time.
    return Observation(
        "component",
        subject.lower() if event.log == "iis-setup" else "setupapi",
        "component-install",
        event.at,
        event.precision,
        source,
        role="start" if event.what != "install-end" else "end",
        anchor=event.log == "iis-setup",
        subject=subject,
        summary=event.text,
        details=event.details,
        local_clock=local,
    )


def _install(event: LogEvent, source: TimelineSource, local: bool) -> Observation | None:
    """An install log line, keyed by the SP its session names or the update its subject names."""
    key = f"SP{event.sp_level}" if event.sp_level is not None else update_key(event.subject)
    if key is None and event.log == "svcpack":
        key = "SP?"  # no line of this session names the SP's number: fusion resolves it (installs.py)
    if key is None:
        return None
    if key.startswith("SP"):
        kind = "service-pack"
    elif event.log == "cbs":
        kind = "package-state-change"
    else:
        kind = "update" if event.log == "windowsupdate" else "hotfix"
    return Observation(
        "install",
        key,
        kind,
        event.at,
        event.precision,
        source,
        role=_ROLES.get(event.what, "attest"),
        anchor=event.what in ("install-start", "install-end", "package-state"),
        subject=event.subject or key,
        summary=event.text,
        details=event.details + (("what", event.what), ("log", event.log)),
        local_clock=local,
        update_ids=update_ids_in(event.subject or "") if not key.startswith("SP") else (),
        sp_level=event.sp_level if event.sp_level is not None else sp_of_key(key),
        outcome=event.outcome,
        log_what=event.what,
        state_text=dict(event.details).get("state", ""),  # shown in the entry's summary, never decided on
    )
