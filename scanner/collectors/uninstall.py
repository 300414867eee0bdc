"""Update backup folders under %SystemRoot%: what an update replaced, and when it ran.

Backup folders (Microsoft KB824994, "Description of the contents of a Windows Server 2003 product update
package"): ``$NtUninstall<id>$`` holds the files a hotfix replaced, ``$NtServicePackUninstall$`` the files a
service pack replaced -- their versions are the versions BEFORE the update -- and ``$hf_mig$\\<id>`` holds the
hotfix (QFE-branch) copies of a GDR update for later migration, i.e. versions OF the update.

%SystemRoot% is listed once (its ``$I30`` index, :func:`scanner.evidence.ntfs.listing`), and each backup
folder and its subfolders one level down; never a walk of the volume. The folders need the MFT: a directory
source yields a gap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from scanner.collectors.base import KnowledgeView, SystemVolume
from scanner.collectors.files import file_state
from scanner.evidence import ntfs as mft
from scanner.evidence.errors import READ_ERRORS
from scanner.model import FileState, Gap, Provenance
from scanner.model.codec import JsonRecord, JsonShape
from scanner.model.facts_bundle import Facts

__all__ = ["UninstallFolder", "collect", "collect_uninstall_folders"]

_NT_UNINSTALL = re.compile(r"^\$NtUninstall(.+)\$$", re.IGNORECASE)
_SP_UNINSTALL = "$ntservicepackuninstall$"
_HF_MIG = "$hf_mig$"
_UNINSTALLER_DIR = "spuninst"  # the uninstaller's own binaries, not backups


@dataclass(frozen=True)
class UninstallFolder(JsonRecord):
    """One update's backup folder under %SystemRoot%.

    Attributes:
        path: volume-relative path, e.g. ``WINDOWS\\$NtUninstallKB973917$``.
        update_id: ``KB973917`` / ``Q281402`` from the folder name; None for ``$NtServicePackUninstall$``.
        created_at: ``$STANDARD_INFORMATION`` creation time of the folder (when the update ran).
        fn_created_at: ``$FILE_NAME`` creation time of the folder.
        files: the files in it and in its subfolders one level down (``spuninst`` left out). For
            ``hotfix-backup`` and ``service-pack-backup`` their versions are the versions BEFORE the update.
        sources: where the folder was found.
        kind: ``hotfix-backup`` | ``service-pack-backup`` | ``hotfix-migration`` (``$hf_mig$``).
    """

    path: str
    update_id: str | None
    created_at: datetime | None
    fn_created_at: datetime | None
    files: tuple[FileState, ...]
    sources: tuple[Provenance, ...]
    kind: str = "hotfix-backup"

    json_shape: ClassVar[JsonShape] = JsonShape(order=("path", "update_id", "kind"))  # kind before the times


def _folder(
    record: Any, path: str, name: str, update_id: str | None, kind: str, gaps: list[Gap], hash_files: bool
) -> UninstallFolder:
    """One backup folder: its times and the files in it and one subfolder level down."""
    source = Provenance(path, f"MFT entry {record.segment}")
    si_c = fn_c = None
    files: list[FileState] = []
    try:
        when = mft.times(record, name)
        si_c, fn_c = when.si_created, when.fn_created
        for child_name, child, is_dir in mft.listing(record, path, gaps):
            child_path = f"{path}\\{child_name}"
            if not is_dir:
                files.append(file_state(child, child_path, "", gaps, hash_files))
                continue
            if child_name.lower() == _UNINSTALLER_DIR:
                continue
            for leaf_name, leaf, leaf_is_dir in mft.listing(child, child_path, gaps):
                if not leaf_is_dir:
                    files.append(file_state(leaf, f"{child_path}\\{leaf_name}", "", gaps, hash_files))
    except READ_ERRORS as exc:
        gaps.append(Gap(path, f"folder listing unreadable: {type(exc).__name__}: {exc}", (source,)))
    return UninstallFolder(path, update_id, si_c, fn_c, tuple(files), (source,), kind)


def collect_uninstall_folders(
    fs: Any, system_root: str, *, hash_files: bool = True
) -> tuple[list[UninstallFolder], list[Gap]]:
    """Find the update backup folders in %SystemRoot% with one listing of it, and read their files.

    Args:
        fs: the system volume's dissect filesystem.
        system_root: %SystemRoot% relative to the volume root (``WINDOWS`` / ``WINNT``).
        hash_files: compute SHA-256 of the backed-up files.

    Returns:
        ``$NtUninstall<id>$`` and ``$NtServicePackUninstall$`` folders and one entry per ``$hf_mig$\\<id>``
        (sorted by path), and the gaps.
    """
    ntfs = mft.ntfs_of(fs)
    gaps: list[Gap] = []
    if ntfs is None:
        return [], [Gap(system_root, "the volume is not NTFS: uninstall folders need its MFT")]
    folders: list[UninstallFolder] = []
    try:
        root, root_path = mft.resolve(ntfs, system_root)
        listing = mft.listing(root, root_path, gaps)
        entries = [(f"{root_path}\\{name}", name, rec) for name, rec, is_dir in listing if is_dir]
    except mft.Missing:
        return [], [Gap(system_root, "not present on the volume")]
    except READ_ERRORS as exc:
        return [], [Gap(system_root, f"listing unreadable: {type(exc).__name__}: {exc}")]
    for path, name, record in entries:
        match = _NT_UNINSTALL.match(name)
        if match:
            folders.append(_folder(record, path, name, match.group(1), "hotfix-backup", gaps, hash_files))
        elif name.lower() == _SP_UNINSTALL:
            folders.append(_folder(record, path, name, None, "service-pack-backup", gaps, hash_files))
        elif name.lower() == _HF_MIG:
            try:
                subs = [(sub, rec) for sub, rec, is_dir in mft.listing(record, path, gaps) if is_dir]
            except READ_ERRORS as exc:
                gaps.append(Gap(path, f"listing unreadable: {type(exc).__name__}: {exc}"))
                continue
            for sub, rec in subs:
                folders.append(_folder(rec, f"{path}\\{sub}", sub, sub, "hotfix-migration", gaps, hash_files))
    folders.sort(key=lambda f: f.path.upper())
    return folders, gaps


def collect(volume: SystemVolume, knowledge: KnowledgeView, facts: Facts) -> Facts:
    """The backup folders of %SystemRoot% (see :func:`collect_uninstall_folders`)."""
    folders, gaps = collect_uninstall_folders(volume.fs, volume.windows_dir)
    return facts.adding(uninstall_folders=folders, gaps=gaps)
