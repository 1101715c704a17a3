"""Generate the specification's vectors: ``python -m tests.protocol.make_spec_vectors``.

Writes ``docs/protocol-vectors.json`` (docs/protocol.md, section 17.2) from
the project's code.  Everything is derived from fixed seeds and a fixed time,
except two things ``cryptography`` cannot seed: HPKE encapsulation (the
ephemeral key inside every frame and every sealed pairing answer) and
ML-DSA-65 signing (hedged).  Those are
captured once and kept as long as the code still produces exactly the same
content with them: a kept frame must open, with the project's code, to the
very inner bytes and content key the code makes now, and a kept ML-DSA
signature must verify over the manifest the code makes now.  Anything else is
sealed or signed afresh, so a rerun writes the same file byte for byte and a
change of the wire format changes the file (``test_spec_vectors.py``).
Pass ``--recapture`` to replace every captured part.
"""

from __future__ import annotations

# First: registers the protocol package without the integration's __init__.
import device_sim  # noqa: F401

# isort: split

from dataclasses import dataclass, fields, is_dataclass
import datetime as dt
from enum import IntEnum
import hashlib
import json
from pathlib import Path
import sys
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from custom_components.secure_lock.protocol import (
    AuditEntry,
    Command,
    CommandResult,
    ControllerEndpoint,
    ControllerIdentity,
    ControllerJoined,
    ControllerRecord,
    ControllerRegistry,
    Event,
    EventSource,
    EventType,
    FirmwareStatus,
    FirmwareVersion,
    Heartbeat,
    LockEndpoint,
    LockIdentity,
    LockStatus,
    MessageKind,
    PairedLock,
    ReleaseSigningKey,
    ResultCode,
    Role,
    SuiteId,
    VerifiedMessage,
)
from custom_components.secure_lock.protocol.audit import GENESIS_HASH, chain_hash
from custom_components.secure_lock.protocol.certs import verify_device_chain
from custom_components.secure_lock.protocol.chunking import firmware_chunk_capacity
from custom_components.secure_lock.protocol.encoding import Writer
from custom_components.secure_lock.protocol.envelope import (
    HEADER_SIZE,
    InnerMessage,
    frame_hash,
    open_frame,
    routing_id,
)
from custom_components.secure_lock.protocol.firmware import (
    FirmwareManifest,
    ReleasePublicKey,
    SignatureAlgorithm,
    SignedManifest,
    transfer_id_of,
    verify_manifest,
)
from custom_components.secure_lock.protocol.kem import KemPublicKey
from custom_components.secure_lock.protocol.keypad_codes import (
    KeypadSchedule,
    PinChoice,
    WeeklySlot,
    generate_pin,
)
from custom_components.secure_lock.protocol.keys import (
    IdentityPublicKey,
    Prekey,
    SignedPrekey,
)
from custom_components.secure_lock.protocol.messages import (
    AuditLogChunk,
    AuditLogRequest,
    ControllerAdd,
    ControllerListChunk,
    ControllerListRequest,
    ControllerRemove,
    FirmwareChunk,
    FirmwareInstall,
    FirmwareSlot,
    FirmwareStatusRequest,
    InvitationCreate,
    InvitationRevoke,
    JoinMethod,
    KeypadCodeListChunk,
    KeypadCodeListRequest,
    KeypadCodeRemove,
    KeypadCodeSet,
    KeypadCodeSetResult,
    KeypadCodeSummary,
    KeyRotation,
    Payload,
    Settings,
    TimeSync,
    UpdateOutcome,
    UpdateState,
)
from custom_components.secure_lock.protocol.rng import DeterministicRng
from custom_components.secure_lock.protocol.setup_code import CodeSecret
from custom_components.secure_lock.protocol.spake2plus import derive_prover_secret
from custom_components.secure_lock.protocol.state import BoltState, DoorState

from .spec_negative_vectors import negative_vectors
from .spec_pairing_negative import (
    PairingBase,
    certified_challenge,
    other_lock,
    pairing_negative_vectors,
    suite_negotiation,
)
from .spec_pairing_registry import (
    INVITATION_DISCRIMINATOR,
    INVITATION_ID,
    INVITATION_PASSCODE,
)
from .spec_pairing_vectors import (
    LABEL_DISCRIMINATOR,
    LABEL_PASSCODE,
    pairing_run,
    resync_notice,
)
from .spec_setup_vectors import discovery_vector, setup_code_vectors

ROOT = Path(__file__).resolve().parents[2]
SPEC_VECTORS = ROOT / "docs" / "protocol-vectors.json"
COMMAND = "python -m tests.protocol.make_spec_vectors"

SEED = b"secure-lock spec vectors v1"
TIME_MS = 1_800_000_000_000
OPEN_AT_MS = TIME_MS + 1_000
SUITES = (SuiteId.X25519_CHACHA20, SuiteId.MLKEM768_X25519_CHACHA20)
CONTROLLER_NAME = "Vector HA"
REQUEST_ID = bytes(range(16))
STATUS = LockStatus(
    bolt_state=BoltState.UNLOCKED,
    door_state=DoorState.CLOSED,
    battery_percent=87,
    firmware_version="1.0.0",
    has_latch=True,
    auto_relock_seconds=30,
)
MANIFEST = FirmwareManifest(
    model="Secure Lock SL-1 (simulated)",
    version=FirmwareVersion(1, 1, 0),
    security_version=2,
    image_size=65536,
    image_sha256=hashlib.sha256(bytes(65536)).digest(),
    min_version=FirmwareVersion(1, 0, 0),
    release_notes="Spec vector",
)
TUESDAY, SATURDAY = 0b0000010, 0b0100000
# A cleaner's weekly code (Tuesdays 08:00-12:00, Saturdays 09:30-10:15, at
# UTC+01:00) and a guest's one-time window at UTC-05:00: both signs of the
# shifted offset, one and two weekly slots.
CLEANER_SCHEDULE = KeypadSchedule(
    weekly=(WeeklySlot(TUESDAY, 8 * 60, 12 * 60), WeeklySlot(SATURDAY, 570, 615)),
    utc_offset_minutes=60,
)
GUEST_SCHEDULE = KeypadSchedule(
    valid_from_ms=TIME_MS,
    valid_until_ms=TIME_MS + 3 * 86_400_000,
    utc_offset_minutes=-300,
)
TYPED_PIN = "20261204"

type Json = dict[str, Any]


class RecordingRng:
    """A ``DeterministicRng`` that remembers its last draw (the content key)."""

    def __init__(self, seed: bytes) -> None:
        """Start the stream for ``seed``."""
        self._rng = DeterministicRng(seed)
        self.last = b""

    def __call__(self, size: int) -> bytes:
        """Return and remember the next ``size`` bytes."""
        self.last = self._rng(size)
        return self.last


def to_json(value: object) -> Any:
    """Turn a payload (dataclasses, enums, bytes, keys) into JSON values."""
    if isinstance(value, bool | int | str) or value is None:
        return int(value) if isinstance(value, IntEnum) else value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, IdentityPublicKey | KemPublicKey):
        return value.raw.hex()
    if isinstance(value, tuple):
        return [to_json(item) for item in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in fields(value)}
    raise TypeError(f"no JSON form for {type(value).__name__}")


@dataclass(slots=True)
class Parties:
    """The vector lock (both suites) and one controller per suite."""

    lock: LockIdentity
    controllers: dict[SuiteId, ControllerIdentity]
    guest: dict[SuiteId, ControllerIdentity]


def make_parties() -> Parties:
    """Draw every key from ``SEED`` in the documented order."""
    rng = DeterministicRng(SEED)
    lock = LockIdentity.generate(rng, now_ms=TIME_MS, suites=SUITES[::-1])
    controllers = {
        suite: ControllerIdentity.generate(rng, now_ms=TIME_MS, suites=(suite,))
        for suite in SUITES
    }
    guest = {
        suite: ControllerIdentity.generate(rng, now_ms=TIME_MS, suites=(suite,))
        for suite in SUITES
    }
    return Parties(lock, controllers, guest)


def prekey_json(prekey: SignedPrekey, private: bytes | None = None) -> Json:
    """Return a signed prekey's fields, its encoding and (optionally) its private key."""
    out: Json = {
        "suite": int(prekey.suite),
        "public": prekey.public_key.raw.hex(),
        "prekey_id": prekey.prekey_id.hex(),
        "valid_from": prekey.valid_from,
        "valid_until": prekey.valid_until,
        "signature": prekey.signature.hex(),
        "encoding": prekey.encode(Writer()).finish().hex(),
    }
    if private is not None:
        out["private"] = private.hex()
    return out


def identity_json(
    identity: LockIdentity | ControllerIdentity, suites: tuple[SuiteId, ...]
) -> Json:
    """Return an identity's public key, key id and prekeys (with private halves)."""
    prekeys: list[Prekey] = [identity.current_prekey(s) for s in suites]
    return {
        "identity_private_seed": identity.signing_key.private_bytes().hex(),
        "identity_public": identity.signing_key.public_key.raw.hex(),
        "key_id": identity.key_id.hex(),
        "prekeys": [
            prekey_json(p.signed, p.private_key.private_bytes()) for p in prekeys
        ],
    }


class SuiteFrames:
    """Seals the frames of one suite, reusing captured frames that still match."""

    def __init__(
        self, parties: Parties, suite: SuiteId, old: dict[str, Json], recapture: bool
    ) -> None:
        """Pair the lock with this suite's controller (records, no pairing run)."""
        self.parties = parties
        self.suite = suite
        self.old = old
        self.recapture = recapture
        self.lock = parties.lock
        self.ctrl = parties.controllers[suite]
        self.frames: dict[str, Json] = {}
        self.raw: dict[str, bytes] = {}

    def record(self) -> ControllerRecord:
        """Return the lock's record of the controller (admin, this suite)."""
        return ControllerRecord(
            self.ctrl.key_id,
            CONTROLLER_NAME,
            self.ctrl.public_bundle(suites=(self.suite,)),
            Role.ADMIN,
            self.suite,
        )

    def lock_endpoint(self, rng: RecordingRng) -> LockEndpoint:
        """Return a fresh lock endpoint whose registry holds only the controller."""
        registry = ControllerRegistry()
        registry.add(self.record())
        return LockEndpoint(self.lock, registry, rng=rng, clock=lambda: TIME_MS)

    def controller_endpoint(self, rng: RecordingRng) -> ControllerEndpoint:
        """Return a fresh controller endpoint for the vector lock."""
        paired = PairedLock(
            self.lock.lock_id,
            self.lock.public_bundle(suites=(self.suite,)),
            self.suite,
            Role.ADMIN,
        )
        return ControllerEndpoint(self.ctrl, paired, rng=rng, clock=lambda: TIME_MS)

    def _rng(self, name: str) -> RecordingRng:
        return RecordingRng(SEED + b"/frame/" + bytes([self.suite]) + name.encode())

    def request(self, name: str, kind: MessageKind, payload: Payload) -> None:
        """Add a controller-to-lock frame."""
        rng = self._rng(name)
        frame = self.controller_endpoint(rng).seal(
            kind, payload, now_ms=TIME_MS, request_id=REQUEST_ID
        )
        self._add(name, frame, rng.last, to_lock=True, request=None)

    def response(self, name: str, request: str, payload: Payload) -> None:
        """Add the lock's signed answer to the request frame ``request``."""
        rng = self._rng(name)
        endpoint = self.lock_endpoint(rng)
        verified = endpoint.open(self.raw[request], OPEN_AT_MS)
        frame = endpoint.respond(verified, payload, now_ms=TIME_MS)
        self._add(name, frame, rng.last, to_lock=False, request=request)

    def unsolicited(self, name: str, kind: MessageKind, payload: Payload) -> None:
        """Add a lock-to-controller frame that answers nothing (event, heartbeat...)."""
        rng = self._rng(name)
        frame = self.lock_endpoint(rng).seal(
            self.ctrl.key_id, kind, payload, now_ms=TIME_MS
        )
        self._add(name, frame, rng.last, to_lock=False, request=None)

    def _open(
        self, frame: bytes, to_lock: bool, request: str | None
    ) -> VerifiedMessage:
        if to_lock:
            return self.lock_endpoint(self._rng("open")).open(frame, OPEN_AT_MS)
        endpoint = self.controller_endpoint(self._rng("open"))
        if request is not None:
            # The controller accepts a response only to a request it sealed.
            endpoint._pending[REQUEST_ID] = (  # noqa: SLF001
                frame_hash(self.raw[request]),
                TIME_MS,
            )
        return endpoint.open(frame, OPEN_AT_MS)

    def _inner(self, frame: bytes, to_lock: bool) -> InnerMessage:
        """Decrypt ``frame`` as its recipient (no sender checks) and return the inner message."""
        if to_lock:
            opened = open_frame(
                frame,
                routing_id(self.lock.lock_id, self.lock.key_id),
                self.lock.find_prekey,
            )
        else:
            opened = open_frame(
                frame,
                routing_id(self.lock.lock_id, self.ctrl.key_id),
                self.ctrl.find_prekey,
            )
        return opened.inner

    def _add(
        self,
        name: str,
        fresh: bytes,
        content_key: bytes,
        *,
        to_lock: bool,
        request: str | None,
    ) -> None:
        frame = fresh
        kept = self.old.get(name)
        if kept is not None and not self.recapture:
            candidate = bytes.fromhex(kept["frame"])
            # Same content key and header, and the same inner message: only
            # the HPKE ephemeral key (and so the signature) differs.
            if (
                kept["content_key"] == content_key.hex()
                and candidate[:HEADER_SIZE] == fresh[:HEADER_SIZE]
                and self._inner(candidate, to_lock) == self._inner(fresh, to_lock)
            ):
                frame = candidate
        message = self._open(frame, to_lock, request)
        entry: Json = {
            "suite": int(self.suite),
            "sender": "controller" if to_lock else "lock",
            "kind": int(message.kind),
            "kind_name": message.kind.name,
            "frame": frame.hex(),
            "content_key": content_key.hex(),
            "open_at_ms": OPEN_AT_MS,
            "inner": {
                "sender_id": message.sender_id.hex(),
                "counter": message.counter,
                "issued_at_ms": message.issued_at_ms,
                "not_after_ms": message.not_after_ms,
                "request_id": message.request_id.hex(),
                "reply_to": message.reply_to.hex(),
            },
            "payload": message.payload.to_bytes().hex(),
            "payload_fields": to_json(message.payload),
        }
        if request is not None:
            entry["answers"] = request
        self.frames[name] = entry
        self.raw[name] = frame


def audit_entries(controller_id: bytes) -> tuple[AuditEntry, ...]:
    """Three log entries: an unlock by a controller, a turn by hand, a lock."""
    return (
        AuditEntry(
            0,
            TIME_MS - 60_000,
            MessageKind.UNLOCK,
            EventSource.CONTROLLER,
            ResultCode.OK,
            controller_id,
        ),
        AuditEntry(
            1, TIME_MS - 30_000, MessageKind.LOCK, EventSource.MANUAL, ResultCode.OK
        ),
        AuditEntry(
            2,
            TIME_MS,
            MessageKind.LOCK,
            EventSource.CONTROLLER,
            ResultCode.JAMMED,
            controller_id,
        ),
    )


def audit_vector(controller_id: bytes) -> Json:
    """Return the chain hashes after each entry, from the genesis hash."""
    hashes = [GENESIS_HASH]
    for entry in audit_entries(controller_id):
        hashes.append(chain_hash(hashes[-1], entry))
    return {
        "entries": [
            {
                "fields": to_json(entry),
                "encoding": entry.encode(Writer()).finish().hex(),
            }
            for entry in audit_entries(controller_id)
        ],
        "chain": [h.hex() for h in hashes],
    }


def suite_frames(
    parties: Parties, suite: SuiteId, old: dict[str, Json], recapture: bool
) -> SuiteFrames:
    """Every message kind of section 9 in its direction(s), for one suite."""
    out = SuiteFrames(parties, suite, old, recapture)
    ctrl_id = parties.controllers[suite].key_id
    guest = parties.guest[suite]
    for kind in (
        MessageKind.LOCK,
        MessageKind.UNLOCK,
        MessageKind.OPEN,
        MessageKind.STATUS_REQUEST,
    ):
        out.request(kind.name.lower(), kind, Command())
    out.request(
        "controller_add",
        MessageKind.CONTROLLER_ADD,
        ControllerAdd(
            guest.public_bundle(suites=(suite,)),
            "Guest phone",
            Role.GUEST,
            TIME_MS,
            TIME_MS + 86_400_000,
        ),
    )
    out.request(
        "controller_remove",
        MessageKind.CONTROLLER_REMOVE,
        ControllerRemove(guest.key_id),
    )
    out.request("controller_list", MessageKind.CONTROLLER_LIST, ControllerListRequest())
    secret = CodeSecret(
        INVITATION_DISCRIMINATOR,
        derive_prover_secret(INVITATION_PASSCODE, parties.lock.lock_id),
    )
    out.request(
        "invitation_create",
        MessageKind.INVITATION_CREATE,
        InvitationCreate(
            INVITATION_ID,
            secret,
            Role.GUEST,
            TIME_MS,
            TIME_MS + 86_400_000,
            TIME_MS + 900_000,
        ),
    )
    out.request(
        "invitation_revoke",
        MessageKind.INVITATION_REVOKE,
        InvitationRevoke(INVITATION_ID),
    )
    ctrl_copy = ControllerIdentity.from_bytes(parties.controllers[suite].to_bytes())
    out.request(
        "key_rotation_controller",
        MessageKind.KEY_ROTATION,
        KeyRotation(ctrl_copy.rotate_prekeys(out._rng("rotate"), TIME_MS)[0]),  # noqa: SLF001
    )
    out.request("time_sync", MessageKind.TIME_SYNC, TimeSync(TIME_MS, True))
    out.request("settings", MessageKind.SETTINGS, Settings(30))
    out.request(
        "audit_log_request", MessageKind.AUDIT_LOG_REQUEST, AuditLogRequest(0, 16)
    )
    offer_data = ed25519_only_envelope().to_bytes()
    transfer_id = MANIFEST.transfer_id
    out.request(
        "firmware_offer",
        MessageKind.FIRMWARE_OFFER,
        FirmwareChunk(transfer_id, 0, len(offer_data), offer_data),
    )
    image = bytes(MANIFEST.image_size)
    out.request(
        "firmware_chunk",
        MessageKind.FIRMWARE_CHUNK,
        FirmwareChunk(
            transfer_id, 0, len(image), image[: firmware_chunk_capacity(suite)]
        ),
    )
    out.request(
        "firmware_status_request",
        MessageKind.FIRMWARE_STATUS_REQUEST,
        FirmwareStatusRequest(),
    )
    out.request(
        "firmware_install", MessageKind.FIRMWARE_INSTALL, FirmwareInstall(transfer_id)
    )
    keypad_requests(out)

    out.response(
        "command_result",
        "unlock",
        CommandResult(ResultCode.OK, STATUS, TIME_MS, 0),
    )
    out.unsolicited(
        "event",
        MessageKind.EVENT,
        Event(
            EventType.STATE_CHANGED,
            EventSource.CONTROLLER,
            STATUS,
            TIME_MS,
            ctrl_id,
            CONTROLLER_NAME,
        ),
    )
    out.unsolicited(
        "heartbeat", MessageKind.HEARTBEAT, Heartbeat(STATUS, TIME_MS, 3600)
    )
    admin = out.record().summary()
    out.response(
        "controller_list_chunk",
        "controller_list",
        ControllerListChunk(0, 1, (admin,)),
    )
    joined = ControllerRecord(
        guest.key_id,
        "Guest phone",
        guest.public_bundle(suites=(suite,)),
        Role.GUEST,
        suite,
        TIME_MS,
        TIME_MS + 86_400_000,
    ).summary()
    out.unsolicited(
        "controller_joined",
        MessageKind.CONTROLLER_JOINED,
        ControllerJoined(
            joined, JoinMethod.INVITATION, ctrl_id, CONTROLLER_NAME, TIME_MS
        ),
    )
    lock_copy = LockIdentity.from_bytes(parties.lock.to_bytes())
    rotated = [
        p
        for p in lock_copy.rotate_prekeys(out._rng("rotate"), TIME_MS)  # noqa: SLF001
        if p.suite is suite
    ]
    out.unsolicited(
        "key_rotation_lock", MessageKind.KEY_ROTATION, KeyRotation(rotated[0])
    )
    # One log for both suites: the audit chain vector below is this chunk's.
    entries = audit_entries(parties.controllers[SUITES[0]].key_id)
    head = GENESIS_HASH
    for entry in entries:
        head = chain_hash(head, entry)
    out.response(
        "audit_log_chunk",
        "audit_log_request",
        AuditLogChunk(entries, True, GENESIS_HASH, head),
    )
    out.response(
        "firmware_status",
        "firmware_status_request",
        FirmwareStatus(
            result=ResultCode.OK,
            state=UpdateState.RECEIVING,
            running_version="1.0.0",
            running_slot=FirmwareSlot.A,
            security_version=1,
            lock_time_ms=TIME_MS,
            transfer_id=transfer_id,
            received=firmware_chunk_capacity(suite),
            total=MANIFEST.image_size,
            pending_version="1.1.0",
            last_outcome=UpdateOutcome.NONE,
        ),
    )
    keypad_answers(out)
    out.unsolicited(
        "event_report",
        MessageKind.EVENT,
        Event(EventType.REPORT, EventSource.UNKNOWN, STATUS, TIME_MS),
    )
    return out


def keypad_requests(out: SuiteFrames) -> None:
    """Add KEYPAD_CODE_SET with a typed PIN and with one the lock draws, remove, list."""
    out.request(
        "keypad_code_set_typed",
        MessageKind.KEYPAD_CODE_SET,
        KeypadCodeSet(1, "Cleaner", PinChoice.TYPED, CLEANER_SCHEDULE, pin=TYPED_PIN),
    )
    out.request(
        "keypad_code_set_generate",
        MessageKind.KEYPAD_CODE_SET,
        KeypadCodeSet(2, "Guest Anna", PinChoice.GENERATE, GUEST_SCHEDULE),
    )
    out.request(
        "keypad_code_remove", MessageKind.KEYPAD_CODE_REMOVE, KeypadCodeRemove(1)
    )
    out.request(
        "keypad_code_list", MessageKind.KEYPAD_CODE_LIST, KeypadCodeListRequest()
    )


def keypad_answers(out: SuiteFrames) -> None:
    """Add the lock's answers: the drawn PIN (sent once) and its list of both codes."""
    drawn = generate_pin(DeterministicRng(SEED + b"/keypad-pin"))
    out.response(
        "keypad_code_set_result",
        "keypad_code_set_generate",
        KeypadCodeSetResult(2, TIME_MS, drawn),
    )
    codes = (
        KeypadCodeSummary(
            1, "Cleaner", CLEANER_SCHEDULE, True, TIME_MS - 86_400_000, 2
        ),
        KeypadCodeSummary(2, "Guest Anna", GUEST_SCHEDULE, False),
    )
    out.response(
        "keypad_code_list_chunk",
        "keypad_code_list",
        KeypadCodeListChunk(0, 1, 3, 0, codes),
    )


FIRMWARE_SEED = SEED + b"/firmware"


def release_key() -> ReleaseSigningKey:
    """Return the release key: Ed25519 seed, then ML-DSA-65 seed, from ``FIRMWARE_SEED``."""
    rng = DeterministicRng(FIRMWARE_SEED)
    return ReleaseSigningKey(rng(32), rng(32))


def ed25519_only_envelope() -> SignedManifest:
    """Return the manifest signed by the Ed25519 half alone (deterministic)."""
    rng = DeterministicRng(FIRMWARE_SEED)
    return ReleaseSigningKey(rng(32), None).sign(MANIFEST)


def firmware_vector(old: Json, recapture: bool) -> Json:
    """Release keys, manifest, both envelopes (the hybrid one captured once)."""
    key = release_key()
    public = key.public_key()
    ed_only = ed25519_only_envelope()
    hybrid = key.sign(MANIFEST)
    kept = old.get("signed_hybrid")
    if kept is not None and not recapture:
        candidate = SignedManifest.from_bytes(bytes.fromhex(kept))
        if (
            candidate.manifest_bytes == MANIFEST.to_bytes()
            and candidate.signatures[0] == hybrid.signatures[0]
        ):
            verify_manifest(candidate.to_bytes(), public)
            hybrid = candidate
    verify_manifest(hybrid.to_bytes(), public)
    verify_manifest(ed_only.to_bytes(), ReleasePublicKey(public.ed25519))
    seeds = key.to_bytes()
    return {
        "ed25519_seed": seeds[1:33].hex(),
        "mldsa65_seed": seeds[34:66].hex(),
        "release_public_key": public.to_bytes().hex(),
        "release_public_key_ed25519_only": ReleasePublicKey(public.ed25519)
        .to_bytes()
        .hex(),
        "key_id": public.key_id.hex(),
        "key_id_ed25519": public.key_id_for(SignatureAlgorithm.ED25519).hex(),
        "key_id_mldsa65": public.key_id_for(SignatureAlgorithm.ML_DSA_65).hex(),
        "manifest": MANIFEST.to_bytes().hex(),
        "manifest_fields": {
            "model": MANIFEST.model,
            "version": str(MANIFEST.version),
            "security_version": MANIFEST.security_version,
            "min_version": str(MANIFEST.min_version),
            "image_size": MANIFEST.image_size,
            "image_sha256": MANIFEST.image_sha256.hex(),
            "release_notes": MANIFEST.release_notes,
        },
        "transfer_id": transfer_id_of(MANIFEST.to_bytes()).hex(),
        "signed_ed25519_only": ed_only.to_bytes().hex(),
        "signed_hybrid": hybrid.to_bytes().hex(),
    }


CERT_SEED = SEED + b"/certificates"
CERT_NOT_BEFORE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CERT_NOT_AFTER = dt.datetime(2036, 1, 1, tzinfo=dt.UTC)


def _certificate(
    subject: str,
    issuer: str,
    public: ed25519.Ed25519PublicKey,
    signer: ed25519.Ed25519PrivateKey,
    *,
    serial: int,
    ca: bool,
) -> x509.Certificate:
    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    return (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(name(issuer))
        .public_key(public)
        .serial_number(serial)
        .not_valid_before(CERT_NOT_BEFORE)
        .not_valid_after(CERT_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signer, None)
    )


def certificate_vector(lock: LockIdentity) -> Json:
    """Return a manufacturer root, an intermediate CA and the lock's leaf (all Ed25519).

    Ed25519 signatures are deterministic and every field is fixed, so the DER
    is the same on every run; the project's chain check accepts it.
    """
    root, chain = manufacturer_chain(lock)
    der = serialization.Encoding.DER
    verify_device_chain(chain, root, lock.signing_key.public_key, OPEN_AT_MS)
    return {
        "manufacturer_ca": root.public_bytes(der).hex(),
        "chain_leaf_first": [c.hex() for c in chain],
        "check_at_ms": OPEN_AT_MS,
        "leaf_identity_public": lock.signing_key.public_key.raw.hex(),
    }


def manufacturer_chain(
    lock: LockIdentity,
) -> tuple[x509.Certificate, tuple[bytes, ...]]:
    """Return the manufacturer root and the lock's leaf-first chain (DER)."""
    rng = DeterministicRng(CERT_SEED)
    root_key = ed25519.Ed25519PrivateKey.from_private_bytes(rng(32))
    mid_key = ed25519.Ed25519PrivateKey.from_private_bytes(rng(32))
    root = _certificate(
        "Vector Manufacturer Root",
        "Vector Manufacturer Root",
        root_key.public_key(),
        root_key,
        serial=1,
        ca=True,
    )
    mid = _certificate(
        "Vector Manufacturer Devices",
        "Vector Manufacturer Root",
        mid_key.public_key(),
        root_key,
        serial=2,
        ca=True,
    )
    lock_public = ed25519.Ed25519PublicKey.from_public_bytes(
        lock.signing_key.public_key.raw
    )
    leaf = _certificate(
        f"Secure Lock {lock.lock_id.hex()}",
        "Vector Manufacturer Devices",
        lock_public,
        mid_key,
        serial=3,
        ca=False,
    )
    der = serialization.Encoding.DER
    return root, (leaf.public_bytes(der), mid.public_bytes(der))


def build(old: Json | None = None, *, recapture: bool = False) -> Json:
    """Return the whole vectors document; ``old`` supplies the captured parts."""
    old = old or {}
    parties = make_parties()
    lock = parties.lock
    suites: Json = {}
    frame_sets: dict[SuiteId, SuiteFrames] = {}
    for suite in SUITES:
        ctrl = parties.controllers[suite]
        old_frames = old.get("suites", {}).get(str(int(suite)), {}).get("frames", {})
        frames = frame_sets[suite] = suite_frames(parties, suite, old_frames, recapture)
        suites[str(int(suite))] = {
            "controller": identity_json(ctrl, (suite,)),
            "routing_id_to_lock": routing_id(lock.lock_id, lock.key_id).hex(),
            "routing_id_to_controller": routing_id(lock.lock_id, ctrl.key_id).hex(),
            "frames": frames.frames,
        }
    return {
        "about": (
            "Secure Lock protocol v1 vectors (docs/protocol.md section 17). "
            f"Generated by `{COMMAND}`; do not edit."
        ),
        "format": 1,
        "seed_ascii": SEED.decode(),
        "time_ms": TIME_MS,
        "lock": {"lock_id": lock.lock_id.hex(), **identity_json(lock, SUITES)},
        "suites": suites,
        "pairing": {
            str(int(suite)): pairing_run(
                lock,
                parties.controllers[suite],
                suite,
                seed=SEED + b"/pairing/" + bytes([suite]),
                name=CONTROLLER_NAME,
                time_ms=TIME_MS,
                old=old.get("pairing", {}).get(str(int(suite)), {}),
                recapture=recapture,
            )
            for suite in SUITES
        },
        "invitation": {
            "frames": "invitation_create",
            "invitation_id": INVITATION_ID.hex(),
            "discriminator": INVITATION_DISCRIMINATOR,
            "passcode": INVITATION_PASSCODE,
        },
        "resync": resync_notice(lock),
        "setup_codes": setup_code_vectors(
            lock,
            (LABEL_DISCRIMINATOR, LABEL_PASSCODE),
            (INVITATION_DISCRIMINATOR, INVITATION_PASSCODE),
        ),
        "discovery": discovery_vector(lock, LABEL_DISCRIMINATOR),
        **pairing_extras(parties),
        "negative": negative_vectors(parties, frame_sets, OPEN_AT_MS),
        "audit_chain": audit_vector(parties.controllers[SUITES[0]].key_id),
        "firmware": firmware_vector(old.get("firmware", {}), recapture),
        "certificates": certificate_vector(lock),
    }


def pairing_extras(parties: Parties) -> Json:
    """Suite negotiation, a certified challenge and the pairing negative vectors."""
    one = SUITES[0]
    seed = SEED + b"/pairing/" + bytes([one])
    root, chain = manufacturer_chain(parties.lock)

    def base() -> PairingBase:
        run = PairingBase(
            parties.lock, parties.controllers[one], seed, TIME_MS, CONTROLLER_NAME
        )
        run.run()
        return run

    return {
        "suite_negotiation": suite_negotiation(base()),
        "certified_challenge": certified_challenge(base(), chain, root, OPEN_AT_MS),
        "pairing_negative": pairing_negative_vectors(
            base(), root, other_lock(SEED, TIME_MS)
        ),
    }


def render(vectors: Json) -> str:
    """Return the file text (stable key order as built, one trailing newline)."""
    return json.dumps(vectors, indent=1) + "\n"


def main(argv: list[str]) -> int:
    """Regenerate ``docs/protocol-vectors.json``."""
    old = json.loads(SPEC_VECTORS.read_text()) if SPEC_VECTORS.exists() else None
    SPEC_VECTORS.write_text(render(build(old, recapture="--recapture" in argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
