"""Chunking of large payloads, and the largest fixed-size messages fit their frames."""

from __future__ import annotations

import pytest

from custom_components.secure_lock.protocol import (
    Command,
    ControllerEndpoint,
    ControllerIdentity,
    ControllerRecord,
    ControllerSummary,
    MessageKind,
    PairedLock,
    ProtocolError,
    Role,
    SuiteId,
    supported_suites,
)
from custom_components.secure_lock.protocol.chunking import (
    ChunkAssembler,
    chunk_controller_list,
    firmware_chunk_capacity,
    split_firmware,
)
from custom_components.secure_lock.protocol.messages import (
    ControllerAdd,
    ControllerListChunk,
    ControllerListRequest,
    FirmwareChunk,
)
from custom_components.secure_lock.protocol.rng import DeterministicRng
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


def test_controller_list_is_chunked_to_fit(pair: Pair, suite: SuiteId) -> None:
    """Many controllers produce several list chunks, each fitting one frame."""
    entries = [
        ControllerSummary(
            bytes([i]) * 16, f"controller {i}" * 4, Role.OPERATOR, False, 0, 0
        )
        for i in range(40)
    ]
    chunks = chunk_controller_list(entries, suite)
    assert len(chunks) > 1
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(c.total == len(chunks) for c in chunks)
    request = pair.lock_ep.open(
        pair.ctrl_ep.seal(
            MessageKind.CONTROLLER_LIST, ControllerListRequest(), now_ms=T0
        ),
        T0,
    )
    received: list[ControllerSummary] = []
    for chunk in chunks:
        opened = pair.ctrl_ep.open(pair.lock_ep.respond(request, chunk, now_ms=T0), T0)
        assert isinstance(opened.payload, ControllerListChunk)
        received.extend(opened.payload.entries)
    assert received == entries


def test_controller_add_becomes_a_registry_record(pair: Pair, suite: SuiteId) -> None:
    """An admin adds a guest; the guest's frames are then accepted in its window."""
    guest = ControllerIdentity.generate(
        DeterministicRng(b"guest"), now_ms=T0, suites=(suite,)
    )
    add = ControllerAdd(guest.public_bundle(), "Guest", Role.GUEST, T0, T0 + 3_600_000)
    request = pair.lock_ep.open(
        pair.ctrl_ep.seal(MessageKind.CONTROLLER_ADD, add, now_ms=T0), T0
    )
    assert isinstance(request.payload, ControllerAdd)
    record = ControllerRecord.from_add(request.payload, pair.lock.suites)
    assert (record.controller_id, record.suite, record.role) == (
        guest.key_id,
        suite,
        Role.GUEST,
    )
    pair.registry.add(record)
    lock = PairedLock(
        pair.lock.lock_id, pair.lock.public_bundle((suite,)), suite, Role.GUEST
    )
    guest_ep = ControllerEndpoint(
        guest, lock, rng=DeterministicRng(b"g"), clock=lambda: T0
    )
    frame = guest_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0)
    assert pair.lock_ep.open(frame, T0).sender_role is Role.GUEST


def test_list_chunk_numbered_beyond_its_total_is_malformed() -> None:
    """Chunk 1 of 1 does not exist; a lock sending it sent a malformed frame."""
    from custom_components.secure_lock.protocol import MalformedError, MessageKind  # noqa: PLC0415
    from custom_components.secure_lock.protocol.messages import (
        ControllerListChunk,  # noqa: PLC0415
        decode_payload,  # noqa: PLC0415
    )

    data = bytearray(ControllerListChunk(0, 1, ()).to_bytes())
    assert decode_payload(MessageKind.CONTROLLER_LIST_CHUNK, bytes(data))
    data[0:2] = (1).to_bytes(2, "big")
    with pytest.raises(MalformedError, match="out of range"):
        decode_payload(MessageKind.CONTROLLER_LIST_CHUNK, bytes(data))
