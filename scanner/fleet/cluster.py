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
        with client.as_current():  # as_completed finds its client this way (not the process default)
            yield from _gather(client, tasks, timeout, as_completed)
    finally:
        client.close()


def _gather(client: Any, tasks: list[Task], timeout: float | None, as_completed: Any
            ) -> Iterator[tuple[Task, dict[str, Any]]]:
    """Submit every task, then yield outcomes as they complete; with a time-out, a task running longer
    (measured from when the scheduler first reports it processing, not from submission: a queued task is
    not late) is cancelled and becomes an error row."""
    pending: dict[str, tuple[Any, Task]] = {}
    for task in tasks:
        future = client.submit(run_task, task, key=f"patchmortem-scan-{task.index}-{time.time_ns()}",
                               pure=False, retries=RETRIES)
        pending[future.key] = (future, task)
    done = as_completed([f for f, _ in pending.values()])
    started: dict[str, float] = {}
    polled = 0.0
    while pending:
        batch = list(done.next_batch(block=False)) if timeout else [next(done)]
        for future in batch:
            if future.key in pending:
                _, task = pending.pop(future.key)
                yield task, _outcome(future, started.get(future.key, time.monotonic()))
        if not timeout or batch:
            continue
        now = time.monotonic()
        if now - polled >= 1.0:
            polled = now
            for keys in client.processing().values():
                for key in keys:
                    started.setdefault(key, now)
        for key, when in list(started.items()):
            if key in pending and now - when > timeout:
                future, task = pending.pop(key)
                future.cancel()
                yield task, _error("timeout", f"time-out: no result after {timeout:g} s (cancelled)", when)
        time.sleep(0.1)


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
