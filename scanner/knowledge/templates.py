"""Remediation templates: the ``{placeholders}`` a profile's step text may use, and the check that it does.

Why apart from the loader: rule texts, interactions and update profiles all carry step templates; one list of
placeholders and one check keep them rendering the same way (``str.format_map``; a value a case lacks renders
as ``<name>``).
"""

from __future__ import annotations

import string

from scanner.knowledge.components import TomlSource
from scanner.knowledge.steps import step_texts

#: The ``{placeholders}`` remediation templates may use (README "Profiles"); rendered with str.format_map, a
#: value the case does not have renders as ``<name>``.
PLACEHOLDERS = frozenset(
    {
        "product",  # "Windows Server 2003"
        "service_pack",  # "Service Pack 2": the SP level the fix needs
        "service_pack_package",  # the SP's package id from the OS profile, e.g. KB914961 (may be empty)
        "files",  # file names concerned
        "updates",  # update ids concerned
        "component",  # component title
        "source",  # what put old files back, e.g. an installer name
        "trigger",  # trigger update id
        "trigger_uninstall",  # the uninstall command found in the evidence (ARP UninstallString)
        "required_by",  # the update that needs the SP
        "service_pack_file",  # the SP's package file for this OS and architecture (OS profile)
        "trigger_package",  # the trigger's package name as the evidence records it (Updates/CBS)
        "reinstall_order",  # hotfixes to reinstall, in the order they were first installed
    }
)


def _template_problems(template: str) -> list[tuple[str, str]]:
    """(text to locate, message) for each problem of a template: unknown/positional placeholders, braces."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        return [(template[:30], f"malformed template ({exc}; write '{{{{' or '}}}}' for a literal brace)")]
    known = ", ".join(sorted(PLACEHOLDERS))
    return [
        ("{" + name, f"unknown placeholder {{{name}}} in remediation (known: {known})")
        for name in fields
        if name not in PLACEHOLDERS
    ]


def template_problems(template: str) -> list[str]:
    """What is wrong with a remediation template (empty when it renders with PLACEHOLDERS only)."""
    return [message for _, message in _template_problems(template)]


def check_templates(src: TomlSource, templates: list[str], errors: list[str], after: int) -> None:
    """Every problem of the remediation step templates of one table, located at its line in ``src``."""
    for template in step_texts(templates):
        for needle, message in _template_problems(template):
            errors.append(f"{src.at(src.text_line(needle, after))}: {message}")
