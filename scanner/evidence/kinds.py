"""Container kinds as people name them (issue 18): ``describe`` and the reports say "VHD differencing chain"
or "E01 (EnCase)", not dissect's class names (``VhdChainContainer``, ``EwfContainer``).

The JSON contracts keep the class names in ``containers`` (a value tools may already match on); this is
only how the text and the HTML/Markdown reports word them.
"""

from __future__ import annotations

#: dissect.target / patchmortem container class name -> what an investigator calls that image format.
CONTAINER_KINDS = {
    "VhdContainer": "VHD (Hyper-V / Virtual PC)",
    "VhdChainContainer": "VHD differencing chain",
    "VhdxContainer": "VHDX (Hyper-V)",
    "VmdkContainer": "VMDK (VMware)",
    "QCow2Container": "QCOW2 (QEMU)",
    "VdiContainer": "VDI (VirtualBox)",
    "HddContainer": "HDD (Parallels)",
    "EwfContainer": "E01 (EnCase / Expert Witness)",
    "RawContainer": "raw disk image (dd)",
    "SplitContainer": "split raw image (.001, .002, …)",
    "AsdfContainer": "ASDF (dissect)",
}
#: Formats whose differencing disks dissect opens as one container of the child's class.
_CHAINABLE = {"VhdxContainer": "VHDX differencing chain", "VmdkContainer": "VMDK snapshot chain",
              "QCow2Container": "QCOW2 backing-file chain"}  # fmt: skip


def container_kind(class_name: str, chained: bool = False) -> str:
    """The human name of a container class; ``chained`` when the source has a parent chain."""
    if chained and class_name in _CHAINABLE:
        return _CHAINABLE[class_name]
    known = CONTAINER_KINDS.get(class_name)
    if known is not None:
        return known
    return class_name.removesuffix("Container") or class_name
