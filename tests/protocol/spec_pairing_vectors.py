"""Pairing, sealed answers, failure notices and the resync notice for the spec vectors.

Part of ``make_spec_vectors`` (docs/protocol.md sections 7, 11.2, 17.2).
Everything is seeded except HPKE encapsulation of the sealed answers,
which is captured once and kept while it still opens, with the vector
answer key, to the very message the code makes now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nacl import bindings as sodium

from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    ControllerPairing,
    LockIdentity,
    LockPairing,
    LockPin,
    PairingAttempts,
    Role,
    SetupCode,
    SuiteId,
)
from custom_components.secure_lock.protocol.channel import Channel, wrap
from custom_components.secure_lock.protocol.errors import ErrorCode, ProtocolError
from custom_components.secure_lock.protocol.kem import KemPrivateKey
from custom_components.secure_lock.protocol.pairing import (
    failure_signed_bytes,
    name_key,
    pairing_keys,
    pake_context,
    transcript_th1,
    transcript_th2,
    transcript_th3,
)
from custom_components.secure_lock.protocol.pairing_messages import (
    PairingChallenge,
    PairingHello,
    PairingProof,
    PairingResult,
)
from custom_components.secure_lock.protocol.pairing_seal import (
    PAIRING_ANSWER_SIZE,
    AnswerKey,
    PairingRequest,
    answer_info,
    seal_answer,
)
from custom_components.secure_lock.protocol.resync import ResyncNotice
from custom_components.secure_lock.protocol.rng import DeterministicRng
from custom_components.secure_lock.protocol.spake2plus import M

if TYPE_CHECKING:
    from custom_components.secure_lock.protocol.setup_code import CodeSecret

type Json = dict[str, Any]

LABEL_DISCRIMINATOR = 0x2A
LABEL_PASSCODE = 0x1234567
SCALAR_SEED_SIZE = 64
COFACTOR = (8).to_bytes(32, "little")


class DrawLog:
    """A ``DeterministicRng`` that keeps every draw (to publish the PAKE's scalar seeds)."""

    def __init__(self, seed: bytes) -> None:
        """Start the stream for ``seed``."""
        self._rng = DeterministicRng(seed)
        self.draws: list[bytes] = []

    def __call__(self, size: int) -> bytes:
        """Return and keep the next ``size`` bytes."""
        out = self._rng(size)
        self.draws.append(out)
        return out

    def scalar_seed(self) -> bytes:
        """Return the one 64-byte draw (the ephemeral SPAKE2+ scalar's seed)."""
        (seed,) = (d for d in self.draws if len(d) == SCALAR_SEED_SIZE)
        return seed


def answer_key(seed: bytes) -> tuple[bytes, AnswerKey]:
    """Return a controller's answer key (private bytes and key) drawn from ``seed``."""
    private = DeterministicRng(seed + b"/answer-key")(32)
    return private, AnswerKey(KemPrivateKey(SuiteId.X25519_CHACHA20, private))


def sealed_answer(
    seed: bytes, message: bytes, request: bytes, old: Json, recapture: bool
) -> Json:
    """Seal ``message`` as the answer to the controller frame carrying ``request``."""
    private, key = answer_key(seed)
    body = key.request(request)
    sealed = seal_answer(PairingRequest.from_bytes(body), message)
    kept = old.get("sealed")
    if kept is not None and not recapture:
        try:
            if key.open(body, bytes.fromhex(kept)) == message:
                sealed = bytes.fromhex(kept)
        except ProtocolError:
            pass
    assert key.open(body, sealed) == message
    return {
        "answer_key_private": private.hex(),
        "answer_key_public": key.public_key.raw.hex(),
        "controller_frame": wrap(Channel.PAIRING, body).hex(),
        "info": answer_info(body).hex(),
        "answer_size": PAIRING_ANSWER_SIZE,
        "sealed": sealed.hex(),
        "link_frame": wrap(Channel.PAIRING, sealed).hex(),
    }


def _z_and_v(y: bytes, share_p: bytes, w0: bytes, point_l: bytes) -> tuple[str, str]:
    """Z = h*y*(shareP - w0*M), V = h*y*L (section 7.4), from the verifier's side."""
    hy = sodium.crypto_core_ed25519_scalar_mul(y, COFACTOR)
    unblinded = sodium.crypto_core_ed25519_sub(
        share_p, sodium.crypto_scalarmult_ed25519_noclamp(w0, M)
    )
    z = sodium.crypto_scalarmult_ed25519_noclamp(hy, unblinded)
    v = sodium.crypto_scalarmult_ed25519_noclamp(hy, point_l)
    return bytes(z).hex(), bytes(v).hex()


def pairing_run(
    lock: LockIdentity,
    ctrl: ControllerIdentity,
    suite: SuiteId,
    *,
    seed: bytes,
    name: str,
    time_ms: int,
    old: Json,
    recapture: bool,
) -> Json:
    """Pair ``ctrl`` with the lock over the label's code in ``suite``; every value."""
    code = SetupCode(
        LABEL_DISCRIMINATOR, LABEL_PASSCODE, LockPin(lock.lock_id, lock.fingerprint)
    )
    secret: CodeSecret = code.secret_for(lock.lock_id)
    lock_rng, ctrl_rng = DrawLog(seed + b"/lock"), DrawLog(seed + b"/controller")
    lock_side = LockPairing(lock, secret, PairingAttempts(), rng=lock_rng)
    lock_side.open_window(time_ms)
    ctrl_side = ControllerPairing(ctrl, code, name, suites=(suite,), rng=ctrl_rng)
    hello = ctrl_side.start()
    challenge = lock_side.handle_hello(hello, time_ms)
    proof = ctrl_side.handle_challenge(challenge, time_ms)
    state = ctrl_side._state  # noqa: SLF001 - a generator-only peek at K_shared
    assert state is not None and state.keys is not None
    k_shared = state.keys.shared_key
    result, _ = lock_side.handle_proof(proof, Role.ADMIN, time_ms)
    outcome = ctrl_side.handle_result(result, time_ms)
    th1 = transcript_th1(hello, challenge)
    proof_msg, result_msg = (
        PairingProof.from_bytes(proof),
        PairingResult.from_bytes(result),
    )
    th2 = transcript_th2(th1, proof_msg.body())
    th3 = transcript_th3(th2, proof_msg.signature, proof_msg.mac, result_msg.body())
    k_c, k_l = pairing_keys(k_shared, th1, lock.lock_id)
    prover = secret.prover
    y = sodium.crypto_core_ed25519_scalar_reduce(ctrl_rng.scalar_seed())
    share_p = PairingChallenge.from_bytes(challenge).pake_share
    z, v = _z_and_v(bytes(y), share_p, prover.w0, prover.verifier().L)
    nonce_c = PairingHello.from_bytes(hello).nonce
    notice = lock_side.failure_notice(
        nonce_c, ErrorCode.BAD_MAC, time_ms, limited=False
    )
    assert notice is not None
    return {
        "setup": {
            "discriminator": LABEL_DISCRIMINATOR,
            "passcode": LABEL_PASSCODE,
            "w0": prover.w0.hex(),
            "w1": prover.w1.hex(),
            "L": prover.verifier().L.hex(),
        },
        "controller_name": name,
        "granted_role": int(outcome.role),
        "hello": hello.hex(),
        "challenge": challenge.hex(),
        "proof": proof.hex(),
        "result": result.hex(),
        "x_seed": lock_rng.scalar_seed().hex(),
        "y_seed": ctrl_rng.scalar_seed().hex(),
        "th1": th1.hex(),
        "pake_context": pake_context(th1).hex(),
        "z": z,
        "v": v,
        "k_shared": k_shared.hex(),
        "k_c": k_c.hex(),
        "k_l": k_l.hex(),
        "k_name": name_key(k_shared, th1, lock.lock_id).hex(),
        "th2": th2.hex(),
        "th3": th3.hex(),
        "sealed_challenge": sealed_answer(
            seed, challenge, hello, old.get("sealed_challenge", {}), recapture
        ),
        "failure_notice": {
            "code": ErrorCode.BAD_MAC.value,
            "signed_input": failure_signed_bytes(nonce_c, ErrorCode.BAD_MAC).hex(),
            "notice": notice.hex(),
        },
    }


def resync_notice(lock: LockIdentity) -> Json:
    """Return the lock's resynchronisation notice with its prekey of each suite."""
    notice = ResyncNotice.create(
        lock.lock_id, lock.signing_key, lock.public_bundle().prekeys
    )
    raw = notice.to_bytes()
    return {
        "notice": raw.hex(),
        "signed_input": (b"secure-lock/v1/resync\x00" + raw[:-64]).hex(),
        "link_frame": wrap(Channel.RESYNC, raw).hex(),
    }
