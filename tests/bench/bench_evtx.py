"""Benchmark: the ``.evtx`` reader against dissect.eventlog on a big real log, side by side.

Run from the repository root (not collected by pytest; a measurement, not a timed test):

    PATCHMORTEM_REAL_CORPUS=/work/realcorpus python tests/bench/bench_evtx.py           # 16 MiB log
    PATCHMORTEM_REAL_CORPUS=/work/realcorpus python tests/bench/bench_evtx.py --mib 4   # smaller
    python tests/bench/bench_evtx.py --log path/to/System.evtx --no-build                # a log as it is

The big log is built in a temporary directory from the chunks of the real corpus logs (plaso's
``System.evtx`` and ``System2.evtx``; without the corpus, the fixture image's ``.evtx`` logs), cycled to the
requested size: chunks are self-contained, so the result is a valid ``.evtx`` (its header's chunk count and
CRC are fixed). Measured, each after a warm-up:

* dissect: ``dissect.eventlog.evtx.Evtx`` iterating every record (what the scanner used to cost);
* evtx (Rust): ``PyEvtxParser.records()`` rendering every record to XML, for reference;
* reader, keep: ``read_event_log`` with the event catalog's filter (what ``timeline`` does);
* reader, all: ``read_event_log`` keeping and parsing every record;
* timeline CLI: ``python -m scanner timeline`` on a triage folder holding the fixture image's hives and the
  big log as ``Windows/System32/winevt/Logs/System.evtx`` (a subprocess: start-up and inventory included).

The target (issue 13): timeline's cost on the log <= 0.1x dissect's iteration.
"""

from __future__ import annotations

import argparse
import binascii
import io
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from dissect.eventlog.evtx import Evtx  # noqa: E402 - after the path set-up above
from evtx import PyEvtxParser  # noqa: E402

from fixtures.factory.scenario import IMAGES_DIR  # noqa: E402
from scanner.collectors.events import read_event_log  # noqa: E402
from scanner.evidence.source import open_evidence  # noqa: E402
from scanner.knowledge.events import load_event_catalog  # noqa: E402

CHUNK, HEADER = 0x10000, 0x1000
IMAGE = "cbs-2008-iis7.qcow2"


def _image_files() -> dict[str, bytes]:
    """The fixture image's hives and .evtx logs (relative path -> bytes)."""
    ev = open_evidence(IMAGES_DIR / IMAGE)
    volume, fs = ev.system_volume()
    out = {}
    for rel in ("System32\\config\\SYSTEM", "System32\\config\\SOFTWARE"):
        with fs.get(f"{volume.windows_dir}\\{rel}").open() as fh:
            out[rel] = fh.read()
    from scanner.collectors.events import find_event_logs

    for _log, path, entry in find_event_logs(fs, str(volume.windows_dir)):
        if path.lower().endswith(".evtx"):
            with entry.open("rb") as fh:
                out[path.split("\\", 1)[1]] = fh.read()
    return out


def build_log(sources: list[bytes], mib: int) -> bytes:
    """A valid .evtx of ``mib`` MiB: the first source's header, then the sources' full chunks, cycled."""
    chunks = [src[HEADER + i * CHUNK : HEADER + (i + 1) * CHUNK] for src in sources
              for i in range((len(src) - HEADER) // CHUNK)]
    chunks = [c for c in chunks if c[:8] == b"ElfChnk\0"]
    count = max(1, mib * 16)
    body = b"".join(chunks[i % len(chunks)] for i in range(count))
    header = bytearray(sources[0][:HEADER])
    struct.pack_into("<QQ", header, 8, 0, count - 1)  # first and last chunk numbers
    struct.pack_into("<H", header, 42, min(count, 0xFFFF))
    struct.pack_into("<I", header, 124, binascii.crc32(bytes(header[:120])))
    return bytes(header) + body


def _timed(fn: object, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=16, help="size of the built log (default 16 MiB)")
    parser.add_argument("--log", type=Path, help="read this .evtx instead of the corpus logs")
    parser.add_argument("--no-build", action="store_true", help="measure --log as it is")
    parser.add_argument("--no-cli", action="store_true", help="skip the timeline CLI run")
    args = parser.parse_args()

    image = _image_files()
    corpus = Path(os.environ.get("PATCHMORTEM_REAL_CORPUS", "/nonexistent")) / "plaso" / "evtx"
    if args.log:
        sources = [args.log.read_bytes()]
    elif corpus.is_dir():
        sources = [(corpus / name).read_bytes() for name in ("System.evtx", "System2.evtx")]
    else:
        sources = [data for rel, data in image.items() if rel.lower().endswith(".evtx")]
    data = sources[0] if args.no_build else build_log(sources, args.mib)
    catalog = load_event_catalog()
    print(f"log: {len(data) / 2**20:.1f} MiB, {(len(data) - HEADER) // CHUNK} chunks")

    def dissect_iterate() -> None:
        for _ in Evtx(io.BytesIO(data)):
            pass

    def rust_iterate() -> None:
        for _ in PyEvtxParser(io.BytesIO(data), number_of_threads=1).records():
            pass

    result = read_event_log(io.BytesIO(data), "System.evtx", "System", keep=catalog.wants)
    everything = read_event_log(io.BytesIO(data), "System.evtx", "System")
    print(f"records: {result.total} valid, {len(result.records)} kept by the catalog, "
          f"{result.corrupt} corrupt")
    t_dissect = _timed(dissect_iterate)
    t_rust = _timed(rust_iterate, 3)
    t_keep = _timed(lambda: read_event_log(io.BytesIO(data), "System.evtx", "System", keep=catalog.wants), 3)
    t_all = _timed(lambda: read_event_log(io.BytesIO(data), "System.evtx", "System"), 2)
    print(f"dissect iterate      {t_dissect:8.2f} s  ({result.total / t_dissect:9.0f} records/s)")
    print(f"evtx (Rust) iterate  {t_rust:8.2f} s  ({t_rust / t_dissect:6.3f}x dissect)")
    print(f"reader, keep         {t_keep:8.2f} s  ({t_keep / t_dissect:6.3f}x dissect)")
    print(f"reader, all          {t_all:8.2f} s  ({t_all / t_dissect:6.3f}x dissect, "
          f"{len(everything.records)} records parsed)")
    if args.no_cli:
        return
    with tempfile.TemporaryDirectory() as tmp:
        windows = Path(tmp) / "triage" / "Windows"
        for rel, blob in image.items():
            if rel.lower().endswith(".evtx"):
                continue
            out = windows / rel.replace("\\", "/")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(blob)
        logs = windows / "System32" / "winevt" / "Logs"
        logs.mkdir(parents=True, exist_ok=True)
        (logs / "System.evtx").write_bytes(data)
        command = [sys.executable, "-m", "scanner", "timeline", str(windows.parent), "--format", "csv"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)  # warm-up
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        t_cli = time.perf_counter() - start
        (logs / "System.evtx").unlink()
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)
        t_base = time.perf_counter() - start
        lines = len(done.stdout.splitlines())
        print(f"timeline CLI         {t_cli:8.2f} s  ({t_cli / t_dissect:6.3f}x dissect; "
              f"exit {done.returncode}, {lines} lines); without the log {t_base:.2f} s, "
              f"so the log costs {t_cli - t_base:.2f} s "
              f"({(t_cli - t_base) / t_dissect:.3f}x dissect)")


if __name__ == "__main__":
    main()
