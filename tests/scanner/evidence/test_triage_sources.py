"""Triage sources: partial folders, Velociraptor and KAPE collections scan like the image they came from.

Each folder is built in tmp from the files of a fixture image, in the shape the collector writes: KAPE keeps
Windows' names under a drive-letter folder (``C\\Windows\\…``); Velociraptor stores
``uploads/<accessor>/<device>/…`` with every component escaped by ``utils.SanitizeStringForZip``
(reimplemented below from Velociraptor's ``utils/sanitize.go``). What the folder holds must give the same
facts as the full image; what it lacks must be a gap, never an exit.
"""

from __future__ import annotations

import json
import zipfile
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner
from dissect.target import Target

from fixtures.factory.scenario import IMAGES_DIR
from scanner import pipeline
from scanner.cli import cli
from scanner.collectors.events import find_event_logs
from scanner.evidence.source import describe_source, open_evidence
from scanner.evidence.sysroot import find_windows_dir
from scanner.evidence.triage import decode_name, drive_letter

NT6 = IMAGES_DIR / "cbs-2008-iis7.qcow2"
NT5 = IMAGES_DIR / "kb973917-iis6.vhd"
EVTX = "Windows/System32/winevt/Logs"
WU_LOG = "Microsoft-Windows-WindowsUpdateClient%4Operational.evtx"


@cache
def _image_files(image: Path) -> dict[str, bytes]:
    """Every file of the image's Windows volume except NTFS metadata: volume-relative path -> bytes."""
    fs = next(v.fs for v in Target.open(image).volumes if v.fs is not None)
    files: dict[str, bytes] = {}
    stack = [fs.path("/")]
    while stack:
        for entry in stack.pop().iterdir():
            if entry.name.startswith("$") and len(entry.parts) == 2:
                continue
            if entry.is_dir():
                stack.append(entry)
            else:
                files[str(entry)[1:]] = entry.read_bytes()
    return files


def _pick(image: Path, *prefixes: str) -> dict[str, bytes]:
    wanted = tuple(x.lower() for x in prefixes)
    return {p: b for p, b in _image_files(image).items() if p.lower().startswith(wanted)}


def _write(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        out = root / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    return root


def sanitize_for_zip(component: str) -> str:
    """Velociraptor's ``utils.SanitizeStringForZip``: ``?"*:|<>%/\\``, non-printables and a leading or
    trailing ``.``/space become ``%XX``."""
    out = []
    for pos, char in enumerate(component):
        if (pos == 0 and char in ". ") or char in '?"*:|<>%/\\' or ord(char) < 0x20:
            out.append(f"%{ord(char):02X}")
        else:
            out.append(char)
    if out and out[-1] in (".", " "):
        out[-1] = f"%{ord(out[-1]):02X}"
    return "".join(out)


def _velociraptor_path(accessor: str, device: str, rel: str) -> str:
    parts = [sanitize_for_zip(p) for p in rel.split("/")]
    return "/".join(["uploads", accessor, sanitize_for_zip(device), *parts])


def _event_sources(entries: list[dict]) -> set[tuple[str, str, str]]:
    sources = [s for e in entries for s in e["sources"]]
    return {(s["artifact"], s["locator"], s["at"]) for s in sources if s["type"] == "event"}


@cache
def _full_timeline(image: Path) -> list[dict]:
    _, tl = pipeline.timeline(image)
    return [e.to_dict() for e in tl.entries]


def _timeline(source: Path) -> tuple[object, list[dict]]:
    inv, tl = pipeline.timeline(source)
    return inv, [e.to_dict() for e in tl.entries]


def _gap_whats(gaps: list) -> set[str]:
    return {g.what for g in gaps}


def test_velociraptor_escaping_reimplemented_as_documented() -> None:
    """The golden values of Velociraptor's TestSanitizeForZip (utils/fixtures/TestSanitizeForZip.golden)."""
    assert sanitize_for_zip("filename:with:col.db") == "filename%3Awith%3Acol.db"
    assert sanitize_for_zip("../../../") == "%2E.%2F..%2F..%2F"
    assert sanitize_for_zip("foo.") == "foo%2E"
    assert sanitize_for_zip(r"\\.\C:") == "%5C%5C.%5CC%3A"
    assert sanitize_for_zip(WU_LOG) == "Microsoft-Windows-WindowsUpdateClient%254Operational.evtx"


def test_names_decode_and_drive_folders() -> None:
    assert decode_name("Microsoft-Windows-WindowsUpdateClient%254Operational.evtx") == WU_LOG
    assert decode_name("%24NtUninstallKB1%24") == "$NtUninstallKB1$"
    for unsafe in ("%2E%2E", "a%2Fb", "a%5Cb", "a%00b", "%2E"):
        assert decode_name(unsafe) == unsafe  # never a separator, never a step out of the folder
    assert [drive_letter(n, encoded=True) for n in ("C%3A", "%5C%5C.%5CC%3A", "%5C%5C%3F%5CD%3A", "c")] == [
        "C", "C", "D", "C"]
    assert drive_letter("\\\\?\\C", encoded=False) == "C"
    assert drive_letter("%5C%5C%3F%5CGLOBALROOT%5CDevice%5CHarddiskVolumeShadowCopy1", encoded=True) is None


def test_windows_dir_found_by_any_known_child(tmp_path: Path) -> None:
    from dissect.target.filesystems.dir import DirectoryFilesystem

    def found(*paths: str) -> str | None:
        root = tmp_path / str(len(list(tmp_path.iterdir())))
        for rel in paths:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(b"x")
        return find_windows_dir(DirectoryFilesystem(root))

    assert found("WINDOWS/KB921883.log") == "WINDOWS"
    assert found("windows/system32/winevt/Logs/System.evtx") == "windows"
    assert found("SRV/Logs/CBS/CBS.log") == "SRV"  # a custom %SystemRoot%: strong marker
    assert found("SRV/$NtUninstallKB1$/a.dll") == "SRV"
    assert found("inetpub/logs/LogFiles/W3SVC1/u_ex1.log") is None  # "logs" alone marks no Windows directory
    assert found("Data/system32/notes.txt") is None  # weak markers only for a folder called Windows/WINNT
    assert found("Windows/Temp/x.tmp") is None


def test_evtx_only_folder_scans_with_gaps(tmp_path: Path) -> None:
    root = _write(tmp_path / "evtx", _pick(NT6, EVTX))
    result = CliRunner().invoke(cli, ["scan", str(root), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["source"]["layout"] == "triage" and data["system"]["hostname"] is None
    whats = {g["what"] for g in data["gaps"]}
    assert {"SOFTWARE hive", "SYSTEM hive", "component files"} <= whats and "event logs" not in whats
    assert data["diagnosis"]["summary"]  # the diagnosis of what the logs hold, not a traceback
    assert _event_sources(data["timeline"]) == _event_sources(_full_timeline(NT6))


def test_hives_only_folder_gives_the_images_facts(tmp_path: Path) -> None:
    config = "WINDOWS/system32/config"
    hives = _pick(NT5, f"{config}/SOFTWARE", f"{config}/software.LOG", f"{config}/SYSTEM")
    root = _write(tmp_path / "hives", hives)
    inv = pipeline.inventory(root)
    full = pipeline.inventory(NT5)
    assert inv.system is not None and full.system is not None
    assert inv.system.to_dict() == full.system.to_dict()
    assert sorted(u.id for u in inv.updates) == sorted(u.id for u in full.updates)
    assert "component files" in _gap_whats(inv.gaps)
    _, tl = pipeline.timeline(root)
    assert "event logs" in _gap_whats(tl.gaps)


@pytest.mark.parametrize(
    ("image", "prefixes"),
    [
        (NT5, ("WINDOWS/KB", "WINDOWS/svcpack.log", "WINDOWS/system32/LogFiles/")),
        (NT6, ("Windows/Logs/CBS/", "inetpub/", "Windows/System32/LogFiles/")),
    ],
)
def test_logs_only_folder(tmp_path: Path, image: Path, prefixes: tuple[str, ...]) -> None:
    files = _pick(image, *prefixes)
    root = _write(tmp_path / "logs", files)
    inv, entries = _timeline(root)
    assert {"SOFTWARE hive", "SYSTEM hive"} <= _gap_whats(inv.gaps)  # type: ignore[attr-defined]

    def cited(timeline: list[dict]) -> set[tuple[str, str]]:
        sources = [s for e in timeline for s in e["sources"]]
        return {(s["artifact"], s["locator"]) for s in sources if s["type"] in ("log", "traffic")}

    expected = {s for s in cited(_full_timeline(image)) if s[0].replace("\\", "/") in files}
    assert expected and expected <= cited(entries)


def test_iis_logs_alone_scan_without_a_windows_directory(tmp_path: Path) -> None:
    root = _write(tmp_path / "iis", _pick(NT6, "inetpub/"))
    assert describe_source(root).scannable_volumes[0].iis_root == "inetpub"
    result = CliRunner().invoke(cli, ["scan", str(root), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["source"]["volumes"][0]["windows_dir"] is None
    assert any(g["what"] == "Windows directory" for g in data["gaps"])
    assert any(e["kind"] == "traffic" for e in data["timeline"])


def test_a_folder_without_windows_artefacts_is_no_windows(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(b"\xff\xd8")
    result = CliRunner().invoke(cli, ["inventory", str(tmp_path)])
    assert result.exit_code == 5 and "no Windows" in result.stderr


def _velociraptor_files() -> dict[str, bytes]:
    """An NT6 triage split across accessors as Windows.KapeFiles.Targets does, with a shadow copy beside."""
    auto = _pick(NT6, EVTX, "Windows/System32/config/")
    ntfs = _pick(NT6, "Windows/Logs/CBS/")
    ntfs["Windows/System32/config/SYSTEM"] = b"not the hive: the auto accessor's copy comes first"
    wu = dict(auto)[f"{EVTX}/Setup.evtx"]
    files = {_velociraptor_path("auto", "C:", p): b for p, b in auto.items()}
    files[_velociraptor_path("auto", "C:", f"{EVTX}/{WU_LOG}")] = wu
    files |= {_velociraptor_path("ntfs", r"\\.\C:", p): b for p, b in ntfs.items()}
    shadow = r"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy1"
    files[_velociraptor_path("ntfs", shadow, "Windows/x.log")] = b"x"
    files["uploads.json"] = b"{}"
    files["results/Windows.KapeFiles.Targets%2FAll File Metadata.json"] = b"{}"
    return files


@pytest.fixture(params=["folder", "zip", "zip-in-top-folder"])
def velociraptor(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    files = _velociraptor_files()
    if request.param == "folder":
        return _write(tmp_path / "Collection-WEB01-2011-03-10T00_00_00Z", files)
    path = tmp_path / "Collection-WEB01.zip"
    top = "Collection-WEB01/" if request.param == "zip-in-top-folder" else ""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, data in files.items():
            zf.writestr(top + rel, data)
    return path


def test_velociraptor_collection(velociraptor: Path) -> None:
    description = describe_source(velociraptor)
    assert description.layout == "velociraptor"
    (volume,) = description.volumes
    assert volume.drive == "C" and volume.windows_dir == "Windows"
    assert [r.rsplit("/", 2)[-2:] for r in volume.roots] == [["auto", "C%3A"], ["ntfs", "%5C%5C.%5CC%3A"]]
    assert any("HarddiskVolumeShadowCopy1" in note for note in description.notes)

    _, fs = open_evidence(velociraptor).system_volume()
    logs = {log: path for log, path, _ in find_event_logs(fs, "Windows")}
    wu_channel = "Microsoft-Windows-WindowsUpdateClient/Operational"
    assert logs[wu_channel] == f"Windows\\System32\\winevt\\Logs\\{WU_LOG}"

    inv, entries = _timeline(velociraptor)
    full = pipeline.inventory(NT6)
    assert inv.system.to_dict() == full.system.to_dict()  # type: ignore[attr-defined]
    assert _event_sources(_full_timeline(NT6)) <= _event_sources(entries)
    assert any(s["artifact"] == "Windows\\Logs\\CBS\\CBS.log" for e in entries for s in e["sources"])
    assert any(g.what == "source" and "shadow copy" in g.reason for g in inv.gaps)  # type: ignore[attr-defined]


def test_velociraptor_picks_the_drive_holding_windows(tmp_path: Path) -> None:
    hives = _pick(NT5, "WINDOWS/system32/config/")
    files = {_velociraptor_path("auto", "D:", p): b for p, b in hives.items()}
    files[_velociraptor_path("auto", "C:", "Users/bob/notes.txt")] = b"x"
    root = _write(tmp_path / "collection", files)
    description = describe_source(root)
    volumes = [(v.index, v.drive, v.windows_dir) for v in description.volumes]
    assert volumes == [(0, "C", None), (1, "D", "WINDOWS")]
    volume, _ = open_evidence(root).system_volume()
    assert volume.drive == "D"
    assert pipeline.inventory(root).system.hostname == "WEBSERVER01"  # type: ignore[union-attr]


@pytest.mark.parametrize("drive", ["C", "C:", "\\\\?\\C", "%5C%5C%3F%5CC%3A"])
def test_kape_collection(tmp_path: Path, drive: str) -> None:
    picked = _pick(NT5, "WINDOWS/system32/config/", "WINDOWS/KB973917.log")
    files = {f"{drive}/{p}": b for p, b in picked.items()}
    files["D/Data/readme.txt"] = b"not a system drive"
    root = _write(tmp_path / "tout", files)
    description = describe_source(root)
    assert description.layout == "kape"
    assert [(v.drive, v.roots, v.windows_dir) for v in description.volumes] == [
        ("C", (drive,), "WINDOWS"), ("D", ("D",), None)]
    inv = pipeline.inventory(root)
    assert inv.system.hostname == "WEBSERVER01" and inv.system.service_pack == 2  # type: ignore[union-attr]
    assert any(u.id == "KB973917" for u in inv.updates)
    software = next(s for u in inv.updates for s in u.sources if s.artifact.endswith("SOFTWARE"))
    assert software.artifact == "WINDOWS\\system32\\config\\SOFTWARE"  # volume-relative: no "C\" in front


def test_encrypted_zip_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "secured.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("data.zip", b"ciphertext")
    raw = bytearray(path.read_bytes())  # zipfile cannot encrypt: set bit 0 of the flags (APPNOTE 4.4.4)
    raw[raw.index(b"PK\x03\x04") + 6] |= 1
    raw[raw.index(b"PK\x01\x02") + 8] |= 1
    path.write_bytes(bytes(raw))
    result = CliRunner().invoke(cli, ["inventory", str(path)])
    assert result.exit_code == 4
    assert "password" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_velociraptor_drive_folder_without_accessor_level(tmp_path: Path) -> None:
    hives = _pick(NT5, "WINDOWS/system32/config/")
    root = _write(tmp_path / "c", {"uploads/" + "/".join(map(sanitize_for_zip, ["C:", *p.split("/")])): b
                                   for p, b in hives.items()})
    description = describe_source(root)
    assert description.layout == "velociraptor" and description.notes == []
    assert [(v.drive, v.roots) for v in description.volumes] == [("C", ("uploads/C%3A",))]


def test_hash_of_a_folder_source_covers_its_files(tmp_path: Path) -> None:
    from scanner.evidence.hashing import sha256_evidence

    root = _write(tmp_path / "evtx", _pick(NT6, f"{EVTX}/System.evtx", f"{EVTX}/Setup.evtx"))
    hashes = sha256_evidence([root])
    assert sorted(Path(p).name for p in hashes) == ["Setup.evtx", "System.evtx"]
