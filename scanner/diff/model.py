"""The ``diff`` result: frozen dataclasses whose ``to_dict`` (the model's codec) is the diff JSON contract.

Field names are a contract (README "``diff``", ``schemas/diff.schema.json``): add, never rename. Every value
is copied from one of the two scan JSON documents (strings and ISO-8601 UTC times as they were written), so
the diff claims nothing the scans did not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scanner.model.codec import JsonRecord

DIFF_SCHEMA_VERSION = "1.1"  # 1.1: tool_version, profiles_version, scanned_at


@dataclass(frozen=True)
class Side(JsonRecord):
    """What one side of the comparison is: a label (path, ``parent of X``) and the system it describes."""

    label: str
    source: str | None
    hostname: str | None
    product: str | None
    service_pack: int | None
    csd_version: str | None


@dataclass(frozen=True)
class Verdict(JsonRecord):
    """The three facts that make a post-mortem's verdict (``diagnosis`` of the scan JSON)."""

    failure_onset: str | None
    trigger: str | None
    latent_cause: str | None
    summary: str | None = None


@dataclass(frozen=True)
class UpdateRef(JsonRecord):
    """One update as a side records it (``updates[]``)."""

    id: str
    kind: str | None
    state: str | None
    installed_at: str | None
    description: str | None = None


@dataclass(frozen=True)
class UpdateChange(JsonRecord):
    """An update both sides record whose state or install time differs."""

    id: str
    before: UpdateRef
    after: UpdateRef


@dataclass(frozen=True)
class FileRef(JsonRecord):
    """A component file on one side: its version resource and NTFS times."""

    path: str
    component: str | None
    version: str | None
    lab_tag: str | None
    modified_at: str | None = None
    created_at: str | None = None


@dataclass(frozen=True)
class Attribution(JsonRecord):
    """Which update changed a file, by which rule, and the evidence for it.

    ``rule``: ``recorded-file`` (the update's ``Filelist``/file list names the file) or ``install-time``
    (the update's install time is within the file/install window, ``profiles/windows.toml``, of the
    file's new creation or modification time).
    """

    update: str
    rule: str
    evidence: str


@dataclass(frozen=True)
class FileChange(JsonRecord):
    """A component file whose version or lab tag differs between the sides, and what did it."""

    path: str
    before: FileRef
    after: FileRef
    changed_by: Attribution | None


@dataclass(frozen=True)
class RenameRef(JsonRecord):
    """A PendingFileRenameOperations pair (destination ``""`` = delete at next boot)."""

    source: str
    destination: str


@dataclass(frozen=True)
class FindingRef(JsonRecord):
    """A finding, identified by its rule and the files it names."""

    rule: str
    severity: str | None
    title: str | None
    files: tuple[str, ...]


@dataclass(frozen=True)
class ScanDiff(JsonRecord):
    """What changed from BEFORE to AFTER, at the level of a patch post-mortem (not a file dump)."""

    before: Side
    after: Side
    headline: str
    verdict_changed: bool
    verdict_before: Verdict
    verdict_after: Verdict
    service_pack_changed: bool
    updates_added: tuple[UpdateRef, ...] = ()
    updates_removed: tuple[UpdateRef, ...] = ()
    updates_changed: tuple[UpdateChange, ...] = ()
    files_changed: tuple[FileChange, ...] = ()
    files_added: tuple[FileRef, ...] = ()
    files_removed: tuple[FileRef, ...] = ()
    renames_appeared: tuple[RenameRef, ...] = ()
    renames_disappeared: tuple[RenameRef, ...] = ()
    findings_new: tuple[FindingRef, ...] = ()
    findings_gone: tuple[FindingRef, ...] = ()
    timeline_new: tuple[tuple[str, int], ...] = ()  # (kind, entries AFTER has that BEFORE lacks)
    timeline_sizes: tuple[int, int] = (0, 0)
    notes: tuple[str, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        """True when nothing a post-mortem cares about differs (the timeline included)."""
        return not (
            self.verdict_changed
            or self.service_pack_changed
            or self.updates_added
            or self.updates_removed
            or self.updates_changed
            or self.files_changed
            or self.files_added
            or self.files_removed
            or self.renames_appeared
            or self.renames_disappeared
            or self.findings_new
            or self.findings_gone
            or self.timeline_new
        )

    def to_dict(self) -> dict[str, Any]:
        """The diff JSON contract (``schemas/diff.schema.json``), keys in documented order.

        Written by hand, not by the codec: the contract groups the fields into sections (verdict, updates,
        files, ...) and adds the schema version and ``is_empty``; it is not this record's fields.
        """
        return {
            "schema_version": DIFF_SCHEMA_VERSION,
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "is_empty": self.is_empty,
            "headline": self.headline,
            "verdict": {
                "changed": self.verdict_changed,
                "before": self.verdict_before.to_dict(),
                "after": self.verdict_after.to_dict(),
            },
            "service_pack": {
                "changed": self.service_pack_changed,
                "before": {"level": self.before.service_pack, "csd_version": self.before.csd_version},
                "after": {"level": self.after.service_pack, "csd_version": self.after.csd_version},
            },
            "updates": {
                "added": [u.to_dict() for u in self.updates_added],
                "removed": [u.to_dict() for u in self.updates_removed],
                "changed": [u.to_dict() for u in self.updates_changed],
            },
            "files": {
                "changed": [f.to_dict() for f in self.files_changed],
                "added": [f.to_dict() for f in self.files_added],
                "removed": [f.to_dict() for f in self.files_removed],
            },
            "pending_renames": {
                "appeared": [r.to_dict() for r in self.renames_appeared],
                "disappeared": [r.to_dict() for r in self.renames_disappeared],
            },
            "findings": {
                "new": [f.to_dict() for f in self.findings_new],
                "gone": [f.to_dict() for f in self.findings_gone],
            },
            "timeline": {
                "entries_before": self.timeline_sizes[0],
                "entries_after": self.timeline_sizes[1],
                "new_in_after": dict(self.timeline_new),
            },
            "notes": list(self.notes),
        }
