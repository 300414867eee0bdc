"""The fleet record (``schemas/fleet-record.schema.json``) and the ``--output`` folder that keeps them.

One record per source, written as each server finishes. The scan JSON contract (``scan --format json``,
byte for byte the same data) is the record's ``scan`` object rather than its top level: the scan contract
already has a ``source`` key — the evidence description object — and contract names are never changed, so
the fleet's own fields (``source`` as given, ``label``, ``status``, ``error``, ``elapsed_s``, ``worker``, the
``identity`` ``--resume`` compares, the ``server`` summary) sit beside it. An error row has ``scan: null``
and ``server.verdict = "unreadable"``.

The ``--output DIR`` folder:

- ``records.jsonl`` — every record, appended and flushed as it arrives (a fresh run starts it anew; with
  ``--resume`` the last record of a source wins);
- ``scans/<name>.json`` — each scanned server's scan JSON, the file ``scan --format json`` would write;
- ``reports/<name>.html`` — each server's HTML report (``--format html`` only) and ``index.html``, the fleet
  page linking to them.

``<name>`` is the source's file name made safe plus 10 hex digits of the SHA-1 of its resolved path, so two
``web01.vhd`` in different folders never share a file.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from scanner.errors import OutputError
from scanner.fleet.sources import FleetSource

SCHEMA_VERSION = "1.0"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: The server summary of a source that could not be scanned.
UNREADABLE: dict[str, Any] = {"hostname": None, "product": None, "os_version": None, "service_pack": None,
              "csd_version": None, "iis_version": None, "verdict": "unreadable", "failing_since": None,
              "trigger": None, "latent_cause": None, "known_issue": None, "confidence": None,
              "conditions": []}


def file_key(source: FleetSource) -> str:
    """The file name stem of a source's saved outputs (see the module docstring)."""
    digest = hashlib.sha1(str(source.path.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return f"{_UNSAFE.sub('_', source.path.name)[:80] or 'source'}-{digest}"


def make_record(source: FleetSource, outcome: dict[str, Any],
                saved: tuple[str | None, str | None] = (None, None)) -> dict[str, Any]:
    """The fleet record of one source from a worker's outcome (:func:`scanner.fleet.task.run_task`)."""
    ok = outcome.get("status") == "ok" and outcome.get("scan") is not None
    scan = json.loads(outcome["scan"]) if ok else None
    return {
        "schema_version": SCHEMA_VERSION,
        "source": str(source.path),
        "label": source.label,
        "status": "ok" if ok else "error",
        "error": None if ok else " ".join(str(outcome.get("error") or "no result").split()),  # one line
        "error_kind": None if ok else (outcome.get("error_kind") or "internal"),
        "error_code": None if ok else outcome.get("error_code"),
        "elapsed_s": outcome.get("elapsed_s"),
        "worker": outcome.get("worker"),
        "identity": source.identity(),
        "report": saved[0] if ok else None,
        "report_html": saved[1] if ok else None,
        "server": outcome.get("server") if ok else dict(UNREADABLE),
        "scan": scan,
    }


@dataclass
class OutputDir:
    """The ``--output`` folder: records as they arrive, each server's scan JSON (and HTML report)."""

    root: Path
    resume: bool = False
    _records: IO[str] | None = field(default=None, init=False)

    def open(self) -> None:
        try:
            (self.root / "scans").mkdir(parents=True, exist_ok=True)
            self._records = (self.root / "records.jsonl").open("a" if self.resume else "w", encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"cannot write to {self.root}: {exc.strerror or exc}") from None

    def close(self) -> None:
        if self._records is not None:
            self._records.close()
            self._records = None

    def previous(self) -> dict[str, dict[str, Any]]:
        """``--resume``: the last record per resolved source path in ``records.jsonl``, if ok (bad lines
        skipped)."""
        found: dict[str, dict[str, Any]] = {}
        try:
            with (self.root / "records.jsonl").open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        record = json.loads(line)
                        key = str(Path(record["source"]).resolve())
                    except (ValueError, KeyError, TypeError):
                        continue  # a line cut by an interrupted run
                    found[key] = record
        except OSError:
            return {}
        return {k: r for k, r in found.items() if r.get("status") == "ok"}

    def save(self, source: FleetSource, outcome: dict[str, Any]) -> tuple[str | None, str | None]:
        """Write the scan JSON (and HTML report) of one outcome; their paths relative to the folder."""
        if outcome.get("status") != "ok" or outcome.get("scan") is None:
            return None, None
        key = file_key(source)
        relative, page = f"scans/{key}.json", f"reports/{key}.html" if outcome.get("html") else None
        try:
            (self.root / relative).write_text(outcome["scan"], encoding="utf-8", errors="surrogateescape")
            if page:
                (self.root / "reports").mkdir(exist_ok=True)
                (self.root / page).write_text(outcome["html"], encoding="utf-8", errors="surrogateescape")
        except OSError as exc:
            raise OutputError(f"cannot write to {self.root}: {exc.strerror or exc}") from None
        return relative, page

    def append(self, record: dict[str, Any]) -> None:
        if self._records is not None:
            self._records.write(record_line(record))
            self._records.flush()


def record_line(record: dict[str, Any]) -> str:
    """One JSONL line; non-ASCII as ``\\u`` escapes, so a lone surrogate from a damaged artefact can be
    written."""
    return json.dumps(record, ensure_ascii=True) + "\n"
