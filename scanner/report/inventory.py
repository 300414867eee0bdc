"""Inventory reports: the versioned JSON contract and the terminal summary.

The JSON field names documented in ``schemas/inventory.schema.json`` are a contract other tools consume:
add fields, never rename them. Bump ``SCHEMA_VERSION``'s minor number when adding fields, the major number
never without a migration note in the README.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from scanner.model import Inventory
from scanner.report.meta import RunMeta

SCHEMA_VERSION = "1.1"  # 1.1: folders[]; tool_version, profiles_version, scanned_at


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
    :mod:`scanner.report.meta`)."""
    return {"schema_version": SCHEMA_VERSION, **(meta or RunMeta.start()).to_dict(), **inventory_parts(inv)}


def _sp_text(level: int | None) -> str:
    """The SP level when no CSDVersion text names it (SYSTEM's DWORD alone, RTM, or nothing attests it)."""
    if level is None:
        return "(service pack not attested)"
    return f"Service Pack {level}" if level else "(no service pack)"


def print_inventory(inv: Inventory, console: Console) -> None:
    """A readable summary: system, updates, component files, pending operations, gaps."""
    s = inv.system
    if s is not None:
        console.print(
            f"[bold]{s.product or 'unknown product'}[/bold] {s.version or '?'} "
            f"{s.csd_version or _sp_text(s.service_pack)} {s.architecture or ''} — host {s.hostname or '?'}"
        )
        tz = (s.timezone.standard_name or s.timezone.key_name) if s.timezone else "unknown time zone"
        installed = s.install_date.isoformat() if s.install_date else "?"
        console.print(f"installed {installed}, %SystemRoot% = {s.system_root}, {tz}")
    updates = Table(title="Updates recorded in the registry", show_lines=False)
    for column in ("id", "kind", "state", "installed (UTC)", "precision", "SP folder", "sources"):
        updates.add_column(column)
    for u in inv.updates:
        updates.add_row(
            u.id,
            u.kind,
            u.state,
            u.installed_at.isoformat() if u.installed_at else "-",
            u.precision or "-",
            str(u.sp_folder or "-"),
            str(len(u.sources)),
        )
    console.print(updates)
    files = Table(title="Component files on disk")
    for column in ("path", "version", "lab tag", "modified (build)", "created (install)"):
        files.add_column(column)
    for f in inv.files:
        files.add_row(
            f.path,
            f.version or "?",
            f.lab_tag or "-",
            f.modified_at.isoformat() if f.modified_at else "-",
            f.created_at.isoformat() if f.created_at else "-",
        )
    console.print(files)
    for folder in inv.folders:
        console.print(_folder_line(folder))
    if inv.pending_renames:
        console.print("[bold]Pending file renames (next boot):[/bold]")
        for p in inv.pending_renames:
            console.print(f"  {p.source} -> {p.destination or '(delete)'}")
    for name, value, where in inv.facts:
        console.print(f"{name}: {value}  [dim]({where.artifact} {where.locator})[/dim]")
    if inv.gaps:
        console.print(f"[bold yellow]Not checked ({len(inv.gaps)}):[/bold yellow]")
        for g in inv.gaps:
            console.print(f"  {g.what}: {g.reason}")


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
