"""The one bounded line reader of the text logs: encoding detected, lines cut at a maximum, memory flat.

Every text log the scanner reads (installer, setup, Windows Update, CBS, Dr. Watson, IIS W3C and HTTPERR
logs) goes through :func:`read_lines`, so encoding and over-long lines are decided once.

Decoding (why each rule): Windows wrote these logs in the ANSI code page (update.exe, setupapi, iis6.log,
WindowsUpdate.log, drwtsn32.log, IIS ``ex*.log``; cp1252 on Western systems), some tools in UTF-16LE with a
BOM, CBS.log and IIS 7+ ``u_ex*.log`` in ASCII/UTF-8. A UTF-16LE or UTF-8 byte-order mark decides; UTF-16LE
without a BOM is recognised by its NUL high bytes; else each line is tried as UTF-8 and falls back to cp1252,
so a line of either encoding reads correctly.

Bounds: a dead server's log can end in megabytes of NUL bytes without a line end, and a hostile file can be
one endless line. A line longer than ``max_line`` characters (bytes, for ANSI/UTF-8) is yielded once,
flagged ``overlong``, holding only its first ``max_line + 1`` characters; the rest of it is dropped as it
arrives. Memory is bounded by ``max_line`` plus one read ``chunk``, whatever the file's size, and every
loop consumes at least one byte of input or ends.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from typing import BinaryIO, NamedTuple, TypeVar

__all__ = ["CHUNK", "MAX_LINE", "TextLine", "detect_encoding", "read_lines"]

MAX_LINE = 64 * 1024
"""Longest line kept, in characters; no real log line comes near it (URIs cap at 16 KiB)."""
CHUNK = 64 * 1024
"""Bytes read at a time."""

_S = TypeVar("_S", str, bytes)


class TextLine(NamedTuple):
    """One physical line: 1-based number, text without its line end, and whether it was over-long.

    An over-long line's ``text`` is its first ``max_line + 1`` characters (so a length check sees it).
    """

    number: int
    text: str
    overlong: bool


def _line(fields: tuple[int, str, bool]) -> TextLine:
    """A TextLine without the NamedTuple's Python-level ``__new__`` (a third of the reader's time a line)."""
    return tuple.__new__(TextLine, fields)


def detect_encoding(first: bytes) -> tuple[str | None, int]:
    """The codec a log's first bytes announce and the length of its byte-order mark.

    Returns:
        ``("utf-16-le", 2)`` or ``("utf-8", 3)`` for a BOM, ``("utf-16-le", 0)`` for BOM-less UTF-16LE
        (NUL high bytes under two non-NUL characters), ``(None, 0)`` for ANSI-or-UTF-8 decided per line.
    """
    if first.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2
    if first.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if len(first) >= 4 and first[1] == 0 and first[3] == 0 and first[0] and first[2]:
        return "utf-16-le", 0
    return None, 0


def _split(chunks: Iterable[_S], newline: _S, empty: _S, max_line: int) -> Iterator[tuple[_S, bool]]:
    """Split str or bytes chunks into lines without ``newline``: ``(line, overlong)``, each at most
    ``max_line + 1`` long; an over-long line's tail is dropped as it arrives."""
    buf, head = empty, None  # head: the kept start of an over-long line whose end is not seen yet
    for chunk in chunks:
        pieces = (buf + chunk if buf else chunk).split(newline)  # at most one chunk plus max_line long
        buf = pieces.pop()
        for line in pieces:
            if head is not None:
                yield head, True
                head = None
            elif len(line) > max_line:
                yield line[: max_line + 1], True
            else:
                yield line, False
        if len(buf) > max_line:
            if head is None:
                head = buf[: max_line + 1]
            buf = empty  # drop the rest of this line as it arrives
    if head is not None:
        yield head, True
    elif buf:
        yield buf, len(buf) > max_line


def _chunks(handle: BinaryIO, first: bytes, size: int) -> Iterator[bytes]:
    if first:
        yield first
    while data := handle.read(size):
        yield data


def read_lines(handle: BinaryIO, *, max_line: int = MAX_LINE, chunk: int = CHUNK) -> Iterator[TextLine]:
    """The lines of a binary log, decoded (see the module docstring), ``\\r`` ends removed.

    Args:
        handle: the file, opened read-only; read ``chunk`` bytes at a time, never seeked.
        max_line: longest line kept whole; a longer one is cut and flagged ``overlong``.
        chunk: bytes read at a time (at least 1).
    """
    size = max(1, chunk)
    first = handle.read(max(size, 4))  # detection needs the first four bytes, whatever the chunk
    codec, bom = detect_encoding(first)
    number = 0
    if codec is None:
        for raw, overlong in _split(_chunks(handle, first, size), b"\n", b"", max_line):
            number += 1
            try:  # inline (not _ansi): this loop runs once a line over gigabytes of IIS logs
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("cp1252", errors="replace")
            yield _line((number, text.rstrip("\r"), overlong))
        return
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    texts = (decoder.decode(piece) for piece in _chunks(handle, first[bom:], size))
    for text, overlong in _split(texts, "\n", "", max_line):
        number += 1
        yield _line((number, text.rstrip("\r"), overlong))
