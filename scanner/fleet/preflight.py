"""``fleet --preflight KB…``: before the next patch, each update safe / at risk / unknown on every server.

The verdicts are :mod:`scanner.preflight`'s, read from each server's scan JSON (the record's ``scan``,
through :func:`scanner.preflight.saved.facts_from_scan_json`, which gives the verdicts a scan of the image
gives), so a resumed fleet is asked about a new update without reopening any image. A source that could not
be scanned gets "unknown" for every update, naming the readable source it lacks — never a guess.
"""

from __future__ import annotations

from typing import Any

from scanner.knowledge.profiles import Knowledge
from scanner.preflight.assess import assess
from scanner.preflight.model import PreflightReason, PreflightVerdict
from scanner.preflight.saved import facts_from_scan_json


def preflight_verdicts(record: dict[str, Any], update_ids: tuple[str, ...],
                       knowledge: Knowledge) -> list[dict[str, Any]]:
    """One verdict per update (``schemas/preflight.schema.json``'s verdict) for one fleet record."""
    if record.get("status") == "ok" and isinstance(record.get("scan"), dict):
        return [v.to_dict() for v in assess(facts_from_scan_json(record["scan"]), update_ids, knowledge)]
    why = f"the source could not be read: {record.get('error')}"
    reason = PreflightReason("evidence-missing", "missing", why, missing=("a readable source",))
    return [PreflightVerdict(u, "unknown", (reason,), missing=reason.missing).to_dict() for u in update_ids]
