"""One fuzz target per parser that reads untrusted bytes, and the errors each documents.

A target is ``run(data)``: it feeds the bytes to the format layer's parser directly (``scanner/formats/``:
regf logs, .evt, .evtx, PE version resources, VHD, text lines), then the way the scanner does. ``allowed``
lists the exceptions the API documents (``HiveUnreadable``, ``PeFormatError``, ``VhdFormatError``, the VHD
chain's ``ScannerError``s...); anything else escaping ``run`` is a crash. Documented "empty result with a
gap" APIs (event logs, text logs, registry collectors) allow nothing: a gap is their only way to fail. The
imports are lazy so each target's subprocess loads (and atheris instruments) only what it exercises.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Target:
    name: str
    run: Callable[[bytes], Any]
    seeds: tuple[str, ...]  # seed kinds (folders of seeds.build()) this target starts from
    modules: tuple[str, ...]  # packages atheris instruments for coverage
    allowed: Callable[[], tuple[type[BaseException], ...]] = field(default=lambda: ())
    doc: str = ""
    # A crash class already filed (a committed regression input, fix owned elsewhere): tolerated only when
    # PATCHMORTEM_FUZZ_SKIP_KNOWN=1, so a long run can look past it for other crashes.
    known: Callable[[], tuple[type[BaseException], ...]] = field(default=lambda: ())
    # Longest input (libFuzzer -max_len) unless the command line says otherwise: a 1 MiB .evt seed
    # would make every execution read 1 MiB; the record and chunk parsers' paths are all reached within it.
    max_len: int = 1 << 20


_REG_MODULES = ("scanner", "Registry")
_TEXT_MAX = 64 * 1024  # text logs: a real 1 MiB setupapi.log costs 0.5 s a run, and its lines repeat
_state: dict[str, Any] = {}


# --- registry --------------------------------------------------------------------------------------------


def _hive_unreadable() -> tuple[type[BaseException], ...]:
    from scanner.collectors.hive import HiveUnreadable
    from scanner.formats.regf_log import LogRejected

    return (HiveUnreadable, LogRejected)


def _hive_open(data: bytes) -> None:
    from scanner.collectors.hive import open_hive
    from scanner.formats.regf_log import file_type, is_dirty, log_format

    is_dirty(data)
    file_type(data)
    log_format(data)
    open_hive(data, {}, artifact="WINDOWS\\system32\\config\\SOFTWARE")


def _primary(kind: str) -> bytes:
    """The dirty primary hive a fuzzed log replays onto (from the seeds; a log alone replays nothing)."""
    key = f"primary-{kind}"
    if key not in _state:
        from tests.fuzz import seeds

        folder = seeds.build(real=False) / f"{kind}_primary"
        _state[key] = sorted(folder.iterdir())[0].read_bytes()
    return _state[key]


def _hive_log_nt5(data: bytes) -> None:
    from scanner.collectors.hive import open_hive
    from scanner.formats.regf_log import LogRejected, replay_nt5

    try:
        replay_nt5(_primary("hive_log_nt5"), data)
    except LogRejected:
        pass
    open_hive(_primary("hive_log_nt5"), {"software.LOG": data}, artifact="WINDOWS/system32/config/SOFTWARE")


def _hive_log_nt6(data: bytes) -> None:
    from scanner.collectors.hive import open_hive
    from scanner.formats.regf_log import LogRejected, replay_nt6

    # A second "regf" base block in the bytes starts .LOG2 (the replay orders and chains both logs); a
    # seed (one real .LOG1) so replays unchanged, and mutation can grow the pair.
    cut = data.find(b"regf", 1)
    logs = {"SYSTEM.LOG1": data, "SYSTEM.LOG2": b""} if cut < 0 else {
        "SYSTEM.LOG1": data[:cut], "SYSTEM.LOG2": data[cut:]}
    try:
        replay_nt6(_primary("hive_log_nt6"), [(n, d) for n, d in logs.items() if d])
    except LogRejected:
        pass
    open_hive(_primary("hive_log_nt6"), logs, artifact="Windows/System32/config/SYSTEM")


def _hive(data: bytes) -> Any:
    """The hive as the pipeline hands it to the collectors, or None when open_hive refuses it."""
    from scanner.collectors.hive import HiveUnreadable, open_hive
    from scanner.collectors.regsafe import Hive

    try:
        opened = open_hive(data, {}, artifact="WINDOWS/system32/config/SOFTWARE")
    except HiveUnreadable:
        return None
    return Hive(opened.registry, "WINDOWS/system32/config/SOFTWARE")


def _reg_system_facts(data: bytes) -> None:
    from scanner.collectors.registry import current_control_set, system_facts

    hive = _hive(data)
    if hive is not None:
        system_facts(hive, hive)  # the same bytes as SOFTWARE and SYSTEM: both walks see them
        current_control_set(hive, [])


def _reg_update_records(data: bytes) -> None:
    from scanner.collectors.registry_updates import update_records

    hive = _hive(data)
    if hive is not None:
        update_records(hive, _fixed_zone())


def _reg_software_installs(data: bytes) -> None:
    from scanner.collectors.registry import software_installs

    hive = _hive(data)
    if hive is not None:
        software_installs(hive, _fixed_zone(), [])


def _reg_pending_renames(data: bytes) -> None:
    from scanner.collectors.registry import pending_renames

    hive = _hive(data)
    if hive is not None:
        pending_renames(hive, [])


def _reg_servicing_markers(data: bytes) -> None:
    from scanner.collectors.registry import iis_setup_time, servicing_markers

    hive = _hive(data)
    if hive is not None:
        list(servicing_markers(hive, []))
        iis_setup_time(hive, [])


# --- event logs, PE, VHD ------------------------------------------------------------------------------


def _evt(data: bytes) -> None:
    from scanner.collectors.events import read_event_log
    from scanner.formats.evt import scan_evt

    scan_evt(io.BytesIO(data), len(data) + 512)  # a size beyond the data: a file shorter than it says
    read_event_log(io.BytesIO(data), "WINDOWS/system32/config/SysEvent.Evt", "System")


def _evtx(data: bytes) -> None:
    from scanner.collectors.events import read_event_log
    from scanner.formats.evtx import scan_evtx

    scan_evtx(io.BytesIO(data), len(data))
    read_event_log(io.BytesIO(data), "Windows/System32/winevt/Logs/System.evtx", "System")


def _pe(data: bytes) -> None:
    from scanner.collectors.pe_version import lab_tag_of
    from scanner.formats.pe_version import read_version_resource

    resource = read_version_resource(io.BytesIO(data), len(data))
    lab_tag_of(resource.string("FileVersion"))
    # max_resource=64: the sparse RT_VERSION walk, which whole-section reads of small inputs never reach.
    read_version_resource(io.BytesIO(data), len(data), max_resource=64)


def _pe_unreadable() -> tuple[type[BaseException], ...]:
    from scanner.formats.pe_version import PeFormatError

    return (PeFormatError,)


def _vhd_dir() -> Path:
    """A private folder holding the fuzzed child and a plausible (sparse) parent next to it."""
    if "vhd" not in _state:
        folder = Path(tempfile.mkdtemp(prefix="pm-fuzz-vhd-"))
        _state["vhd"] = folder
    return _state["vhd"]


def _vhd(data: bytes) -> None:
    from scanner.evidence.vhdchain import is_vhd_differencing, resolve_chain
    from scanner.formats.vhd import SECTOR, VhdLayer, footer_disk_type, read_info

    fh = io.BytesIO(data)
    footer_disk_type(fh)
    info = read_info(fh)  # VhdFormatError ends the run (documented); else its BAT and bitmaps are read
    try:
        layer = VhdLayer(info, fh, None, "fuzz.vhd")
        last = info.size // SECTOR - 1
        for sector in {0, last // 2, last}:
            layer.read(sector, 1)
    except OSError:  # VhdLayer's documented read failure (a BAT entry or sector outside the file)
        pass
    child = _vhd_dir() / "child.avhd"
    child.write_bytes(data)
    if is_vhd_differencing(child):
        resolve_chain(child)


def _scanner_errors() -> tuple[type[BaseException], ...]:
    from scanner.errors import IncompleteChainError, SourceNotFoundError, UnsupportedSourceError
    from scanner.formats.vhd import VhdFormatError

    return (IncompleteChainError, SourceNotFoundError, UnsupportedSourceError, VhdFormatError)


# --- text logs --------------------------------------------------------------------------------------------


def _fixed_zone() -> Any:
    from scanner.model import TimeZoneFacts

    # Pacific, the fixtures' zone: a real rule so the local->UTC paths run.
    return TimeZoneFacts("Pacific Standard Time", "Pacific Standard Time", "Pacific Daylight Time",
                         480, 0, -60, (0, 11, 0, 1, 2, 0, 0, 0), (0, 3, 0, 2, 2, 0, 0, 0))


def _text(parse_name: str, module: str, artifact: str) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        import importlib

        parse = getattr(importlib.import_module(module), parse_name)
        parse(io.BytesIO(data), artifact, _fixed_zone())
        parse(io.BytesIO(data), artifact, None)
    return run


def _drwatson(data: bytes) -> None:
    from scanner.collectors.logs.drwatson import parse_drwatson

    text = data.decode("latin-1")
    parse_drwatson(text.splitlines(keepends=True), "WINNT/drwtsn32.log", _fixed_zone())


def _leftbehind(data: bytes) -> None:
    from scanner.collectors.logs.leftbehind import left_behind, parse_code

    for line in data.decode("latin-1").splitlines()[:200]:
        left_behind(line)
        parse_code(line)


def _decoded_lines(data: bytes) -> list[str]:
    from scanner.formats.lines import read_lines

    return [line.text for line in read_lines(io.BytesIO(data))]


def _w3c(data: bytes) -> None:
    from scanner.collectors.logs.w3c import summarise_w3c

    summarise_w3c(_decoded_lines(data), "WINDOWS/system32/LogFiles/W3SVC1/ex091207.log", "W3SVC1")


def _httperr(data: bytes) -> None:
    from scanner.collectors.logs.w3c import summarise_httperr

    summarise_httperr(_decoded_lines(data), "WINDOWS/system32/LogFiles/HTTPERR/httperr1.log")


def _w3c_stream(data: bytes) -> None:
    from scanner.formats.lines import read_lines
    from scanner.formats.w3c import W3cLineParser

    # The first two bytes choose the reader's bounds, so short lines and chunk edges meet.
    max_line = 1 + (data[0] if data else 0)
    chunk = 1 + (data[1] if len(data) > 1 else 0)
    total = 0
    texts = []
    for line in read_lines(io.BytesIO(data[2:]), max_line=max_line, chunk=chunk):
        assert len(line.text) <= max_line + 1, f"a line of {len(line.text)} characters passed {max_line=}"
        assert line.overlong or len(line.text) <= max_line, "a line over max_line is not flagged"
        total += 1
        assert line.number == total, "line numbers skip or repeat"
        assert total <= len(data) + 1, "more lines than bytes: the reader is not making progress"
        texts.append(line.text)
    parser = W3cLineParser("httperr")
    list(parser.items(texts))
    assert parser.lines == total


# --- local time ------------------------------------------------------------------------------------------


def _localtime(data: bytes) -> None:
    import atheris  # only ever run under the fuzzer or the replay test, which imports it too

    from scanner.model import TimeZoneFacts
    from scanner.model.localtime import local_date_to_utc, local_to_utc, offset_minutes, utc_to_local

    fdp = atheris.FuzzedDataProvider(data)

    def systemtime() -> tuple[int, ...]:  # SYSTEMTIME: eight WORDs, as registry_tz reads them
        return tuple(fdp.ConsumeIntInRange(0, 0xFFFF) for _ in range(8))

    def signed() -> int:  # a REG_DWORD bias read as signed (registry_tz._signed)
        return fdp.ConsumeIntInRange(-(1 << 31), (1 << 31) - 1)

    tz = TimeZoneFacts("fuzz", "fuzz standard", "fuzz daylight", signed(), signed(), signed(), systemtime(),
                       systemtime(), signed() if fdp.ConsumeBool() else None)
    first, last = datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59)  # noqa: DTZ001 - local wall clock
    local = first + timedelta(seconds=fdp.ConsumeIntInRange(0, int((last - first).total_seconds())))
    offset_minutes(local, tz)
    local_to_utc(local, tz)
    utc_to_local(local.replace(tzinfo=timezone.utc), tz)
    local_date_to_utc(local.year, local.month, local.day, tz)


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("hive_open", _hive_open, ("hive",), _REG_MODULES, _hive_unreadable,
           "formats/regf_log dirty checks and collectors/hive.py open_hive on a primary hive alone"),
    Target("hive_log_nt5", _hive_log_nt5, ("hive_log_nt5",), _REG_MODULES, _hive_unreadable,
           "formats/regf_log.replay_nt5 and open_hive with a fuzzed NT5 .LOG on a dirty primary"),
    Target("hive_log_nt6", _hive_log_nt6, ("hive_log_nt6",), _REG_MODULES, _hive_unreadable,
           "formats/regf_log.replay_nt6 and open_hive with fuzzed NT6 .LOG1/.LOG2 on a dirty primary"),
    Target("reg_system_facts", _reg_system_facts, ("hive",), _REG_MODULES, doc="registry.system_facts, "
           "current_control_set, registry_tz.time_zone"),
    Target("reg_update_records", _reg_update_records, ("hive",), _REG_MODULES,
           doc="registry_updates.update_records"),
    Target("reg_software_installs", _reg_software_installs, ("hive",), _REG_MODULES,
           doc="registry_updates.software_installs"),
    Target("reg_pending_renames", _reg_pending_renames, ("hive",), _REG_MODULES,
           doc="registry.pending_renames"),
    Target("reg_servicing_markers", _reg_servicing_markers, ("hive",), _REG_MODULES,
           doc="registry.servicing_markers and iis_setup_time"),
    Target("evt", _evt, ("evt",), ("scanner",), doc="formats/evt.scan_evt and events.read_event_log on .evt",
           max_len=64 * 1024),
    Target("evtx", _evtx, ("evtx",), ("scanner",),
           doc="formats/evtx.scan_evtx and events.read_event_log on .evtx", max_len=4096 + 2 * 65536),
    Target("pe_version", _pe, ("pe",), ("scanner", "pefile"), _pe_unreadable,
           "formats/pe_version.read_version_resource (whole and sparse resource section)"),
    Target("vhd_chain", _vhd, ("vhd",), ("scanner",), _scanner_errors,
           "formats/vhd read_info + VhdLayer reads, vhdchain is_vhd_differencing + resolve_chain"),
    Target("updateexe", _text("parse_updateexe", "scanner.collectors.logs.updateexe", "WINDOWS/KB973917.log"),
           ("updateexe",), ("scanner",), doc="logs/updateexe.parse_updateexe", max_len=_TEXT_MAX),
    Target("iis_setup", _text("parse_iis_setup", "scanner.collectors.logs.setuplogs", "WINDOWS/iis6.log"),
           ("iis_setup", "setupapi"), ("scanner",), doc="logs/setuplogs.parse_iis_setup", max_len=_TEXT_MAX),
    Target("setupapi", _text("parse_setupapi", "scanner.collectors.logs.setuplogs", "WINDOWS/setupapi.log"),
           ("setupapi",), ("scanner",), doc="logs/setuplogs.parse_setupapi", max_len=_TEXT_MAX),
    Target("windowsupdate", _text("parse_windowsupdate", "scanner.collectors.logs.windowsupdate",
                                  "WINDOWS/WindowsUpdate.log"),
           ("windowsupdate",), ("scanner",), doc="logs/windowsupdate.parse_windowsupdate", max_len=_TEXT_MAX),
    Target("cbs", _text("parse_cbs", "scanner.collectors.logs.cbs", "Windows/Logs/CBS/CBS.log"),
           ("cbs",), ("scanner",), doc="logs/cbs.parse_cbs", max_len=_TEXT_MAX),
    Target("drwatson", _drwatson, ("drwatson",), ("scanner",),
           doc="logs/drwatson.parse_drwatson", max_len=_TEXT_MAX),
    Target("leftbehind", _leftbehind, ("updateexe",), ("scanner",),
           doc="logs/leftbehind.left_behind", max_len=_TEXT_MAX),
    Target("w3c", _w3c, ("w3c",), ("scanner",),
           doc="logs/w3c.summarise_w3c over formats/lines.read_lines", max_len=_TEXT_MAX),
    Target("httperr", _httperr, ("httperr",), ("scanner",),
           doc="logs/w3c.summarise_httperr", max_len=_TEXT_MAX),
    Target("w3c_stream", _w3c_stream, ("w3c", "httperr"), ("scanner",),
           doc="formats/lines.read_lines with fuzzed max_line/chunk, lines through formats/w3c",
           max_len=_TEXT_MAX),
    Target("localtime", _localtime, ("localtime",), ("scanner",),
           doc="model/localtime.py with random TimeZoneFacts and datetimes"),
)}


def _selftest_crash(data: bytes) -> None:
    if data.startswith(b"CRASH"):
        raise RuntimeError("selftest: an undocumented exception must be reported as a crash")


#: Targets that prove the machinery (not in ``TARGETS``, so never in ``all``): a harness must fail loudly.
SELFTESTS: dict[str, Target] = {"selftest_crash": Target("selftest_crash", _selftest_crash, (), ())}
ALL: dict[str, Target] = {**TARGETS, **SELFTESTS}


def check(target: Target, data: bytes, *, skip_known: bool = False) -> None:
    """Run one input; the documented errors are swallowed, anything else propagates (a crash)."""
    tolerated = target.allowed() + (target.known() if skip_known else ())
    try:
        target.run(data)
    except tolerated:  # documented outcome (or, with skip_known, a crash class already filed)
        pass
