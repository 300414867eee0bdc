"""Hand-built facts for the rules and diagnosis tests: a 2003 SP2 server, its IIS 6 files, timeline entries.

Literal values (no image) so each test reads as "a 2003 SP2 server whose w3dt.dll is 6.0.3790.1830 and was
created before SP2 went in..."; shared by tests/scanner/rules/ and tests/scanner/diagnose/.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from scanner.knowledge.profiles import Knowledge
from scanner.model import (
    FileState,
    Inventory,
    LogEvent,
    Provenance,
    SystemFacts,
    TimelineEntry,
    TimelineSource,
)
from scanner.model.versions import FileVersion
from scanner.rules import run_rules
from scanner.timeline.episodes import with_episodes

SOFTWARE = "WINDOWS\\system32\\config\\SOFTWARE"


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def system(
    version: str = "5.2.3790", sp: int = 2, product: str = "Microsoft Windows Server 2003"
) -> SystemFacts:
    return SystemFacts(
        product=product,
        version=version,
        build=int(version.split(".")[2]),
        service_pack=sp,
        csd_version=f"Service Pack {sp}" if sp else None,
        architecture="x86",
        hostname="WEB01",
        install_date=t("2006-01-01T00:00:00"),
        system_root="WINDOWS",
        timezone=None,
        sources=(Provenance(SOFTWARE, "Microsoft\\Windows NT\\CurrentVersion\\CSDVersion"),),
    )


def file(name: str, version: str, lab: str | None, created: str, component: str = "iis6") -> FileState:
    path = f"WINDOWS\\system32\\inetsrv\\{name}"
    return FileState(
        path=path,
        version=FileVersion.parse(version),
        lab_tag=lab,
        file_version_string=None,
        product_version=None,
        size=1,
        sha256=None,
        modified_at=t(created),
        created_at=t(created),
        component=component,
        sources=(Provenance(path, "MFT entry 1"),),
    )


def entry(
    kind: str, subject: str, at: str, details: dict[str, str] | None = None, files: tuple[str, ...] = ()
) -> TimelineEntry:
    sources = [TimelineSource("registry", t(at), "second", f"{subject} key", Provenance(SOFTWARE, subject))]
    sources += [
        TimelineSource("file", t(at), "second", "created", Provenance(p, "MFT entry 2")) for p in files
    ]
    return TimelineEntry(
        t(at),
        "second",
        kind,
        subject,
        f"{subject} {kind}",
        tuple(sources),
        details=tuple((details or {}).items()),
    )


SP1 = "srv03_sp1_rtm.050324-1447"
SP2 = "srv03_sp2_rtm.070216-1710"
# The typed SP number is what rules read (issue 13), never the subject's text.
SP2_ENTRY = replace(
    entry("service-pack", "Windows Server 2003 Service Pack 2", "2007-06-12T02:00:00"), sp_level=2
)


def iis6(created_old: str = "2006-04-03T18:10:00") -> list[FileState]:
    return [
        file("w3core.dll", "6.0.3790.3959", SP2, "2007-06-12T02:01:30"),
        file("w3isapi.dll", "6.0.3790.3959", SP2, "2007-06-12T02:01:30"),
        file("w3dt.dll", "6.0.3790.1830", SP1, created_old),
        file("iisutil.dll", "6.0.3790.1830", SP1, created_old),
    ]


def package_state(update: str, at: str, state: str) -> TimelineEntry:
    """A CBS package-state entry: its state is the typed ``record_state`` the onset reads."""
    return replace(entry("package-state-change", update, at, {"state": state}), record_state=state)


def traffic(what: str, at: str) -> TimelineEntry:
    return replace(entry("traffic", "W3SVC1", at, {"what": what}), traffic=what)  # type: ignore[arg-type]


def run(
    knowledge: Knowledge, inv: Inventory, entries: list[TimelineEntry], logs: list[LogEvent] | None = None
) -> dict[str, list]:
    findings, _ = run_rules(inv, entries, logs or [], knowledge)
    out: dict[str, list] = {}
    for f in findings:
        out.setdefault(f.rule, []).append(f)
    return out


def episodes(entries: list[TimelineEntry], inv: Inventory, knowledge: Knowledge) -> list[TimelineEntry]:
    """The entries with the failure episodes the timeline stage adds (the diagnosis reads those)."""
    assert knowledge.episodes is not None
    return with_episodes(entries, [], knowledge.components_for(inv.system), knowledge.episodes)
