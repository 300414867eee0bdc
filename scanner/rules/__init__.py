"""The rules stage: pure checks over the facts and the profiles, each returning findings with evidence.

Rule ids are a contract (other tools filter on them): add rules, never rename one. Each rule's texts —
title, default severity, why, remediation steps — live in ``profiles/rules.toml``; the code only decides
*whether* the condition holds and gathers the evidence.
"""

from __future__ import annotations

from collections.abc import Callable

from scanner.knowledge.profiles import Knowledge
from scanner.model import Finding, Gap, Inventory, LogEvent, TimelineEntry, severity_rank
from scanner.rules.baseline import service_pack_install_incomplete
from scanner.rules.branches import branch_mix
from scanner.rules.context import RuleContext
from scanner.rules.hotfixes import hotfix_before_service_pack
from scanner.rules.levels import files_below_service_pack
from scanner.rules.pending import package_state_broken, reboot_pending
from scanner.rules.qfecheck import hotfix_files_regressed

Rule = Callable[[RuleContext], list[Finding]]

#: Stable rule id -> check, in report order.
RULES: dict[str, Rule] = {
    "files-below-service-pack": files_below_service_pack,
    "hotfix-before-service-pack": hotfix_before_service_pack,
    "hotfix-files-regressed": hotfix_files_regressed,
    "service-pack-install-incomplete": service_pack_install_incomplete,
    "reboot-pending": reboot_pending,
    "package-state-broken": package_state_broken,
    "branch-mix": branch_mix,
}


def run_rules(
    inventory: Inventory,
    entries: list[TimelineEntry],
    log_events: list[LogEvent],
    knowledge: Knowledge,
) -> tuple[list[Finding], list[Gap]]:
    """Every rule over the facts: findings by severity then rule order, and what could not be checked."""
    os = knowledge.os_for(inventory.system)
    ctx = RuleContext(inventory, tuple(entries), tuple(log_events), knowledge, os)
    gaps: list[Gap] = []
    if os is None:
        version = inventory.system.version if inventory.system else None
        gaps.append(
            Gap(
                "service-pack baselines",
                f"no OS profile matches CurrentVersion {version!r}: "
                "file levels, hotfix prerequisites and branches were not checked",
            )
        )
    elif ctx.service_pack is None:
        gaps.append(
            Gap(
                "service-pack baseline",
                "the installed service-pack level is not attested (see the system-fact gap): "
                "files-below-service-pack was not checked",
            )
        )
    elif ctx.service_pack and ((sp := os.service_pack(ctx.service_pack)) is None or sp.revision is None):
        gaps.append(
            Gap(
                "service-pack baseline",
                f"the {os.title} profile has no confirmed file revision for "
                f"{ctx.sp_name(ctx.service_pack)}: files-below-service-pack was not checked",
            )
        )
    findings: list[Finding] = []
    order = list(RULES)
    for rule in RULES.values():
        findings += rule(ctx)
    findings.sort(key=lambda f: (severity_rank(f.severity), order.index(f.rule)))
    return findings, gaps
