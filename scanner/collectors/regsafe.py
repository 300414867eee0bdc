"""Read a hive one key and one value at a time, so damage stays where it is.

python-registry reads a subkey list as one generator: a single broken ``nk`` cell (regipy's real
``corrupted_system_hive`` has one under ``ControlSet001\\Control``) raises ``ParseException("Invalid NK Record
ID")`` from ``subkeys()``, from ``subkey()`` and so from ``Registry.open()`` of every key listed after it —
``TimeZoneInformation``, ``Windows``, ``Session Manager`` — although their own cells are intact (regipy, which
skips the broken entry, reads them). Here every entry of a subkey list (``lf``/``lh``/``li``, and each list an
``ri`` index points to; spec: Suhanov, "Windows registry file format specification", "Subkeys list") and every
value of a value list is parsed on its own: a broken one is skipped and reported, the others are read.

Paths are the ones we walked (never ``NKRecord.path()``, which follows parent links the data controls), and
every list is capped, so a hostile hive costs bounded work. Each failure becomes one
:class:`~scanner.model.Gap` naming the hive, the key path and the family of facts that may be incomplete
because of it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from Registry import Registry, RegistryParse

from scanner.model import Gap, Provenance

if TYPE_CHECKING:
    from scanner.collectors.hive import HiveRecovery

#: What python-registry raises on hostile bytes (besides its own exceptions).
READ_ERRORS = (
    RegistryParse.RegistryException,
    struct.error,
    UnicodeDecodeError,
    OverflowError,
    IndexError,
    ValueError,
    KeyError,
    TypeError,
    RecursionError,
    MemoryError,
)
MAX_SUBKEYS = 100_000
"""Subkeys read per key: a Windows 10 CBS ``Packages`` key holds some 10,000."""
MAX_VALUES = 10_000
_DIRECT_LISTS = (RegistryParse.LFRecord, RegistryParse.LHRecord, RegistryParse.LIRecord)
UTC = timezone.utc
T = TypeVar("T")


@dataclass(frozen=True)
class Hive:
    """A parsed hive, where it came from (for provenance), and how it was recovered.

    The one hive type (issue 16): :func:`scanner.collectors.hive.open_hive` returns it, every registry family
    reads it. ``recovery`` is None for a hive opened without the log-replay step (tests, fuzzing).
    """

    registry: Registry.Registry
    artifact: str
    note: str = ""  # e.g. "hive replayed with transaction log SOFTWARE.LOG"
    recovery: HiveRecovery | None = None

    @property
    def name(self) -> str:
        """``SOFTWARE`` for ``WINDOWS\\system32\\config\\SOFTWARE``."""
        return self.artifact.replace("/", "\\").rsplit("\\", 1)[-1]

    def reader(self, family: str, gaps: list[Gap]) -> HiveReader:
        """A reader for one family of facts whose failures land in ``gaps``."""
        return HiveReader(self.registry, self.artifact, family, gaps, self.note)


@dataclass(frozen=True)
class Node:
    """A key and the hive-relative path we reached it by (``Microsoft\\Windows NT\\CurrentVersion``)."""

    key: Registry.RegistryKey
    path: str

    @property
    def name(self) -> str:
        return self.path.rsplit("\\", 1)[-1]


@dataclass
class HiveReader:
    """Reads one family of facts from one hive; every key or value that fails is one gap, not an exception.

    Attributes:
        registry: the parsed hive.
        artifact: the hive's path inside the image (``WINDOWS\\system32\\config\\SOFTWARE``).
        family: the facts being read (``software installs``), named in each gap.
        gaps: where the failures go (shared with the caller).
    """

    registry: Registry.Registry
    artifact: str
    family: str
    gaps: list[Gap] = field(default_factory=list)
    note: str = ""

    # -- failures -----------------------------------------------------------------------------------------
    def fail(self, path: str, what: str, exc: BaseException | str) -> None:
        """Record that ``what`` of key ``path`` could not be read."""
        detail = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}".rstrip(": ")
        hive = self.artifact.replace("/", "\\").rsplit("\\", 1)[-1]
        gap = Gap(
            self.family,
            f"{hive} hive key {path or '(root)'}: {what} could not be read ({detail}); "
            f"{self.family} from it may be incomplete",
            (Provenance(self.artifact, path),),
        )
        if gap not in self.gaps:  # the same damaged list met again by the same family is one gap
            self.gaps.append(gap)

    # -- keys ---------------------------------------------------------------------------------------------
    def root(self) -> Node | None:
        try:
            return Node(self.registry.root(), "")
        except READ_ERRORS as exc:
            self.fail("", "the root key", exc)
            return None

    def open(self, path: str) -> Node | None:
        """The key at ``path``, or None when it is absent (no gap) or a key on the way is damaged (a gap)."""
        node = self.root()
        for part in (p for p in path.split("\\") if p):
            if node is None:
                return None
            node = self.subkey(node, part)
        return node

    def subkey(self, node: Node, name: str) -> Node | None:
        """The subkey called ``name`` (case-insensitive), skipping damaged entries of the list."""
        wanted = name.lower()
        children, errors = self._children(node, MAX_SUBKEYS)
        if errors:  # the key is damaged even if the one we want is intact (or one of the broken entries)
            self._report(node.path, "subkey entries", errors)
        return next((child for child in children if child.name.lower() == wanted), None)

    def subkeys(self, node: Node, limit: int = MAX_SUBKEYS) -> list[Node]:
        """Every readable subkey (at most ``limit``); damaged entries are one gap for the key."""
        children, errors = self._children(node, limit)
        if errors:
            self._report(node.path, "subkey entries", errors)
        return children

    def _report(self, path: str, what: str, errors: list[str]) -> None:
        shown = "; ".join(errors[:3]) + (f" and {len(errors) - 3} more" if len(errors) > 3 else "")
        self.fail(path, f"{what}", f"{len(errors)} failure(s): {shown}")

    def _children(self, node: Node, limit: int) -> tuple[list[Node], list[str]]:
        errors: list[str] = []
        out: list[Node] = []
        try:
            nk = node.key._nkrecord
            if nk.subkey_number() == 0:
                return [], []
            top = nk.subkey_list()
            lists = self._direct_lists(top, errors)
        except RegistryParse.RegistryStructureDoesNotExist:
            return [], []
        except READ_ERRORS as exc:
            errors.append(f"its subkey list: {type(exc).__name__}: {exc}")
            lists = []
        for lst in lists:
            try:
                count = lst._keys_len()
            except READ_ERRORS as exc:
                errors.append(f"a subkey list: {exc}")
                continue
            step = 4 if isinstance(lst, RegistryParse.LIRecord) else 8
            for index in range(count):
                if len(out) >= limit:
                    errors.append(f"more than {limit} subkeys; the rest were not read")
                    break
                try:
                    offset = lst.abs_offset_from_hbin_offset(lst.unpack_dword(4 + step * index))
                    cell = RegistryParse.HBINCell(lst._buf, offset, lst)
                    child = RegistryParse.NKRecord(lst._buf, cell.data_offset(), lst)
                    name = child.name()
                except READ_ERRORS as exc:
                    errors.append(f"subkey entry {index}: {type(exc).__name__}: {exc}")
                    continue
                if "\\" in name or not name:
                    errors.append(f"subkey entry {index}: invalid name {name!r}")
                    continue
                out.append(Node(Registry.RegistryKey(child), f"{node.path}\\{name}".lstrip("\\")))
        return out, errors

    @staticmethod
    def _direct_lists(top: Any, errors: list[str]) -> list[Any]:
        """An ``lf``/``lh``/``li`` list as is; an ``ri`` index as the direct lists it points to."""
        if isinstance(top, _DIRECT_LISTS):
            return [top]
        if not isinstance(top, RegistryParse.RIRecord):
            errors.append(f"unsupported subkey list {type(top).__name__}")
            return []
        lists = []
        for index in range(min(top._keys_len(), MAX_SUBKEYS)):
            try:
                offset = top.abs_offset_from_hbin_offset(top.unpack_dword(4 + 4 * index))
                child = RegistryParse.HBINCell(top._buf, offset, top).child()
            except READ_ERRORS as exc:
                errors.append(f"index entry {index}: {type(exc).__name__}: {exc}")
                continue
            if isinstance(child, _DIRECT_LISTS):
                lists.append(child)
            else:
                errors.append(f"index entry {index}: not a subkey list")
        return lists

    # -- values and times ---------------------------------------------------------------------------------
    def values(self, node: Node) -> dict[str, Any]:
        """Every readable value by name; a value whose cell, name or data does not decode is skipped."""
        out: dict[str, Any] = {}
        errors: list[str] = []
        try:
            nk = node.key._nkrecord
            number = nk.values_number()
            if not number:
                return out
            vlist = nk.values_list()
        except RegistryParse.RegistryStructureDoesNotExist:
            return out
        except READ_ERRORS as exc:
            self.fail(node.path, "its value list", exc)
            return out
        for index in range(min(number, MAX_VALUES)):
            try:
                offset = vlist.abs_offset_from_hbin_offset(vlist.unpack_dword(4 * index))
                cell = RegistryParse.HBINCell(vlist._buf, offset, vlist)
                value = Registry.RegistryValue(RegistryParse.VKRecord(vlist._buf, cell.data_offset(), vlist))
                name = value.name()
                out.setdefault(name, value.value())
            except READ_ERRORS as exc:
                errors.append(f"value {index}: {type(exc).__name__}: {exc}")
        if number > MAX_VALUES:
            errors.append(f"more than {MAX_VALUES} values; the rest were not read")
        if errors:
            self._report(node.path, "values", errors)
        return out

    def timestamp(self, node: Node) -> datetime | None:
        """The key's last-write time (UTC), or None when it does not decode."""
        try:
            stamp = node.key._nkrecord.timestamp()
        except READ_ERRORS as exc:
            self.fail(node.path, "its last-write time", exc)
            return None
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)

    def provenance(self, node: Node, value: str = "") -> Provenance:
        return Provenance(self.artifact, f"{node.path}\\{value}" if value else node.path, self.note)


def guarded(family: str, hive: Hive, gaps: list[Gap], read: Callable[[HiveReader], T], empty: T) -> T:
    """Run one family's reader; a failure the per-key guards did not catch costs this family only.

    The per-key guards above are the design; this is the backstop that keeps "one family fails alone" true
    even for a failure nobody foresaw (the family's result is then ``empty`` and a gap says so).
    """
    reader = hive.reader(family, gaps)
    try:
        return read(reader)
    except READ_ERRORS as exc:
        reader.fail("", "the family as a whole", exc)
        return empty


def value_text(value: Any) -> str | None:
    """A registry value as text for a fact: REG_MULTI_SZ joined by ``;``, binary as hex, NULs trimmed."""
    if value is None:
        return None
    if isinstance(value, list):
        return ";".join(str(v) for v in value if v)
    if isinstance(value, bytes):
        return value.hex()
    return str(value).rstrip("\x00")


def signed_dword(value: Any) -> int:
    """A REG_DWORD read as signed; another type (a hostile REG_SZ where a DWORD belongs) counts as 0."""
    if not isinstance(value, int):
        return 0
    return value - (1 << 32) if value >= 1 << 31 else value
