"""Post-pairing endpoints: seal and open frames with all receiver-side checks."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

from .envelope import (
    NO_REPLY,
    PROTOCOL_VERSION,
    InnerMessage,
    OpenedFrame,
    frame_hash,
    open_frame,
    routing_id,
    seal_frame,
)
from .errors import ErrorCode, ProtocolError
from .identity import ControllerIdentity, LockIdentity
from .keys import IdentityPrivateKey, PublicKeyBundle
from .messages import (
    KIND_INFO,
    REQUEST_ID_SIZE,
    CommandResult,
    Direction,
    KeyRotation,
    MessageKind,
    Payload,
    decode_payload,
    encode_payload,
)
from .permissions import may_send
from .registry import ControllerRecord, ControllerRegistry, PairedLock
from .replay import CounterStore, check_fresh, next_counter
from .rng import Clock, Rng, system_clock, system_rng
from .roles import Role
from .suites import SuiteId

MAX_CLOCK_SKEW_MS = 5_000
"""A frame may be stamped up to 5 s in the receiver's future (clock skew)."""

DEFAULT_LIFETIME_MS = 30_000
MAX_OFFSET_DROP_MS = 1_000
"""How far one lock frame may pull the clock-offset estimate down."""
MAX_CONFIRMING_ROUND_TRIP_MS = 2_000
"""A result this soon after its request fixes the lock clock to within this."""
MAX_UNCONFIRMED_DROP_MS = 5_000
"""How far below the last confirmed offset other lock frames may pull the estimate.

Delays lower samples, so without this bound a relay that holds every frame
back a little longer each time drags the estimate, and with it the window
in which old lock frames are still taken as fresh, without limit.  5 s
absorbs the drift of a lock's clock (about 1 s a day for a good RTC) between
round trips; the next prompt result re-anchors.
"""
_PENDING_LIMIT = 64


@dataclass(frozen=True, slots=True)
class VerifiedMessage:
    """A frame that passed every check; what the caller acts on."""

    kind: MessageKind
    payload: Payload
    sender_id: bytes
    counter: int
    issued_at_ms: int
    not_after_ms: int
    request_id: bytes
    reply_to: bytes
    frame_hash: bytes
    suite: SuiteId
    sender_role: Role | None = None
    """The sender's role (lock side only)."""


def _verified(
    inner: InnerMessage, payload: Payload, frame: bytes, role: Role | None
) -> VerifiedMessage:
    return VerifiedMessage(
        kind=inner.kind,
        payload=payload,
        sender_id=inner.sender_id,
        counter=inner.counter,
        issued_at_ms=inner.issued_at_ms,
        not_after_ms=inner.not_after_ms,
        request_id=inner.request_id,
        reply_to=inner.reply_to,
        frame_hash=frame_hash(frame),
        suite=inner.suite,
        sender_role=role,
    )


class UnauthorizedError(ProtocolError):
    """An authentic, fresh request the sender's role may not make.

    ``message`` lets the lock answer with a signed ``not_permitted`` result.
    The counter was already advanced, so the frame cannot be replayed.
    """

    def __init__(self, message: VerifiedMessage) -> None:
        """Wrap the verified message."""
        super().__init__(
            ErrorCode.UNAUTHORIZED, f"role may not send {message.kind.name}"
        )
        self.message = message


class RevokedError(ProtocolError):
    """An authentic, fresh request from a controller that was revoked.

    Checked after the signature, so only the revoked controller itself can
    provoke it; ``message`` lets the lock answer with a signed ``revoked``
    result, which tells that controller to re-pair instead of retrying.
    """

    def __init__(self, message: VerifiedMessage) -> None:
        """Wrap the verified message."""
        super().__init__(ErrorCode.REVOKED, "controller revoked")
        self.message = message


class ClockSkewError(ProtocolError):
    """A frame the lock really sent now, stamped outside our window of its clock.

    Raised only after the signature verified and the counter proved the frame
    new, so it is not a replay.  ``sample_ms`` is the lock's stamp minus our
    clock: far ahead means the lock's clock is ahead; far behind means its
    clock is behind, or something on the path held the frame back.
    """

    def __init__(self, code: ErrorCode, sample_ms: int) -> None:
        """Keep the time code (expired or not yet valid) and the sample."""
        super().__init__(code, "authentic frame outside the clock window")
        self.sample_ms = sample_ms


def _next_offset(lock: PairedLock, sample: int, round_trip_ms: int | None) -> None:
    """Update the lock-clock offset estimate from one signed lock timestamp.

    A sample is the lock's stamp minus our clock on arrival; transit delay
    only ever makes it too low.  A result that answers our own request
    within ``round_trip_ms`` was stamped between sending and arrival, so the
    true offset lies in ``[sample, sample + round_trip_ms]``: the estimate is
    moved into that interval (real drift either way is followed) and becomes
    the anchor.  Other samples raise the estimate at once (and the anchor,
    as a fresh lower bound) but lower it only slowly, and never more than
    ``MAX_UNCONFIRMED_DROP_MS`` below the anchor, however many frames a
    relay holds back.
    """
    current = lock.clock_offset_ms
    anchor = lock.confirmed_offset_ms
    if round_trip_ms is not None and round_trip_ms <= MAX_CONFIRMING_ROUND_TRIP_MS:
        current = min(max(current, sample), sample + round_trip_ms)
        anchor = current
    elif sample >= current:
        current = sample
        anchor = max(anchor, sample)
    else:
        current = max(
            sample, current - MAX_OFFSET_DROP_MS, anchor - MAX_UNCONFIRMED_DROP_MS
        )
    lock.clock_offset_ms = current
    lock.clock_anchor_ms = anchor


def _check_times(inner: InnerMessage, now_ms: int) -> None:
    if inner.not_after_ms - inner.issued_at_ms > KIND_INFO[inner.kind].max_lifetime_ms:
        raise ProtocolError(
            ErrorCode.LIFETIME_TOO_LONG, f"{inner.kind.name} lifetime too long"
        )
    if inner.issued_at_ms > now_ms + MAX_CLOCK_SKEW_MS:
        raise ProtocolError(ErrorCode.NOT_YET_VALID, "issued in the future")
    if now_ms > inner.not_after_ms:
        raise ProtocolError(ErrorCode.EXPIRED, "not_after has passed")


def _lifetime(kind: MessageKind, lifetime_ms: int | None) -> int:
    lifetime = DEFAULT_LIFETIME_MS if lifetime_ms is None else lifetime_ms
    limit = KIND_INFO[kind].max_lifetime_ms
    if lifetime > limit:
        raise ProtocolError(
            ErrorCode.LIFETIME_TOO_LONG, f"{kind.name} allows at most {limit} ms"
        )
    if lifetime <= 0:
        raise ProtocolError(ErrorCode.INVALID_ARGUMENT, "lifetime must be positive")
    return lifetime


def _check_common(
    opened: OpenedFrame, lock_id: bytes, recipient_id: bytes, direction: Direction
) -> InnerMessage:
    inner = opened.inner
    # Header and inner copies are both authenticated; a mismatch is tampering.
    if inner.version != PROTOCOL_VERSION or inner.version != opened.header.version:
        raise ProtocolError(ErrorCode.UNSUPPORTED_VERSION, "inner version differs")
    if inner.suite is not opened.header.suite:
        raise ProtocolError(ErrorCode.DOWNGRADE, "inner suite differs from header")
    if inner.lock_id != lock_id or inner.recipient_id != recipient_id:
        raise ProtocolError(
            ErrorCode.WRONG_RECIPIENT, "addressed to another lock or peer"
        )
    if (
        inner.direction is not direction
        or direction not in KIND_INFO[inner.kind].directions
    ):
        raise ProtocolError(ErrorCode.WRONG_DIRECTION, "wrong direction (reflection?)")
    return inner


def _verify_sender(
    opened: OpenedFrame, bundle: PublicKeyBundle, suite: SuiteId
) -> None:
    if opened.inner.suite is not suite:
        raise ProtocolError(
            ErrorCode.DOWNGRADE, "suite differs from the one fixed at pairing"
        )
    bundle.identity.verify(opened.signature, opened.signed_bytes)


def _apply_rotation(
    bundle: PublicKeyBundle, payload: Payload, suite: SuiteId
) -> PublicKeyBundle:
    if not isinstance(payload, KeyRotation):
        return bundle
    payload.prekey.verify(bundle.identity)
    if payload.prekey.suite is not suite:
        raise ProtocolError(ErrorCode.DOWNGRADE, "rotated prekey is for another suite")
    # The announcement names the prekey its owner holds now, even an older
    # one (a restored backup): sealing to anything newer would go unread.
    return bundle.with_current_prekey(payload.prekey)


class _Endpoint:
    """Shared sealing logic."""

    def __init__(self, signer: IdentityPrivateKey, rng: Rng, clock: Clock) -> None:
        self._signer = signer
        self._rng = rng
        self._clock = clock

    def _seal(
        self,
        *,
        suite: SuiteId,
        lock_id: bytes,
        recipient: PublicKeyBundle,
        direction: Direction,
        kind: MessageKind,
        payload: Payload,
        counter: int,
        issued_at_ms: int,
        lifetime_ms: int | None,
        request_id: bytes | None,
        reply_to: bytes,
    ) -> bytes:
        if direction not in KIND_INFO[kind].directions:
            raise ProtocolError(
                ErrorCode.WRONG_DIRECTION, f"{kind.name} cannot go this way"
            )
        prekey = recipient.prekey_for(suite)
        if prekey is None:
            raise ProtocolError(
                ErrorCode.UNKNOWN_PREKEY, "peer has no prekey for the suite"
            )
        inner = InnerMessage(
            version=PROTOCOL_VERSION,
            suite=suite,
            lock_id=lock_id,
            sender_id=self._signer.public_key.key_id,
            recipient_id=recipient.key_id,
            direction=direction,
            kind=kind,
            counter=counter,
            issued_at_ms=issued_at_ms,
            not_after_ms=issued_at_ms + _lifetime(kind, lifetime_ms),
            request_id=request_id
            if request_id is not None
            else self._rng(REQUEST_ID_SIZE),
            reply_to=reply_to,
            payload=encode_payload(kind, payload),
        )
        return seal_frame(
            inner,
            self._signer,
            prekey,
            routing_id(lock_id, recipient.key_id),
            self._rng,
        )


class LockEndpoint(_Endpoint):
    """The lock's side: opens controller frames, seals results, events, heartbeats."""

    def __init__(
        self,
        identity: LockIdentity,
        registry: ControllerRegistry,
        *,
        counters: CounterStore | None = None,
        last_sent_counter: int = 0,
        rng: Rng = system_rng,
        clock: Clock = system_clock,
    ) -> None:
        """Serve ``registry``; ``counters`` defaults to the registry itself."""
        super().__init__(identity.signing_key, rng, clock)
        self.identity = identity
        self.registry = registry
        self.counters: CounterStore = counters if counters is not None else registry
        self.last_sent_counter = last_sent_counter
        self.routing_id = routing_id(identity.lock_id, identity.key_id)

    def open(self, frame: bytes, now_ms: int | None = None) -> VerifiedMessage:
        """Verify a controller's frame; raise a ``ProtocolError`` on any defect.

        Order: structure, routing, prekey, decryption, addressing, direction,
        sender known, suite fixed at pairing, signature, times, counter; then
        the high-water mark is advanced (see ``CounterStore``), then revocation
        (``RevokedError``) and the role (``UnauthorizedError``) are checked;
        both carry the verified message so the lock can answer it signed.
        """
        now = self._clock() if now_ms is None else now_ms
        opened = open_frame(frame, self.routing_id, self.identity.find_prekey)
        inner = _check_common(
            opened,
            self.identity.lock_id,
            self.identity.key_id,
            Direction.CONTROLLER_TO_LOCK,
        )
        record = self.registry.get(inner.sender_id)
        if record is None:
            raise ProtocolError(ErrorCode.UNKNOWN_SENDER, "controller not paired")
        _verify_sender(opened, record.bundle, record.suite)
        if inner.reply_to != NO_REPLY:
            raise ProtocolError(ErrorCode.MALFORMED, "requests carry no reply hash")
        _check_times(inner, now)
        check_fresh(self.counters, inner.sender_id, inner.counter)
        payload = decode_payload(inner.kind, inner.payload)
        bundle = _apply_rotation(record.bundle, payload, record.suite)
        self.counters.advance(inner.sender_id, inner.counter)
        message = _verified(inner, payload, frame, record.role)
        if record.revoked:
            raise RevokedError(message)
        if not may_send(
            record.role, inner.kind, now, record.valid_from_ms, record.valid_until_ms
        ):
            raise UnauthorizedError(message)
        record.bundle = bundle
        return message

    def seal(
        self,
        controller_id: bytes,
        kind: MessageKind,
        payload: Payload,
        *,
        now_ms: int | None = None,
        lifetime_ms: int | None = None,
        reply_to: VerifiedMessage | None = None,
    ) -> bytes:
        """Seal a frame to one controller; pass ``reply_to`` for responses."""
        record = self.registry.get(controller_id)
        if record is None:
            raise ProtocolError(ErrorCode.UNKNOWN_SENDER, "controller not paired")
        if KIND_INFO[kind].is_response != (reply_to is not None):
            raise ProtocolError(
                ErrorCode.INVALID_ARGUMENT, "responses need reply_to, others not"
            )
        if reply_to is not None and reply_to.sender_id != controller_id:
            raise ProtocolError(
                ErrorCode.INVALID_ARGUMENT, "reply goes to the request's sender"
            )
        now = self._clock() if now_ms is None else now_ms
        self.last_sent_counter = next_counter(self.last_sent_counter, now)
        return self._seal(
            suite=record.suite,
            lock_id=self.identity.lock_id,
            recipient=record.bundle,
            direction=Direction.LOCK_TO_CONTROLLER,
            kind=kind,
            payload=payload,
            counter=self.last_sent_counter,
            issued_at_ms=now,
            lifetime_ms=lifetime_ms,
            request_id=reply_to.request_id if reply_to else None,
            reply_to=reply_to.frame_hash if reply_to else NO_REPLY,
        )

    def respond(
        self, request: VerifiedMessage, payload: Payload, *, now_ms: int | None = None
    ) -> bytes:
        """Seal the response to ``request``, signed over the request's hash.

        A ``CommandResult`` always carries the lock's real high-water mark for
        the requester (whatever the caller put there), so a controller restored
        from an old backup learns where to continue.
        """
        if isinstance(payload, CommandResult):
            payload = replace(
                payload, sender_high_water=self.counters.high_water(request.sender_id)
            )
        kind = next(
            (
                k
                for k, i in KIND_INFO.items()
                if i.is_response and isinstance(payload, i.payload_type)
            ),
            None,
        )
        if kind is None:
            raise ProtocolError(
                ErrorCode.INVALID_ARGUMENT, "payload is not a response type"
            )
        return self.seal(
            request.sender_id, kind, payload, now_ms=now_ms, reply_to=request
        )

    def broadcast(
        self,
        kind: MessageKind,
        payload: Payload,
        *,
        now_ms: int | None = None,
        recipients: Callable[[ControllerRecord], bool] | None = None,
    ) -> dict[bytes, bytes]:
        """Seal ``payload`` to every active controller ``recipients`` accepts."""
        return {
            cid: self.seal(cid, kind, payload, now_ms=now_ms)
            for cid, record in self.registry.records.items()
            if not record.revoked and (recipients is None or recipients(record))
        }


class ControllerEndpoint(_Endpoint):
    """A controller's side: seals requests to its lock, opens the lock's frames."""

    def __init__(
        self,
        identity: ControllerIdentity,
        lock: PairedLock,
        *,
        counters: CounterStore | None = None,
        rng: Rng = system_rng,
        clock: Clock = system_clock,
    ) -> None:
        """Talk to ``lock``; ``counters`` defaults to the ``PairedLock`` record."""
        super().__init__(identity.signing_key, rng, clock)
        self.identity = identity
        self.lock = lock
        self.counters: CounterStore = counters if counters is not None else lock
        self.routing_id = routing_id(lock.lock_id, identity.key_id)
        # Request id -> (frame hash, our clock when sealed).
        self._pending: OrderedDict[bytes, tuple[bytes, int]] = OrderedDict()

    def lock_time(self, now_ms: int | None = None) -> int:
        """Estimate the lock's clock from signed lock times seen so far."""
        now = self._clock() if now_ms is None else now_ms
        return now + self.lock.clock_offset_ms

    def seal(
        self,
        kind: MessageKind,
        payload: Payload,
        *,
        now_ms: int | None = None,
        lifetime_ms: int | None = None,
        request_id: bytes | None = None,
    ) -> bytes:
        """Seal a request; times are stamped on the lock's estimated clock."""
        now = self._clock() if now_ms is None else now_ms
        request_id = (
            request_id if request_id is not None else self._rng(REQUEST_ID_SIZE)
        )
        self.lock.last_sent_counter = next_counter(self.lock.last_sent_counter, now)
        frame = self._seal(
            suite=self.lock.suite,
            lock_id=self.lock.lock_id,
            recipient=self.lock.bundle,
            direction=Direction.CONTROLLER_TO_LOCK,
            kind=kind,
            payload=payload,
            counter=self.lock.last_sent_counter,
            issued_at_ms=self.lock_time(now),
            lifetime_ms=lifetime_ms,
            request_id=request_id,
            reply_to=NO_REPLY,
        )
        # Responses must be signed over this hash; bounded so it cannot grow.
        self._pending[request_id] = (frame_hash(frame), now)
        while len(self._pending) > _PENDING_LIMIT:
            self._pending.popitem(last=False)
        return frame

    def open(self, frame: bytes, now_ms: int | None = None) -> VerifiedMessage:
        """Verify a frame from the lock; raise a ``ProtocolError`` on any defect."""
        now = self._clock() if now_ms is None else now_ms
        opened = open_frame(frame, self.routing_id, self.identity.find_prekey)
        inner = _check_common(
            opened,
            self.lock.lock_id,
            self.identity.key_id,
            Direction.LOCK_TO_CONTROLLER,
        )
        if inner.sender_id != self.lock.bundle.key_id:
            raise ProtocolError(ErrorCode.UNKNOWN_SENDER, "not our lock")
        _verify_sender(opened, self.lock.bundle, self.lock.suite)
        is_response = KIND_INFO[inner.kind].is_response
        round_trip_ms: int | None = None
        if is_response:
            pending = self._pending.get(inner.request_id)
            if pending is None or pending[0] != inner.reply_to:
                raise ProtocolError(
                    ErrorCode.UNSOLICITED_RESPONSE, "answers no pending request"
                )
            round_trip_ms = now - pending[1]
        elif inner.reply_to != NO_REPLY:
            raise ProtocolError(
                ErrorCode.MALFORMED, "only responses carry a reply hash"
            )
        # Judge the lock's times on our estimate of its clock.
        try:
            _check_times(inner, self.lock_time(now))
        except ProtocolError as err:
            check_fresh(self.counters, inner.sender_id, inner.counter)
            if err.code in (ErrorCode.EXPIRED, ErrorCode.NOT_YET_VALID):
                raise ClockSkewError(err.code, inner.issued_at_ms - now) from None
            raise
        check_fresh(self.counters, inner.sender_id, inner.counter)
        payload = decode_payload(inner.kind, inner.payload)
        bundle = _apply_rotation(self.lock.bundle, payload, self.lock.suite)
        self.counters.advance(inner.sender_id, inner.counter)
        self.lock.bundle = bundle
        _next_offset(self.lock, inner.issued_at_ms - now, round_trip_ms)
        if isinstance(payload, CommandResult):
            # Jump past whatever the lock has seen from us (restored backups).
            self.lock.last_sent_counter = max(
                self.lock.last_sent_counter, payload.sender_high_water
            )
        return _verified(inner, payload, frame, None)
