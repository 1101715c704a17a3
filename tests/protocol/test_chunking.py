"""Chunking of large payloads, and the largest fixed-size messages fit their frames."""

from __future__ import annotations

import pytest

from custom_components.secure_lock.protocol import (
    ChunkAssembler,
    ControllerAdd,
    ControllerIdentity,
    DeterministicRng,
    FirmwareChunk,
    MessageKind,
    ProtocolError,
    Role,
    SuiteId,
    firmware_chunk_capacity,
    split_firmware,
    supported_suites,
)
from custom_components.secure_lock.protocol.suites import params

from .conftest import T0, Pair


def test_firmware_round_trips_through_full_frames(pair: Pair, suite: SuiteId) -> None:
    """Each chunk fills at most one frame; reassembly works in any order."""
    image = bytes(i % 251 for i in range(3 * firmware_chunk_capacity(suite) + 17))
    chunks = split_firmware(image, bytes(16), suite)
    assert len(chunks) == 4
    assembler = ChunkAssembler(bytes(16), len(image))
    for chunk in reversed(chunks):
        frame = pair.ctrl_ep.seal(MessageKind.FIRMWARE_CHUNK, chunk, now_ms=T0)
        payload = pair.lock_ep.open(frame, T0).payload
        assert isinstance(payload, FirmwareChunk)
        assembler.add(payload)
    assert assembler.complete
    assert assembler.data() == image


def test_assembler_rejects_overlaps_and_foreign_chunks() -> None:
    """A chunk that overlaps, conflicts or belongs elsewhere is refused."""
    assembler = ChunkAssembler(bytes(16), 10)
    assert not assembler.add(FirmwareChunk(bytes(16), 0, 10, b"abcde"))
    assert not assembler.add(
        FirmwareChunk(bytes(16), 0, 10, b"abcde")
    )  # duplicate is fine
    for bad in (
        FirmwareChunk(bytes(16), 0, 10, b"xxxxx"),
        FirmwareChunk(bytes(16), 3, 10, b"zz"),
        FirmwareChunk(b"\x01" * 16, 5, 10, b"fghij"),
        FirmwareChunk(bytes(16), 5, 11, b"fghij"),
    ):
        with pytest.raises(ProtocolError):
            assembler.add(bad)
    with pytest.raises(ProtocolError):
        assembler.data()
    assert assembler.add(FirmwareChunk(bytes(16), 5, 10, b"fghij"))
    assert assembler.data() == b"abcdefghij"


def test_largest_controller_add_fits_each_suite() -> None:
    """A bundle with every suite's prekey and a maximal name fits the payload capacity."""
    ctrl = ControllerIdentity.generate(
        DeterministicRng(b"big"), now_ms=T0, suites=supported_suites()
    )
    payload = ControllerAdd(ctrl.public_bundle(), "n" * 64, Role.GUEST, T0, T0 + 1)
    assert len(payload.to_bytes()) <= params(max(supported_suites())).payload_capacity
    small = ControllerIdentity.generate(
        DeterministicRng(b"small"), now_ms=T0, suites=(SuiteId.X25519_CHACHA20,)
    )
    payload = ControllerAdd(small.public_bundle(), "n" * 64, Role.GUEST, T0, T0 + 1)
    assert len(payload.to_bytes()) <= params(SuiteId.X25519_CHACHA20).payload_capacity
