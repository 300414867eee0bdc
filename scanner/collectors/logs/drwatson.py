"""Dr. Watson ``drwtsn32.log``: one crash event per ``Application exception occurred:`` entry.

Where (reference §4.5, Q278689): NT4 ``%windir%\\Drwtsn32.log``; Windows 2000 ``Documents and Settings\\All
Users\\Documents\\DrWatson\\drwtsn32.log``; XP/2003 ``Documents and Settings\\All Users\\Application
Data\\Microsoft\\Dr Watson\\drwtsn32.log``. The log is appended at every crash, so it is a crash timeline.

Entry shape (DrWatson's message file; KB Q194594/Q191254 samples)::

    Application exception occurred:
            App: C:\\WINNT\\system32\\inetsrv\\inetinfo.exe (pid=1144)
            When: 2/13/2008 @ 15:31:12.000
            Exception number: c0000005 (access violation)
    *----> System Information <----*   Computer Name: ..., Service Pack: ...
    *----> Module List <----*          (6b9c0000 - 6b9ef000) C:\\...\\infocomm.dll   (XP: "(base - end: path")
    State Dump for Thread Id 0x11fc    (XP: *----> State Dump ... <----*), one per thread
    function: <nosymbols>              (or module!symbol)
    FAULT ->6b9c2a10 8908  mov [eax],ecx    only in the faulting thread
    *----> Stack Back Trace <----*     FramePtr ReturnAd ... module!function+0x1d

NT4 writes the symbol file instead of the image (``App: exe\\inetinfo.dbg (pid=152)`` in Exchange/SNA KB
samples); the subject is then ``inetinfo.exe`` and ``app`` keeps what was written. ``When`` is local time
(unpadded on NT4/2000: ``15:7:41.106``) in the US M/D/YYYY order; it is converted
with the image's time-zone rule (precision second, the milliseconds stay in ``local_time``). The faulting
module is, in order: the module named by the faulting thread's ``function:`` line, the Module List entry
holding the ``FAULT ->`` address, the first frame of the faulting thread's back trace. Module lists and stack
dumps make the file large: it is streamed and only the current entry's header and module ranges are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scanner.collectors.volume import READ_ERRORS, lookup, windows_path
from scanner.formats.lines import read_lines
from scanner.model import Gap, LogEvent, Provenance, TimeZoneFacts
from scanner.model.localtime import local_to_utc, zone_clock, zone_note
from scanner.model.timerange import in_range

__all__ = ["DRWATSON_LOGS", "parse_drwatson", "read_drwatson"]

#: Where each Windows generation writes the log; ``{windir}`` is the Windows directory (WINNT/WINDOWS).
DRWATSON_LOGS: tuple[str, ...] = (
    "{windir}\\Drwtsn32.log",
    "Documents and Settings\\All Users\\Documents\\DrWatson\\drwtsn32.log",
    "Documents and Settings\\All Users\\Application Data\\Microsoft\\Dr Watson\\drwtsn32.log",
)
MAX_MODULES = 4_096  # module ranges kept per entry (a process maps a few hundred)
MAX_EVENTS = 100_000
_START = "Application exception occurred:"
_APP = re.compile(r"^\s*App:\s*(?P<app>\S.*?)\s*(?:\(pid=(?P<pid>\d+)\))?\s*$", re.IGNORECASE)
_WHEN = re.compile(
    r"^\s*When:\s*(?P<d>\d{1,4})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{1,4})\s*@\s*"
    r"(?P<H>\d{1,2}):(?P<M>\d{1,2}):(?P<S>\d{1,2})(?:[.,](?P<ms>\d{1,3}))?\s*$",
    re.IGNORECASE,
)
_EXC = re.compile(r"^\s*Exception number:\s*(?P<code>[0-9a-fA-F]{1,8})\s*(?:\((?P<text>[^)]*)\))?", re.I)
_MODULE = re.compile(r"^\((?P<b>[0-9a-fA-F]{8,16})\s*-\s*(?P<e>[0-9a-fA-F]{8,16})[):]\s*(?P<path>\S.*?)\s*$")
_FAULT = re.compile(r"^FAULT\s*->\s*(?P<addr>[0-9a-fA-F]{8,16})\b")
_FRAME = re.compile(r"^(?:[0-9a-fA-F]{8,16}\s+){2,6}(?P<func>[^\s!]+)!\S+")
_SYSINFO = {"computer name": "computer", "user name": "user", "windows version": "windows_version",
            "current build": "build", "service pack": "service_pack"}


@dataclass
class _Entry:
    """The entry being read: header values, module ranges and what the faulting thread said."""

    line: int
    header: list[str] = field(default_factory=list)
    app: str | None = None
    pid: str | None = None
    when: datetime | None = None
    when_text: str | None = None
    code: str | None = None
    code_text: str | None = None
    info: dict[str, str] = field(default_factory=dict)
    modules: list[tuple[int, int, str]] = field(default_factory=list)
    function: str | None = None  # the current thread's "function:" line
    fault_function: str | None = None
    fault_address: int | None = None
    frame_module: str | None = None
    section: str = "header"
    ended: bool = False  # reached the back trace or the raw stack dump: not truncated


def _basename(path: str) -> str:
    return re.split(r"[\\/]", path)[-1]


def _parse_when(match: re.Match[str]) -> datetime | None:
    """``When:`` is M/D/YYYY; a first number above 12 can only be a day (D/M/Y), four digits first Y-M-D."""
    a, b, c = int(match["d"]), int(match["m"]), int(match["y"])
    if len(match["d"]) == 4:
        year, month, day = a, b, c
    elif a > 12 >= b:
        year, month, day = c, b, a
    else:
        year, month, day = c, a, b
    if year < 100:
        year += 2000 if year < 70 else 1900
    try:
        when = datetime(year, month, day, int(match["H"]), int(match["M"]), int(match["S"]))  # noqa: DTZ001
    except ValueError:
        return None
    return when if in_range(when) else None  # ``When: 9999/12/31``: malformed, not a time (timerange.py)


def _image(app: str) -> str:
    """The program's file name; NT4 names the image's symbol file (``exe\\inetinfo.dbg``) instead."""
    name = _basename(app)
    return name[:-4] + ".exe" if name.lower().endswith(".dbg") else name


def _fault_module(e: _Entry) -> tuple[str | None, str]:
    """The faulting module's file name, and how it was found."""
    stems = {_basename(p).rsplit(".", 1)[0].lower(): _basename(p) for _, _, p in e.modules}
    func = e.fault_function
    if func and "!" in func and not func.startswith("<"):
        stem = func.split("!", 1)[0].strip()
        return stems.get(stem.lower(), stem), "function"
    if e.fault_address is not None:
        for base, end, path in e.modules:
            if base <= e.fault_address < end:
                return _basename(path), "module list"
    if e.frame_module:
        return stems.get(e.frame_module.lower(), e.frame_module), "stack back trace"
    return None, ""


def _event(e: _Entry, app: str, when: datetime, artifact: str, tz: TimeZoneFacts | None) -> LogEvent:
    module, how = _fault_module(e)
    details: list[tuple[str, str]] = [("app", e.app or ""), ("pid", e.pid or "")]
    if e.code:
        details.append(("exception_code", e.code.lower()))
    if e.code_text:
        details.append(("exception", e.code_text))
    if module:
        details += [("fault_module", module), ("fault_module_from", how)]
    if e.fault_address is not None:
        details.append(("fault_address", f"0x{e.fault_address:08x}"))
    if e.fault_function:
        details.append(("fault_function", e.fault_function))
    details += [(k, v) for k, v in e.info.items() if v]
    details.append(("local_time", e.when_text or ""))
    if not e.ended:
        details.append(("truncated", "entry ends before its stack back trace"))
    return LogEvent(
        log="drwatson",
        what="crash",
        at=local_to_utc(when, tz),
        precision="second",
        subject=_image(app),
        text=" ".join(e.header),
        details=tuple((k, v) for k, v in details if v),
        source=Provenance(artifact, f"line {e.line}", zone_note(tz)),
        clock=zone_clock(tz),
    )


def _line(e: _Entry, text: str) -> None:
    """Feed one line of the current entry to it."""
    s = text.strip()
    if e.section == "header":
        if (m := _APP.match(text)) and e.app is None:
            e.app, e.pid = m["app"], m["pid"]
            e.header.append(s)
        elif (m := _WHEN.match(text)) and e.when_text is None:
            e.when_text = s.split(":", 1)[1].strip()
            e.when = _parse_when(m)
            e.header.append(s)
        elif (m := _EXC.match(text)) and e.code is None:
            e.code, e.code_text = m["code"], (m["text"] or "").strip() or None
            e.header.append(s)
    if s.startswith("*---->") or s.startswith("State Dump for Thread"):
        title = s.strip("*-<> ").lower()
        e.section = ("sysinfo" if title.startswith("system information") else
                     "modules" if title.startswith("module list") else
                     "thread" if title.startswith("state dump") else
                     "stack" if title.startswith("stack back trace") else
                     "raw" if title.startswith("raw stack") else "other")
        if e.section == "thread":
            e.function = None
        if e.section in ("stack", "raw"):
            e.ended = True
        return
    if e.section == "sysinfo":
        key, sep, value = s.partition(":")
        if sep and key.lower() in _SYSINFO:
            e.info[_SYSINFO[key.lower()]] = value.strip()[:200]
    elif e.section == "modules":
        if (m := _MODULE.match(s)) and len(e.modules) < MAX_MODULES:
            e.modules.append((int(m["b"], 16), int(m["e"], 16), m["path"]))
    elif e.section == "thread":
        if s.lower().startswith("function:"):
            e.function = s.split(":", 1)[1].strip()
        elif (m := _FAULT.match(s)) and e.fault_address is None:
            e.fault_address = int(m["addr"], 16)
            e.fault_function = e.function
    elif e.section == "stack" and e.fault_address is not None and e.frame_module is None:
        if m := _FRAME.match(s):
            e.frame_module = m["func"]


def _entries(n: int) -> str:
    return f"{n} Dr. Watson entr{'y' if n == 1 else 'ies'}"


def parse_drwatson(
    lines: Iterable[str], artifact: str, tz: TimeZoneFacts | None
) -> tuple[list[LogEvent], list[Gap]]:
    """One ``crash`` LogEvent per entry of a drwtsn32.log (lines consumed once, line ends optional).

    An entry without a readable ``App:`` or ``When:`` line is malformed: counted in a gap, not returned.
    An entry cut short (the last one, when the server died while Dr. Watson wrote) is returned with a
    ``truncated`` detail and a gap. Only the current entry is held in memory.
    """
    events: list[LogEvent] = []
    malformed: list[int] = []
    truncated: list[int] = []
    current: _Entry | None = None
    nul_lines = 0

    def finish(e: _Entry | None) -> None:
        if e is None:
            return
        if e.app is None or e.when is None:
            malformed.append(e.line)
        elif len(events) < MAX_EVENTS:
            events.append(_event(e, e.app, e.when, artifact, tz))
            if not e.ended:
                truncated.append(e.line)

    number = 0
    for number, raw in enumerate(lines, 1):
        text = raw.rstrip("\r\n")
        if "\x00" in text:
            nul_lines += 1
            text = text.replace("\x00", "")
        if text.strip() == _START:
            finish(current)
            current = _Entry(number)
        elif current is not None:
            _line(current, text)
    finish(current)
    gaps = []
    if malformed:
        first = Provenance(artifact, f"line {malformed[0]}")
        gaps.append(Gap(artifact, f"{_entries(len(malformed))} skipped as malformed (no readable App or When "
                        f"line; first: line {malformed[0]})", (first,)))
    if truncated:
        gaps.append(Gap(artifact, f"{_entries(len(truncated))} cut short before the stack back trace "
                        f"(first: line {truncated[0]})", (Provenance(artifact, f"line {truncated[0]}"),)))
    if nul_lines:
        gaps.append(Gap(artifact, f"{nul_lines} line(s) with NUL bytes (crash padding) ignored",
                        (Provenance(artifact),)))
    if len(events) >= MAX_EVENTS:
        gaps.append(Gap(artifact, f"only the first {MAX_EVENTS} crashes kept", (Provenance(artifact),)))
    return events, gaps


def read_drwatson(fs: Any, windows_dir: str, tz: TimeZoneFacts | None) -> tuple[list[LogEvent], list[Gap]]:
    """Crash events from every Dr. Watson log location that exists on the system volume (NT4, 2000, XP/2003).

    No log at all is not a gap: Dr. Watson writes nothing until a program crashes (and Vista+ has WER).
    """
    events: list[LogEvent] = []
    gaps: list[Gap] = []
    seen: set[str] = set()
    for pattern in DRWATSON_LOGS:
        path = pattern.format(windir=windows_dir)
        entry = lookup(fs, path)
        if entry is None:
            continue
        try:
            if not entry.is_file():
                continue
        except READ_ERRORS:
            continue
        artifact = windows_path(entry) or path
        if artifact.lower() in seen:
            continue
        seen.add(artifact.lower())
        try:
            with entry.open("rb") as fh:
                found, more = parse_drwatson((line.text for line in read_lines(fh)), artifact, tz)
        except READ_ERRORS as exc:
            gaps.append(Gap(artifact, f"unreadable: {exc or type(exc).__name__}", (Provenance(artifact),)))
            continue
        events += found
        gaps += more
    return events, gaps

