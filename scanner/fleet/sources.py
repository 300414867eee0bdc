"""What the fleet scans: one :class:`FleetSource` per server, whatever the user named.

A server is found once. The evidence layer already knows which files make one disk:

- a split raw set (``x.001``, ``x.002``…) or an E01 set (``x.E01``, ``x.E02``…) is opened from its first
  segment, and :func:`scanner.evidence.hashing.evidence_files` lists the rest;
- a differencing disk (legacy ``.avhd``, ``.avhdx``, VMDK delta, qcow2 with a backing file) is one server
  with its whole chain: :func:`scanner.diff.chain.parent_of` names each parent from the child's own header
  (``vhdchain.resolve_chain`` for legacy VHD, which proves each link by unique id), so a parent that sits in
  the same folder is not a server of its own (it is the state before the child);
- a VMDK's extent files (``-flat``, ``-sNNN``, ``-fNNN``, ``-delta``) belong to their descriptor.

A folder given as a source is a *folder of images* when it directly holds at least one disk image (listed
one level deep, images and ``.zip`` collections only); otherwise it is a triage folder that ``scan`` reads
itself. A list file (``--from LIST``) holds one source per line — ``PATH`` or ``PATH<TAB>LABEL`` (or
``PATH LABEL`` when the whole line is not itself a path); blank lines and ``#`` comments are skipped and
relative paths are taken from the list's folder.

The identity ``--resume`` compares is every evidence file's resolved path, size and modification time (the
chain and the segments included); a folder's is its own path and time (walking a collection to stat every
file would cost what resuming saves).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.errors import ScannerError, SourceNotFoundError

#: Disk image (and collection) file names a folder of images is listed by, lower case.
IMAGE_SUFFIXES = frozenset({
    ".vhd", ".avhd", ".vhdx", ".avhdx", ".vmdk", ".qcow2", ".qcow", ".img", ".dd", ".raw", ".bin",
    ".vdi", ".hdd", ".e01", ".ex01", ".001", ".zip",
})
#: A later segment of a split or E01 set: found through its first segment.
_LATER_SEGMENT = re.compile(r"\.(?:(?!001$)\d{3}|[Ee](?!01$)\d{2}|[Ee][A-Za-z]{2})$")
#: VMDK extent files, read through their descriptor (VMware Virtual Disk Format 1.1, "Extent descriptions").
_VMDK_EXTENT = re.compile(r"-(?:flat|delta|s\d{3}|f\d{3})\.vmdk$", re.IGNORECASE)
#: Bounds: a folder of images listed at most this many entries; a chain followed at most this deep.
MAX_FOLDER_ENTRIES = 100_000
MAX_CHAIN = 64


@dataclass(frozen=True)
class FleetSource:
    """One server to scan: its evidence path, an optional label, and the evidence files it consists of."""

    path: Path
    label: str | None = None
    files: tuple[Path, ...] = field(default=())  # the source, its chain parents and its segments

    def identity(self) -> list[dict[str, Any]]:
        """Resolved path, size and mtime (ns) of every evidence file: what ``--resume`` compares."""
        out: list[dict[str, Any]] = []
        for path in self.files or (self.path,):
            try:
                st = path.stat()
            except OSError:
                out.append({"path": str(path.resolve()), "size": None, "mtime_ns": None})
                continue
            size = None if path.is_dir() else st.st_size
            out.append({"path": str(path.resolve()), "size": size, "mtime_ns": st.st_mtime_ns})
        return out


def is_image_name(path: Path) -> bool:
    """A file a folder of images lists as a server (first segment, descriptor, or collection zip)."""
    name = path.name
    if _LATER_SEGMENT.search(name) or _VMDK_EXTENT.search(name):
        return False
    return path.suffix.lower() in IMAGE_SUFFIXES


def chain_files(path: Path) -> list[Path]:
    """The evidence files of one source: the source, each chain parent (child first) and every segment.

    A chain that cannot be resolved stops where it breaks: the scan of that source reports why (exit 6 in a
    single run, an error row in a fleet).
    """
    from scanner.diff.chain import parent_of
    from scanner.evidence.hashing import evidence_files

    if path.is_dir():
        return [path]
    chain = [path]
    try:
        while len(chain) < MAX_CHAIN:
            parent = parent_of(chain[-1])
            if parent is None or parent.resolve() in {p.resolve() for p in chain}:
                break
            chain.append(parent)
    except (ScannerError, OSError, ValueError, EOFError):
        pass
    return evidence_files(chain)


def _folder_of_images(folder: Path) -> list[Path] | None:
    """The image files directly in ``folder``, or None when it holds none (then it is a triage folder)."""
    try:
        entries = []
        for i, entry in enumerate(folder.iterdir()):
            if i >= MAX_FOLDER_ENTRIES:
                break
            entries.append(entry)
    except OSError as exc:
        raise SourceNotFoundError(f"{folder}: cannot list ({exc.strerror or exc})") from None
    images = sorted(e for e in entries if e.is_file() and is_image_name(e))
    return images or None


def read_list(list_file: Path) -> list[tuple[Path, str | None]]:
    """``--from LIST``: (path, label) per line (see the module docstring for the line format)."""
    try:
        text = list_file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SourceNotFoundError(f"{list_file}: cannot read the list ({exc.strerror or exc})") from None
    base = list_file.parent
    out: list[tuple[Path, str | None]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        path_text, label = line, None
        if "\t" in line:
            path_text, _, label = (part.strip() for part in line.partition("\t"))
        elif not _resolve(base, line).exists() and len(line.split()) > 1:
            path_text, label = line.rsplit(None, 1)
        out.append((_resolve(base, path_text), label or None))
    return out


def _resolve(base: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


def discover(sources: list[Path], list_files: list[Path]) -> list[FleetSource]:
    """Every server named by SOURCE arguments and list files, each once, in the order given.

    A path that does not exist is still a source: its row says so (the fleet never drops what it was
    asked to read).
    """
    named: list[tuple[Path, str | None]] = [(s, None) for s in sources]
    for list_file in list_files:
        named += read_list(list_file)
    expanded: list[tuple[Path, str | None, bool]] = []  # (path, label, listed from a folder of images)
    for path, label in named:
        images = _folder_of_images(path) if path.is_dir() else None
        if images is None:
            expanded.append((path, label, False))
        else:
            expanded += [(image, f"{label}/{image.name}" if label else None, True) for image in images]
    found = [(FleetSource(path, label, tuple(chain_files(path))), listed) for path, label, listed in expanded]
    # An image listed from a folder that is part of another source's chain or segment set is not a server of
    # its own; a source the user named explicitly is always scanned.
    inside = {f.resolve() for s, _ in found for f in s.files[1:]}
    out: list[FleetSource] = []
    seen: set[Path] = set()
    for source, listed in found:
        key = source.path.resolve()
        if key in seen or (listed and key in inside):
            continue
        seen.add(key)
        out.append(source)
    return out
