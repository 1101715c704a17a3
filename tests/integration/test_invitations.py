"""Sharing access from Home Assistant: invitations, join notices, factory reset.

A real simulated lock on the LAN, a real second controller (the client
library, as a second Home Assistant or the command-line client would use it).
"""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Context, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
)

from custom_components.secure_lock.const import DOMAIN, EVENT_CONTROLLER_JOINED
from custom_components.secure_lock.controller import (
    PairingFailed,
    PairingTimedOut,
    confirm_pairing,
    pair_over_link,
)
from custom_components.secure_lock.entry_data import credential_data
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    ErrorCode,
    Role,
    SetupCode,
)
from tests.sim.helpers import lan_link

from .conftest import SimLock, pair_controller

LOCK = "lock.front_door"


async def _join(lock: SimLock, code: str, name: str) -> Role:
    """Pair and confirm a new controller with ``code``; return the role granted."""
    identity = ControllerIdentity.generate()
    async with lan_link(lock.lan_url) as link:
        outcome = await pair_over_link(
            link,
            identity,
            SetupCode.parse(code),
            name,
            timeout=3,
            retransmit_interval=0.2,
        )
        await confirm_pairing(link, identity, outcome.lock, timeout=5)
    return outcome.role


async def _invite(
    hass: HomeAssistant, entry: MockConfigEntry, user: MockUser, **data: object
) -> dict[str, object]:
    response = await hass.services.async_call(
        DOMAIN,
        "create_invitation",
        {"config_entry_id": entry.entry_id, **data},
        blocking=True,
        return_response=True,
        context=Context(user_id=user.id),
    )
    assert response is not None
    return dict(response)


async def test_invitation_from_home_assistant_lets_one_controller_join(
    hass: HomeAssistant,
    hass_admin_user: MockUser,
    sim_lock: SimLock,
    init_integration: MockConfigEntry,
) -> None:
    """An admin's invitation admits one guest with its window; Home Assistant is told.

    The code is only in the answer: nothing Home Assistant stores contains it.
    """
    joined = async_capture_events(hass, EVENT_CONTROLLER_JOINED)
    invitation = await _invite(
        hass, init_integration, hass_admin_user, role="guest", valid_for={"hours": 2}
    )
    code = str(invitation["setup_code"])
    assert invitation["role"] == "guest"
    assert str(invitation["qr_text"]).startswith("SECURELOCK:")
    parsed = SetupCode.parse(code)
    prover = parsed.secret_for(bytes.fromhex(sim_lock.lock_id)).prover
    stored = repr((init_integration.data, init_integration.options))
    for secret in (
        code,
        code.replace("-", ""),
        str(invitation["qr_text"]),
        str(parsed.passcode),
        prover.w0.hex(),
        prover.w1.hex(),
    ):
        assert secret not in stored

    assert await _join(sim_lock, code, "Cleaner") is Role.GUEST
    await hass.async_block_till_done()
    activity = hass.states.get("event.front_door_activity")
    assert activity is not None
    assert activity.attributes["event_type"] == "controller_joined"
    assert (
        activity.attributes["name"],
        activity.attributes["role"],
        activity.attributes["method"],
        activity.attributes["invited_by"],
    ) == ("Cleaner", "guest", "invitation", "Home Assistant")
    assert len(joined) == 1
    assert joined[0].data | {"controller_id": ""} == {
        "config_entry_id": init_integration.entry_id,
        "lock": init_integration.title,
        "controller_id": "",
        "name": "Cleaner",
        "role": "guest",
        "method": "invitation",
        "invited_by": "Home Assistant",
    }
    record = next(
        r
        for r in sim_lock.device.state.registry.records.values()
        if r.name == "Cleaner"
    )
    assert record.valid_until_ms - record.valid_from_ms == 2 * 3_600_000

    # Used once: the same code admits nobody else.
    with pytest.raises((PairingFailed, PairingTimedOut)):
        await _join(sim_lock, code, "Someone else")
    assert len(joined) == 1


async def test_revoked_invitation_admits_nobody(
    hass: HomeAssistant,
    hass_admin_user: MockUser,
    sim_lock: SimLock,
    init_integration: MockConfigEntry,
) -> None:
    """Taken back before use: the code opens nothing; a second revoke says not found."""
    invitation = await _invite(hass, init_integration, hass_admin_user, role="operator")
    call = {
        "config_entry_id": init_integration.entry_id,
        "invitation_id": invitation["invitation_id"],
    }
    await hass.services.async_call(
        DOMAIN,
        "revoke_invitation",
        call,
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    with pytest.raises((PairingFailed, PairingTimedOut)):
        await _join(sim_lock, str(invitation["setup_code"]), "Late")
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            DOMAIN,
            "revoke_invitation",
            call,
            blocking=True,
            context=Context(user_id=hass_admin_user.id),
        )


async def test_options_show_the_invitation_once(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """Configure → Invite someone: the code and its QR image once, then nothing kept."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "invite"}
    )
    assert result["step_id"] == "invite"
    flow_id = result["flow_id"]
    result = await hass.config_entries.options.async_configure(
        flow_id, {"role": "guest"}
    )
    assert result["errors"] == {"valid_for": "guest_needs_validity"}
    result = await hass.config_entries.options.async_configure(
        flow_id, {"role": "operator"}
    )
    assert result["step_id"] == "invitation"
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["qr"].startswith("data:image/png;base64,")
    assert placeholders["role"] == "operator"
    code = placeholders["setup_code"]
    result = await hass.config_entries.options.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "invitation_shown"
    assert init_integration.options == {}
    assert init_integration.state is ConfigEntryState.LOADED
    assert await _join(sim_lock, code, "Phone") is Role.OPERATOR


async def test_label_code_refused_once_the_lock_has_an_owner(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """A second Home Assistant with the label and the button is told to ask for an invitation."""
    sim_lock.device.press_button()
    with pytest.raises(PairingFailed) as err:
        await _join(sim_lock, sim_lock.setup_code, "Intruder")
    assert err.value.code is ErrorCode.INVITATION_REQUIRED


async def test_factory_reset_asks_home_assistant_to_pair_again(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """After the long press the lock refuses Home Assistant, signed: a reauth flow opens.

    Pairing again with the label and the button then works (factory state).
    """
    sim_lock.device.factory_reset()
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "lock", "unlock", {"entity_id": LOCK}, blocking=True
        )
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [f["context"]["source"] for f in flows] == ["reauth"]
    assert sim_lock.device.mechanism.status.bolt.value == "locked"

    flow_id = flows[0]["flow_id"]
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"setup_code": sim_lock.setup_code}
    )
    assert result["step_id"] == "pair"
    sim_lock.device.press_button()
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    await hass.services.async_call("lock", "unlock", {"entity_id": LOCK}, blocking=True)
    assert sim_lock.device.mechanism.status.bolt.value == "unlocked"


async def test_join_is_described_in_the_logbook(hass: HomeAssistant) -> None:
    """The logbook line says who joined, as what, and through whose invitation."""
    from homeassistant.core import Event  # noqa: PLC0415

    from custom_components.secure_lock import logbook  # noqa: PLC0415

    described: dict[str, object] = {}

    def register(domain: str, event_type: str, describe: object) -> None:
        described[event_type] = describe

    logbook.async_describe_events(hass, register)  # type: ignore[arg-type]
    describe = described[EVENT_CONTROLLER_JOINED]
    data = {
        "lock": "Front door",
        "name": "Cleaner",
        "role": "guest",
        "method": "invitation",
        "invited_by": "Home Assistant",
    }
    assert describe(Event(EVENT_CONTROLLER_JOINED, data)) == {  # type: ignore[operator]
        "name": "Front door",
        "message": "Cleaner joined as guest with an invitation from Home Assistant",
    }
    label = data | {"method": "label", "role": "admin", "name": "Kitchen tablet"}
    assert describe(Event(EVENT_CONTROLLER_JOINED, label))["message"] == (  # type: ignore[operator]
        "Kitchen tablet joined as admin with the code on the lock's label"
    )


async def test_invite_step_reports_a_lock_that_does_not_answer(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A refusal or silence from the lock is a form error, and nothing is shown."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "invite"}
    )
    with patch(
        "custom_components.secure_lock.config_flow.async_create_invitation",
        side_effect=HomeAssistantError("no answer"),
    ):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"role": "operator"}
        )
    assert result["step_id"] == "invite"
    assert result["errors"] == {"base": "invitation_failed"}


async def test_operator_entry_has_no_invite_step(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """Only the lock's admin can invite: an operator's options open at the settings."""
    identity, outcome = await pair_controller(sim_lock, "Second HA")
    assert await hass.config_entries.async_remove(init_integration.entry_id)
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="operator",
        title="Operator view",
        data={**init_integration.data, **credential_data(identity, outcome.lock)},
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "settings"
