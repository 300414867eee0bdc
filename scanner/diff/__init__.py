"""``patchmortem diff``: what changed between two states of a server, at the level of a patch post-mortem.

A pure comparison of two scan JSON documents (:func:`diff_scans`), so images and saved scans go through the
same code, and its renderers (text, JSON, HTML). Layer 6, beside ``scanner.report``.
"""

from __future__ import annotations

from scanner.diff.compare import diff_scans
from scanner.diff.model import DIFF_SCHEMA_VERSION, ScanDiff

__all__ = ["DIFF_SCHEMA_VERSION", "ScanDiff", "diff_scans"]
