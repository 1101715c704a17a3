"""LockClient over a link that fails: typed errors, and counters persisted first."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from custom_components.secure_lock.controller import (
    CommandTimeout,
    LinkUnavailable,
    LockClient,
)
from custom_components.secure_lock.controller.client import CommandOutcome
from custom_components.secure_lock.protocol import (
    Command,
    CommandResult,
    MessageKind,
    PairedLock,
    ResultCode,
    SuiteId,
)
from custom_components.secure_lock.protocol.channel import Channel, unwrap, wrap
from custom_components.secure_lock.protocol.messages import FirmwareChunk
from tests.protocol.conftest import T0, pair_devices
from tests.protocol.samples import STATUS, sample_payload

from .test_controller_pairing import ScriptedLink


def _client(link: ScriptedLink, persisted: list[int]) -> LockClient:
    pair = pair_devices(SuiteId.X25519_CHACHA20)

    def persist(lock: PairedLock) -> None:
        persisted.append(lock.last_sent_counter)

    return LockClient(
        link, pair.controller, pair.paired, on_persist=persist, clock=lambda: T0
    )


async def test_unsendable_request_is_link_unavailable() -> None:
    """The counter is stored before sending, so a failed send cannot reuse it."""
    persisted: list[int] = []
    client = _client(ScriptedLink(lambda _frame: [], send_error=True), persisted)
    with pytest.raises(LinkUnavailable):
        await client.request(MessageKind.LOCK, Command(), timeout=1)
    assert len(persisted) == 1
    assert persisted[0] == client.paired_lock.last_sent_counter
    chunk = sample_payload(
        MessageKind.FIRMWARE_CHUNK, client.identity.public_bundle(), T0
    )
    assert isinstance(chunk, FirmwareChunk)
    with pytest.raises(LinkUnavailable):
        await client.post(MessageKind.FIRMWARE_CHUNK, chunk)
    assert len(persisted) == 2
    assert persisted[1] > persisted[0]


def test_result_of_a_chunked_answer_is_a_caller_error() -> None:
    """`result` is for single answers; asking it of chunks fails instead of guessing."""
    outcome = CommandOutcome((SimpleNamespace(payload=object()),))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="chunks"):
        _ = outcome.result


async def test_a_request_whose_delivery_is_unknown_waits_for_its_answer() -> None:
    """The broker took the frame and the acknowledgement was lost: the lock's answer counts.

    Reporting "not connected" here would tell the user nothing happened
    while the door may be moving.
    """
    pair = pair_devices(SuiteId.X25519_CHACHA20)

    def lock_answers(frame: bytes) -> list[bytes]:
        channel, body = unwrap(frame)
        assert channel is Channel.ENVELOPE
        message = pair.lock_ep.open(body)
        result = CommandResult(ResultCode.OK, STATUS, T0, 0)
        return [wrap(Channel.ENVELOPE, pair.lock_ep.respond(message, result))]

    link = ScriptedLink(lock_answers, unacknowledged=True)
    client = LockClient(link, pair.controller, pair.paired, clock=lambda: T0)
    await client.start()
    try:
        outcome = await client.request(MessageKind.LOCK, Command(), timeout=5)
    finally:
        await client.close()
    assert outcome.result.result is ResultCode.OK
    assert len(link.sent) == 1


async def test_a_request_whose_delivery_is_unknown_times_out_unanswered() -> None:
    """Without an answer it is a timeout ("did not confirm"), never "not sent"."""
    persisted: list[int] = []
    client = _client(ScriptedLink(lambda _frame: [], unacknowledged=True), persisted)
    with pytest.raises(CommandTimeout):
        await client.request(MessageKind.LOCK, Command(), timeout=0)
    assert len(persisted) == 1
