"""Lab reproduction plans (``patchmortem repro``, issue 7): how to rebuild a customer's failure on a clean VM.

Layer 6 (as the reports): pure over a ``ScanResult`` and the knowledge; never reaches back to the pipeline.
"""

from __future__ import annotations

from scanner.repro.model import SCHEMA_VERSION, ReproPlan, ReproStep
from scanner.repro.plan import plan_repro
from scanner.repro.render import render_repro_markdown, write_repro_json, write_repro_markdown

__all__ = [
    "SCHEMA_VERSION",
    "ReproPlan",
    "ReproStep",
    "plan_repro",
    "render_repro_markdown",
    "write_repro_json",
    "write_repro_markdown",
]
