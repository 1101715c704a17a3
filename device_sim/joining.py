"""Who may join the lock, and joins not yet final: invitations and the fail-safe.

A lock in factory state accepts the label's setup code (with the button).
Once it has a controller, only an admin lets anyone else in: by a one-time
invitation (`Invitation`) or by registering a public key directly.

A pairing that succeeded is only provisional (`PendingJoin`) until the new
controller's first authenticated frame: its result can be lost on the way,
and a controller that never learned it was paired must not leave a record
behind (least of all an admin nobody can remove).  When the fail-safe time
passes without that frame, the record is dropped and an invitation it used
becomes usable again until its own expiry (as Matter's commissioning
fail-safe does).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from custom_components.secure_lock.protocol.messages import (
    MAX_INVITATION_TTL_MS,
    NO_CONTROLLER,
    InvitationCreate,
    JoinMethod,
)
from custom_components.secure_lock.protocol.pairing import LABEL_GRANT, PairingOffer
from custom_components.secure_lock.protocol.roles import Role
from custom_components.secure_lock.protocol.setup_code import CodeSecret
from custom_components.secure_lock.protocol.spake2plus import ProverSecret

FAILSAFE_MS = 120_000
"""How long a new controller has to send its first authenticated frame."""
MAX_OPEN_INVITATIONS = 4


class InvitationRefused(Exception):
    """An invitation request the lock will not carry out; the message is for the admin."""


@dataclass(frozen=True, slots=True)
class Invitation:
    """A one-time way in that an admin created."""

    invitation_id: bytes
    secret: CodeSecret = field(repr=False)
    role: Role
    valid_from_ms: int
    valid_until_ms: int
    expires_at_ms: int
    created_by: bytes
    created_by_name: str
    redeemed_by: bytes | None = None
    """The controller whose join it is pending for (usable by nobody else meanwhile)."""

    def offer(self) -> PairingOffer:
        """Return what pairing accepts for it."""
        return PairingOffer(
            self.invitation_id,
            self.secret,
            self.role,
            self.valid_from_ms,
            self.valid_until_ms,
        )

    def to_json(self) -> dict[str, Any]:
        """Serialize (sealed with the rest of the state)."""
        return {
            "id": self.invitation_id.hex(),
            "discriminator": self.secret.discriminator,
            "w0w1": self.secret.prover.to_bytes().hex(),
            "role": int(self.role),
            "valid_from": self.valid_from_ms,
            "valid_until": self.valid_until_ms,
            "expires_at": self.expires_at_ms,
            "created_by": self.created_by.hex(),
            "created_by_name": self.created_by_name,
            "redeemed_by": self.redeemed_by.hex() if self.redeemed_by else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Invitation | None:
        """Load a stored invitation; None for one made before short codes."""
        if "w0w1" not in data:
            # Its long code cannot pair any more; it would expire within
            # 15 minutes anyway.
            return None
        redeemed = data["redeemed_by"]
        return cls(
            bytes.fromhex(data["id"]),
            CodeSecret(
                int(data["discriminator"]),
                ProverSecret.from_bytes(bytes.fromhex(data["w0w1"])),
            ),
            Role(int(data["role"])),
            int(data["valid_from"]),
            int(data["valid_until"]),
            int(data["expires_at"]),
            bytes.fromhex(data["created_by"]),
            str(data["created_by_name"]),
            bytes.fromhex(redeemed) if redeemed else None,
        )


@dataclass(frozen=True, slots=True)
class PendingJoin:
    """A controller that paired but has not been heard from since."""

    controller_id: bytes
    deadline_ms: int
    method: JoinMethod
    grant_id: bytes = LABEL_GRANT
    invited_by: bytes = NO_CONTROLLER
    invited_by_name: str = ""

    def to_json(self) -> dict[str, Any]:
        """Serialize."""
        return {
            "controller": self.controller_id.hex(),
            "deadline": self.deadline_ms,
            "method": int(self.method),
            "grant": self.grant_id.hex(),
            "invited_by": self.invited_by.hex(),
            "invited_by_name": self.invited_by_name,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PendingJoin:
        """Load a stored pending join."""
        return cls(
            bytes.fromhex(data["controller"]),
            int(data["deadline"]),
            JoinMethod(int(data["method"])),
            bytes.fromhex(data["grant"]),
            bytes.fromhex(data["invited_by"]),
            str(data["invited_by_name"]),
        )


@dataclass(slots=True)
class JoinBook:
    """Open invitations and provisional joins; persisted in the lock's state."""

    invitations: dict[bytes, Invitation] = field(default_factory=dict)
    pending: dict[bytes, PendingJoin] = field(default_factory=dict)

    def purge_expired_invitations(self, now_ms: int) -> bool:
        """Forget unused invitations past their expiry; return whether any went."""
        expired = [
            i.invitation_id
            for i in self.invitations.values()
            if i.redeemed_by is None and now_ms >= i.expires_at_ms
        ]
        for invitation_id in expired:
            del self.invitations[invitation_id]
        return bool(expired)

    def offers_for(self, controller_id: bytes, now_ms: int) -> list[PairingOffer]:
        """Return the invitations ``controller_id`` may redeem now."""
        return [
            i.offer()
            for i in self.invitations.values()
            if now_ms < i.expires_at_ms
            and (i.redeemed_by is None or i.redeemed_by == controller_id)
        ]

    def has_unexpired_invitation(self, now_ms: int) -> bool:
        """Return whether any invitation has not expired, held ones included.

        A held invitation counts: its redeemer may still use it (and the
        fail-safe may free it for another try).
        """
        return any(now_ms < i.expires_at_ms for i in self.invitations.values())

    def blocks_label(self, controller_id: bytes) -> bool:
        """Return whether another controller's provisional join holds the label."""
        return any(
            p.method is JoinMethod.LABEL and p.controller_id != controller_id
            for p in self.pending.values()
        )

    def create(
        self,
        request: InvitationCreate,
        created_by: bytes,
        created_by_name: str,
        now_ms: int,
        label_discriminator: int,
    ) -> Invitation:
        """Record a new invitation, or raise InvitationRefused saying why not."""
        self.purge_expired_invitations(now_ms)
        if request.role is Role.GUEST and not request.valid_until_ms:
            raise InvitationRefused("guests need an end of validity")
        if request.valid_until_ms and request.valid_until_ms <= max(
            request.valid_from_ms, now_ms
        ):
            raise InvitationRefused("the access window has already ended")
        if not now_ms < request.expires_at_ms <= now_ms + MAX_INVITATION_TTL_MS:
            raise InvitationRefused("an invitation expires within 15 minutes")
        if request.invitation_id in self.invitations:
            raise InvitationRefused("invitation id already in use")
        if len(self.invitations) >= MAX_OPEN_INVITATIONS:
            raise InvitationRefused("too many open invitations")
        if request.secret.discriminator == label_discriminator or any(
            i.secret.discriminator == request.secret.discriminator
            for i in self.invitations.values()
        ):
            # A hello names its code by discriminator: two open codes may not share one.
            raise InvitationRefused(
                "another open code uses this discriminator; create the invitation again"
            )
        invitation = Invitation(
            request.invitation_id,
            request.secret,
            request.role,
            request.valid_from_ms,
            request.valid_until_ms,
            request.expires_at_ms,
            created_by,
            created_by_name,
        )
        self.invitations[invitation.invitation_id] = invitation
        return invitation

    def revoke(self, invitation_id: bytes) -> PendingJoin | None:
        """Withdraw an invitation; return the provisional join it let in, if any.

        Raise KeyError if there is no such invitation.
        """
        invitation = self.invitations.pop(invitation_id)
        if invitation.redeemed_by is None:
            return None
        return self.pending.pop(invitation.redeemed_by, None)

    def begin(
        self,
        controller_id: bytes,
        grant_id: bytes,
        now_ms: int,
        failsafe_ms: int = FAILSAFE_MS,
    ) -> PendingJoin:
        """Record a successful pairing as provisional, holding its invitation."""
        invitation = self.invitations.get(grant_id)
        if invitation is None:
            join = PendingJoin(controller_id, now_ms + failsafe_ms, JoinMethod.LABEL)
        else:
            self.invitations[grant_id] = replace(invitation, redeemed_by=controller_id)
            join = PendingJoin(
                controller_id,
                now_ms + failsafe_ms,
                JoinMethod.INVITATION,
                grant_id,
                invitation.created_by,
                invitation.created_by_name,
            )
        self.pending[controller_id] = join
        return join

    def commit(self, controller_id: bytes) -> PendingJoin | None:
        """Make a join final (its controller was heard from); use up its invitation."""
        join = self.pending.pop(controller_id, None)
        if join is not None:
            self.invitations.pop(join.grant_id, None)
        return join

    def expire(self, now_ms: int) -> list[PendingJoin]:
        """Drop provisional joins past the fail-safe; free their invitations."""
        expired = [p for p in self.pending.values() if now_ms >= p.deadline_ms]
        for join in expired:
            del self.pending[join.controller_id]
            invitation = self.invitations.get(join.grant_id)
            if invitation is not None:
                self.invitations[join.grant_id] = replace(invitation, redeemed_by=None)
        return expired

    def next_deadline(self) -> int | None:
        """Return when the next provisional join expires."""
        return min((p.deadline_ms for p in self.pending.values()), default=None)

    def to_json(self) -> dict[str, Any]:
        """Serialize."""
        return {
            "invitations": [i.to_json() for i in self.invitations.values()],
            "pending": [p.to_json() for p in self.pending.values()],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JoinBook:
        """Load; raises KeyError/ValueError/TypeError on a malformed record."""
        invitations = [Invitation.from_json(i) for i in data["invitations"]]
        pending = [PendingJoin.from_json(p) for p in data["pending"]]
        return cls(
            {i.invitation_id: i for i in invitations if i is not None},
            {p.controller_id: p for p in pending},
        )
