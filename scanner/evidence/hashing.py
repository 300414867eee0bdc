"""SHA-256 of the evidence files, for the report's chain of custody (``scan --hash``).

Hashing reads every byte of the evidence, which the scan itself never does (it reads only the MFT records,
hives, logs and PE headers it needs), so it is opt-in. The files hashed are the ones the user handed over:
the source, every differencing-chain parent, and every segment of a split image (``.E01``/``.E02``…,
``.001``/``.002``…); for a folder source (a triage collection), every regular file below it. Files are opened
``rb`` and read in 1 MiB blocks: memory stays constant.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

_SEGMENT = re.compile(r"^(?P<stem>.+)\.(?P<ext>[Ee]\d{2}|[Ee][A-Za-z]{2}|\d{3})$")
_BLOCK = 1 << 20


def evidence_files(paths: Iterable[Path]) -> list[Path]:
    """The given files plus, for a segmented image, every sibling segment of the same set, in name order; a
    folder stands for the files below it."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():  # a collection: every regular file in it, symlinks not followed, in path order
            out += sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink() and p not in out)
            continue
        match = _SEGMENT.match(path.name)
        found = [path]
        if match is not None and path.parent.is_dir():
            stem, ext = match.group("stem"), match.group("ext")
            family = re.compile(
                re.escape(stem) + (r"\.[Ee](\d{2}|[A-Za-z]{2})$" if ext[0] in "Ee" else r"\.\d{3}$")
            )
            found = sorted(p for p in path.parent.iterdir() if family.match(p.name) and p.is_file())
        out += [p for p in found if p not in out]
    return out


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def sha256_evidence(paths: Iterable[Path]) -> dict[str, str]:
    """``{path: sha256}`` for every evidence file (see :func:`evidence_files`)."""
    return {str(path): sha256_file(path) for path in evidence_files(paths)}
