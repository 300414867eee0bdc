"""The failure-episode thresholds (``profiles/episodes.toml``): what makes failures a sustained change.

Knowledge is data: every threshold the episode stage (scanner/timeline/episodes.py) uses is one table with
a ``value`` and a ``why``, so a reader can see and change why one 500 to a probe is routine and a pool
disabled by Rapid-Fail Protection is not. The loader gathers every problem as ``file:line`` before failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scanner.errors import ProfileError
from scanner.knowledge.tomlfile import default_profiles_dir, value_tables

#: threshold name -> the kind its ``value`` must be
_SPEC = {
    "join_hours": "int",
    "min_signals": "int",
    "sufficient_kinds": "list[str]",
    "component_kinds": "list[str]",
    "web_service": "str",
    "baseline_days": "int",
    "rate_factor": "int",
    "min_requests_per_hour": "int",
    "min_5xx_percent": "int",
    "share_factor": "int",
    "min_run": "int",
    "rise_gap_factor": "int",
    "rise_min_5xx": "int",
}


@dataclass(frozen=True)
class EpisodeRules:
    """The thresholds, as ``profiles/episodes.toml`` gives them (each one's ``why`` is there)."""

    join_hours: int
    min_signals: int
    sufficient_kinds: frozenset[str]
    component_kinds: frozenset[str]
    web_service: str
    baseline_days: int
    rate_factor: int
    min_requests_per_hour: int
    min_5xx_percent: int
    share_factor: int
    min_run: int
    rise_gap_factor: int
    rise_min_5xx: int
    source: str = ""


def collect_episode_rules(profiles_dir: Path | None, errors: list[str]) -> EpisodeRules | None:
    """Load ``episodes.toml``, appending every problem to ``errors``; None when it is unusable."""
    path = (profiles_dir or default_profiles_dir()) / "episodes.toml"
    before = len(errors)
    found = value_tables(
        path, _SPEC, errors, needed_for="the failure-episode thresholds are needed to find an onset"
    )
    if found is None:
        return None
    src, raw = found
    values: dict[str, object] = {}
    for name, value in raw.items():
        if _SPEC[name] == "int" and value < 1:
            errors.append(f"{src.at(src.table_line(name, 0))}: [{name}] value must be at least 1")
        values[name] = frozenset(value) if _SPEC[name] == "list[str]" else value
    if len(errors) > before:
        return None
    return EpisodeRules(**values, source=str(path))  # type: ignore[arg-type]


def load_episode_rules(profiles_dir: Path | None = None) -> EpisodeRules:
    """Load ``episodes.toml``; raise ProfileError listing every problem (``file:line``)."""
    errors: list[str] = []
    rules = collect_episode_rules(profiles_dir, errors)
    if rules is None or errors:
        raise ProfileError(errors)
    return rules
