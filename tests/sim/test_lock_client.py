"""LockClient over a link that fails: typed errors, and counters persisted first."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from custom_components.secure_lock.controller import LinkUnavailable, LockClient
from custom_components.secure_lock.controller.client import CommandOutcome
from custom_components.secure_lock.protocol import (
    Command,
    MessageKind,
    PairedLock,
    SuiteId,
)
from custom_components.secure_lock.protocol.messages import FirmwareChunk
from tests.protocol.conftest import T0, pair_devices
from tests.protocol.samples import sample_payload

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
