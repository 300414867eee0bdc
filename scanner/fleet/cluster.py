"""Dask mode: the same :func:`~scanner.fleet.task.run_task` on an existing Dask distributed cluster.

patchmortem schedules nothing across machines itself: ``distributed.Client(address)`` connects to a running
scheduler (``dask scheduler``, or any Dask deployment — Kubernetes, HPC through dask-jobqueue), each source
is one ``client.submit`` and results are taken with ``as_completed`` as they finish. Workers need
patchmortem installed and read access to the sources at the same paths. Run them with ``--nthreads 1``: a
scan is CPU-bound Python, so threads in one worker process would only share one GIL.

Nothing lost: a worker that dies mid-scan is Dask's to handle — the scheduler re-runs its tasks on another
worker, up to ``distributed.scheduler.allowed-failures`` times, then fails the task with ``KilledWorker``,
which becomes that source's error row. ``retries`` re-runs a task that raised (``run_task`` itself never
raises for a bad source). The per-source time-out is enforced by the client: a task not finished in time
is cancelled and becomes an error row (Dask cannot interrupt a running Python thread; the worker finishes
that scan and discards it).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import click

from scanner.errors import ExitCode, ScannerError
from scanner.fleet.task import Task, run_task

#: Task retries for an exception raised inside ``run_task`` (a lost worker is retried by the scheduler).
RETRIES = 2


class SchedulerError(ScannerError):
    """The Dask scheduler could not be reached (exit code 13, README "Exit codes")."""

    exit_code = ExitCode.SCHEDULER_UNREACHABLE


def _client(address: str, connect_timeout: float) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise click.UsageError(
            "--scheduler needs Dask distributed: pip install 'patchmortem[fleet]'"
        ) from None
    try:
        return Client(address, timeout=connect_timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SchedulerError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def run_dask(tasks: list[Task], address: str, timeout: float | None,
             connect_timeout: float = 30.0) -> Iterator[tuple[Task, dict[str, Any]]]:
    """Yield (task, outcome) as each source finishes on the cluster at ``address``."""
    from distributed import as_completed

    client = _client(address, connect_timeout)
    try:
        futures = {}
        for task in tasks:
            future = client.submit(run_task, task, key=f"patchmortem-scan-{task.index}-{time.time_ns()}",
                                   pure=False, retries=RETRIES)
            futures[future] = (task, time.monotonic())
        done = as_completed(list(futures))
        while futures:
            batch = done.next_batch(block=False) or _wait_one(done, futures, timeout)
            for future in batch:
                if future not in futures:
                    continue
                task, started = futures.pop(future)
                yield task, _outcome(future, started)
            if timeout:
                for future, (task, started) in list(futures.items()):
                    if time.monotonic() - started > timeout:
                        futures.pop(future)
                        future.cancel()
                        yield task, _error("timeout", f"time-out: no result after {timeout:g} s (cancelled)",
                                           started)
    finally:
        client.close()


def _wait_one(done: Any, futures: dict[Any, tuple[Task, float]], timeout: float | None) -> list[Any]:
    """Block until a future completes, or (with a time-out) for at most a second."""
    if not timeout:
        return [next(done)]
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        batch = done.next_batch(block=False)
        if batch:
            return list(batch)
        time.sleep(0.05)
    return []


def _outcome(future: Any, started: float) -> dict[str, Any]:
    try:
        outcome: dict[str, Any] = future.result()
        return outcome
    except Exception as exc:  # noqa: BLE001 - KilledWorker, CancelledError, a lost connection: one error row
        from distributed.scheduler import KilledWorker

        kind = "worker-lost" if isinstance(exc, KilledWorker) else "internal"
        return _error(kind, f"{'worker lost' if kind == 'worker-lost' else 'cluster error'}: "
                            f"{type(exc).__name__}: {exc}", started)


def _error(kind: str, message: str, started: float) -> dict[str, Any]:
    return {"status": "error", "error": message, "error_kind": kind, "error_code": None, "scan": None,
            "server": None, "html": None, "elapsed_s": round(time.monotonic() - started, 3), "worker": None}
