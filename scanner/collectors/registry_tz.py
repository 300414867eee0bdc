"""The time zone from SYSTEM ``TimeZoneInformation``, with Vista+'s ``@tzres.dll`` names resolved.

``TIME_ZONE_INFORMATION`` as the registry stores it (``Bias`` in minutes, UTC = local + bias;
``StandardBias``/``DaylightBias``; the ``StandardStart``/``DaylightStart`` SYSTEMTIME rules; see
:mod:`scanner.model.localtime`). Since Vista ``StandardName``/``DaylightName`` hold ``@tzres.dll,-N``
string-resource references (regipy's real Windows 7 and 10 SYSTEM hives: ``@tzres.dll,-112``/``-111`` with
``TimeZoneKeyName = Eastern Standard Time``); the names Windows shows live in SOFTWARE
``Microsoft\\Windows NT\\CurrentVersion\\Time Zones\\<id>`` (``Std``, ``Dlt``, ``Display``; ``MUI_Std`` and
``MUI_Dlt`` hold the same references).
"""

from __future__ import annotations

import struct
from typing import Any

from scanner.collectors.regsafe import Hive, HiveReader, guarded, signed_dword, value_text
from scanner.model import Gap, TimeZoneFacts
from scanner.model.timerange import bias_ok

CV = "Microsoft\\Windows NT\\CurrentVersion"
_MAX_ZONES = 1_000  # a real Time Zones key has ~140 subkeys


def _systemtime(raw: Any) -> tuple[int, ...]:
    if isinstance(raw, bytes) and len(raw) >= 16:
        return struct.unpack("<8H", raw[:16])
    return ()


def time_zone(v: dict[str, Any], software: Hive | None, gaps: list[Gap]) -> TimeZoneFacts | None:
    """``TimeZoneInformation``, with Vista+'s ``@tzres.dll,-N`` names resolved to the zone's names.

    Vista+ stores ``StandardName = @tzres.dll,-112`` (a string resource of tzres.dll) and the zone's id in
    ``TimeZoneKeyName`` ("Eastern Standard Time"); the names Windows shows are the SOFTWARE
    ``Time Zones\\<id>`` values ``Std``/``Dlt`` (found by id, else by ``MUI_Std`` = the reference).
    Without SOFTWARE the id names the standard time (Microsoft names zone ids after their standard time)
    and the daylight name stays unresolved. The raw references are kept in ``standard_name_ref`` and
    ``daylight_name_ref``.
    """
    if not isinstance(v.get("Bias"), int):
        return None
    key_name = (value_text(v.get("TimeZoneKeyName")) or "").split("\x00", 1)[0]
    standard = value_text(v.get("StandardName")) or ""
    daylight = value_text(v.get("DaylightName")) or ""
    std_ref = standard if standard.startswith("@") else None
    dlt_ref = daylight if daylight.startswith("@") else None
    if std_ref or dlt_ref:
        zone = _zone_names(software, key_name, std_ref, gaps)
        standard = zone[0] if std_ref else standard
        daylight = zone[1] if dlt_ref else daylight
        if std_ref and not standard:
            standard = key_name
    bias, std_bias, dlt_bias = (signed_dword(v.get(k, 0)) for k in ("Bias", "StandardBias", "DaylightBias"))
    if not bias_ok(bias, std_bias, dlt_bias):
        gaps.append(
            Gap(
                "time zone",
                f"TimeZoneInformation biases out of range (Bias {bias}, StandardBias {std_bias}, "
                f"DaylightBias {dlt_bias} minutes; a real zone is within a day): local times taken as UTC",
            )
        )
        return None
    return TimeZoneFacts(
        key_name=key_name or standard,
        standard_name=standard,
        daylight_name=daylight,
        bias_minutes=bias,
        standard_bias=std_bias,
        daylight_bias=dlt_bias,
        standard_start=_systemtime(v.get("StandardStart")),
        daylight_start=_systemtime(v.get("DaylightStart")),
        active_bias=signed_dword(v["ActiveTimeBias"]) if isinstance(v.get("ActiveTimeBias"), int) else None,
        standard_name_ref=std_ref,
        daylight_name_ref=dlt_ref,
    )


def _zone_names(
    software: Hive | None, key_name: str, std_ref: str | None, gaps: list[Gap]
) -> tuple[str, str]:
    """(standard, daylight) names from SOFTWARE ``Time Zones``; ("", "") when not found."""
    if software is None:
        return "", ""

    def read(reader: HiveReader) -> tuple[str, str]:
        zones = reader.open(f"{CV}\\Time Zones")
        if zones is None:
            return "", ""
        found = reader.subkey(zones, key_name) if key_name else None
        if found is None and std_ref:
            for zone in reader.subkeys(zones, _MAX_ZONES):
                if (value_text(reader.values(zone).get("MUI_Std")) or "").lower() == std_ref.lower():
                    found = zone
                    break
        if found is None:
            return "", ""
        values = reader.values(found)
        return value_text(values.get("Std")) or "", value_text(values.get("Dlt")) or ""

    return guarded("time zone names", software, gaps, read, ("", ""))
