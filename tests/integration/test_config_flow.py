"""The pairing flow, step by step, against the real simulated lock (and broker)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_address
from unittest.mock import patch

from aiohttp import web
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    SOURCE_ZEROCONF,
    ConfigEntryState,
    ConfigFlowResult,
)
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.secure_lock.const import (
    CONF_ADDRESS,
    CONF_BROKER_CA,
    CONF_BROKER_URL,
    CONF_IDENTITY,
    CONF_LAN_URL,
    CONF_LOCK_ID,
    CONF_PREFER,
    CONF_SETUP_CODE,
    DOMAIN,
    UNAVAILABLE_AFTER,
)
from custom_components.secure_lock.controller.links import BrokerSettings
from custom_components.secure_lock.entry_data import link_data, settings_from_data
from custom_components.secure_lock.protocol import ControllerIdentity
from device_sim.broker import MosquittoBroker
from device_sim.pki import DevCertificateAuthority
from device_sim.ports import free_port
from tests.conftest import foreign_code, wrong_code
from tests.sim.helpers import wait_until

from .conftest import (
    BROKER_PASSWORD,
    BROKER_USER,
    SimLock,
    broker_settings,
    open_settings,
)


async def _start(hass: HomeAssistant, path: str) -> str:
    """Open the flow and choose LAN or broker in the menu; return the flow id."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["lan", "broker"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": path}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == path
    return result["flow_id"]


async def test_pair_over_lan(hass: HomeAssistant, sim_lock: SimLock) -> None:
    """Address, setup code, button press: the entry holds keys that work."""
    flow_id = await _start(hass, "lan")
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_ADDRESS: sim_lock.address, CONF_SETUP_CODE: sim_lock.setup_code}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "pair"

    sim_lock.device.press_button()
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == sim_lock.lock_id
    assert result["data"][CONF_LAN_URL] == sim_lock.lan_url
    assert result["title"] == f"Secure Lock {sim_lock.lock_id[:8]}"
    # The lock knows Home Assistant as its first controller, an admin.
    names = [r.name for r in sim_lock.device.state.registry.records.values()]
    assert names == ["Home Assistant"]
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_pair_accepts_the_qr_text(hass: HomeAssistant, sim_lock: SimLock) -> None:
    """The QR code's URI works wherever the typed code does."""
    flow_id = await _start(hass, "lan")
    uri = sim_lock.device.element.label_code.qr_text()
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_ADDRESS: sim_lock.address, CONF_SETUP_CODE: uri}
    )
    assert result["step_id"] == "pair"


async def test_typo_in_setup_code_and_bad_address(
    hass: HomeAssistant, sim_lock: SimLock
) -> None:
    """One wrong digit is caught by the check digit; bad input changes nothing."""
    flow_id = await _start(hass, "lan")
    code = sim_lock.setup_code
    typo = code[:2] + ("1" if code[2] != "1" else "2") + code[3:]
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_ADDRESS: "", CONF_SETUP_CODE: typo}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {
        CONF_SETUP_CODE: "invalid_setup_code",
        CONF_ADDRESS: "invalid_address",
    }
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_cannot_connect(hass: HomeAssistant, sim_lock: SimLock) -> None:
    """Nothing listens at the address: say so before asking for the button."""
    flow_id = await _start(hass, "lan")
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            CONF_ADDRESS: f"127.0.0.1:{free_port()}",
            CONF_SETUP_CODE: sim_lock.setup_code,
        },
    )
    assert result["errors"] == {"base": "cannot_connect"}
    assert result["step_id"] == "lan"


async def _at_pair_step(hass: HomeAssistant, lock: SimLock, code: str) -> str:
    flow_id = await _start(hass, "lan")
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_ADDRESS: lock.address, CONF_SETUP_CODE: code}
    )
    assert result["step_id"] == "pair"
    return flow_id


async def test_button_not_pressed(hass: HomeAssistant, sim_lock: SimLock) -> None:
    """Pairing mode is closed: the lock stays silent, the form says to press the button.

    Pressing it then works, with the same key the first attempt used.
    """
    flow_id = await _at_pair_step(hass, sim_lock, sim_lock.setup_code)
    generate = ControllerIdentity.generate
    with patch.object(ControllerIdentity, "generate", side_effect=generate) as made:
        # A short wait only for the attempt that must time out: the one after
        # the press gets the real budget (scrypt alone takes 0.15 s, more on
        # a loaded machine).
        with patch("custom_components.secure_lock.config_flow.PAIRING_TIMEOUT", 0.3):
            result = await hass.config_entries.flow.async_configure(flow_id, {})
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": "timeout"}

        sim_lock.device.press_button()
        result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # One key for every attempt of the flow, and the lock holds exactly it.
    assert made.call_count == 1
    key_id = ControllerIdentity.from_bytes(
        bytes.fromhex(result["result"].data[CONF_IDENTITY])
    ).key_id
    assert list(sim_lock.device.state.registry.records) == [key_id]
    assert sim_lock.device.state.joins.pending == {}
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(result["result"].entry_id)


def _forged_qr(lock: SimLock) -> str:
    """Return a QR text with this lock's id and code but another key's fingerprint."""
    real = lock.device.element.label_code
    assert real.pin is not None
    other = foreign_code().pin
    assert other is not None
    return replace(real, pin=replace(real.pin, fingerprint=other.fingerprint)).qr_text()


async def test_identity_mismatch_is_called_an_attack(
    hass: HomeAssistant, sim_lock: SimLock
) -> None:
    """The lock's key does not match the QR: refuse, and say it may be an attack."""
    flow_id = await _at_pair_step(hass, sim_lock, _forged_qr(sim_lock))
    sim_lock.device.press_button()
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["errors"] == {"base": "identity_mismatch"}
    assert not sim_lock.device.state.registry.records


async def test_wrong_secret_then_lockout(
    hass: HomeAssistant, sim_lock: SimLock
) -> None:
    """A wrong code is refused; after five the lock locks pairing out."""
    wrong = wrong_code(sim_lock.device.element.label_code).manual_code()
    flow_id = await _at_pair_step(hass, sim_lock, wrong)
    sim_lock.device.press_button()
    for _ in range(5):
        result = await hass.config_entries.flow.async_configure(flow_id, {})
        assert result["errors"] == {"base": "wrong_setup_code"}
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["errors"] == {"base": "pairing_locked_out"}
    assert not sim_lock.device.state.registry.records


async def test_silent_lock_times_out(hass: HomeAssistant, sim_lock: SimLock) -> None:
    """A device that accepts the connection but never answers: a timeout, not a hang."""
    silent = web.Application()

    async def ignore(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for _message in ws:
            pass
        return ws

    silent.router.add_get("/securelock/v1", ignore)
    runner = web.AppRunner(silent)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        flow_id = await _start(hass, "lan")
        result = await hass.config_entries.flow.async_configure(
            flow_id,
            {CONF_ADDRESS: f"127.0.0.1:{port}", CONF_SETUP_CODE: sim_lock.setup_code},
        )
        with patch("custom_components.secure_lock.config_flow.PAIRING_TIMEOUT", 0.3):
            result = await hass.config_entries.flow.async_configure(flow_id, {})
        assert result["errors"] == {"base": "timeout"}
    finally:
        await runner.cleanup()


async def test_lock_gone_before_pairing(hass: HomeAssistant, sim_lock: SimLock) -> None:
    """The lock disappears between the steps: cannot connect, no entry."""
    flow_id = await _at_pair_step(hass, sim_lock, sim_lock.setup_code)
    await sim_lock.runtime.stop()
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["errors"] == {"base": "cannot_connect"}


async def test_same_lock_twice_aborts(
    hass: HomeAssistant, sim_lock: SimLock, paired_entry: MockConfigEntry
) -> None:
    """One entry per lock: the QR names it at once, typed digits once it answers."""
    flow_id = await _start(hass, "lan")
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_ADDRESS: sim_lock.address, CONF_SETUP_CODE: sim_lock.qr_text}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    # Typed digits: the lock is known once it answers, and it has an owner.
    flow_id = await _at_pair_step(hass, sim_lock, sim_lock.setup_code)
    sim_lock.device.press_button()
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["errors"] == {"base": "invitation_required"}
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_typed_digits_pair_and_name_the_lock_afterwards(
    hass: HomeAssistant, sim_lock: SimLock
) -> None:
    """The 11 digits alone: the pair step cannot name the lock; the entry can."""
    flow_id = await _start(hass, "lan")
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {CONF_ADDRESS: sim_lock.address, CONF_SETUP_CODE: sim_lock.setup_code},
    )
    assert result["step_id"] == "pair"
    assert result["description_placeholders"] == {"name": "the lock"}
    sim_lock.device.press_button()
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == sim_lock.lock_id
    assert result["title"] == f"Secure Lock {sim_lock.lock_id[:8]}"
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(result["result"].entry_id)


# Relay ---------------------------------------------------------------------


def _broker_input(
    broker: MosquittoBroker, lock: SimLock, **changes: str
) -> dict[str, str]:
    values = {
        CONF_BROKER_URL: f"mqtts://127.0.0.1:{broker.controller_port}",
        CONF_BROKER_CA: broker.ca_file.read_text(encoding="utf-8"),
        CONF_USERNAME: BROKER_USER,
        CONF_PASSWORD: BROKER_PASSWORD,
        CONF_SETUP_CODE: lock.qr_text,
    }
    values.update(changes)
    return values


async def test_pair_through_the_relay(
    hass: HomeAssistant, broker: MosquittoBroker, broker_lock: SimLock
) -> None:
    """A lock reached only through the broker pairs by its 11 digits and works.

    The relay finds it by the code's discriminator; no QR, no lock id typed.
    """
    flow_id = await _start(hass, "broker")
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        _broker_input(broker, broker_lock, **{CONF_SETUP_CODE: broker_lock.setup_code}),
    )
    assert result["step_id"] == "pair"
    broker_lock.device.press_button()
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_LAN_URL] is None
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.lock.link_kind.value == "broker"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_pair_through_a_relay_with_several_nodes(
    hass: HomeAssistant, broker: MosquittoBroker, broker_lock: SimLock
) -> None:
    """Several URLs between commas: the first node is down, the next one pairs and serves.

    The entry keeps the list as entered (normalised), first node first.
    """
    urls = (
        f"mqtts://127.0.0.1:{free_port()}",
        f"mqtts://127.0.0.1:{broker.controller_port}",
    )
    flow_id = await _start(hass, "broker")
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        _broker_input(
            broker,
            broker_lock,
            **{
                CONF_BROKER_URL: f" {urls[0]} ,{urls[1]}",
                CONF_SETUP_CODE: broker_lock.setup_code,
            },
        ),
    )
    assert result["step_id"] == "pair"
    broker_lock.device.press_button()
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_BROKER_URL] == ", ".join(urls)
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    assert settings_from_data(entry.data).broker == BrokerSettings(
        urls,
        broker.ca_file.read_text(encoding="utf-8").strip() + "\n",
        BROKER_USER,
        BROKER_PASSWORD,
    )
    assert entry.runtime_data.lock.link_kind.value == "broker"
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("second", "error"),
    [
        ("mqtt://127.0.0.1:1883", "invalid_broker_url"),
        ("mqtts://127.0.0.1:port", "invalid_broker_url"),
        ("mqtts://{user}:{secret}@127.0.0.1:8884", "broker_url_credentials"),
        ("mqtts://127.0.0.1:{first_port}", "broker_url_repeated"),
    ],
)
async def test_one_bad_url_among_good_ones(
    hass: HomeAssistant,
    broker: MosquittoBroker,
    broker_lock: SimLock,
    second: str,
    error: str,
) -> None:
    """Every listed URL is checked: one bad URL gives its own error on the URL field.

    Nothing is dialled (the first URL is the real broker, which would answer),
    no entry is made, and a password in the URL is never sent back to the form.
    """
    secret = "url-secret-4e1"  # noqa: S105
    first = f"mqtts://127.0.0.1:{broker.controller_port}"
    bad = second.format(
        user=BROKER_USER, secret=secret, first_port=broker.controller_port
    )
    flow_id = await _start(hass, "broker")
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        _broker_input(broker, broker_lock, **{CONF_BROKER_URL: f"{first}, {bad}"}),
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_BROKER_URL: error}
    assert secret not in _form_text(result)
    assert not hass.config_entries.async_entries(DOMAIN)


def test_an_entry_with_one_broker_url_loads_unchanged() -> None:
    """Entries stored before several URLs existed hold one URL: read and written as before."""
    data = {
        CONF_LOCK_ID: bytes(16).hex(),
        CONF_LAN_URL: None,
        CONF_BROKER_URL: "mqtts://broker.example.com:8883",
        CONF_BROKER_CA: "PEM",
        CONF_USERNAME: "user",
        CONF_PASSWORD: "secret",
    }
    settings = settings_from_data(data)
    assert settings.broker is not None
    assert settings.broker.urls == ("mqtts://broker.example.com:8883",)
    assert link_data(settings) == data


async def test_typed_digits_through_the_relay_without_a_lock_in_pairing_mode(
    hass: HomeAssistant, broker: MosquittoBroker, broker_lock: SimLock
) -> None:
    """No lock has an open code with the digits' discriminator: say so, then pair."""
    flow_id = await _start(hass, "broker")
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        _broker_input(broker, broker_lock, **{CONF_SETUP_CODE: broker_lock.setup_code}),
    )
    assert result["step_id"] == "pair"
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["errors"] == {"base": "no_lock_found"}
    broker_lock.device.press_button()
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == broker_lock.lock_id
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(result["result"].entry_id)


@pytest.mark.parametrize("other_node_first", [False, True])
async def test_one_broker_account_per_lock(
    hass: HomeAssistant,
    broker: MosquittoBroker,
    broker_lock: SimLock,
    other_node_first: bool,
) -> None:
    """An account another entry already uses is refused: they would push each other off.

    One node in common is the same broker, whatever other nodes the new list names.
    """
    # Another lock's entry (not set up: only its settings matter here).
    other = replace(broker_settings(broker, broker_lock), lock_id=bytes(16))
    MockConfigEntry(
        domain=DOMAIN, unique_id=bytes(16).hex(), data=link_data(other)
    ).add_to_hass(hass)
    values = _broker_input(broker, broker_lock)
    if other_node_first:
        values[CONF_BROKER_URL] = (
            f"mqtts://127.0.0.1:{free_port()}, {values[CONF_BROKER_URL]}"
        )
    flow_id = await _start(hass, "broker")
    result = await hass.config_entries.flow.async_configure(flow_id, values)
    assert result["errors"] == {CONF_USERNAME: "account_in_use"}


async def test_reconfiguring_onto_an_account_in_use_is_refused(
    hass: HomeAssistant, broker: MosquittoBroker, broker_lock: SimLock
) -> None:
    """Moving an entry onto another entry's broker account is refused, nothing changes."""
    base = broker_settings(broker, broker_lock)
    MockConfigEntry(
        domain=DOMAIN,
        unique_id=bytes(16).hex(),
        data=link_data(replace(base, lock_id=bytes(16))),
    ).add_to_hass(hass)
    assert base.broker is not None
    own = replace(base, broker=replace(base.broker, username="homeassistant-2"))
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=broker_lock.lock_id, data=link_data(own)
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_BROKER_URL: base.broker.urls_text,
            CONF_BROKER_CA: base.broker.ca_pem,
            CONF_USERNAME: BROKER_USER,
            CONF_PASSWORD: BROKER_PASSWORD,
        },
    )
    assert result["errors"] == {CONF_USERNAME: "account_in_use"}
    assert entry.data[CONF_USERNAME] == "homeassistant-2"


async def test_relay_input_errors(
    hass: HomeAssistant,
    broker: MosquittoBroker,
    broker_lock: SimLock,
    ca: DevCertificateAuthority,
) -> None:
    """Typed digits, plain MQTT, a non-certificate, a password without user, wrong CA, wrong password."""
    flow_id = await _start(hass, "broker")
    # Typed digits: the answers to a search go to an account, so one is needed.
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            k: v
            for k, v in _broker_input(
                broker, broker_lock, **{CONF_SETUP_CODE: broker_lock.setup_code}
            ).items()
            if k not in (CONF_USERNAME, CONF_PASSWORD)
        },
    )
    assert result["errors"] == {"base": "relay_needs_account"}
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        _broker_input(
            broker,
            broker_lock,
            **{CONF_BROKER_URL: "mqtt://127.0.0.1:1883", CONF_BROKER_CA: "hello"},
        ),
    )
    assert result["errors"] == {
        CONF_BROKER_URL: "invalid_broker_url",
    }
    result = await hass.config_entries.flow.async_configure(
        flow_id, _broker_input(broker, broker_lock, **{CONF_BROKER_CA: "hello"})
    )
    assert result["errors"] == {CONF_BROKER_CA: "invalid_ca"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, _broker_input(broker, broker_lock, **{CONF_USERNAME: ""})
    )
    assert result["errors"] == {CONF_USERNAME: "password_needs_username"}

    stranger_ca = DevCertificateAuthority.create().cert_pem.decode()
    result = await hass.config_entries.flow.async_configure(
        flow_id, _broker_input(broker, broker_lock, **{CONF_BROKER_CA: stranger_ca})
    )
    assert result["errors"] == {"base": "tls_failed"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, _broker_input(broker, broker_lock, **{CONF_PASSWORD: "wrong"})
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        _broker_input(
            broker,
            broker_lock,
            **{CONF_BROKER_URL: f"mqtts://127.0.0.1:{free_port()}"},
        ),
    )
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            k: v
            for k, v in _broker_input(broker, broker_lock).items()
            if k not in (CONF_USERNAME, CONF_PASSWORD)
        },
    )
    # The broker requires an account: no credentials, no connection.
    assert result["errors"] == {"base": "invalid_auth"}


# Discovery -----------------------------------------------------------------


def _discovery(lock: SimLock, lock_id: str | None = None) -> ZeroconfServiceInfo:
    assert lock.runtime.lan is not None
    return ZeroconfServiceInfo(
        ip_address=ip_address("127.0.0.1"),
        ip_addresses=[ip_address("127.0.0.1")],
        hostname="securelock-test.local.",
        name="Secure Lock test._securelock._tcp.local.",
        port=lock.runtime.lan.port,
        type="_securelock._tcp.local.",
        properties={
            CONF_LOCK_ID: lock.lock_id if lock_id is None else lock_id,
            "model": "SL-1",
            "fw": "1.0.0",
        },
    )


async def test_zeroconf_discovery_pairs(hass: HomeAssistant, sim_lock: SimLock) -> None:
    """A discovered lock asks only for its setup code, then the button."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(sim_lock)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "zeroconf_confirm"
    flow_id = result["flow_id"]

    # Another lock's QR names another lock; typed digits name none.
    wrong = foreign_code().qr_text()
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_SETUP_CODE: wrong}
    )
    assert result["errors"] == {CONF_SETUP_CODE: "wrong_lock"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_SETUP_CODE: "not a code"}
    )
    assert result["errors"] == {CONF_SETUP_CODE: "invalid_setup_code"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_SETUP_CODE: sim_lock.setup_code}
    )
    assert result["step_id"] == "pair"
    sim_lock.device.press_button()
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["model"] == "SL-1"
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(result["result"].entry_id)


async def test_zeroconf_updates_a_moved_lock(
    hass: HomeAssistant, sim_lock: SimLock, paired_entry: MockConfigEntry
) -> None:
    """A known lock seen at a new address: the entry follows it, no new flow."""
    info = _discovery(sim_lock)
    info.port = 4242
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=info
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert paired_entry.data[CONF_LAN_URL] == "ws://127.0.0.1:4242/securelock/v1"


async def test_another_lock_at_a_paired_address_is_reported(
    hass: HomeAssistant,
    sim_lock: SimLock,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A reset or replaced lock (or an impostor) at our lock's address: say so, trust nothing."""
    issue_id = f"lock_replaced_{sim_lock.lock_id}"
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_ZEROCONF},
        data=_discovery(sim_lock, "ab" * 16),
    )
    # The other lock may still be paired on purpose (after a reset) ...
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "zeroconf_confirm"
    # ... but the paired one is not silently swapped for it.
    assert init_integration.unique_id == sim_lock.lock_id
    assert init_integration.data[CONF_LAN_URL] == sim_lock.lan_url
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {
        "name": init_integration.title,
        "address": sim_lock.address,
    }
    # Our own lock answering with its keys again withdraws the warning.
    async_fire_time_changed(hass, dt_util.utcnow() + UNAVAILABLE_AFTER * 1.1)
    await hass.async_block_till_done()
    await wait_until(lambda: init_integration.runtime_data.lock.last_update_success)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.parametrize("lock_id", ["", "zz" * 16, "ab" * 15])
async def test_zeroconf_rejects_foreign_records(
    hass: HomeAssistant, sim_lock: SimLock, lock_id: str
) -> None:
    """A record without a valid lock id is not ours."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(sim_lock, lock_id)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_secure_lock"


# Reauth, reconfigure, options ----------------------------------------------


async def test_reauth_after_revocation_keeps_the_entry(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """Revoked on the lock: one reauth flow; re-pairing keeps entry and entities."""
    old_identity = init_integration.data[CONF_IDENTITY]
    controller_id = init_integration.runtime_data.lock.identity.key_id
    sim_lock.device.state.registry.revoke(controller_id)

    with pytest.raises(Exception, match="no longer accepts"):
        await hass.services.async_call(
            "lock", "unlock", {"entity_id": "lock.front_door"}, blocking=True
        )
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert len(flows) == 1
    assert flows[0]["context"]["source"] == "reauth"
    flow_id = flows[0]["flow_id"]

    # Another lock's QR names another lock; typed digits name none.
    wrong = foreign_code().qr_text()
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_SETUP_CODE: wrong}
    )
    assert result["errors"] == {CONF_SETUP_CODE: "wrong_lock"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_SETUP_CODE: "garbage"}
    )
    assert result["errors"] == {CONF_SETUP_CODE: "invalid_setup_code"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_SETUP_CODE: sim_lock.setup_code}
    )
    assert result["step_id"] == "pair"
    sim_lock.device.press_button()
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert init_integration.data[CONF_IDENTITY] != old_identity
    assert init_integration.state is ConfigEntryState.LOADED
    await hass.services.async_call(
        "lock", "unlock", {"entity_id": "lock.front_door"}, blocking=True
    )
    assert hass.states.get("lock.front_door").state == "unlocked"


async def test_reconfigure_lan_address(
    hass: HomeAssistant, sim_lock: SimLock, paired_entry: MockConfigEntry
) -> None:
    """A new address is checked, stored, and the keys stay."""
    identity = paired_entry.data[CONF_IDENTITY]
    result = await paired_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ADDRESS: f"127.0.0.1:{free_port()}"}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ADDRESS: "ftp://nowhere"}
    )
    assert result["errors"] == {CONF_ADDRESS: "invalid_address"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ADDRESS: sim_lock.address}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert paired_entry.data[CONF_IDENTITY] == identity
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(paired_entry.entry_id)


async def test_reconfigure_broker_keeps_the_password(
    hass: HomeAssistant, broker: MosquittoBroker, broker_lock: SimLock
) -> None:
    """An empty password field keeps the stored password; a bad CA is refused."""
    flow_id = await _start(hass, "broker")
    await hass.config_entries.flow.async_configure(
        flow_id, _broker_input(broker, broker_lock)
    )
    broker_lock.device.press_button()
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    entry = result["result"]
    await hass.async_block_till_done()

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    values = _broker_input(broker, broker_lock)
    del values[CONF_SETUP_CODE]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**values, CONF_BROKER_CA: "nope"}
    )
    assert result["errors"] == {CONF_BROKER_CA: "invalid_ca"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**values, CONF_PASSWORD: ""}
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_PASSWORD] == BROKER_PASSWORD
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)


CREDENTIAL_URLS = [
    "mqtts://{user}:{secret}@127.0.0.1:{port}",
    "mqtts://{user}@127.0.0.1:{port}",
    "mqtts://:{secret}@127.0.0.1:{port}",
]


def _form_text(result: ConfigFlowResult) -> str:
    """Return everything the form sends back to the browser, as text."""
    schema = result["data_schema"]
    assert schema is not None
    return repr([(str(key), key.description) for key in schema.schema]) + repr(
        result.get("description_placeholders")
    )


@pytest.mark.parametrize("template", CREDENTIAL_URLS)
async def test_broker_url_with_credentials_is_refused(
    hass: HomeAssistant,
    sim_lock: SimLock,
    ca: DevCertificateAuthority,
    template: str,
) -> None:
    """user:password@ in the URL: a clear error, the URL not shown again, no entry.

    Accepted, the URL would reach the port below, where nothing listens
    (`cannot_connect`): the error here comes before any connection.
    """
    secret = "url-secret-9f3"  # noqa: S105
    url = template.format(user=BROKER_USER, secret=secret, port=free_port())
    flow_id = await _start(hass, "broker")
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            CONF_BROKER_URL: url,
            CONF_BROKER_CA: ca.cert_pem.decode(),
            CONF_SETUP_CODE: sim_lock.qr_text,
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_BROKER_URL: "broker_url_credentials"}
    assert secret not in _form_text(result)
    assert BROKER_USER not in _form_text(result)
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_reconfigure_refuses_a_broker_url_with_credentials(
    hass: HomeAssistant,
    sim_lock: SimLock,
    paired_entry: MockConfigEntry,
    ca: DevCertificateAuthority,
) -> None:
    """Reconfigure refuses user:password@ in the URL too; the entry keeps its data."""
    hass.config_entries.async_update_entry(
        paired_entry,
        data={
            **paired_entry.data,
            CONF_BROKER_URL: f"mqtts://127.0.0.1:{free_port()}",
            CONF_BROKER_CA: ca.cert_pem.decode(),
        },
    )
    before = dict(paired_entry.data)
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_RECONFIGURE, "entry_id": paired_entry.entry_id},
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_ADDRESS: sim_lock.address,
            CONF_BROKER_URL: f"mqtts://u:p@127.0.0.1:{free_port()}",
            CONF_BROKER_CA: ca.cert_pem.decode(),
        },
    )
    assert result["errors"] == {CONF_BROKER_URL: "broker_url_credentials"}
    assert dict(paired_entry.data) == before


async def test_options_choose_the_preferred_path(
    hass: HomeAssistant, paired_entry: MockConfigEntry, ca: DevCertificateAuthority
) -> None:
    """One path: nothing to choose. Two: the choice reloads, and a dead relay falls back."""
    result = await open_settings(hass, paired_entry)
    assert CONF_PREFER not in result["data_schema"].schema

    hass.config_entries.async_update_entry(
        paired_entry,
        data={
            **paired_entry.data,
            CONF_BROKER_URL: f"mqtts://127.0.0.1:{free_port()}",
            CONF_BROKER_CA: ca.cert_pem.decode(),
        },
    )
    result = await open_settings(hass, paired_entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PREFER: "broker"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert paired_entry.options == {CONF_PREFER: "broker"}
    await hass.async_block_till_done()
    # Nothing listens where the relay should be: the lock is reached on the LAN.
    assert paired_entry.state is ConfigEntryState.LOADED
    assert paired_entry.runtime_data.lock.link_kind.value == "lan"
    assert await hass.config_entries.async_unload(paired_entry.entry_id)
