"""Open an evidence source read-only through dissect's container, volume and file-system layers and find its
Windows system volume(s).

This is the first stage of the pipeline. It answers "what did the user hand us?" — container format, disks,
volumes, file systems, and which volumes hold a Windows directory — before any collector runs. An image is
opened by :mod:`scanner.evidence.image` (dissect's own APIs, without a ``Target`` and its OS plugins);
dissect opens every container with ``rb`` file handles; nothing here opens evidence for writing. Folders (and
zips of them) — mounted volumes, partial triage folders, KAPE and Velociraptor collections — are laid out by
:mod:`scanner.evidence.triage`; what "the Windows directory" is, is defined once in
:mod:`scanner.evidence.sysroot`.

dissect opens an empty file, an all-zero disk or a truncated VHD *without* an exception (tooling notes,
measured on dissect.target 3.25), so "no Windows" is decided here, by looking for a Windows directory on each
file system; the source's ``os`` says ``windows`` exactly when one was found. Legacy VHD differencing disks
(.avhd) are opened through :mod:`scanner.evidence.vhdchain`, because dissect would read the child alone and
return zeros for everything the snapshot did not change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from scanner.errors import NoWindowsError, SourceNotFoundError, UnsupportedSourceError
from scanner.evidence.sysroot import find_windows_dir
from scanner.model import Gap, Provenance
from scanner.model.codec import JsonRecord, JsonShape

if TYPE_CHECKING:
    from scanner.evidence.image import ImageLayers

log = logging.getLogger(__name__)

#: The name artefact paths are looked up under when a folder source holds no Windows directory at all (only
#: IIS logs): Windows' default, used to look for pieces, never reported as a fact.
ASSUMED_WINDOWS_DIR = "Windows"


@dataclass(frozen=True)
class VolumeDescription(JsonRecord):
    """One volume dissect found (or a folder source's drive root), and whether it holds a Windows directory.

    ``drive`` and ``roots`` are set for folder sources only: the drive letter the layout names and the
    folder(s) inside the source that stand for that drive's root (``uploads/auto/C%3A``); ``iis_root`` is
    the ``inetpub`` folder a triage folder may hold without any Windows directory.
    """

    index: int
    offset: int
    size: int
    filesystem: str | None
    windows_dir: str | None
    drive: str | None = None
    roots: tuple[str, ...] = ()
    iis_root: str | None = None


@dataclass(frozen=True)
class SourceDescription(JsonRecord):
    """What an evidence source is, as far as the container and volume layers can tell."""

    path: str
    size: int
    containers: list[str]
    volumes: list[VolumeDescription] = field(default_factory=list)
    os: str = "unknown"  # "windows" when a volume holds a Windows directory (sysroot's rule), else unknown
    chain: list[str] = field(default_factory=list)
    layout: str = "image"  # image | directory | triage | kape | velociraptor (scanner.evidence.triage)
    notes: list[str] = field(default_factory=list)  # parts of a collection seen and not read

    json_shape: ClassVar[JsonShape] = JsonShape(
        computed={"windows_volumes": lambda s: [v.index for v in s.windows_volumes]}
    )

    @property
    def windows_volumes(self) -> list[VolumeDescription]:
        return [v for v in self.volumes if v.windows_dir]

    @property
    def scannable_volumes(self) -> list[VolumeDescription]:
        """Windows volumes; for a folder source without any, the drive roots holding IIS's ``inetpub``."""
        return self.windows_volumes or [v for v in self.volumes if v.iis_root and self.layout != "image"]

    def to_text(self) -> str:
        lines = [f"source:     {self.path} ({self.size} bytes)"]
        if self.layout != "image":
            lines.append(f"layout:     {self.layout}")
        else:
            kinds = ", ".join(_kinds(self.containers, self.chain)) or "none"
            lines += [f"containers: {kinds}", f"os:         {self.os}"]
        if len(self.chain) > 1:
            lines.append(f"chain:      {' -> '.join(self.chain)}")
        for v in self.volumes:
            where = f"  Windows directory: {v.windows_dir}" if v.windows_dir else ""
            if v.roots or self.layout != "image":
                drive = f"{v.drive}: " if v.drive else ""
                roots = ", ".join(r or "." for r in v.roots)
                iis = f"  IIS root: {v.iis_root}" if v.iis_root and not v.windows_dir else ""
                lines.append(f"volume {v.index}: {drive}folder {roots} ({v.filesystem}){where}{iis}")
            else:
                fs = v.filesystem or "no file system"
                lines.append(f"volume {v.index}: offset {v.offset}, {v.size} bytes, {fs}{where}")
        lines += [f"not read:   {note}" for note in self.notes]
        return "\n".join(lines)


@dataclass
class Evidence:
    """An opened source: its image layers (None for a folder), its description, its volumes' file systems."""

    image: ImageLayers | None
    description: SourceDescription
    filesystems: dict[int, Any]  # volume index -> dissect filesystem

    def close(self) -> None:
        """Close the image's file handles; the file systems cannot be read afterwards."""
        if self.image is not None:
            self.image.close()

    def __enter__(self) -> Evidence:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def system_volume(self, choice: int | None = None) -> tuple[VolumeDescription, Any]:
        """The Windows volume to scan: ``choice`` (``--system N``) or the first one found."""
        candidates = self.description.scannable_volumes
        if choice is not None:
            for volume in candidates:
                if volume.index == choice:
                    return volume, self.filesystems[volume.index]
            indexes = ", ".join(str(v.index) for v in candidates)
            raise NoWindowsError(f"volume {choice} holds no Windows directory (Windows volumes: {indexes})")
        volume = candidates[0]
        return volume, self.filesystems[volume.index]

    def gaps(self, volume: VolumeDescription) -> list[Gap]:
        """What the source lacks: a folder source's Windows directory, collection parts not read."""
        gaps = [Gap("source", note, (Provenance(self.description.path),)) for note in self.description.notes]
        if volume.windows_dir is None:
            where = ", ".join(r or "." for r in volume.roots)
            gaps.append(Gap(
                "Windows directory",
                f"the {self.description.layout} source holds none (only {volume.iis_root}); hives, "
                f"event logs and servicing logs were looked for under {ASSUMED_WINDOWS_DIR!r}: absent",
                (Provenance(where or self.description.path),),
            ))
        return gaps


def _source_size(path: Path) -> int:
    if path.is_dir():
        return 0
    return path.stat().st_size


def _open_image(path: Path, parent: Path | None) -> ImageLayers:
    """The image's container, volume and file-system layers (:mod:`scanner.evidence.image`)."""
    from scanner.evidence.errors import READ_ERRORS
    from scanner.evidence.image import open_image
    from scanner.evidence.vhdchain import is_vhd_differencing

    if parent is not None and not is_vhd_differencing(path):
        raise UnsupportedSourceError(f"{path}: --parent applies only to a VHD differencing disk (.avhd)")
    try:
        return open_image(path, parent)
    except READ_ERRORS as exc:
        raise UnsupportedSourceError(f"{path}: cannot open as a disk image ({exc})") from exc


def _directory_evidence(path: Path) -> Evidence:
    """A folder that is no collection (:mod:`scanner.evidence.triage`): read as one volume, the folder itself.

    Reached only when the folder holds no Windows artefact the triage layouts know, so it ends in
    :class:`NoWindowsError` unless :func:`find_windows_dir` sees more than the layouts did.
    """
    from dissect.target.filesystems.dir import DirectoryFilesystem

    fs = DirectoryFilesystem(path)
    volumes = [VolumeDescription(0, 0, 0, "dir", find_windows_dir(fs))]
    description = SourceDescription(str(path), 0, [], volumes, _os_of(volumes), [str(path)])
    if not description.windows_volumes:
        raise NoWindowsError(f"{path}: no Windows system volume found (file systems: dir)")
    return Evidence(None, description, {0: fs})


def open_evidence(path: Path, *, parent: Path | None = None) -> Evidence:
    """Open ``path`` read-only and find its Windows volumes.

    Raises:
        SourceNotFoundError: the path does not exist or is not readable.
        UnsupportedSourceError: dissect cannot open it as a disk image.
        IncompleteChainError: a differencing disk's parent is missing or does not match.
        NoWindowsError: it opened, but no volume holds a Windows directory.
    """
    if not path.exists():
        raise SourceNotFoundError(f"{path}: no such file or directory")
    if path.is_file() and path.stat().st_size == 0:
        raise UnsupportedSourceError(f"{path}: empty file")
    if parent is not None and not parent.exists():
        raise SourceNotFoundError(f"{parent}: no such file or directory (--parent)")

    if parent is None and (path.is_dir() or (path.is_file() and path.suffix.lower() == ".zip")):
        from scanner.evidence.triage import open_collection

        collection = open_collection(path)
        if collection is not None:
            return _collection_evidence(path, collection)
    if path.is_dir():
        if parent is not None:
            raise UnsupportedSourceError(f"{path}: --parent applies only to a VHD differencing disk (.avhd)")
        return _directory_evidence(path)
    image = _open_image(path, parent)
    try:
        volumes = [
            VolumeDescription(
                index,
                int(volume.offset or 0),
                int(volume.size or 0),
                getattr(image.filesystems.get(index), "__type__", None),
                find_windows_dir(image.filesystems[index]) if index in image.filesystems else None,
            )
            for index, volume in enumerate(image.volumes)
        ]
        containers = [type(disk).__name__ for disk in image.containers]
        description = SourceDescription(
            str(path), _source_size(path), containers, volumes, _os_of(volumes), image.chain
        )
        if not description.windows_volumes:
            _explain_no_windows(path, image.volumes, volumes)
    except BaseException:
        image.close()
        raise
    return Evidence(image, description, dict(image.filesystems))


def _os_of(volumes: list[VolumeDescription]) -> str:
    """``windows`` when a volume holds a Windows directory (:mod:`scanner.evidence.sysroot`), else unknown."""
    return "windows" if any(v.windows_dir for v in volumes) else "unknown"


def _collection_evidence(path: Path, collection: Any) -> Evidence:
    """Evidence over a folder source's drive roots (see :mod:`scanner.evidence.triage`)."""
    volumes = [
        VolumeDescription(i, 0, 0, d.fs.__type__, d.windows_dir, d.drive, d.roots, d.iis_root)
        for i, d in enumerate(collection.drives)
    ]
    description = SourceDescription(
        str(path), _source_size(path), [], volumes, "unknown", [str(path)], collection.layout,
        list(collection.notes),
    )
    return Evidence(None, description, {i: d.fs for i, d in enumerate(collection.drives)})


#: Volume boot-sector signatures of encrypted volumes (BitLocker "-FVE-FS-" at offset 3).
_ENCRYPTED_SIGNATURES = {b"-FVE-FS-": "BitLocker-encrypted"}


#: Non-Windows file systems dissect's core does not mount, recognised only to say what the disk holds.
_FOREIGN_SIGNATURES = (
    (1080, b"\x53\xef", "ext2/3/4"),
    (0, b"XFSB", "xfs"),
    (3, b"EXFAT   ", "exfat"),
    (32, b"NXSB", "apfs"),
)


def _explain_no_windows(path: Path, opened: list[Any], volumes: list[VolumeDescription]) -> None:
    """Raise the most precise error for a source without a Windows volume (``opened``: dissect's volumes)."""
    if path.is_file() and path.suffix.lower() in (".vhd", ".avhd") and _vhd_truncated(path):
        raise UnsupportedSourceError(f"{path}: truncated VHD: its footer is missing from the end of the file")
    foreign: set[str] = set()
    for index, volume in enumerate(opened):
        try:
            volume.seek(0)
            head = volume.read(2048)
        except Exception:  # noqa: BLE001 - unreadable volume: nothing to recognise
            continue
        for signature, what in _ENCRYPTED_SIGNATURES.items():
            if head[3 : 3 + len(signature)] == signature:
                raise UnsupportedSourceError(f"{path}: volume {index} is {what}; decrypt it before scanning")
        for offset, magic, name in _FOREIGN_SIGNATURES:
            if head[offset : offset + len(magic)] == magic:
                foreign.add(name)
    found = sorted({v.filesystem for v in volumes if v.filesystem} | foreign)
    if found:
        raise NoWindowsError(f"{path}: no Windows system volume found (file systems: {', '.join(found)})")
    if path.is_file() and _leading_zeros(path):
        raise NoWindowsError(
            f"{path}: blank disk: no partition table or file system, the first 64 KiB are zeros"
        )
    raise UnsupportedSourceError(f"{path}: not a recognised disk image, partition table or file system")


def _vhd_truncated(path: Path) -> bool:
    """A VHD ends with its 512-byte footer ("conectix"); a truncated copy has only the copy at offset 0."""
    with path.open("rb") as fh:
        head = fh.read(8)
        if path.stat().st_size < 512:
            return head == b"conectix"
        fh.seek(-512, 2)
        tail = fh.read(8)
    return head == b"conectix" and tail != b"conectix"


def _leading_zeros(path: Path) -> bool:
    with path.open("rb") as fh:
        return not any(fh.read(64 * 1024))


def describe_source(path: Path, *, parent: Path | None = None) -> SourceDescription:
    """Open ``path`` read-only and describe it (see :func:`open_evidence`)."""
    return open_evidence(path, parent=parent).description


def _kinds(containers: list[str], chain: list[str]) -> list[str]:
    """Issue 18: container kinds as people name them (scanner/evidence/kinds.py), not class names."""
    from scanner.evidence.kinds import container_kind

    return [container_kind(name, chained=len(chain) > 1) for name in containers]
