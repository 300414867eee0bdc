"""The ``diff`` as terminal text: the headline first (a changed verdict), then each section that changed.

Every string from either scan is evidence (update descriptions, file paths, rename targets): lines are
built with :func:`scanner.render.text.line`, so nothing is read as markup and control or bidi-override
characters are shown escaped. An empty diff is exactly one line.
"""

from __future__ import annotations

from typing import IO, Any

from rich.console import Console

from scanner.diff.model import FileRef, FindingRef, ScanDiff, Side
from scanner.diff.wording import utc_text, verdict_phrase
from scanner.knowledge.windows import FILE_WINDOW
from scanner.render.meta import RunMeta
from scanner.render.templating import write_json
from scanner.render.text import line


def _side(side: Side) -> str:
    parts = [p for p in (side.hostname, side.product, side.csd_version) if p]
    return side.label + (f" — {', '.join(parts)}" if parts else "")


def _version(ref: FileRef) -> str:
    text = ref.version or "no version"
    return text + (f" ({ref.lab_tag})" if ref.lab_tag else "")


def _base(path: str) -> str:
    return path.replace("/", "\\").rsplit("\\", 1)[-1]


def _names(finding: FindingRef, limit: int = 8) -> str:
    names = [_base(p) for p in finding.files]
    shown = ", ".join(names[:limit]) + (f", … ({len(names) - limit} more)" if len(names) > limit else "")
    return f" — {len(names)} file(s): {shown}" if names else ""


def print_diff(diff: ScanDiff, console: Console) -> None:
    """Write the diff report to ``console`` (headline first; one line when nothing differs)."""
    line(console, (diff.headline, "bold"))
    if diff.is_empty:
        return
    line(console, "Before: ", _side(diff.before))
    line(console, "After:  ", _side(diff.after))
    for note in diff.notes:
        line(console, ("Note: ", "yellow"), note)
    line(console, "")
    line(console, ("Verdict", "bold"), " (changed)" if diff.verdict_changed else " (unchanged)")
    line(console, "  before: ", verdict_phrase(diff.verdict_before))
    line(console, "  after:  ", verdict_phrase(diff.verdict_after))
    if diff.service_pack_changed:
        line(
            console,
            ("Service pack: ", "bold"),
            f"{diff.before.csd_version or 'none'} (level {_level(diff.before.service_pack)}) -> "
            f"{diff.after.csd_version or 'none'} (level {_level(diff.after.service_pack)})",
        )
    if diff.updates_added or diff.updates_removed or diff.updates_changed:
        line(console, ("Updates", "bold"))
    for update in diff.updates_added:
        when = f", installed {utc_text(update.installed_at)}" if update.installed_at else ""
        line(console, ("  + ", "green"), update.id, f" ({update.kind or '?'}, {update.state or '?'}{when})")
    for update in diff.updates_removed:
        line(console, ("  - ", "red"), update.id, f" ({update.kind or '?'}, was {update.state or '?'})")
    for change in diff.updates_changed:
        line(
            console,
            ("  ~ ", "yellow"),
            change.id,
            f": state {change.before.state or '?'} -> {change.after.state or '?'}, installed "
            f"{utc_text(change.before.installed_at)} -> {utc_text(change.after.installed_at)}",
        )
    if diff.files_changed or diff.files_added or diff.files_removed:
        line(console, ("Component files", "bold"))
    for file_change in diff.files_changed:
        before, after = _version(file_change.before), _version(file_change.after)
        line(console, ("  ~ ", "yellow"), file_change.path, f"  {before} -> {after}")
        by = file_change.changed_by
        if by:
            line(console, "      by ", (by.update, "bold"), f" ({by.rule}): {by.evidence}")
        else:
            minutes = int(FILE_WINDOW.total_seconds() // 60)  # the window compare.py tied files with
            why = f"no file list names it, no install within {minutes} min"
            line(console, f"      by no update new in AFTER ({why})")
    for ref in diff.files_added:
        line(console, ("  + ", "green"), ref.path, f"  {_version(ref)}")
    for ref in diff.files_removed:
        line(console, ("  - ", "red"), ref.path, f"  was {_version(ref)}")
    if diff.renames_appeared or diff.renames_disappeared:
        line(console, ("Pending renames", "bold"))
    for rename in diff.renames_appeared:
        line(console, ("  + ", "green"), rename.source, " -> ", rename.destination or "(delete)")
    for rename in diff.renames_disappeared:
        line(console, ("  - ", "red"), rename.source, " -> ", rename.destination or "(delete)")
    if diff.findings_new or diff.findings_gone:
        line(console, ("Findings", "bold"))
    for finding in diff.findings_new:
        line(console, ("  new  ", "green"), f"[{finding.severity}] ", finding.rule, _names(finding))
        was = [f for f in diff.findings_gone if f.rule == finding.rule]
        if len(was) == 1:  # the same rule, other files: say which files it no longer / now names
            old, new = {p.casefold() for p in was[0].files}, {p.casefold() for p in finding.files}
            less = [_base(p) for p in was[0].files if p.casefold() not in new]
            more = [_base(p) for p in finding.files if p.casefold() not in old]
            line(
                console,
                "       (was ",
                str(len(was[0].files)),
                " file(s)",
                f"; no longer {', '.join(less)}" if less else "",
                f"; now also {', '.join(more)}" if more else "",
                ")",
            )
    for finding in diff.findings_gone:
        line(console, ("  gone ", "red"), f"[{finding.severity}] ", finding.rule, _names(finding))
    before_n, after_n = diff.timeline_sizes
    kinds = ", ".join(f"{count} {kind}" for kind, count in diff.timeline_new) or "none"
    line(
        console,
        ("Timeline", "bold"),
        f" ({before_n} -> {after_n} entries, not diffed one by one): new in AFTER: {kinds}",
    )


def diff_to_dict(diff: ScanDiff, meta: RunMeta | None = None) -> dict[str, Any]:
    """The diff contract: ``schema_version``, then how and when the comparison ran
    (:mod:`scanner.render.meta`; each side saved as a scan JSON keeps its own), then the changes."""
    data = diff.to_dict()
    return {"schema_version": data.pop("schema_version"), **(meta or RunMeta.start()).to_dict(), **data}


def write_diff_json(diff: ScanDiff, out: IO[str], meta: RunMeta | None = None) -> None:
    """The diff JSON contract (``schemas/diff.schema.json``), indented, newline-terminated."""
    write_json(diff_to_dict(diff, meta), out)


def _level(level: int | None) -> str:
    """An SP level, or "unknown" when the scan had nothing attesting it (``service_pack`` null)."""
    return "unknown" if level is None else str(level)
