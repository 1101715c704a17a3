"""Opening and withdrawing invitations from Home Assistant (actions and options)."""

from __future__ import annotations

from datetime import timedelta

from .controller import LockClient
from .controller.invitations import IssuedInvitation
from .coordinator import SecureLockCoordinator
from .protocol import Role


async def async_create_invitation(
    coordinator: SecureLockCoordinator, role: Role, valid_for: timedelta | None
) -> IssuedInvitation:
    """Have the lock open a one-time invitation; return the code to hand out.

    The window is counted on the lock's clock, from now, so a Home Assistant
    whose clock is off does not shorten or stretch it.
    """
    return await coordinator.async_call(
        lambda client: _open_invitation(client, role, valid_for)
    )


async def async_revoke_invitation(
    coordinator: SecureLockCoordinator, invitation_id: bytes
) -> None:
    """Withdraw an invitation that was not used yet."""
    await coordinator.async_call(lambda client: client.revoke_invitation(invitation_id))


async def _open_invitation(
    client: LockClient, role: Role, valid_for: timedelta | None
) -> IssuedInvitation:
    now_ms = client.endpoint.lock_time()
    until_ms = now_ms + int(valid_for.total_seconds() * 1000) if valid_for else 0
    return await client.create_invitation(
        role, valid_from_ms=now_ms if until_ms else 0, valid_until_ms=until_ms
    )
