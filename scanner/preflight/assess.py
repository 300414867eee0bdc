"""Before the next patch: is this update safe on this server, at risk (why), or unknown (what is missing)?

Pure: typed facts + the update's profile + the known interactions -> one verdict per update. The reasons are
the ones the seed cases teach (reference §6, §7):

- a known interaction whose trigger is this update and whose latent condition the scan found (KB973917 on a
  Server 2003 SP2 whose IIS 6 files are below SP2 -> KB2009746, "IIS 6.0 may not function correctly");
- the update needs a higher service pack than the server has (Q281402: "The patch may have been installed
  before all components were at the required service pack level"), or ships no binary for the branch a file
  it replaces is on (reference §2.3, §7 #5);
- a component it patches already has files below its SP baseline, regressed hotfix files or an incomplete SP
  (Q281402's "older DLLs", KB2009746's mix) — the next update to touch it exposes that;
- a restart the last servicing needs never happened, or a package is staged / install-pending (§7 #6).

Nothing is guessed: an update without a profile is "unknown: no profile"; a decision whose evidence was not
read (no attested SP level, no file of the component) is unknown and names what is missing.
"""

from __future__ import annotations

from scanner.diagnose import ScanResult
from scanner.knowledge.os import OsProfile
from scanner.knowledge.profiles import Knowledge
from scanner.knowledge.updates import UpdateApplicability, UpdateProfile
from scanner.knowledge.versions import branch_of
from scanner.model import Finding, Provenance, version_text
from scanner.model.update_ids import normalise_update_id
from scanner.preflight.facts import PreflightFacts, below_baseline_files, finding_files
from scanner.preflight.model import (
    PreflightFile,
    PreflightReason,
    PreflightVerdict,
    ServerPreflight,
    status_of,
)
from scanner.preflight.servicing import installed, server_pending

#: Finding rules that mean a component is already in a state the next update touching it can expose
#: (reference §7 #2-#5): files below the SP baseline, hotfix files regressed, an SP that did not complete,
#: a GDR/QFE mix. Rule ids are a stable contract (scanner/rules/__init__.py).
COMPONENT_RULES = ("files-below-service-pack", "hotfix-files-regressed", "service-pack-install-incomplete",
                   "branch-mix")


def assess(
    scan: ScanResult | PreflightFacts, update_ids: tuple[str, ...] | list[str], knowledge: Knowledge
) -> tuple[PreflightVerdict, ...]:
    """One verdict per update id, in the order given (ids are normalised; duplicates assessed once)."""
    facts = scan if isinstance(scan, PreflightFacts) else PreflightFacts.from_scan(scan)
    wanted = dict.fromkeys(normalise_update_id(u) or u.strip().upper() for u in update_ids)
    return tuple(_assess_one(facts, update_id, knowledge) for update_id in wanted)


def assess_server(
    source: str,
    scan: ScanResult | PreflightFacts,
    update_ids: tuple[str, ...] | list[str],
    knowledge: Knowledge,
) -> ServerPreflight:
    """One source's row (what the server is, a verdict per update): what ``preflight`` prints per server and
    what ``fleet --preflight`` can put in its records."""
    facts = scan if isinstance(scan, PreflightFacts) else PreflightFacts.from_scan(scan)
    system = facts.system
    return ServerPreflight(
        source=source,
        verdicts=assess(facts, update_ids, knowledge),
        hostname=system.hostname if system else None,
        product=system.product if system else None,
        version=system.version if system else None,
        service_pack=system.service_pack if system else None,
        architecture=system.architecture if system else None,
    )


def _assess_one(facts: PreflightFacts, update_id: str, knowledge: Knowledge) -> PreflightVerdict:
    profile = knowledge.update(update_id)
    reasons = installed(facts, update_id, knowledge)
    pending = server_pending(facts, update_id)
    reasons += pending
    # Until the profile says what the update is on this OS, a verdict is unknown, whatever else is found.
    if profile is None:
        reasons.append(PreflightReason(
            "no-profile", "missing",
            f"no update profile for {update_id} in profiles/updates: what it requires and patches is "
            "not known",
            missing=(f"profiles/updates entry for {update_id}",),
        ))
        return _verdict(update_id, reasons, None, force_unknown=True)
    os = knowledge.os_for(facts.system)
    if os is None:
        version = facts.system.version if facts.system else None
        reasons.append(_missing("the OS version", f"no OS profile matches CurrentVersion {version!r}",
                                facts.system.sources if facts.system else ()))
        return _verdict(update_id, reasons, profile, force_unknown=True)
    entry = profile.for_os(os.id)
    if entry is None:
        reasons.append(PreflightReason(
            "not-for-this-os", "missing",
            f"the {update_id} profile has no entry for {os.title} "
            f"(it lists {', '.join(a.os for a in profile.applies)})",
            missing=(f"{update_id} facts for {os.title}",),
        ))
        return _verdict(update_id, reasons, profile, force_unknown=True)
    arch = facts.system.architecture if facts.system else None
    if entry.architectures and arch and arch not in entry.architectures:
        reasons.append(PreflightReason(
            "not-for-this-os", "missing",
            f"the {update_id} profile lists {', '.join(entry.architectures)} builds for {os.title}, "
            f"not {arch}",
            missing=(f"{update_id} facts for {os.title} {arch}",),
        ))
        return _verdict(update_id, reasons, profile, force_unknown=True)
    level = _service_pack(facts, profile, entry, os, knowledge)
    reasons += level
    if any(r.kind == "service-pack-contains-it" for r in level):  # refused by its installer: touches nothing
        return _verdict(update_id, [r for r in reasons if r not in pending], profile)
    reasons += _interactions(facts, profile, entry, knowledge, os)
    reasons += _component_conditions(facts, profile, entry, reasons, os)
    reasons += _branches(facts, profile, entry, os)
    reasons += _components_read(facts, entry, knowledge)
    return _verdict(update_id, reasons, profile)


def _verdict(
    update_id: str, reasons: list[PreflightReason], profile: UpdateProfile | None, force_unknown: bool = False
) -> PreflightVerdict:
    ordered = tuple(sorted(reasons, key=lambda r: {"risk": 0, "missing": 1, "info": 2}[r.effect]))
    status = "unknown" if force_unknown else status_of(ordered)
    return PreflightVerdict(
        update=update_id,
        status=status,
        reasons=ordered,
        title=profile.title if profile else None,
        installed=any(r.kind == "already-installed" for r in ordered),
        missing=tuple(dict.fromkeys(m for r in ordered for m in r.missing)),
        references=profile.references if profile else (),
    )


def _missing(what: str, why: str, evidence: tuple[Provenance, ...] = ()) -> PreflightReason:
    return PreflightReason(
        "evidence-missing", "missing", f"{what}: {why}", missing=(what,), evidence=evidence
    )


def _service_pack(
    facts: PreflightFacts, profile: UpdateProfile, entry: UpdateApplicability, os: OsProfile,
    knowledge: Knowledge,
) -> list[PreflightReason]:
    """The SP range the update was built for, against the attested SP level (a confirmed range only).

    Below the range, the known interaction whose latent condition is a hotfix below its SP (Q281402) on one
    of the update's components is named with the reason."""
    if not entry.confirmed or (entry.min_service_pack is None and entry.max_service_pack is None):
        return []
    level = facts.system.service_pack if facts.system else None
    sources = facts.system.sources if facts.system else ()
    if level is None:
        return [_missing("the installed service-pack level",
                         f"{profile.id} is built for a service-pack range and nothing attests the "
                         "server's level",
                         sources)]
    low, high = entry.min_service_pack, entry.max_service_pack
    name = _sp_name(os, low) if low is not None else ""
    if low is not None and level < low:
        return [PreflightReason(
            "requires-service-pack", "risk",
            f"{profile.id} requires {name} on {os.title}; the server is at {_sp_name(os, level)}: apply "
            f"{name} first (Q281402: a patch installed before every component is at its service pack "
            "breaks IIS)",
            interaction=next((i.id for i in knowledge.interactions_for(profile.id, entry.components)
                              if "hotfix-before-service-pack" in i.conditions), None),
            required_service_pack=low, service_pack=level, evidence=sources,
        )]
    if high is not None and level > high:
        return [PreflightReason(
            "service-pack-contains-it", "info",
            f"{profile.id} was built for {_sp_name(os, high)} at most; the server's {_sp_name(os, level)} "
            "already contains the fix (the installer refuses a fix older than the SP, Q238552)",
            required_service_pack=high, service_pack=level, evidence=sources,
        )]
    return []


def _sp_name(os: OsProfile, level: int) -> str:
    sp = os.service_pack(level)
    return sp.name if sp is not None else f"SP{level}"


def _interactions(
    facts: PreflightFacts, profile: UpdateProfile, entry: UpdateApplicability, knowledge: Knowledge,
    os: OsProfile,
) -> list[PreflightReason]:
    """A known interaction this update sets off (named trigger, or any update touching its components) whose
    latent condition — a finding of one of its condition rules on one of its components — is present."""
    out = []
    for interaction in knowledge.interactions_for(profile.id, entry.components):
        for finding in facts.findings:
            if finding.rule not in interaction.conditions or not _concerns(finding, interaction.components):
                continue
            files = _files(facts, finding, interaction.components, os)
            out.append(PreflightReason(
                "known-interaction", "risk",
                f"{interaction.id} ({interaction.title}): {profile.id} would expose {finding.rule}"
                + (f" on {len(files)} file(s) of {', '.join(interaction.components)}" if files else ""),
                rule=finding.rule, interaction=interaction.id, files=files,
                evidence=tuple(e.source for e in finding.evidence),
            ))
    return out


def _files(
    facts: PreflightFacts, finding: Finding, components: tuple[str, ...], os: OsProfile
) -> tuple[PreflightFile, ...]:
    """A finding's files on these components with what each requires: the installed SP's baseline for files
    below it (the component table's own verdict), the version a hotfix recorded for the others."""
    if finding.rule == "files-below-service-pack":
        return below_baseline_files(facts, components, os)
    return finding_files(facts, finding, components)


def _concerns(finding: Finding, components: tuple[str, ...]) -> bool:
    return any(f.component in components for f in finding.files)


def _component_conditions(
    facts: PreflightFacts, profile: UpdateProfile, entry: UpdateApplicability, already: list[PreflightReason],
    os: OsProfile,
) -> list[PreflightReason]:
    """A component the update patches is already damaged (not yet named by a known interaction)."""
    covered = {r.rule for r in already if r.kind == "known-interaction"}
    out = []
    for finding in facts.findings:
        if finding.rule not in COMPONENT_RULES or finding.rule in covered:
            continue
        if not _concerns(finding, entry.components):
            continue
        files = _files(facts, finding, entry.components, os)
        out.append(PreflightReason(
            "component-condition", "risk",
            f"{', '.join(entry.components)} already has {finding.rule}: {profile.id} would run next to "
            f"{len(files)} such file(s)",
            rule=finding.rule, files=files, evidence=tuple(e.source for e in finding.evidence),
        ))
    return out


def _branches(
    facts: PreflightFacts, profile: UpdateProfile, entry: UpdateApplicability, os: OsProfile
) -> list[PreflightReason]:
    """A file the update replaces is on a branch the update ships no binary for (at this SP level)."""
    level = facts.system.service_pack if facts.system else None
    by_path: dict[str, list[str]] = {}
    for file in entry.files:
        if file.confirmed and file.branch and (file.service_pack is None or file.service_pack == level):
            by_path.setdefault(file.path.lower(), []).append(file.branch)
    out = []
    for path, branches in by_path.items():
        state = facts.file_named(path)
        version = state.version if state else None
        if state is None or version is None:
            continue
        branch = branch_of(version, state.lab_tag, os)
        if branch in (None, "baseline") or branch in branches:
            continue
        required = [str(f.version) for f in entry.files if f.path.lower() == path]
        out.append(PreflightReason(
            "branch-missing", "risk",
            f"{_name(state.path)} is on the {branch} branch; {profile.id} ships only {', '.join(branches)} "
            "binaries for it: installing moves it across branches next to files that stay (reference §7 #5)",
            files=(PreflightFile(state.path, version_text(state.version), ", ".join(required),
                                 lab_tag=state.lab_tag, sources=state.sources),),
            evidence=state.sources,
        ))
    return out


def _components_read(
    facts: PreflightFacts, entry: UpdateApplicability, knowledge: Knowledge
) -> list[PreflightReason]:
    """A component the update patches whose files were not read: its state cannot be judged."""
    out = []
    for component_id in entry.components:
        table = facts.component(component_id)
        if table is None or not any(row.present for row in table.files):
            title = next((c.title for c in knowledge.components if c.id == component_id), component_id)
            out.append(_missing(f"the files of {component_id}",
                                f"no file of {title} was read, so its service-pack level is not known"))
    return out


def _name(path: str) -> str:
    return path.replace("/", "\\").rsplit("\\", 1)[-1]
