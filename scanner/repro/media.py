"""The base OS media of a reproduction: what the server was installed from, reasoned from install evidence.

Today's ``CSDVersion`` says which service pack the server has now, not which media it was installed from: a
lab that starts from SP2 media cannot reproduce an SP2 install that left SP1 files behind. The initial level
is read, in order of strength, from the first boot's EventLog 6009 (its strings carry the OS version and
service pack of that boot), from the first service-pack install after the OS install (the media was below
it: the level before, reference §2.2), or - with no service-pack install at all - from the installed level
(slipstreamed media). The install language is not among what the scan reads, so it is reported unknown.
"""

from __future__ import annotations

from datetime import timedelta

from scanner.diagnose import ScanResult
from scanner.knowledge.os import OsProfile
from scanner.model import Evidence, SystemFacts, TimelineEntry
from scanner.model.update_ids import sp_label
from scanner.repro.model import BaseMedia, MediaFact
from scanner.rules.context import detail_text, sources_evidence

#: A component installed this close to the OS install came with the OS setup (same unattended run).
_WITH_OS = timedelta(hours=1)


def entry_sp_level(entry: TimelineEntry) -> int | None:
    """The SP level an entry carries: typed, set by fusion (an SP install's number, a boot's 6009)."""
    return entry.sp_level


def sp_name(level: int | None, profile: OsProfile | None) -> str | None:
    """The profile's name for a level ("RTM", "Service Pack 2"), else the generic one."""
    if level is None:
        return None
    return profile.sp_name(level) if profile else sp_label(level)


def _registry(system: SystemFacts, key_part: str, says: str) -> tuple[Evidence, ...]:
    source = next((p for p in system.sources if key_part.lower() in p.locator.lower()), None)
    if source is None and system.sources:
        source = system.sources[0]
    return (Evidence(says, source),) if source is not None else ()


def os_install_entry(result: ScanResult) -> TimelineEntry | None:
    return next((e for e in result.timeline.entries if e.kind == "os-install"), None)


def base_components(result: ScanResult, install: TimelineEntry | None) -> list[TimelineEntry]:
    """Component installs recorded at the OS install (same setup run), before any service pack."""
    if install is None or install.at is None:
        return []
    first_sp = next(
        (e.at for e in result.timeline.entries if e.kind == "service-pack" and e.at is not None), None
    )
    out = []
    for entry in result.timeline.entries:
        if entry.kind != "component-install" or entry.at is None:
            continue
        if abs(entry.at - install.at) <= _WITH_OS and (first_sp is None or entry.at < first_sp):
            out.append(entry)
    return out


def _initial_level(
    result: ScanResult, install: TimelineEntry | None, profile: OsProfile | None
) -> tuple[MediaFact, int | None]:
    """The media's SP level as a fact for people, and the typed level it decided (never parsed back)."""
    system = result.inventory.system
    entries = result.timeline.entries
    since = install.at if install is not None else None
    sp_entries = [
        e
        for e in entries
        if e.kind == "service-pack" and e.at is not None and (since is None or e.at >= since)
    ]
    first_sp = sp_entries[0] if sp_entries else None
    boots = [
        e
        for e in entries
        if e.kind == "reboot"
        and e.at is not None
        and e.sp_level is not None
        and (since is None or e.at >= since)
        and (first_sp is None or e.at < first_sp.at)  # type: ignore[operator]
    ]
    if boots:
        boot = boots[0]
        os_text = detail_text(boot, "os") or f"service pack level {boot.sp_level}"  # for people
        level = boot.sp_level or 0
        how = f'the first boot after the install reports "{os_text}"'
        if first_sp is not None:
            how += f"; the first service-pack install ({first_sp.subject}) came later"
        evidence = sources_evidence(boot, 1) + (sources_evidence(first_sp, 1) if first_sp else ())
        return MediaFact("service_pack", sp_name(level, profile), how, evidence), level
    if first_sp is not None:
        installed = first_sp.sp_level
        if installed is not None and installed > 0:
            level = installed - 1
            how = (
                f"{first_sp.subject} was installed after the OS install, so the media was below it "
                f"(taken as {sp_name(level, profile)}: no boot record says which level the install had)"
            )
            fact = MediaFact("service_pack", sp_name(level, profile), how, sources_evidence(first_sp, 2))
            return fact, level
    if system is not None and system.service_pack is not None:  # None: nothing attests the level
        level = system.service_pack
        how = (
            "no service-pack install after the OS install: the media already had the installed level "
            "(slipstreamed)"
        )
        says = f"CSDVersion = {system.csd_version}" if system.csd_version else "no CSDVersion (RTM)"
        evidence = _registry(system, "CSDVersion", says)
        return MediaFact("service_pack", sp_name(level, profile), how, evidence), level
    return MediaFact("service_pack", None, "no system facts and no install evidence"), None


def base_media(result: ScanResult, profile: OsProfile | None) -> BaseMedia:
    """Product, edition, architecture, language, initial SP level and components, each with its evidence."""
    system = result.inventory.system
    install = os_install_entry(result)
    facts: list[MediaFact] = []
    product = system.product if system else None
    if system is not None and product:
        facts.append(
            MediaFact("product", product, "ProductName", _registry(system, "CurrentVersion", product))
        )
    else:
        facts.append(MediaFact("product", None, "the registry gives no product name"))
    edition = system.edition if system else None
    facts.append(
        MediaFact("edition", edition, "registry edition")
        if system is not None and edition
        else MediaFact("edition", None, "not recorded in what the scan reads: check the customer's media")
    )
    arch = system.architecture if system else None
    if system is not None and arch:
        says = f"PROCESSOR_ARCHITECTURE -> {arch}"
        facts.append(
            MediaFact("architecture", arch, "processor architecture", _registry(system, "PROCESSOR", says))
        )
    else:
        facts.append(MediaFact("architecture", None, "the registry gives no architecture"))
    facts.append(
        MediaFact("language", None, "the scan does not read the install language: check the customer's media")
    )
    level_fact, level = _initial_level(result, install, profile)
    facts.append(level_fact)
    with_os = base_components(result, install)
    components = tuple(dict.fromkeys(e.subject for e in with_os))
    if components:
        evidence = tuple(ev for e in with_os for ev in sources_evidence(e, 1))
        how = "component installs recorded at the OS install time, before any service pack"
        facts.append(MediaFact("components", ", ".join(components), how, evidence))
    return BaseMedia(
        product=product,
        edition=edition,
        architecture=arch,
        language=None,
        service_pack=level,
        service_pack_name=level_fact.value,
        components=components,
        facts=tuple(facts),
    )
