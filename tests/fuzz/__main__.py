"""Fuzz the scanner's parsers: ``python -m tests.fuzz --list | TARGET... | all [-runs=N] [libFuzzer flags]``.

Each target runs in its own process (``tests/fuzz/one.py``) on the seeds extracted from the fixture images
(``tests/fuzz/seeds.py``; plus ``$PATCHMORTEM_REAL_CORPUS`` when set) and the committed inputs under
``tests/fuzz/corpus/TARGET`` and ``tests/fuzz/regressions/TARGET``. New inputs go to
``$PATCHMORTEM_FUZZ_WORK/TARGET`` (default: a folder under the temp dir), crashes to
``$PATCHMORTEM_FUZZ_WORK/crashes/TARGET/``. Every input is bounded: ``-timeout=10`` seconds and
``-rss_limit_mb=1024`` unless given. ``PATCHMORTEM_FUZZ_SKIP_KNOWN=1`` tolerates the crash classes already
filed with a regression input whose fix is pending (``Target.known``), so a long run looks past them.
The exit status is non-zero when any target found a crash, a hang or an out-of-memory input; a summary
line per target gives its executions.

    python -m tests.fuzz --list
    python -m tests.fuzz evtx -runs=100000
    python -m tests.fuzz all -runs=50000 -seed=1
    python -m tests.fuzz all -max_total_time=600        # ten minutes per target
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.fuzz import seeds
from tests.fuzz.targets import ALL, TARGETS

HERE = Path(__file__).resolve().parent
DEFAULTS = {"-timeout": "10", "-rss_limit_mb": "1024"}


def work_dir() -> Path:
    default = Path(tempfile.gettempdir()) / "patchmortem-fuzz-work"
    return Path(os.environ.get("PATCHMORTEM_FUZZ_WORK", default))


def corpus_dirs(name: str, *, real: bool = True) -> list[Path]:
    """The read-only seed folders of a target (fixtures, committed corpus and regressions, real corpus)."""
    base = seeds.build(real=real)
    found = [base / kind for kind in ALL[name].seeds]
    real_base = seeds.real_dir() if real else None
    if real_base is not None:
        found += [real_base / kind for kind in ALL[name].seeds]
    found += [HERE / "corpus" / name, HERE / "regressions" / name]
    return [d for d in found if d.is_dir() and any(d.iterdir())]


def run_target(name: str, flags: list[str], *, work: Path | None = None, real: bool = True,
               capture: bool = False, extra: list[Path] | None = None) -> tuple[int, int, str]:
    """Fuzz one target in a subprocess; returns (exit code, executions done, its output).

    ``extra`` adds seed folders (read-only) after the target's own.
    """
    work = work or work_dir()
    new = work / name
    crashes = work / "crashes" / name
    new.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    given = {f.split("=", 1)[0] for f in flags}
    defaults = {**DEFAULTS, "-max_len": str(ALL[name].max_len)}
    flags = [f"{k}={v}" for k, v in defaults.items() if k not in given] + flags
    flags.append(f"-artifact_prefix={crashes}/")
    dirs = [str(d) for d in [*corpus_dirs(name, real=real), *(extra or [])]]
    cmd = [sys.executable, "-m", "tests.fuzz.one", name, str(new), *dirs, *flags]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parents[1]),
                                                                     os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(cmd, env=env, cwd=HERE.parents[1], capture_output=True, text=True, errors="replace")
    output = proc.stdout + proc.stderr
    if not capture:
        sys.stderr.write(output[-20000:])
    done = re.findall(r"#(\d+)\s+(?:DONE|pulse|NEW|REDUCE|INITED)", output)
    execs = int(done[-1]) if done else 0
    m = re.search(r"Done (\d+) runs", output)
    if m:
        execs = int(m.group(1))
    return proc.returncode, execs, output


def main(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith("-")]
    flags = [a for a in argv if a.startswith("-") and a != "--list"]
    if "--list" in argv or not names:
        for target in TARGETS.values():
            print(f"{target.name:24} {target.doc}")
        return 0 if "--list" in argv else 2
    if names == ["all"]:
        names = list(TARGETS)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        print(f"unknown target(s): {', '.join(unknown)} (see --list)", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        start = time.monotonic()
        code, execs, _ = run_target(name, flags)
        status = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"fuzz {name}: {execs} executions in {time.monotonic() - start:.0f} s: {status}", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"crashes, hangs or OOM in: {', '.join(failed)} (inputs under {work_dir()}/crashes/)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
