"""The presentation toolkit every consumer of a scan shares: report, diff, repro, preflight and fleet.

It sits below all of them (tests/scanner/test_layers.py), so a consumer never imports another consumer to
borrow a helper (``repro`` used ``report.sections``, ``diff`` and ``preflight`` used ``report.text``): how
a run is stamped (``meta``), the Jinja2 environments with escaping on by default, the templates and the JSON
writer (``templating``), the terminal's safe text and line wrapping (``text``), and the few phrases every
report words the same way (``phrases``). Nothing here decides anything about the evidence.
"""
