"""Benchmark: `patchmortem inventory` against `target-query -f version`, and bytes read vs bytes parsed.

Run from the repository root (not collected by pytest; it is a measurement, not a timed test):

    python tests/bench/bench_inventory.py            # every fixture image
    python tests/bench/bench_inventory.py IMAGE ...  # chosen sources

For each source it prints the wall time of an in-process inventory (after a warm-up import), the wall time
of ``target-query -f version`` in a fresh process (dissect's own cheapest full open, start-up included),
their ratio, the bytes the process read while inventorying (Linux ``/proc/self/io`` ``rchar``: every
``read()`` byte, page cache included) and the bytes of the artefacts actually parsed (hives and logs,
component PE files). Read/parsed near 1 means only what is needed is read; it must not grow with the image.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scanner.pipeline import inventory  # noqa: E402 - after the path set-up above

IMAGES = ROOT / "fixtures" / "images"


def _rchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return 0


def _parsed_bytes(inv) -> int:  # type: ignore[no-untyped-def]
    """Sizes of the files the collectors parsed and hashed: component PEs and uninstall-folder backups."""
    total = sum(f.size or 0 for f in inv.files)
    total += sum(f.size or 0 for folder in inv.uninstall_folders for f in folder.files)
    return total


def _hive_bytes(source: Path) -> int:
    from scanner.evidence.source import open_evidence

    evidence = open_evidence(source)
    volume, fs = evidence.system_volume()
    config = fs.path(f"/{volume.windows_dir}/system32/config")
    total = 0
    for entry in config.iterdir():
        if entry.name.upper().startswith(("SOFTWARE", "SYSTEM")) and entry.is_file():
            total += entry.stat().st_size
    return total


def bench(source: Path) -> dict[str, object]:
    inventory(source)  # warm-up: imports, page cache
    before, started = _rchar(), time.perf_counter()
    inv = inventory(source)
    elapsed = time.perf_counter() - started
    read = _rchar() - before
    parsed = _parsed_bytes(inv) + _hive_bytes(source)
    tq = shutil.which("target-query")
    tq_time = None
    if tq is not None:
        started = time.perf_counter()
        subprocess.run([tq, "-f", "version", str(source)], capture_output=True, check=False, timeout=600)
        tq_time = time.perf_counter() - started
    # The container's own files: the source and its split segments (.001, .002 ...), chain parents excluded.
    segments = sorted(source.parent.glob(source.stem + ".[0-9][0-9][0-9]")) if source.suffix == ".001" else []
    size = sum(p.stat().st_size for p in (segments or [source])) if source.is_file() else 0
    return {
        "source": source.name,
        "image_bytes": size,
        "inventory_s": round(elapsed, 3),
        "target_query_version_s": round(tq_time, 3) if tq_time is not None else None,
        "ratio": round(elapsed / tq_time, 2) if tq_time else None,
        "bytes_read": read,
        "bytes_parsed": parsed,
        "read_per_parsed": round(read / parsed, 2) if parsed else None,
    }


def main(argv: list[str]) -> int:
    if argv:
        sources = [Path(a) for a in argv]
    else:
        manifest = json.loads((IMAGES / "MANIFEST.json").read_text())
        sources = [IMAGES / m["files"][0]["name"] for m in manifest if m["role"] != "parent"]
    header = (
        f"{'source':34} {'image MB':>9} {'inventory s':>11} {'tq -f version s':>15} {'ratio':>6} "
        f"{'read MB':>8} {'parsed MB':>9} {'read/parsed':>11}"
    )
    print(header)
    for source in sources:
        try:
            r = bench(source)
        except Exception as exc:  # noqa: BLE001 - report and go on to the next source
            print(f"{source.name:34} error: {exc}")
            continue
        print(
            f"{r['source']:34} {r['image_bytes'] / 1e6:9.1f} {r['inventory_s']:11.3f} "
            f"{r['target_query_version_s'] or float('nan'):15.3f} {r['ratio'] or float('nan'):6.2f} "
            f"{r['bytes_read'] / 1e6:8.2f} {r['bytes_parsed'] / 1e6:9.2f} {r['read_per_parsed'] or 0:11.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
