"""Role policy: guests need a validity window, every role is held to one when set."""

from __future__ import annotations

import pytest

from custom_components.secure_lock.protocol import (
    Command,
    MessageKind,
    Role,
    SuiteId,
    UnauthorizedError,
)
from custom_components.secure_lock.protocol.permissions import may_send

from .conftest import T0, pair_devices

HOUR = 3_600_000


def test_guest_without_an_end_date_may_send_nothing() -> None:
    """A guest record with no end is a mistake; it must not mean 'forever'."""
    assert not may_send(Role.GUEST, MessageKind.UNLOCK, T0)
    assert not may_send(Role.GUEST, MessageKind.UNLOCK, T0, valid_from_ms=T0 - HOUR)
    assert may_send(Role.GUEST, MessageKind.UNLOCK, T0, valid_until_ms=T0 + HOUR)


@pytest.mark.parametrize("role", list(Role))
def test_window_bounds_every_role(role: Role) -> None:
    """Before valid_from and from valid_until on, nobody may send."""
    window = {"valid_from_ms": T0, "valid_until_ms": T0 + HOUR}
    assert not may_send(role, MessageKind.UNLOCK, T0 - 1, **window)
    assert may_send(role, MessageKind.UNLOCK, T0, **window)
    assert may_send(role, MessageKind.UNLOCK, T0 + HOUR - 1, **window)
    assert not may_send(role, MessageKind.UNLOCK, T0 + HOUR, **window)


def test_admin_only_kinds() -> None:
    """Managing controllers and firmware is for admins only."""
    for kind in (MessageKind.CONTROLLER_ADD, MessageKind.FIRMWARE_INSTALL):
        assert may_send(Role.ADMIN, kind, T0)
        assert not may_send(Role.OPERATOR, kind, T0)
        assert not may_send(Role.GUEST, kind, T0, valid_until_ms=T0 + HOUR)


def test_lock_refuses_guest_outside_its_window(suite: SuiteId) -> None:
    """The lock applies the policy to authentic frames: a not-yet-valid guest is refused."""
    pair = pair_devices(suite, role=Role.GUEST)
    record = pair.registry.get(pair.controller.key_id)
    assert record is not None
    record.valid_from_ms = T0 + HOUR
    record.valid_until_ms = T0 + 2 * HOUR
    early = pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0)
    with pytest.raises(UnauthorizedError) as info:
        pair.lock_ep.open(early, T0)
    assert info.value.message.kind is MessageKind.UNLOCK
    record.valid_from_ms = 0
    record.valid_until_ms = 0  # no end date: still refused
    again = pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0)
    with pytest.raises(UnauthorizedError):
        pair.lock_ep.open(again, T0)
