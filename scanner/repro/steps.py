"""The ordered servicing steps of a reproduction, and the deliberate deviations the findings call for.

Steps follow the fused timeline (issue 4): service packs, hotfixes and updates (by their real ids, the SP's
package id from the OS profile), component installs after the OS install (with the media level their files
show), and third-party installs only when a finding names them. The findings then say where the customer's
state departs from correct servicing, and the plan makes the same departure on purpose: files an incomplete
SP left behind are restored at their old version right after that SP (KB2009746), a program that put old
DLLs back is installed where the customer installed it (Q281402 cause 2), a hotfix built for a later SP is
forced in at the lower level (Q281402 cause 1), and a pending reboot is not done.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from scanner.diagnose import ScanResult
from scanner.knowledge.os import OsProfile
from scanner.knowledge.windows import COMPONENT_WINDOW
from scanner.model import ComponentFileLevel, Finding, FindingFile, TimelineEntry, UpdateRecord
from scanner.repro.media import sp_name
from scanner.repro.model import ReproStep, StepFile
from scanner.rules.context import detail_text, sources_evidence

UPDATE_KINDS = frozenset({"hotfix", "update", "package-state-change"})
_MAX_STEPS = 500


def _name(path: str) -> str:
    return path.rsplit("\\", 1)[-1]


def _update_files(record: UpdateRecord | None, system_root: str) -> tuple[StepFile, ...]:
    """The files an update recorded (Updates ``Filelist``), as volume-relative paths."""
    if record is None:
        return ()
    out = []
    for f in record.files:
        where = (f.location or "").replace("%SystemRoot%", system_root).replace("%windir%", system_root)
        where = where.split(":", 1)[-1].strip("\\")
        out.append(StepFile(f"{where}\\{f.name}" if where else f.name, f.version, f"recorded by {record.id}"))
    return tuple(out)


def _files_of(finding: Finding, why: str) -> tuple[StepFile, ...]:
    return tuple(StepFile(f.path, f.version, why) for f in finding.files)


def _level_name(file: FindingFile, levels: dict[str, ComponentFileLevel]) -> str | None:
    level = levels.get(file.path.lower())
    return level.sp_name if level is not None else None


class StepBuilder:
    """Walks the timeline once and numbers the steps as they are added."""

    def __init__(self, result: ScanResult, profile: OsProfile | None) -> None:
        self.result = result
        self.profile = profile
        system = result.inventory.system
        self.system_root = (system.system_root if system else None) or "WINDOWS"
        self.updates = {u.id.lower(): u for u in result.inventory.updates}
        self.levels = {f.path.lower(): f for c in result.components for f in c.files}
        self.findings = {f.rule: f for f in result.findings}
        self.steps: list[ReproStep] = []
        self.current_sp: str | None = None

    def add(self, step: ReproStep) -> None:
        if len(self.steps) < _MAX_STEPS:
            self.steps.append(replace(step, number=len(self.steps) + 1))

    # -- servicing ---------------------------------------------------------------------------------------

    def service_pack(self, entry: TimelineEntry) -> None:
        level = entry.sp_level
        sp = self.profile.service_pack(level) if self.profile and level is not None else None
        package = sp.package if sp is not None else None
        name = sp_name(level, self.profile) or entry.subject
        if level is None:
            title = "Install the service pack whose number no evidence names (see the scan's gaps)"
        else:
            title = f"Install {entry.subject}" + (f" ({package})" if package else "")
        notes = []
        if entry.outcome is not None and entry.outcome.result in ("failed", "partial", "cancelled"):
            notes.append(
                f"The customer's install did not complete ({detail_text(entry, 'reason', 'errors logged')})."
            )
        self.add(
            ReproStep(
                0,
                "service-pack",
                title,
                entry.at,
                entry.precision,
                package or name,
                level,
                notes=tuple(notes),
                evidence=sources_evidence(entry),
            )
        )
        self.current_sp = name
        incomplete = self.findings.get("files-below-service-pack")
        if incomplete is not None and incomplete.attribution in (
            "service-pack-install-incomplete",
            "unknown",
        ):
            if level is not None and self.system_sp() == level:
                self.keep_files(incomplete, entry, name)

    def system_sp(self) -> int | None:
        system = self.result.inventory.system
        return system.service_pack if system else None

    def keep_files(self, finding: Finding, after: TimelineEntry, sp: str) -> None:
        """Deviation: the files the SP did not replace stay at their old level."""
        olds = {_level_name(f, self.levels) for f in finding.files} - {None}
        versions = sorted({f.version for f in finding.files if f.version})
        names = ", ".join(_name(f.path) for f in finding.files)
        media = " or ".join(sorted(o for o in olds if o)) or "the older"
        title = f"Keep {names} at {', '.join(versions)}: restore them from {media} media after {sp}"
        note = (
            "The customer's service-pack install left these files behind; copy the old versions back "
            "(stop IIS first) so the component is mixed exactly as on the customer's server."
        )
        why = f"left at {media} level by the incomplete {sp} install"
        self.add(
            ReproStep(
                0,
                "set-file-versions",
                title,
                after.at,
                after.precision,
                files=_files_of(finding, why),
                deviation=True,
                notes=(note,),
                evidence=finding.evidence[:6],
            )
        )

    def update(self, entry: TimelineEntry) -> None:
        record = self.updates.get(entry.subject.lower())
        d = self.result.diagnosis
        description = record.description if record and record.description else None
        action = "package" if entry.kind == "package-state-change" else entry.kind
        title = f"Install {entry.subject}" + (f" — {description}" if description else "")
        notes: list[str] = []
        deviation = False
        early = self.findings.get("hotfix-before-service-pack")
        if early is not None and entry.subject in early.updates:
            deviation = True
            required = dict(early.details).get("service_pack", "a later service pack")
            notes.append(
                f"Deliberately install it below {required}, the level it was built for: it registered "
                f"under Updates\\...\\SP{record.sp_folder if record else '?'} while the system was at "
                f"{self.current_sp or 'a lower level'}."
            )
        if entry.kind == "package-state-change":
            notes.append(f"Package state in the evidence: {detail_text(entry, 'state', entry.summary)}.")
        trigger = d.trigger is not None and entry.subject.lower() == d.trigger.lower()
        # A re-installed update has one entry per run: the trigger is the run the diagnosis dated.
        trigger = trigger and (d.trigger_at is None or entry.at == d.trigger_at)
        if trigger:
            notes.append(self._reboot_note(entry))
        self.add(
            ReproStep(
                0,
                action,
                title,
                entry.at,
                entry.precision,
                entry.subject,
                files=_update_files(record, self.system_root),
                deviation=deviation,
                trigger=trigger,
                notes=tuple(notes),
                evidence=sources_evidence(entry),
            )
        )
        self._regressed(entry)

    def _regressed(self, entry: TimelineEntry) -> None:
        """Deviation: files a hotfix recorded were later replaced by older ones, and no installer in the
        timeline is named for it (a named one gets its own step): put them back right after the hotfix."""
        finding = self.findings.get("hotfix-files-regressed")
        if finding is None or entry.subject not in finding.updates:
            return
        installers = {e.subject for e in self.result.timeline.entries if e.kind == "software-install"}
        if finding.attribution in installers or finding.installer in installers:
            return
        names = ", ".join(_name(f.path) for f in finding.files)
        versions = ", ".join(sorted({f.version for f in finding.files if f.version}))
        who = finding.attribution or "an unknown installer"
        title = f"Put {names} back at {versions} after {entry.subject} (as {who} did)"
        self.add(
            ReproStep(
                0,
                "set-file-versions",
                title,
                finding.at,
                None,
                files=_files_of(finding, f"older than {entry.subject} recorded"),
                deviation=True,
                evidence=finding.evidence[:6],
            )
        )

    def _reboot_note(self, entry: TimelineEntry) -> str:
        onset = self.result.diagnosis.failure_onset
        if entry.at is None or onset is None:
            return "The evidence does not date the onset: watch from the install on."
        boots = [
            e
            for e in self.result.timeline.entries
            if e.kind == "reboot" and e.at is not None and entry.at <= e.at <= onset
        ]
        if boots:
            return (
                f"The customer rebooted afterwards (boot at {boots[0].at:%Y-%m-%d %H:%M:%S} UTC): reboot too."
            )
        return (
            "The customer did not reboot between this install and the failure: do not reboot; the failure "
            "comes when the service starts a new process with the new files."
        )

    def component(self, entry: TimelineEntry) -> None:
        files, level = self._component_files(entry)
        source = detail_text(entry, "source")  # the media the component came from, printed for people
        media = sp_name(level, self.profile) if level is not None else None
        component = next((c for c in self.result.components if c.id == entry.subject), None)
        what = f"{component.title} ({entry.subject})" if component else entry.subject
        title = (
            f"Add {what} from "
            + (f"{media} media" if media else "the media")
            + (f" ({source})" if source else "")
            + (f" after {self.current_sp}" if self.current_sp else "")
        )
        older = self.findings.get("files-below-service-pack")
        deviation = bool(older and older.attribution == "component-installed-from-older-media")
        notes: tuple[str, ...] = ()
        if deviation:
            notes = (
                f"Do not reapply {self.current_sp or 'the service pack'} afterwards: the customer did not, "
                "so the component's files stay at the media's level.",
            )
        self.add(
            ReproStep(
                0,
                "component-install",
                title,
                entry.at,
                entry.precision,
                component=entry.subject,
                level=level,
                files=files,
                deviation=deviation,
                notes=notes,
                evidence=sources_evidence(entry),
            )
        )

    def _component_files(self, entry: TimelineEntry) -> tuple[tuple[StepFile, ...], int | None]:
        """The component's files created by this install, and the media level most of them show."""
        component = next((c for c in self.result.components if c.id == entry.subject), None)
        if component is None or entry.at is None:
            return (), None
        made = [
            f
            for f in component.files
            if f.present
            and f.created_at is not None
            and entry.at <= f.created_at <= entry.at + COMPONENT_WINDOW  # laid down by this install
        ]
        counts = Counter(f.sp_level for f in made if f.sp_level is not None)
        if not counts:
            return (), None
        level = counts.most_common(1)[0][0]
        why = f"{sp_name(level, self.profile)} media"
        return tuple(StepFile(f.path, f.version, why) for f in made if f.sp_level == level), level

    def software(self, entry: TimelineEntry) -> None:
        """A third-party install, only when a finding attributes old files to it (it is then a deviation)."""
        named = [
            f for f in self.result.findings if entry.subject in (f.attribution, f.installer)
        ]
        if not named:
            return
        files: dict[str, StepFile] = {}
        for finding in named:
            for f in finding.files:
                files.setdefault(f.path.lower(), StepFile(f.path, f.version, f"put back by {entry.subject}"))
        names = ", ".join(_name(f.path) for f in files.values())
        versions = ", ".join(sorted({f.version for f in files.values() if f.version}))
        title = f"Install {entry.subject} (it puts {names} back at {versions})"
        note = (
            "Without the program, copy those files at those versions over the current ones instead "
            "(stop IIS first): that is the state it left."
        )
        evidence = sources_evidence(entry) + tuple(e for f in named for e in f.evidence[:2])
        self.add(
            ReproStep(
                0,
                "software-install",
                title,
                entry.at,
                entry.precision,
                files=tuple(files.values()),
                deviation=True,
                notes=(note,),
                evidence=evidence,
            )
        )

    def pending(self) -> None:
        """Deviation: a reboot the customer never did (pending renames) must not happen in the lab either."""
        finding = self.findings.get("reboot-pending")
        if finding is None:
            return
        last = self.steps[-1] if self.steps else None
        ids = ", ".join(finding.updates) or "the last install"
        title = f"Do not reboot after {ids}: its file replacements stay pending, as on the customer's server"
        self.add(
            ReproStep(
                0,
                "do-not-reboot",
                title,
                last.at if last else None,
                last.precision if last else None,
                files=_files_of(finding, "pending replacement"),
                deviation=True,
                evidence=finding.evidence[:6],
            )
        )


def servicing_steps(result: ScanResult, profile: OsProfile | None, skip: set[int]) -> list[ReproStep]:
    """Every step after the OS install, in timeline order; ``skip``: ids of entries already in the base."""
    builder = StepBuilder(result, profile)
    for entry in result.timeline.entries:
        if id(entry) in skip:
            continue
        if entry.kind == "service-pack":
            builder.service_pack(entry)
        elif entry.kind in UPDATE_KINDS:
            builder.update(entry)
        elif entry.kind == "component-install":
            builder.component(entry)
        elif entry.kind == "software-install":
            builder.software(entry)
    builder.pending()
    return builder.steps
