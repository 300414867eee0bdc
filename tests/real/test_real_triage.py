"""Real artefacts in collector layouts: a Velociraptor- and a KAPE-shaped folder of real logs and a real hive.

plaso's real Windows ``System.evtx`` and XP ``SysEvent.Evt`` and regipy's real ``SYSTEM`` hive are laid out
as Velociraptor (``uploads/auto/C%3A/…``, components escaped as ``utils.SanitizeStringForZip`` does) and KAPE
(``C/Windows/…``) would store them. Both must scan with exit 0, read the same records, and report the pieces
they lack (no SOFTWARE hive) as gaps.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner.cli import cli

PIECES = {
    "plaso/evtx/System.evtx": "Windows/System32/winevt/Logs/System.evtx",
    "plaso/SysEvent.Evt": "Windows/System32/config/SysEvent.Evt",
    "regipy/SYSTEM": "Windows/System32/config/SYSTEM",
}


def _lay_out(corpus: Path, root: Path, layout: str) -> Path:
    for src, rel in PIECES.items():
        if not (corpus / src).is_file():
            pytest.skip(f"{src} absent from the real corpus")
        if layout == "velociraptor":
            dest = root / "uploads" / "auto" / "C%3A" / rel
        else:
            dest = root / "C" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus / src, dest)
    if layout == "velociraptor":
        (root / "uploads.json").write_text("{}")
    return root


@pytest.mark.parametrize("layout", ["velociraptor", "kape"])
def test_real_artefacts_in_collector_layouts_scan(real_corpus: Path, tmp_path: Path, layout: str) -> None:
    root = _lay_out(real_corpus, tmp_path / layout, layout)
    result = CliRunner().invoke(cli, ["scan", str(root), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["source"]["layout"] == layout
    assert data["source"]["volumes"][0]["drive"] == "C"
    assert any(g["what"] == "SOFTWARE hive" for g in data["gaps"])
    artifacts = {s["artifact"] for e in data["timeline"] for s in e["sources"]}
    assert "Windows\\System32\\winevt\\Logs\\System.evtx" in artifacts
    assert "Windows\\System32\\config\\SysEvent.Evt" in artifacts
    assert data["system"]["hostname"]  # from the real SYSTEM hive
