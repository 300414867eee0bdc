"""The diff's words: the headline (a changed verdict first), the verdict in a phrase, UTC times as text.

Shared by the diff itself (its JSON carries the headline) and every renderer, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from scanner.diff.model import ScanDiff, Verdict


def utc_text(value: str | None) -> str:
    """``2009-12-10T17:12:30+00:00`` -> ``2009-12-10 17:12:30 UTC`` (as written when not an aware time)."""
    try:
        parsed = datetime.fromisoformat(value) if value else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        return value or "an unknown time"
    return f"{parsed.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"


def verdict_phrase(verdict: Verdict) -> str:
    """The verdict in a few words: ``failing since … (trigger KB973917, latent cause …)`` or no onset."""
    if verdict.failure_onset is None:
        text = "no failure onset"
    else:
        text = f"failing since {utc_text(verdict.failure_onset)}"
    extra = [f"trigger {verdict.trigger}"] if verdict.trigger else []
    extra += [f"latent cause {verdict.latent_cause}"] if verdict.latent_cause else []
    return text + (f" ({', '.join(extra)})" if extra else "")


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def with_headline(diff: ScanDiff) -> ScanDiff:
    """The first line of every report: a changed verdict first, else what changed in counts, else 'none'."""
    if diff.verdict_changed:
        head = (
            f"Verdict changed: {verdict_phrase(diff.verdict_before)} -> {verdict_phrase(diff.verdict_after)}."
        )
    elif diff.is_empty:
        head = (
            f"No differences: {diff.before.label} and {diff.after.label} have the same updates, component "
            "files, pending renames, findings, verdict and timeline."
        )
    else:
        parts = [
            _count(len(diff.updates_added), "update") + " added" if diff.updates_added else "",
            _count(len(diff.updates_removed), "update") + " removed" if diff.updates_removed else "",
            _count(len(diff.updates_changed), "update") + " changed state" if diff.updates_changed else "",
            _count(len(diff.files_changed), "file") + " changed version" if diff.files_changed else "",
            _count(len(diff.findings_new), "new finding") if diff.findings_new else "",
        ]
        summary = ", ".join(p for p in parts if p) or "only details changed"
        head = f"Verdict unchanged ({verdict_phrase(diff.verdict_after)}); {summary}."
    return replace(diff, headline=head)
