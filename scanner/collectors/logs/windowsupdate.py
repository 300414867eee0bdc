"""``%windir%\\WindowsUpdate.log`` of the Windows Update Agent (XP to Windows 7 / 2008 R2).

Reference §4.3, KB902093: tab-separated ``Date Time PID TID Component Text``; the time is local with
milliseconds after a colon (``19:06:43:471``; KB902093's own sample has none, so they are optional). Every
process that loads the client writes a banner ``Logging initialized (build: 7.4.7600.226, tz: -0500)``: the
UTC offset its clock used. We prefer that offset to the registry's rule: for each line the banner nearest in
time is taken; where the rule gives that banner's offset at the banner's time we convert with the rule (so a
daylight-saving change between banner and line is followed); where it does not - the zone was changed since,
its rule differs, or the registry has none - we use the banner's offset and say so in the event's provenance
note and in a gap. ``REPORT EVENT`` lines carry their own stamp with an
offset (``2009-12-09 10:40:45:045-0500``); those are exact and used as they are.

Events (``log`` = ``windowsupdate``; precision "second"; subject = the ``KBnnnnnn`` of the update's title,
else the title): ``install-start`` for each ``Title =`` of an ``Agent: Installing updates`` block,
``download`` for each title of an ``Agent: Downloading updates`` block (details ``phase`` start) and for a
``Content Download`` report (phase end, ``result``), ``install-end`` for a ``Content Install`` report of
success or failure (``result``, ``code`` = HRESULT), ``reboot-required`` for ``Reboot required = true`` /
``reboot required = Yes`` lines and ``Restart Required`` reports, ``error`` for ``Install failed`` and
``FATAL:`` lines.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import BinaryIO

from scanner.collectors.logs import Line, LogParse, Tally, event, update_id, wall_clock
from scanner.model import Clock, Gap, Provenance, TimeZoneFacts
from scanner.model.localtime import local_to_utc, offset_minutes, zone_clock, zone_note
from scanner.model.timerange import shifted

_LINE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[\t ]+(\d{2}):(\d{2}):(\d{2})(?:[:.,](\d{1,3}))?[\t ]+(\d+)[\t ]+([0-9A-Fa-f]+)"
    r"[\t ]+([A-Za-z][\w]*)(?:[\t ](.*))?$")
_BANNER = re.compile(r"Logging initialized \(build: ([^,]*), tz: ([+-])(\d{2})(\d{2})\)")
_AGENT = re.compile(r"^\*\*\s+(START|END)\s+\*\*\s+Agent: (Installing|Downloading) updates"
                    r"(?: \[CallerId = ([^\]]*)\])?")
_TITLE = re.compile(r"^\*\s+Title = (.+)$")
_UPDATE_GUID = re.compile(r"^\*\s+UpdateId = \{([0-9A-Fa-f-]{36})\}")
_REBOOT = re.compile(r"reboot required\s*=\s*(?:yes|true)\b", re.IGNORECASE)
_FAILED = re.compile(r"\bInstall failed\b|\bFATAL:", re.IGNORECASE)
_CODE = re.compile(r"\b(0x[0-9A-Fa-f]{8})\b")
_STAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:[:.](\d{1,3}))?([+-])(\d{2})(\d{2})$")
_MAX_MAPPED = 10_000
_MAX_BANNERS = 50_000


@dataclass
class _Banner:
    line: int
    local: datetime
    east: int  # minutes east of UTC (tz: -0500 -> -300)
    text: str


def _tz_text(east: int) -> str:
    sign = "+" if east >= 0 else "-"
    return f"{sign}{abs(east) // 60:02d}{abs(east) % 60:02d}"


class _Parser:
    def __init__(self, artifact: str, tz: TimeZoneFacts | None, max_events: int | None) -> None:
        self.artifact = artifact
        self.tz = tz
        self.tally = Tally(artifact) if max_events is None else Tally(artifact, max_events)
        # (what, line, naive local or exact UTC, subject, details, exact): resolved at the end
        self.pending: list[tuple[str, Line, datetime, str | None, dict[str, str], bool]] = []
        self.banners: list[_Banner] = []
        self.stamps: list[datetime] = []
        self.blocks: dict[tuple[str, str], tuple[str, str]] = {}  # (pid, tid) -> (kind, caller)
        self.titles: dict[tuple[str, str], str] = {}  # (pid, tid) -> subject of the last title
        self.guids: dict[str, str] = {}  # update GUID -> subject
        self.last_install: str | None = None

    def keep(self, what: str, line: Line, when: datetime, subject: str | None, details: dict[str, str],
             exact: bool = False) -> None:
        if len(self.pending) < self.tally.max_events:
            self.pending.append((what, line, when, subject, details, exact))
        else:
            self.tally.dropped += 1

    def line(self, line: Line, local: datetime, pid: str, tid: str, component: str, text: str) -> None:
        key = (pid, tid)

        def base() -> dict[str, str]:  # built only for lines that become events
            stamp = local.strftime("%Y-%m-%d %H:%M:%S") + f":{local.microsecond // 1000:03d}"
            return {"local_time": stamp, "pid": pid, "component": component}

        if m := _BANNER.search(text):
            east = (-1 if m.group(2) == "-" else 1) * (int(m.group(3)) * 60 + int(m.group(4)))
            if len(self.banners) < _MAX_BANNERS:
                self.banners.append(_Banner(line.number, local, east, f"tz: {_tz_text(east)}"))
        elif m := _AGENT.match(text):
            if m.group(1) == "START" and len(self.blocks) < _MAX_MAPPED:
                self.blocks[key] = ("install" if m.group(2) == "Installing" else "download", m.group(3) or "")
            elif m.group(1) == "END":
                self.blocks.pop(key, None)
        elif (m := _TITLE.match(text)) and key in self.blocks:
            title = m.group(1).strip()
            subject = update_id(title) or title
            kind, caller = self.blocks[key]
            if len(self.titles) < _MAX_MAPPED or key in self.titles:
                self.titles[key] = subject
            details = {**base(), "title": title, "caller": caller}
            if kind == "install":
                self.last_install = subject
                self.keep("install-start", line, local, subject, details)
            else:
                self.keep("download", line, local, subject, {**details, "phase": "start"})
        elif (m := _UPDATE_GUID.match(text)) and key in self.titles and len(self.guids) < _MAX_MAPPED:
            self.guids[m.group(1).upper()] = self.titles[key]
        elif text.startswith("REPORT EVENT:"):
            self.report(line, text.split("\t"), base())
        elif _REBOOT.search(text):
            self.keep("reboot-required", line, local, self.last_install, base())
        elif _FAILED.search(text):
            code = _CODE.search(text)
            details = {**base(), "code": code.group(1) if code else ""}
            self.keep("error", line, local, self.last_install, details)

    def report(self, line: Line, cols: list[str], base: dict[str, str]) -> None:
        """``REPORT EVENT: {guid} <stamp+offset> 1 <id> 101 {update} <rev> <hresult> <caller> <status>
        <Content Install|Content Download> <text>`` (layout of a Windows 7 log, see the factory)."""
        if len(cols) < 12 or (m := _STAMP.match(cols[1].strip())) is None:
            return
        f = [int(g) for g in m.groups()[:6]]
        local = wall_clock(f[0], f[1], f[2], f[3], f[4], f[5], int((m.group(7) or "0").ljust(3, "0")) * 1000)
        if local is None:
            return
        east = (-1 if m.group(8) == "-" else 1) * (int(m.group(9)) * 60 + int(m.group(10)))
        shifted_at = shifted(local, -timedelta(minutes=east))  # None past datetime's range (timerange.py)
        if shifted_at is None:
            return
        at = shifted_at.replace(tzinfo=timezone.utc)
        number = re.match(r"\d+", cols[3].strip())
        event_id = number.group(0) if number else ""
        guid = cols[5].strip().strip("{}").upper()
        status, kind, text = cols[9].strip(), cols[10].strip(), "\t".join(cols[11:]).strip()
        subject = update_id(text) or self.guids.get(guid) or None
        hresult = cols[7].strip()
        details = {**base, "local_time": cols[1].strip(), "event_id": event_id, "update_guid": guid,
                   "caller": cols[8].strip(), "status": status, "message": text}
        failed = status.lower() == "failure" or text.startswith("Installation Failure") or event_id == "182"
        if kind == "Content Install":
            if text.startswith("Restart Required"):
                self.keep("reboot-required", line, at, subject, details, exact=True)
            elif failed or (status.lower() == "success" and (event_id == "183" or "Successful" in text)):
                code = "" if hresult in ("0", "") else hresult if hresult.startswith("0x") else f"0x{hresult}"
                result = "failed" if failed else "success"
                self.keep("install-end", line, at, subject, {**details, "result": result, "code": code},
                          exact=True)
        elif kind == "Content Download" and status.lower() in ("success", "failure"):
            self.keep("download", line, at, subject, {
                **details, "phase": "end", "result": "failed" if failed else "success"}, exact=True)

    def resolve(self) -> list[Gap]:
        """Turn the kept local times into UTC with the banner/rule policy of the module docstring."""
        disagreed: list[_Banner] = []
        self.banners.sort(key=lambda b: b.local)
        self.stamps = [b.local for b in self.banners]
        for what, line, when, subject, details, exact in self.pending:
            note = "stamped with its own UTC offset on the report line" if exact else zone_note(self.tz)
            clock: Clock = "utc" if exact else zone_clock(self.tz)
            at = when
            if not exact:
                banner = self._banner(when)
                at = local_to_utc(when, self.tz)
                if banner is not None:
                    rule = -offset_minutes(banner.local, self.tz) if self.tz is not None else None
                    where = f"the agent's banner ({banner.text}, line {banner.line})"
                    if rule == banner.east:
                        note += f"; agrees with {where}"
                        clock = "zone-confirmed"
                    else:
                        at = (when - timedelta(minutes=banner.east)).replace(tzinfo=timezone.utc)
                        said = (f"the registry rule gives {_tz_text(rule)}" if rule is not None
                                else "no registry time zone")
                        note = f"local time converted with the offset of {where}; {said}"
                        clock = "log-offset"
                        if banner not in disagreed:
                            disagreed.append(banner)
            self.tally.add(event("windowsupdate", what, at, subject, line, self.artifact, details, note,
                                 clock))
        why = "disagrees with the registry's time-zone rule at that time" if self.tz else "(no registry zone)"
        gaps = []
        for b in disagreed:
            reason = f"the agent banner offset {b.text} (line {b.line}) {why}; used for the lines it governs"
            gaps.append(Gap(self.artifact, reason, (Provenance(self.artifact, f"line {b.line}"),)))
        return gaps

    def _banner(self, local: datetime) -> _Banner | None:
        """The banner nearest in time: the offset the clock had then (process starts are frequent)."""
        i = bisect.bisect_left(self.stamps, local)
        near = self.banners[max(i - 1, 0):i + 1]
        return min(near, key=lambda b: abs(b.local - local)) if near else None


def parse_windowsupdate(source: BinaryIO | Iterable[str], artifact: str, tz: TimeZoneFacts | None, *,
                        max_events: int | None = None) -> LogParse:
    """Parse ``WindowsUpdate.log`` (see the module docstring); ``tz`` is the image's zone (may be None)."""
    p = _Parser(artifact, tz, max_events)
    for line in p.tally.readable(source):
        m = _LINE.match(line.raw)
        f = [int(g) for g in m.groups()[:6]] if m else []
        ms = int((m.group(7) or "0").ljust(3, "0")) * 1000 if m else 0
        local = wall_clock(f[0], f[1], f[2], f[3], f[4], f[5], ms) if m else None
        if m is None or local is None:
            p.tally.bad(line)
            continue
        p.line(line, local, m.group(8), m.group(9).lower(), m.group(10), (m.group(11) or "").strip())
    return p.tally.result(p.resolve())
