"""Preflight (issue 17): before the next patch, is an update safe on a server, at risk (why), or unknown?

``assess(scan_result_or_facts, update_ids, knowledge)`` is the API ``patchmortem preflight`` and ``fleet
--preflight`` call; it reads typed facts only (scanner/preflight/assess.py says which reasons and why).
"""

from scanner.preflight.assess import assess
from scanner.preflight.facts import PreflightFacts
from scanner.preflight.model import PreflightFile, PreflightReason, PreflightVerdict

__all__ = ["PreflightFacts", "PreflightFile", "PreflightReason", "PreflightVerdict", "assess"]
