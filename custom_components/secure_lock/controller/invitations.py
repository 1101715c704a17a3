"""Invitations an admin hands out: a one-time setup code for someone else.

The admin's controller makes a fresh code (the label's format: 11 digits or
a QR), sends the lock only the code's discriminator and SPAKE2+ ``w0, w1``
inside a sealed request, and shows the code to the invited person.  The
invited controller pairs with it exactly as with a label; the lock grants
the role and window the admin chose, once, within the invitation's expiry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..protocol.messages import (
    INVITATION_ID_SIZE,
    MAX_INVITATION_TTL_MS,
    InvitationCreate,
)
from ..protocol.registry import PairedLock
from ..protocol.rng import Rng, system_rng
from ..protocol.roles import Role
from ..protocol.session import MAX_CLOCK_SKEW_MS
from ..protocol.setup_code import (
    DISCRIMINATOR_BITS,
    LockPin,
    SetupCode,
    discriminator_of,
)

DEFAULT_INVITATION_TTL_MS = MAX_INVITATION_TTL_MS - MAX_CLOCK_SKEW_MS
"""Asked for with a margin, so a lock clock a few seconds behind ours still accepts it."""


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    """What the admin shows the invited person (the setup code is the secret)."""

    invitation_id: bytes
    code: SetupCode = field(repr=False)
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
    """Return the request for the lock and the invitation to hand out.

    Blocks for the code's scrypt (about 0.15 s): call it off an event loop.
    The code's discriminator is never the label's, so the lock can tell
    which code a hello means.
    """
    invitation_id = rng(INVITATION_ID_SIZE)
    label = discriminator_of(lock.lock_id)
    discriminator = label
    while discriminator == label:
        discriminator = rng(1)[0] >> (8 - DISCRIMINATOR_BITS)
    pin = LockPin(lock.lock_id, lock.bundle.identity.key_id)
    code = SetupCode.generate(pin, discriminator, rng)
    expires_at = lock_now_ms + ttl_ms
    request = InvitationCreate(
        invitation_id,
        code.secret_for(lock.lock_id),
        role,
        valid_from_ms,
        valid_until_ms,
        expires_at,
    )
    issued = IssuedInvitation(
        invitation_id, code, role, valid_from_ms, valid_until_ms, expires_at
    )
    return request, issued
