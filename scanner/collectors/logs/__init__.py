"""Text-log collectors: installer, setup, crash and traffic logs (issue 4).

The servicing logs (this helper's part: :mod:`.updateexe`, :mod:`.setuplogs`, :mod:`.windowsupdate`,
:mod:`.cbs`) share what lives here: decoding a log's bytes into bounded lines, counting malformed lines, the
:class:`LogParse` result, and :func:`read_servicing_logs`, which finds the files below ``%windir%``.

Decoding and line length are the one bounded line reader's (:mod:`scanner.formats.lines`, which says why
each rule).

Malformed lines (NUL bytes - a dead server's log is often NUL-padded where the last write was lost - control
characters, binary garbage, lines longer than :data:`MAX_LINE_CHARS`, and lines without the timestamp the
format requires) are skipped and counted; the count becomes one :class:`~scanner.model.Gap` per file. Lines a
parser does not understand but which look like log lines are not malformed: they are simply not events.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, BinaryIO, NamedTuple, cast

from scanner.formats.lines import MAX_LINE
from scanner.formats.lines import read_lines as text_lines
from scanner.model import Clock, Gap, LogEvent, Provenance, TimeZoneFacts

#: Longest line kept (characters); a longer line is skipped as malformed (no real log line comes near it).
MAX_LINE_CHARS = MAX_LINE
#: Events kept per file; later ones are counted in a gap, never held in memory.
MAX_EVENTS = 20_000
#: Log files read per name pattern (a folder with more KB logs than this is hostile or broken).
MAX_FILES = 5_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")


class Line(NamedTuple):
    """One physical line: its 1-based number, its raw text without the line end, and what is wrong with it.

    ``raw`` is the artefact's own bytes decoded, the parsers' input; it is not text written for people (the
    ``text`` of a fact), so parsing it is the collector's job, not a decision read back from prose.
    """

    number: int
    raw: str
    problem: str | None  # None | "nul" | "control" | "overlong"


@dataclass(frozen=True)
class LogParse:
    """What one log file gave: its events (at most ``MAX_EVENTS``), line counts and gaps."""

    events: list[LogEvent]
    lines: int
    malformed: int
    first_malformed: int | None
    gaps: list[Gap] = field(default_factory=list)


def wall_clock(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime | None:
    """A naive local wall-clock reading (the zone is applied later), or None when the fields are invalid.

    Years outside 1980-2199 are refused too: no servicing log was written then, and a hostile year near
    datetime's limits would overflow when the zone's bias or an elapsed time is added.
    """
    if not 1980 <= y < 2200:
        return None
    try:
        return datetime(y, mo, d, h, mi, s, us, tzinfo=timezone.utc).replace(tzinfo=None)
    except ValueError:
        return None


def _check(number: int, text: str) -> Line:
    if "\x00" in text:
        return Line(number, text, "nul")
    if _CONTROL.search(text):
        return Line(number, text, "control")
    return Line(number, text, None)


def read_lines(source: BinaryIO | Iterable[str]) -> Iterator[Line]:
    """The lines of a binary log (the one bounded reader, :func:`scanner.formats.lines.read_lines`: encoding
    detected, see its docstring) or of already decoded lines, each checked for NUL and control characters.

    Memory is bounded by :data:`MAX_LINE_CHARS` plus one read chunk, whatever the file's size.
    """
    if hasattr(source, "read"):
        for raw in text_lines(cast(BinaryIO, source), max_line=MAX_LINE_CHARS):
            yield Line(raw.number, "", "overlong") if raw.overlong else _check(raw.number, raw.text)
        return
    number = 0
    for text in cast(Iterable[str], source):
        number += 1
        text = text.rstrip("\r\n")
        yield Line(number, "", "overlong") if len(text) > MAX_LINE_CHARS else _check(number, text)


class Tally:
    """Collects one file's events up to the cap and counts what was skipped, then builds the LogParse."""

    def __init__(self, artifact: str, max_events: int = MAX_EVENTS) -> None:
        self.artifact = artifact
        self.max_events = max_events
        self.events: list[LogEvent] = []
        self.lines = 0
        self.malformed = 0
        self.overlong = 0
        self.first_malformed: int | None = None
        self.dropped = 0

    def bad(self, line: Line) -> None:
        """Count a malformed line."""
        self.malformed += 1
        self.overlong += line.problem == "overlong"
        if self.first_malformed is None:
            self.first_malformed = line.number

    def readable(self, source: BinaryIO | Iterable[str]) -> Iterator[Line]:
        """The non-blank, well-formed lines of ``source``, counting every line and each malformed one."""
        for line in read_lines(source):
            self.lines += 1
            if line.problem:
                self.bad(line)
            elif line.raw.strip():
                yield line

    def add(self, event: LogEvent) -> None:
        if len(self.events) < self.max_events:
            self.events.append(event)
        else:
            self.dropped += 1

    def result(self, extra_gaps: Iterable[Gap] = ()) -> LogParse:
        gaps = list(extra_gaps)
        if self.malformed:
            longer = f", {self.overlong} longer than {MAX_LINE_CHARS} characters" if self.overlong else ""
            gaps.append(Gap(
                self.artifact,
                f"{self.malformed} malformed line(s) skipped (first: line {self.first_malformed}{longer})",
                (Provenance(self.artifact, f"line {self.first_malformed}"),),
            ))
        if self.dropped:
            reason = f"{self.dropped} further event(s) not kept (limit {self.max_events})"
            gaps.append(Gap(self.artifact, reason, (Provenance(self.artifact),)))
        return LogParse(self.events, self.lines, self.malformed, self.first_malformed, gaps)


def event(log: str, what: str, at: datetime | None, subject: str | None, line: Line, artifact: str,
          details: dict[str, str], note: str = "", clock: Clock = "utc") -> LogEvent:
    """A LogEvent located at ``line`` of ``artifact`` (precision "second" when timed)."""
    return LogEvent(
        log=log, what=what, at=at, precision="second" if at is not None else None, subject=subject,
        text=line.raw.strip(), details=tuple((k, v) for k, v in details.items() if v),
        source=Provenance(artifact, f"line {line.number}", note),
        # typed copies of what the parser itself extracted on file lines (issue 14: rules read these)
        file_path=details.get("volume_path", "").lower() or None, file_version=details.get("version") or None,
        clock=clock,
    )


def update_id(text: str) -> str | None:
    """``KB973917`` / ``Q811114`` from a file name, title or package identity (one definition:
    :func:`scanner.model.update_ids.normalise_update_id`)."""
    from scanner.model.update_ids import normalise_update_id

    return normalise_update_id(text)


def read_servicing_logs(
    fs: Any, windows_dir: str, tz: TimeZoneFacts | None
) -> tuple[list[LogEvent], list[Gap]]:
    """Every servicing text log below ``%windir%``, parsed: update.exe / svcpack, setup, WU and CBS logs.

    Files: ``KB*.log``, ``Q*.log``, ``svcpack.log`` (update.exe, reference §4.2), ``setupapi.log``,
    ``updspapi.log``, ``iis5.log``, ``iis6.log`` (component setup), ``WindowsUpdate.log`` (§4.3) and
    ``Logs\\CBS\\CBS.log`` with the ``CbsPersist_*.log`` beside it (§4.4). A missing log is no gap (most
    systems lack most of them); an unreadable one is.
    """
    # Imported here: the parser modules import this package's helpers above.
    from scanner.collectors.logs.cbs import parse_cbs
    from scanner.collectors.logs.setuplogs import parse_iis_setup, parse_setupapi
    from scanner.collectors.logs.updateexe import parse_updateexe
    from scanner.collectors.logs.windowsupdate import parse_windowsupdate
    from scanner.collectors.volume import READ_ERRORS, glob

    wd = windows_dir.strip("\\/")
    cbs_dir = f"{wd}\\Logs\\CBS"
    plan = [
        (wd, r"(KB|Q)\d+.*\.log", parse_updateexe),
        (wd, r"svcpack\.log", parse_updateexe),
        (wd, r"iis[56]\.log", parse_iis_setup),
        (wd, r"(setupapi|updspapi)\.log", parse_setupapi),
        (wd, r"WindowsUpdate\.log", parse_windowsupdate),
        (cbs_dir, r"CBS\.log|CbsPersist_\d+\.log", parse_cbs),
    ]
    events: list[LogEvent] = []
    gaps: list[Gap] = []
    for directory, pattern, parse in plan:
        for index, (path, entry) in enumerate(glob(fs, directory, pattern)):
            if index >= MAX_FILES:
                gaps.append(Gap(directory, f"more than {MAX_FILES} files match {pattern}; the rest not read"))
                break
            try:
                with entry.open("rb") as handle:
                    parsed = parse(handle, path, tz)
            except READ_ERRORS as exc:
                gaps.append(Gap(path, f"log unreadable: {exc or type(exc).__name__}", (Provenance(path),)))
                continue
            events += parsed.events
            gaps += parsed.gaps
    packed = [p for p, _ in glob(fs, cbs_dir, r"CbsPersist_\d+\.cab")]
    if packed:
        gaps.append(Gap(cbs_dir, f"{len(packed)} compressed CbsPersist_*.cab log(s) not read",
                        tuple(Provenance(p) for p in packed[:20])))
    if tz is None and events:
        gaps.append(Gap("servicing log times", "no TimeZoneInformation: local log times were taken as UTC"))
    return events, gaps
