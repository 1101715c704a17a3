"""Invitations an admin hands out: a one-time setup code for someone else.

The admin's controller makes the secret, sends it to the lock inside a sealed
request, and shows it to the invited person as a setup code (the same format
as the label's).  The invited controller pairs with it exactly as with a
label; the lock grants the role and window the admin chose, once, within the
invitation's own expiry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..protocol.messages import (
    INVITATION_ID_SIZE,
    INVITATION_SECRET_SIZE,
    MAX_INVITATION_TTL_MS,
    InvitationCreate,
)
from ..protocol.registry import PairedLock
from ..protocol.rng import Rng, system_rng
from ..protocol.roles import Role
from ..protocol.session import MAX_CLOCK_SKEW_MS
from ..protocol.setup_payload import SetupPayload

DEFAULT_INVITATION_TTL_MS = MAX_INVITATION_TTL_MS - MAX_CLOCK_SKEW_MS
"""Asked for with a margin, so a lock clock a few seconds behind ours still accepts it."""


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    """What the admin shows the invited person (the setup code is the secret)."""

    invitation_id: bytes
    setup: SetupPayload = field(repr=False)
    role: Role
    valid_from_ms: int
    valid_until_ms: int
    expires_at_ms: int


def new_invitation(
    lock: PairedLock,
    role: Role,
    lock_now_ms: int,
    *,
    valid_from_ms: int = 0,
    valid_until_ms: int = 0,
    ttl_ms: int = DEFAULT_INVITATION_TTL_MS,
    rng: Rng = system_rng,
) -> tuple[InvitationCreate, IssuedInvitation]:
    """Return the request for the lock and the invitation to hand out."""
    invitation_id = rng(INVITATION_ID_SIZE)
    secret = rng(INVITATION_SECRET_SIZE)
    expires_at = lock_now_ms + ttl_ms
    request = InvitationCreate(
        invitation_id, secret, role, valid_from_ms, valid_until_ms, expires_at
    )
    setup = SetupPayload(lock.lock_id, lock.bundle.identity.key_id, secret)
    issued = IssuedInvitation(
        invitation_id, setup, role, valid_from_ms, valid_until_ms, expires_at
    )
    return request, issued
