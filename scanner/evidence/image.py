"""An image's container, volume and file-system layers, opened with dissect's own APIs and no ``Target``.

Why not ``Target.open``: its ``apply()`` ends in ``_init_os``, which imports every OS plugin module
dissect.target ships (237 modules, many compiling cstruct definitions at import) to guess the OS, then mounts
a root file system: about 1.8 s of a 2.7 s scan of a small image, measured on dissect.target 3.25. patchmortem
uses neither the guess nor the root: it decides "Windows" by its own rule on each volume's file system
(:mod:`scanner.evidence.sysroot`) and reads every artefact through that file system. So this module does what
``Target.apply()`` does *before* the OS step — ``DiskCollection.apply`` and ``VolumeCollection.apply`` in
dissect.target's ``target.py`` — with the same functions (``container.open``'s detection, ``volume.open``,
``filesystem.open``), so partitions come out in the same order, at the same offsets, with the same
file-system classes (tests/scanner/evidence/test_evidence_image.py compares them with dissect's collections).

What is left out, on purpose:
- Fortinet firmware images (:data:`CONTAINERS` says why).
- Linux LVM2 and MD, SNIA DDF RAID sets and VMFS datastores are not assembled, and LUKS/BitLocker volumes are
  not decrypted (dissect needs a key it does not have here): a Windows Server system volume on a disk image is
  none of those, and detecting them imported some 0.2 s of volume-manager definitions per scan. A BitLocker
  volume is still named by its signature (:func:`scanner.evidence.source._explain_no_windows`).
- Multi-volume file systems (btrfs, ZFS) are not assembled.
- dissect's volume loop runs until no new volume system appears, so a partition table nested in itself can
  grow it without end; here at most :data:`MAX_DEPTH` levels and :data:`MAX_VOLUMES` volumes are opened.

Nothing is cached across sources: every call opens its own read-only handles (dissect's containers open files
``rb``), so two sources opened in one process — a fleet worker — never share a container, a volume or a file
system. dissect's own caches are per object (``lru_cache`` bound in ``__init__``: NTFS MFT records and index
buffers, VHD/VHDX BAT entries, VMDK grain and qcow2 L2 tables, E01 chunks; dissect 3.25), as is
:mod:`scanner.evidence.vhdchain`'s bitmap cache, so they die with the source they belong to.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Nested volume-system levels followed (partition table -> partition holding a table -> ...). dissect's own
#: loop is unbounded; a Windows disk's partitions usually hold no table at all (dissect.volume resolves MBR
#: extended partitions itself), so four levels leave room for odd layouts and bound hostile ones.
MAX_DEPTH = 4
#: Volumes opened at most on one source (a GPT holds 128 entries; a hostile table cannot make it grow more).
MAX_VOLUMES = 256


@dataclass
class ImageLayers:
    """One opened image: its disk container, its volumes in dissect's order, and their file systems.

    Attributes:
        containers: the disk container (one: patchmortem opens one image or one chain per source).
        volumes: dissect ``Volume`` objects: the partitions (or the whole disk), then any nested in them.
        filesystems: volume index -> dissect ``Filesystem`` for the volumes holding a recognised one.
        chain: the files read, child first (the image itself, or a legacy VHD chain).
    """

    containers: list[Any]
    volumes: list[Any] = field(default_factory=list)
    filesystems: dict[int, Any] = field(default_factory=dict)
    chain: list[str] = field(default_factory=list)

    def close(self) -> None:
        """Close the containers' file handles (the volumes and file systems read through them)."""
        for disk in self.containers:
            try:
                disk.close()
            except Exception:  # noqa: BLE001 - closing a read-only handle: nothing to lose
                log.debug("closing %r failed", disk, exc_info=True)


def open_image(path: Path, parent: Path | None = None) -> ImageLayers:
    """Open the image file ``path`` (or the legacy VHD chain it heads) down to its file systems.

    Raises:
        The errors of :func:`scanner.evidence.vhdchain.open_chain_container` for a differencing ``.avhd``;
        dissect's errors (``ContainerError``, ``VolumeSystemError``, ``OSError`` ...) for unreadable content,
        which :mod:`scanner.evidence.source` turns into ``UnsupportedSourceError``.
    """
    from scanner.evidence import vhdchain

    if vhdchain.is_vhd_differencing(path):
        disk, files = vhdchain.open_chain_container(path, parent)
        chain = [str(p) for p in files]
    else:
        disk, chain = _open_container(path), [str(path)]
    layers = ImageLayers([disk], chain=chain)
    try:
        layers.volumes = _volumes(disk)
        for index, vol in enumerate(layers.volumes):
            fs = _filesystem(vol)
            if fs is not None:
                vol.fs = fs
                layers.filesystems[index] = fs
    except BaseException:
        layers.close()
        raise
    return layers


#: dissect.target's container registry (``container.py``, 3.25) in its order, less ``FortiFirmwareContainer``:
#: Fortinet firewall firmware is no Windows server's disk, and its module imports dissect's command-line
#: helpers and structlog, measured as the largest single import of a raw image's scan (every other container's
#: detection is tried first, so a raw image used to pay it).
CONTAINERS = (
    ("ewf", "EwfContainer"),
    ("vmdk", "VmdkContainer"),
    ("vhdx", "VhdxContainer"),
    ("vhd", "VhdContainer"),
    ("qcow2", "QCow2Container"),
    ("vdi", "VdiContainer"),
    ("hdd", "HddContainer"),
    ("hds", "HdsContainer"),
    ("split", "SplitContainer"),
)


def _open_container(path: Path) -> Any:
    """The first container whose detection accepts ``path`` (dissect's ``container.open``), else raw bytes."""
    from dissect.target.containers.raw import RawContainer
    from dissect.target.exceptions import ContainerError

    with path.open("rb") as fh:
        for module, name in CONTAINERS:
            try:
                cls = getattr(importlib.import_module(f"dissect.target.containers.{module}"), name)
            except ImportError:  # dissect's rule: a container whose dependency is missing is skipped
                log.debug("container %s unavailable", name, exc_info=True)
                continue
            try:
                fh.seek(0)
                if cls.detect_path(path, path) or cls.detect_fh(fh, path):
                    return cls(path)
            except Exception as exc:  # noqa: BLE001 - as dissect: a container that fails to open is an error
                raise ContainerError(f"Failed to open container {path}") from exc
    return RawContainer(path)


def _disk_volumes(disk: Any) -> list[Any]:
    """The disk's partitions, or the whole disk as one volume (``DiskCollection.apply``)."""
    from dissect.target import volume

    try:
        disk.vs = volume.open(disk)
        if len(disk.vs.volumes):
            return list(disk.vs.volumes)
    except Exception:  # noqa: BLE001 - dissect's own fallback: no partition table, read the disk whole
        log.debug("no volume system on %r: read as one volume", disk, exc_info=True)
    return [volume.Volume(disk, 1, 0, disk.size, None, None, disk=disk)]


def _volumes(disk: Any) -> list[Any]:
    """Every volume (``VolumeCollection.apply`` for partition tables, bounded), in dissect's order."""
    from dissect.target import volume

    entries = _disk_volumes(disk)[:MAX_VOLUMES]
    todo = list(entries)
    for _ in range(MAX_DEPTH):
        found: list[Any] = []
        for vol in todo:
            if vol.offset == 0 and vol.vs is not None and vol.vs.__type__ == "disk":
                continue  # dissect: the disk's own table again, not a nested one
            try:
                nested = volume.open(vol)
            except Exception:  # noqa: BLE001 - dissect's rule: no volume system, so a file system
                continue
            found += list(nested.volumes)
        todo = found[: MAX_VOLUMES - len(entries)]
        if not todo:
            break
        entries += todo
    return entries


def _filesystem(vol: Any) -> Any | None:
    """The file system on ``vol`` as ``filesystem.open`` recognises it, or None."""
    from dissect.target import filesystem
    from dissect.target.exceptions import FilesystemError

    if getattr(vol, "fs", None) is not None:
        return vol.fs
    try:
        return filesystem.open(vol)
    except FilesystemError:
        log.debug("no file system recognised on %r", vol, exc_info=True)
        return None
