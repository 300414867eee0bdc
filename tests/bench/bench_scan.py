"""Benchmark: a whole `patchmortem scan` process against `target-query -f version`, per container type.

Run from the repository root (not collected by pytest; it is a measurement, not a timed test):

    python tests/bench/bench_scan.py                      # every fixture image, 3 rounds
    python tests/bench/bench_scan.py --rounds 5 IMAGE ... # chosen sources
    python tests/bench/bench_scan.py --also /path/to/other/checkout   # a second checkout side by side

Issue 17 ("Per-server cost"): a fleet pays a scan's fixed cost once per server, so what counts is the whole
process — interpreter start, imports, opening the evidence, collectors, rules, report — as a fleet worker or a
shell loop pays it. For each source, each round runs, interleaved so that a busy machine slows all of them
alike: ``python -m scanner scan --format json --output /dev/null SOURCE`` in this checkout (and in the
``--also`` checkout, e.g. the commit before a change), then ``target-query -f version SOURCE`` (dissect's
cheapest full open: Target.open with its OS plugins, start-up included). Printed per source: the median wall
and CPU time (user + system, ``os.wait4``'s rusage of that process: far less sensitive to a busy machine
than wall time) of each, the ratios scan / target-query of both (issue 17's target: at most 0.6) and each
process's peak resident memory (``ru_maxrss``; target: under 300 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "fixtures" / "images"


def _run(argv: list[str], cwd: Path) -> tuple[float, float, int, int]:
    """Wall and CPU seconds, peak RSS (MB) and exit code of one process (``os.wait4``: its rusage)."""
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, proc.returncode


def _scan_argv(source: Path) -> list[str]:
    return [sys.executable, "-m", "scanner", "scan", "--format", "json", "--output", os.devnull, str(source)]


def bench(source: Path, rounds: int, also: Path | None, tq: str | None) -> dict[str, object]:
    """Medians over ``rounds`` interleaved runs of each command on ``source``."""
    runs: dict[str, list[tuple[float, float, int, int]]] = {"scan": [], "also": [], "tq": []}
    for _ in range(rounds):
        runs["scan"].append(_run(_scan_argv(source), ROOT))
        if also is not None:
            runs["also"].append(_run(_scan_argv(source), also))
        if tq is not None:
            runs["tq"].append(_run([tq, "-f", "version", str(source)], ROOT))
    out: dict[str, object] = {"source": source.name}
    for name, results in runs.items():
        if results:
            out[f"{name}_s"] = round(statistics.median(r[0] for r in results), 3)
            out[f"{name}_cpu"] = round(statistics.median(r[1] for r in results), 3)
            out[f"{name}_mb"] = max(r[2] for r in results)
            out[f"{name}_exit"] = sorted({r[3] for r in results})
    for name in ("scan", "also"):
        if "tq_s" in out and f"{name}_s" in out:
            out[f"{name}_ratio"] = round(float(out[f"{name}_s"]) / float(out["tq_s"]), 2)  # type: ignore[arg-type]
            out[f"{name}_cpu_ratio"] = round(
                float(out[f"{name}_cpu"]) / float(out["tq_cpu"]), 2  # type: ignore[arg-type]
            )
    return out


def _sources(argv: list[str]) -> list[Path]:
    if argv:
        return [Path(a).resolve() for a in argv]
    manifest = json.loads((IMAGES / "MANIFEST.json").read_text())
    return [IMAGES / m["files"][0]["name"] for m in manifest if m["role"] != "parent"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--also", type=Path, help="another checkout whose scan is timed side by side")
    args = parser.parse_args(argv)
    tq = shutil.which("target-query")
    also = args.also.resolve() if args.also else None
    names = ["scan", *(["also"] if also else []), *(["tq"] if tq else [])]
    print(f"{'source':32}" + "".join(f" {n + ' s':>8} {'cpu s':>6} {'MB':>4}" for n in names)
          + "".join(f" {n + ' ratio':>11} {'cpu':>5}" for n in names if n != "tq" and tq))
    for source in _sources(args.sources):
        r = bench(source, args.rounds, also, tq)
        line = f"{r['source']:32}"
        for n in names:
            line += f" {r[n + '_s']:8.2f} {r[n + '_cpu']:6.2f} {r[n + '_mb']:4}"
        for n in names:
            if n != "tq" and tq:
                line += f" {r[n + '_ratio']:11.2f} {r[n + '_cpu_ratio']:5.2f}"
        failed = [k for k in ("scan_exit", "also_exit") if any(c not in (0, 10) for c in r.get(k, []))]
        print(line + (f"  exit codes {[r[k] for k in failed]}" if failed else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
