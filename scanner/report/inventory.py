"""Inventory reports: the versioned JSON contract and the terminal summary.

The JSON field names documented in ``schemas/inventory.schema.json`` are a contract other tools consume:
add fields, never rename them. Bump ``SCHEMA_VERSION``'s minor number when adding fields, the major number
never without a migration note in the README.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console

from scanner.model import Inventory
from scanner.render.meta import RunMeta
from scanner.render.text import line

# 1.3 (issue 16): updates' cbs_state; each time claim's clock and anchor
SCHEMA_VERSION = "1.3"  # 1.2: updates' hotfix_service_pack, package_name, uninstall_command
# 1.1: folders[]; tool_version, profiles_version, scanned_at


def inventory_parts(inv: Inventory) -> dict[str, Any]:
    """Each JSON section of an inventory, by its contract name (shared by the inventory and scan JSON).

    The order is the inventory contract's; ``scan_to_dict`` picks the same sections in its own order, so the
    two contracts cannot drift apart.
    """
    return {
        "source": inv.source,
        "system": inv.system.to_dict() if inv.system else None,
        "updates": [u.to_dict() for u in inv.updates],
        "files": [f.to_dict() for f in inv.files],
        "folders": [f.to_dict() for f in inv.folders],
        "uninstall_folders": [f.to_dict() for f in inv.uninstall_folders],
        "pending_renames": [
            {
                "source": p.source,
                "destination": p.destination,
                "replace_existing": p.replace_existing,
                "sources": [s.to_dict() for s in p.sources],
            }
            for p in inv.pending_renames
        ],
        "facts": [{"name": n, "value": v, "sources": [p.to_dict()]} for n, v, p in inv.facts],
        "software": [a.to_dict() for a in inv.software],
        "gaps": [g.to_dict() for g in inv.gaps],
    }


def inventory_to_dict(inv: Inventory, meta: RunMeta | None = None) -> dict[str, Any]:
    """The inventory as plain JSON-ready data (``schema_version`` first, then how and when it was made:
    :mod:`scanner.render.meta`)."""
    return {"schema_version": SCHEMA_VERSION, **(meta or RunMeta.start()).to_dict(), **inventory_parts(inv)}


def _sp_text(level: int | None) -> str:
    """The SP level when no CSDVersion text names it (SYSTEM's DWORD alone, RTM, or nothing attests it)."""
    if level is None:
        return "(service pack not attested)"
    return f"Service Pack {level}" if level else "(no service pack)"


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}Z" if value else "-"


def print_inventory(inv: Inventory, console: Console) -> None:
    """A readable summary: system, updates, component files, pending operations, gaps.

    One record per line, key first (the update id, the file's path and version), so a pipe can be grepped;
    a record wider than the console wraps with a hanging indent (:func:`scanner.render.text.line`). Every
    string is evidence, printed literally, never read as markup.
    """
    s = inv.system
    if s is not None:
        line(
            console,
            (s.product or "unknown product", "bold"),
            f" {s.version or '?'} {s.csd_version or _sp_text(s.service_pack)} {s.architecture or ''}"
            f" — host {s.hostname or '?'}",
        )
        tz = (s.timezone.standard_name or s.timezone.key_name) if s.timezone else "unknown time zone"
        line(console, f"installed {_when(s.install_date)}, %SystemRoot% = {s.system_root}, {tz}")
    console.print()
    line(console, ("Updates recorded in the registry", "bold"), f" ({len(inv.updates)})")
    for u in inv.updates:
        precision = f" ({u.precision})" if u.precision else ""
        folder = f"  SP folder {u.sp_folder}" if u.sp_folder else ""
        line(
            console,
            "  ",
            (u.id, "bold"),
            f"  {u.kind}  {u.state}  {_when(u.installed_at)}{precision}{folder}  {len(u.sources)} source(s)",
            hang=6,
        )
    console.print()
    line(console, ("Component files on disk", "bold"), f" ({len(inv.files)})")
    for f in inv.files:
        lab = f" ({f.lab_tag})" if f.lab_tag else ""
        times = f"built {_when(f.modified_at)}  created {_when(f.created_at)}"
        line(
            console,
            "  ",
            (f.path, "bold"),
            f"  {f.version or 'no version'}{lab}  {times}",
            hang=6,
        )
    if inv.folders:
        console.print()
    for folder in inv.folders:
        line(console, _folder_line(folder))
    if inv.pending_renames:
        console.print()
        line(console, ("Pending file renames (next boot)", "bold"), f" ({len(inv.pending_renames)})")
        for p in inv.pending_renames:
            line(console, f"  {p.source} -> {p.destination or '(delete)'}", hang=6)
    if inv.facts:
        console.print()
    for name, value, where in inv.facts:
        line(console, f"{name}: {value}  ", (f"({where.artifact} {where.locator})", "dim"))
    if inv.gaps:
        console.print()
        line(console, ("Not checked", "bold yellow"), f" ({len(inv.gaps)})")
        for g in inv.gaps:
            line(console, "  ", ("•", "yellow"), f" {g.what}: {g.reason}", hang=4)


def _folder_line(folder: Any) -> str:
    """One line per component folder: what its listing held and what reading it cost."""
    if not folder.present:
        return f"folder {folder.path} ({folder.component}): {folder.gap}"
    if folder.lookup_only:
        found = f"{folder.pe_files} listed file(s) found by name"
        return f"folder {folder.path} ({folder.component}, looked up, not listed): {found}"
    cost = f"{folder.listings} listing(s), {folder.mft_records} MFT records, {folder.bytes_read} file bytes"
    line = (
        f"folder {folder.path} ({folder.component}): {folder.entries} entries, {folder.pe_files} PE files "
        f"({folder.unlisted} not in the profile), {folder.not_pe} other files; read {cost}"
    )
    return line + (f"; not read: {folder.gap}" if folder.gap else "")
