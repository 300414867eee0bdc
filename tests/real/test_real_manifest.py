"""The corpus manifest is complete and, where the corpus is present, every file is the one it pins."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

MANIFEST = Path(__file__).parents[2] / "fixtures" / "real" / "MANIFEST.toml"


def _manifest() -> dict:
    return tomllib.loads(MANIFEST.read_text(encoding="utf-8"))


def test_every_file_names_its_origin_licence_and_digest() -> None:
    manifest = _manifest()
    repos = {r["name"]: r for r in manifest["repository"]}
    assert all(re.fullmatch(r"[0-9a-f]{40}", r["commit"]) and r["licence"] for r in repos.values())
    paths = [f["path"] for f in manifest["file"]]
    assert len(paths) == len(set(paths))
    for item in manifest["file"]:
        assert item["from"]["repository"] in repos, item["path"]
        assert re.fullmatch(r"[0-9a-f]{64}", item["sha256"]), item["path"]
        assert isinstance(item["size"], int) and item["what"], item["path"]


def test_corpus_files_match_the_manifest(real_corpus: Path) -> None:
    missing = []
    for item in _manifest()["file"]:
        path = real_corpus / item["path"]
        if not path.exists():
            missing.append(item["path"])
            continue
        assert hashlib.sha256(path.read_bytes()).hexdigest() == item["sha256"], item["path"]
    assert not missing, f"corpus incomplete: {missing}"
