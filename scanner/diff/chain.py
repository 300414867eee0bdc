"""The parent of a differencing disk, for ``diff CHILD`` (compare a snapshot with the state before it).

``describe_source(...).chain`` lists the parents only of legacy VHD chains (which patchmortem reads itself);
dissect follows VHDX, VMDK and qcow2 chains inside its containers without saying where the parent is. So
the parent is found here from each format's own header, reading a few kilobytes and no data blocks:

- legacy VHD (``.avhd``): :func:`scanner.evidence.vhdchain.resolve_parent` (locators + unique-id check);
- VHDX (``.avhdx``): the Parent Locator metadata item (MS-VHDX 2.6.2.6), as dissect.hypervisor resolves it;
- qcow2: the header's backing file name (QEMU qcow2 spec, ``backing_file_offset``), relative to the child;
- VMDK: the descriptor's ``parentFileNameHint`` (VMware Virtual Disk Format 1.1, "Disk Descriptor File").
"""

from __future__ import annotations

import re
from pathlib import Path

from scanner.errors import IncompleteChainError, SourceNotFoundError
from scanner.evidence import vhdchain

#: The embedded VMDK descriptor sits in the first sectors (descriptorOffset is 1 for VMware's own tools).
_HEAD_BYTES = 64 * 1024
_VMDK_HINT = re.compile(rb'parentFileNameHint\s*=\s*"([^"\x00\r\n]{1,1024})"')


def _in_folder(child: Path, name: str) -> Path:
    """A parent named relative to the child's folder (or absolute), as the hypervisors resolve it."""
    name = name.replace("\\", "/")
    direct = child.parent / name
    return direct if direct.exists() else child.parent / name.rsplit("/", 1)[-1]


def parent_of(path: Path) -> Path | None:
    """The immediate parent of the differencing disk ``path``, or None when it has none.

    Raises:
        SourceNotFoundError: ``path`` cannot be read.
        IncompleteChainError: it names a parent that is missing or cannot be opened.
    """
    if vhdchain.is_vhd_differencing(path):
        return vhdchain.resolve_parent(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError as exc:
        raise SourceNotFoundError(f"cannot read {path}: {exc.strerror or exc}") from None
    parent: Path | None = None
    if head.startswith(b"vhdxfile"):
        from dissect.hypervisor.disk.vhdx import VHDX

        try:
            disk = VHDX(path)
        except (OSError, ValueError, EOFError) as exc:
            raise IncompleteChainError(f"{path}: cannot open its VHDX parent ({exc})") from None
        parent = Path(disk.parent.path) if disk.parent is not None and disk.parent.path else None
    elif head.startswith(b"QFI\xfb"):
        from dissect.hypervisor.disk.qcow2 import QCow2

        try:
            image = QCow2(path, allow_no_backing_file=True)
        except (OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise IncompleteChainError(f"{path}: cannot read its qcow2 header ({exc})") from None
        name = getattr(image, "auto_backing_file", None) or getattr(image, "image_backing_file", None)
        parent = _in_folder(path, str(name)) if name else None
    elif head.startswith(b"KDMV") or b"# Disk DescriptorFile" in head:
        match = _VMDK_HINT.search(head)
        if match:
            parent = _in_folder(path, match.group(1).decode("utf-8", "replace"))
    if parent is not None and not parent.is_file():
        raise IncompleteChainError(f"{path}: its parent {parent} is missing")
    return parent
