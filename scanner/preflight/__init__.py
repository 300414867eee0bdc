"""Preflight (issue 17): before the next patch, is an update safe on a server, at risk (why), or unknown?

``assess(scan_result_or_facts, update_ids, knowledge)`` is the API ``patchmortem preflight`` and ``fleet
--preflight`` call; it reads typed facts only (scanner/preflight/assess.py says which reasons and why).
``assess_server`` wraps it into one source's row; ``render.preflight_to_dict`` is the JSON contract and
``saved.facts_from_scan_json`` rebuilds the facts from a saved scan JSON.
"""

from scanner.preflight.assess import assess, assess_server
from scanner.preflight.facts import PreflightFacts
from scanner.preflight.model import PreflightFile, PreflightReason, PreflightVerdict, ServerPreflight

__all__ = [
    "PreflightFacts", "PreflightFile", "PreflightReason", "PreflightVerdict", "ServerPreflight", "assess",
    "assess_server",
]
