"""Where controllers join the lock: the pairing channel and the joins not yet final.

A hello is answered only while pairing is possible (the button's window, or
an unexpired invitation); a failed proof is written before its refusal is
sent.  Every answer is sealed to the key the controller's frame carries
(`pairing_seal`), so the relay reads none of them and a refusal looks like a
challenge.  A successful pairing is provisional (see `joining`): the controller's
first authenticated frame makes it final, and the fail-safe drops it if that
frame never comes.
"""

from __future__ import annotations

import logging

from custom_components.secure_lock.protocol.errors import (
    ErrorCode,
    MalformedError,
    PairingError,
    ProtocolError,
)
from custom_components.secure_lock.protocol.messages import (
    EventSource,
    JoinMethod,
    MessageKind,
    ResultCode,
)
from custom_components.secure_lock.protocol.pairing import (
    UNKNOWN_LOCK,
    LockPairing,
    LockPairingOutcome,
)
from custom_components.secure_lock.protocol.pairing_messages import (
    PairingHello,
    PairingMessageType,
)
from custom_components.secure_lock.protocol.pairing_seal import (
    PairingRequest,
    seal_answer,
)
from custom_components.secure_lock.protocol.roles import Role
from custom_components.secure_lock.protocol.setup_code import discriminator_of

from .joining import PendingJoin
from .lock_services import LockServices
from .timing import LockTimer, LockTimers

_LOGGER = logging.getLogger(__name__)

# A failed proof gets a signed notice only when it was signed by the hello's
# key (so only the controller itself can learn, or cause, the failure).
_PROOF_NOTICES = frozenset(
    {ErrorCode.BAD_MAC, ErrorCode.DOWNGRADE, ErrorCode.MALFORMED}
)
# Refusals of a hello that tell its sender something useful; anything else
# (noise, another lock's hello) gets no answer at all.
_HELLO_NOTICES = frozenset(
    {
        ErrorCode.PAIRING_BUSY,
        ErrorCode.PAIRING_LOCKED_OUT,
        ErrorCode.UNSUPPORTED_SUITE,
    }
)


class JoinDesk:
    """Answers pairing frames and keeps provisional joins to their fail-safe."""

    def __init__(
        self,
        lock: LockServices,
        lock_id: bytes,
        pairing: LockPairing,
        timers: LockTimers,
    ) -> None:
        """Pair through `pairing` (hellos must name `lock_id`); the fail-safe runs on `timers`."""
        self._lock = lock
        self._lock_id = lock_id
        self._pairing = pairing
        self._timers = timers

    def accepts_pairing(self, now_ms: int) -> bool:
        """Return whether a pairing could start now: the button's window or an invitation."""
        return self._pairing.is_open(
            now_ms
        ) or self._lock.state.joins.has_unexpired_invitation(now_ms)

    def has_open_code(self, discriminator: int, now_ms: int) -> bool:
        """Return whether a code with this discriminator could start a pairing now.

        The label's while the button's window is open (a lock with an owner
        then refuses it, signed, which tells the prober why); an
        invitation's until it expires.
        """
        if discriminator == discriminator_of(self._lock_id) and self._pairing.is_open(
            now_ms
        ):
            return True
        return any(
            i.secret.discriminator == discriminator and now_ms < i.expires_at_ms
            for i in self._lock.state.joins.invitations.values()
        )

    def receive(self, body: bytes) -> bytes | None:
        """Handle one pairing-channel frame; return the sealed reply to send, if any."""
        if not body:
            return None
        now = self._lock.now_ms()
        self._lock.state.joins.purge_expired_invitations(now)
        try:
            request = PairingRequest.from_bytes(body)
        except ProtocolError:
            return None
        message = request.message
        if not self.accepts_pairing(now) and not (
            message[0] == PairingMessageType.PROOF
            and self._pairing.remembers_result(now)
        ):
            # Nothing to pair with (at most a lost result to repeat): no
            # answer, no write, whatever arrives.
            return None
        reply: bytes | None = None
        if message[0] == PairingMessageType.HELLO:
            reply = self._hello(message, now)
        elif message[0] == PairingMessageType.PROOF:
            reply = self._proof(message, now)
        if reply is None:
            return None
        try:
            return seal_answer(request, reply)
        except MalformedError:
            # A key nobody can decrypt for: nobody to answer.
            return None

    def _label_allowed(self, controller_id: bytes) -> bool:
        """Return whether the label may pair this key: factory state, or its own join."""
        state = self._lock.state
        return not state.joins.blocks_label(controller_id) and all(
            r.controller_id == controller_id and r.controller_id in state.joins.pending
            for r in state.registry.records.values()
            if not r.revoked
        )

    def _hello(self, body: bytes, now: int) -> bytes | None:
        try:
            hello = PairingHello.from_bytes(body)
        except ProtocolError:
            return None
        if hello.lock_id not in (self._lock_id, UNKNOWN_LOCK):
            # Another lock's hello; a typed code's hello names no lock.
            return None
        state = self._lock.state
        controller_id = hello.controller_key.key_id
        if (
            state.registry.get(controller_id) is not None
            and controller_id not in state.joins.pending
        ):
            # Known keys never join again: no re-pairing widens a role.
            return self._pairing.failure_notice(
                hello.nonce, ErrorCode.ALREADY_PAIRED, now
            )
        label = self._label_allowed(controller_id)
        invitations = state.joins.offers_for(controller_id, now)
        if not invitations and not (label and self._pairing.is_open(now)):
            return self._pairing.failure_notice(
                hello.nonce, ErrorCode.INVITATION_REQUIRED, now
            )
        try:
            return self._pairing.handle_hello(
                body, now, label=label, invitations=invitations
            )
        except PairingError as err:
            if err.code in _HELLO_NOTICES:
                return self._pairing.failure_notice(hello.nonce, err.code, now)
            return None

    def _proof(self, body: bytes, now: int) -> bytes | None:
        state = self._lock.state
        nonce = self._pairing.session_nonce()
        controller_id = self._pairing.session_controller_id()
        failures = state.pairing_attempts.failures
        try:
            result, outcome = self._pairing.handle_proof(
                body,
                Role.ADMIN,
                now,
                label=controller_id is not None and self._label_allowed(controller_id),
                invitations=state.joins.offers_for(controller_id, now)
                if controller_id is not None
                else (),
            )
        except PairingError as err:
            _LOGGER.info("Pairing proof refused: %s", err.code.value)
            if state.pairing_attempts.failures != failures:
                # Persisted first: a failed proof counts even if we crash right now.
                self._lock.persist()
            if (
                nonce is not None
                and self._pairing.session_nonce() is None
                and err.code in _PROOF_NOTICES
            ):
                return self._pairing.failure_notice(nonce, err.code, now, limited=False)
            return None
        if not outcome.repeated:
            self._begin_join(outcome, now)
        return result

    def _begin_join(self, outcome: LockPairingOutcome, now: int) -> None:
        """Store the new controller provisionally; the fail-safe drops it if unheard."""
        record = outcome.record
        self._lock.state.registry.add(record)
        self._lock.state.joins.begin(record.controller_id, outcome.grant_id, now)
        self._lock.persist()
        self.schedule_failsafe()
        _LOGGER.info(
            "Paired controller %s as %s (final once it is heard from)",
            record.name,
            record.role.name.lower(),
        )

    def commit_join(self, controller_id: bytes) -> PendingJoin | None:
        """First authenticated frame of a new controller: its join is final (not yet written)."""
        join = self._lock.state.joins.commit(controller_id)
        if join is not None:
            self._lock.state.audit.append(
                self._lock.now_ms(),
                MessageKind.CONTROLLER_ADD,
                EventSource.CONTROLLER
                if join.method is JoinMethod.INVITATION
                else EventSource.UNKNOWN,
                ResultCode.OK,
                controller_id,
            )
        return join

    def expire_overdue(self) -> None:
        """Drop joins whose fail-safe passed on the wall clock before its timer fired."""
        deadline = self._lock.state.joins.next_deadline()
        if deadline is not None and deadline <= self._lock.now_ms():
            self._failsafe_tick()

    def schedule_failsafe(self) -> None:
        """Set the fail-safe timer for the next provisional join (none if there is none)."""
        self._timers.cancel(LockTimer.FAILSAFE)
        deadline = self._lock.state.joins.next_deadline()
        if deadline is None:
            return
        now = self._lock.now_ms()
        if deadline <= now:
            # Due already (e.g. the lock was off meanwhile): drop them now,
            # before any frame is handled.
            self._failsafe_tick()
            return
        self._timers.start(
            LockTimer.FAILSAFE, (deadline - now) / 1000, self._failsafe_tick
        )

    def _failsafe_tick(self) -> None:
        self._timers.cancel(LockTimer.FAILSAFE)
        expired = self._lock.state.joins.expire(self._lock.now_ms())
        for join in expired:
            # Never heard from: the controller does not know it was paired.
            self._lock.state.registry.records.pop(join.controller_id, None)
            _LOGGER.info("A pairing was never confirmed; its record was dropped")
        if expired:
            self._lock.persist()
        self.schedule_failsafe()
