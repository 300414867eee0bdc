"""The ``scan`` JSON report: the versioned contract other tools consume (``schemas/scan.schema.json``).

Top-level keys, in this order: ``schema_version``, (1.2) ``tool_version``, ``profiles_version``,
``scanned_at`` (how and when the report was made: :mod:`scanner.render.meta`), ``source``, ``system``,
``updates``, ``files``, ``timeline``, ``findings``, ``diagnosis``, ``gaps`` (issue 5's contract), then the
additions ``pending_renames``, ``software``, ``uninstall_folders``, ``facts``, and (1.1) ``components``: each
profile component's files placed against the SP baseline (``ComponentLevels.to_dict``), and (1.2)
``folders``: each component folder listed (the inventory's ``folders[]``).
``source``/``system``/``updates``/``files`` and the additions are the inventory contract's sections
(``inventory_parts``), ``timeline`` is a list of timeline-entry contracts, ``findings``/``diagnosis`` are
``Finding.to_dict``/``Diagnosis.to_dict``.
``gaps`` is every gap of the scan (inventory, timeline and rules), not only the inventory's.

Names are a contract: add fields (minor ``SCHEMA_VERSION`` bump), never rename or remove them.
"""

from __future__ import annotations

from typing import IO, Any

from scanner.diagnose import ScanResult
from scanner.render.meta import RunMeta
from scanner.render.templating import write_json
from scanner.report.inventory import inventory_parts

# 1.4 (issue 16, typed facts): timeline entries' record_state and traffic; each source's clock and event;
#      findings' installer; updates' cbs_state and each time claim's clock and anchor
# 1.3: failure-episode entries + components; qfecheck fields on finding files; update package fields
SCHEMA_VERSION = "1.4"
# 1.2: tool_version, profiles_version, scanned_at; folders[]; listed/listed_path


def scan_to_dict(result: ScanResult, meta: RunMeta | None = None) -> dict[str, Any]:
    """The scan as plain JSON-ready data, top-level keys in contract order (see the module docstring).

    ``meta`` is how and when the scan ran (the CLI takes it when the command starts); without one, the
    clock and the default profiles are read now.
    """
    parts = inventory_parts(result.inventory)
    return {
        "schema_version": SCHEMA_VERSION,
        **(meta or RunMeta.start()).to_dict(),
        "source": parts["source"],
        "system": parts["system"],
        "updates": parts["updates"],
        "files": parts["files"],
        "timeline": [entry.to_dict() for entry in result.timeline.entries],
        "findings": [finding.to_dict() for finding in result.findings],
        "diagnosis": result.diagnosis.to_dict(),
        "gaps": [gap.to_dict() for gap in result.gaps],
        "pending_renames": parts["pending_renames"],
        "software": parts["software"],
        "uninstall_folders": parts["uninstall_folders"],
        "facts": parts["facts"],
        "components": [component.to_dict() for component in result.components],
        "folders": parts["folders"],
    }


def write_scan_json(result: ScanResult, out: IO[str], meta: RunMeta | None = None) -> None:
    """Write the scan JSON (indented, UTF-8 text, newline-terminated) to ``out``."""
    write_json(scan_to_dict(result, meta), out)
