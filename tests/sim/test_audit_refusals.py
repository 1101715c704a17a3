"""Refused requests cannot push real operations out of the lock's audit log."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from custom_components.secure_lock.controller import CommandRefused, LockClient
from custom_components.secure_lock.protocol import (
    EventSource,
    MessageKind,
    ResultCode,
    Role,
)
from device_sim.audit_log import REFUSAL_SHARE, AuditLog

from .lock_rig import AUDIT_CAPACITY, Rig

FLOOD = AUDIT_CAPACITY + 16


async def _refused(request: asyncio.Future[object]) -> ResultCode:
    with pytest.raises(CommandRefused) as err:
        await request
    return err.value.code


async def test_refusal_flood_leaves_real_operations_readable(tmp_path: Path) -> None:
    """More refusals than the log holds, from a guest and a removed controller.

    The admin still reads every earlier operation, with a hash chain that
    verifies; the refusals beyond their share are counted per reason.
    """
    rig = Rig(tmp_path)
    admin = await rig.pair_admin([])
    guest = await rig.add(admin, "Guest", Role.GUEST)
    tenant = await rig.add(admin, "Former tenant", Role.OPERATOR)
    for _ in range(3):
        await admin.unlock()
        await tenant.lock()
    await admin.remove_controller(tenant.identity.key_id)
    real = await admin.audit_log()
    assert len(real) == 1 + 2 + 6 + 1  # pairing, two adds, six commands, removal

    codes = []
    for number in range(FLOOD):
        client: LockClient = guest if number % 2 else tenant
        request = client.audit_log() if client is guest else client.unlock()
        codes.append(await _refused(asyncio.ensure_future(request)))
    assert set(codes) == {ResultCode.NOT_PERMITTED, ResultCode.REVOKED}

    entries: list = []
    while batch := await admin.audit_log(since_index=len(entries)):
        entries.extend(batch)
    assert entries[: len(real)] == real
    refusals = [
        e for e in entries if e.result in (ResultCode.NOT_PERMITTED, ResultCode.REVOKED)
    ]
    assert len(refusals) == AUDIT_CAPACITY // REFUSAL_SHARE
    counted = rig.device.describe()["audit_refusals_not_logged"]
    assert counted == {
        "not_permitted": FLOOD // 2
        - len([e for e in refusals if e.result is ResultCode.NOT_PERMITTED]),
        "revoked": FLOOD // 2
        - len([e for e in refusals if e.result is ResultCode.REVOKED]),
    }

    # Real operations still enter, and the counts survive a reboot.
    await admin.lock()
    rig.reboot()
    assert rig.device.state.audit.suppressed_refusals == {
        ResultCode.NOT_PERMITTED: counted["not_permitted"],
        ResultCode.REVOKED: counted["revoked"],
    }
    for client in (admin, guest, tenant):
        await client.close()


def test_real_operations_evict_refusals_and_free_their_share() -> None:
    """Only real operations push entries out; evicted refusals make room for new ones."""
    log = AuditLog(capacity=16)
    controller = bytes(16)
    for _ in range(10):
        log.append(
            0,
            MessageKind.UNLOCK,
            EventSource.CONTROLLER,
            ResultCode.REVOKED,
            controller,
        )
    assert log.suppressed_refusals == {ResultCode.REVOKED: 8}
    for _ in range(16):
        log.append(
            0, MessageKind.LOCK, EventSource.CONTROLLER, ResultCode.OK, controller
        )
    assert all(e.result is ResultCode.OK for e in log.window(0, 16).entries)
    assert (
        log.append(
            0,
            MessageKind.UNLOCK,
            EventSource.CONTROLLER,
            ResultCode.REVOKED,
            controller,
        )
        is not None
    )
    restored = AuditLog.from_json(log.to_json())
    assert restored.suppressed_refusals == log.suppressed_refusals
    assert restored.head_hash == log.head_hash
