"""Preflight facts from a saved scan JSON (``scan --format json``, or a ``fleet --output`` result).

A fleet scans hundreds of servers once; the next Patch Tuesday asks about a new update. Reading the facts
back from each saved scan answers without opening the images again. Only the typed fields ``assess`` reads
are rebuilt (system, update records, files, findings, component table); the saved document is untrusted —
it may be edited or truncated — so every value is type-checked and a document that is not a scan JSON of
schema 1.x is rejected by :func:`scanner.diff.load.load_scan_json` (exit 4) before it gets here. A field of
the wrong type is read as absent (a gap in what the preflight can decide), never as a default.
"""

from __future__ import annotations

from typing import Any, cast

from scanner.model import (
    SEVERITY_ORDER,
    ComponentFileLevel,
    ComponentLevels,
    Evidence,
    FileState,
    FileVersion,
    Finding,
    FindingFile,
    Provenance,
    RecordedFile,
    Severity,
    SystemFacts,
    UpdateRecord,
)
from scanner.preflight.facts import PreflightFacts

#: A saved scan is bounded by its size (load_scan_json); this also caps the items one list can make us build.
MAX_ITEMS = 100_000


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _i(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _items(data: Any, key: str) -> list[dict[str, Any]]:
    raw = data.get(key) if isinstance(data, dict) else None
    return [item for item in raw[:MAX_ITEMS] if isinstance(item, dict)] if isinstance(raw, list) else []


def _strings(data: dict[str, Any], key: str) -> tuple[str, ...]:
    raw = data.get(key)
    return tuple(v for v in raw[:MAX_ITEMS] if isinstance(v, str)) if isinstance(raw, list) else ()


def _provenance(item: dict[str, Any]) -> Provenance:
    artifact, locator, note = (_s(item.get(k)) or "" for k in ("artifact", "locator", "note"))
    return Provenance(artifact, locator, note)


def _sources(item: dict[str, Any], key: str = "sources") -> tuple[Provenance, ...]:
    return tuple(_provenance(s) for s in _items(item, key))


def _system(data: Any) -> SystemFacts | None:
    if not isinstance(data, dict):
        return None
    return SystemFacts(
        product=_s(data.get("product")), version=_s(data.get("version")), build=_i(data.get("build")),
        service_pack=_i(data.get("service_pack")), csd_version=_s(data.get("csd_version")),
        architecture=_s(data.get("architecture")), hostname=_s(data.get("hostname")), install_date=None,
        system_root=_s(data.get("system_root")), timezone=None, edition=_s(data.get("edition")),
        build_lab=_s(data.get("build_lab")), sources=_sources(data),
    )


def _update(item: dict[str, Any]) -> UpdateRecord | None:
    uid, state = _s(item.get("id")), _s(item.get("state"))
    if uid is None or state is None:
        return None
    files = tuple(
        RecordedFile(name, _s(f.get("version")), _s(f.get("location")))
        for f in _items(item, "files")
        if (name := _s(f.get("name")))
    )
    return UpdateRecord(uid, _s(item.get("kind")) or "update", None, None, state, files=files,
                        sources=_sources(item), sp_folder=_i(item.get("sp_folder")))


def _file(item: dict[str, Any]) -> FileState | None:
    path = _s(item.get("path"))
    if path is None:
        return None
    return FileState(path, FileVersion.parse(_s(item.get("version"))), _s(item.get("lab_tag")), None, None,
                     _i(item.get("size")), None, None, None, component=_s(item.get("component")),
                     sources=_sources(item))


def _finding(item: dict[str, Any]) -> Finding | None:
    rule, severity = _s(item.get("rule")), _s(item.get("severity"))
    if rule is None or severity not in SEVERITY_ORDER:
        return None
    files = tuple(
        FindingFile(path, _s(f.get("version")), _s(f.get("lab_tag")), _s(f.get("expected")),
                    _s(f.get("component")))
        for f in _items(item, "files")
        if (path := _s(f.get("path")))
    )
    evidence = tuple(Evidence(_s(e.get("says")) or "", _provenance(e)) for e in _items(item, "evidence"))
    title, summary = _s(item.get("title")) or rule, _s(item.get("summary")) or ""
    return Finding(rule, cast(Severity, severity), title, summary, files=files,
                   updates=_strings(item, "updates"), evidence=evidence)


def _row(item: dict[str, Any]) -> ComponentFileLevel | None:
    path = _s(item.get("path"))
    if path is None:
        return None
    return ComponentFileLevel(
        path=path, present=item.get("present") is True, version=_s(item.get("version")),
        lab_tag=_s(item.get("lab_tag")), sp_level=_i(item.get("sp_level")), sp_name=_s(item.get("sp_name")),
        modified_at=None, created_at=None, below_baseline=item.get("below_baseline") is True,
        sources=_sources(item),
    )


def facts_from_scan_json(data: dict[str, Any]) -> PreflightFacts:
    """The typed facts a preflight reads, from a scan JSON already checked by ``load_scan_json``."""
    components = []
    for table in _items(data, "components"):
        cid = _s(table.get("id"))
        if cid:
            rows = tuple(r for r in map(_row, _items(table, "files")) if r is not None)
            components.append(ComponentLevels(cid, _s(table.get("title")) or cid, rows))
    return PreflightFacts(
        system=_system(data.get("system")),
        updates=tuple(u for u in map(_update, _items(data, "updates")) if u is not None),
        findings=tuple(f for f in map(_finding, _items(data, "findings")) if f is not None),
        components=tuple(components),
        files=tuple(f for f in map(_file, _items(data, "files")) if f is not None),
    )
