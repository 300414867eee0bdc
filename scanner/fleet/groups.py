"""Servers grouped by shared condition: "3 servers: iis6 files at SP1 level (SP2 installed), 2 of them
failing since KB973917".

A group's key is typed, from each server's ``server.conditions`` (:func:`scanner.fleet.task.server_summary`):
the rule id, the profile components of the files concerned, the SP levels those files are at, and the SP
installed. Within a group, the failing servers are counted per trigger (the diagnosis' ``trigger`` update
id). The words are built from those values, never read from a finding's prose.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

#: (rule id, components, file SP levels, installed SP)
GroupKey = tuple[str, tuple[str, ...], tuple[int, ...], int | None]


@dataclass(frozen=True)
class Group:
    """Servers sharing one condition, with how many of them are failing and since which update."""

    key: GroupKey
    servers: tuple[str, ...]  # display names, in record order
    failing: tuple[tuple[str, int], ...]  # (trigger update id or "", count), most first

    @property
    def rule(self) -> str:
        return self.key[0]

    def to_dict(self) -> dict[str, Any]:
        """The fleet JSON's group: written by hand, not by the codec, because it is not this record's fields
        (the key tuple is spread into named keys, ``failing`` becomes objects, ``text`` is computed)."""
        rule, components, levels, installed = self.key
        return {
            "rule": rule,
            "components": list(components),
            "file_sp_levels": list(levels),
            "installed_sp": installed,
            "servers": list(self.servers),
            "failing_since": [{"trigger": t or None, "servers": n} for t, n in self.failing],
            "text": describe(self),
        }


def sp_name(level: int | None) -> str:
    return "SP?" if level is None else ("RTM" if level == 0 else f"SP{level}")


def display_name(record: dict[str, Any]) -> str:
    """A server's name in tables: its label, else its host name, else the source's file name."""
    server = record.get("server") or {}
    name = record["source"].replace("\\", "/").rsplit("/", 1)[-1]
    return str(record.get("label") or server.get("hostname") or name)


def group_servers(records: list[dict[str, Any]]) -> list[Group]:
    """Groups of servers by shared condition, largest first (ties: rule id, then key)."""
    members: dict[GroupKey, list[dict[str, Any]]] = {}
    for record in records:
        server = record.get("server") or {}
        seen: set[GroupKey] = set()
        for cond in server.get("conditions") or []:
            key: GroupKey = (str(cond.get("rule")), tuple(cond.get("components") or ()),
                             tuple(cond.get("file_sp_levels") or ()), cond.get("installed_sp"))
            if key not in seen:
                seen.add(key)
                members.setdefault(key, []).append(record)
    groups = []
    for key, recs in members.items():
        failing = Counter(str((r.get("server") or {}).get("trigger") or "") for r in recs
                          if (r.get("server") or {}).get("verdict") == "failing")
        groups.append(Group(key, tuple(display_name(r) for r in recs),
                            tuple(sorted(failing.items(), key=lambda kv: (-kv[1], kv[0])))))
    return sorted(groups, key=lambda g: (-len(g.servers), g.key[0], repr(g.key)))


def describe(group: Group) -> str:
    """The group in words, from its typed key: count, condition, rule, and the failing ones."""
    rule, components, levels, installed = group.key
    n = len(group.servers)
    what = f"{'/'.join(components) or 'component'} files"
    if levels:
        what += f" at {'/'.join(sp_name(level) for level in levels)} level"
    if installed is not None:
        what += f" ({sp_name(installed)} installed)"
    text = f"{n} server{'s' if n != 1 else ''}: {what} [{rule}]"
    parts: list[str] = []
    for trigger, count in group.failing:
        since = f" since {trigger}" if trigger else " (no trigger found)"
        parts.append(f"{count}{' of them' if not parts else ''} failing{since}")
    return text + (", " + ", ".join(parts) if parts else "")
