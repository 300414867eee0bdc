"""``%windir%\\Logs\\CBS\\CBS.log`` (and ``CbsPersist_*.log``): Component Based Servicing, Vista and later.

Reference §4.4: ``YYYY-MM-DD HH:MM:SS, <Level> <Component> <text>`` with the level (Info, Warning, Error,
Perf) and the component (CBS, CSI, DISM ...) padded with spaces; the time is local (unconfirmed, but the
samples' CSI lines carry a UTC stamp exactly one zone offset away). Lines without a timestamp that start with
white space or a letter are continuations of the previous entry (CSI dumps payloads over several lines), not
malformed; a line that starts with a digit but has no complete timestamp was cut short and is malformed.

Events (``log`` = ``cbs``; precision "second"; subject = the ``KBnnnnnnn`` of the package identity, else the
identity's name part): ``session-start`` (``Session: <id> initialized by client <client>``; subject = the
client), ``install-start`` / ``install-end`` (``Exec: Processing started`` / ``complete ... [HRESULT]``;
``result``), ``package-state`` (``SQM: Reporting package change``: details ``identity``, ``state`` - the
current state, or ``Install Pending`` / ``Uninstall Pending`` when a change waits for the reboot -
``target_state``, ``code``, ``failure_source``; and ``Read out cached package applicability`` lines whose
state is pending or partial), ``reboot-required`` (``Session: ... finalized. Reboot required: yes``,
``reboot required`` / ``reboot pending`` sentences), ``error`` (Error-level lines, with the HRESULT; the
``WER: Generating failure report`` line with details ``report`` = WER and its states).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import BinaryIO

from scanner.collectors.logs import Line, LogParse, Tally, event, read_lines, update_id, wall_clock
from scanner.model import Gap, Provenance, TimeZoneFacts
from scanner.model.localtime import local_to_utc, zone_clock, zone_note

_LINE = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}),\s+(\w+)\s+(\S+)(?:\s+(.*))?$")
_SESSION = re.compile(r"^Session: (\S+) initialized by client (.+?)\.?$")
_EXEC = re.compile(r"^Exec: Processing (started|complete)\.\s+Session: ([^,]+), Package: (\S+)"
                   r"(?: \[HRESULT = (0x[0-9a-fA-F]+)(?: - (\w+))?\])?")
_SQM = re.compile(r"^SQM: Reporting package change for package: ([^,]+), (.*)$")
_CACHED = re.compile(r"^Read out cached package applicability for package: ([^,]+), ApplicableState: (\d+), "
                     r"CurrentState:\s*(\d+)")
_WER = re.compile(r"^WER: Generating failure report for package: ([^,]+), status: (0x[0-9a-fA-F]+), "
                  r"failure source: ([^,]*), start state: ([^,]*), target state: ([^,]*), client id: (.*)$")
_FINALIZED = re.compile(r"^Session: (\S+) finalized\. Reboot required: (yes|no)", re.IGNORECASE)
_REBOOT = re.compile(r"\breboot (?:is )?(?:required|pending)\b(?!:)", re.IGNORECASE)
_HRESULT = re.compile(r"\[HRESULT = (0x[0-9a-fA-F]+)(?: - (\w+))?\]")
_STATES = {0: "Absent", 5: "Uninstall Pending", 16: "Resolving", 32: "Resolved", 48: "Staging", 64: "Staged",
           80: "Superseded", 96: "Install Pending", 101: "Partially Installed", 112: "Installed",
           128: "Permanent"}
_PENDING = {"Installed": "Install Pending", "Absent": "Uninstall Pending"}
_CSI_UTC = re.compile(r"^[0-9a-fA-F]{8}@(\d{4})/(\d{1,2})/(\d{1,2}):(\d{2}):(\d{2}):(\d{2})")
_MAX_SESSIONS = 10_000
_MAX_CSI_CHECKS = 1_000
_PREFIXES = ("Session:", "Exec:", "SQM:", "Read out cached", "WER:")


def _subject(identity: str) -> str:
    """``KB2463332`` from ``Package_for_KB2463332~31bf3856ad364e35~amd64~~6.0.1.1``, else its name part."""
    return update_id(identity) or identity.split("~", 1)[0]


def _pairs(text: str) -> dict[str, str]:
    """``current: Staged, pending: Installed, ...`` -> ``{"current": "Staged", ...}``."""
    out: dict[str, str] = {}
    for part in text.split(", "):
        key, sep, value = part.partition(": ")
        if sep:
            out[key.strip().lower()] = value.strip()
    return out


class _Parser:
    def __init__(self, artifact: str, tz: TimeZoneFacts | None, max_events: int | None) -> None:
        self.artifact = artifact
        self.tz = tz
        self.note = zone_note(tz)
        self.tally = Tally(artifact) if max_events is None else Tally(artifact, max_events)
        self.sessions: dict[str, str] = {}  # session id -> identity of its package
        self.package: str | None = None  # the package being processed
        self.skew: tuple[Line, float] | None = None  # first CSI line whose UTC stamp disagrees with ours
        self.csi_checks = 0

    def keep(self, what: str, line: Line, at: datetime, subject: str | None, details: dict[str, str]) -> None:
        self.tally.add(event("cbs", what, at, subject, line, self.artifact, details, self.note,
                             zone_clock(self.tz)))

    def line(self, line: Line, local: datetime, level: str, component: str, text: str) -> None:
        csi = component == "CSI" and self.skew is None and self.csi_checks < _MAX_CSI_CHECKS
        if not (csi or text.startswith(_PREFIXES) or level.lower() == "error" or "reboot" in text.lower()):
            return  # most lines: nothing to decode, so no time conversion either
        at = local_to_utc(local, self.tz)
        base = {"local_time": local.strftime("%Y-%m-%d %H:%M:%S"), "level": level, "component": component}
        current = _subject(self.package) if self.package else None
        if csi and (m := _CSI_UTC.match(text)):
            self.csi_checks += 1
            stamped = wall_clock(*(int(g) for g in m.groups()))
            off = (at.replace(tzinfo=None) - stamped).total_seconds() if stamped else 0.0
            if abs(off) > 90:
                self.skew = (line, off)
        if m := _SESSION.match(text):
            details = {**base, "session": m.group(1), "client": m.group(2)}
            self.keep("session-start", line, at, m.group(2), details)
        elif m := _EXEC.match(text):
            identity = m.group(3)
            self.package = identity
            if len(self.sessions) < _MAX_SESSIONS:
                self.sessions[m.group(2)] = identity
            details = {**base, "identity": identity, "session": m.group(2)}
            if m.group(1) == "started":
                self.keep("install-start", line, at, _subject(identity), details)
            else:
                code = (m.group(4) or "").lower()
                failed = bool(code) and int(code, 16) & 0x80000000 != 0
                self.keep("install-end", line, at, _subject(identity), {
                    **details, "result": "failed" if failed else "success", "code": code,
                    "code_name": m.group(5) or ""})
        elif m := _SQM.match(text):
            identity, pairs = m.group(1), _pairs(m.group(2))
            now, pending = pairs.get("current", ""), pairs.get("pending", "")
            state = now
            if pending and pending != "Default" and pending != now:
                state = _PENDING.get(pending, f"{now} ({pending} pending)")
            self.keep("package-state", line, at, _subject(identity), {
                **base, "identity": identity, "state": state, "current": now, "pending": pending,
                "target_state": pairs.get("target", ""), "code": pairs.get("status", ""),
                "failure_source": pairs.get("failure source", ""),
                "reboot_required": pairs.get("reboot required", ""), "client": pairs.get("client id", "")})
        elif m := _CACHED.match(text):
            state = _STATES.get(int(m.group(3)), m.group(3))
            if "Pending" in state or "Partially" in state:
                self.keep("package-state", line, at, _subject(m.group(1)), {
                    **base, "identity": m.group(1), "state": state,
                    "applicable_state": _STATES.get(int(m.group(2)), m.group(2))})
        elif m := _WER.match(text):
            self.keep("error", line, at, _subject(m.group(1)), {
                **base, "report": "WER", "identity": m.group(1), "code": m.group(2).lower(),
                "failure_source": m.group(3), "start_state": m.group(4), "target_state": m.group(5),
                "client": m.group(6)})
        elif m := _FINALIZED.match(text):
            if m.group(2).lower() == "yes":
                identity = self.sessions.get(m.group(1))
                self.keep("reboot-required", line, at, _subject(identity) if identity else current,
                          {**base, "session": m.group(1), "identity": identity or ""})
        elif level.lower() == "error":
            h = _HRESULT.search(text)
            code, name = (h.group(1).lower(), h.group(2) or "") if h else ("", "")
            self.keep("error", line, at, current, {**base, "code": code, "code_name": name})
        elif _REBOOT.search(text):
            self.keep("reboot-required", line, at, current, base)


def parse_cbs(source: BinaryIO | Iterable[str], artifact: str, tz: TimeZoneFacts | None, *,
              max_events: int | None = None) -> LogParse:
    """Parse ``CBS.log`` or a ``CbsPersist_*.log`` (see the module docstring)."""
    p = _Parser(artifact, tz, max_events)
    for line in read_lines(source):
        p.tally.lines += 1
        if line.problem:
            p.tally.bad(line)
            continue
        text = line.raw
        if not text.strip():
            continue
        m = _LINE.match(text)
        f = [int(g) for g in m.groups()[:6]] if m else []
        local = wall_clock(*f) if m else None
        if m is None or local is None:
            if text[:1].isdigit() or m is not None:
                p.tally.bad(line)  # a timestamp cut short or impossible
            continue  # a continuation line of the previous entry
        p.line(line, local, m.group(7), m.group(8), (m.group(9) or "").strip())
    gaps = []
    if p.skew is not None:
        line, off = p.skew
        reason = (f"local times differ by {off / 60:+.0f} minute(s) from the UTC stamp of a CSI line (first: "
                  f"line {line.number}) when {zone_note(tz)}: the zone may have changed since")
        gaps.append(Gap(artifact, reason, (Provenance(artifact, f"line {line.number}"),)))
    return p.tally.result(gaps)
