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
time of each, the ratio scan / target-query (issue 17's target: at most 0.6) and each process's peak
resident memory (``ru_maxrss`` from ``os.wait4``, per process; target: under 300 MB).
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


def _run(argv: list[str], cwd: Path) -> tuple[float, int, int]:
    """Wall seconds, peak RSS in MB and exit code of one process (``os.wait4`` gives that child's rusage)."""
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss // 1024, proc.returncode


def _scan_argv(source: Path) -> list[str]:
    return [sys.executable, "-m", "scanner", "scan", "--format", "json", "--output", os.devnull, str(source)]


def bench(source: Path, rounds: int, also: Path | None, tq: str | None) -> dict[str, object]:
    """Medians over ``rounds`` interleaved runs of each command on ``source``."""
    runs: dict[str, list[tuple[float, int, int]]] = {"scan": [], "also": [], "tq": []}
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
            out[f"{name}_mb"] = max(r[1] for r in results)
            out[f"{name}_exit"] = sorted({r[2] for r in results})
    if "tq_s" in out:
        out["ratio"] = round(float(out["scan_s"]) / float(out["tq_s"]), 2)  # type: ignore[arg-type]
        if "also_s" in out:
            out["also_ratio"] = round(float(out["also_s"]) / float(out["tq_s"]), 2)  # type: ignore[arg-type]
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
    print(f"{'source':32} {'scan s':>7} {'MB':>4} " + (f"{'also s':>7} {'MB':>4} " if also else "")
          + f"{'tq -f version s':>15} {'MB':>4} {'ratio':>6}" + (f" {'also ratio':>10}" if also else ""))
    for source in _sources(args.sources):
        r = bench(source, args.rounds, also, tq)
        line = f"{r['source']:32} {r['scan_s']:7.2f} {r['scan_mb']:4} "
        if also:
            line += f"{r['also_s']:7.2f} {r['also_mb']:4} "
        nan = float("nan")
        line += f"{r.get('tq_s', nan):15.2f} {r.get('tq_mb', 0):4} {r.get('ratio', nan):6.2f}"
        if also:
            line += f" {r.get('also_ratio', float('nan')):10.2f}"
        failed = [k for k in ("scan_exit", "also_exit") if any(c not in (0, 10) for c in r.get(k, []))]
        print(line + (f"  exit codes {[r[k] for k in failed]}" if failed else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
