"""PE version reader: fields, lab tags and branches, bounded reads, and hostile input that must not hang."""

from __future__ import annotations

import io
import random
import struct
import threading
from datetime import UTC, datetime

import pytest

from fixtures.factory.pe import CORRUPT_MODES, VersionInfo, build_corrupt_pe_resource, build_pe
from scanner.collectors.pe_version import PeUnreadable, PeVersion, lab_tag_of, read_pe_version
from tests.scanner.collectors.counting import CountingReader

BUILT = datetime(2009, 10, 30, 20, 13, tzinfo=UTC)
W3CORE = VersionInfo(
    file_version="6.0.3790.4611",
    file_version_string="6.0.3790.4611 (srv03_sp2_gdr.091030-1513)",
    original_filename="w3core.dll",
    file_description="IIS Web Server Core",
)




def _read(data: bytes, **kwargs: int) -> PeVersion:
    return read_pe_version(io.BytesIO(data), len(data), **kwargs)


def _bounded(data: bytes, seconds: float = 5.0, **kwargs: int) -> PeVersion | PeUnreadable:
    """Run the reader in a thread: a hang fails the test instead of blocking the suite."""
    result: list[PeVersion | PeUnreadable] = []

    def run() -> None:
        try:
            result.append(_read(data, **kwargs))
        except PeUnreadable as exc:
            result.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=seconds)
    assert not worker.is_alive(), "read_pe_version did not finish"
    assert result, "read_pe_version raised something other than PeUnreadable"
    return result[0]


@pytest.mark.parametrize(
    ("machine", "kind"), [("i386", "dll"), ("amd64", "dll"), ("i386", "exe"), ("amd64", "sys")]
)
def test_fields_read_back(machine: str, kind: str) -> None:
    version = _read(build_pe(W3CORE, machine=machine, kind=kind, timestamp=BUILT, size_hint=777))
    assert version.file_version == "6.0.3790.4611"
    assert version.product_version == "6.0.3790.4611"
    assert version.file_version_string == "6.0.3790.4611 (srv03_sp2_gdr.091030-1513)"
    assert version.lab_tag == "srv03_sp2_gdr.091030-1513"
    assert version.original_filename == "w3core.dll"
    assert version.company == "Microsoft Corporation"
    assert version.description == "IIS Web Server Core"
    assert version.link_time == BUILT
    assert version.machine == machine
    assert version.warnings == ()


def test_windows_2000_version_string_has_no_lab_tag() -> None:
    info = VersionInfo("5.0.2195.6717", "5.00.2195.6717", original_filename="asp.dll")
    version = _read(build_pe(info, timestamp=BUILT))
    assert version.file_version == "5.0.2195.6717"
    assert version.file_version_string == "5.00.2195.6717"
    assert version.lab_tag is None


@pytest.mark.parametrize(
    ("text", "lab"),
    [
        ("6.0.3790.3959 (srv03_sp2_rtm.070216-1710)", "srv03_sp2_rtm.070216-1710"),
        ("6.0.3790.1830 (srv03_sp1_rtm.050324-1447)", "srv03_sp1_rtm.050324-1447"),
        ("5.2.3790.4392 (srv03_sp2_gdr.081007-1603)", "srv03_sp2_gdr.081007-1603"),
        ("5.1.2600.6000 (xpsp_sp3_qfe.100603-1551)", "xpsp_sp3_qfe.100603-1551"),
        ("6.1.7601.21000 (win7sp1_ldr.110521-1510)", "win7sp1_ldr.110521-1510"),
        ("6.0.6002.18005 (lh_sp2rtm.090410-1830)", "lh_sp2rtm.090410-1830"),
        ("6.0.3790.0 (srv03_rtm.030324-2048)", "srv03_rtm.030324-2048"),
        ("5.1.2600.5512 (xpsp.080413-2111)", "xpsp.080413-2111"),
        ("5.00.2195.6717", None),
        ("7.0 (not a lab tag)", None),
        (None, None),
    ],
)
def test_lab_tag(text: str | None, lab: str | None) -> None:
    assert lab_tag_of(text) == lab


def test_reads_far_less_than_a_5_mb_file() -> None:
    data = build_pe(W3CORE, timestamp=BUILT, size_hint=5 * 1024 * 1024)
    assert len(data) > 5 * 1024 * 1024
    fh = CountingReader(data)
    version = read_pe_version(fh, len(data))
    assert version.file_version == "6.0.3790.4611"
    assert fh.bytes_read < 16 * 1024, fh.bytes_read  # headers (4 KiB) + a ~1 KiB .rsrc


def test_large_resource_section_is_walked_sparsely() -> None:
    data = build_pe(W3CORE, timestamp=BUILT, size_hint=100_000)
    fh = CountingReader(data)
    version = read_pe_version(fh, len(data), max_resource=64)
    assert (version.file_version, version.lab_tag) == ("6.0.3790.4611", "srv03_sp2_gdr.091030-1513")
    assert any("sparsely" in w for w in version.warnings)
    assert fh.bytes_read < 8 * 1024


def _patch(data: bytes, offset: int, fmt: str, *values: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, *values)
    return bytes(out)


def test_pe_without_resource_directory_has_no_version() -> None:
    data = build_pe(W3CORE, timestamp=BUILT)
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    version = _read(_patch(data, pe + 24 + 96 + 16, "<II", 0, 0))  # PE32 data directory 2 (resources)
    assert version.file_version is None
    assert version.link_time == BUILT
    assert version.warnings == ("no resource directory",)


@pytest.mark.parametrize("max_resource", [4 * 1024 * 1024, 32])
@pytest.mark.parametrize("mode", CORRUPT_MODES)
def test_corrupt_resources_raise_without_hanging(mode: str, max_resource: int) -> None:
    result = _bounded(build_corrupt_pe_resource(W3CORE, mode=mode), max_resource=max_resource)
    assert isinstance(result, PeUnreadable)
    assert isinstance(result, ValueError)
    assert str(result) and "\n" not in str(result)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"MZ",
        b"not a PE file at all" * 10,
        b"MZ" + b"\0" * 0x3A + struct.pack("<I", 0x7FFFFFF0),
        b"MZ" + b"\0" * 0x3A + struct.pack("<I", 0x40) + b"PE\0\0" + b"\0" * 20,
    ],
    ids=["empty", "mz-only", "text", "e_lfanew-huge", "headers-cut"],
)
def test_non_pe_and_truncated_headers_are_unreadable(data: bytes) -> None:
    assert isinstance(_bounded(data), PeUnreadable)


def test_stream_shorter_than_declared_size_is_unreadable() -> None:
    data = build_pe(W3CORE, timestamp=BUILT)
    with pytest.raises(PeUnreadable, match="ends"):
        read_pe_version(io.BytesIO(data[:2000]), len(data))


def test_mutated_pes_never_hang_or_traceback() -> None:
    base = build_pe(W3CORE, timestamp=BUILT)
    rng = random.Random(973917)
    outcomes = set()
    for _ in range(400):
        data = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            start, end = rng.choice([(0, 0x400), (len(data) - 0x400, len(data))])  # headers or .rsrc
            data[rng.randrange(start, end)] = rng.randrange(256)
        for max_resource in (4 * 1024 * 1024, 16):
            try:
                version = _read(bytes(data), max_resource=max_resource)
                outcomes.add("version" if version.file_version else "no-version")
            except PeUnreadable:
                outcomes.add("unreadable")
    assert {"version", "unreadable"} <= outcomes
