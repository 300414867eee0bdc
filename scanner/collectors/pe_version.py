"""A PE file's version facts: the build a binary on disk is, as Explorer's "Details" tab shows it.

The bytes (headers, resource directory, ``VS_VERSIONINFO``) are the format layer's
(:mod:`scanner.formats.pe_version`, bounded reads, pefile on a compact image); this collector turns its
four-integer versions into the dotted strings the facts carry and reads the build lab tag from
the ``FileVersion`` string. Anything that is not a readable PE raises :class:`PeUnreadable` with one
sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from scanner.formats.pe_version import PeFormatError, read_version_resource

__all__ = ["PeUnreadable", "PeVersion", "lab_tag_of", "read_pe_version"]

_LAB_TAG = re.compile(r"\(([A-Za-z0-9_]+\.\d{6}-\d{4})\)")


class PeUnreadable(ValueError):
    """The bytes are not a PE, are truncated, or hold a corrupt resource directory/version resource."""


@dataclass(frozen=True)
class PeVersion:
    """What the version resource and COFF header say about one binary.

    Attributes:
        file_version: numeric ``VS_FIXEDFILEINFO`` FileVersion, e.g. ``6.0.3790.3959``.
        product_version: numeric ProductVersion.
        file_version_string: StringFileInfo ``FileVersion``, e.g.
            ``6.0.3790.3959 (srv03_sp2_rtm.070216-1710)``.
        lab_tag: the build-lab tag in its parentheses (``<lab>.<yymmdd-hhmm>``), None if there is none.
        original_filename, company, description: StringFileInfo values.
        link_time: COFF TimeDateStamp (UTC); None when 0.
        machine: ``i386`` | ``amd64`` | ``ia64`` | ``arm`` | ``arm64`` or ``0x....``.
        warnings: what was odd but not fatal (pefile warnings, truncated/sparse reads, no version resource).
    """

    file_version: str | None
    product_version: str | None
    file_version_string: str | None
    lab_tag: str | None
    original_filename: str | None
    company: str | None
    description: str | None
    link_time: datetime | None
    machine: str | None
    warnings: tuple[str, ...] = ()


def lab_tag_of(file_version_string: str | None) -> str | None:
    """The build-lab tag in a FileVersion string's parentheses, e.g. ``srv03_sp2_gdr.091030-1513``."""
    match = _LAB_TAG.search(file_version_string or "")
    return match.group(1) if match else None


def _dotted(quad: tuple[int, int, int, int] | None) -> str | None:
    return ".".join(map(str, quad)) if quad is not None else None


def read_pe_version(
    fh: BinaryIO, size: int, *, max_header: int = 64 * 1024, max_resource: int = 4 * 1024 * 1024
) -> PeVersion:
    """Read a PE's version resource and COFF facts, reading only headers and the resource section.

    Args:
        fh: seekable binary stream of the file (read-only; position is not restored).
        size: the file's size in bytes (the stream is never read past it).
        max_header: most bytes read for DOS/PE headers and the section table.
        max_resource: most bytes of the resource section read whole; larger ones are walked sparsely.

    Returns:
        The version facts; ``file_version`` None (with a warning) when the PE has no version resource.

    Raises:
        PeUnreadable: not a PE, truncated, or a corrupt resource directory or version resource.
    """
    try:
        res = read_version_resource(fh, size, max_header=max_header, max_resource=max_resource)
    except PeFormatError as exc:
        raise PeUnreadable(str(exc)) from exc
    fv_string = res.string("FileVersion") if res.file_version is not None else None
    lab = lab_tag_of(fv_string)
    return PeVersion(
        file_version=_dotted(res.file_version),
        product_version=_dotted(res.product_version),
        file_version_string=fv_string,
        lab_tag=lab,
        original_filename=res.string("OriginalFilename"),
        company=res.string("CompanyName"),
        description=res.string("FileDescription"),
        link_time=res.link_time,
        machine=res.machine,
        warnings=res.warnings,
    )
