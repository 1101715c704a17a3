"""The lock's invitation rules (protocol.md section 7.1), one refusal at a time."""

from __future__ import annotations

import pytest

from custom_components.secure_lock.protocol import Role
from custom_components.secure_lock.protocol.messages import (
    MAX_INVITATION_TTL_MS,
    InvitationCreate,
)
from device_sim.joining import (
    FAILSAFE_MS,
    MAX_OPEN_INVITATIONS,
    InvitationRefused,
    JoinBook,
)
from tests.conftest import code_secret

NOW = 1_800_000_000_000
ADMIN = bytes(range(16))


def _request(number: int, **changes: int) -> InvitationCreate:
    fields = {
        "valid_from_ms": 0,
        "valid_until_ms": 0,
        "expires_at_ms": NOW + 60_000,
    } | changes
    return InvitationCreate(
        bytes([number]) * 16,
        code_secret(number % 60 + 1, number),
        Role.OPERATOR,
        fields["valid_from_ms"],
        fields["valid_until_ms"],
        fields["expires_at_ms"],
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"expires_at_ms": NOW + MAX_INVITATION_TTL_MS + 1}, "15 minutes"),
        ({"expires_at_ms": NOW}, "15 minutes"),
        ({"valid_until_ms": NOW - 1}, "already ended"),
    ],
)
def test_bad_invitations_are_refused_and_change_nothing(
    changes: dict[str, int], reason: str
) -> None:
    """Too long, already expired, or a window already over: refused, nothing stored."""
    book = JoinBook()
    with pytest.raises(InvitationRefused, match=reason):
        book.create(_request(1, **changes), ADMIN, "Admin", NOW, label_discriminator=0)
    assert book.invitations == {}


def test_guests_need_an_end_and_ids_are_not_reused() -> None:
    """A guest without an end, a reused id, and a fifth open invitation are refused."""
    book = JoinBook()
    guest = InvitationCreate(bytes(16), code_secret(2), Role.GUEST, 0, 0, NOW + 1000)
    with pytest.raises(InvitationRefused, match="guests"):
        book.create(guest, ADMIN, "Admin", NOW, label_discriminator=0)
    for number in range(MAX_OPEN_INVITATIONS):
        book.create(
            _request(number * 2 + 1), ADMIN, "Admin", NOW, label_discriminator=0
        )
    with pytest.raises(InvitationRefused, match="already in use"):
        book.create(_request(1), ADMIN, "Admin", NOW, label_discriminator=0)
    with pytest.raises(InvitationRefused, match="too many"):
        book.create(_request(99), ADMIN, "Admin", NOW, label_discriminator=0)
    assert len(book.invitations) == MAX_OPEN_INVITATIONS


def test_a_join_holds_its_invitation_until_final_or_failsafe() -> None:
    """Only its redeemer sees a held invitation; the fail-safe frees it, commit uses it up."""
    book = JoinBook()
    invitation = book.create(_request(1), ADMIN, "Admin", NOW, label_discriminator=0)
    joiner, other = b"\x0a" * 16, b"\x0b" * 16
    book.begin(joiner, invitation.invitation_id, NOW)
    assert book.offers_for(other, NOW) == []
    assert [o.grant_id for o in book.offers_for(joiner, NOW)] == [
        invitation.invitation_id
    ]
    assert book.expire(NOW + FAILSAFE_MS) != []
    assert [o.grant_id for o in book.offers_for(other, NOW)] == [
        invitation.invitation_id
    ]
    book.begin(other, invitation.invitation_id, NOW)
    assert book.commit(other) is not None
    assert book.invitations == {}
    assert book.pending == {}


def test_an_invitation_may_not_share_a_discriminator_with_an_open_code() -> None:
    """The label's or an open invitation's discriminator is refused: a hello names one code."""
    book = JoinBook()
    clash_with_label = _request(1)  # discriminator 2
    with pytest.raises(InvitationRefused, match="discriminator"):
        book.create(clash_with_label, ADMIN, "Admin", NOW, label_discriminator=2)
    assert book.invitations == {}
    book.create(_request(1), ADMIN, "Admin", NOW, label_discriminator=0)
    same = InvitationCreate(
        bytes([7]) * 16, code_secret(2, 7), Role.OPERATOR, 0, 0, NOW + 60_000
    )
    with pytest.raises(InvitationRefused, match="discriminator"):
        book.create(same, ADMIN, "Admin", NOW, label_discriminator=0)
    assert list(book.invitations) == [bytes([1]) * 16]
