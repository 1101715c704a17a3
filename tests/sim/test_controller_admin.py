"""An admin's controller and invitation requests the lock refuses, and what a refusal leaves."""

from __future__ import annotations

import pytest

from custom_components.secure_lock.controller import CommandRefused, pair_over_link
from custom_components.secure_lock.protocol import ControllerIdentity, ResultCode, Role

from .lock_rig import Rig


async def test_a_guest_without_an_end_of_validity_is_not_added(rig: Rig) -> None:
    """A guest key registered directly needs an end; the registry does not change."""
    admin = await rig.pair()
    guest = ControllerIdentity.generate(now_ms=rig.now_ms())
    with pytest.raises(CommandRefused) as err:
        await admin.add_controller(guest.public_bundle(), "Cleaner", Role.GUEST)
    assert err.value.code is ResultCode.INVALID_REQUEST
    assert err.value.result.reason == "guests need an end of validity"
    assert rig.device.state.registry.get(guest.key_id) is None
    await admin.close()


async def test_a_key_already_paired_is_not_added_again(rig: Rig) -> None:
    """Registering a paired key again (say, with a wider role) is refused; its role stays."""
    admin = await rig.pair()
    operator = await rig.pair("Operator", Role.OPERATOR)
    with pytest.raises(CommandRefused) as err:
        await admin.add_controller(
            operator.identity.public_bundle(), "Operator", Role.ADMIN
        )
    assert err.value.code is ResultCode.INVALID_REQUEST
    assert err.value.result.reason == "controller already paired"
    record = rig.device.state.registry.get(operator.identity.key_id)
    assert record is not None
    assert record.role is Role.OPERATOR
    await operator.close()
    await admin.close()


async def test_removing_an_unknown_controller_is_not_found(rig: Rig) -> None:
    """A key the lock never had cannot be removed; nothing is written as if it were."""
    admin = await rig.pair()
    stranger = ControllerIdentity.generate(now_ms=rig.now_ms())
    with pytest.raises(CommandRefused) as err:
        await admin.remove_controller(stranger.key_id)
    assert err.value.code is ResultCode.NOT_FOUND
    assert err.value.result.reason == "no such controller"
    assert rig.device.state.registry.get(stranger.key_id) is None
    await admin.close()


async def test_revoking_an_invitation_drops_the_join_it_let_in_before_final(
    rig: Rig,
) -> None:
    """Paired by the invitation but not heard from yet: revoking it removes that controller."""
    admin = await rig.pair()
    invitation = await admin.create_invitation(Role.OPERATOR)
    joiner = ControllerIdentity.generate(now_ms=rig.now_ms())
    # Paired, but no authenticated frame yet: the join is provisional.
    await pair_over_link(
        rig.hub.attach(), joiner, invitation.code, "Joiner", clock=rig.now_ms
    )
    assert joiner.key_id in rig.device.state.joins.pending
    assert rig.device.state.registry.get(joiner.key_id) is not None

    await admin.revoke_invitation(invitation.invitation_id)
    assert rig.device.state.registry.get(joiner.key_id) is None
    assert joiner.key_id not in rig.device.state.joins.pending
    assert invitation.invitation_id not in rig.device.state.joins.invitations
    await admin.close()
