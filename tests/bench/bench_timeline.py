"""Benchmark: `patchmortem timeline` and `scan` per fixture image; the log readers on large synthetic logs.

Run from the repository root (not collected by pytest; a measurement, not a timed test):

    python tests/bench/bench_timeline.py                 # every fixture image + synthetic logs
    python tests/bench/bench_timeline.py --lines 2000000  # a bigger synthetic W3C log

Per image: wall time of an in-process timeline (after a warm-up), its extra cost over the inventory alone,
the bytes read (``/proc/self/io`` rchar) and the number of entries. Then, on synthetic logs written to a
temporary directory: W3C lines per second through ``summarise_w3c`` and the peak Python memory
(tracemalloc) while streaming them, and records per second through the ``.evt`` scanner. Memory must stay
flat as the line count grows: the readers keep days, runs and kept records, never lines.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scanner.collectors.logs.w3c import _decoded, summarise_w3c  # noqa: E402
from scanner.formats.evt import scan_evt  # noqa: E402 - after the path set-up above
from scanner.pipeline import inventory, scan, timeline  # noqa: E402

IMAGES = ROOT / "fixtures" / "images"
UTC = timezone.utc


def _rchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return 0


def bench_image(source: Path) -> str:
    timeline(source)  # warm-up
    start = time.perf_counter()
    inventory(source)
    inv_time = time.perf_counter() - start
    read0, start = _rchar(), time.perf_counter()
    _, fused = timeline(source)
    elapsed, read = time.perf_counter() - start, _rchar() - read0
    start = time.perf_counter()
    result = scan(source)
    scan_time = time.perf_counter() - start
    return (
        f"{source.name:36} {elapsed:6.2f} s  (inventory {inv_time:5.2f} s, scan {scan_time:5.2f} s)  "
        f"read {read / 1e6:6.1f} MB  {len(fused.entries):4} entries  {len(result.findings)} finding(s)"
    )


def _w3c_file(path: Path, lines: int) -> None:
    rng = random.Random(4)
    at = datetime(2009, 12, 1, tzinfo=UTC)
    with path.open("w", encoding="ascii") as out:
        out.write("#Software: Microsoft Internet Information Services 6.0\n#Version: 1.0\n")
        out.write("#Fields: date time s-sitename s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username "
                  "c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status\n")
        for _ in range(lines):
            at += timedelta(seconds=rng.randint(0, 2))
            status = 503 if rng.random() < 0.01 else 200
            out.write(f"{at:%Y-%m-%d %H:%M:%S} W3SVC1 10.1.2.20 GET /default.aspx - 80 - "
                      f"10.9.{rng.randint(0, 255)}.{rng.randint(1, 254)} Mozilla/4.0 {status} 0 0\n")


def bench_w3c(lines: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ex091201.log"
        _w3c_file(path, lines)
        size = path.stat().st_size
        start = time.perf_counter()
        with path.open("rb") as fh:
            days = summarise_w3c(_decoded(fh), "ex091201.log", "W3SVC1")
        elapsed = time.perf_counter() - start
        tracemalloc.start()  # a second pass: tracemalloc slows Python down several times
        with path.open("rb") as fh:
            summarise_w3c(_decoded(fh), "ex091201.log", "W3SVC1")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return (
        f"W3C {lines:>9,} lines ({size / 1e6:6.1f} MB): {elapsed:5.2f} s, {lines / elapsed:9,.0f} lines/s, "
        f"peak Python memory {peak / 1e6:5.1f} MB, {len(days)} day(s)"
    )


def bench_evt(records: int) -> str:
    from fixtures.factory import evt as evtlib

    at = datetime(2009, 12, 1, tzinfo=UTC)
    batch = [
        evtlib.EvtRecord(
            source="Service Control Manager",
            event_id=evtlib.event_id(7036, "info"),
            event_type=4,
            category=0,
            strings=("WinHTTP Web Proxy Auto-Discovery Service", "stopped"),
            data=b"",
            time_generated=at + timedelta(seconds=i),
            computer="WEB01",
            user_sid=None,
        )
        for i in range(records)
    ]
    data = evtlib.build_evt(batch, max_size=1 << 24)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "SysEvent.Evt"
        path.write_bytes(data)
        start = time.perf_counter()
        with path.open("rb") as fh:
            scan = scan_evt(fh, len(data), keep=lambda provider, event_id: event_id == 1009)
        elapsed = time.perf_counter() - start
        tracemalloc.start()
        with path.open("rb") as fh:
            scan_evt(fh, len(data), keep=lambda provider, event_id: event_id == 1009)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return (
        f".evt {records:>8,} records ({len(data) / 1e6:5.1f} MB): {elapsed:5.2f} s, "
        f"{records / elapsed:8,.0f} records/s, peak Python memory {peak / 1e6:5.1f} MB, "
        f"{len(scan.records)} kept"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*", type=Path)
    parser.add_argument("--lines", type=int, default=500_000, help="synthetic W3C log lines")
    parser.add_argument("--records", type=int, default=50_000, help="synthetic .evt records")
    args = parser.parse_args(argv)
    sources = args.sources or [
        IMAGES / name
        for name in (
            "kb973917-iis6.vhd",
            "q281402-win2000.E01",
            "q281402-dll-put-back.raw.001",
            "healthy-2003-sp2.vmdk",
            "cbs-2008-iis7.qcow2",
            "cbs-2012r2-dirty-hive.dd",
            "snapshot-iis-rtm-child.avhd",
        )
    ]
    for source in sources:
        print(bench_image(source), flush=True)
    for lines in (args.lines // 5, args.lines):
        print(bench_w3c(lines), flush=True)
    print(bench_evt(args.records), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
