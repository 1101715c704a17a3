"""Default role policy: which message kinds each role may send to the lock."""

from __future__ import annotations

from .messages import MessageKind
from .roles import Role

_EVERYONE = frozenset(
    {
        MessageKind.LOCK,
        MessageKind.UNLOCK,
        MessageKind.OPEN,
        MessageKind.STATUS_REQUEST,
        MessageKind.KEY_ROTATION,
    }
)
# Operators may read where an update stands; only admins change firmware.
_OPERATOR = _EVERYONE | {
    MessageKind.TIME_SYNC,
    MessageKind.AUDIT_LOG_REQUEST,
    MessageKind.FIRMWARE_STATUS_REQUEST,
}
_ADMIN = _OPERATOR | {
    MessageKind.CONTROLLER_ADD,
    MessageKind.CONTROLLER_REMOVE,
    MessageKind.CONTROLLER_LIST,
    MessageKind.INVITATION_CREATE,
    MessageKind.INVITATION_REVOKE,
    MessageKind.SETTINGS,
    MessageKind.FIRMWARE_CHUNK,
    MessageKind.FIRMWARE_OFFER,
    MessageKind.FIRMWARE_INSTALL,
    MessageKind.KEYPAD_CODE_SET,
    MessageKind.KEYPAD_CODE_REMOVE,
    MessageKind.KEYPAD_CODE_LIST,
}

ROLE_PERMISSIONS: dict[Role, frozenset[MessageKind]] = {
    Role.ADMIN: _ADMIN,
    Role.OPERATOR: _OPERATOR,
    Role.GUEST: _EVERYONE,
}


def may_send(
    role: Role,
    kind: MessageKind,
    now_ms: int,
    valid_from_ms: int = 0,
    valid_until_ms: int = 0,
) -> bool:
    """Return whether ``role`` may send ``kind`` now; a zero bound means unbounded.

    Guests must always be inside their validity window; other roles are
    checked against it only when one is set.
    """
    if kind not in ROLE_PERMISSIONS[role]:
        return False
    if role is Role.GUEST and not valid_until_ms:
        return False
    if valid_from_ms and now_ms < valid_from_ms:
        return False
    return not (valid_until_ms and now_ms >= valid_until_ms)


def may_read_state(
    role: Role,
    revoked: bool,
    now_ms: int,
    valid_from_ms: int = 0,
    valid_until_ms: int = 0,
) -> bool:
    """Return whether a controller may learn the lock's state now.

    The same test as asking for it: a revoked controller, or a guest outside
    its window, gets no bolt or door state in refusals, events or heartbeats.
    """
    return not revoked and may_send(
        role, MessageKind.STATUS_REQUEST, now_ms, valid_from_ms, valid_until_ms
    )
