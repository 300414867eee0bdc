"""The fleet summary for people: one row per server, then the groups. Text (rich), CSV and one HTML page.

Every value shown comes from the records' typed fields (``server``: OS, SP, IIS version, verdict, onset,
trigger, latent cause, known issue, confidence; ``error`` for a source that could not be scanned). The HTML
page reuses the reports' Jinja2 environment (autoescaping, control characters shown escaped) and stylesheet;
its only script sorts the table, allowed by its SHA-256 in the page's Content-Security-Policy, which forbids
every fetch. Links go to each server's saved HTML report or scan JSON, relative to the ``--output`` folder.
"""

from __future__ import annotations

import base64
import csv
import hashlib
from typing import IO, Any

from scanner.fleet.groups import Group, display_name, group_servers, sp_name

COLUMNS = ("server", "source", "os", "sp", "iis", "verdict", "failing_since", "trigger", "latent_cause",
           "known_issue", "confidence", "status", "error", "elapsed_s", "worker", "report")
_VERDICT_WORDS = {"failing": "failing", "at-risk": "at risk", "healthy": "healthy",
                  "unknown": "could not tell", "unreadable": "unreadable"}


def summary_row(record: dict[str, Any]) -> dict[str, Any]:
    """One server's summary as plain values (the CSV row; the text and HTML tables show the same)."""
    server = record.get("server") or {}
    sp = server.get("service_pack")
    return {
        "server": display_name(record),
        "source": record["source"],
        "os": server.get("product") or "",
        "sp": "" if sp is None else sp_name(sp),
        "iis": server.get("iis_version") or "",
        "verdict": _VERDICT_WORDS.get(str(server.get("verdict")), str(server.get("verdict") or "")),
        "failing_since": server.get("failing_since") or "",
        "trigger": server.get("trigger") or "",
        "latent_cause": server.get("latent_cause") or "",
        "known_issue": server.get("known_issue") or "",
        "confidence": server.get("confidence") or "",
        "status": record["status"],
        "error": record.get("error") or "",
        "elapsed_s": record.get("elapsed_s"),
        "worker": record.get("worker") or "",
        "report": record.get("report") or "",
    }


def preflight_columns(records: list[dict[str, Any]]) -> list[str]:
    """``preflight KB…`` column names, one per update asked about (``fleet --preflight``), in order."""
    return list(dict.fromkeys(f"preflight {v['update']}" for r in records for v in r.get("preflight") or []))


def _preflight_cells(record: dict[str, Any]) -> dict[str, str]:
    """safe / at-risk / unknown per update; at risk names the known interactions and rules behind it."""
    cells = {}
    for verdict in record.get("preflight") or []:
        risks = [r for r in verdict.get("reasons", []) if r.get("effect") == "risk"]
        why = sorted({r.get("interaction") or r.get("rule") or r.get("kind") for r in risks} - {None})
        cells[f"preflight {verdict['update']}"] = verdict["status"] + (f" ({', '.join(why)})" if why else "")
    return cells


def write_csv(records: list[dict[str, Any]], out: IO[str]) -> None:
    writer = csv.DictWriter(out, fieldnames=[*COLUMNS, *preflight_columns(records)], lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({**summary_row(record), **_preflight_cells(record)})


def print_summary(records: list[dict[str, Any]], console: Any) -> None:
    """One record per server, then the groups (evidence text printed literally, never as markup).

    A record's first line holds the server and its verdict (what a reader greps for); OS, IIS, trigger, latent
    cause, confidence, preflight answers and the error hang under it, wrapped at the console's width (80 on a
    pipe) by :func:`scanner.render.text.line` — a table of nine columns cannot be read at 80.
    """
    from scanner.render.text import line

    asked = preflight_columns(records)
    line(console, (f"Fleet: {len(records)} server(s)", "bold"))
    for record in records:
        row = summary_row(record)
        since = row["failing_since"].replace("T", " ").replace("+00:00", "Z")
        verdict = row["verdict"] + (f" since {since}" if since else "")
        line(console, "  ", (row["server"], "bold"), f"  {verdict}", hang=6)
        facts = [f"{row['os']} {row['sp']}".strip(), f"IIS {row['iis']}" if row["iis"] else ""]
        named = (("trigger", "trigger"), ("latent cause", "latent_cause"), ("confidence", "confidence"))
        facts += [f"{name} {row[key]}" for name, key in named if row[key]]
        verdicts = _preflight_cells(record)
        facts += [f"{column}: {verdicts[column]}" for column in asked if column in verdicts]
        if row["error"]:
            facts.append(f"error: {row['error']}")
        shown = "; ".join(f for f in facts if f)
        if shown:
            line(console, f"      {shown}", hang=8)
    groups = group_servers(records)
    if groups:
        console.print()
        line(console, ("Shared conditions", "bold"))
        for group in groups:
            line(console, f"  {describe_line(group)}", hang=4)


def describe_line(group: Group) -> str:
    from scanner.fleet.groups import describe

    return f"{describe(group)} — {', '.join(group.servers)}"


_SORT_JS = """document.querySelectorAll('table.sortable th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var up = th.getAttribute('aria-sort') !== 'ascending';
    th.closest('tr').querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', up ? 'ascending' : 'descending');
    rows.sort(function (a, b) {
      var x = a.cells[col].getAttribute('data-key') || a.cells[col].textContent;
      var y = b.cells[col].getAttribute('data-key') || b.cells[col].textContent;
      return (up ? 1 : -1) * x.localeCompare(y, undefined, {numeric: true});
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});"""


def render_html(records: list[dict[str, Any]], link_base: str = "") -> str:
    """The fleet page: sortable server table linking to each report, then the groups (one offline file)."""
    from markupsafe import Markup

    from scanner import __version__
    from scanner.render.templating import html_environment, stylesheet

    digest = base64.b64encode(hashlib.sha256(_SORT_JS.encode("utf-8")).digest()).decode()
    csp = (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; "
           "connect-src 'none'; base-uri 'none'; form-action 'none'")
    rows = []
    for record in records:
        row = summary_row(record)
        target = record.get("report_html") or record.get("report")
        row["href"] = link_base + target if target else ""
        row["preflight"] = _preflight_cells(record)
        rows.append(row)
    template = html_environment().get_template("fleet.html.j2")
    return template.render(rows=rows, asked=preflight_columns(records),
                           groups=[g.to_dict() for g in group_servers(records)], css=stylesheet(),
                           csp=csp, script=Markup(_SORT_JS), version=__version__,
                           counts=_counts(records))


def _counts(records: list[dict[str, Any]]) -> list[tuple[str, int]]:
    out: dict[str, int] = {}
    for record in records:
        verdict = _VERDICT_WORDS.get(str((record.get("server") or {}).get("verdict")), "unreadable")
        out[verdict] = out.get(verdict, 0) + 1
    return sorted(out.items(), key=lambda kv: list(_VERDICT_WORDS.values()).index(kv[0]))
