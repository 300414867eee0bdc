"""Test helper: a file-like that counts the bytes it hands out (collectors must read only what they need)."""

from __future__ import annotations

import io


class CountingReader(io.BytesIO):
    """A BytesIO that counts the bytes handed out by read()."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data
