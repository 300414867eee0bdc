"""update.exe package logs (``%windir%\\KBnnnnnn.log``, ``Qnnnnnn.log``) and ``%windir%\\svcpack.log``.

Reference §4.2: every line is ``<seconds since update.exe started>: <text>``, the seconds with three decimals
and the *user-locale* decimal separator (``1448.406:`` en-US, ``1,297:`` German/Dutch). Only the session
header gives wall-clock time. Its exact shape is unconfirmed (the Package Installer paper, Appendix D, as
the fixture factory remembers it): a rule of ``=`` then ``yyyy/mm/dd hh:mm:ss.mmm (local)``, both behind the
same few-tick offset. We accept that line with or without ``(local)`` and milliseconds, with ``-`` for
``/``, and the bracketed ``[yyyy/mm/dd hh:mm:ss]`` stamp other Windows setup logs (setupapi.log sections)
write, with or without the offset prefix. update.exe appends: every header starts a new session and restarts
the clock; a clock that goes backwards without a header starts an undated session (``at`` None).

Events (``log`` = ``update.exe`` or ``svcpack``), all precision "second" (the header has whole seconds; the
relative milliseconds only order the lines): ``install-start`` (header; subject = ``KB973917``/``Q811114``
from the file name, or for svcpack.log the product of the ``(De)Registering the Uninstall Program ->`` line),
``install-end`` (last line of the session; ``result`` success | failed | incomplete - incomplete = failed
after replacing files, as KB2009746's SP2 install, or no exit-code line at all), ``file-replaced``
(``Copied file:``), ``file-not-replaced``, ``error`` (``did not complete``, ``failed:STR_...`` such as
STR_CATALOG_INSTALL_FAILED, catalog failures, a non-zero ``extended error code`` - codes in KB906602),
``reboot-required`` (``RebootNecessary = 1``) and ``uninstall-registered``.

Typed (issue 13): every event of a session carries ``sp_level`` when the session names its service pack's
number, and the ``install-end`` carries an :class:`~scanner.model.InstallOutcome` (result, files replaced,
files left behind with a typed reason, reboot required, return code, extended error). Which line shapes are
confirmed by a public sample and which are ours is said beside each pattern below.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import BinaryIO

from scanner.collectors.logs import Line, LogParse, Tally, event, update_id, wall_clock
from scanner.collectors.logs.leftbehind import left_behind, parse_code
from scanner.model import FileLeftBehind, InstallOutcome, TimeZoneFacts
from scanner.model.localtime import local_to_utc, utc_to_local, zone_clock, zone_note
from scanner.model.timerange import shifted
from scanner.model.update_ids import sp_number

_OFFSET = re.compile(r"^\s*(\d{1,9})(?:[.,](\d{1,3}))?:(?:\s(.*)|$)")
_RULE = re.compile(r"^={20,}\s*$")
_STAMP = re.compile(
    r"^\[?(\d{4})[/-](\d{1,2})[/-](\d{1,2})[ T]+(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d{1,3}))?\]?"
    r"(?:\s*\(local\))?\s*$", re.IGNORECASE)
_COPIED = re.compile(r"^Copied file:\s+(.+?)(?:\s+\(?(?:version\s*)?(\d+(?:\.\d+){3})\)?)?\s*$",
                     re.IGNORECASE)
_NOT_COPIED = re.compile(
    r"^(?:did not copy|not copying|not copied|skipped|skipping|failed to copy|unable to copy|could not copy"
    r"|file not replaced)\b", re.IGNORECASE)
_PATH = re.compile(r"[A-Za-z]:\\[^\s,;\"']+")
_VERSION = re.compile(r"\b(\d+\.\d+\.\d+\.\d+)\b")
_NOT_COMPLETE = re.compile(r"installation did not complete", re.IGNORECASE)
_STR_FAILED = re.compile(r"failed:\s*(STR_\w+)")
_CATALOG = re.compile(r"MyInstallCatalog failed for (\S+?);?\s+error=(0x[0-9a-fA-F]+)")
# Confirmed (technicalpath.blogspot.com "The Case of Windows 2003 SP2 Installation Failure", svcpack.log;
# the KB979309 post in the fixture factory's notes): "Update.exe extended error code = 0xf00d" and
# "Update.exe return code was masked to 0x643 for MSI custom action compliance.".
_EXTENDED = re.compile(r"extended (?:error|return) code\s*=\s*(0x[0-9a-fA-F]+|-?\d+)", re.IGNORECASE)
_MASKED = re.compile(r"return code was masked to (0x[0-9a-fA-F]+|\d+)", re.IGNORECASE)
# Ours (unconfirmed): a plain "Return Code = 0" line, read so a masked 0 is kept beside the extended code.
_RETURN = re.compile(r"\breturn code\s*=\s*(0x[0-9a-fA-F]+|-?\d+)", re.IGNORECASE)
# Confirmed: "Service Pack 2 Setup canceled." (svcpack.log, same post) and "KB928843 Setup encountered an
# error: The update.ver file is not correct." (KB928843.log, tutorials-win.com): "<package> Setup <what>".
_SETUP = re.compile(r"^(.{1,80}?)\s+Setup\s+(canceled|cancelled|encountered an error)\b", re.IGNORECASE)
# Ours: the banner update.exe prints on the header's command-line line ("Service Pack started with ...")
# and any "<name> Setup" line naming an SP number ("Windows XP Service Pack 2 Setup ...").
_BANNER = re.compile(r"^(.{1,80}?)\s+(?:Setup\b|started with following command line)", re.IGNORECASE)
_MESSAGE = re.compile(r"^Message displayed to the user: (.*)$")
_REBOOT = re.compile(r"RebootNecessary\s*=\s*1\b")
_PAIRS = re.compile(r"(\w+)\s*=\s*(\d+)")
_UNINSTALL = re.compile(r"^(De)?Registering the Uninstall Program -> (.+?)(?:,\s*(\d+))?\s*$", re.IGNORECASE)


@dataclass
class _Pending:
    what: str
    line: Line
    at: datetime | None
    details: dict[str, str]
    subject: str | None = None  # None: the session's subject


@dataclass
class _Session:
    """One update.exe run: its anchor (header time) and what its lines said, until the next header."""

    anchor_utc: datetime | None = None
    anchor_offset: int = 0  # milliseconds, as printed on the header
    last_offset: int = 0
    last_line: Line | None = None
    last_at: datetime | None = None
    last_local: str = ""
    pending: list[_Pending] = field(default_factory=list)
    product: str | None = None
    copied: int = 0
    failed: bool = False
    exit_code: str | None = None
    masked: str | None = None
    message: str | None = None
    content: bool = False  # a line other than the header was seen
    sp_level: int | None = None  # the SP number a banner line of this session names
    cancelled: bool = False
    reboot: bool = False
    return_code: int | None = None
    left: list[FileLeftBehind] = field(default_factory=list)


def _millis(m: re.Match[str]) -> int:
    """``1448.406`` / ``1,297`` -> milliseconds (integers, so no float noise reaches the times)."""
    return int(m.group(1)) * 1000 + (int(m.group(2).ljust(3, "0")) if m.group(2) else 0)


def _fmt_local(local: datetime) -> str:
    return local.strftime("%Y/%m/%d %H:%M:%S") + f".{local.microsecond // 1000:03d}"


class _Parser:
    def __init__(self, artifact: str, tz: TimeZoneFacts | None, max_events: int | None) -> None:
        self.artifact = artifact
        self.tz = tz
        name = artifact.replace("/", "\\").rsplit("\\", 1)[-1]
        self.svcpack = name.lower() == "svcpack.log"
        self.log = "svcpack" if self.svcpack else "update.exe"
        self.package = None if self.svcpack else (update_id(name) or name.rsplit(".", 1)[0])
        self.package_id = None if self.svcpack else update_id(name)  # typed: the KB/Q id the log is named for
        self.tally = Tally(artifact) if max_events is None else Tally(artifact, max_events)
        self.session = _Session()

    def keep(self, what: str, line: Line, at: datetime | None, details: dict[str, str],
             subject: str | None = None) -> None:
        if len(self.session.pending) < self.tally.max_events:
            self.session.pending.append(_Pending(what, line, at, details, subject))
        else:
            self.tally.dropped += 1

    def close(self) -> None:
        """Emit the session's events under its subject, ending with its install-end, and start afresh."""
        s = self.session
        outcome: InstallOutcome | None = None
        if s.last_line is not None and s.content:
            if s.exit_code is None:
                result, why = "incomplete", "no exit-code line (run interrupted or log truncated)"
            elif s.failed:
                result = "incomplete" if s.copied else "failed"
                why = f"failed after replacing {s.copied} file(s)" if s.copied else ""
            else:
                result, why = "success", ""
            outcome = self.outcome(s)
            self.keep("install-end", s.last_line, s.last_at, {
                "result": result, "reason": why, "code": s.exit_code or "", "return_code": s.masked or "",
                "files_replaced": str(s.copied), "message": s.message or "", "local_time": s.last_local})
        subject = self.package or s.product or "Service Pack"
        for p in s.pending:
            note = zone_note(self.tz) if p.at is not None else "no readable session header: time unknown"
            found = event(self.log, p.what, p.at, p.subject or subject, p.line, self.artifact, p.details,
                          note, zone_clock(self.tz) if p.at is not None else "utc")
            found = replace(found, sp_level=s.sp_level,
                            outcome=outcome if p.what == "install-end" else None, update_id=self.package_id)
            self.tally.add(found)
        self.session = _Session()

    @staticmethod
    def outcome(s: _Session) -> InstallOutcome:
        """The session's typed outcome (see :class:`~scanner.model.InstallOutcome`).

        A non-zero extended error fails the run even when the return code was masked (to 0 or 0x643); a
        run that stopped after replacing files without an exit-code line is ``partial``; files left behind
        for any reason but an in-use file queued for the next boot make a successful run ``partial``.
        """
        blocking = [f for f in s.left if f.reason != "in-use-delayed"]
        if s.cancelled:
            result = "cancelled"
        elif s.failed:
            result = "partial" if s.copied or s.left else "failed"
        elif s.exit_code is None:
            result = "partial" if s.copied else "unknown"
        else:
            result = "partial" if blocking else "success"
        delayed = any(f.reason == "in-use-delayed" for f in s.left)
        return InstallOutcome(
            result=result,
            files_replaced=s.copied,
            left_behind=tuple(s.left),
            reboot_required=True if (s.reboot or delayed) else None,
            return_code=s.return_code,
            extended_error=parse_code(s.exit_code) if s.exit_code else None,
        )

    def header(self, line: Line, stamp: re.Match[str], offset: int | None) -> bool:
        """Start a session at a header line; False when its date is impossible (a malformed line)."""
        f = [int(g) for g in stamp.groups()[:6]]
        ms = int((stamp.group(7) or "0").ljust(3, "0"))
        local = wall_clock(f[0], f[1], f[2], f[3], f[4], f[5], ms * 1000)
        if local is None:
            return False
        if self.session.anchor_utc is not None or self.session.content:
            self.close()
        s = self.session
        s.last_line, s.anchor_offset, s.last_offset = line, offset or 0, offset or 0
        s.anchor_utc = local_to_utc(local, self.tz)
        s.last_at, s.last_local = s.anchor_utc, _fmt_local(local)
        text = line.raw.split(":", 1)[1].strip() if offset is not None else line.raw.strip()
        self.keep("install-start", line, s.anchor_utc, {"local_time": text})
        return True

    def content(self, line: Line, offset: int, text: str) -> None:
        s = self.session
        if s.last_line is not None and offset < s.last_offset:
            self.close()  # the clock restarted without a readable header: a new, undated session
            s = self.session
        s.last_line, s.last_offset, s.content = line, offset, True
        at, local = None, ""
        if s.anchor_utc is not None:
            delta = timedelta(milliseconds=offset - s.anchor_offset)
            # elapsed time, so a DST change mid-run is crossed correctly; a hostile offset past datetime's
            # range leaves the line undated (timerange.py)
            at = shifted(s.anchor_utc, delta)
            local = _fmt_local(utc_to_local(at, self.tz)) if at is not None else ""
        s.last_at, s.last_local = at, local
        base = {"local_time": local, "offset": line.raw.split(":", 1)[0].strip()}
        self.classify(line, text, at, base)

    def classify(self, line: Line, text: str, at: datetime | None, base: dict[str, str]) -> None:
        s = self.session
        if (m := _BANNER.match(text)) and (n := sp_number(m.group(1))) is not None:
            s.sp_level = s.sp_level if s.sp_level is not None else n
        if m := _COPIED.match(text):
            s.copied += 1
            path = m.group(1)
            self.keep("file-replaced", line, at, {**base, "version": m.group(2) or "",
                                                  "volume_path": _volume_path(path)}, subject=path)
        elif (left := left_behind(text)) is not None:
            if len(s.left) < self.tally.max_events:
                s.left.append(left)
            v = _VERSION.search(text)
            if left.reason != "in-use-delayed":
                s.failed = s.failed or left.reason in ("copy-failed", "move-failed")
            self.keep("file-not-replaced", line, at, {
                **base, "version": v.group(1) if v else "", "reason": left.reason,
                "code": f"0x{left.code:x}" if left.code is not None else "",
                "volume_path": _volume_path(left.path)}, subject=left.path)
        elif _NOT_COPIED.match(text) and (p := _PATH.search(text)):
            v = _VERSION.search(text[p.end():])
            if len(s.left) < self.tally.max_events:
                s.left.append(FileLeftBehind(p.group(0), "not-replaced"))
            self.keep("file-not-replaced", line, at, {**base, "version": v.group(1) if v else "",
                                                      "reason": "not-replaced",
                                                      "volume_path": _volume_path(p.group(0))},
                      subject=p.group(0))
        elif m := _SETUP.match(text):
            s.failed = True
            s.cancelled = s.cancelled or m.group(2).lower().startswith("cancel")
            self.keep("error", line, at, {**base, "message": f"setup {m.group(2).lower()}"})
        elif _NOT_COMPLETE.search(text):
            s.failed = True
            self.keep("error", line, at, {**base, "message": "installation did not complete"})
        elif m := _STR_FAILED.search(text):
            s.failed = True
            self.keep("error", line, at, {**base, "message": m.group(1)})
        elif m := _CATALOG.search(text):
            s.failed = True
            self.keep("error", line, at, {**base, "message": "catalog install failed", "catalog": m.group(1),
                                          "code": m.group(2).lower()})
        elif m := _EXTENDED.search(text):
            code = m.group(1).lower()
            s.exit_code = code
            if parse_code(code) != 0:
                s.failed = True
                self.keep("error", line, at, {**base, "message": "extended error code", "code": code})
        elif m := _MASKED.search(text):
            s.masked = m.group(1).lower()
            s.return_code = parse_code(s.masked)
        elif m := _RETURN.search(text):
            s.return_code = parse_code(m.group(1))
        elif m := _MESSAGE.match(text):
            s.message = m.group(1).strip()
        elif _REBOOT.search(text):
            s.reboot = True
            pairs = {k.lower(): v for k, v in _PAIRS.findall(text)}
            self.keep("reboot-required", line, at, {**base, "dont_reboot": pairs.get("dontreboot", ""),
                                                    "force_restart": pairs.get("forcerestart", "")})
        elif m := _UNINSTALL.match(text):
            s.product = m.group(2).strip()
            if s.sp_level is None:
                s.sp_level = sp_number(s.product)
            self.keep("uninstall-registered", line, at, {
                **base, "action": "deregister" if m.group(1) else "register", "product": s.product},
                subject=s.product if self.svcpack else None)


def _volume_path(path: str) -> str:
    """``WINDOWS\\system32\\x.dll`` from ``C:\\WINDOWS\\system32\\x.dll`` (the form artefact paths use)."""
    return path[3:] if re.match(r"^[A-Za-z]:\\", path) else path


def parse_updateexe(source: BinaryIO | Iterable[str], artifact: str, tz: TimeZoneFacts | None, *,
                    max_events: int | None = None) -> LogParse:
    """Parse one update.exe log (``KB*.log``, ``Q*.log``) or ``svcpack.log``; see the module docstring.

    Args:
        source: the file opened ``rb`` (encoding detected) or its decoded lines.
        artifact: the volume-relative path, e.g. ``WINDOWS\\KB973917.log`` (names the package and log kind).
        tz: the image's time zone (header times are local); None takes them as UTC.
        max_events: events kept (default :data:`~scanner.collectors.logs.MAX_EVENTS`).
    """
    p = _Parser(artifact, tz, max_events)
    for line in p.tally.readable(source):
        m = _OFFSET.match(line.raw)
        if m is None:
            stamp = _STAMP.match(line.raw.strip())
            if stamp is None or not p.header(line, stamp, None):
                p.tally.bad(line)
            continue
        text = (m.group(3) or "").strip()
        if _RULE.match(text):
            if p.session.anchor_utc is not None or p.session.content:
                p.close()
            p.session.last_line, p.session.last_offset = line, _millis(m)
        elif stamp := _STAMP.match(text):
            if not p.header(line, stamp, _millis(m)):
                p.tally.bad(line)
        else:
            p.content(line, _millis(m), text)
    p.close()
    return p.tally.result()
