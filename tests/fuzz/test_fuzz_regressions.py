"""Replay every input the fuzzers ever crashed on (``tests/fuzz/regressions/TARGET/*``), in-process.

Each file is a crash (or hang) found by ``python -m tests.fuzz``; its fix is in the parser it names, and
this test keeps it fixed. Each input is bounded by an alarm (a hang fails instead of stalling the suite).
Crashes in code another part of issue 15 owns (time arithmetic) are listed in ``OWNED_ELSEWHERE``: xfail,
non-strict, until that fix lands — then they pass and the entry goes.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

pytest.importorskip("atheris")  # the localtime target reads its input with atheris' FuzzedDataProvider

from tests.fuzz.targets import TARGETS, check  # noqa: E402

HERE = Path(__file__).resolve().parent / "regressions"
CASES = sorted(p for p in HERE.glob("*/*") if p.is_file() and p.parent.name in TARGETS)
OWNED_ELSEWHERE: dict[str, str] = {}  # none open: localtime's bias overflow is fixed (timerange.py)
SECONDS = 30


class _Hang(Exception):
    pass


def _alarm(_signum: int, _frame: object) -> None:
    raise _Hang(f"input still running after {SECONDS} s")


def test_every_regression_names_a_target() -> None:
    strays = [p for p in HERE.glob("*/*") if p.parent.name not in TARGETS]
    assert not strays, f"regression inputs under unknown targets: {strays}"


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.name}" for p in CASES])
def test_regression_input_is_handled(path: Path) -> None:
    target = TARGETS[path.parent.name]
    if target.name in OWNED_ELSEWHERE and _crashes(path):
        pytest.xfail(OWNED_ELSEWHERE[target.name])
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(SECONDS)
    try:
        check(target, path.read_bytes())
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _crashes(path: Path) -> bool:
    try:
        check(TARGETS[path.parent.name], path.read_bytes())
    except Exception:  # noqa: BLE001 - any escape is the known crash
        return True
    return False
