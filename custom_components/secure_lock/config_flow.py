"""Pair Home Assistant with a Secure Lock: 11-digit code, button press, PAKE.

The 11-digit code is checked online by the lock (SPAKE2+), so it never
travels and a guess costs an attempt the lock counts; the QR text adds the
lock's id and key fingerprint, which pins the lock before anything is sent.
Errors say what to do: press the button, wait out a lockout, or stop because
the lock that answered is not the one on the label.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
import logging
from typing import Any

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    DurationSelector,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
import voluptuous as vol

from .const import (
    CONF_ADDRESS,
    CONF_BROKER_CA,
    CONF_BROKER_URL,
    CONF_LAN_URL,
    CONF_LOCK_ID,
    CONF_MODEL,
    CONF_PREFER,
    CONF_RELEASE_FOLDER,
    CONF_RELEASE_KEY,
    CONF_ROLE,
    CONF_SETUP_CODE,
    CONF_VALID_FOR,
    CONTROLLER_NAME,
    DEFAULT_MODEL,
    DOMAIN,
    PAIRING_TIMEOUT,
)
from .controller import (
    LinkUnavailable,
    NoLockFound,
    NoRelayAccount,
    PairingFailed,
    PairingTimedOut,
    confirm_pairing,
    pair_over_link,
)
from .controller.discovery import find_locks, pair_with_a_candidate
from .controller.invitations import IssuedInvitation
from .controller.links import (
    PATH_CHECK,
    BrokerSettings,
    LinkKind,
    LinkSettings,
    LinkSettingsError,
    LinkUse,
    check_ca_pem,
    lan_url,
    open_link,
    parse_broker_urls,
)
from .coordinator import SecureLockCoordinator
from .entry_data import (
    credential_data,
    link_data,
    paired_lock_from_entry,
    settings_from_data,
    stored_broker_urls,
)
from .errors import form_error
from .firmware_source import folder_problem
from .invitation_display import invitation_qr, invitation_response
from .invitations import async_create_invitation
from .issues import LockIssue, async_report_issue
from .keypad_flow import KeypadCodeSteps
from .protocol import (
    ControllerIdentity,
    ControllerPairingOutcome,
    ErrorCode,
    ProtocolError,
    Role,
    SetupCode,
    SetupCodeError,
)
from .protocol.firmware import ReleasePublicKey
from .protocol.pairing import UNKNOWN_LOCK
from .runtime import SecureLockConfigEntry
from .transport import TransportError
from .transport.link import FrameLink

_LOGGER = logging.getLogger(__name__)


_TEXT = TextSelector()
_PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
_PEM = TextSelector(TextSelectorConfig(multiline=True))


def _broker_schema(defaults: Mapping[str, Any]) -> dict[vol.Marker, Any]:
    return {
        vol.Required(
            CONF_BROKER_URL, default=defaults.get(CONF_BROKER_URL) or vol.UNDEFINED
        ): _TEXT,
        vol.Required(
            CONF_BROKER_CA, default=defaults.get(CONF_BROKER_CA) or vol.UNDEFINED
        ): _PEM,
        vol.Optional(
            CONF_USERNAME, default=defaults.get(CONF_USERNAME) or vol.UNDEFINED
        ): _TEXT,
        vol.Optional(CONF_PASSWORD): _PASSWORD,
    }


def _broker_from_input(user_input: Mapping[str, Any]) -> BrokerSettings:
    """Validate the broker fields; raise LinkSettingsError naming the bad one."""
    urls = parse_broker_urls(user_input[CONF_BROKER_URL])
    ca_pem = user_input[CONF_BROKER_CA].strip() + "\n"
    check_ca_pem(ca_pem)
    username = user_input.get(CONF_USERNAME) or None
    password = user_input.get(CONF_PASSWORD) or None
    if password is not None and username is None:
        raise LinkSettingsError(
            "password_needs_username", "a password needs a user name"
        )
    return BrokerSettings(urls, ca_pem, username, password)


class SecureLockConfigFlow(ConfigFlow, domain=DOMAIN):
    """Pair Home Assistant with a Secure Lock."""

    VERSION = 1

    def __init__(self) -> None:
        """Start with nothing known about the lock."""
        self._setup: SetupCode | None = None
        self._settings: LinkSettings | None = None
        self._discovered_lock_id: str | None = None
        self._discovered_url: str | None = None
        self._model = DEFAULT_MODEL
        # One key for every attempt of this flow, and the lock's answer once
        # it came: a retry finishes the same pairing instead of starting a
        # second one the lock would have to forget.
        self._identity: ControllerIdentity | None = None
        self._outcome: ControllerPairingOutcome | None = None

    @staticmethod
    @callback
    def async_get_options_flow(
        config_entry: SecureLockConfigEntry,
    ) -> SecureLockOptionsFlow:
        """Return the options flow."""
        return SecureLockOptionsFlow()

    # How to reach the lock ---------------------------------------------------

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask whether the lock is on this network or reached through a relay."""
        return self.async_show_menu(step_id="user", menu_options=["lan", "broker"])

    async def async_step_lan(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Take the lock's address on this network and its setup code."""
        errors: dict[str, str] = {}
        if user_input is not None:
            setup = self._parse_setup(user_input[CONF_SETUP_CODE], errors)
            url = None
            try:
                url = lan_url(user_input[CONF_ADDRESS])
            except LinkSettingsError:
                errors[CONF_ADDRESS] = "invalid_address"
            if setup is not None and url is not None:
                lock_id = UNKNOWN_LOCK
                if setup.pin is not None:
                    lock_id = setup.pin.lock_id
                    await self._async_claim(lock_id)
                settings = LinkSettings(lock_id, lan_url=url)
                if error := await _async_reachable(self, settings, LinkKind.LAN):
                    errors["base"] = error
                else:
                    return await self._async_ready(setup, settings)
        return self.async_show_form(
            step_id="lan",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(
                    {
                        vol.Required(CONF_ADDRESS): _TEXT,
                        vol.Required(CONF_SETUP_CODE): _TEXT,
                    }
                ),
                user_input,
            ),
            errors=errors,
        )

    async def async_step_broker(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Take the relay's address, its CA certificate, credentials and the setup code."""
        errors: dict[str, str] = {}
        if user_input is not None:
            setup = self._parse_setup(user_input[CONF_SETUP_CODE], errors)
            broker = None
            try:
                broker = _broker_from_input(user_input)
            except LinkSettingsError as err:
                errors[_field_of(err)] = form_error(err)
            if broker is not None and self._account_in_use(broker):
                # The broker takes the client id from the user name: two
                # entries on one account would push each other off the relay.
                errors[CONF_USERNAME] = "account_in_use"
            elif setup is not None and broker is not None:
                lock_id = UNKNOWN_LOCK
                if setup.pin is not None:
                    lock_id = setup.pin.lock_id
                    await self._async_claim(lock_id)
                settings = LinkSettings(lock_id, broker=broker, prefer=LinkKind.BROKER)
                if setup.pin is None and broker.username is None:
                    # The answers to a search by discriminator go to an account.
                    errors["base"] = "relay_needs_account"
                elif error := await _async_reachable(self, settings, LinkKind.BROKER):
                    errors["base"] = error
                else:
                    return await self._async_ready(setup, settings)
        schema = vol.Schema(
            {**_broker_schema({}), vol.Required(CONF_SETUP_CODE): _TEXT}
        )
        # Never sent back to the form: the password, nor a URL that carries one.
        hidden = {CONF_PASSWORD}
        if errors.get(CONF_BROKER_URL) == "broker_url_credentials":
            hidden.add(CONF_BROKER_URL)
        return self.async_show_form(
            step_id="broker",
            data_schema=self.add_suggested_values_to_schema(
                schema,
                {k: v for k, v in (user_input or {}).items() if k not in hidden},
            ),
            errors=errors,
        )

    # Discovery ---------------------------------------------------------------

    async def async_step_zeroconf(
        self, discovery_info: ZeroconfServiceInfo
    ) -> ConfigFlowResult:
        """Handle a lock that announced itself on this network."""
        lock_id = _lock_id_from_txt(discovery_info.properties.get(CONF_LOCK_ID))
        if lock_id is None:
            return self.async_abort(reason="not_secure_lock")
        address = f"{discovery_info.host}:{discovery_info.port}"
        url = lan_url(address)
        await self.async_set_unique_id(lock_id)
        # A known lock that moved: follow it (its keys prove it is the same).
        self._abort_if_unique_id_configured(updates={CONF_LAN_URL: url})
        self._report_replaced_locks(url, address, lock_id)
        self._discovered_lock_id = lock_id
        self._discovered_url = url
        self._model = str(discovery_info.properties.get(CONF_MODEL) or DEFAULT_MODEL)
        self.context["title_placeholders"] = {"name": _title(bytes.fromhex(lock_id))}
        return await self.async_step_zeroconf_confirm()

    @callback
    def _report_replaced_locks(self, url: str, address: str, lock_id: str) -> None:
        """Tell the user when a paired lock's address now announces another lock.

        The paired lock was reset or replaced, or another device answers at
        its address; either way Home Assistant keeps trusting only the keys it
        paired with, and the user should know why the lock stays unavailable.
        """
        for entry in self._async_current_entries(include_ignore=False):
            if (
                entry.unique_id is None
                or entry.data.get(CONF_LAN_URL) != url
                or entry.unique_id == lock_id
            ):
                continue
            async_report_issue(
                self.hass,
                LockIssue.LOCK_REPLACED,
                entry.unique_id,
                {"name": entry.title, "address": address},
                severity=ir.IssueSeverity.ERROR,
            )

    async def async_step_zeroconf_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the setup code of the discovered lock."""
        errors: dict[str, str] = {}
        assert self._discovered_lock_id is not None
        assert self._discovered_url is not None
        if user_input is not None:
            setup = self._parse_setup(user_input[CONF_SETUP_CODE], errors)
            if setup is not None and not _may_be(setup, self._discovered_lock_id):
                errors[CONF_SETUP_CODE] = "wrong_lock"
            elif setup is not None:
                settings = LinkSettings(
                    bytes.fromhex(self._discovered_lock_id),
                    lan_url=self._discovered_url,
                )
                return await self._async_ready(setup, settings)
        return self.async_show_form(
            step_id="zeroconf_confirm",
            data_schema=vol.Schema({vol.Required(CONF_SETUP_CODE): _TEXT}),
            description_placeholders={
                "name": _title(bytes.fromhex(self._discovered_lock_id))
            },
            errors=errors,
        )

    # Pairing -----------------------------------------------------------------

    async def async_step_pair(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Tell the user to press the lock's button, then run the signed pairing."""
        errors: dict[str, str] = {}
        assert self._setup is not None and self._settings is not None
        if user_input is not None:
            if self._identity is None:
                self._identity = await self.hass.async_add_executor_job(
                    ControllerIdentity.generate
                )
            identity = self._identity
            error = None
            try:
                outcome = await self._async_pair(identity)
            except PairingFailed as err:
                _LOGGER.info("Pairing refused: %s", err.code.value)
                error = form_error(err)
            except (
                PairingTimedOut,
                LinkUnavailable,
                NoLockFound,
                NoRelayAccount,
                TransportError,
            ) as err:
                error = form_error(err)
            if error is None:
                data = {
                    **link_data(self._settings),
                    **credential_data(identity, outcome.lock),
                    CONF_MODEL: self._model,
                }
                if self.source == SOURCE_REAUTH:
                    return self.async_update_reload_and_abort(
                        self._get_reauth_entry(), data=data
                    )
                return self.async_create_entry(
                    title=_title(outcome.lock.lock_id), data=data
                )
            errors["base"] = error
        return self.async_show_form(
            step_id="pair",
            description_placeholders={"name": self._lock_name()},
            errors=errors,
        )

    def _lock_name(self) -> str:
        """Return the lock's title once known (QR, discovery, reauth), else a plain name."""
        if self.unique_id is None:
            return "the lock"
        return _title(bytes.fromhex(self.unique_id))

    async def _async_pair(
        self, identity: ControllerIdentity
    ) -> ControllerPairingOutcome:
        """Pair (once per flow: a retry only confirms), then confirm the pairing."""
        assert self._setup is not None and self._settings is not None
        if self._outcome is None:
            outcome = await self._async_find_and_pair(identity, self._settings)
            lock_hex = outcome.lock.lock_id.hex()
            if self.unique_id is None:
                # Typed digits: the lock said who it is only by pairing.
                await self.async_set_unique_id(lock_hex)
                self._abort_if_unique_id_configured()
            elif self.unique_id != lock_hex:
                # Discovery or reauth named another lock than the one that
                # paired; unconfirmed, the lock forgets us after its fail-safe.
                raise PairingFailed(ErrorCode.WRONG_RECIPIENT, "another lock paired")
            self._outcome = outcome
            self._settings = replace(self._settings, lock_id=outcome.lock.lock_id)
        link = await self._async_open(self._settings, LinkUse(identity.key_id))
        try:
            await confirm_pairing(
                link, identity, self._outcome.lock, timeout=PAIRING_TIMEOUT
            )
        finally:
            await link.close()
        return self._outcome

    async def _async_find_and_pair(
        self, identity: ControllerIdentity, settings: LinkSettings
    ) -> ControllerPairingOutcome:
        if settings.lock_id != UNKNOWN_LOCK or settings.order()[0] is LinkKind.LAN:
            return await self._async_pair_once(identity, settings)
        # Typed digits through a relay: ask which locks have such a code.
        assert self._setup is not None and settings.broker is not None
        candidates = await find_locks(settings.broker, self._setup.discriminator)
        return await pair_with_a_candidate(
            candidates,
            lambda lock_id: self._async_pair_once(
                identity, replace(settings, lock_id=lock_id)
            ),
        )

    async def _async_pair_once(
        self, identity: ControllerIdentity, settings: LinkSettings
    ) -> ControllerPairingOutcome:
        assert self._setup is not None
        link = await self._async_open(settings, LinkUse(identity.key_id, pairing=True))
        try:
            return await pair_over_link(
                link, identity, self._setup, CONTROLLER_NAME, timeout=PAIRING_TIMEOUT
            )
        finally:
            await link.close()

    async def _async_open(self, settings: LinkSettings, use: LinkUse) -> FrameLink:
        return await open_link(
            settings,
            settings.order()[0],
            use,
            session=async_get_clientsession(self.hass),
        )

    # Re-pairing and reconfiguring ----------------------------------------------

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Pair again: the lock no longer accepts our key (revoked or reset)."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the setup code again; the entry and its entities stay."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            setup = self._parse_setup(user_input[CONF_SETUP_CODE], errors)
            if setup is not None and not _may_be(setup, entry.unique_id):
                errors[CONF_SETUP_CODE] = "wrong_lock"
            elif setup is not None:
                self._model = entry.data.get(CONF_MODEL, DEFAULT_MODEL)
                return await self._async_ready(
                    setup, settings_from_data(entry.data, entry.options)
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema({vol.Required(CONF_SETUP_CODE): _TEXT}),
            description_placeholders={"name": entry.title},
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change how the lock is reached; the keys and pairing stay."""
        entry = self._get_reconfigure_entry()
        current = settings_from_data(entry.data, entry.options)
        errors: dict[str, str] = {}
        if user_input is not None:
            settings = self._reconfigured(current, user_input, errors)
            if (
                settings is not None
                and settings.broker is not None
                and self._account_in_use(settings.broker, besides=entry.entry_id)
            ):
                errors[CONF_USERNAME] = "account_in_use"
            elif settings is not None:
                for kind in settings.order():
                    if error := await _async_reachable(self, settings, kind):
                        errors["base"] = error
                        break
                else:
                    return self.async_update_reload_and_abort(
                        entry, data_updates=link_data(settings)
                    )
        schema: dict[vol.Marker, Any] = {}
        if current.lan_url is not None:
            schema[vol.Required(CONF_ADDRESS, default=current.lan_url)] = _TEXT
        if current.broker is not None:
            schema.update(_broker_schema(entry.data))
        return self.async_show_form(
            step_id="reconfigure", data_schema=vol.Schema(schema), errors=errors
        )

    def _account_in_use(
        self, broker: BrokerSettings, *, besides: str | None = None
    ) -> bool:
        """Return whether another entry already reaches its lock with this broker account.

        A node in common means the same broker, whatever other nodes either lists.
        """
        if broker.username is None:
            return False
        return any(
            entry.entry_id != besides
            and entry.data.get(CONF_USERNAME) == broker.username
            and bool(set(stored_broker_urls(entry.data)) & set(broker.urls))
            for entry in self._async_current_entries(include_ignore=False)
        )

    @staticmethod
    def _reconfigured(
        current: LinkSettings, user_input: Mapping[str, Any], errors: dict[str, str]
    ) -> LinkSettings | None:
        lan = current.lan_url
        broker = current.broker
        try:
            if CONF_ADDRESS in user_input:
                lan = lan_url(user_input[CONF_ADDRESS])
            if CONF_BROKER_URL in user_input:
                merged = dict(user_input)
                if broker is not None and not merged.get(CONF_PASSWORD):
                    # An empty password field keeps the stored one.
                    merged[CONF_PASSWORD] = broker.password
                broker = _broker_from_input(merged)
        except LinkSettingsError as err:
            errors[_field_of(err)] = form_error(err)
            return None
        return LinkSettings(current.lock_id, lan, broker, current.prefer)

    # Helpers -----------------------------------------------------------------

    def _parse_setup(self, text: str, errors: dict[str, str]) -> SetupCode | None:
        try:
            return SetupCode.parse(text)
        except SetupCodeError:
            errors[CONF_SETUP_CODE] = "invalid_setup_code"
            return None

    async def _async_claim(self, lock_id: bytes) -> None:
        """One entry per lock: a second attempt for the same lock aborts."""
        await self.async_set_unique_id(lock_id.hex())
        self._abort_if_unique_id_configured()

    async def _async_ready(
        self, setup: SetupCode, settings: LinkSettings
    ) -> ConfigFlowResult:
        self._setup = setup
        self._settings = settings
        return await self.async_step_pair()


class SecureLockOptionsFlow(KeypadCodeSteps):
    """Settings, and (for an admin's entry) inviting someone and keypad codes."""

    _invitation: IssuedInvitation | None = None

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Offer the settings, and invitations when this entry is the lock's admin."""
        # The role is fixed at pairing; the record from pairing tells it.
        if paired_lock_from_entry(self.config_entry, None).role is not Role.ADMIN:
            return await self.async_step_settings()
        return self.async_show_menu(
            step_id="init", menu_options=["settings", "invite", "keypad_code"]
        )

    async def async_step_invite(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the role and how long it lasts; the lock makes it a one-time code."""
        errors: dict[str, str] = {}
        if user_input is not None:
            role = Role[user_input[CONF_ROLE].upper()]
            valid_for = (
                timedelta(**user_input[CONF_VALID_FOR])
                if user_input.get(CONF_VALID_FOR)
                else None
            )
            if role is Role.GUEST and valid_for is None:
                errors[CONF_VALID_FOR] = "guest_needs_validity"
            elif self.config_entry.state is not ConfigEntryState.LOADED:
                errors["base"] = "cannot_connect"
            else:
                coordinator: SecureLockCoordinator = self.config_entry.runtime_data.lock
                try:
                    self._invitation = await async_create_invitation(
                        coordinator, role, valid_for
                    )
                except HomeAssistantError:
                    errors["base"] = "invitation_failed"
                else:
                    return await self.async_step_invitation()
        return self.async_show_form(
            step_id="invite",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(
                    {
                        vol.Required(CONF_ROLE): SelectSelector(
                            SelectSelectorConfig(
                                options=[r.name.lower() for r in Role],
                                translation_key=CONF_ROLE,
                            )
                        ),
                        vol.Optional(CONF_VALID_FOR): DurationSelector(),
                    }
                ),
                user_input or {CONF_ROLE: Role.GUEST.name.lower()},
            ),
            errors=errors,
        )

    async def async_step_invitation(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the code and its QR once; Home Assistant keeps neither."""
        invitation = self._invitation
        if user_input is not None or invitation is None:
            self._invitation = None
            return self.async_abort(reason="invitation_shown")
        shown = invitation_response(invitation)
        return self.async_show_form(
            step_id="invitation",
            description_placeholders={
                "setup_code": shown["setup_code"],
                "qr": invitation_qr(invitation),
                "role": shown["role"],
                "expires_at": shown["expires_at"],
            },
        )

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the preferred path and the firmware release source."""
        settings = settings_from_data(self.config_entry.data, self.config_entry.options)
        errors: dict[str, str] = {}
        if user_input is not None:
            options, errors = await self._async_validate(user_input)
            if not errors:
                return self.async_create_entry(data=options)
        fields: dict[vol.Marker, Any] = {}
        if len(settings.order()) > 1:
            fields[vol.Required(CONF_PREFER, default=settings.prefer.value)] = (
                SelectSelector(
                    SelectSelectorConfig(
                        options=[kind.value for kind in LinkKind],
                        translation_key=CONF_PREFER,
                    )
                )
            )
        fields[vol.Optional(CONF_RELEASE_FOLDER)] = TextSelector()
        fields[vol.Optional(CONF_RELEASE_KEY)] = TextSelector(
            TextSelectorConfig(multiline=True)
        )
        return self.async_show_form(
            step_id="settings",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(fields), user_input or self.config_entry.options
            ),
            errors=errors,
        )

    async def _async_validate(
        self, user_input: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Return the options to store, or errors; both release fields or neither."""
        options = {
            key: value
            for key, value in user_input.items()
            if key not in (CONF_RELEASE_FOLDER, CONF_RELEASE_KEY)
        }
        folder = str(user_input.get(CONF_RELEASE_FOLDER, "")).strip()
        key_text = str(user_input.get(CONF_RELEASE_KEY, "")).strip()
        if not folder and not key_text:
            return options, {}
        if not folder or not key_text:
            return options, {"base": "release_source_incomplete"}
        errors: dict[str, str] = {}
        problem = await self.hass.async_add_executor_job(folder_problem, folder)
        if problem is not None:
            errors[CONF_RELEASE_FOLDER] = problem
        try:
            key = ReleasePublicKey.from_text(key_text)
        except ProtocolError:
            errors[CONF_RELEASE_KEY] = "invalid_release_key"
        else:
            options[CONF_RELEASE_KEY] = key.to_text()
        options[CONF_RELEASE_FOLDER] = folder
        return options, errors


async def _async_reachable(
    flow: ConfigFlow, settings: LinkSettings, kind: LinkKind
) -> str | None:
    """Open and close one path; return an error key if the lock is not reachable."""
    try:
        link = await open_link(
            settings, kind, PATH_CHECK, session=async_get_clientsession(flow.hass)
        )
    except TransportError as err:
        return form_error(err)
    await link.close()
    return None


def _field_of(err: LinkSettingsError) -> str:
    return {
        "invalid_broker_url": CONF_BROKER_URL,
        "broker_url_credentials": CONF_BROKER_URL,
        "broker_url_repeated": CONF_BROKER_URL,
        "invalid_ca": CONF_BROKER_CA,
        "invalid_address": CONF_ADDRESS,
        "password_needs_username": CONF_USERNAME,
    }.get(err.key, "base")


def _lock_id_from_txt(value: object) -> str | None:
    """Return the announced lock id as lower-case hex, or None if it is not one."""
    text = str(value or "").lower()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return None
    return text if len(raw) == 16 else None


def _may_be(code: SetupCode, lock_id_hex: str | None) -> bool:
    """Return whether ``code`` could be for this lock (only a QR says which lock)."""
    return code.pin is None or code.pin.lock_id.hex() == lock_id_hex


def _title(lock_id: bytes) -> str:
    return f"Secure Lock {lock_id.hex()[:8]}"
