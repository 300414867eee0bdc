"""Seed corpora for the fuzz targets, taken from the committed fixture images (and the real corpus).

The fixture images are tens of MB; their hives, logs and PEs are read out once with the project's own
evidence layer (``open_evidence``, dissect underneath) into a cache directory, so nothing large is committed.
The cache is keyed by ``fixtures/images/MANIFEST.json``: a rebuilt image set gives fresh seeds.
``$PATCHMORTEM_REAL_CORPUS`` (local only, never committed) adds real hives, logs and .evt/.evtx files.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "fixtures" / "images"
# Images whose artefacts differ in kind: 2003 (NT5 hive log, .evt, IIS 6 logs), 2008 (CBS, .evtx),
# 2012 R2 (NT6 .LOG1/.LOG2 dirty hive), Windows 2000 E01 (Dr. Watson, setupapi, iis5).
SEED_IMAGES = ("kb973917-iis6.vhd", "cbs-2008-iis7.qcow2", "cbs-2012r2-dirty-hive.dd", "q281402-win2000.E01",
               "healthy-2003-sp2.vhd")
MAX_SEED = 1 << 20  # a seed larger than this is cut: the parsers' front matter is what mutation reaches
MAX_PER_KIND = 12
VERSION = 2  # part of the cache folder's name: bump when the seed set changes

# artefact path (lower case, volume-relative) -> seed kind
_KINDS: list[tuple[str, str]] = [
    (r".*/config/(software|system)$", "hive"),
    (r".*/config/(software|system)\.log$", "hive_log_nt5"),
    (r".*/config/(software|system)\.log[12]$", "hive_log_nt6"),
    (r".*\.evt$", "evt"),
    (r".*\.evtx$", "evtx"),
    (r".*\.(dll|exe|sys)$", "pe"),
    (r".*/(kb|q)\d+.*\.log$|.*/svcpack\.log$", "updateexe"),
    (r".*/iis[56]\.log$", "iis_setup"),
    (r".*/(setupapi|updspapi)\.log$", "setupapi"),
    (r".*/windowsupdate\.log$", "windowsupdate"),
    (r".*/cbs/(cbs|cbspersist_\d+)\.log$", "cbs"),
    (r".*/drwtsn32\.log$", "drwatson"),
    (r".*/httperr/.*\.log$", "httperr"),
    (r".*/w3svc\d+/.*\.log$", "w3c"),
]
_REAL: list[tuple[str, str]] = [
    (r".*/regipy/(system|system_2|system_b|corrupted_system_hive)$", "hive"),
    (r".*/yarp/.*dirtyhive$", "hive"),
    (r".*\.log[12]$", "hive_log_nt6"),
    (r".*\.evt$", "evt"),
    (r".*\.evtx$", "evtx"),
    (r".*/iis/.*\.log$", "w3c"),
    (r".*/setupapi\..*\.log$", "setupapi"),
    (r".*\.vhd$", "vhd"),
]


def _manifest_key() -> str:
    manifest = IMAGES / "MANIFEST.json"
    return hashlib.sha256(manifest.read_bytes()).hexdigest()[:16] if manifest.is_file() else "none"


def cache_dir() -> Path:
    """Where the extracted seeds live (``$PATCHMORTEM_FUZZ_SEEDS`` or a temp folder keyed by the images)."""
    given = os.environ.get("PATCHMORTEM_FUZZ_SEEDS")
    name = f"patchmortem-fuzz-seeds-{VERSION}-{_manifest_key()}"
    return Path(given) if given else Path(tempfile.gettempdir()) / name


def _kind(path: str, table: list[tuple[str, str]]) -> str | None:
    low = path.lower()
    for pattern, kind in table:
        if re.fullmatch(pattern, low):
            return kind
    return None


def _store(out: Path, kind: str, name: str, data: bytes) -> None:
    folder = out / kind
    folder.mkdir(parents=True, exist_ok=True)
    if len(list(folder.iterdir())) >= MAX_PER_KIND:
        return
    digest = hashlib.sha256(data).hexdigest()[:12]
    (folder / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)[-60:]}-{digest}").write_bytes(data[:MAX_SEED])


def _vhd_seed(path: Path) -> bytes:
    """A VHD's headers without its data: the first 64 KiB (footer copy, dynamic header, locators, BAT)
    and the footer. Enough for formats/vhd.py's ``read_info`` to reach every header field."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(64 * 1024)
        fh.seek(max(0, size - 512))
        return head + fh.read(512)


def _from_image(image: Path, out: Path) -> None:
    from scanner.evidence.source import open_evidence

    evidence = open_evidence(image)
    _volume, fs = evidence.system_volume()
    for root, _dirs, files in fs.walk("/"):
        for name in files:
            path = root.rstrip("/") + "/" + name
            kind = _kind(path, _KINDS)
            if kind is None:
                continue
            with fs.get(path).open() as fh:
                data = fh.read(MAX_SEED)
            _store(out, kind, f"{image.stem}-{name}", data)
            if kind == "hive_log_nt5" or kind == "hive_log_nt6":  # the dirty primary the log replays onto
                with fs.get(path.rsplit(".", 1)[0]).open() as fh:
                    _store(out, f"{kind}_primary", f"{image.stem}-{name}", fh.read())


def _factory_seeds(out: Path) -> None:
    """Seeds the fixture images lack (no image carries an iis6.log or setupapi.log): built by the factory."""
    from datetime import datetime, timedelta, timezone

    from fixtures.factory.textlogs.setuplogs import (
        SetupApiLog,
        SetupApiSection,
        command_line_processed,
        executing,
        iis_setup_log,
        iis_setup_session,
        setupapi_log,
    )

    local = datetime(2009, 12, 8, 15, 40, tzinfo=timezone(timedelta(hours=-8)))
    for fail in (None, "w3core.dll"):
        session = iis_setup_session(local, source_path="C:\\WINDOWS\\ServicePackFiles\\i386",
                                    register=("asp.dll", "w3core.dll"), fail_dll=fail)
        _store(out, "iis_setup", f"iis6-{fail}", iis_setup_log(session))
    lines = (command_line_processed("C:\\WINDOWS\\system32\\svchost.exe"),
             executing("update.exe", "update.exe /quiet"))
    section = SetupApiSection(local, 264, 1531, lines, "Driver Install")
    _store(out, "setupapi", "setupapi", setupapi_log(SetupApiLog((section,))))
    # localtime reads its input with FuzzedDataProvider: a few byte patterns to start from
    for name, data in (("zeros", bytes(64)), ("ones", b"\xff" * 64), ("ramp", bytes(range(64)))):
        _store(out, "localtime", name, data)


def build(out: Path | None = None, *, real: bool = True,
          log: Callable[[str], None] = lambda _m: None) -> Path:
    """Extract the seeds once (idempotent); returns the seed directory (one folder per kind)."""
    out = out or cache_dir()
    done = out / ".done"
    if not done.exists():
        out.mkdir(parents=True, exist_ok=True)
        for name in SEED_IMAGES:
            log(f"seeds: reading {name}")
            _from_image(IMAGES / name, out)
        _factory_seeds(out)
        for avhd in ("snapshot-iis-rtm-child.avhd", "snapshot-iis-rtm-parent.vhd"):
            _store(out, "vhd", avhd, _vhd_seed(IMAGES / avhd))
        done.write_text("ok\n")
    corpus = os.environ.get("PATCHMORTEM_REAL_CORPUS", "")
    if real and corpus and Path(corpus).is_dir():
        real_out = out.parent / (out.name + "-real")
        if not (real_out / ".done").exists():
            for path in sorted(Path(corpus).rglob("*")):
                kind = _kind(path.as_posix(), _REAL) if path.is_file() else None
                if kind == "vhd":
                    _store(real_out, kind, path.name, _vhd_seed(path))
                elif kind:
                    _store(real_out, kind, path.name, path.read_bytes()[:MAX_SEED])
            real_out.mkdir(parents=True, exist_ok=True)
            (real_out / ".done").write_text("ok\n")
    return out


def real_dir() -> Path | None:
    """The real-corpus seeds (built by :func:`build`), when ``$PATCHMORTEM_REAL_CORPUS`` is set."""
    out = cache_dir()
    real_out = out.parent / (out.name + "-real")
    return real_out if (real_out / ".done").exists() else None


if __name__ == "__main__":
    where = build(log=print)
    for folder in sorted(p for p in where.iterdir() if p.is_dir()):
        files = list(folder.iterdir())
        print(f"{folder.name:24} {len(files):3} files {sum(f.stat().st_size for f in files):>10} bytes")
