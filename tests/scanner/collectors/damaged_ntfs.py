"""Randomly damaged copies of a test NTFS volume: the MFT records and index blocks hit, nothing else.

The collectors' contract on hostile bytes is "gaps, never a traceback" (README "Bad input"); these tests
check it on volumes whose FILE and INDX blocks take 1-20 random byte writes each. A copy dissect cannot
open at all is the evidence layer's concern, so it is skipped here.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator

from dissect.target.filesystems.ntfs import NtfsFilesystem


def damaged_volumes(base: bytes, seed: int, rounds: int = 40) -> Iterator[NtfsFilesystem]:
    """Up to ``rounds`` damaged copies of ``base`` that dissect still opens, the same ones for a seed."""
    metadata = [i for i in range(0, len(base), 1024) if base[i : i + 4] in (b"FILE", b"INDX")]
    rng = random.Random(seed)
    for _ in range(rounds):
        damaged = bytearray(base)
        for _ in range(rng.randint(1, 20)):
            damaged[rng.choice(metadata) + rng.randrange(1024)] = rng.randrange(256)
        try:
            fs = NtfsFilesystem(io.BytesIO(bytes(damaged)))
            fs.ntfs.mft.root  # noqa: B018 - a volume dissect cannot open is the evidence layer's concern
        except Exception:  # noqa: BLE001
            continue
        yield fs
