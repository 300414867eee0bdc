"""Component setup logs: ``%windir%\\iis5.log`` / ``iis6.log`` and ``setupapi.log`` / ``updspapi.log``.

They date when a component was added and from which source - the question of KB2009746-style cases where
IIS was added from the RTM CD (``D:\\I386``) after a service pack, leaving RTM files below the SP.

iis5.log / iis6.log (OC Manager setup of IIS; KB "Setup Logging in IIS 5.0"): ``[M/D/YYYY H:M:S] <OC phase>:
<component>:<text>``, local time, fields not zero-padded (``[12/7/1999 14:24:0]``). A run starts at
``OC_PREINITIALIZE:Start`` (or after more than an hour of silence); its ``m_csPathSource=`` line names the
source (the variable dump is remembered, not confirmed, so it is matched anywhere on a line). Events (``log``
= ``iis-setup``): ``component-install`` at the run's first line (subject ``iis5``/``iis6``, details
``source``, ``windir``, ``components``, ``result``), ``install-end`` at its last line, ``error`` for
``FAILED`` lines (a bare ``!FAIL!`` marker only marks the run failed).

setupapi.log (XP/2003; ``updspapi.log`` is update.exe's log in the same grammar, unconfirmed): sections start
with ``[YYYY/MM/DD HH:MM:SS pid.seq kind]`` (local time); their ``#<kind><id> <text>`` lines carry no time of
their own, so every event of a section has the section's time (details ``time_basis``). Events (``log`` =
``setupapi`` / ``updspapi``): ``install-start`` and ``install-end`` per section (subject = the program of the
``#-198``/``#-199`` command line, else the section kind; end ``result`` failed when an ``#E`` line was
logged), ``file-replaced`` for ``#-024``/``#-336 Copying file "<source>" to "<target>"`` (subject = target,
details ``source``; ``via_temp`` when the target was in use and is replaced at the next boot), ``error`` for
``#E`` lines. The ``[SetupAPI Log]`` block and ``Key = value`` lines before the first section are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import BinaryIO

from scanner.collectors.logs import Line, LogParse, Tally, event, read_lines, wall_clock
from scanner.model import FileLeftBehind, InstallOutcome, TimeZoneFacts
from scanner.model.localtime import local_to_utc, zone_clock, zone_note

_OC = re.compile(r"^\[(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{1,2}):(\d{1,2})\]\s?(.*)$")
_OC_START = re.compile(r"^OC_PREINITIALIZE:Start\b", re.IGNORECASE)
_SOURCE = re.compile(r"m_csPathSource\s*=\s*(.+?)\s*$", re.IGNORECASE)
_WINDIR = re.compile(r"m_csWinDir\s*=\s*(.+?)\s*$", re.IGNORECASE)
_OC_COMPONENT = re.compile(r"^OC_[A-Z_]+:([a-z][a-z0-9_]*):")
_FAILED = re.compile(r"\bFAIL(?:ED|URE)\b")
_PATH = re.compile(r"[A-Za-z]:\\[^\s,;\"'():]+(?:\\[^\s,;\"'():]+)*")
_QUIET = timedelta(hours=1)

_SECTION = re.compile(
    r"^\[(\d{4})/(\d{1,2})/(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2}) (\d+)\.(\d+)(?: ([^\]]*))?\]\s*$")
_COMMAND = re.compile(
    r'^#-19[89] (?:Command line processed: (.*)|Executing "([^"]*)" with command line: (.*))$')
_COPY = re.compile(r'^#-(?:024|336) Copying file "([^"]+)" to "([^"]+)"(?: via temporary file "([^"]+)")?')
_ERROR = re.compile(r"^#(E\d{3})\s+(.*)$")
_ERROR_CODE = re.compile(r"\bError (0x[0-9a-fA-F]{8}|\d+)\b")


@dataclass
class _Run:
    """One IIS setup run or one setupapi section, buffered until it closes (its subject comes later)."""

    first: Line
    at: datetime | None
    local: str
    last: Line
    last_at: datetime | None
    last_local: str
    details: dict[str, str] = field(default_factory=dict)
    components: list[str] = field(default_factory=list)
    # A setupapi section's typed identity (its details show them to people): the section kind from its
    # header, and the program and command line of its first "Executing" line.
    kind: str = ""
    program: str | None = None
    command_line: str | None = None
    events: list[tuple[str, Line, datetime | None, str | None, dict[str, str]]] = field(default_factory=list)
    failed: bool = False
    files: int = 0
    delayed: list[str] = field(default_factory=list)  # targets copied via a temporary file (in use)


class _Base:
    def __init__(self, artifact: str, tz: TimeZoneFacts | None, max_events: int | None) -> None:
        self.artifact = artifact
        self.tz = tz
        self.tally = Tally(artifact) if max_events is None else Tally(artifact, max_events)
        self.run: _Run | None = None
        self.name = artifact.replace("/", "\\").rsplit("\\", 1)[-1].lower()

    def buffer(self, what: str, line: Line, at: datetime | None, subject: str | None,
               details: dict[str, str]) -> None:
        assert self.run is not None
        if len(self.run.events) < self.tally.max_events:
            self.run.events.append((what, line, at, subject, details))
        else:
            self.tally.dropped += 1

    def emit(self, log: str, run: _Run) -> None:
        for what, line, at, subject, details in run.events:
            self.tally.add(event(log, what, at, subject, line, self.artifact, details, zone_note(self.tz),
                                 zone_clock(self.tz)))


def _stamp(local: datetime | None) -> str:
    return local.strftime("%Y-%m-%d %H:%M:%S") if local else ""


class _IisParser(_Base):
    def close(self) -> None:
        run, self.run = self.run, None
        if run is None:
            return
        component = self.name.rsplit(".", 1)[0]  # iis5 / iis6
        result = "failed" if run.failed else "success"
        head = ("component-install", run.first, run.at, component, {
            **run.details, "local_time": run.local, "components": ",".join(run.components), "result": result})
        run.events.insert(0, head)
        run.events.append(("install-end", run.last, run.last_at, component,
                           {"local_time": run.last_local, "result": result}))
        self.emit("iis-setup", run)

    def line(self, line: Line, local: datetime, text: str) -> None:
        at = local_to_utc(local, self.tz)
        run = self.run
        if run is None or _OC_START.match(text) or (run.last_at is not None and at - run.last_at > _QUIET):
            self.close()
            run = self.run = _Run(line, at, _stamp(local), line, at, _stamp(local))
        run.last, run.last_at, run.last_local = line, at, _stamp(local)
        if m := _SOURCE.search(text):
            run.details.setdefault("source", m.group(1))
        elif m := _WINDIR.search(text):
            run.details.setdefault("windir", m.group(1))
        if (m := _OC_COMPONENT.match(text)) and m.group(1) not in run.components and len(run.components) < 50:
            run.components.append(m.group(1))
        if "!FAIL!" in text:
            run.failed = True
        elif _FAILED.search(text):
            run.failed = True
            path = _PATH.search(text)
            self.buffer("error", line, at, self.name.rsplit(".", 1)[0],
                        {"local_time": _stamp(local), "message": text, "file": path.group(0) if path else ""})


def parse_iis_setup(source: BinaryIO | Iterable[str], artifact: str, tz: TimeZoneFacts | None, *,
                    max_events: int | None = None) -> LogParse:
    """Parse ``iis5.log`` / ``iis6.log`` (see the module docstring); ``artifact`` names the component."""
    p = _IisParser(artifact, tz, max_events)
    for line in p.tally.readable(source):
        m = _OC.match(line.raw.strip())
        f = [int(g) for g in m.groups()[:6]] if m else []
        local = wall_clock(f[2], f[0], f[1], f[3], f[4], f[5]) if m else None
        if m is None or local is None:
            p.tally.bad(line)
            continue
        p.line(line, local, m.group(7).strip())
    p.close()
    return p.tally.result()


class _SetupApiParser(_Base):
    def close(self) -> None:
        run, self.run = self.run, None
        if run is None:
            return
        log = self.name.rsplit(".", 1)[0]  # setupapi / updspapi
        subject = run.program or run.kind or None
        basis = {"local_time": run.local, "time_basis": "section header"}
        command = {"program": run.program, "command_line": run.command_line or ""} if run.program else {}
        start = {**run.details, **command, "local_time": run.local}
        run.events = [(w, ln, at, subject, start) if w == "install-start" else (w, ln, at, s, d)
                      for w, ln, at, s, d in run.events]
        run.events.append(("install-end", run.last, run.at, subject, {
            **basis, "result": "failed" if run.failed else "success", "files_replaced": str(run.files)}))
        self.emit(log, run)
        if self.tally.events and self.tally.events[-1].what == "install-end":
            # The typed outcome: a copy "via temporary file" found the target in use and queued it for the
            # next boot (setupapi.log's confirmed shape), so the file is left behind until then.
            delayed = tuple(FileLeftBehind(t, "in-use-delayed") for t in run.delayed)
            outcome = InstallOutcome("failed" if run.failed else "success", run.files, delayed,
                                     True if delayed else None)
            self.tally.events[-1] = replace(self.tally.events[-1], outcome=outcome)

    def line(self, line: Line) -> None:
        text = line.raw.strip()
        if m := _SECTION.match(text):
            f = [int(g) for g in m.groups()[:6]]
            local = wall_clock(*f)
            if local is None:
                self.tally.bad(line)
                return
            self.close()
            at = local_to_utc(local, self.tz)
            self.run = _Run(line, at, _stamp(local), line, at, _stamp(local))
            kind = (m.group(9) or "").strip()
            self.run.details = {"pid": m.group(7), "sequence": m.group(8), "kind": kind}
            self.run.kind = kind
            self.buffer("install-start", line, at, None, {})
            return
        if text.startswith("[") and text.lower() != "[setupapi log]":
            self.tally.bad(line)  # a section header cut short or overwritten
            return
        if self.run is None:
            return  # the creation block ("[SetupAPI Log]", "OS Version = ...")
        run = self.run
        run.last = line
        basis = {"local_time": run.local, "time_basis": "section header"}
        if m := _COMMAND.match(text):
            command = m.group(1) or m.group(3) or ""
            program = m.group(2) or (command.split()[0] if command.split() else "")
            if run.program is None and program:
                run.program = program.rsplit("\\", 1)[-1]
                run.command_line = command
        elif m := _COPY.match(text):
            run.files += 1
            if m.group(3) and len(run.delayed) < self.tally.max_events:
                run.delayed.append(m.group(2))
            self.buffer("file-replaced", line, run.at, m.group(2), {
                **basis, "source": m.group(1), "via_temp": m.group(3) or "",
                "volume_path": m.group(2)[3:] if re.match(r"^[A-Za-z]:\\", m.group(2)) else ""})
        elif m := _ERROR.match(text):
            run.failed = True
            code = _ERROR_CODE.search(m.group(2))
            subject = run.program or run.kind or None
            self.buffer("error", line, run.at, subject, {
                **basis, "id": m.group(1), "code": code.group(1) if code else "", "message": m.group(2)})


def parse_setupapi(source: BinaryIO | Iterable[str], artifact: str, tz: TimeZoneFacts | None, *,
                   max_events: int | None = None) -> LogParse:
    """Parse ``setupapi.log`` or ``updspapi.log`` (see the module docstring); ``artifact`` names the log."""
    p = _SetupApiParser(artifact, tz, max_events)
    for line in read_lines(source):
        p.tally.lines += 1
        if line.problem:
            p.tally.bad(line)
        elif line.raw.strip():
            p.line(line)
    p.close()
    return p.tally.result()
