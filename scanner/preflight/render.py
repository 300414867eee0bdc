"""``patchmortem preflight`` reports: JSON (the contract, ``schemas/preflight.schema.json``), text, Markdown.

Every output says, per server and per update, safe / at risk / unknown, then each reason with the files it
names (the version on disk and the version required) and, for unknown, what evidence is missing. The text
forms are for people; scripts read the JSON or the exit code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import IO, Any

from scanner.preflight.model import PreflightVerdict, ServerPreflight
from scanner.render.meta import RunMeta
from scanner.render.templating import code_span, escape_md, write_json
from scanner.render.text import clean

SCHEMA_VERSION = "1.0"
_LABEL = {"safe": "SAFE", "at-risk": "AT RISK", "unknown": "UNKNOWN"}


def preflight_to_dict(
    servers: Iterable[ServerPreflight], updates: tuple[str, ...], meta: RunMeta | None = None
) -> dict[str, Any]:
    rows = list(servers)
    counts = Counter(v.status for s in rows for v in s.verdicts)
    return {
        "schema_version": SCHEMA_VERSION,
        **(meta or RunMeta.start()).to_dict(),
        "updates": list(updates),
        "summary": {status: counts.get(status, 0) for status in ("safe", "at-risk", "unknown")},
        "servers": [s.to_dict() for s in rows],
    }


def write_preflight_json(
    servers: Iterable[ServerPreflight], updates: tuple[str, ...], out: IO[str], meta: RunMeta | None = None
) -> None:
    write_json(preflight_to_dict(servers, updates, meta), out)


def _server_line(server: ServerPreflight) -> str:
    level = server.service_pack
    sp = f"SP{level}" if level else ("RTM" if level == 0 else "SP ?")
    what = " ".join(str(x) for x in (server.product, server.version, sp, server.architecture) if x)
    return f"{server.hostname or '(host unknown)'} ({server.source}) — {what or 'system unknown'}"


def _verdict_lines(verdict: PreflightVerdict) -> list[str]:
    head = f"  {verdict.update}  {_LABEL[verdict.status]}"
    if verdict.title:
        head += f" — {verdict.title}"
    if verdict.installed:
        head += " (already installed)"
    lines = [head]
    for reason in verdict.reasons:
        mark = {"risk": "!", "missing": "?", "info": "-"}[reason.effect]
        lines.append(f"    {mark} {reason.summary}")
        for file in reason.files:
            need = f" -> needs {file.required}" if file.required else ""
            lines.append(f"        {file.path}  {file.on_disk or '(no version)'}{need}")
    return lines


def write_preflight_text(servers: Iterable[ServerPreflight], out: IO[str]) -> None:
    """One block per server: the system line, then each update's verdict and its reasons."""
    first = True
    for server in servers:
        lines = ([] if first else [""]) + [_server_line(server)]
        first = False
        if server.error:
            lines.append(f"  source not read: {server.error}")
        for verdict in server.verdicts:
            lines += _verdict_lines(verdict)
        out.write("".join(clean(line).rstrip() + "\n" for line in lines))


def write_preflight_markdown(servers: Iterable[ServerPreflight], out: IO[str]) -> None:
    """A table per server (update, verdict, why), for tickets and change records; evidence text escaped."""
    lines = ["# Preflight", ""]
    for server in servers:
        lines += [f"## {escape_md(_server_line(server))}", ""]
        if server.error:
            lines += [f"Source not read: {escape_md(server.error)}", ""]
        lines += ["| update | verdict | why |", "| --- | --- | --- |"]
        for verdict in server.verdicts:
            why = []
            for reason in verdict.reasons:
                files = ", ".join(
                    f"{code_span(f.path.rsplit(chr(92), 1)[-1], True)} {code_span(f.on_disk or '?', True)}"
                    + (f" → {code_span(f.required, True)}" if f.required else "")
                    for f in reason.files
                )
                why.append(escape_md(reason.summary) + (f" ({files})" if files else ""))
            installed = " (installed)" if verdict.installed else ""
            lines.append(
                f"| {code_span(verdict.update, True)} | **{_LABEL[verdict.status]}**{installed} | "
                + ("<br>".join(why) or "no risk found")
                + " |"
            )
        lines.append("")
    out.write("\n".join(lines))
