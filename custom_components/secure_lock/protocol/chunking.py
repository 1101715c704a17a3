"""Split large opaque data into fixed-capacity firmware chunks and reassemble them."""

from __future__ import annotations

from .encoding import Writer
from .errors import ErrorCode, ProtocolError
from .messages import (
    REQUEST_ID_SIZE,
    ControllerListChunk,
    ControllerSummary,
    FirmwareChunk,
    MessageKind,
)
from .suites import SuiteId, params

# transfer id + offset + total size + data length prefix
_FIRMWARE_CHUNK_OVERHEAD = REQUEST_ID_SIZE + 4 + 4 + 2
MAX_TRANSFER_SIZE = 64 * 1024 * 1024


def firmware_chunk_capacity(suite: SuiteId) -> int:
    """Return how many data bytes one firmware frame of ``suite`` carries."""
    return params(suite).payload_capacity - _FIRMWARE_CHUNK_OVERHEAD


def split_firmware(
    data: bytes, transfer_id: bytes, suite: SuiteId, start: int = 0
) -> list[FirmwareChunk]:
    """Cut ``data`` from ``start`` on into chunks that each fill one frame of ``suite``.

    ``start`` is a resume offset: the bytes before it are already held by the
    receiver, and need not be a multiple of the chunk size.
    """
    if (
        len(transfer_id) != REQUEST_ID_SIZE
        or len(data) > MAX_TRANSFER_SIZE
        or not 0 <= start <= len(data)
    ):
        raise ProtocolError(
            ErrorCode.INVALID_ARGUMENT, "bad transfer id, start or image size"
        )
    size = firmware_chunk_capacity(suite)
    if start == len(data) and data:
        return []
    return [
        FirmwareChunk(
            transfer_id=transfer_id,
            offset=offset,
            total_size=len(data),
            data=data[offset : offset + size],
        )
        for offset in range(start, max(len(data), 1), size)
    ]


class ChunkAssembler:
    """Collect chunks of one transfer in any order; rejects overlaps and size changes."""

    kind = MessageKind.FIRMWARE_CHUNK

    def __init__(self, transfer_id: bytes, total_size: int) -> None:
        """Expect ``total_size`` bytes for ``transfer_id``."""
        if total_size > MAX_TRANSFER_SIZE:
            raise ProtocolError(ErrorCode.PAYLOAD_TOO_LARGE, "transfer too large")
        self.transfer_id = transfer_id
        self.total_size = total_size
        self._parts: dict[int, bytes] = {}
        self._received = 0

    def add(self, chunk: FirmwareChunk) -> bool:
        """Add ``chunk``; return True once every byte has arrived."""
        if chunk.transfer_id != self.transfer_id or chunk.total_size != self.total_size:
            raise ProtocolError(ErrorCode.INVALID_ARGUMENT, "chunk of another transfer")
        previous = self._parts.get(chunk.offset)
        if previous is not None:
            if previous != chunk.data:
                raise ProtocolError(ErrorCode.INVALID_ARGUMENT, "conflicting chunk")
            return self.complete
        end = chunk.offset + len(chunk.data)
        for offset, data in self._parts.items():
            if offset < end and chunk.offset < offset + len(data):
                raise ProtocolError(ErrorCode.INVALID_ARGUMENT, "overlapping chunk")
        self._parts[chunk.offset] = chunk.data
        self._received += len(chunk.data)
        return self.complete

    @property
    def complete(self) -> bool:
        """Whether every byte has arrived."""
        return self._received == self.total_size

    def data(self) -> bytes:
        """Return the reassembled bytes (only when complete)."""
        if not self.complete:
            raise ProtocolError(ErrorCode.INVALID_ARGUMENT, "transfer incomplete")
        return b"".join(self._parts[offset] for offset in sorted(self._parts))


def chunk_controller_list(
    entries: list[ControllerSummary], suite: SuiteId
) -> list[ControllerListChunk]:
    """Pack listing entries into as few frames of ``suite`` as possible."""
    capacity = params(suite).payload_capacity
    header = len(ControllerListChunk(0, 1, ()).to_bytes())
    groups: list[list[ControllerSummary]] = [[]]
    used = header
    for entry in entries:
        size = len(entry.encode(Writer()).finish())
        if groups[-1] and (used + size > capacity or len(groups[-1]) == 255):
            groups.append([])
            used = header
        groups[-1].append(entry)
        used += size
    return [
        ControllerListChunk(index, len(groups), tuple(group))
        for index, group in enumerate(groups)
    ]
