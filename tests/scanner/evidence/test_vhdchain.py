"""Legacy VHD differencing chains (.avhd): parent identity, spec-exact sector bitmaps, dissect integration.

The committed pair (snapshot-iis-rtm-child.avhd + -parent.vhd) has bitmap bytes other than 0x00/0xFF; chains
built here come from raw disks whose "after" bytes are known, written by the fixture factory (qemu-img for the
base, the factory's hand-written .avhd writer for the children).
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import shutil
import struct
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dissect.hypervisor.disk.vhd import VHD
from dissect.target import Target
from Registry import Registry

from fixtures.factory.containers import convert
from fixtures.factory.vhd import bitmap_partial_bytes, vhd_checksum, write_vhd_differencing
from scanner.errors import ExitCode, IncompleteChainError, SourceNotFoundError, UnsupportedSourceError
from scanner.evidence.source import open_evidence
from scanner.evidence.vhdchain import (
    VhdChainStream,
    is_vhd_differencing,
    open_chain_container,
    open_vhd_chain,
    resolve_chain,
    resolve_parent,
)

IMAGES = Path(__file__).resolve().parents[3] / "fixtures" / "images"
MANIFEST = {f["name"]: f for e in json.loads((IMAGES / "MANIFEST.json").read_text()) for f in e["files"]}
CHILD = IMAGES / "snapshot-iis-rtm-child.avhd"
PARENT = IMAGES / "snapshot-iis-rtm-parent.vhd"
OTHER = IMAGES / "kb973917-iis6.vhd"
KB_KEY = "Microsoft\\Updates\\Windows Server 2003\\SP3\\KB973917"
SOFTWARE = "sysvol/windows/system32/config/software"  # on dissect's Target root
ON_VOLUME = "/windows/system32/config/software"  # on the system volume's own file system
CLOCK = datetime(2009, 12, 10, 2, 0, tzinfo=UTC)
LATER = datetime(2009, 12, 10, 18, 30, tzinfo=UTC)
KIB, MIB = 1024, 1024 * 1024
DISK = 4 * MIB


class CountingFile(io.FileIO):
    """A read-only file that counts the bytes read from it (per file name)."""

    def __init__(self, path: Path, counter: Counter[str]) -> None:
        super().__init__(path, "rb")
        self.counter = counter

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.counter[Path(str(self.name)).name] += len(data or b"")
        return data or b""


def _counting_opener(counter: Counter[str]) -> Any:
    return lambda path: CountingFile(path, counter)


def _hive_has_kb(fs: Any, path: str = ON_VOLUME) -> bool:
    hive = Registry.Registry(io.BytesIO(fs.path(path).read_bytes()))
    try:
        hive.open(KB_KEY)
    except Registry.RegistryKeyNotFoundException:
        return False
    return True


# ----------------------------------------------------------------------------------------------- builders


def _raw_disks(d: Path) -> tuple[Path, Path, Path]:
    """(before, after, after2): random-ish disks; blocks 1 and 3 of the base are all zero (sparse)."""
    rng = random.Random(973917)
    before = bytearray(DISK)
    for start in (0, 2 * MIB + 64 * KIB):
        before[start : start + 900 * KIB] = rng.randbytes(900 * KIB)
    after = bytearray(before)
    for sector in (0, 1, 3, 9, 17, 63, 64, 511, 4097, 8191):  # scattered: bitmap bytes like 0xd1, 0x40
        after[sector * 512 : sector * 512 + 512] = rng.randbytes(512)
    after[5 * 512 : 6 * 512] = bytes(512)  # zeroed in the child: must not fall through to the parent's data
    after[MIB + 1000 : MIB + 3000] = rng.randbytes(2000)  # in a block that is absent from the base
    after[2 * MIB : 2 * MIB + 64 * KIB] = rng.randbytes(64 * KIB)  # one whole 64 KiB block
    after[DISK - 512 :] = rng.randbytes(512)  # last sector of the disk
    after2 = bytearray(after)
    for sector in (1, 2, 300, 6000):
        after2[sector * 512 : sector * 512 + 512] = rng.randbytes(512)
    paths = (d / "before.raw", d / "after.raw", d / "after2.raw")
    for path, data in zip(paths, (before, after, after2), strict=True):
        path.write_bytes(bytes(data))
    return paths


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Base (dynamic and fixed), a child of each, and a grandchild of the dynamic chain."""
    d = tmp_path_factory.mktemp("vhdchain")
    before, after, after2 = _raw_disks(d)
    (base,) = convert(before, "vhd-dynamic", d / "base.vhd", clock=CLOCK)
    (fixed,) = convert(before, "vhd-fixed", d / "fixed.vhd", clock=CLOCK)
    child = d / "base_child.avhd"
    write_vhd_differencing(base, before, after, child, clock=LATER, block_size=64 * KIB)
    write_vhd_differencing(fixed, before, after, d / "fixed_child.avhd", clock=LATER)
    write_vhd_differencing(child, after, after2, d / "grandchild.avhd", clock=LATER, block_size=4 * KIB)
    return {"dir": d, "before": before, "after": after, "after2": after2, "base": base, "fixed": fixed,
            "child": child, "fixed_child": d / "fixed_child.avhd", "grandchild": d / "grandchild.avhd"}


def _patch_header(path: Path, offset: int, value: bytes) -> None:
    """Overwrite bytes of the dynamic header (at 512) of a scratch copy and fix its checksum."""
    raw = bytearray(path.read_bytes())
    raw[512 + offset : 512 + offset + len(value)] = value
    header = raw[512:1536]
    struct.pack_into(">I", header, 36, vhd_checksum(header, 36))
    raw[512:1536] = header
    path.write_bytes(bytes(raw))


# ------------------------------------------------------------------------------------------ committed pair


def test_fixture_chain_software_hive_has_kb973917() -> None:
    with open_evidence(CHILD) as chain, open_evidence(PARENT) as parent:
        assert chain.description.containers == ["VhdChainContainer"]
        assert chain.description.chain == [str(CHILD), str(PARENT)]
        assert chain.description.os == "windows"
        assert _hive_has_kb(chain.system_volume()[1])
        assert not _hive_has_kb(parent.system_volume()[1])
    assert not _hive_has_kb(Target.open(PARENT).fs, SOFTWARE)  # dissect's own open of the parent agrees


def test_fixture_chain_equals_the_qcow2_chain_dissect_follows() -> None:
    """The same snapshot as qcow2 + backing file (which dissect does follow) gives identical bytes."""
    assert bitmap_partial_bytes(CHILD) > 0  # the bitmap bytes libvhdi misreads are present
    qcow = Target.open(IMAGES / "snapshot-iis-rtm-child.qcow2", apply=False).disks[0]
    qcow.seek(0)
    stream, chain = open_vhd_chain(CHILD)
    with stream:
        assert chain == [CHILD, PARENT]
        assert stream.size == qcow.size
        assert stream.read() == qcow.read(qcow.size)


def test_detection_reads_only_the_footer(tmp_path: Path) -> None:
    assert is_vhd_differencing(CHILD)
    assert not is_vhd_differencing(PARENT)
    assert not is_vhd_differencing(tmp_path / "missing.avhd")
    (tmp_path / "tiny").write_bytes(b"conectix")
    assert not is_vhd_differencing(tmp_path / "tiny")
    assert not is_vhd_differencing(tmp_path)


def test_resolve_parent_and_chain() -> None:
    assert resolve_parent(CHILD) == PARENT
    assert resolve_parent(CHILD, PARENT) == PARENT
    assert resolve_chain(CHILD) == [CHILD, PARENT]
    with pytest.raises(UnsupportedSourceError):
        resolve_parent(PARENT)
    with pytest.raises(SourceNotFoundError):
        resolve_parent(IMAGES / "no-such.avhd")


def test_missing_parent_is_an_incomplete_chain(tmp_path: Path) -> None:
    lonely = shutil.copy(CHILD, tmp_path / CHILD.name)
    counter: Counter[str] = Counter()
    with pytest.raises(IncompleteChainError) as err:
        open_vhd_chain(Path(lonely), opener=_counting_opener(counter))
    message = str(err.value)
    assert "snapshot-iis-rtm-parent.vhd" in message and "8080" in message and "\n" not in message
    assert err.value.exit_code == ExitCode.INCOMPLETE_CHAIN
    assert sum(counter.values()) < 8 * KIB  # only footer, header and locators were read: no data
    with pytest.raises(IncompleteChainError):
        open_chain_container(Path(lonely))


def test_wrong_parent_override_is_a_uuid_mismatch() -> None:
    with pytest.raises(IncompleteChainError, match="UUID mismatch") as err:
        open_vhd_chain(CHILD, OTHER)
    assert OTHER.name in str(err.value) and "snapshot-iis-rtm-parent.vhd" in str(err.value)
    with pytest.raises(IncompleteChainError, match="UUID mismatch"):
        resolve_parent(CHILD, OTHER)


def test_impostor_parent_next_to_the_child_is_rejected(tmp_path: Path) -> None:
    shutil.copy(CHILD, tmp_path / CHILD.name)
    shutil.copy(OTHER, tmp_path / PARENT.name)  # right name, wrong disk
    with pytest.raises(IncompleteChainError, match="UUID mismatch"):
        open_vhd_chain(tmp_path / CHILD.name)


def test_reads_only_what_is_needed() -> None:
    counter: Counter[str] = Counter()
    stream, _chain = open_vhd_chain(CHILD, opener=_counting_opener(counter))
    opened = sum(counter.values())
    with stream:
        for offset, files in ((MIB, 2), (3 * MIB + 123, 2), (9 * MIB, 1)):  # mostly parent, mixed, child
            counter.clear()
            stream.seek(offset)
            assert len(stream.read(4096)) == 4096
            assert len(counter) == files
            assert sum(counter.values()) <= 9 * 512 + 2 * 512  # 8-9 sectors + one sector bitmap per file
    assert opened < 16 * KIB
    assert CHILD.stat().st_size > 8 * MIB and PARENT.stat().st_size > 8 * MIB


def test_time_stamp_difference_is_reported(tmp_path: Path) -> None:
    child = Path(shutil.copy(CHILD, tmp_path / CHILD.name))
    shutil.copy(PARENT, tmp_path / PARENT.name)
    _patch_header(child, 56, struct.pack(">I", 313725300 + 3600))
    stream, _ = open_vhd_chain(child)
    with stream:
        assert len(stream.notes) == 1 and "time stamp" in stream.notes[0] and "differs" in stream.notes[0]


# ------------------------------------------------------------------------------------- chains built here


@pytest.mark.parametrize(("name", "want", "depth"), [
    ("child", "after", 2), ("fixed_child", "after", 2), ("grandchild", "after2", 3),
])
def test_chain_bytes_equal_the_after_disk(built: dict[str, Path], name: str, want: str, depth: int) -> None:
    expected = built[want].read_bytes()
    stream, chain = open_vhd_chain(built[name])
    with stream:
        assert len(chain) == depth and chain[0] == built[name]
        assert stream.size == len(expected)
        assert stream.read() == expected
        rng = random.Random(len(name))
        for _ in range(200):  # unaligned reads across sector, bitmap-byte and block boundaries
            offset, length = rng.randrange(len(expected)), rng.randrange(1, 70 * KIB)
            stream.seek(offset)
            assert stream.read(length) == expected[offset : offset + length]
        stream.seek(-10, io.SEEK_END)
        assert stream.read(100) == expected[-10:] and stream.read(1) == b""


def test_dynamic_base_reads_like_dissect(built: dict[str, Path]) -> None:
    stream, chain = open_vhd_chain(built["base"])
    with stream, open(built["base"], "rb") as fh:
        assert chain == [built["base"]]
        assert stream.read() == VHD(fh).read() == built["before"].read_bytes()


def test_stream_is_a_regular_file_object(built: dict[str, Path]) -> None:
    stream, _ = open_vhd_chain(built["child"])
    assert isinstance(stream, VhdChainStream) and stream.seekable() and stream.readable()
    assert not stream.writable()
    buffered = io.BufferedReader(stream)
    buffered.seek(MIB + 999)
    assert buffered.read(3) == built["after"].read_bytes()[MIB + 999 : MIB + 1002]
    buf = bytearray(700)
    stream.seek(4096 * 512 - 100)
    assert stream.readinto(buf) == 700
    with pytest.raises(ValueError):
        stream.seek(-1)
    buffered.close()
    assert stream.closed


def test_parent_found_by_w2ku_basename_when_w2ru_is_wrong(tmp_path: Path, built: dict[str, Path]) -> None:
    base = Path(shutil.copy(built["base"], tmp_path / "original.vhd"))
    child = tmp_path / "child.avhd"
    write_vhd_differencing(base, built["before"], built["after"], child, clock=LATER,
                           absolute_parent_path="D:\\Hyper-V\\Disks\\moved.vhd")
    base.rename(tmp_path / "moved.vhd")  # W2ru and the Unicode name still say original.vhd
    assert resolve_parent(child) == tmp_path / "moved.vhd"
    stream, chain = open_vhd_chain(child)
    with stream:
        assert chain == [child, tmp_path / "moved.vhd"]
        assert stream.read() == built["after"].read_bytes()
    (tmp_path / "moved.vhd").rename(tmp_path / "elsewhere.vhd")
    with pytest.raises(IncompleteChainError, match="original.vhd"):
        open_vhd_chain(child)
    stream, _ = open_vhd_chain(child, tmp_path / "elsewhere.vhd")  # --parent, proven by its unique id
    stream.close()


def test_grandchild_with_missing_middle_fails(tmp_path: Path, built: dict[str, Path]) -> None:
    shutil.copy(built["grandchild"], tmp_path / "grandchild.avhd")
    shutil.copy(built["base"], tmp_path / "base.vhd")
    with pytest.raises(IncompleteChainError, match="base_child.avhd"):
        open_vhd_chain(tmp_path / "grandchild.avhd")
    with pytest.raises(IncompleteChainError, match="UUID mismatch"):  # the base is not its parent
        open_vhd_chain(tmp_path / "grandchild.avhd", tmp_path / "base.vhd")


# ------------------------------------------------------------------------------------------ hostile bytes


def test_self_referencing_child_is_incomplete(tmp_path: Path, built: dict[str, Path]) -> None:
    child = Path(shutil.copy(built["child"], tmp_path / "base_child.avhd"))
    own_id = child.read_bytes()[-512 + 68 : -512 + 84]
    _patch_header(child, 40, own_id)
    with pytest.raises(IncompleteChainError):
        open_vhd_chain(child)


def test_footer_copy_is_used_when_the_footer_is_lost(tmp_path: Path, built: dict[str, Path]) -> None:
    shutil.copy(built["base"], tmp_path / "base.vhd")
    raw = built["child"].read_bytes()
    child = tmp_path / "base_child.avhd"
    child.write_bytes(raw[:-512] + bytes(512))  # spec: the copy at offset 0 is there for this
    stream, _ = open_vhd_chain(child)
    with stream:
        assert stream.read() == built["after"].read_bytes()
        assert stream.notes == ("base_child.avhd: footer lost; its copy at offset 0 was used",)


@pytest.mark.parametrize("damage", ["truncated", "no-footer", "bat-past-eof", "huge-block"])
def test_damaged_child_never_tracebacks(tmp_path: Path, built: dict[str, Path], damage: str) -> None:
    shutil.copy(built["base"], tmp_path / "base.vhd")
    child = Path(shutil.copy(built["child"], tmp_path / "base_child.avhd"))
    raw = bytearray(child.read_bytes())
    if damage == "truncated":
        child.write_bytes(bytes(raw[:1000]))
    elif damage == "no-footer":
        child.write_bytes(bytes(512) + bytes(raw[512:-512]) + bytes(512))
    elif damage == "huge-block":
        _patch_header(child, 32, struct.pack(">I", 0x80000000))
    else:
        bat_offset = struct.unpack_from(">Q", raw, 512 + 16)[0]
        struct.pack_into(">I", raw, bat_offset, 0x7FFFFFF0)
        child.write_bytes(bytes(raw))
        stream, _ = open_vhd_chain(child)
        with stream, pytest.raises(OSError, match="outside the file"):
            stream.read(4096)
        return
    with pytest.raises(UnsupportedSourceError):
        open_vhd_chain(child)


@pytest.mark.parametrize(
    "locators",
    [
        [(b"MacX", b"file://[::1/base.vhd")],  # urlparse: "Invalid IPv6 URL"
        [(b"W2ku", "C:\\VMs\\ba\0se.vhd".encode("utf-16-le")),
         (b"W2ru", ".\\b\0ase.vhd".encode("utf-16-le"))],
        [(b"Wi2k", b"C:\\ba\0se.vhd"), (b"MacX", b"file://%00/\0\xff\xfe")],
    ],
    ids=["macx-invalid-ipv6", "nul-in-w2ku-w2ru", "nul-in-ansi-and-url"],
)
def test_hostile_locators_are_a_parent_not_found(
    tmp_path: Path, built: dict[str, Path], locators: list[tuple[bytes, bytes]]
) -> None:
    """Locators are attacker bytes: a URL urlparse rejects or a path with a NUL is "parent not found"
    (exit 6, with the reason), never a ValueError escaping."""
    child = Path(shutil.copy(built["child"], tmp_path / "base_child.avhd"))  # base.vhd is not beside it
    raw = bytearray(child.read_bytes())
    spare = len(raw) - 512 - 512 * len(locators)  # overwrite the sectors just before the footer
    entries = bytearray(24 * 8)
    for i, (code, data) in enumerate(locators):
        at = spare + 512 * i
        raw[at : at + 512] = data.ljust(512, b"\0")
        struct.pack_into(">4sIIIQ", entries, 24 * i, code, 1, len(data), 0, at)
    child.write_bytes(bytes(raw))
    _patch_header(child, 576, bytes(entries))
    with pytest.raises(IncompleteChainError) as caught:
        open_vhd_chain(child)
    assert caught.value.exit_code == ExitCode.INCOMPLETE_CHAIN


# ------------------------------------------------------------------------------------------ read-only proof


def test_evidence_files_unchanged_after_reading() -> None:
    stream, chain = open_vhd_chain(CHILD)
    with stream:
        stream.read()
    with open_evidence(CHILD) as evidence:
        evidence.system_volume()[1].path(ON_VOLUME).read_bytes()
    with pytest.raises(IncompleteChainError):
        open_vhd_chain(CHILD, OTHER)
    for path in (*chain, OTHER):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest == MANIFEST[path.name]["sha256"], f"{path.name} changed"
