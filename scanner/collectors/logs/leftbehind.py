"""One installer log line -> the file it left behind and why (a typed :class:`~scanner.model.FileLeftBehind`).

update.exe, hotfix.exe and service-pack setup leave a file behind in four ways (reference §4.2; KB 815062 and
the "Troubleshooting Service Pack Upgrades" article in Windows IT Pro describe the mechanism): the target is
in use, so the new copy goes in under a temporary name and a ``MoveFileEx(..., MOVEFILE_DELAY_UNTIL_REBOOT)``
queues it for the next boot (``PendingFileRenameOperations``); the copy fails (``CopyFileEx``); the queued
rename fails (``MoveFileEx``); or the installer decides not to replace the file and says so.

Which line shapes are confirmed: NONE of the per-file wordings below was found in a public update.exe or
svcpack.log sample (searched: "was not replaced", "CopyFileEx failed", "MoveFileEx failed", "in use",
"DelayReplace", "delayed replace"; the public samples quoted in updateexe.py show catalog, .inf and exit-code
lines only). They are OUR shapes, written from the API names the installers call and the wording setupapi.log
uses for the same case (``Copying file ... via temporary file ...``, confirmed in setupapi.log and read in
setuplogs.py). Each pattern is deliberately loose (the API or phrase plus a file name anywhere on the line)
so a real variant still lands; a line naming no file is not a file left behind.
"""

from __future__ import annotations

import re

from scanner.model import FileLeftBehind

# Ours: "CopyFileEx failed for C:\...\x.dll, error 0x20" / "CopyFile(...) failed: 5".
_COPY_FAILED = re.compile(r"\bCopyFile(?:Ex)?[AW]?\b.*\bfail", re.IGNORECASE)
# Ours: "MoveFileEx failed for ...; error 0x5" (the delayed rename itself could not be queued).
_MOVE_FAILED = re.compile(r"\bMoveFile(?:Ex)?[AW]?\b.*\bfail", re.IGNORECASE)
# Ours: queued for the next boot - "DelayReplace", "delayed replace", MOVEFILE_DELAY_UNTIL_REBOOT,
# "in use ... will be replaced on reboot", "PendingFileRename".
_DELAYED = re.compile(
    r"\bDelay(?:ed)?[ _-]?Replace|MOVEFILE_DELAY_UNTIL_REBOOT|PendingFileRename"
    r"|\bin use\b.*\b(?:re-?boot|restart|delay)"
    r"|\breplaced (?:on|at|after) (?:the )?(?:next )?(?:re-?boot|restart)",
    re.IGNORECASE,
)
# Ours: "File C:\...\x.dll was not replaced" / "... not replaced (newer version present)".
_NOT_REPLACED = re.compile(r"\b(?:was |is |were )?not (?:been )?replaced\b", re.IGNORECASE)
_CODE = re.compile(
    r"(?:error|status|code|failed(?: with)?(?: error)?|gle)\s*[:=]?\s*(0x[0-9a-fA-F]{1,8}|\d{1,10})\b",
    re.IGNORECASE,
)
_FILE = re.compile(
    r'"([^"]{1,260}\.[A-Za-z0-9]{1,4})"'
    r"|([A-Za-z]:\\[^\s,;\"'()]{1,260})"
    r"|(?<![\w\\])([\w$.-]{1,120}\.(?:dll|exe|sys|ocx|cpl|drv|cat|inf|mui|dat|tlb|mof|msc|scr|ime|ax))\b",
    re.IGNORECASE,
)


def parse_code(text: str) -> int | None:
    """``0xf00d`` / ``1603`` / ``-1`` -> int; None when it is not a number."""
    text = text.strip().lower()
    try:
        return int(text, 16) if text.startswith("0x") else int(text, 10)
    except ValueError:
        return None


def left_behind(text: str) -> FileLeftBehind | None:
    """The file a log line says was not put in place, with the typed reason; None for any other line."""
    if _MOVE_FAILED.search(text):
        reason = "move-failed"
    elif _COPY_FAILED.search(text):
        reason = "copy-failed"
    elif _DELAYED.search(text):
        reason = "in-use-delayed"
    elif _NOT_REPLACED.search(text):
        reason = "not-replaced"
    else:
        return None
    found = _FILE.search(text)
    if found is None:
        return None
    path = next(g for g in found.groups() if g).rstrip(".:")
    code = _CODE.search(text[found.end() :]) or _CODE.search(text)
    return FileLeftBehind(path, reason, parse_code(code.group(1)) if code else None)
