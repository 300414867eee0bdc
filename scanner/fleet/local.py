"""Local mode: each server's scan in its own process, at most ``workers`` at a time (standard library only).

Why one process per source rather than a ``ProcessPoolExecutor``: when a pool worker dies (killed by the OOM
killer or an operator, a crash in a native parser) the executor breaks and fails *every* pending future with
``BrokenProcessPool``, so one bad image would lose the fleet. Here each source has its own process and its
own pipe: a process that ends without sending its result, or that passes the per-source time-out (it is
killed), is that source's error row, and the others go on. A process costs a ``fork`` from a *forkserver*
that imported the pipeline once (``multiprocessing`` "forkserver" start method): cheap, and safe with the
progress display's thread in the parent, which plain ``fork`` is not.

Nothing crosses sources: every scan opens its evidence in a fresh process.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from scanner.fleet.task import Task, run_task, worker_name

#: Called with (task, pid) when a source's process starts (progress display; tests use it to kill one).
Started = Callable[[Task, int], None]


@dataclass
class _Running:
    task: Task
    process: Any  # multiprocessing.Process
    conn: Connection
    deadline: float
    started: float


def _child(task: Task, conn: Connection) -> None:
    """In the worker process: scan and send the outcome back (one message), then exit."""
    outcome = run_task(task)
    try:
        conn.send(outcome)
    except (TypeError, ValueError, AttributeError) as exc:  # pickling: a bug, but this source's row says so
        conn.send({**outcome, "status": "error", "error_kind": "internal", "error_code": 70, "scan": None,
                   "server": None, "html": None, "error": f"internal error (result not sendable: {exc})"})
    finally:
        conn.close()


def _context() -> Any:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["scanner.fleet.task", "scanner.pipeline"])
    return ctx


def run_local(tasks: list[Task], workers: int, timeout: float | None,
              on_start: Started | None = None) -> Iterator[tuple[Task, dict[str, Any]]]:
    """Yield (task, outcome) as each source finishes, running at most ``workers`` processes at once.

    ``timeout`` (seconds, per source) kills a scan that runs longer; its outcome is an error.
    """
    ctx = _context()
    pending = list(reversed(tasks))
    running: list[_Running] = []
    try:
        while pending or running:
            while pending and len(running) < max(1, workers):
                task = pending.pop()
                receive, send = ctx.Pipe(duplex=False)
                process = ctx.Process(target=_child, args=(task, send), daemon=True)
                process.start()
                send.close()  # the child holds the only write end: EOF on ours means it is gone
                now = time.monotonic()
                deadline = now + timeout if timeout else float("inf")
                running.append(_Running(task, process, receive, deadline, now))
                if on_start is not None:
                    on_start(task, int(process.pid or 0))
            soonest = min(r.deadline for r in running)
            wait([r.conn for r in running], timeout=max(0.0, min(soonest - time.monotonic(), 1.0)))
            for item in list(running):
                outcome = _collect(item, timeout)
                if outcome is not None:
                    running.remove(item)
                    yield item.task, outcome
    finally:
        for item in running:  # an interrupted fleet leaves no scan running behind it
            item.process.kill()
            item.process.join(5)


def _collect(item: _Running, timeout: float | None) -> dict[str, Any] | None:
    """The finished outcome of one running source, or None while it is still working."""
    if item.conn.poll():
        try:
            outcome: dict[str, Any] = item.conn.recv()
        except (EOFError, OSError):
            item.process.join(5)
            return _lost(item, item.process.exitcode)
        item.process.join(5)
        item.conn.close()
        return outcome
    if time.monotonic() >= item.deadline:
        item.process.kill()
        item.process.join(5)
        item.conn.close()
        return _error(item, "timeout", f"time-out: no result after {timeout:g} s (the scan was stopped)")
    if not item.process.is_alive():  # ended without sending a result and without closing cleanly
        item.process.join(5)
        return _lost(item, item.process.exitcode)
    return None


def _lost(item: _Running, exitcode: int | None) -> dict[str, Any]:
    item.conn.close()
    if exitcode is not None and exitcode < 0:
        try:
            how = f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"killed by signal {-exitcode}"
    else:
        how = f"exit code {exitcode}"
    return _error(item, "worker-lost", f"worker lost: its process ended without a result ({how})")


def _error(item: _Running, kind: str, message: str) -> dict[str, Any]:
    return {
        "status": "error", "error": message, "error_kind": kind, "error_code": None,
        "scan": None, "server": None, "html": None,
        "elapsed_s": round(time.monotonic() - item.started, 3),
        "worker": f"{worker_name().rsplit(' pid ', 1)[0]} pid {item.process.pid}",
    }
