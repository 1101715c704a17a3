"""What the broker learns from a whole life cycle: no content, only metadata.

The hostile relay (hostile_relay.py) sees every frame the brokers route for
the lock, in both directions.  One scenario runs through it: pairing of an
admin and an operator, a guest added by the admin, lock, unlock, open,
status, manual and keypad operation (events to every controller), heartbeats,
key rotation by the lock and by a controller.

What stays visible to the relay, and is recorded here rather than hidden:

* the lock id (the MQTT topic) and, in each frame's clear header, the
  recipient's routing id (a hash of the lock id and its key id: frames to
  one controller of this lock can be linked, not across locks) and the
  prekey id (changes at each rotation);
* direction and timing: a request (down) followed by answers (up) differs
  from a frame the lock sends on its own (heartbeat, event, rotation);
* frame counts: a lock's broadcast is one frame per controller (the number
  of controllers shows), a status answer is one frame where a motor
  command is one frame per controller at each step, and a turn by hand is
  one event; lock, unlock and open cost exactly the same, and every
  controller gets the same frames whoever sent the command (the sender's
  is its result), so neither the command nor the sender shows in counts or
  routing ids (timing: tests/sim/test_traffic_shape.py);
* during pairing: what the controller sends in its hello and proof (its
  identity key and prekey, its suite list, the lock id of a QR, the
  discriminator; section 15 of docs/protocol.md), their sizes on the link
  (suite 2: 119 and 1 621 bytes), and how many frames each side sent.  The
  lock's answers are sealed to the controller's answer key (section 7):
  each is 3 633 bytes on the link, challenge, result and refusal alike.

What does not show, and is asserted: names (a keypad code's too), setup code
or secret, a keypad PIN the lock drew, key ids beyond the routing id,
command and state names, JSON; the reason of a refused pairing step (the
scenario includes one) and anything of the lock's pairing answers; every
frame after pairing has one length, and a classifier that sees (size,
direction) does no better than always guessing the most common kind.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from custom_components.secure_lock.controller import PairingFailed, pair_over_link
from custom_components.secure_lock.controller.keypad import (
    list_keypad_codes,
    set_keypad_code,
)
from custom_components.secure_lock.protocol import ErrorCode, Role, SetupCode
from custom_components.secure_lock.protocol.channel import Channel
from custom_components.secure_lock.protocol.envelope import frame_size
from custom_components.secure_lock.protocol.keypad_codes import KeypadSchedule
from custom_components.secure_lock.protocol.pairing_seal import SEALED_ANSWER_SIZE
from custom_components.secure_lock.protocol.suites import SuiteId
from tests.sim.helpers import wait_until
from tests.sim.traffic_capture import best_accuracy, chance

from .conftest import Stage
from .hostile_relay import Direction, FramePath, Seen

QUIET_POLLS = 10
"""Polls (5 ms apart) without a new frame after which the path counts as idle."""

# At least four bytes each: a shorter string turns up by chance in kilobytes
# of ciphertext (two bytes: ~5 % per frame; four bytes: ~1e-6).
FORBIDDEN_WORDS = (
    "Home Assistant",
    "Phone",
    "Cleaner",
    "unlock",
    "UNLOCK",
    "Unlock",
    "locked",
    "LOCKED",
    "Locked",
    "heartbeat",
    "HEARTBEAT",
    "status",
    "STATUS",
    "opening",
    "manual",
    "keypad",
    "jammed",
    "firmware",
    "1.0.0",
    "SL-1",
    "Secure Lock",
    '": "',
    '": {',
    '{"lo',
    '"kind"',
    "lock_state",
    "bolt_state",
    "door",
)


async def test_the_relay_learns_no_content_and_no_kind(stage: Stage) -> None:
    """A full scenario through the hostile relay leaks no plaintext; sizes say nothing."""
    lock = await stage.start_lock()
    relay = lock.relay
    labels: list[tuple[int, str]] = []
    """(index into relay.seen where an operation began, its name)."""

    def begin(name: str) -> None:
        labels.append((len(relay.seen), name))

    begin("pairing")
    admin = await stage.pair(lock)
    # Someone with the label tries once the lock has an owner: refused, signed.
    lock.device.press_button()
    intruder = stage.new_identity()
    with pytest.raises(PairingFailed) as refused:
        await pair_over_link(
            await stage.controller_link(lock, intruder, pairing=True),
            intruder,
            SetupCode.parse(lock.device.element.label_code.manual_code()),
            "Intruder",
            timeout=10,
            clock=stage.clock,
        )
    assert refused.value.code is ErrorCode.INVITATION_REQUIRED
    operator = await stage.pair(lock, "Phone")
    pairing_end = len(relay.seen)

    begin("add guest")
    await stage.added(
        admin, lock, "Cleaner", Role.GUEST, valid_until_ms=stage.clock() + 60_000
    )
    await _settle(relay)
    sender_of: dict[int, str] = {}
    """Label index -> who sent that command (for the sender classifier)."""
    for name, sender, action in (
        ("unlock", "admin", admin.unlock),
        ("lock", "admin", admin.lock),
        ("unlock", "operator", operator.unlock),
        ("lock", "operator", operator.lock),
        ("open", "admin", admin.open),
        ("open", "operator", operator.open),
        ("status", "operator", operator.status),
        ("rotate controller", "admin", admin.rotate_keys),
    ):
        sender_of[len(labels)] = sender
        begin(name)
        await action()
        await _settle(relay)
    # Keypad codes: a name, a schedule and a PIN the lock draws travel sealed.
    begin("keypad code set")
    made = await set_keypad_code(
        admin, 0, "Dog sitter", KeypadSchedule(utc_offset_minutes=60), generate=True
    )
    await _settle(relay)
    begin("keypad code list")
    await list_keypad_codes(admin)
    await _settle(relay)
    for name, physical in (
        ("manual", lambda: lock.device.mechanism.turn_by_hand(lock=True)),
        ("keypad", lambda: lock.device.mechanism.keypad(lock=False)),
        ("keypad code", lambda: lock.device.type_on_keypad(made.generated_pin)),
        ("heartbeat", lock.device.send_heartbeat),
        ("rotate lock", lock.device.rotate_prekeys),
        ("heartbeat", lock.device.send_heartbeat),
    ):
        begin(name)
        expected = len(relay.seen) + 1
        physical()
        await wait_until(lambda expected=expected: len(relay.seen) >= expected)  # type: ignore[misc]
        await _settle(relay)
    seen = list(relay.seen)

    # -- no plaintext anywhere, pairing included --------------------------------
    setup = lock.device.element.label_code
    prover = setup.secret_for(lock.lock_id).prover
    secrets = [
        prover.w0,
        prover.w1,
        setup.passcode.to_bytes(4, "little"),
        setup.manual_code().encode(),
        setup.qr_text().encode(),
        setup.manual_code().replace("-", "").encode(),
        made.generated_pin.encode(),
        b"Dog sitter",
    ]
    assert all(len(word) >= 4 for word in FORBIDDEN_WORDS)
    for frame in (s.frame for s in seen):
        for secret in secrets:
            assert secret not in frame
        for word in FORBIDDEN_WORDS:
            assert word.encode() not in frame, word

    # -- pairing: the lock's answers are sealed, one size, no reason shows ------
    during = seen[:pairing_end]
    answers = [
        s.frame
        for s in during
        if s.direction is Direction.UP and s.channel == Channel.PAIRING
    ]
    assert len(answers) >= 5  # two challenges, two results, one refusal
    assert {len(frame) for frame in answers} == {SEALED_ANSWER_SIZE + 1}
    for frame in answers:
        for code in ErrorCode:
            assert code.value.encode("ascii") not in frame, code
    requests = {
        len(s.frame)
        for s in during
        if s.direction is Direction.DOWN and s.channel == Channel.PAIRING
    }
    assert requests == {119, 1621}  # hellos and suite-2 proofs

    # -- after pairing: no identifiers but the routing id, one size -------------
    after = seen[pairing_end:]
    assert all(s.channel == Channel.ENVELOPE for s in after)
    identifiers = {
        "lock id": lock.lock_id,
        "lock fingerprint": lock.device.element.public_bundle().identity.key_id,
        "admin key id": admin.identity.key_id,
        "operator key id": operator.identity.key_id,
    }
    for frame in (s.frame for s in after):
        for name, value in identifiers.items():
            assert value not in frame, name
            assert value.hex().encode() not in frame, name
    sizes = {len(s.frame) for s in after}
    suite = admin.paired_lock.suite
    assert sizes == {frame_size(suite) + 1}  # + the channel byte
    assert suite is SuiteId.MLKEM768_X25519_CHACHA20

    # -- the best (size, direction) classifier is no better than chance ---------
    samples: dict[Direction, list[tuple[tuple[int, str], str]]] = defaultdict(list)
    bounds = [*labels[1:], (len(seen), "")]
    for (start, name), (end, _) in zip(labels[1:], bounds[1:], strict=True):
        for item in seen[start:end]:
            samples[item.direction].append(((len(item.frame), item.direction), name))
    for direction, rows in samples.items():
        assert best_accuracy(rows) == chance(rows), direction
    kinds_up = {label for _, label in samples[Direction.UP]}
    assert {"lock", "unlock", "heartbeat"} <= kinds_up
    assert len({label for _, label in samples[Direction.DOWN]}) >= 4

    # -- counts and routing ids: not the command, not who sent it ----------------
    counts = _frame_counts(seen, labels)
    # Lock, unlock and open cost the same frames each way, whoever sends them.
    assert counts["lock"] == counts["unlock"] == counts["open"]
    motor = _routes_per_operation(seen, labels, sender_of, {"lock", "unlock", "open"})
    controllers = {c.endpoint.routing_id for c in stage.clients}
    for (name, _sender), routes in motor:
        # One frame to each controller at each step: the requester's is its
        # result, everyone else's the event.
        assert len(set(routes.values())) == 1, name
        assert set(routes) <= controllers
    by_kind = [(_route_features(routes), name) for (name, _), routes in motor]
    by_sender = [(_route_features(routes), sender) for (_, sender), routes in motor]
    assert best_accuracy(by_kind) == chance(by_kind)
    assert best_accuracy(by_sender) == chance(by_sender) == 1 / 2
    # A heartbeat is one frame per controller, and nothing goes down.
    assert counts["heartbeat"][Direction.DOWN] == 0
    assert (
        counts["heartbeat"][Direction.UP] == 2 * 3
    )  # two heartbeats, three controllers


async def _settle(path: FramePath) -> None:
    """Wait until the frames an operation caused have all passed the relay.

    The lock's broadcasts reach the relay one by one after the command's own
    answer; counting them per operation needs them all in.
    """
    quiet = 0
    last = len(path.seen)

    def idle() -> bool:
        nonlocal quiet, last
        quiet = quiet + 1 if len(path.seen) == last else 0
        last = len(path.seen)
        return quiet >= QUIET_POLLS

    await wait_until(idle)


def _routes_per_operation(
    seen: list[Seen],
    labels: list[tuple[int, str]],
    sender_of: dict[int, str],
    names: set[str],
) -> list[tuple[tuple[str, str], Counter[bytes]]]:
    """Return, per operation named in ``names``, how many upward frames each routing id got."""
    ends = [start for start, _ in labels[1:]] + [len(seen)]
    rows = []
    for number, ((start, name), end) in enumerate(zip(labels, ends, strict=True)):
        if name not in names or number not in sender_of:
            continue
        routes: Counter[bytes] = Counter(
            item.frame[3:19]
            for item in seen[start:end]
            if item.direction is Direction.UP
        )
        rows.append(((name, sender_of[number]), routes))
    return rows


def _route_features(routes: Counter[bytes]) -> tuple[tuple[bytes, int], ...]:
    return tuple(sorted(routes.items()))


def _frame_counts(
    seen: list[Seen], labels: list[tuple[int, str]]
) -> dict[str, Counter[Direction]]:
    counts: dict[str, Counter[Direction]] = defaultdict(Counter)
    ends = [start for start, _ in labels[1:]] + [len(seen)]
    for (start, name), end in zip(labels, ends, strict=True):
        for item in seen[start:end]:
            counts[name][item.direction] += 1
    return counts
