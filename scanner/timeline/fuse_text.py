"""What a fused entry says to people: its summary and the conflicts between its sources.

Text only: built from typed fields and kept apart from the grouping (fuse.py) and the entry's fields
(draft.py), so no decision can come to depend on it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from scanner.model import INSTALL_KINDS, TimelineSource
from scanner.timeline.observe import Observation

TOLERANCE = timedelta(hours=1)
KEY_REWRITE_TOLERANCE = timedelta(days=1)
DAY = timedelta(days=1)
#: The install kinds whose summary is "<title> installed" (the model's install kinds but a component install,
#: which keeps its observation's own summary).
_TITLED_INSTALLS = INSTALL_KINDS - {"component-install"}
_LOCAL_CLOCK = "; a local time converted with the zone rule the registry holds now"


def summary(kind: str, subject: str, obs: Sequence[Observation]) -> str:
    """One line for the entry: what was installed, how the boot went, which files, what crashed."""
    if kind in _TITLED_INSTALLS:
        return _install_summary(kind, subject, obs)
    if kind == "reboot":
        boots = [o for o in obs if o.group == "boot"]
        clean = any(o.group == "shutdown" for o in obs)
        os_name = next((o.os_name for o in obs if o.os_name), "")
        changed = next((o.os_changed_from for o in obs if o.os_changed_from), "")
        if not boots:
            return "Clean shutdown (no boot recorded after it)"
        text = f"Boot{' after a clean shutdown' if clean else ''}{': ' + os_name if os_name else ''}"
        return text + (f" (was {changed} at the previous boot)" if changed else "")
    if kind == "file-replaced":
        names = [o.subject.rsplit("\\", 1)[-1] for o in obs]
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        return f"{len(names)} component file(s) put in place outside any recorded install: {shown}"
    if kind == "crash":
        with_text = [o.summary for o in obs if o.source.type == "event"] or [o.summary for o in obs]
        return with_text[0]
    files = [o for o in obs if o.role == "file"]
    base = next((o.summary for o in obs if o.summary and o.role != "file"), subject)
    return base + (f" ({len(files)} file(s) created)" if files and kind != "os-install" else "")


def _install_summary(kind: str, subject: str, obs: Sequence[Observation]) -> str:
    titles = [o.summary for o in obs if o.source.type == "registry" and o.summary]
    title = titles[0] if titles else subject
    text = f"{title} installed" if title != subject else f"{subject} installed"
    if kind == "package-state-change":
        state = next((o.state_text for o in obs if o.state_text), None)
        text = f"{title}: package state {state}" if state else f"{title}: package state changed"
    errors = [o for o in obs if o.role == "error"]
    if errors:
        text += f"; {len(errors)} error line(s) in its logs, first: {errors[0].summary[:160]}"
    if any(o.role == "reboot-required" for o in obs):
        text += "; a reboot was required"
    return text


def conflicts(obs: Sequence[Observation], at: datetime | None, end: datetime | None) -> list[str]:
    """Sources whose own time disagrees with the entry beyond their precision, one line per artefact."""
    if at is None or end is None:
        return []
    best = min((o for o in obs if o.at == at), key=precision_rank, default=None)
    if best is None or best.precision != "second":
        return []
    reference = f"{at:%Y-%m-%d %H:%M:%S} UTC ({_where(best.source)})"
    by_artifact: dict[str, list[tuple[Observation, str]]] = defaultdict(list)
    for o in obs:
        if o.at is None or o is best:
            continue
        if o.precision == "day":
            day_end = o.at + DAY
            if day_end <= at or o.at > end:
                off = at - day_end if day_end <= at else o.at - end
                text = (
                    f"{o.source.says} ({_where(o.source)}) is the UTC span "
                    f"{o.at:%Y-%m-%d %H:%M} to {day_end:%Y-%m-%d %H:%M}, {_hours(off)} "
                    f"{'before' if day_end <= at else 'after'} {reference}"
                )
                by_artifact[o.source.provenance.artifact + o.source.says].append((o, text))  # line grouping
        elif o.precision == "second":
            late = KEY_REWRITE_TOLERANCE if o.source.type == "registry" else TOLERANCE
            if o.at < at - TOLERANCE or o.at > end + late:
                why = _LOCAL_CLOCK if o.local_clock else ""
                side = "before" if o.at < at else "after"
                off = at - o.at if o.at < at else o.at - end
                text = (
                    f"{o.source.provenance.artifact} says {o.at:%Y-%m-%d %H:%M:%S} UTC "
                    f"({o.source.says.strip()[:80]}{why}), {_hours(off)} {side} {reference}"
                )
                by_artifact[o.source.provenance.artifact].append((o, text))
    found = []
    for items in by_artifact.values():
        more = f" (and {len(items) - 1} more line(s) of it)" if len(items) > 1 else ""
        found.append(items[0][1] + more)
    return found


def precision_rank(obs: Observation) -> int:
    return {"second": 0, "minute": 1, "hour": 2, "day": 3}.get(obs.precision or "", 4)


def _where(source: TimelineSource) -> str:
    prov = source.provenance
    return f"{prov.artifact}" + (f" [{prov.locator}]" if prov.locator else "")


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
