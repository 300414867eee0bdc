"""Clean hives written by fixtures.factory.regf, read back with python-registry, dissect.regf and regipy."""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dissect.regf import RegistryHive as DissectHive
from regipy.registry import RegistryHive as RegipyHive
from Registry import Registry

from fixtures.factory.regf import HiveBuilder
from fixtures.factory.regf_cells import lh_hash
from fixtures.factory.regf_format import (
    BASE_BLOCK_SIZE,
    REG_BINARY,
    REG_DWORD,
    REG_DWORD_BIG_ENDIAN,
    REG_EXPAND_SZ,
    REG_LINK,
    REG_MULTI_SZ,
    REG_NONE,
    REG_QWORD,
    REG_RESOURCE_LIST,
    REG_SZ,
    BaseBlock,
    filetime,
    regf_checksum,
)

T0 = datetime(2009, 12, 9, 11, 2, 0, tzinfo=UTC)
T_CV = datetime(2010, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
T_RUN = datetime(2011, 1, 1, 0, 0, 1, 999999, tzinfo=UTC)
T_LATE = datetime(2012, 7, 8, 9, 10, 11, 1, tzinfo=UTC)
CV = "Microsoft\\Windows NT\\CurrentVersion"
RUN = "Microsoft\\Windows\\CurrentVersion\\Run"
MANY = "Classes\\Many"
BIG = bytes((i * 7 + 3) & 0xFF for i in range(20 * 1024))
HUGE_SZ = "".join(chr(0x41 + i % 26) for i in range(12000))  # 24002 bytes of UTF-16: db on 1.5

# name -> (type, python value as the readers return it)
CV_VALUES: dict[str, tuple[int, Any]] = {
    "ProductName": (REG_SZ, "Microsoft Windows Server 2003"),
    "CSDVersion": (REG_SZ, "Service Pack 2"),
    "EmptyString": (REG_SZ, ""),
    "OneChar": (REG_SZ, "A"),
    "SystemRoot": (REG_EXPAND_SZ, "%SystemDrive%\\WINDOWS"),
    "InstallDate": (REG_DWORD, 0x4B1F83A8),
    "MaxDword": (REG_DWORD, 0xFFFFFFFF),
    "Zero": (REG_DWORD, 0),
    "BigQ": (REG_QWORD, 0x0123456789ABCDEF),
    "DigitalProductId": (REG_BINARY, bytes(range(164))),
    "Tiny": (REG_BINARY, b"\x01\x02\x03"),
    "NoneEmpty": (REG_NONE, b""),
    "Multi": (REG_MULTI_SZ, ["first", "second string", "3"]),
    "MultiEmpty": (REG_MULTI_SZ, []),
    "BigBinary": (REG_BINARY, BIG),
    "HugeString": (REG_SZ, HUGE_SZ),
    "": (REG_SZ, "default value of CurrentVersion"),
}


def make_builder(minor: int) -> HiveBuilder:
    b = HiveBuilder(
        "CMI-CreateHive{3D971F19-49AB-4000-8D39-A6D9C673D809}",
        default_time=T0,
        minor_version=minor,
        file_name="\\SystemRoot\\System32\\Config\\SOFTWARE",
    )
    b.add_key(CV, last_written=T_CV, class_name="CurrentVersionClass")
    for name, (vtype, value) in CV_VALUES.items():
        b.set_value(CV, name, value, vtype if vtype in (REG_EXPAND_SZ, REG_QWORD, REG_NONE) else None)
    b.set_value(RUN, "VMware Tools", '"C:\\Program Files\\VMware\\VMware Tools\\VMwareTray.exe"')
    b.add_key(RUN, last_written=T_RUN)
    b.add_key("Policies\\Microsoft\\Windows\\WindowsUpdate\\AU", last_written=T_LATE)
    b.set_value("Policies\\Microsoft\\Windows\\WindowsUpdate\\AU", "NoAutoUpdate", 1)
    b.set_value("Odd", "NotTerminated", "ABC".encode("utf-16-le"), REG_SZ)
    b.set_value("Odd", "BigEndian", 0x01020304, REG_DWORD_BIG_ENDIAN)
    b.set_value("Odd", "Link", "\\Registry\\Machine\\Software\\Classes", REG_LINK)
    b.set_value("Odd", "ResList", b"\x01\x00\x00\x00" * 5, REG_RESOURCE_LIST)
    b.set_value("Odd", "ShortDword", b"\x07\x00", REG_DWORD)
    b.set_value("Odd", "Wert\u00fc\u0416", "unicode value name")
    b.add_key("Odd\\\u041a\u043b\u044e\u0447", last_written=T_RUN)  # UTF-16 key name (Cyrillic)
    b.set_value("Odd\\\u041a\u043b\u044e\u0447", "x", 5)
    for i in range(300):
        b.add_key(f"{MANY}\\Sub{i:03d}", last_written=T_LATE if i == 150 else None)
    return b


@pytest.fixture(scope="module", params=[3, 5], ids=["v1.3", "v1.5"])
def hive(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, bytes, Path]:
    minor = int(request.param)
    data = make_builder(minor).build(min_size=64 * 1024, sequence=7)
    path = tmp_path_factory.mktemp(f"regf{minor}") / "SOFTWARE"
    path.write_bytes(data)
    return minor, data, path


def _multi(value: list[str]) -> list[str]:
    # python-registry returns the terminators as trailing empty strings.
    return [s for s in value if s]


def test_base_block(hive: tuple[int, bytes, Path]) -> None:
    minor, data, _ = hive
    block = BaseBlock.unpack(data)
    assert data[:4] == b"regf"
    assert (block.primary_sequence, block.secondary_sequence) == (7, 7)
    assert block.minor_version == minor and block.major_version == 1
    assert block.file_type == 0 and block.file_format == 1 and block.clustering_factor == 1
    assert block.root_cell_offset == 0x20
    assert block.hbins_size == len(data) - BASE_BLOCK_SIZE
    assert block.hbins_size % 4096 == 0 and block.hbins_size >= 64 * 1024
    assert block.timestamp == filetime(T_LATE)  # newest key time by default
    assert block.file_name == "emRoot\\System32\\Config\\SOFTWARE"
    assert struct.unpack_from("<I", data, 508)[0] == regf_checksum(data)
    reg = Registry.Registry(io.BytesIO(data))
    assert reg._regf.validate_checksum() and reg._regf.validate_sequence_numbers()
    assert not reg._regf.recovery_required().recover_data


def test_hbins_are_tiled_by_cells(hive: tuple[int, bytes, Path]) -> None:
    """Every hive bin is fully covered by cells (python-registry walks them), the last one free."""
    _, data, _ = hive
    reg = Registry.Registry(io.BytesIO(data))
    expected_offset = BASE_BLOCK_SIZE
    bins = list(reg._regf.hbins())
    for hbin in bins:
        assert hbin.offset() == expected_offset
        size = struct.unpack_from("<I", data, hbin.offset() + 8)[0]
        assert struct.unpack_from("<I", data, hbin.offset() + 4)[0] == expected_offset - BASE_BLOCK_SIZE
        covered = sum(cell.size() for cell in hbin.cells())
        assert covered == size - 32
        expected_offset += size
    assert expected_offset == len(data)
    # dissect's walker agrees on every allocated cell.
    dh = DissectHive(io.BytesIO(data))
    kinds = {type(c).__name__ for _, allocated, c in dh.walk() if allocated and not isinstance(c, bytes)}
    assert {"KeyNode", "KeyValue", "KeySecurity"} <= kinds


def test_python_registry_reads_everything(hive: tuple[int, bytes, Path]) -> None:
    minor, data, _ = hive
    reg = Registry.Registry(io.BytesIO(data))
    assert reg.root().name() == "CMI-CreateHive{3D971F19-49AB-4000-8D39-A6D9C673D809}"
    assert reg.root().timestamp().replace(tzinfo=UTC) == T0
    key = reg.open(CV)
    assert key.timestamp().replace(tzinfo=UTC) == T_CV
    assert key._nkrecord.classname() == "CurrentVersionClass"
    # value-list order = insertion order; python-registry names the default value "(default)"
    assert [v.name() for v in key.values()] == [n or "(default)" for n in CV_VALUES]
    for name, (vtype, expected) in CV_VALUES.items():
        value = key.value(name)
        assert value.value_type() == vtype, name
        got = value.value()
        assert (_multi(got) if vtype == REG_MULTI_SZ else got) == expected, name
    assert reg.open(RUN).timestamp().replace(tzinfo=UTC) == T_RUN
    assert reg.open(RUN).value("vmware tools").value().endswith('VMwareTray.exe"')
    au = reg.open("policies\\MICROSOFT\\windows\\WindowsUpdate\\AU")
    assert au.timestamp().replace(tzinfo=UTC) == T_LATE and au.value("NoAutoUpdate").value() == 1
    odd = reg.open("Odd")
    assert odd.value("NotTerminated").value() == "ABC"
    assert odd.value("Link").raw_data() == "\\Registry\\Machine\\Software\\Classes".encode("utf-16-le")
    assert odd.value("ResList").raw_data() == b"\x01\x00\x00\x00" * 5
    assert odd.value("Wert\u00fc\u0416").value() == "unicode value name"
    assert reg.open("Odd\\\u041a\u043b\u044e\u0447").value("x").value() == 5
    assert reg.open(CV).path().endswith("\\Microsoft\\Windows NT\\CurrentVersion")
    big = key.value("BigBinary")._vkrecord
    cell = BASE_BLOCK_SIZE + big.unpack_dword(0x8)  # vk "data offset" field, relative to the hive bins
    assert big.raw_data_length() == len(BIG)
    assert (data[cell + 4 : cell + 6] == b"db") == (minor >= 5)  # big data record only on 1.5


def test_dissect_reads_everything(hive: tuple[int, bytes, Path]) -> None:
    minor, data, _ = hive
    dh = DissectHive(io.BytesIO(data))
    assert dh.root().name.startswith("CMI-CreateHive")
    key = dh.open(CV)
    assert key.cell.LastWriteTime == filetime(T_CV)
    assert key.class_name == "CurrentVersionClass"
    assert key.path == CV
    for name, (vtype, expected) in CV_VALUES.items():
        value = key.value(name or "(Default)")
        assert value.type == vtype, name
        assert value.value == expected, name
    assert dh.open(RUN).cell.LastWriteTime == filetime(T_RUN)
    assert dh.open("Policies\\Microsoft\\Windows\\WindowsUpdate\\AU").value("NoAutoUpdate").value == 1
    odd = dh.open("Odd")
    assert odd.value("NotTerminated").value == "ABC"
    assert odd.value("BigEndian").value == 0x01020304
    assert odd.value("ShortDword").data == b"\x07\x00"
    assert odd.value("Wert\u00fc\u0416").value == "unicode value name"
    assert [k.name for k in odd.subkeys()] == ["\u041a\u043b\u044e\u0447"]
    if minor >= 5:  # dissect matches lf hints as ASCII, so it cannot look up non-ASCII names in lf lists
        assert dh.open("Odd\\\u043a\u043b\u044e\u0447").value("x").value == 5


def test_regipy_reads_everything(hive: tuple[int, bytes, Path]) -> None:
    _, _, path = hive
    rh = RegipyHive(str(path))
    key = rh.get_key("\\" + CV)
    assert key.header.last_modified == filetime(T_CV)
    assert key.get_class_name() == "CurrentVersionClass"
    values = {v.name: v for v in key.iter_values(trim_values=False)}
    for name, (_vtype, expected) in CV_VALUES.items():
        got = values[name or "(default)"].value
        assert got == expected, name
    assert rh.get_key("\\" + RUN).header.last_modified == filetime(T_RUN)
    assert rh.get_key("\\Policies\\Microsoft\\Windows\\WindowsUpdate\\AU").get_value("NoAutoUpdate") == 1
    assert rh.get_key("\\Odd").get_value("Wert\u00fc\u0416") == "unicode value name"
    sd = key.get_security_key_info()
    assert sd["owner"] == "S-1-5-32-544" and sd["group"] == "S-1-5-18"
    assert {ace["sid"] for ace in sd["dacl"]} == {"S-1-5-18", "S-1-5-32-544", "S-1-5-32-545", "S-1-3-0"}


def test_300_subkeys_resolve_by_name(hive: tuple[int, bytes, Path]) -> None:
    minor, data, path = hive
    names = [f"Sub{i:03d}" for i in range(300)]
    reg = Registry.Registry(io.BytesIO(data))
    many = reg.open(MANY)
    assert [k.name() for k in many.subkeys()] == names
    dh = DissectHive(io.BytesIO(data))
    rh = RegipyHive(str(path))
    for i in (0, 1, 150, 255, 299):
        name = names[i]
        want = filetime(T_LATE if i == 150 else T0)
        assert many.subkey(name.lower()).timestamp().replace(tzinfo=UTC) == (T_LATE if i == 150 else T0)
        assert dh.open(f"{MANY}\\{name.upper()}").cell.LastWriteTime == want
        assert rh.get_key(f"\\{MANY}\\{name}").header.last_modified == want
    # The subkey list itself: lh with correct hashes on 1.5, lf with name hints on 1.3, sorted.
    nk = dh.open(MANY)
    leaf = nk._subkey_list
    assert type(leaf).__name__ == ("HashLeaf" if minor >= 5 else "FastLeaf")
    if minor >= 5:
        assert [e.HashKey for e in leaf.cell.List] == [lh_hash(n) for n in names]
    else:
        assert [bytes(e.NameHint) for e in leaf.cell.List] == [n[:4].encode() for n in names]


def test_index_root_for_very_long_subkey_lists(tmp_path: Path) -> None:
    b = HiveBuilder("ROOT", default_time=T0, minor_version=5)
    names = [f"K{i:05d}" for i in range(1234)]
    for name in reversed(names):  # insertion order must not matter: lists are sorted
        b.add_key(f"Big\\{name}")
    data = b.build()
    reg = Registry.Registry(io.BytesIO(data))
    assert [k.name() for k in reg.open("Big").subkeys()] == names
    dh = DissectHive(io.BytesIO(data))
    assert type(dh.open("Big")._subkey_list).__name__ == "IndexRoot"
    assert dh.open("Big\\K01000").name == "K01000"
    path = tmp_path / "h"
    path.write_bytes(data)
    assert RegipyHive(str(path)).get_key("\\Big\\K00777").name == "K00777"


def test_sorting_is_case_insensitive_uppercase_order() -> None:
    b = HiveBuilder("ROOT", default_time=T0, minor_version=5)
    for name in ("b", "A", "_x", "Z", "a1", "[", "{"):
        b.add_key(name)
    reg = Registry.Registry(io.BytesIO(b.build()))
    # Upper-cased comparison puts '_' (0x5F) and '[' (0x5B) after letters, '{' (0x7B) after them.
    assert [k.name() for k in reg.root().subkeys()] == ["A", "a1", "b", "Z", "[", "_x", "{"]


def test_builder_semantics() -> None:
    b = HiveBuilder("ROOT", default_time=T0)
    b.add_key("A\\B", last_written=T_CV)
    b.add_key("a\\b")  # re-adding without a time keeps the time
    b.set_value("A\\B", "V", 1)
    b.set_value("a\\b", "v", "replaced")  # value names are case-insensitive too
    b.add_key("A")
    reg = Registry.Registry(io.BytesIO(b.build()))
    key = reg.open("A\\B")
    assert key.timestamp().replace(tzinfo=UTC) == T_CV
    assert [(v.name(), v.value()) for v in key.values()] == [("V", "replaced")]
    assert reg.open("A").timestamp().replace(tzinfo=UTC) == T0
    b.delete_value("A\\B", "v")
    b.delete_key("A\\B")
    assert not b.has_key("A\\B") and b.has_key("A")
    with pytest.raises(ValueError):
        b.set_value("A", "big", 1 << 32)
    with pytest.raises(ValueError):
        b.set_value("A", "m", ["ok", ""])
    with pytest.raises(TypeError):
        b.set_value("A", "b", True)
    with pytest.raises(ValueError):
        HiveBuilder("ROOT", default_time=datetime(2020, 1, 1))  # noqa: DTZ001 - naive on purpose
    with pytest.raises(ValueError):
        b.delete_key("")


def test_deterministic() -> None:
    for minor in (3, 5):
        first = make_builder(minor).build(min_size=100_000, sequence=3)
        second = make_builder(minor).build(min_size=100_000, sequence=3)
        assert first == second
        assert len(first) - BASE_BLOCK_SIZE == 102_400  # min_size rounded up to 4096
