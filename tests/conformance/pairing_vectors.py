"""Checks of the pairing, invitation and resync vectors against sections 7, 7.4, 7.7 and 11.2."""

from __future__ import annotations

import hashlib
from typing import Any

from .hpke import x25519_public
from .keys import key_id, verify_prekey, verify_signature
from .mismatch import expect
from .pairing import (
    CHANNEL_RESYNC,
    LABEL_PAIRING_ANSWER,
    PAIRING_ANSWER_SIZE,
    check_mac,
    choose_suite,
    label,
    open_name,
    open_sealed_answer,
    read_challenge,
    read_failure_notice,
    read_hello,
    read_proof,
    read_result,
    read_resync_notice,
    session_keys,
    transcript,
)
from .spake2plus import (
    M,
    N,
    base_mul,
    blind,
    check_share,
    key_schedule,
    password_scalars,
    prover_z_v,
    reduce,
    verifier_z_v,
)

type Json = dict[str, Any]


def _h(text: str) -> bytes:
    return bytes.fromhex(text)


def _check_pake(
    vector: Json,
    lock_id: bytes,
    challenge: Json,
    proof: Json,
    result: Json,
    *,
    where: str,
) -> bytes:
    """Recompute SPAKE2+ from the passcode and both scalar seeds; return ``K_shared``."""
    setup = vector["setup"]
    w0, w1 = password_scalars(setup["passcode"], lock_id)
    expect((w0.hex(), w1.hex()) == (setup["w0"], setup["w1"]), f"{where}: w0, w1")
    point_l = base_mul(w1)
    expect(point_l.hex() == setup["L"], f"{where}: L")
    x, y = reduce(_h(vector["x_seed"])), reduce(_h(vector["y_seed"]))
    share_p, share_v = challenge["share_p"], proof["share_v"]
    check_share(share_p)
    check_share(share_v)
    expect(blind(x, w0, M) == share_p, f"{where}: shareP = x*P + w0*M")
    expect(blind(y, w0, N) == share_v, f"{where}: shareV = y*P + w0*N")
    z, v = verifier_z_v(y, share_p, w0, point_l)
    expect((z, v) == prover_z_v(x, share_v, w0, w1), f"{where}: both sides' Z, V")
    expect((z.hex(), v.hex()) == (vector["z"], vector["v"]), f"{where}: Z, V")
    th1 = transcript("th1", _h(vector["hello"]), _h(vector["challenge"]))
    expect(th1.hex() == vector["th1"], f"{where}: th1")
    context = label("pake") + th1
    expect(context.hex() == vector["pake_context"], f"{where}: PAKE context")
    keys = key_schedule(
        context, lock_id, share_p=share_p, share_v=share_v, z=z, v=v, w0=w0
    )
    expect(keys.confirm_v == proof["confirm_v"], f"{where}: confirmV")
    expect(keys.confirm_p == result["confirm_p"], f"{where}: confirmP")
    expect(keys.shared_key.hex() == vector["k_shared"], f"{where}: K_shared")
    return keys.shared_key


def check_pairing_run(doc: Json, suite: int) -> None:
    """One pairing with the label's code: messages, signatures, PAKE, keys, transcript."""
    where = f"pairing suite {suite}"
    vector = doc["pairing"][str(suite)]
    lock, ctrl = doc["lock"], doc["suites"][str(suite)]["controller"]
    lock_id, lock_identity = _h(lock["lock_id"]), _h(lock["identity_public"])
    ctrl_identity = _h(ctrl["identity_public"])
    raw_hello, raw_challenge = _h(vector["hello"]), _h(vector["challenge"])
    hello, challenge = read_hello(raw_hello), read_challenge(raw_challenge)
    proof, result = read_proof(_h(vector["proof"])), read_result(_h(vector["result"]))
    expect(hello["lock_id"] in (lock_id, bytes(16)), f"{where}: hello lock id")
    expect(
        hello["discriminator"] == vector["setup"]["discriminator"],
        f"{where}: discriminator",
    )
    expect(hello["controller_identity"] == ctrl_identity, f"{where}: controller key")
    # The controller's checks on the challenge (section 7), in order.
    expect(challenge["nonce_c"] == hello["nonce_c"], f"{where}: nonce_c echo")
    expect(
        (challenge["lock_id"], challenge["lock_identity"]) == (lock_id, lock_identity),
        f"{where}: lock id and key",
    )
    expect(
        challenge["seen_controller_suites"] == hello["offered_suites"]
        and challenge["chosen_suite"]
        == choose_suite(hello["offered_suites"], challenge["lock_suites"])
        == suite,
        f"{where}: suite negotiation",
    )
    verify_signature(
        lock_identity,
        challenge["signature"],
        label("challenge") + raw_hello + challenge["unsigned"],
    )
    verify_prekey(lock_identity, challenge["prekey"])
    expect(
        challenge["prekey"]["suite"] == suite
        and challenge["prekey"]["public_key"]
        in {p["public"] for p in lock["prekeys"] if p["suite"] == suite},
        f"{where}: the lock's prekey of the chosen suite",
    )
    k_shared = _check_pake(vector, lock_id, challenge, proof, result, where=where)
    th1 = _h(vector["th1"])
    k_c, k_l, k_name = session_keys(k_shared, th1, lock_id)
    expect(
        (k_c.hex(), k_l.hex(), k_name.hex())
        == (vector["k_c"], vector["k_l"], vector["k_name"]),
        f"{where}: k_c, k_l, k_name",
    )
    # The lock's checks on the proof.
    expect(proof["nonce_l"] == challenge["nonce_l"], f"{where}: nonce_l echo")
    th2 = transcript("th2", th1, proof["unsigned"])
    expect(th2.hex() == vector["th2"], f"{where}: th2")
    verify_signature(ctrl_identity, proof["signature"], th2)
    check_mac(k_c, th2, proof["mac"])
    expect(
        open_name(k_name, th1, proof["sealed_name"]) == vector["controller_name"],
        f"{where}: sealed name",
    )
    verify_prekey(ctrl_identity, proof["prekey"])
    expect(
        proof["prekey"]["suite"] == suite
        and proof["prekey"]["public_key"] == ctrl["prekeys"][0]["public"],
        f"{where}: the controller's prekey of the chosen suite",
    )
    # The controller's checks on the result.
    expect(result["nonce_c"] == hello["nonce_c"], f"{where}: result nonce_c")
    th3 = transcript("th3", th2, proof["signature"], proof["mac"], result["unsigned"])
    expect(th3.hex() == vector["th3"], f"{where}: th3")
    verify_signature(lock_identity, result["signature"], th3)
    check_mac(k_l, th3, result["mac"])
    expect(
        result["controller_id"] == key_id(ctrl_identity)
        and result["role"] == vector["granted_role"],
        f"{where}: controller id and role",
    )
    _check_answer_and_notice(
        vector, raw_challenge, hello["nonce_c"], lock_identity, where
    )


def _check_answer_and_notice(
    vector: Json, challenge: bytes, nonce_c: bytes, lock_identity: bytes, where: str
) -> None:
    sealed = vector["sealed_challenge"]
    frame = _h(sealed["controller_frame"])
    # Open first: the answer opens only as the answer to this very frame.
    opened = open_sealed_answer(
        _h(sealed["answer_key_private"]), frame, _h(sealed["sealed"])
    )
    expect(opened == challenge, f"{where}: the sealed answer is the challenge")
    expect(
        x25519_public(_h(sealed["answer_key_private"])).hex()
        == sealed["answer_key_public"],
        f"{where}: answer key pair",
    )
    expect(
        _h(sealed["info"]) == LABEL_PAIRING_ANSWER + hashlib.sha256(frame[1:]).digest()
        and sealed["answer_size"] == PAIRING_ANSWER_SIZE,
        f"{where}: answer info and size",
    )
    expect(
        frame[1:33].hex() == sealed["answer_key_public"]
        and frame[33:].hex() == vector["hello"],
        f"{where}: the controller frame carries the answer key and the hello",
    )
    link = _h(sealed["link_frame"])
    expect(link[0] == frame[0] and link[1:].hex() == sealed["sealed"], f"{where}: link")
    notice = vector["failure_notice"]
    fields = read_failure_notice(_h(notice["notice"]))
    expect(
        fields["nonce_c"] == nonce_c
        and fields["lock_identity"] == lock_identity
        and fields["code"] == notice["code"],
        f"{where}: failure notice bound to the hello",
    )
    expect(
        _h(notice["signed_input"])
        == label("failure") + nonce_c + notice["code"].encode(),
        f"{where}: failure notice signed input",
    )


def check_pairing(doc: Json) -> list[str]:
    """Both suites' pairing runs."""
    checked = []
    for suite_key in doc["pairing"]:
        check_pairing_run(doc, int(suite_key))
        checked.append(f"pairing suite {suite_key}")
    expect(set(doc["pairing"]) == set(doc["suites"]), "pairing in every suite")
    return checked


def check_invitation(doc: Json) -> list[str]:
    """INVITATION_CREATE carries the w0, w1 of the invitation's passcode for this lock."""
    vector = doc["invitation"]
    w0, w1 = password_scalars(vector["passcode"], _h(doc["lock"]["lock_id"]))
    for suite_key, suite_doc in doc["suites"].items():
        fields = suite_doc["frames"][vector["frames"]]["payload_fields"]
        expect(
            fields["invitation_id"] == vector["invitation_id"]
            and fields["secret"]
            == {
                "discriminator": vector["discriminator"],
                "prover": {"w0": w0.hex(), "w1": w1.hex()},
            },
            f"invitation suite {suite_key}: secret from the passcode",
        )
    return ["invitation"]


def check_resync(doc: Json) -> list[str]:
    """Check that the notice is the lock's, signed, with its current prekey of each suite."""
    vector, lock = doc["resync"], doc["lock"]
    notice = _h(vector["notice"])
    fields = read_resync_notice(notice, _h(lock["identity_public"]))
    expect(fields["lock_id"].hex() == lock["lock_id"], "resync lock id")
    expect(
        sorted(p["public_key"] for p in fields["prekeys"])
        == sorted(p["public"] for p in lock["prekeys"]),
        "resync prekeys are the lock's",
    )
    expect(
        _h(vector["signed_input"]) == b"secure-lock/v1/resync\x00" + notice[:-64],
        "resync signed input",
    )
    link = _h(vector["link_frame"])
    expect(link[0] == CHANNEL_RESYNC and link[1:] == notice, "resync link frame")
    return ["resync notice"]
