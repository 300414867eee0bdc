"""Benchmark: writing the scan and inventory JSON of the 7 fixture scenarios, 50 times each.

Run from the repository root (not collected by pytest; a measurement, not a timed test):

    python tests/bench/bench_codec.py              # 50 rounds
    python tests/bench/bench_codec.py --rounds 10

Each scenario is scanned once; then ``scan_to_dict`` and ``inventory_to_dict`` (with a fixed ``RunMeta``) are
timed over all scenarios, best of three runs of ``--rounds`` rounds. Only those two public functions are
called, so the same script measures a tree with the hand-written ``to_dict`` methods (issue 16, before the
codec: ``PYTHONPATH=<old tree> python tests/bench/bench_codec.py``) and one with the codec, and prints a
digest of the JSON text so the two can be seen to write the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from fixtures.factory.scenario import IMAGES_DIR  # noqa: E402 - after the path set-up above
from scanner.pipeline import scan  # noqa: E402
from scanner.render.meta import RunMeta  # noqa: E402
from scanner.report.inventory import inventory_to_dict  # noqa: E402
from scanner.report.scan_json import scan_to_dict  # noqa: E402


def _images() -> dict[str, Path]:
    manifest = json.loads((IMAGES_DIR / "MANIFEST.json").read_text())
    images = {m["scenario"]: IMAGES_DIR / m["files"][0]["name"] for m in manifest if m["role"] == "image"}
    images["snapshot-iis-from-rtm-media"] = IMAGES_DIR / "snapshot-iis-rtm-child.avhd"
    return images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    import scanner

    print(f"scanner from {Path(scanner.__file__).parent}")
    results = [scan(path) for _, path in sorted(_images().items())]
    meta = RunMeta("bench", "sha256:0000000000000000", datetime(2026, 1, 1, tzinfo=UTC))
    text = "".join(json.dumps([scan_to_dict(r, meta), inventory_to_dict(r.inventory, meta)]) for r in results)
    # the sources' paths differ between two trees: the digest is of the rest
    digest = hashlib.sha256(text.replace(json.dumps(str(IMAGES_DIR))[1:-1], "").encode()).hexdigest()
    print(f"{len(results)} scenarios, JSON text {len(text)} chars, sha256 {digest}")
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(args.rounds):
            for result in results:
                scan_to_dict(result, meta)
                inventory_to_dict(result.inventory, meta)
        best = min(best, time.perf_counter() - start)
    per = best / (args.rounds * len(results)) * 1000
    print(f"{args.rounds} rounds: {best:.3f} s (best of 3), {per:.2f} ms per scenario (scan + inventory)")


if __name__ == "__main__":
    main()
