"""Canonical compact binary encoding: big-endian integers, length-prefixed bytes."""

from __future__ import annotations

from .errors import MalformedError

MAX_U16 = 0xFFFF
MAX_U32 = 0xFFFF_FFFF
MAX_U64 = 0xFFFF_FFFF_FFFF_FFFF


class Writer:
    """Append-only encoder; every value has exactly one encoding."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        """Start an empty buffer."""
        self._parts: list[bytes] = []

    def _uint(self, value: int, size: int) -> Writer:
        if not 0 <= value < 1 << (8 * size):
            raise ValueError(f"integer out of range for {size} bytes")
        self._parts.append(value.to_bytes(size, "big"))
        return self

    def u8(self, value: int) -> Writer:
        """Append one byte."""
        return self._uint(value, 1)

    def u16(self, value: int) -> Writer:
        """Append a 16-bit integer."""
        return self._uint(value, 2)

    def u32(self, value: int) -> Writer:
        """Append a 32-bit integer."""
        return self._uint(value, 4)

    def u64(self, value: int) -> Writer:
        """Append a 64-bit integer."""
        return self._uint(value, 8)

    def fixed(self, value: bytes, size: int) -> Writer:
        """Append exactly ``size`` bytes."""
        if len(value) != size:
            raise ValueError(f"expected {size} bytes, got {len(value)}")
        self._parts.append(bytes(value))
        return self

    def bytes8(self, value: bytes) -> Writer:
        """Append bytes with a one-byte length prefix."""
        self.u8(len(value))
        self._parts.append(bytes(value))
        return self

    def bytes16(self, value: bytes) -> Writer:
        """Append bytes with a two-byte length prefix."""
        self.u16(len(value))
        self._parts.append(bytes(value))
        return self

    def str8(self, value: str) -> Writer:
        """Append a UTF-8 string with a one-byte length prefix."""
        return self.bytes8(value.encode())

    def raw(self, value: bytes) -> Writer:
        """Append bytes without a prefix (caller knows the length)."""
        self._parts.append(bytes(value))
        return self

    def finish(self) -> bytes:
        """Return the encoded bytes."""
        return b"".join(self._parts)


class Reader:
    """Strict decoder: every short read or leftover byte is ``malformed``."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        """Wrap ``data`` for reading from the start."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise MalformedError("expected bytes")
        self._data = bytes(data)
        self._pos = 0

    def _take(self, size: int) -> bytes:
        end = self._pos + size
        if end > len(self._data):
            raise MalformedError("truncated")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def u8(self) -> int:
        """Read one byte."""
        return self._take(1)[0]

    def u16(self) -> int:
        """Read a 16-bit integer."""
        return int.from_bytes(self._take(2), "big")

    def u32(self) -> int:
        """Read a 32-bit integer."""
        return int.from_bytes(self._take(4), "big")

    def u64(self) -> int:
        """Read a 64-bit integer."""
        return int.from_bytes(self._take(8), "big")

    def fixed(self, size: int) -> bytes:
        """Read exactly ``size`` bytes."""
        return self._take(size)

    def bytes8(self) -> bytes:
        """Read bytes with a one-byte length prefix."""
        return self._take(self.u8())

    def bytes16(self) -> bytes:
        """Read bytes with a two-byte length prefix."""
        return self._take(self.u16())

    def str8(self) -> str:
        """Read a UTF-8 string with a one-byte length prefix."""
        raw = self.bytes8()
        try:
            return raw.decode()
        except UnicodeDecodeError as err:
            raise MalformedError("invalid UTF-8") from err

    def boolean(self) -> bool:
        """Read a strict boolean (only 0 or 1)."""
        value = self.u8()
        if value > 1:
            raise MalformedError("invalid boolean")
        return value == 1

    def done(self) -> None:
        """Require that every byte was consumed (one encoding per value)."""
        if self._pos != len(self._data):
            raise MalformedError("trailing bytes")
