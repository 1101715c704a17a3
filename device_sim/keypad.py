"""The lock's keypad: codes an admin manages, checked only here, and the lockout.

Each code is kept as a salted, slow, keyed hash (`SecureElement.
keypad_pin_digest`); the PIN itself is never stored, logged or sent back,
except a PIN the lock generated, once, in the signed answer to the admin who
asked for it.  A typed PIN is compared with every stored code's hash.

Wrong PINs: the first four in a row cost nothing; the fifth and every one
after it lock the keypad for a minute, doubling each time up to an hour
(`keypad_book.lockout_ms`), until a correct code is typed.  The count and the lockout are written before the
keypad answers (as failed pairing proofs are), so pulling the power does not
reset them, and each lockout is broadcast as a signed TAMPER event with the
source keypad.  During a lockout a typed PIN is not even checked.
"""

from __future__ import annotations

from enum import StrEnum
import hmac
import logging
from typing import Protocol

from custom_components.secure_lock.protocol.errors import ProtocolError
from custom_components.secure_lock.protocol.keypad_codes import PinChoice, generate_pin
from custom_components.secure_lock.protocol.messages import (
    NO_CONTROLLER,
    Event,
    EventSource,
    EventType,
    KeypadCodeListChunk,
    KeypadCodeRemove,
    KeypadCodeSet,
    KeypadCodeSetResult,
    MessageKind,
    ResultCode,
)
from custom_components.secure_lock.protocol.rng import Rng
from custom_components.secure_lock.protocol.session import VerifiedMessage

from .keypad_book import KeypadBook, KeypadCredential, lockout_ms
from .lock_services import LockServices
from .secure_element import KEYPAD_SALT_SIZE
from .traffic_shape import padded_chunks

_LOGGER = logging.getLogger(__name__)

KEYPAD_LIST_CHUNK_SIZE = 2
KEYPAD_LIST_CHUNKS = 8
"""Frames per keypad list answer, for up to 16 codes: the relay learns only the size class."""
"""Two of the largest entries fit one suite-1 frame."""
LOCKOUT_EVENT_NAME = "keypad_lockout"
"""The TAMPER event's ``controller_name`` when the keypad locked itself out."""


class PinHasher(Protocol):
    """Where the keyed hash of a PIN is made (the secure element)."""

    def keypad_pin_digest(self, salt: bytes, pin: str) -> bytes:
        """Return the salted, slow, keyed hash of ``pin``."""


class KeypadOutcome(StrEnum):
    """What the keypad did with a typed PIN."""

    UNLOCKED = "unlocked"
    WRONG_CODE = "wrong_code"
    OUTSIDE_SCHEDULE = "outside_schedule"
    DISABLED = "disabled"
    LOCKED_OUT = "locked_out"


class Keypad:
    """Carries out admins' keypad requests and checks typed PINs."""

    def __init__(self, lock: LockServices, hasher: PinHasher, rng: Rng) -> None:
        """Act on `lock`; `hasher` makes the PIN hashes."""
        self._lock = lock
        self._hasher = hasher
        self._rng = rng
        self.code_name = ""
        """The name of the code that moved the bolt last (for its events)."""

    @property
    def _book(self) -> KeypadBook:
        return self._lock.state.keypad

    # Admin requests ----------------------------------------------------------

    def set_code(self, message: VerifiedMessage) -> None:
        """Add or change a code; persist it before the admin hears it took effect."""
        lock = self._lock
        request = message.payload
        assert isinstance(request, KeypadCodeSet)
        existing = self._book.codes.get(request.slot)
        generated = ""
        if request.pin_choice is PinChoice.KEEP:
            if existing is None:
                lock.respond(message, ResultCode.NOT_FOUND, "a new code needs a PIN")
                return
            salt, digest = existing.salt, existing.digest
        else:
            pin = request.pin
            if request.pin_choice is PinChoice.GENERATE:
                pin = generated = self._unused_pin(request.slot)
            elif self._match(pin, skip_slot=request.slot) is not None:
                lock.respond(
                    message, ResultCode.INVALID_REQUEST, "another code has this PIN"
                )
                return
            salt = self._rng(KEYPAD_SALT_SIZE)
            digest = self._hasher.keypad_pin_digest(salt, pin)
        self._book.codes[request.slot] = KeypadCredential(
            request.slot,
            request.name,
            salt,
            digest,
            request.schedule,
            request.enabled,
            existing.last_used_ms if existing else 0,
            existing.refused_outside_schedule if existing else 0,
        )
        lock.audit(message, ResultCode.OK)
        lock.persist()
        self._answer(
            message, KeypadCodeSetResult(request.slot, lock.now_ms(), generated)
        )

    def remove_code(self, message: VerifiedMessage) -> None:
        """Delete a code; it opens nothing once the admin hears it is gone."""
        lock = self._lock
        request = message.payload
        assert isinstance(request, KeypadCodeRemove)
        if self._book.codes.pop(request.slot, None) is None:
            lock.respond(message, ResultCode.NOT_FOUND, "no such keypad code")
            return
        lock.audit(message, ResultCode.OK)
        lock.persist()
        lock.respond(message, ResultCode.OK)

    def list_codes(self, message: VerifiedMessage) -> None:
        """Answer with every code's summary, a few per signed chunk."""
        book = self._book
        summaries = [book.codes[slot].summary() for slot in sorted(book.codes)]
        chunks = padded_chunks(summaries, KEYPAD_LIST_CHUNK_SIZE, KEYPAD_LIST_CHUNKS)
        locked_until = (
            book.locked_until_ms if book.locked_out(self._lock.now_ms()) else 0
        )
        frames = []
        for index, chunk in enumerate(chunks):
            payload = KeypadCodeListChunk(
                index, len(chunks), book.wrong_attempts, locked_until, tuple(chunk)
            )
            try:
                frames.append(self._lock.endpoint.respond(message, payload))
            except ProtocolError as err:
                _LOGGER.warning("Could not seal a keypad list: %s", err.code.value)
                return
        self._lock.send(frames)

    def _answer(self, message: VerifiedMessage, payload: KeypadCodeSetResult) -> None:
        try:
            frame = self._lock.endpoint.respond(message, payload)
        except ProtocolError as err:
            _LOGGER.warning("Could not seal a keypad answer: %s", err.code.value)
            return
        self._lock.send([frame])

    def _unused_pin(self, slot: int) -> str:
        while True:
            pin = generate_pin(self._rng)
            if self._match(pin, skip_slot=slot) is None:
                return pin

    def _match(
        self, pin: str, *, skip_slot: int | None = None
    ) -> KeypadCredential | None:
        """Return the code whose hash ``pin`` matches (every hash is computed)."""
        found = None
        for code in self._book.codes.values():
            digest = self._hasher.keypad_pin_digest(code.salt, pin)
            if hmac.compare_digest(digest, code.digest) and code.slot != skip_slot:
                found = code
        return found

    # The keypad itself -------------------------------------------------------

    def check(self, pin: str) -> KeypadOutcome:
        """Judge a typed PIN; every count and lockout is durable before this returns."""
        lock, book = self._lock, self._book
        now = lock.now_ms()
        if book.locked_out(now):
            return KeypadOutcome.LOCKED_OUT
        code = self._match(pin)
        if code is None:
            book.failures += 1
            book.wrong_attempts += 1
            wait = lockout_ms(book.failures)
            if wait:
                book.locked_until_ms = now + wait
            lock.persist()
            if wait:
                self._report_lockout(wait)
            return KeypadOutcome.WRONG_CODE
        if not code.enabled:
            return KeypadOutcome.DISABLED
        if not code.schedule.allows(now):
            code.refused_outside_schedule += 1
            lock.persist()
            return KeypadOutcome.OUTSIDE_SCHEDULE
        book.failures = 0
        code.last_used_ms = now
        lock.persist()
        self.code_name = code.name
        return KeypadOutcome.UNLOCKED

    def lock_key(self) -> None:
        """Press the lock key: it needs no code, so its events name none."""
        self.code_name = ""

    def _report_lockout(self, wait_ms: int) -> None:
        _LOGGER.warning("Keypad locked out for %d s after wrong codes", wait_ms // 1000)
        lock = self._lock
        lock.broadcast(
            MessageKind.EVENT,
            Event(
                EventType.TAMPER,
                EventSource.KEYPAD,
                lock.wire_status(),
                lock.now_ms(),
                NO_CONTROLLER,
                LOCKOUT_EVENT_NAME,
            ),
        )
