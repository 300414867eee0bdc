"""The few phrases every report words the same way: a time gap, where a piece of evidence is, the system.

The scan's text, HTML and Markdown reports and the repro plan all name evidence and time gaps; one wording
keeps a reader from meeting two names for the same thing. Moved here from
``report.sections`` so ``repro`` need not import a sibling consumer (tests/scanner/test_layers.py).
"""

from __future__ import annotations

from scanner.diagnose import ScanResult
from scanner.model import Provenance


def span(seconds: float) -> str:
    """A human time gap: '45 s', '17 min', '2 h 5 min', '3 days'."""
    seconds = abs(int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} days"


def where(source: Provenance) -> str:
    """``artifact [locator] (note)``: how every report names a piece of evidence."""
    text = source.artifact + (f" [{source.locator}]" if source.locator else "")
    return text + (f" ({source.note})" if source.note else "")


def report_title(result: ScanResult) -> str:
    """``Microsoft Windows Server 2003 Service Pack 2 x86 — host WEBSERVER01``."""
    system = result.inventory.system
    if system is None:
        return "unknown system"
    what = " ".join(p for p in (system.product, system.csd_version, system.architecture) if p)
    return f"{what or 'unknown system'} — host {system.hostname or '?'}"
