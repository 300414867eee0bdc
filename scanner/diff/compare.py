"""Compare two scan JSON documents at the level of a patch post-mortem: a pure function over two dicts.

Both sides are the ``scan`` JSON contract (``scan_to_dict``, ``schemas/scan.schema.json`` 1.x), so an image
scanned now and a scan saved last week go through the same code. What is compared, and how things are
matched (README "``diff``"):

- updates by id, case-insensitively (``kb973917`` is ``KB973917``): added, removed, state or install time
  changed;
- component files (``files[]`` and ``components[].files[]``) by path, case-insensitively: version or lab
  tag changed (old -> new), and which update did it — an update new (or changed) in AFTER whose recorded
  file list names the file (rule ``recorded-file``), else whose install time lies within
  :data:`FILE_WINDOW` of the file's new creation or modification time (rule ``install-time``; the
  window the rules use to tie a file to an install, ``profiles/windows.toml``, README "How the verdict is
  reached");
- files added / removed among the profiles' component files (``present`` flag and path set) — not among
  ``files[]`` alone, whose path set grows with each update's file list and would report files as "added"
  that were merely looked up for the first time;
- pending renames (source, destination), the SP level (``system.service_pack`` / ``csd_version``), the
  findings by rule + files, and the verdict (``diagnosis`` onset, trigger, latent cause): a changed verdict
  is the headline;
- the timeline is not diffed entry by entry (traffic and boots make that noise); only how many entries
  AFTER has that BEFORE lacks, by kind (an entry is its kind, subject and time).

Input is untrusted (a saved JSON may be edited): anything not shaped like the contract is skipped, never
raised on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from scanner.diff.model import (
    Attribution,
    FileChange,
    FileRef,
    FindingRef,
    RenameRef,
    ScanDiff,
    Side,
    UpdateChange,
    UpdateRef,
    Verdict,
)
from scanner.diff.wording import utc_text, with_headline
from scanner.knowledge.windows import FILE_WINDOW


def _items(data: Any, key: str) -> list[dict[str, Any]]:
    value = data.get(key) if isinstance(data, dict) else None
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _time(value: Any) -> datetime | None:
    """An ISO-8601 time from the JSON; naive or unparsable values are not times (no guessing)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _side(scan: dict[str, Any], label: str) -> Side:
    system, source = _dict(scan.get("system")), _dict(scan.get("source"))
    return Side(
        label=label,
        source=_text(source.get("path")),
        hostname=_text(system.get("hostname")),
        product=_text(system.get("product")),
        service_pack=_int(system.get("service_pack")),
        csd_version=_text(system.get("csd_version")),
    )


def _verdict(scan: dict[str, Any]) -> Verdict:
    diagnosis = _dict(scan.get("diagnosis"))
    return Verdict(
        failure_onset=_text(diagnosis.get("failure_onset")),
        trigger=_text(diagnosis.get("trigger")),
        latent_cause=_text(diagnosis.get("latent_cause")),
        summary=_text(diagnosis.get("summary")),
    )


def _updates(scan: dict[str, Any]) -> dict[str, tuple[UpdateRef, dict[str, Any]]]:
    found: dict[str, tuple[UpdateRef, dict[str, Any]]] = {}
    for raw in _items(scan, "updates"):
        ident = _text(raw.get("id"))
        if ident and ident.casefold() not in found:
            ref = UpdateRef(
                ident,
                _text(raw.get("kind")),
                _text(raw.get("state")),
                _text(raw.get("installed_at")),
                _text(raw.get("description")),
            )
            found[ident.casefold()] = (ref, raw)
    return found


def _files(scan: dict[str, Any]) -> tuple[dict[str, FileRef], dict[str, FileRef], set[str]]:
    """(present files by lower path, component files by lower path, paths of component files present)."""
    present: dict[str, FileRef] = {}
    for raw in _items(scan, "files"):
        path = _text(raw.get("path"))
        if path:
            present[path.casefold()] = FileRef(
                path,
                _text(raw.get("component")),
                _text(raw.get("version")),
                _text(raw.get("lab_tag")),
                _text(raw.get("modified_at")),
                _text(raw.get("created_at")),
            )
    listed: dict[str, FileRef] = {}
    here: set[str] = set()
    for component in _items(scan, "components"):
        for raw in _items(component, "files"):
            path = _text(raw.get("path"))
            if not path:
                continue
            key = path.casefold()
            ref = FileRef(
                path,
                _text(component.get("id")),
                _text(raw.get("version")),
                _text(raw.get("lab_tag")),
                _text(raw.get("modified_at")),
                _text(raw.get("created_at")),
            )
            listed.setdefault(key, ref)
            if raw.get("present") is True:
                here.add(key)
                present.setdefault(key, ref)
    return present, listed, here


def _basename(path: str) -> str:
    return path.replace("/", "\\").rsplit("\\", 1)[-1].casefold()


def _attribute(after: FileRef, candidates: list[tuple[UpdateRef, dict[str, Any]]]) -> Attribution | None:
    """The update that changed ``after``'s file: its recorded file list first, else its install time."""
    name = _basename(after.path)
    for ref, raw in candidates:
        for recorded in _items(raw, "files"):
            if _text(recorded.get("name")) and _basename(recorded["name"]) == name:
                sources = _items(raw, "sources")
                # The Updates key holds the Filelist; prefer it as the evidence when it is among the sources.
                where = next(
                    (s for s in sources if "updates\\" in str(s.get("locator", "")).casefold()), None
                )
                where = where or next(iter(sources), {})
                place = _text(where.get("artifact")) or "the update record"
                locator = _text(where.get("locator"))
                version = _text(recorded.get("version")) or "no version"
                evidence = f"{ref.id} records {recorded['name']} {version} in its file list"
                where_text = place + (f" [{locator}]" if locator else "")
                return Attribution(ref.id, "recorded-file", f"{evidence} ({where_text})")
    best: tuple[timedelta, Attribution] | None = None
    for ref, _ in candidates:
        installed = _time(ref.installed_at)
        for label, value in (("creation", after.created_at), ("modification", after.modified_at)):
            at = _time(value)
            if installed is None or at is None or abs(at - installed) > FILE_WINDOW:
                continue
            gap = abs(at - installed)
            minutes = int(FILE_WINDOW.total_seconds() // 60)
            says = (
                f"{ref.id} installed {utc_text(ref.installed_at)}, {int(gap.total_seconds())} s from the "
                f"file's new {label} time {utc_text(value)} (window {minutes} min)"
            )
            if best is None or gap < best[0]:
                best = (gap, Attribution(ref.id, "install-time", says))
    return best[1] if best else None


def _renames(scan: dict[str, Any]) -> dict[tuple[str, str], RenameRef]:
    found: dict[tuple[str, str], RenameRef] = {}
    for raw in _items(scan, "pending_renames"):
        source, destination = _text(raw.get("source")) or "", _text(raw.get("destination")) or ""
        found.setdefault((source.casefold(), destination.casefold()), RenameRef(source, destination))
    return found


def _findings(scan: dict[str, Any]) -> dict[tuple[str, tuple[str, ...]], FindingRef]:
    found: dict[tuple[str, tuple[str, ...]], FindingRef] = {}
    for raw in _items(scan, "findings"):
        rule = _text(raw.get("rule"))
        if not rule:
            continue
        paths = tuple(p for p in (_text(f.get("path")) for f in _items(raw, "files")) if p)
        key = (rule, tuple(sorted(p.casefold() for p in paths)))
        found.setdefault(key, FindingRef(rule, _text(raw.get("severity")), _text(raw.get("title")), paths))
    return found


def _timeline_keys(scan: dict[str, Any]) -> Counter[tuple[str, str, str]]:
    return Counter(
        (_text(e.get("kind")) or "", _text(e.get("subject")) or "", _text(e.get("at")) or "")
        for e in _items(scan, "timeline")
    )


def _sorted(refs: Iterable[Any], key: str) -> tuple[Any, ...]:
    return tuple(sorted(refs, key=lambda r: str(getattr(r, key)).casefold()))


def diff_scans(
    before: dict[str, Any], after: dict[str, Any], before_label: str, after_label: str
) -> ScanDiff:
    """What changed from ``before`` to ``after`` (two scan JSON dicts); see the module docstring."""
    side_b, side_a = _side(before, before_label), _side(after, after_label)
    upd_b, upd_a = _updates(before), _updates(after)
    added = [upd_a[k] for k in upd_a if k not in upd_b]
    changed = [
        UpdateChange(upd_a[k][0].id, upd_b[k][0], upd_a[k][0])
        for k in upd_a
        if k in upd_b
        and (upd_a[k][0].state, upd_a[k][0].installed_at) != (upd_b[k][0].state, upd_b[k][0].installed_at)
    ]
    candidates = added + [upd_a[c.id.casefold()] for c in changed]

    here_b, listed_b, present_b = _files(before)
    here_a, listed_a, present_a = _files(after)
    file_changes = [
        FileChange(here_a[k].path, here_b[k], here_a[k], _attribute(here_a[k], candidates))
        for k in here_a
        if k in here_b and (here_a[k].version, here_a[k].lab_tag) != (here_b[k].version, here_b[k].lab_tag)
    ]
    files_added = [listed_a[k] for k in present_a if k not in present_b and k not in here_b]
    files_removed = [listed_b[k] for k in present_b if k not in present_a and k not in here_a]

    ren_b, ren_a = _renames(before), _renames(after)
    fnd_b, fnd_a = _findings(before), _findings(after)
    new_entries = _timeline_keys(after) - _timeline_keys(before)
    by_kind: Counter[str] = Counter()
    for (kind, _, _), count in new_entries.items():
        by_kind[kind] += count
    verdict_b, verdict_a = _verdict(before), _verdict(after)
    verdict_changed = (verdict_b.failure_onset, verdict_b.trigger, verdict_b.latent_cause) != (
        verdict_a.failure_onset,
        verdict_a.trigger,
        verdict_a.latent_cause,
    )
    notes = []
    if side_b.hostname and side_a.hostname and side_b.hostname.casefold() != side_a.hostname.casefold():
        notes.append(f"the sides are different hosts: {side_b.hostname} and {side_a.hostname}")
    diff = ScanDiff(
        before=side_b,
        after=side_a,
        headline="",
        verdict_changed=verdict_changed,
        verdict_before=verdict_b,
        verdict_after=verdict_a,
        service_pack_changed=(side_b.service_pack, side_b.csd_version)
        != (side_a.service_pack, side_a.csd_version),
        updates_added=_sorted((ref for ref, _ in added), "id"),
        updates_removed=_sorted((upd_b[k][0] for k in upd_b if k not in upd_a), "id"),
        updates_changed=_sorted(changed, "id"),
        files_changed=_sorted(file_changes, "path"),
        files_added=_sorted(files_added, "path"),
        files_removed=_sorted(files_removed, "path"),
        renames_appeared=tuple(ren_a[k] for k in sorted(ren_a) if k not in ren_b),
        renames_disappeared=tuple(ren_b[k] for k in sorted(ren_b) if k not in ren_a),
        findings_new=tuple(fnd_a[k] for k in sorted(fnd_a) if k not in fnd_b),
        findings_gone=tuple(fnd_b[k] for k in sorted(fnd_b) if k not in fnd_a),
        timeline_new=tuple(sorted(by_kind.items())),
        timeline_sizes=(len(_items(before, "timeline")), len(_items(after, "timeline"))),
        notes=tuple(notes),
    )
    return with_headline(diff)
