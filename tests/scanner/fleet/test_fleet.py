"""``patchmortem fleet`` end to end on the fixture images: local processes, then a real Dask cluster.

Every server's record must equal its single ``scan`` (minus ``scanned_at``, the one volatile field of the
scan contract); a corrupt source, a missing one, a worker killed mid-scan and a scan that never ends are
error rows while the others complete; ``--resume`` re-runs nothing that finished; and the same sources through
a Dask scheduler and two workers started here on 127.0.0.1 give identical records.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

from fixtures.factory.scenario import IMAGES_DIR as IMAGES
from scanner.errors import ExitCode
from scanner.fleet.local import run_local
from scanner.fleet.task import Task
from scanner.pipeline import scan
from scanner.render.templating import write_json
from scanner.report.scan_json import scan_to_dict

ROOT = Path(__file__).parents[3]
SCHEMAS = ROOT / "schemas"
SERVERS = ["kb973917-iis6.vhd", "healthy-2003-sp2.vhd", "snapshot-iis-rtm-child.avhd"]
VOLATILE = ("elapsed_s", "worker")


def _validator() -> jsonschema.Draft202012Validator:
    schemas = {
        name: json.loads((SCHEMAS / f"{name}.schema.json").read_text()) for name in ("fleet-record", "scan")
    }
    registry: Registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )
    return jsonschema.Draft202012Validator(schemas["fleet-record"], registry=registry)


def _fleet(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "scanner", "fleet", *args], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip


def _records(stdout: str) -> dict[str, dict[str, Any]]:
    return {r["source"]: r for r in map(json.loads, stdout.splitlines())}


def _stable(record: dict[str, Any]) -> dict[str, Any]:
    """A record without what depends on when and where it ran."""
    out = {k: v for k, v in record.items() if k not in VOLATILE}
    if out.get("scan"):
        out["scan"] = {k: v for k, v in out["scan"].items() if k != "scanned_at"}
    return out


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fleet")


@pytest.fixture(scope="module")
def sources(fleet_dir: Path) -> list[str]:
    corrupt = fleet_dir / "corrupt.vhd"
    corrupt.write_bytes(b"conectix" + bytes(range(256)) * 64)  # a VHD cookie, then nothing a disk holds
    listing = fleet_dir / "servers.txt"
    listing.write_text("".join(f"{IMAGES / name}\n" for name in SERVERS) + f"{corrupt}\tbroken\n", "utf-8")
    return [str(IMAGES / name) for name in SERVERS] + [str(corrupt), str(fleet_dir / "missing.vhd")]


@pytest.fixture(scope="module")
def local_run(fleet_dir: Path, sources: list[str]) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = fleet_dir / "out"
    done = _fleet("--from", str(fleet_dir / "servers.txt"), str(fleet_dir / "missing.vhd"), "--workers", "2",
                  "--format", "jsonl", "--output", str(out))  # fmt: skip
    return done, out


def test_local_fleet_records_equal_single_scans(local_run: tuple[Any, Path], sources: list[str]) -> None:
    done, out = local_run
    assert done.returncode == 0, done.stderr
    records = _records(done.stdout)
    assert sorted(records) == sorted(sources)
    validator = _validator()
    for record in records.values():
        validator.validate(record)
    for name in SERVERS:
        record = records[str(IMAGES / name)]
        assert record["status"] == "ok" and record["error"] is None
        single = io.StringIO()
        write_json(scan_to_dict(scan(IMAGES / name)), single)
        expected = json.loads(single.getvalue())
        assert _stable({"scan": record["scan"]}) == _stable({"scan": expected})
        saved = json.loads((out / record["report"]).read_text(encoding="utf-8"))
        assert saved == record["scan"]
    kb = records[str(IMAGES / "kb973917-iis6.vhd")]["server"]
    assert kb["verdict"] == "failing" and kb["trigger"] == "KB973917" and kb["iis_version"] == "6.0"
    assert kb["conditions"][0] == {
        "rule": "files-below-service-pack",
        "severity": "warning",
        "components": ["iis6"],
        "file_sp_levels": [1],
        "installed_sp": 2,
    }
    assert records[str(IMAGES / "healthy-2003-sp2.vhd")]["server"]["verdict"] == "healthy"
    corrupt = records[sources[-2]]
    assert corrupt["label"] == "broken" and corrupt["status"] == "error" and corrupt["scan"] is None
    assert corrupt["error_kind"] == "source" and corrupt["error_code"] in (4, 5)
    assert corrupt["server"]["verdict"] == "unreadable"
    missing = records[sources[-1]]
    assert missing["error_code"] == ExitCode.SOURCE_NOT_FOUND and "no such file" in missing["error"]
    lines = (out / "records.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["source"] for line in lines) == sorted(sources)


def test_resume_reruns_nothing_finished(local_run: tuple[Any, Path], fleet_dir: Path) -> None:
    first, out = local_run
    before = _records(first.stdout)
    listed = ("--from", str(fleet_dir / "servers.txt"), str(fleet_dir / "missing.vhd"))
    again = _fleet(*listed, "--format", "jsonl", "--output", str(out), "--resume", "--fail-on", "warning")
    assert again.returncode == ExitCode.FINDINGS, again.stderr  # KB973917's findings reach warning
    after = _records(again.stdout)
    for source, record in before.items():
        if record["status"] == "ok":  # reused as it was: same worker pid and time, i.e. not run again
            assert after[source] == record
        else:  # an error row is tried again
            assert after[source]["status"] == "error" and after[source]["worker"] != record["worker"]
    unreadable = _fleet(str(fleet_dir / "missing.vhd"), "--format", "csv", "--fail-on", "unreadable")
    assert unreadable.returncode == ExitCode.FLEET_UNREADABLE
    assert unreadable.stdout.splitlines()[0].startswith("server,source,os,sp,iis,verdict")


def test_text_and_html_summaries(local_run: tuple[Any, Path], fleet_dir: Path) -> None:
    _, out = local_run
    text = _fleet("--from", str(fleet_dir / "servers.txt"), "--output", str(out), "--resume")
    assert text.returncode == 0 and "WEBSERVER01" in text.stdout and "unreadable" in text.stdout
    assert "iis6 files at SP1 level (SP2 installed) [files-below-service-pack]" in text.stdout
    page = _fleet(
        "--from", str(fleet_dir / "servers.txt"), "--output", str(out), "--resume", "--format", "html"
    )
    assert page.returncode == 0 and not page.stdout
    html = (out / "index.html").read_text(encoding="utf-8")
    kb = _records((out / "records.jsonl").read_text(encoding="utf-8"))[str(IMAGES / "kb973917-iis6.vhd")]
    assert f'href="{kb["report"]}"' in html and "1 of them failing since KB973917" in html


def _kill_after_start(victim: str) -> Any:
    def started(task: Task, pid: int) -> None:
        if task.path == victim:
            threading.Timer(0.5, lambda: os.kill(pid, signal.SIGKILL)).start()

    return started


def test_a_killed_worker_and_a_hung_scan_are_error_rows_while_the_rest_complete(tmp_path: Path) -> None:
    hung = tmp_path / "hung.vhd"
    os.mkfifo(hung)  # opening a FIFO for reading waits for a writer that never comes: a scan that never ends
    victim, healthy = str(IMAGES / "kb973917-iis6.vhd"), str(IMAGES / "healthy-2003-sp2.vhd")
    tasks = [Task(0, victim), Task(1, healthy, html=True)]
    outcomes = {t.path: o for t, o in run_local(tasks, 2, timeout=600, on_start=_kill_after_start(victim))}
    assert outcomes[victim]["status"] == "error" and outcomes[victim]["error_kind"] == "worker-lost"
    assert "SIGKILL" in outcomes[victim]["error"]
    assert outcomes[healthy]["status"] == "ok" and outcomes[healthy]["server"]["verdict"] == "healthy"
    assert outcomes[healthy]["html"].startswith("<!DOCTYPE html>")  # --format html: each server's page
    [(_, stuck)] = run_local([Task(0, str(hung))], 1, timeout=2)
    assert stuck["error_kind"] == "timeout" and "2 s" in stuck["error"]


def test_preflight_columns_before_the_next_patch(local_run: tuple[Any, Path], fleet_dir: Path) -> None:
    """fleet --preflight: the snapshot parent (before KB973917) is at risk with KB2009746, the healthy server
    safe, an unreadable source and an update without a profile unknown (the resumed records are asked too)."""
    _, out = local_run
    parent, healthy = IMAGES / "snapshot-iis-rtm-parent.vhd", IMAGES / "healthy-2003-sp2.vhd"
    servers = (str(parent), str(healthy), str(fleet_dir / "missing.vhd"), "--output", str(out), "--resume")
    done = _fleet(*servers, "--format", "jsonl", "--preflight", "KB973917", "--preflight", "kb2416400")
    assert done.returncode == 0, done.stderr
    records = _records(done.stdout)
    validator = _validator()
    for record in records.values():
        validator.validate(record)
    status = {(Path(s).name, v["update"]): v["status"] for s, r in records.items() for v in r["preflight"]}
    assert status == {
        ("snapshot-iis-rtm-parent.vhd", "KB973917"): "at-risk",
        ("snapshot-iis-rtm-parent.vhd", "KB2416400"): "unknown",
        ("healthy-2003-sp2.vhd", "KB973917"): "safe", ("healthy-2003-sp2.vhd", "KB2416400"): "unknown",
        ("missing.vhd", "KB973917"): "unknown", ("missing.vhd", "KB2416400"): "unknown",
    }
    risk = records[str(parent)]["preflight"][0]["reasons"][0]
    assert risk["interaction"] == "KB2009746" and risk["files"]
    table = _fleet(*servers[:2], *servers[3:], "--format", "csv", "--preflight", "KB973917")
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert rows[0]["preflight KB973917"].startswith("at-risk (KB2009746")
    assert rows[1]["preflight KB973917"] == "safe"


# --- the same fleet on a real Dask cluster ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("distributed", reason="Dask distributed is not installed (pip install '.[fleet]')")
    address = f"tcp://127.0.0.1:{_free_port()}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    logs = tmp_path_factory.mktemp("dask")
    port = address.rsplit(":", 1)[1]
    commands = [
        ["scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"],
        ["worker", address, "--nthreads", "1", "--no-dashboard", "--name", "w1"],
        ["worker", address, "--nthreads", "1", "--no-dashboard", "--name", "w2"],
    ]
    processes = []
    try:
        for i, command in enumerate(commands):
            log = (logs / f"{i}.log").open("w")
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "distributed.cli.dask_" + command[0], *command[1:]],
                    env=env,
                    cwd=ROOT,
                    stdout=log,
                    stderr=log,
                )
            )
            time.sleep(2 if i == 0 else 0)
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_dask_cluster_gives_the_records_of_local_mode(
    local_run: tuple[Any, Path], dask_cluster: str, fleet_dir: Path
) -> None:
    local, _ = local_run
    done = _fleet("--from", str(fleet_dir / "servers.txt"), str(fleet_dir / "missing.vhd"),
                  "--scheduler", dask_cluster, "--format", "jsonl")  # fmt: skip
    assert done.returncode == 0, done.stderr
    on_cluster, in_processes = _records(done.stdout), _records(local.stdout)
    assert sorted(on_cluster) == sorted(in_processes)
    for source, record in on_cluster.items():
        expected = {**_stable(in_processes[source]), "report": None, "report_html": None}
        assert _stable(record) == expected
        assert record["status"] == "error" or record["worker"].startswith("tcp://127.0.0.1:")
