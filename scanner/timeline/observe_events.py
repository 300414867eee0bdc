"""Event records -> observations, by what ``profiles/events/*.toml`` says each record means.

Interpretation lands in typed fields (issue 13), read from where the profile says it is:

- Installs: every KB/Q id a record attests is one observation keyed by that id, with ``update_ids`` set.
  With ``titles`` the ids come from the title (list) that insertion string holds: Windows Update Agent
  event 22 stores ``['15', '\\n- Update for Windows XP (KB898461)\\n- Microsoft Windows Installer 3.1']``, a
  restart countdown and a list, so it attests KB898461 and nothing called "15". Otherwise ``subject`` names
  the update (NtServicePack 4377 ``KB893803v2`` -> KB893803, the package name kept as detail).
- A title or package naming no KB/Q id is a *titled install* only when it is a name (it has a letter:
  "Microsoft Windows Installer 3.1", "WgaNotify"): one ``component-install`` observation keyed by that name
  with no ``update_ids``, so nothing treats it as an update id. A bare number or an empty string attests
  nothing.
- Boots carry ``sp_level`` from the profile's ``sp`` string (6009's CSDVersion): its number, 0 when the string
  is empty (RTM), None when the record lacks it or names no number.
- Failures carry their component (profile ``component``) and the profile's ``details``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime

from scanner.knowledge.events import EventCatalog, EventMeaning
from scanner.model import EventRecord, EventRef, Precision, TimelineSource, TimeZoneFacts
from scanner.model.localtime import local_to_utc
from scanner.model.update_ids import (
    is_named,
    is_title_list,
    normalise_update_id,
    package_suffix,
    sp_number,
    title_update_ids,
    titles_in,
)
from scanner.timeline.observe import Observation, update_key

#: Install-family roles and the observation role each becomes (see fuse.py).
_INSTALL_ROLES = {
    "install": "end",
    "install-start": "start",
    "install-failed": "install-failed",
    "reboot-required": "reboot-required",
    "uninstall": "uninstall",
    "package-start": "start",
    "package-state": "end",
}
#: Bidirectional marks Windows puts inside localized dates and times (NT6 6008: '\u200e8/\u200e25/...').
_MARKS = re.compile("[\u200e\u200f\u202a-\u202e]")


def from_events(
    records: Iterable[EventRecord], catalog: EventCatalog, tz: TimeZoneFacts | None, hostname: str
) -> Iterator[Observation]:
    """Event records the catalog explains, by role (module docstring)."""
    for record in records:
        meaning = catalog.explain(record)
        if meaning is None or meaning.role == "scheduled":
            continue
        yield from _observe(record, meaning, tz, hostname)


def _unmarked(record: EventRecord) -> EventRecord:
    """The record with the direction marks of its insertion strings and named values removed: they are
    layout (Windows writes them around dates and names), not text, so a summary filled from them leaves them
    out."""
    strings = tuple(_MARKS.sub("", value) for value in record.strings)
    data = tuple((name, _MARKS.sub("", value)) for name, value in record.data)
    if (strings, data) == (record.strings, record.data):
        return record
    return replace(record, strings=strings, data=data)


def _observe(
    record: EventRecord, meaning: EventMeaning, tz: TimeZoneFacts | None, hostname: str
) -> Iterator[Observation]:
    text = meaning.render(meaning.summary, _unmarked(record))
    stale = " (past the stale header)" if record.past_stale_header else ""
    says = f"{record.provider} {record.event_id}: {text}{stale}"
    ref = EventRef(record.log, record.provider, record.event_id, record.record_number)
    source = TimelineSource("event", record.at, "second", says, record.source, event=ref)
    details = (("event", f"{record.log}/{record.provider}/{record.event_id}"), *_details(meaning, record))
    role = meaning.role
    if role in _INSTALL_ROLES:
        yield from _installs(record, meaning, source, text, details)
    elif role in ("boot", "boot-logged"):
        subject = meaning.render(meaning.subject, record) if meaning.subject else ""
        yield Observation(
            "boot",
            hostname,
            "reboot",
            record.at,
            "second",
            source,
            role="start" if role == "boot" else "attest",
            subject=hostname,
            summary=text,
            details=details + ((("os", subject),) if subject.strip() else ()),
            sp_level=_sp_level(meaning, record),
            os_name=subject if subject.strip() else "",
        )
    elif role == "shutdown":
        yield Observation(
            "shutdown",
            hostname,
            "reboot",
            record.at,
            "second",
            source,
            subject=hostname,
            summary=text,
            details=details,
        )
    elif role == "unexpected-shutdown":
        at, precision, note = shutdown_time(record, tz)
        yield Observation(
            "unexpected-shutdown",
            hostname,
            "unexpected-shutdown",
            at,
            precision,
            TimelineSource("event", record.at, "second", says + note, record.source, event=ref),
            subject=hostname,
            summary=text,
            details=details,
            local_clock=True,
        )
    elif role == "failure":
        subject = meaning.render(meaning.subject, record) if meaning.subject else ""
        yield Observation(
            "crash" if meaning.kind == "crash" else "failure",
            subject.lower(),
            meaning.kind,
            record.at,
            "second",
            source,
            subject=subject,
            summary=text,
            details=details + ((("component", meaning.component),) if meaning.component else ()),
            component=meaning.component,
        )


def _details(meaning: EventMeaning, record: EventRecord) -> tuple[tuple[str, str], ...]:
    """The profile's detail values present in the record (for people; decisions read typed fields)."""
    out = []
    for name, template in meaning.details:
        value = meaning.value(template, record)
        if value is not None and value.strip() and value.strip() != "0x":
            out.append((name, _MARKS.sub("", value).strip()))
    return tuple(out)


def _installs(
    record: EventRecord,
    meaning: EventMeaning,
    source: TimelineSource,
    text: str,
    details: tuple[tuple[str, str], ...],
) -> Iterator[Observation]:
    """One observation per update id the record attests; a titled install for a named title without one."""
    role = _INSTALL_ROLES[meaning.role]
    listed = False
    if meaning.titles:
        value = meaning.value(meaning.titles, record) or ""
        listed = is_title_list(value)
        named = [(title, title_update_ids(title)) for title in titles_in(value)]
    else:
        subject = meaning.value(meaning.subject, record) or ""
        named = [(subject.strip(), _subject_ids(subject))]
    for title, ids in named:
        if ids:
            for update_id in ids:
                yield _install(meaning, record, source, role, update_id, title, text, details, (update_id,))
        elif (sp := update_key(title)) and sp.startswith("SP"):
            yield _install(meaning, record, source, role, sp, title, text, details, (), sp_number(title))
        elif is_named(title) and not listed:
            # A titled install comes only from a record naming one update (19/20/23/24/43, 4377): in a list
            # (21/22) the last title may be cut ("Securi") and the record that installed it names it alone.
            titled = details + (("titled", "no update id"),)
            yield _install(meaning, record, source, role, title, title, text, titled, ())


def _subject_ids(subject: str) -> tuple[str, ...]:
    found = normalise_update_id(subject)
    return (found,) if found else ()


def _install(
    meaning: EventMeaning,
    record: EventRecord,
    source: TimelineSource,
    role: str,
    key: str,
    title: str,
    text: str,
    details: tuple[tuple[str, str], ...],
    update_ids: tuple[str, ...],
    sp_level: int | None = None,
) -> Observation:
    extra: tuple[tuple[str, str], ...] = ()
    if title != key:
        extra += (("title", title),)
    if update_ids and (suffix := package_suffix(title)):
        extra += (("package_suffix", suffix),)
    # A titled install (a named program or component, no KB and no SP number: "Microsoft Windows Installer
    # 3.1", "WgaNotify") is a component install, so no entry of an update kind is named by anything but an id.
    kind = meaning.kind if update_ids or sp_level is not None else "component-install"
    return Observation(
        "install",
        key,
        kind,
        record.at,
        "second",
        source,
        role=role,
        subject=key,
        summary=text,
        details=details + extra,
        update_ids=update_ids,
        sp_level=sp_level,
    )


def _sp_level(meaning: EventMeaning, record: EventRecord) -> int | None:
    """6009's service pack: its number, 0 for an empty CSDVersion (RTM), None when absent or unreadable."""
    if not meaning.sp:
        return None
    value = meaning.value(meaning.sp, record)
    if value is None:
        return None
    if not _MARKS.sub("", value).strip():
        return 0
    return sp_number(value)


def shutdown_time(record: EventRecord, tz: TimeZoneFacts | None) -> tuple[datetime, Precision, str]:
    """6008 names the unexpected shutdown's local time (%1) and date (%2); else the record's own time.

    NT6 writes the date with left-to-right marks between its parts (real 2008 R2:
    ``'\u200e8/\u200e25/...'``), so every bidirectional mark is removed, not only those at the ends.
    """
    if len(record.strings) >= 2:
        clock = _MARKS.sub("", record.strings[0]).strip()
        date = _MARKS.sub("", record.strings[1]).strip()
        for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M:%S"):
            try:
                local = datetime.strptime(f"{date} {clock}", fmt)  # noqa: DTZ007 - local wall-clock, zoned below
            except ValueError:
                continue
            return local_to_utc(local, tz), "second", f" [shutdown time {date} {clock} local]"
    return record.at, "second", " [shutdown time not readable; record time used]"
