"""Legacy VHD differencing chains (``.avhd``): find the parent, check its identity, read the chain.

Why: dissect.target 3.25 opens a VHD differencing disk (disk type 4; Hyper-V 2008 / Virtual Server
``.avhd``) as a standalone dynamic disk: no parent lookup, sector bitmaps ignored, so whatever the snapshot
did not change reads as zeros, silently wrong. The bytes of each file (footer, dynamic header, parent
locators, BAT and sector bitmaps; Microsoft "Virtual Hard Disk Image Format Specification" v1.0) are read by
the format layer, :mod:`scanner.formats.vhd`; this module finds each parent from the child's locators,
proves it by unique id (spec "Parent Unique ID") and stacks the layers into one stream.

A chain whose parent is missing or is not the file the child was made from raises
:class:`~scanner.errors.IncompleteChainError` before any byte is returned. Every file is opened ``rb``.
"""

from __future__ import annotations

import io
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Any, BinaryIO

from scanner.errors import IncompleteChainError, SourceNotFoundError, UnsupportedSourceError
from scanner.formats.vhd import (
    DIFFERENCING,
    SECTOR,
    VhdFormatError,
    VhdInfo,
    VhdLayer,
    footer_disk_type,
    read_info,
    stamp,
)

__all__ = [
    "VhdChainStream",
    "is_vhd_differencing",
    "open_chain_container",
    "open_vhd_chain",
    "resolve_chain",
    "resolve_parent",
]

log = logging.getLogger(__name__)

MAX_CHAIN_DEPTH = 16  # Hyper-V 2008 snapshot trees are shallow; a deeper chain is more likely a loop
Opener = Callable[[Path], BinaryIO]


def _open_rb(path: Path) -> BinaryIO:
    return open(path, "rb")  # noqa: SIM115 - owned and closed by the layer


@dataclass(frozen=True)
class _Info:
    """One file of a chain: where it is, and what its footer and header declare."""

    path: Path
    vhd: VhdInfo


def _inspect(path: Path, opener: Opener = _open_rb) -> _Info:
    """Parse one file's footer, dynamic header and locators (:func:`scanner.formats.vhd.read_info`)."""
    with opener(path) as fh:
        return _Info(path, read_info(fh))


def _inspect_or(path: Path, error: type[Exception], opener: Opener = _open_rb) -> _Info:
    try:
        return _inspect(path, opener)
    except (VhdFormatError, struct.error) as exc:
        raise error(f"{path}: not a usable VHD ({exc})") from exc
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from exc


def is_vhd_differencing(path: Path) -> bool:
    """True if ``path`` ends in a valid VHD footer of disk type 4 (differencing). Reads only that footer."""
    try:
        with open(path, "rb") as fh:
            return footer_disk_type(fh) == DIFFERENCING
    except (OSError, VhdFormatError):
        return False


def _candidates(info: _Info) -> list[tuple[str, Path]]:
    """Where the parent may be, in the brief's order: W2ru, W2ku (as given, then its basename), name."""
    folder = info.path.parent
    by_code: dict[str, list[str]] = {}
    for code, text in info.vhd.locators:
        by_code.setdefault(code, []).append(text)
    out: list[tuple[str, Path]] = []
    for code in ("W2ru", "Wi2r"):
        for text in by_code.get(code, []):
            win = PureWindowsPath(text)
            if not win.drive and not win.root:
                out.append((f"{code} locator {text!r}", folder.joinpath(*win.parts)))
    for code in ("W2ku", "Wi2k", "MacX"):
        for text in by_code.get(code, []):
            given = Path(text.removeprefix("\\\\?\\"))
            if given.is_absolute():
                out.append((f"{code} locator {text!r}", given))
            base = PureWindowsPath(text).name if code != "MacX" else Path(text).name
            if base:
                out.append((f"{code} locator basename {base!r}", folder / base))
    if info.vhd.parent_name:
        base = PureWindowsPath(info.vhd.parent_name).name
        if base:
            out.append((f"parent Unicode name {base!r}", folder / base))
    return out


def _check_parent(child: _Info, candidate: Path, opener: Opener) -> tuple[_Info | None, str]:
    """Open a candidate parent; return it if its unique id is the child's parent UUID, else why not."""
    try:
        parent = _inspect(candidate, opener)
    except (VhdFormatError, struct.error, OSError, ValueError) as exc:  # ValueError: a path the OS refuses
        return None, f"{candidate}: not a readable VHD ({exc})"
    if parent.vhd.unique_id != child.vhd.parent_id:
        return None, f"{candidate}: UUID mismatch, its unique id is {parent.vhd.unique_id}"
    if parent.vhd.size != child.vhd.size:
        return None, f"{candidate}: virtual size {parent.vhd.size} differs from the child's {child.vhd.size}"
    return parent, ""


def _timestamp_note(child: _Info, parent: _Info) -> str:
    if child.vhd.parent_timestamp == parent.vhd.timestamp:
        return ""
    note = (f"{child.path.name}: parent time stamp {stamp(child.vhd.parent_timestamp)} differs from "
            f"{parent.path.name}'s {stamp(parent.vhd.timestamp)} (unique ids match; the parent may have been "
            "modified after the snapshot)")
    return note


def _resolve(child: _Info, override: Path | None, opener: Opener) -> tuple[_Info, str]:
    expected = f"{child.vhd.parent_name or '(unnamed)'} with unique id {child.vhd.parent_id}"
    if override is not None:
        parent, why = _check_parent(child, Path(override), opener)
        if parent is None:
            raise IncompleteChainError(f"{child.path}: the given parent does not match ({why}); "
                                       f"the child expects {expected}")
        return parent, _timestamp_note(child, parent)
    rejected: list[str] = []
    seen: set[Path] = {child.path.resolve()}
    for how, path in _candidates(child):
        try:  # a hostile locator can name a path the OS refuses outright (ENAMETOOLONG, ELOOP, EACCES)
            resolved = path.resolve()
            candidate = path.is_file()
        except (OSError, ValueError) as exc:
            rejected.append(f"{how} {str(path)[:80]!r}: {getattr(exc, 'strerror', None) or exc}")
            continue
        if resolved in seen or not candidate:
            continue
        seen.add(resolved)
        parent, why = _check_parent(child, path, opener)
        if parent is not None:
            log.debug("%s: parent %s found via %s", child.path, path, how)
            return parent, _timestamp_note(child, parent)
        rejected.append(why)
    detail = f"; rejected {'; '.join(rejected)}" if rejected else ""
    raise IncompleteChainError(f"{child.path}: parent {expected} not found next to it or at its locators"
                               f"{detail}; pass the parent file explicitly (--parent)")


def resolve_parent(child: Path, override: Path | None = None) -> Path:
    """Find the parent of a differencing VHD and prove it is the right file.

    Tried in order: the W2ru locator relative to the child's folder, the W2ku locator as given (when it is an
    absolute path on this system) and its basename in the child's folder, then the parent Unicode name in
    the child's folder. A candidate is accepted only if its footer unique id equals the child's parent UUID
    (spec "Parent Unique ID"); a differing parent time stamp is logged. ``override`` (CLI ``--parent``)
    replaces the search but must match the UUID too.

    Raises:
        SourceNotFoundError: ``child`` does not exist.
        UnsupportedSourceError: ``child`` is not a VHD differencing disk.
        IncompleteChainError: no matching parent, naming the expected file name and UUID.
    """
    info = _child_info(Path(child))
    if info.vhd.disk_type != DIFFERENCING:
        raise UnsupportedSourceError(f"{child}: not a VHD differencing disk (disk type {info.vhd.disk_type})")
    return _resolve(info, override, _open_rb)[0].path


def _child_info(child: Path, opener: Opener = _open_rb) -> _Info:
    if not child.is_file():
        raise SourceNotFoundError(f"{child}: no such file")
    return _inspect_or(child, UnsupportedSourceError, opener)


class VhdChainStream(io.RawIOBase):
    """Seekable, read-only file-like over a whole VHD chain; reads only the blocks and sectors asked for.

    Attributes:
        size: the virtual disk size in bytes.
        chain: the files, child first.
        notes: warnings found while opening (e.g. a parent time stamp that differs).
    """

    def __init__(self, top: VhdLayer, files: list[BinaryIO], chain: list[Path], notes: list[str]) -> None:
        super().__init__()
        self._top, self._files = top, files
        self.size = top.info.size
        self.chain = list(chain)
        self.notes = tuple(notes)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}.get(whence)
        if base is None or base + offset < 0:
            raise ValueError(f"invalid seek ({offset}, {whence})")
        self._pos = base + offset
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("read from a closed VhdChainStream")
        remaining = max(0, self.size - self._pos)
        length = remaining if size is None or size < 0 else min(size, remaining)
        if length == 0:
            return b""
        first, last = self._pos // SECTOR, -(-(self._pos + length) // SECTOR)
        data = self._top.read(first, last - first)
        skip = self._pos - first * SECTOR
        self._pos += length
        return data[skip : skip + length]

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            for fh in self._files:
                fh.close()
        super().close()


def _resolve_infos(child: Path, parent: Path | None, opener: Opener) -> tuple[list[_Info], list[str]]:
    """Inspect the child and every ancestor (child first), proving each link by unique id."""
    infos = [_child_info(child, opener)]
    if parent is not None and infos[0].vhd.disk_type != DIFFERENCING:
        raise UnsupportedSourceError(f"{child}: a parent was given but this VHD is not a differencing disk")
    notes: list[str] = []
    ids = {infos[0].vhd.unique_id}
    while infos[-1].vhd.disk_type == DIFFERENCING:
        if len(infos) > MAX_CHAIN_DEPTH:
            raise IncompleteChainError(f"{child}: VHD chain deeper than {MAX_CHAIN_DEPTH} files")
        found, note = _resolve(infos[-1], parent if len(infos) == 1 else None, opener)
        if found.vhd.unique_id in ids:
            raise IncompleteChainError(
                f"{found.path}: VHD chain loops back to unique id {found.vhd.unique_id}")
        ids.add(found.vhd.unique_id)
        notes += [note] if note else []
        infos.append(found)
    return infos, notes


def resolve_chain(child: Path, parent: Path | None = None) -> list[Path]:
    """The chain's files, child first, each parent proven by unique id (see :func:`resolve_parent`).

    Raises:
        The errors of :func:`open_vhd_chain`.
    """
    return [info.path for info in _resolve_infos(Path(child), parent, _open_rb)[0]]


def open_vhd_chain(child: Path, parent: Path | None = None, *,
                   opener: Opener = _open_rb) -> tuple[VhdChainStream, list[Path]]:
    """Open a VHD (usually a differencing ``.avhd``) and every ancestor down to its fixed/dynamic base.

    Args:
        child: the disk to read (its state is what the stream presents).
        parent: the child's parent, overriding the locator search (must still match its unique id).
        opener: opens one evidence file read-only; tests pass a counting wrapper.

    Returns:
        The stream and the chain (child first) for provenance.

    Raises:
        SourceNotFoundError, UnsupportedSourceError: the child is missing or not a usable VHD.
        IncompleteChainError: a parent is missing, does not match, or the chain loops or is too deep.
    """
    child = Path(child)
    infos, notes = _resolve_infos(child, parent, opener)
    files: list[BinaryIO] = []
    layer: VhdLayer | None = None
    try:
        for info in reversed(infos):
            files.append(opener(info.path))
            layer = VhdLayer(info.vhd, files[-1], layer, str(info.path))
    except (OSError, VhdFormatError, struct.error) as exc:
        for fh in files:
            fh.close()
        raise UnsupportedSourceError(f"{child}: cannot read the VHD chain ({exc})") from exc
    assert layer is not None
    chain = [info.path for info in infos]
    for info in infos:
        notes += [f"{info.path.name}: {problem}" for problem in info.vhd.problems]
    for note in notes:
        log.warning("%s", note)
    return VhdChainStream(layer, files, chain, notes), chain


def open_chain_container(child: Path, parent: Path | None = None) -> tuple[Any, list[Path]]:
    """A dissect container over the chain: our stream, named ``VhdChainContainer`` (scanner.evidence.kinds).

    dissect's own ``container.open`` would pick ``VhdContainer`` and read the child alone; this container
    presents :class:`VhdChainStream`, the chain's real content, to dissect's volume and file-system layers
    (:mod:`scanner.evidence.image`).

    Raises:
        The errors of :func:`open_vhd_chain`.
    """
    from dissect.target.containers.raw import RawContainer

    class VhdChainContainer(RawContainer):
        __type__ = "vhd-chain"

    stream, chain = open_vhd_chain(child, parent)
    return VhdChainContainer(stream), chain
