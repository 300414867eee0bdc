"""``fleet`` source discovery, grouping and rendering: no scan runs here (fast, pure or header reads only)."""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path

from fixtures.factory.scenario import IMAGES_DIR as IMAGES
from scanner.fleet.groups import describe, group_servers
from scanner.fleet.render import render_html, write_csv
from scanner.fleet.sources import discover, is_image_name, read_list


def test_a_folder_of_images_lists_each_server_once() -> None:
    """A split set, an E01 and every differencing chain is one server; a parent in the folder is not one."""
    found = {s.path.name: [f.name for f in s.files] for s in discover([IMAGES], [])}
    assert sorted(found) == [
        "cbs-2008-iis7.qcow2", "cbs-2012r2-dirty-hive.dd", "healthy-2003-sp2.vhd", "healthy-2003-sp2.vmdk",
        "kb973917-iis6.vhd", "q281402-dll-put-back.raw.001", "q281402-win2000.E01",
        "snapshot-iis-rtm-child.avhd", "snapshot-iis-rtm-child.avhdx", "snapshot-iis-rtm-child.qcow2",
        "snapshot-iis-rtm-child.vmdk",
    ]  # fmt: skip
    assert found["q281402-dll-put-back.raw.001"] == [f"q281402-dll-put-back.raw.00{i}" for i in (1, 2, 3)]
    assert found["snapshot-iis-rtm-child.avhd"] == [
        "snapshot-iis-rtm-child.avhd",
        "snapshot-iis-rtm-parent.vhd",
    ]
    assert found["snapshot-iis-rtm-child.vmdk"] == [
        "snapshot-iis-rtm-child.vmdk",
        "snapshot-iis-rtm-parent.vmdk",
    ]
    assert found["snapshot-iis-rtm-child.qcow2"][1] == "snapshot-iis-rtm-parent.qcow2"


def test_image_names_and_explicit_parents() -> None:
    assert is_image_name(Path("web.E01")) and not is_image_name(Path("web.E02"))
    assert is_image_name(Path("web.raw.001")) and not is_image_name(Path("web.raw.002"))
    assert not is_image_name(Path("web-flat.vmdk")) and not is_image_name(Path("web-s001.vmdk"))
    assert not is_image_name(Path("MANIFEST.json")) and is_image_name(Path("collection.zip"))
    # A parent named explicitly is scanned (the user asked for it); the same path twice is one source.
    parent, child = IMAGES / "snapshot-iis-rtm-parent.vhd", IMAGES / "snapshot-iis-rtm-child.avhd"
    assert [s.path for s in discover([parent, child, child], [])] == [parent, child]


def test_a_triage_folder_is_one_source_and_a_missing_path_is_kept(tmp_path: Path) -> None:
    triage = tmp_path / "web01-logs" / "Windows" / "System32" / "winevt" / "Logs"
    triage.mkdir(parents=True)
    (triage / "System.evtx").write_bytes(b"ElfFile\x00")
    missing = tmp_path / "gone.vhd"
    assert [s.path for s in discover([tmp_path / "web01-logs", missing], [])] == [
        tmp_path / "web01-logs",
        missing,
    ]


def test_list_files_with_labels(tmp_path: Path) -> None:
    folder = tmp_path / "my images"
    folder.mkdir()
    shutil.copy(IMAGES / "kb973917-iis6.vhd", folder / "web 01.vhd")
    listing = tmp_path / "servers.txt"
    listing.write_text(
        "# production web farm\n\n"
        "my images/web 01.vhd\n"  # a path with spaces, no label
        f"{IMAGES / 'healthy-2003-sp2.vhd'}\tfront-07\n"  # TAB: path, label
        f"{IMAGES / 'q281402-win2000.E01'} legacy-2000\n",  # the whole line is no path: last word is a label
        encoding="utf-8",
    )
    assert read_list(listing) == [
        (folder / "web 01.vhd", None),
        (IMAGES / "healthy-2003-sp2.vhd", "front-07"),
        (IMAGES / "q281402-win2000.E01", "legacy-2000"),
    ]
    sources = discover([], [listing])
    assert [s.label for s in sources] == [None, "front-07", "legacy-2000"]
    identity = sources[0].identity()[0]
    st = os.stat(folder / "web 01.vhd")
    assert identity == {
        "path": str((folder / "web 01.vhd").resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
    }


def _record(
    name: str, verdict: str, trigger: str | None, conditions: list[dict[str, object]]
) -> dict[str, object]:
    server = {
        "hostname": name,
        "product": "Microsoft Windows Server 2003",
        "service_pack": 2,
        "iis_version": "6.0",
        "verdict": verdict,
        "failing_since": "2009-12-09T15:55:01+00:00" if verdict == "failing" else None,
        "trigger": trigger,
        "latent_cause": "files-below-service-pack" if conditions else None,
        "known_issue": None,
        "confidence": "high",
        "conditions": conditions,
    }
    return {
        "source": f"/evidence/{name}.vhd",
        "label": None,
        "status": "ok",
        "error": None,
        "elapsed_s": 1.5,
        "worker": "w pid 1",
        "report": f"scans/{name}.json",
        "report_html": None,
        "server": server,
    }


IIS6_SP1 = {
    "rule": "files-below-service-pack",
    "severity": "warning",
    "components": ["iis6"],
    "file_sp_levels": [1],
    "installed_sp": 2,
}


def test_servers_are_grouped_by_typed_condition_and_counted_by_trigger() -> None:
    records = [
        _record("web01", "failing", "KB973917", [IIS6_SP1]),
        _record("web02", "at-risk", None, [IIS6_SP1]),
        _record("web03", "failing", "KB973917", [IIS6_SP1]),
        _record("web04", "healthy", None, []),
        _record("web05", "failing", "KB958644", [{**IIS6_SP1, "file_sp_levels": [0]}]),
    ]
    groups = group_servers(records)
    assert [describe(g) for g in groups] == [
        "3 servers: iis6 files at SP1 level (SP2 installed) [files-below-service-pack], "
        "2 of them failing since KB973917",
        "1 server: iis6 files at RTM level (SP2 installed) [files-below-service-pack], "
        "1 of them failing since KB958644",
    ]
    assert groups[0].servers == ("web01", "web02", "web03")


def test_csv_and_html_summaries() -> None:
    records = [
        _record("web01", "failing", "KB973917", [IIS6_SP1]),
        {**_record("<script>alert(1)</script>", "healthy", None, []), "report": None},
    ]
    out = io.StringIO()
    write_csv(records, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0]["verdict"] == "failing" and rows[0]["trigger"] == "KB973917" and rows[0]["sp"] == "SP2"
    page = render_html(records)
    assert '<a href="scans/web01.json">web01</a>' in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "connect-src &#39;none&#39;" in page and "1 of them failing since KB973917" in page


def test_usage_errors_and_evidence_kept_read_only(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from scanner.cli import cli

    runner = CliRunner()
    image = str(IMAGES / "kb973917-iis6.vhd")
    assert runner.invoke(cli, ["fleet"]).exit_code == 2
    assert runner.invoke(cli, ["fleet", image, "--resume"]).exit_code == 2
    assert (
        runner.invoke(
            cli, ["fleet", image, "--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"]
        ).exit_code
        == 2
    )
    refused = runner.invoke(cli, ["fleet", str(IMAGES), "--output", str(IMAGES / "fleet-out")])
    assert refused.exit_code == 8 and not (IMAGES / "fleet-out").exists()
    assert runner.invoke(cli, ["fleet", image, "--output", image]).exit_code in (2, 8)
