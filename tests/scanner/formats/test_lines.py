"""The one bounded line reader (scanner/formats/lines.py): encodings, over-long lines, chunk independence."""

from __future__ import annotations

import codecs
import io
import random

from scanner.formats.lines import detect_encoding, read_lines


def _texts(data: bytes, **kwargs: int) -> list[tuple[int, str, bool]]:
    return [tuple(line) for line in read_lines(io.BytesIO(data), **kwargs)]  # type: ignore[misc]


def test_encodings_are_detected_as_windows_wrote_them() -> None:
    utf16 = "KB973917 installé\r\nline 2".encode("utf-16-le")
    assert detect_encoding(codecs.BOM_UTF16_LE + utf16) == ("utf-16-le", 2)
    assert detect_encoding(codecs.BOM_UTF8 + b"x") == ("utf-8", 3)
    assert detect_encoding(utf16) == ("utf-16-le", 0)  # BOM-less: NUL high bytes
    assert detect_encoding(b"\x00\x00ab") == (None, 0)  # NUL padding is not UTF-16
    for data in (codecs.BOM_UTF16_LE + utf16, utf16):
        assert _texts(data) == [(1, "KB973917 installé", False), (2, "line 2", False)]
    # ANSI: each line UTF-8 if it decodes, else cp1252
    ansi = "café\r\n".encode("cp1252") + "café\n".encode()
    assert _texts(ansi) == [(1, "café", False), (2, "café", False)]


def test_over_long_lines_are_cut_flagged_and_counted_once() -> None:
    data = b"a\r\n" + b"x" * 50 + b"\nb" + b"y" * 9 + b"\n" + b"z" * 30
    assert [(n, len(t), o) for n, t, o in _texts(data, max_line=10, chunk=7)] == [
        (1, 1, False), (2, 11, True), (3, 10, False), (4, 11, True)]


def test_lines_do_not_depend_on_the_chunk_size() -> None:
    """Every chunk edge (inside a CRLF, a UTF-16 unit, an over-long line) gives the same lines."""
    rng = random.Random(16)
    alphabet = [b"a", b"b", b"\r", b"\n", b"\r\n", b"\x00", b"\xe9", b"\xc3\xa9", b"q" * 40]
    for _ in range(60):
        body = b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        for data in (b"#" + body, codecs.BOM_UTF16_LE + body.decode("latin-1").encode("utf-16-le")):
            expected = _texts(data, max_line=32)
            for chunk in (1, 2, 3, 5, 31, 64):
                assert _texts(data, max_line=32, chunk=chunk) == expected, (data, chunk)
