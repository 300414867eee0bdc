"""The work one worker does for one server: the same ``scan`` a single run does, as plain JSON data.

:func:`run_task` is what a local worker process and a Dask worker both call, so a server's record does not
depend on where it ran. It never raises for a bad source: a :class:`~scanner.errors.ScannerError` (missing
file, not an image, no Windows, broken chain) becomes an error outcome with its documented exit code, and
any other exception an ``internal`` one (a bug, reported like exit 70). What it returns is picklable data
only (dicts, strings, numbers), so it crosses a pipe or the network unchanged.

The ``server`` summary is read here, from the typed results, while they are in memory: the verdict state is
the HTML report's (:func:`scanner.report.sections.verdict_state`); conditions are each warning/critical
finding's rule id, the profile components of its files, the SP levels those files are at (the component
levels the ``files-below-service-pack`` rule decided) and the installed SP — never the findings' prose.
"""

from __future__ import annotations

import os
import resource
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.errors import ExitCode, ScannerError


@dataclass(frozen=True)
class Task:
    """One server's scan request, as sent to a worker (paths as strings: they travel between machines)."""

    index: int
    path: str
    profiles_dir: str | None = None
    html: bool = False  # also render the server's HTML report (fleet --format html)


def worker_name() -> str:
    """``HOST pid N`` for a local process; the worker's address on a Dask cluster."""
    if "distributed" in sys.modules:
        try:
            from distributed import get_worker

            return str(get_worker().address)
        except (ImportError, ValueError):
            pass
    return f"{socket.gethostname()} pid {os.getpid()}"


def run_task(task: Task) -> dict[str, Any]:
    """Scan one source; return ``{status, error, error_kind, error_code, elapsed_s, worker, scan, server,
    html}`` (``scan``: the scan JSON as text). ``error_kind``: ``source`` (a documented scanner error,
    ``error_code`` its exit code) or ``internal`` (a bug: 70); the runners add ``timeout`` and
    ``worker-lost``."""
    start = time.monotonic()
    outcome: dict[str, Any] = {"status": "ok", "error": None, "error_kind": None, "error_code": None,
                               "scan": None, "server": None, "html": None}
    try:
        outcome.update(_scan(task))
    except ScannerError as exc:
        outcome.update(status="error", error=str(exc), error_kind="source", error_code=int(exc.exit_code))
    except Exception as exc:  # noqa: BLE001 - a bug on one server must not lose the fleet; reported as exit 70
        outcome.update(status="error", error=f"internal error ({type(exc).__name__}: {exc})",
                       error_kind="internal", error_code=int(ExitCode.INTERNAL))
    outcome["elapsed_s"] = round(time.monotonic() - start, 3)
    outcome["worker"] = worker_name()
    # Peak resident memory (Linux: KiB) and CPU time of this process, for the benchmark; not in the record.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    outcome["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    outcome["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 3)
    return outcome


def _scan(task: Task) -> dict[str, Any]:
    from scanner.pipeline import scan
    from scanner.render.meta import RunMeta
    from scanner.report.scan_json import scan_to_dict

    profiles = Path(task.profiles_dir) if task.profiles_dir else None
    meta = RunMeta.start(profiles)
    result = scan(Path(task.path), profiles_dir=profiles)
    html = None
    if task.html:
        from scanner.report.html import render_html

        html = render_html(result)
    # JSON text, not the dict: it is what ``scan --format json`` writes (the record must equal it), and a
    # value that is a str subclass from a parser (a dissect cstruct string) would not survive pickling.
    return {"scan": json_text(scan_to_dict(result, meta)), "server": server_summary(result, profiles),
            "html": html}


def json_text(data: Any) -> str:
    """The scan as the JSON text ``scan --format json`` writes (same writer, same escapes)."""
    import io

    from scanner.render.templating import write_json

    out = io.StringIO()
    write_json(data, out)
    return out.getvalue()


def server_summary(result: Any, profiles_dir: Path | None) -> dict[str, Any]:
    """The summary row of one server (typed values only; see the module docstring)."""
    from scanner.knowledge.components import load_components
    from scanner.model import is_serious
    from scanner.report.sections import verdict_state

    system = result.inventory.system
    families = {c.id: c.version_family for c in load_components(profiles_dir) if c.version_family}
    iis = sorted({families[c.id] for c in result.components
                  if c.id in families and any(f.present for f in c.files)})
    level_of = {f.path.lower(): f.sp_level for c in result.components for f in c.files}
    conditions = []
    for finding in result.findings:
        if not is_serious(finding.severity):
            continue
        levels = {level_of.get(f.path.lower()) for f in finding.files}
        conditions.append({
            "rule": finding.rule,
            "severity": finding.severity,
            "components": sorted({f.component for f in finding.files if f.component}),
            "file_sp_levels": sorted(level for level in levels if level is not None),
            "installed_sp": system.service_pack if system else None,
        })
    d = result.diagnosis
    return {
        "hostname": system.hostname if system else None,
        "product": system.product if system else None,
        "os_version": system.version if system else None,
        "service_pack": system.service_pack if system else None,
        "csd_version": system.csd_version if system else None,
        "iis_version": iis[0] if len(iis) == 1 else (", ".join(iis) or None),
        "verdict": verdict_state(result).css,
        "failing_since": d.failure_onset.isoformat() if d.failure_onset else None,
        "trigger": d.trigger,
        "latent_cause": d.latent_cause,
        "known_issue": d.known_issue,
        "confidence": d.confidence,
        "conditions": conditions,
    }
