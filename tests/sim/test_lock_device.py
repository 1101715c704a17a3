"""The simulated lock's firmware over an in-process link: pairing, commands, roles, state."""

from __future__ import annotations

import asyncio

import pytest

from custom_components.secure_lock.controller import (
    CommandRefused,
    LockClient,
    LockReport,
    PairingFailed,
    PairingTimedOut,
    ReportKind,
    pair_over_link,
)
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    ErrorCode,
    EventSource,
    EventType,
    MessageKind,
    ResultCode,
    Role,
    SetupCode,
)
from custom_components.secure_lock.protocol.channel import (
    Channel,
    decode_signed_failure,
    wrap,
)
from custom_components.secure_lock.protocol.errors import ProtocolError
from custom_components.secure_lock.protocol.pairing import ControllerPairing
from custom_components.secure_lock.protocol.pairing_messages import PairingChallenge
from custom_components.secure_lock.protocol.pairing_seal import (
    ANSWER_KEY_SIZE,
    SEALED_ANSWER_SIZE,
    AnswerKey,
)
from custom_components.secure_lock.protocol.rng import system_rng
from custom_components.secure_lock.protocol.setup_code import discriminator_of
from custom_components.secure_lock.protocol.state import BoltState
from device_sim.device_state import load_state
from device_sim.loopback import LoopbackLink
from device_sim.mechanism import DoorState
from device_sim.secure_element import SETUP_RECORD
from device_sim.storage import KeyFile, SealedStore
from device_sim.traffic_shape import HEARTBEAT_JITTER
from tests.conftest import wrong_code

from .lock_rig import Rig


async def test_first_boot_makes_keys_and_a_setup_code(rig: Rig) -> None:
    """A new lock has a random id and a label whose QR names it, with the lock's discriminator."""
    label = rig.device.element.label_code
    pin = SetupCode.parse(label.qr_text()).pin
    assert pin is not None
    assert pin.lock_id == rig.device.lock_id
    assert pin.fingerprint == rig.device.element.public_bundle().identity.key_id
    typed = SetupCode.parse(label.manual_code())
    assert typed.discriminator == discriminator_of(rig.device.lock_id)
    assert typed.passcode == label.passcode
    assert rig.device.first_boot
    again = rig.boot()
    assert not again.first_boot
    assert again.lock_id == rig.device.lock_id
    assert again.element.label_code == label


async def test_a_lock_from_before_short_codes_keeps_its_keys_and_gets_a_new_code(
    rig: Rig,
) -> None:
    """A stored long setup code (earlier versions) becomes a new 11-digit label at boot.

    Its identity and its controllers stay: the paired admin still opens it.
    """
    client = await rig.pair()
    lock_id = rig.device.lock_id
    old_label = rig.device.element.label_code
    long_code = "SECURELOCK:" + "0123456789ABCDEFGHJKMNPQRSTVWXYZ" * 3
    rig.device.element._store.save(SETUP_RECORD, long_code.encode())
    device = rig.reboot()
    assert device.lock_id == lock_id
    new_label = device.element.label_code
    assert new_label != old_label
    assert new_label.pin is not None and new_label.pin.lock_id == lock_id
    assert device.element._store.load(SETUP_RECORD) != long_code.encode()
    assert rig.reboot().element.label_code == new_label
    assert (await client.unlock()).status.bolt_state is BoltState.UNLOCKED
    await client.close()


async def test_pair_then_lock_unlock_open_with_signed_confirmations(rig: Rig) -> None:
    """The first controller becomes admin; each command returns the lock's signed state."""
    client = await rig.pair()
    assert client.paired_lock.role is Role.ADMIN
    assert (await client.unlock()).status.bolt_state is BoltState.UNLOCKED
    assert (await client.lock()).status.bolt_state is BoltState.LOCKED
    assert (await client.open()).status.bolt_state is BoltState.OPEN
    rig.scheduler.advance(3)
    assert (await client.status()).status.bolt_state is BoltState.UNLOCKED
    await client.close()


def _state_generation(rig: Rig) -> int:
    store = SealedStore(rig.path / "state", KeyFile(rig.path / "device.key"))
    record = store.load_record("state")
    assert record is not None
    return record.generation


async def _silent_refusal(rig: Rig) -> None:
    """Pairing gets no answer at all, and the lock writes nothing."""
    generation = _state_generation(rig)
    sent_before = len(rig.hub.sent_by_lock)
    link = rig.hub.attach()
    identity = ControllerIdentity.generate(now_ms=rig.now_ms())
    with pytest.raises(PairingTimedOut):
        await pair_over_link(
            link,
            identity,
            rig.device.element.label_code,
            "HA",
            clock=rig.now_ms,
            timeout=0.3,
            retransmit_interval=0.05,
        )
    # Junk on the pairing channel costs nothing either, with an answer key
    # in front of it or not.
    key = bytes(range(1, 33))
    for junk in (
        b"\x50",
        b"\x50\x01",
        b"\x50\x02" + bytes(300),
        b"\x50\xfe",
        b"\x50" + key + b"\x01" + bytes(80),
        b"\x50" + key + b"\x03" + bytes(400),
    ):
        rig.device.receive(junk)
    assert _state_generation(rig) == generation
    assert rig.hub.sent_by_lock[sent_before:] == []


async def test_pairing_needs_the_button(rig: Rig) -> None:
    """Without a button press the lock does not answer pairing, and writes nothing."""
    await _silent_refusal(rig)


async def test_the_lock_seals_every_pairing_answer_to_the_frames_key(
    rig: Rig,
) -> None:
    """A challenge and a refusal leave the lock at one size, each readable with its frame's key only.

    A hello whose answer key nobody can encrypt to gets no answer; the same
    hello with another key gets the same challenge, sealed to that key.
    """
    rig.device.press_button()
    label = rig.device.element.label_code
    hello = ControllerPairing(ControllerIdentity.generate(), label, "HA").start()
    first, second, other = (AnswerKey.generate(system_rng) for _ in range(3))

    def answer(body: bytes) -> bytes | None:
        sent = len(rig.hub.sent_by_lock)
        rig.device.receive(wrap(Channel.PAIRING, body))
        out = rig.hub.sent_by_lock[sent:]
        assert len(out) <= 1
        return out[0] if out else None

    first_body = first.request(hello)
    challenge = answer(first_body)
    assert challenge is not None
    assert len(challenge) == SEALED_ANSWER_SIZE + 1
    plain = first.open(first_body, challenge[1:])
    assert PairingChallenge.from_bytes(plain).lock_id == rig.device.lock_id
    assert answer(bytes(ANSWER_KEY_SIZE) + hello) is None
    second_body = second.request(hello)
    again = answer(second_body)
    assert again is not None
    assert second.open(second_body, again[1:]) == plain
    with pytest.raises(ProtocolError):
        first.open(first_body, again[1:])
    # Another controller's hello while the session runs: a signed refusal,
    # sealed, the size of the challenge.
    intruder = ControllerPairing(ControllerIdentity.generate(), label, "x").start()
    intruder_body = other.request(intruder)
    busy = answer(intruder_body)
    assert busy is not None
    assert len(busy) == len(challenge)
    notice = decode_signed_failure(other.open(intruder_body, busy[1:]))
    assert notice is not None
    assert notice.code is ErrorCode.PAIRING_BUSY
    assert ErrorCode.PAIRING_BUSY.value.encode() not in busy


async def test_pairing_window_closes_after_120_seconds(rig: Rig) -> None:
    """The window lasts 120 s from the press; after it the lock is silent again."""
    rig.device.press_button()
    rig.scheduler.advance(121)
    await _silent_refusal(rig)


async def test_wrong_secret_locks_out_after_five_and_survives_reboot(rig: Rig) -> None:
    """Five bad proofs lock pairing out, across a reboot, until the button is pressed."""
    real = rig.device.element.label_code
    forged = wrong_code(real)
    rig.device.press_button()
    for _ in range(5):
        identity = ControllerIdentity.generate(now_ms=rig.now_ms())
        with pytest.raises(PairingFailed) as err:
            await pair_over_link(
                rig.hub.attach(), identity, forged, "x", clock=rig.now_ms
            )
        assert err.value.code is ErrorCode.BAD_MAC

    device = rig.boot()
    assert device.state.pairing_attempts.failures == 5
    device.pairing.open_window()  # a window alone does not lift the lockout
    with pytest.raises(PairingFailed) as err:
        await pair_over_link(
            rig.hub.attach(),
            ControllerIdentity.generate(now_ms=rig.now_ms()),
            real,
            "x",
            clock=rig.now_ms,
        )
    assert err.value.code is ErrorCode.PAIRING_LOCKED_OUT

    client = await rig.pair()  # the button press clears it
    assert (await client.status()).result is ResultCode.OK
    await client.close()


async def test_events_reach_every_controller_with_source(rig: Rig) -> None:
    """A manual turn is pushed, signed, to every paired controller as source manual."""
    admin = await rig.pair("Home Assistant")
    updates: list[LockReport] = []
    second = await rig.pair("Phone")
    admin_updates: list[LockReport] = []
    admin._on_update = admin_updates.append
    second._on_update = updates.append

    rig.device.mechanism.turn_by_hand(lock=False)
    await asyncio.sleep(0)
    for seen in (admin_updates, updates):
        events = [u.event for u in seen if u.kind is ReportKind.EVENT]
        assert events, seen
        assert events[-1] is not None
        assert events[-1].source is EventSource.MANUAL
        assert events[-1].status.bolt_state is BoltState.UNLOCKED

    await second.unlock()
    await asyncio.sleep(0)
    named = [
        u.event
        for u in admin_updates
        if u.event and u.event.source is EventSource.CONTROLLER
    ]
    assert named[-1] is not None
    assert named[-1].controller_name == "Phone"
    await admin.close()
    await second.close()


async def test_jam_and_door_open_are_errors_not_success(rig: Rig) -> None:
    """A jam and a refusal to lock with the door open come back as signed errors."""
    client = await rig.pair()
    await client.unlock()
    rig.device.set_door(DoorState.OPEN)
    with pytest.raises(CommandRefused) as err:
        await client.lock()
    assert err.value.code is ResultCode.DOOR_OPEN
    assert err.value.result.status.bolt_state is BoltState.UNLOCKED

    rig.device.set_door(DoorState.CLOSED)
    rig.device.mechanism.jam_next_operation()
    with pytest.raises(CommandRefused) as err:
        await client.lock()
    assert err.value.code is ResultCode.JAMMED
    assert err.value.result.status.bolt_state is BoltState.JAMMED
    await client.close()


async def test_roles_guest_window_and_revocation(rig: Rig) -> None:
    """Admins add and remove controllers; guests only inside their window; revocation is immediate."""
    admin = await rig.pair()
    operator = await rig.pair("Operator")
    assert operator.paired_lock.role is Role.OPERATOR
    with pytest.raises(CommandRefused) as err:
        await operator.list_controllers()
    assert err.value.code is ResultCode.NOT_PERMITTED

    guest_identity = ControllerIdentity.generate(now_ms=rig.now_ms())
    await admin.add_controller(
        guest_identity.public_bundle(),
        "Cleaner",
        Role.GUEST,
        valid_from_ms=rig.now_ms(),
        valid_until_ms=rig.now_ms() + 3_600_000,
    )
    listed = await admin.list_controllers()
    assert {(c.name, c.role) for c in listed} == {
        ("Home Assistant", Role.ADMIN),
        ("Operator", Role.OPERATOR),
        ("Cleaner", Role.GUEST),
    }

    # The guest learns the lock's keys from the admin out of band (its bundle).
    from custom_components.secure_lock.protocol import PairedLock  # noqa: PLC0415

    guest_lock = PairedLock(
        admin.paired_lock.lock_id,
        admin.paired_lock.bundle,
        admin.paired_lock.suite,
        Role.GUEST,
    )
    guest = LockClient(rig.hub.attach(), guest_identity, guest_lock, clock=rig.now_ms)
    await guest.start()
    assert (await guest.unlock()).status.bolt_state is BoltState.UNLOCKED
    with pytest.raises(CommandRefused) as err:
        await guest.audit_log()
    assert err.value.code is ResultCode.NOT_PERMITTED

    rig.scheduler.advance(3601)
    with pytest.raises(CommandRefused) as err:
        await guest.lock()
    assert err.value.code is ResultCode.NOT_PERMITTED

    await admin.remove_controller(operator.identity.key_id)
    # The revoked controller hears a signed "revoked" (so it can ask its user
    # to re-pair) and the lock does nothing.
    state_before = rig.device.mechanism.status
    with pytest.raises(CommandRefused) as err:
        await operator.lock(timeout=1)
    assert err.value.code is ResultCode.REVOKED
    assert rig.device.mechanism.status == state_before
    for client in (admin, operator, guest):
        await client.close()


async def test_replay_rejected_after_reboot(rig: Rig) -> None:
    """A captured unlock replayed after a power cycle does nothing."""
    client = await rig.pair()
    link = client.link
    assert isinstance(link, LoopbackLink)
    await client.unlock()
    unlock_frame = link.sent[-1]
    await client.lock()
    rig.boot()
    before = len(rig.hub.sent_by_lock)
    rig.device.receive(unlock_frame)
    assert rig.device.mechanism.status.bolt.value == "locked"
    assert len(rig.hub.sent_by_lock) == before  # not even an answer
    await client.close()


async def test_counters_written_before_acting(rig: Rig) -> None:
    """The stored high-water mark already covers a command when its result is sent."""
    client = await rig.pair()
    await client.unlock()
    state = load_state(
        SealedStore(rig.path / "state", KeyFile(rig.path / "device.key"))
    )
    assert state is not None
    record = state.registry.get(client.identity.key_id)
    assert record is not None
    assert record.high_water == client.paired_lock.last_sent_counter
    await client.close()


async def test_audit_log_records_commands_and_manual_use(rig: Rig) -> None:
    """Executed commands and manual operations appear in the audit log, in order."""
    client = await rig.pair()
    await client.unlock()
    rig.device.mechanism.turn_by_hand(lock=True)
    entries = await client.audit_log()
    kinds = [(e.kind, e.source) for e in entries]
    assert kinds[-2:] == [
        (MessageKind.UNLOCK, EventSource.CONTROLLER),
        (MessageKind.LOCK, EventSource.MANUAL),
    ]
    assert [e.index for e in entries] == list(range(len(entries)))
    await client.close()


async def test_heartbeat_carries_full_state(rig: Rig) -> None:
    """Heartbeats go out on their (jittered) interval with the full signed state."""
    client = await rig.pair()
    updates: list[LockReport] = []
    client._on_update = updates.append
    rig.device.start()
    # The first within 30 s ± 25 %, the second not before 45 s.
    earliest = 30 * (1 - HEARTBEAT_JITTER)
    rig.scheduler.advance(earliest - 0.1)
    await asyncio.sleep(0)
    assert not updates
    for _ in range(int(30 * 2 * HEARTBEAT_JITTER) + 1):
        # One second at a time: each beat is read while it is fresh.
        rig.scheduler.advance(1)
        await asyncio.sleep(0)
    beats = [u for u in updates if u.kind is ReportKind.HEARTBEAT]
    assert len(beats) == 1
    assert beats[0].status.bolt_state is BoltState.LOCKED
    rig.device.shutdown()
    await client.close()


async def test_garbage_frames_change_nothing(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """Random bytes on either channel are dropped, logged once per reason; state unchanged."""
    client = await rig.pair()
    before = (rig.path / "state" / "state.sealed").read_bytes()
    sent = len(rig.hub.sent_by_lock)
    for frame in (b"", b"\x00", bytes([Channel.ENVELOPE]) + b"x" * 50, bytes(2000)):
        rig.device.receive(frame)
    for _ in range(20):
        rig.device.receive(bytes([Channel.ENVELOPE]) + bytes(700))
    assert (rig.path / "state" / "state.sealed").read_bytes() == before
    assert len(rig.hub.sent_by_lock) == sent
    assert sum(rig.device.dropped_frames.values()) == 24
    dropped_logs = [r for r in caplog.records if "Dropped a frame" in r.getMessage()]
    assert len(dropped_logs) == len(rig.device.dropped_frames)  # once per reason
    # A pairing frame while closed gets no answer and changes no stored state:
    # a bare type byte, and a well-formed hello with its answer key.
    rig.device.receive(bytes([Channel.PAIRING, 1]))
    hello = ControllerPairing(
        ControllerIdentity.generate(), rig.device.element.label_code, "late"
    ).start()
    rig.device.receive(
        wrap(Channel.PAIRING, AnswerKey.generate(system_rng).request(hello))
    )
    assert len(rig.hub.sent_by_lock) == sent
    assert (rig.path / "state" / "state.sealed").read_bytes() == before
    await client.close()


async def test_offline_lock_answers_nothing(rig: Rig) -> None:
    """Offline means offline: commands time out, nothing is acted on."""
    client = await rig.pair()
    rig.device.set_online(False)
    with pytest.raises(Exception, match="no signed answer"):
        await client.unlock(timeout=0.1)
    assert rig.device.mechanism.status.bolt.value == "locked"
    rig.device.set_online(True)
    await client.unlock()
    await client.close()


async def test_event_types(rig: Rig) -> None:
    """Jam, tamper and low battery become their own event types."""
    client = await rig.pair()
    updates: list[LockReport] = []
    client._on_update = updates.append
    rig.device.mechanism.tamper()
    rig.device.mechanism.set_battery(10)
    await asyncio.sleep(0)
    types = [u.event.event for u in updates if u.event]
    assert EventType.TAMPER in types
    assert EventType.LOW_BATTERY in types
    await client.close()


async def test_commands_ask_the_relay_to_expire_them(rig: Rig) -> None:
    """Each command asks the relay to expire it, with one value for every kind (no leak)."""
    client = await rig.pair()
    link = client.link
    assert isinstance(link, LoopbackLink)
    await client.unlock()
    await client.lock()
    await client.status()
    assert link.expiries[-3:] == [30, 30, 30]
    await client.close()


async def test_nothing_secret_in_plaintext_on_disk(rig: Rig) -> None:
    """Keys, the label code's w0/w1 and the code itself exist on disk only sealed."""
    client = await rig.pair()
    await client.unlock()
    element = rig.device.element
    identity = element._identity
    label = element.label_code
    secret = label.secret_for(identity.lock_id).prover
    secrets_to_find = [
        identity.signing_key.private_bytes(),
        secret.w0,
        secret.w1,
        secret.to_bytes().hex().encode(),
        label.manual_code().encode(),
        label.manual_code().replace("-", "").encode(),
        label.qr_text().encode(),
        *(prekey.private_key.private_bytes() for prekey in identity.prekeys),
    ]
    files = [p for p in (rig.path / "state").iterdir() if p.is_file()]
    assert {p.name for p in files} >= {
        "identity.sealed",
        "setup.sealed",
        "state.sealed",
    }
    for path in files:
        blob = path.read_bytes()
        for secret in secrets_to_find:
            assert secret not in blob, path.name
            assert secret.hex().encode() not in blob, path.name
    # The device key lives apart from the state, owner-only.
    assert (rig.path / "device.key").stat().st_mode & 0o077 == 0
    await client.close()


async def test_admin_sets_auto_relock_operator_may_not(rig: Rig) -> None:
    """Settings are admin-only, stored, confirmed signed, and survive a reboot."""
    admin = await rig.pair()
    operator = await rig.pair("Operator")
    with pytest.raises(CommandRefused) as err:
        await operator.set_auto_relock(10)
    assert err.value.code is ResultCode.NOT_PERMITTED
    result = await admin.set_auto_relock(10)
    assert result.status.auto_relock_seconds == 10
    await admin.unlock()
    # Relock counts from when the unlock settled (one hold time, as an open).
    rig.scheduler.advance(rig.device.mechanism.config.open_hold_seconds + 10)
    assert rig.device.mechanism.status.bolt.name == "LOCKED"
    rig.device.shutdown()
    assert rig.boot().state.settings.auto_relock_seconds == 10
    for client in (admin, operator):
        await client.close()
