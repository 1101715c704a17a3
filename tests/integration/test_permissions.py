"""Home Assistant users: only admins manage who may open the door or read what it did.

Every action of the integration, and the entity operations that change how
the lock behaves (auto-relock, firmware install), refuse a real non-admin
user with `Unauthorized` before anything reaches the lock.  The refusals are
checked for the ordinary non-admin user (who may control every entity) and
the read-only user, by a direct call and through the WebSocket API the
frontend uses, and an admin user's call goes through as a control.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, Unauthorized, UnknownUser
from homeassistant.helpers import service as service_helper
import pytest
from pytest_homeassistant_custom_component.common import (
    CLIENT_ID,
    MockConfigEntry,
    MockUser,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator
import yaml

from custom_components.secure_lock import services
from custom_components.secure_lock.const import CONF_IDENTITY, DOMAIN
from custom_components.secure_lock.protocol import ControllerIdentity

from .conftest import SimLock

SERVICES_YAML = (
    Path(__file__).parents[2] / "custom_components" / "secure_lock" / "services.yaml"
)
ACTIONS = sorted(yaml.safe_load(SERVICES_YAML.read_text(encoding="utf-8")))
NUMBER = "number.front_door_auto_relock"
NON_ADMINS = ["hass_user", "hass_read_only_user"]


def _data(action: str, entry: MockConfigEntry) -> dict[str, Any]:
    """Return valid data for each action: what an admin's call would carry out."""
    own_id = entry.runtime_data.lock.identity.key_id.hex()
    extra: dict[str, dict[str, Any]] = {
        "add_controller": {
            "bundle": ControllerIdentity.generate().public_bundle().to_bytes().hex(),
            "name": "Mine now",
            "role": "admin",
        },
        # Home Assistant's own controller: removing it would lock everyone out.
        "remove_controller": {"controller_id": own_id},
        "get_audit_log": {"since": 0},
        "create_invitation": {"role": "admin"},
        "revoke_invitation": {"invitation_id": "00" * 16},
        "set_keypad_code": {"slot": 0, "name": "Mine now", "generate_pin": True},
        "remove_keypad_code": {"slot": 0},
    }
    return {"config_entry_id": entry.entry_id, **extra.get(action, {})}


def _returns(action: str) -> bool:
    return action in (
        "list_controllers",
        "get_audit_log",
        "create_invitation",
        "set_keypad_code",
        "list_keypad_codes",
    )


def _lock_snapshot(lock: SimLock, entry: MockConfigEntry) -> tuple[object, ...]:
    """Return what any action would change: the lock's registry and keypad codes, our keys, our counter."""
    return (
        lock.device.state.registry.to_bytes(),
        lock.device.state.keypad.to_json(),
        entry.data[CONF_IDENTITY],
        entry.runtime_data.lock.paired_lock.last_sent_counter,
    )


def test_every_action_is_admin_only() -> None:
    """services.yaml and ADMIN_ACTIONS agree, invitations included."""
    assert set(ACTIONS) == services.ADMIN_ACTIONS
    assert {"create_invitation", "revoke_invitation"} <= set(ACTIONS)


@pytest.mark.usefixtures("init_integration")
async def test_every_registered_action_is_listed(hass: HomeAssistant) -> None:
    """No action is registered that the checks below do not cover."""
    assert set(hass.services.async_services_for_domain(DOMAIN)) == set(ACTIONS)


def test_an_action_outside_the_admin_set_is_not_registered(
    hass: HomeAssistant,
) -> None:
    """Opening an action to every user has to be a decision, not an accident."""
    with pytest.raises(ValueError, match="ADMIN_ACTIONS"):
        services._register(
            hass, "open_to_all", services._rotate_keys, services.ENTRY_SCHEMA
        )
    assert not hass.services.has_service(DOMAIN, "open_to_all")


@pytest.mark.parametrize("user_fixture", NON_ADMINS)
@pytest.mark.parametrize("action", ACTIONS)
async def test_non_admin_user_is_refused(
    hass: HomeAssistant,
    *,
    hass_user: MockUser,
    hass_read_only_user: MockUser,
    sim_lock: SimLock,
    init_integration: MockConfigEntry,
    action: str,
    user_fixture: str,
) -> None:
    """A non-admin user's call raises Unauthorized and nothing reaches the lock."""
    user = {"hass_user": hass_user, "hass_read_only_user": hass_read_only_user}[
        user_fixture
    ]
    assert not user.is_admin
    before = _lock_snapshot(sim_lock, init_integration)
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            action,
            _data(action, init_integration),
            blocking=True,
            context=Context(user_id=user.id),
            return_response=_returns(action),
        )
    await hass.async_block_till_done()
    assert _lock_snapshot(sim_lock, init_integration) == before


@pytest.mark.parametrize("action", ACTIONS)
async def test_admin_user_may(
    hass: HomeAssistant,
    hass_admin_user: MockUser,
    sim_lock: SimLock,
    init_integration: MockConfigEntry,
    action: str,
) -> None:
    """The same call by an admin user reaches the lock (the refusal is about the user)."""
    before = _lock_snapshot(sim_lock, init_integration)
    call = hass.services.async_call(
        DOMAIN,
        action,
        _data(action, init_integration),
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
        return_response=_returns(action),
    )
    if action in ("revoke_invitation", "remove_keypad_code"):
        # No such invitation or code: the lock itself says so (the call reached it).
        with pytest.raises(HomeAssistantError):
            await call
    else:
        await call
    assert _lock_snapshot(sim_lock, init_integration) != before


async def test_unknown_user_is_refused(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """A user id Home Assistant does not know is refused too."""
    before = _lock_snapshot(sim_lock, init_integration)
    with pytest.raises(UnknownUser):
        await hass.services.async_call(
            DOMAIN,
            "add_controller",
            _data("add_controller", init_integration),
            blocking=True,
            context=Context(user_id="no-such-user"),
        )
    assert _lock_snapshot(sim_lock, init_integration) == before


async def _user_token(hass: HomeAssistant, user: MockUser) -> str:
    refresh_token = await hass.auth.async_create_refresh_token(user, CLIENT_ID)
    return hass.auth.async_create_access_token(refresh_token)


async def _ws_call(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    token: str,
    action: str,
    entry: MockConfigEntry,
) -> dict[str, Any]:
    client = await hass_ws_client(hass, token)
    message: dict[str, Any] = {
        "type": "call_service",
        "domain": DOMAIN,
        "service": action,
        "service_data": _data(action, entry),
    }
    if _returns(action):
        message["return_response"] = True
    await client.send_json_auto_id(message)
    return await client.receive_json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("action", ACTIONS)
async def test_non_admin_user_is_refused_over_websocket(
    hass: HomeAssistant,
    *,
    hass_ws_client: WebSocketGenerator,
    hass_user: MockUser,
    sim_lock: SimLock,
    init_integration: MockConfigEntry,
    action: str,
) -> None:
    """The frontend's path (call_service with the user's own token) is refused too."""
    before = _lock_snapshot(sim_lock, init_integration)
    token = await _user_token(hass, hass_user)
    reply = await _ws_call(hass, hass_ws_client, token, action, init_integration)
    assert reply["success"] is False
    # call_service reports every HomeAssistantError alike; the message names it.
    assert reply["error"]["code"] == "home_assistant_error"
    assert reply["error"]["message"] == "Unauthorized"
    assert _lock_snapshot(sim_lock, init_integration) == before


async def test_admin_user_may_over_websocket(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    hass_access_token: str,
    init_integration: MockConfigEntry,
) -> None:
    """An admin's token gets the controller list over the same path."""
    reply = await _ws_call(
        hass, hass_ws_client, hass_access_token, "list_controllers", init_integration
    )
    assert reply["success"] is True
    assert reply["result"]["response"]["controllers"][0]["role"] == "admin"


async def _set_auto_relock(hass: HomeAssistant, value: int, user_id: str) -> None:
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": NUMBER, "value": value},
        blocking=True,
        context=Context(user_id=user_id),
    )


@pytest.mark.usefixtures("init_integration")
async def test_auto_relock_is_changed_by_admin_users_only(
    hass: HomeAssistant,
    hass_user: MockUser,
    hass_admin_user: MockUser,
    sim_lock: SimLock,
) -> None:
    """Entity control is not enough to turn auto-relock off; an admin may."""
    settings = sim_lock.device.state.settings
    await _set_auto_relock(hass, 30, hass_admin_user.id)
    assert settings.auto_relock_seconds == 30
    with pytest.raises(Unauthorized):
        await _set_auto_relock(hass, 0, hass_user.id)
    with pytest.raises(UnknownUser):
        await _set_auto_relock(hass, 0, "no-such-user")
    assert sim_lock.device.state.settings.auto_relock_seconds == 30
    assert hass.states.get(NUMBER).state == "30"  # type: ignore[union-attr]


def test_admin_service_helper_is_the_one_used() -> None:
    """The registration goes through Home Assistant's own admin check."""
    assert services.async_register_admin_service is (
        service_helper.async_register_admin_service
    )
