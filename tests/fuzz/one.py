"""Run ONE fuzz target under atheris (libFuzzer): ``python -m tests.fuzz.one TARGET [dirs/files] [-flags]``.

Called by ``python -m tests.fuzz`` (one process per target: atheris fuzzes once per process). Arguments
after the target go to libFuzzer unchanged: corpus folders (the first one receives new inputs), or input
files to replay, and flags such as ``-runs=N -seed=S -timeout=SEC -rss_limit_mb=MB -artifact_prefix=DIR/``.
"""

from __future__ import annotations

import os
import sys

import atheris


def main(argv: list[str]) -> None:
    from tests.fuzz.targets import ALL, check

    target = ALL[argv[1]]
    with atheris.instrument_imports(include=list(target.modules)):
        try:  # import (and so instrument) everything the target touches before fuzzing starts
            target.run(b"")
        except Exception:  # noqa: BLE001,S110 - the empty input only warms the imports; fuzzing judges it
            pass

    skip_known = os.environ.get("PATCHMORTEM_FUZZ_SKIP_KNOWN") == "1"

    def one_input(data: bytes) -> None:
        check(target, data, skip_known=skip_known)

    atheris.Setup([argv[0], *argv[2:]], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
