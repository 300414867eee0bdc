"""Benchmark: `patchmortem fleet` local mode, 8 images with 2 worker processes against 1; memory per worker.

Run from the repository root (not collected by pytest; it is a measurement, not a timed test):

    python tests/bench/bench_fleet.py              # 8 fixture images, 1 then 2 workers, then 1 again
    python tests/bench/bench_fleet.py --rounds 3   # more alternating rounds (the best of each is kept)

Each round runs the same 8 servers through :func:`scanner.fleet.local.run_local` (one forkserver process per
source, exactly what ``patchmortem fleet --workers N`` runs), alternating 1 and 2 workers so a change in
machine load hits both. It prints the wall time of each run, the speed-up of the best 2-worker run over the
best 1-worker run (target: at least 1.8x on an otherwise idle 2-core machine) and the peak resident memory
of every worker process (``getrusage`` ``ru_maxrss``, which counts the pages shared with the forkserver
that imported the pipeline; target: under 300 MB). A machine busy with other work cannot show the
speed-up: the load average is printed with the figures, and so is a load-independent estimate — each
scan's own CPU time (``getrusage`` in its process), placed on 1 and on 2 workers in submission order as the
pool places them: the ratio of the two finishing times is the speed-up an idle 2-core machine gives.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scanner.fleet.local import run_local  # noqa: E402 - after the path set-up above
from scanner.fleet.task import Task  # noqa: E402

IMAGES = ROOT / "fixtures" / "images"
EIGHT = [
    "kb973917-iis6.vhd", "healthy-2003-sp2.vhd", "healthy-2003-sp2.vmdk", "q281402-dll-put-back.raw.001",
    "q281402-win2000.E01", "cbs-2008-iis7.qcow2", "snapshot-iis-rtm-child.avhd",
    "snapshot-iis-rtm-child.qcow2",
]  # fmt: skip


def _makespan(cpu: list[float], workers: int) -> float:
    """When the last of these CPU-bound scans ends if each goes to the first free worker, in order."""
    free = [0.0] * workers
    for seconds in cpu:
        at = free.index(min(free))
        free[at] += seconds
    return max(free)


def _run(workers: int) -> tuple[float, list[float], list[float]]:
    tasks = [Task(i, str(IMAGES / name)) for i, name in enumerate(EIGHT)]
    start = time.perf_counter()
    outcomes = [outcome for _, outcome in run_local(tasks, workers, timeout=None)]
    wall = time.perf_counter() - start
    failed = [o["error"] for o in outcomes if o["status"] != "ok"]
    if failed:
        raise SystemExit(f"a fixture failed to scan: {failed}")
    return wall, [float(o["peak_rss_mb"]) for o in outcomes], [float(o["cpu_s"]) for o in outcomes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    _run(2)  # warm-up: page cache, forkserver start, .pyc files
    times: dict[int, list[float]] = {1: [], 2: []}
    peaks: list[float] = []
    cpu: list[float] = []
    for _ in range(args.rounds):
        for workers in (1, 2, 1) if not times[1] else (2, 1):
            wall, rss, seconds = _run(workers)
            times[workers].append(wall)
            peaks += rss
            cpu = seconds if not cpu else [min(a, b) for a, b in zip(cpu, seconds, strict=True)]
            load = os.getloadavg()[0]
            print(f"{len(EIGHT)} images, {workers} worker(s): {wall:6.2f} s  load average {load:.1f}")
    best1, best2 = min(times[1]), min(times[2])
    print(f"speed-up 2 workers vs 1: {best1 / best2:.2f}x (best {best1:.2f} s vs {best2:.2f} s; "
          "target >= 1.8x)")
    print(f"CPU time per scan {min(cpu):.2f}-{max(cpu):.2f} s, {sum(cpu):.2f} s in all; on an idle machine "
          f"2 workers vs 1: {_makespan(cpu, 1) / _makespan(cpu, 2):.2f}x")
    print(f"peak memory per worker: max {max(peaks):.0f} MB, median {sorted(peaks)[len(peaks) // 2]:.0f} MB "
          f"(target < 300 MB)")


if __name__ == "__main__":
    main()
