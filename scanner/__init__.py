"""patchmortem: offline forensics that explains why a Windows server died after a patch.

The package is a one-way pipeline (see README "Architecture"): evidence source -> system volume ->
collectors -> facts and one timeline -> rules -> findings and a diagnosis -> reports.
"""

from __future__ import annotations

__version__ = "0.1.0"
