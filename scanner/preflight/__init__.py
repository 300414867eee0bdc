"""Preflight (issue 17): before the next patch, is an update safe on a server, at risk (why), or unknown?

``assess(scan_result_or_facts, update_ids, knowledge)`` is the API ``patchmortem preflight`` and ``fleet
--preflight`` call; it reads typed facts only (scanner/preflight/assess.py says which reasons and why).
``assess_server`` wraps it into one source's row; ``render.preflight_to_dict`` is the JSON contract and
``saved.facts_from_scan_json`` rebuilds the facts from a saved scan JSON.

Import from the modules (``scanner.preflight.assess``, ``.facts``, ``.model``): this package imports nothing
itself, because the CLI loads the ``preflight`` command (``scanner.preflight.command``) for every command and
``assess`` pulls in the rules and the diagnosis — a fifth of a second ``scan`` does not need to pay twice.
"""
