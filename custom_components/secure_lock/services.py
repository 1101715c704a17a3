"""Actions: manage who may use the lock, read its audit log, rotate keys.

The keypad's actions live in `keypad_services`; they are registered here,
with the same guards.

Every action here changes or reveals who may open the door or what it did,
so each is registered for Home Assistant admins only (`ADMIN_ACTIONS`); a
non-admin user gets `Unauthorized` before anything is sent to the lock.  The
lock checks its own roles on top (`_require_admin`, and the lock's refusal).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import timedelta
import time
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service
import voluptuous as vol

from .const import DOMAIN
from .coordinator import SecureLockCoordinator
from .invitation_display import invitation_response
from .invitations import async_create_invitation, async_revoke_invitation
from .keypad_services import KEYPAD_ACTIONS, KeypadHandler
from .protocol import ProtocolError, PublicKeyBundle, Role
from .runtime import SecureLockConfigEntry

ATTR_CONFIG_ENTRY_ID = "config_entry_id"
ATTR_BUNDLE = "bundle"
ATTR_NAME = "name"
ATTR_ROLE = "role"
ATTR_VALID_FOR = "valid_for"
ATTR_CONTROLLER_ID = "controller_id"
ATTR_SINCE = "since"

SERVICE_ADD_CONTROLLER = "add_controller"
SERVICE_REMOVE_CONTROLLER = "remove_controller"
SERVICE_LIST_CONTROLLERS = "list_controllers"
SERVICE_AUDIT_LOG = "get_audit_log"
SERVICE_ROTATE_KEYS = "rotate_keys"
SERVICE_CREATE_INVITATION = "create_invitation"
SERVICE_REVOKE_INVITATION = "revoke_invitation"
ATTR_INVITATION_ID = "invitation_id"

ADMIN_ACTIONS: frozenset[str] = frozenset(
    {
        SERVICE_ADD_CONTROLLER,
        SERVICE_REMOVE_CONTROLLER,
        SERVICE_LIST_CONTROLLERS,
        SERVICE_AUDIT_LOG,
        SERVICE_ROTATE_KEYS,
        SERVICE_CREATE_INVITATION,
        SERVICE_REVOKE_INVITATION,
        *KEYPAD_ACTIONS,
    }
)
"""Actions only Home Assistant admins may call: every action of this integration.

Who may open the door, what the lock did and the keys it trusts are an
owner's business (HomeKit and Matter let only admins manage pairings), so a
new action belongs here unless it reveals and changes none of that.
"""

_ENTRY = {vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string}
_ROLES = [role.name.lower() for role in Role]

ADD_SCHEMA = vol.Schema(
    {
        **_ENTRY,
        vol.Required(ATTR_BUNDLE): cv.string,
        vol.Required(ATTR_NAME): vol.All(cv.string, vol.Length(min=1, max=64)),
        vol.Required(ATTR_ROLE): vol.In(_ROLES),
        vol.Optional(ATTR_VALID_FOR): cv.positive_time_period,
    }
)
REMOVE_SCHEMA = vol.Schema({**_ENTRY, vol.Required(ATTR_CONTROLLER_ID): cv.string})
AUDIT_SCHEMA = vol.Schema(
    {**_ENTRY, vol.Optional(ATTR_SINCE, default=0): cv.positive_int}
)
ENTRY_SCHEMA = vol.Schema(_ENTRY)
INVITE_SCHEMA = vol.Schema(
    {
        **_ENTRY,
        vol.Required(ATTR_ROLE): vol.In(_ROLES),
        vol.Optional(ATTR_VALID_FOR): cv.positive_time_period,
    }
)
REVOKE_INVITATION_SCHEMA = vol.Schema(
    {**_ENTRY, vol.Required(ATTR_INVITATION_ID): cv.string}
)


def _coordinator(call: ServiceCall) -> SecureLockCoordinator:
    entry_id = call.data[ATTR_CONFIG_ENTRY_ID]
    entry: SecureLockConfigEntry | None = call.hass.config_entries.async_get_entry(
        entry_id
    )
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"name": entry.title},
        )
    return entry.runtime_data.lock


def _require_admin(coordinator: SecureLockCoordinator) -> None:
    # The lock refuses anyway; saying so before sending is clearer.
    if coordinator.paired_lock.role is not Role.ADMIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_admin",
            translation_placeholders={"name": coordinator.config_entry.title},
        )


def _hex(value: str, what: str) -> bytes:
    try:
        return bytes.fromhex(value.strip())
    except ValueError:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=f"invalid_{what}",
        ) from None


async def _add_controller(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call)
    _require_admin(coordinator)
    try:
        bundle = PublicKeyBundle.from_bytes(_hex(call.data[ATTR_BUNDLE], "bundle"))
    except ProtocolError:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="invalid_bundle"
        ) from None
    role = Role[call.data[ATTR_ROLE].upper()]
    valid_for: timedelta | None = call.data.get(ATTR_VALID_FOR)
    if role is Role.GUEST and valid_for is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="guest_needs_validity"
        )
    now_ms = time.time_ns() // 1_000_000
    until_ms = now_ms + int(valid_for.total_seconds() * 1000) if valid_for else 0
    await coordinator.async_call(
        lambda client: client.add_controller(
            bundle,
            call.data[ATTR_NAME],
            role,
            valid_from_ms=now_ms if until_ms else 0,
            valid_until_ms=until_ms,
        )
    )
    return {"controller_id": bundle.key_id.hex()}


async def _remove_controller(call: ServiceCall) -> None:
    coordinator = _coordinator(call)
    _require_admin(coordinator)
    controller_id = _hex(call.data[ATTR_CONTROLLER_ID], "controller_id")
    if len(controller_id) != 16:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="invalid_controller_id"
        )
    await coordinator.async_call(lambda client: client.remove_controller(controller_id))


async def _list_controllers(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call)
    _require_admin(coordinator)
    controllers = await coordinator.async_call(lambda client: client.list_controllers())
    own_id = coordinator.identity.key_id
    return {
        "controllers": [
            {
                "controller_id": entry.controller_id.hex(),
                "name": entry.name,
                "role": entry.role.name.lower(),
                "revoked": entry.revoked,
                "valid_from_ms": entry.valid_from_ms,
                "valid_until_ms": entry.valid_until_ms,
                "this_home_assistant": entry.controller_id == own_id,
            }
            for entry in controllers
        ]
    }


async def _audit_log(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call)
    entries = await coordinator.async_call(
        lambda client: client.audit_log(call.data[ATTR_SINCE])
    )
    return {
        "entries": [
            {
                "index": entry.index,
                "time_ms": entry.time_ms,
                "action": entry.kind.name.lower(),
                "source": entry.source.name.lower(),
                "result": entry.result.name.lower(),
                "controller_id": entry.controller_id.hex(),
            }
            for entry in entries
        ]
    }


async def _create_invitation(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call)
    _require_admin(coordinator)
    role = Role[call.data[ATTR_ROLE].upper()]
    valid_for: timedelta | None = call.data.get(ATTR_VALID_FOR)
    if role is Role.GUEST and valid_for is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="guest_needs_validity"
        )
    invitation = await async_create_invitation(coordinator, role, valid_for)
    # The setup code is the secret: it goes only into this response, to the
    # admin who asked, and is not kept anywhere in Home Assistant.
    return invitation_response(invitation)


async def _revoke_invitation(call: ServiceCall) -> None:
    coordinator = _coordinator(call)
    _require_admin(coordinator)
    invitation_id = _hex(call.data[ATTR_INVITATION_ID], "invitation_id")
    if len(invitation_id) != 16:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="invalid_invitation_id"
        )
    await async_revoke_invitation(coordinator, invitation_id)


async def _rotate_keys(call: ServiceCall) -> None:
    await _coordinator(call).rotation.async_rotate()


type _Handler = Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]


def _on_admins_lock(handler: KeypadHandler) -> _Handler:
    """Run ``handler`` on the called lock, once it is known to take admin requests."""

    async def run(call: ServiceCall) -> ServiceResponse:
        coordinator = _coordinator(call)
        _require_admin(coordinator)
        return await handler(coordinator, call)

    return run


@callback
def _register(
    hass: HomeAssistant,
    service: str,
    handler: _Handler,
    schema: vol.Schema,
    supports_response: SupportsResponse = SupportsResponse.NONE,
) -> None:
    if service not in ADMIN_ACTIONS:
        # No action is open to every user yet; adding one is a decision.
        raise ValueError(f"{service} is not in ADMIN_ACTIONS")
    async_register_admin_service(
        hass, DOMAIN, service, handler, schema, supports_response
    )


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions (once, for every entry), for admins only."""
    _register(
        hass,
        SERVICE_ADD_CONTROLLER,
        _add_controller,
        ADD_SCHEMA,
        SupportsResponse.OPTIONAL,
    )
    _register(hass, SERVICE_REMOVE_CONTROLLER, _remove_controller, REMOVE_SCHEMA)
    _register(
        hass,
        SERVICE_LIST_CONTROLLERS,
        _list_controllers,
        ENTRY_SCHEMA,
        SupportsResponse.ONLY,
    )
    _register(hass, SERVICE_AUDIT_LOG, _audit_log, AUDIT_SCHEMA, SupportsResponse.ONLY)
    _register(hass, SERVICE_ROTATE_KEYS, _rotate_keys, ENTRY_SCHEMA)
    _register(
        hass,
        SERVICE_CREATE_INVITATION,
        _create_invitation,
        INVITE_SCHEMA,
        SupportsResponse.ONLY,
    )
    _register(
        hass, SERVICE_REVOKE_INVITATION, _revoke_invitation, REVOKE_INVITATION_SCHEMA
    )
    for service, action in KEYPAD_ACTIONS.items():
        _register(
            hass,
            service,
            _on_admins_lock(action.handler),
            action.schema(_ENTRY),
            action.response,
        )
