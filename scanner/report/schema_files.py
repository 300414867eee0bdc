"""Where the JSON Schemas of every JSON output are, for an installed copy as for a source checkout (issue 18).

An installed user has no checkout, yet a pipeline that consumes ``scan --format json`` wants the contract to
validate against. The schemas have one source, ``schemas/`` at the top of the checkout (tests and docs read
them there); ``scanner/schemas`` is a symlink to it, so setuptools packs the files into the wheel as package
data of ``scanner`` (``[tool.setuptools.package-data]``), and :func:`schema_dir` finds them in either place.
A checkout whose symlink was not kept (a Windows clone without symlink support) falls back to ``schemas/``.
"""

from __future__ import annotations

from pathlib import Path

#: The contracts, by the name ``patchmortem schema NAME`` takes.
SCHEMAS = {
    "scan": "scan.schema.json",
    "inventory": "inventory.schema.json",
    "timeline-entry": "timeline-entry.schema.json",
    "diff": "diff.schema.json",
    "repro": "repro.schema.json",
    "fleet-record": "fleet-record.schema.json",
    "preflight": "preflight.schema.json",
}


def schema_dir() -> Path:
    """The directory holding the ``*.schema.json`` files: inside the package, else the checkout's."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "schemas", package.parent / "schemas"):
        if (candidate / SCHEMAS["scan"]).is_file():
            return candidate.resolve()
    raise FileNotFoundError(f"no JSON Schemas under {package / 'schemas'}: a broken install")


def schema_path(name: str) -> Path:
    """The schema file of one contract (a key of :data:`SCHEMAS`)."""
    return schema_dir() / SCHEMAS[name]
