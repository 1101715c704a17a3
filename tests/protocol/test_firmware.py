"""Firmware release format: versions, manifest encoding, signatures, update policy."""

from __future__ import annotations

from collections.abc import Callable
import contextlib
import hashlib

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.secure_lock.protocol import (
    ErrorCode,
    FirmwareError,
    FirmwareVersion,
    MalformedError,
    ProtocolError,
    ReleasePublicKey,
    ReleaseSigningKey,
)
from custom_components.secure_lock.protocol.chunking import (
    ChunkAssembler,
    split_firmware,
)
from custom_components.secure_lock.protocol.encoding import Writer
from custom_components.secure_lock.protocol.firmware import (
    FirmwareManifest,
    ManifestSignature,
    SignatureAlgorithm,
    SignedManifest,
    build_signed,
    check_update,
    mldsa_supported,
    verify_manifest,
    verify_release,
)
from custom_components.secure_lock.protocol.rng import DeterministicRng
from custom_components.secure_lock.protocol.suites import SuiteId

IMAGE = bytes(range(256)) * 40
MODEL = "SL-1"


def _manifest(**changes: object) -> FirmwareManifest:
    fields: dict[str, object] = {
        "model": MODEL,
        "version": FirmwareVersion(1, 2, 0),
        "security_version": 4,
        "image_size": len(IMAGE),
        "image_sha256": hashlib.sha256(IMAGE).digest(),
        "min_version": FirmwareVersion(1, 0, 0),
        "release_notes": "Faster unlock ☂",
    }
    fields.update(changes)
    return FirmwareManifest(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def key() -> ReleaseSigningKey:
    """Return a hybrid release key from a fixed seed."""
    return ReleaseSigningKey.generate(DeterministicRng(b"release key"))


def _policy(manifest_bytes: bytes, key: ReleaseSigningKey) -> None:
    check_update(
        verify_manifest(manifest_bytes, key.public_key()),
        model=MODEL,
        running=FirmwareVersion(1, 1, 0),
        min_security_version=4,
    )


def test_ml_dsa_is_available_and_keys_are_hybrid(key: ReleaseSigningKey) -> None:
    """Supported Home Assistant versions ship cryptography with ML-DSA: both signatures are made."""
    assert mldsa_supported()
    assert key.public_key().algorithms == frozenset(SignatureAlgorithm)
    signed = key.sign(_manifest())
    assert [s.algorithm for s in signed.signatures] == list(SignatureAlgorithm)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.2.3", (1, 2, 3)), ("0.0.0", (0, 0, 0)), (" 10.20.65535 ", (10, 20, 65535))],
)
def test_versions_parse(text: str, expected: tuple[int, int, int]) -> None:
    """MAJOR.MINOR.PATCH, each part 0-65535."""
    assert FirmwareVersion.parse(text).parts == expected


@pytest.mark.parametrize(
    "text",
    ["1.2", "1.2.3.4", "01.2.3", "1.2.3-rc1", "v1.2.3", "1.2.65536", "", "a.b.c"],
)
def test_bad_versions_are_refused(text: str) -> None:
    """Anything that is not a plain semantic version is an invalid argument."""
    with pytest.raises(ProtocolError) as err:
        FirmwareVersion.parse(text)
    assert err.value.code is ErrorCode.INVALID_ARGUMENT


def test_versions_compare_as_tuples_not_text() -> None:
    """1.10.0 is newer than 1.9.9 (text comparison would say otherwise)."""
    assert FirmwareVersion.parse("1.10.0") > FirmwareVersion.parse("1.9.9")
    assert FirmwareVersion.parse("2.0.0") > FirmwareVersion.parse("1.99.99")
    assert FirmwareVersion(1, 2, 3) == FirmwareVersion.parse("1.2.3")
    assert str(FirmwareVersion(1, 2, 3)) == "1.2.3"


def test_manifest_round_trips_canonically(key: ReleaseSigningKey) -> None:
    """Encoding, decoding and re-encoding give the same bytes; the envelope too."""
    manifest = _manifest()
    assert FirmwareManifest.from_bytes(manifest.to_bytes()) == manifest
    signed = key.sign(manifest)
    again = SignedManifest.from_bytes(signed.to_bytes())
    assert again.manifest == manifest
    assert again.to_bytes() == signed.to_bytes()
    assert ReleasePublicKey.from_bytes(key.public_key().to_bytes()) == key.public_key()
    assert ReleaseSigningKey.from_bytes(key.to_bytes()).public_key() == key.public_key()
    assert "seed" not in repr(key)


def test_a_good_release_verifies(key: ReleaseSigningKey) -> None:
    """Signatures, policy and image all check out."""
    signed = key.sign(_manifest()).to_bytes()
    verified = verify_release(
        signed,
        IMAGE,
        key.public_key(),
        model=MODEL,
        running=FirmwareVersion(1, 1, 0),
        min_security_version=4,
    )
    assert verified.manifest == _manifest()
    assert verified.key_id == key.public_key().key_id
    assert verified.transfer_id == _manifest().transfer_id


def test_every_bit_flip_of_the_manifest_is_refused(key: ReleaseSigningKey) -> None:
    """No change to the signed bytes goes unnoticed (it parses and fails, or does not parse)."""
    signed = bytearray(key.sign(_manifest()).to_bytes())
    header = 4 + 1 + 2
    manifest_len = len(_manifest().to_bytes())
    for index in range(header, header + manifest_len):
        for bit in (0x01, 0x80):
            flipped = bytearray(signed)
            flipped[index] ^= bit
            with pytest.raises(ProtocolError) as err:
                verify_manifest(bytes(flipped), key.public_key())
            assert err.value.code in {
                ErrorCode.FIRMWARE_BAD_SIGNATURE,
                ErrorCode.MALFORMED,
            }


def test_wrong_key_and_missing_signatures_are_refused(key: ReleaseSigningKey) -> None:
    """Another key, an Ed25519-only envelope for a hybrid key, a corrupted ML-DSA signature."""
    other = ReleaseSigningKey.generate(DeterministicRng(b"other key"))
    signed = key.sign(_manifest())
    for candidate, trusted in (
        (other.sign(_manifest()), key.public_key()),
        (
            build_signed(signed.manifest_bytes, list(signed.signatures[:1])),
            key.public_key(),
        ),
        (
            build_signed(
                signed.manifest_bytes,
                [
                    signed.signatures[0],
                    ManifestSignature(
                        SignatureAlgorithm.ML_DSA_65,
                        signed.signatures[1].key_id,
                        bytes(len(signed.signatures[1].signature)),
                    ),
                ],
            ),
            key.public_key(),
        ),
    ):
        with pytest.raises(FirmwareError) as err:
            verify_manifest(candidate.to_bytes(), trusted)
        assert err.value.code is ErrorCode.FIRMWARE_BAD_SIGNATURE


def test_ed25519_only_key_accepts_hybrid_and_ignores_unknown_algorithms(
    key: ReleaseSigningKey,
) -> None:
    """A lock with only an Ed25519 key checks that one; unknown signature algorithms are skipped."""
    signed = key.sign(_manifest())
    ed_only = ReleasePublicKey(key.public_key().ed25519)
    assert verify_manifest(signed.to_bytes(), ed_only).manifest == _manifest()
    # A future algorithm 9 beside today's: parsed, ignored, still verifies.
    extra = bytearray(signed.to_bytes())
    count_at = 4 + 1 + 2 + len(signed.manifest_bytes)
    extra[count_at] += 1
    extra += bytes([9]) + bytes(16) + (3).to_bytes(2, "big") + b"xyz"
    parsed = SignedManifest.from_bytes(bytes(extra))
    assert parsed.unknown_algorithms == (9,)
    verify_manifest(bytes(extra), key.public_key())


def test_signatures_must_be_ordered_and_unique(key: ReleaseSigningKey) -> None:
    """One encoding per envelope: a repeated or reordered signature is malformed."""
    signed = key.sign(_manifest())
    body = signed.to_bytes()
    start = 4 + 1 + 2 + len(signed.manifest_bytes)
    first = signed.signatures[0].encode(Writer()).finish()
    repeated = body[:start] + bytes([3]) + body[start + 1 :] + first
    with pytest.raises(MalformedError):
        SignedManifest.from_bytes(repeated)


@pytest.mark.parametrize(
    ("manifest", "running", "floor", "code"),
    [
        (_manifest(model="SL-2"), "1.1.0", 4, ErrorCode.FIRMWARE_WRONG_MODEL),
        (_manifest(), "1.2.0", 4, ErrorCode.FIRMWARE_NOT_NEWER),
        (_manifest(), "1.3.0", 4, ErrorCode.FIRMWARE_NOT_NEWER),
        (_manifest(), "1.1.0", 5, ErrorCode.FIRMWARE_ROLLBACK),
        (_manifest(), "0.9.0", 4, ErrorCode.FIRMWARE_BASE_TOO_OLD),
    ],
)
def test_policy_refusals_have_stable_codes(
    key: ReleaseSigningKey,
    manifest: FirmwareManifest,
    running: str,
    floor: int,
    code: ErrorCode,
) -> None:
    """Wrong model, not newer, below the anti-rollback floor, base too old."""
    verified = verify_manifest(key.sign(manifest).to_bytes(), key.public_key())
    with pytest.raises(FirmwareError) as err:
        check_update(
            verified,
            model=MODEL,
            running=FirmwareVersion.parse(running),
            min_security_version=floor,
        )
    assert err.value.code is code


def test_image_must_match_the_manifest(key: ReleaseSigningKey) -> None:
    """A changed byte or a truncated image is a hash mismatch."""
    signed = key.sign(_manifest()).to_bytes()
    for image in (IMAGE[:-1], IMAGE[:100] + b"\x00" + IMAGE[101:]):
        with pytest.raises(FirmwareError) as err:
            verify_release(
                signed,
                image,
                key.public_key(),
                model=MODEL,
                running=FirmwareVersion(1, 1, 0),
                min_security_version=0,
            )
        assert err.value.code is ErrorCode.FIRMWARE_HASH_MISMATCH


@pytest.mark.parametrize("suite", list(SuiteId))
def test_signed_manifest_travels_in_offer_chunks(
    key: ReleaseSigningKey, suite: SuiteId
) -> None:
    """The hybrid envelope (about 3.5 KB) is cut into frame-sized parts and reassembled."""
    envelope = key.sign(_manifest()).to_bytes()
    transfer = _manifest().transfer_id
    parts = split_firmware(envelope, transfer, suite)
    assert len(parts) > 1
    assembler = ChunkAssembler(transfer, len(envelope))
    for part in reversed(parts):
        assembler.add(part)
    assert assembler.data() == envelope
    resumed = split_firmware(envelope, transfer, suite, start=1000)
    assert resumed[0].offset == 1000
    assert b"".join(p.data for p in resumed) == envelope[1000:]
    assert split_firmware(envelope, transfer, suite, start=len(envelope)) == []


def _survives(parse: Callable[[bytes], object], data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        parse(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_parsers_only_raise_protocol_errors(data: st.DataObject) -> None:
    """Random and mutated manifests, envelopes and keys give typed errors only."""
    key = ReleaseSigningKey.generate(DeterministicRng(b"fuzz"), with_mldsa=False)
    samples: list[tuple[Callable[[bytes], object], bytes]] = [
        (FirmwareManifest.from_bytes, _manifest().to_bytes()),
        (SignedManifest.from_bytes, key.sign(_manifest()).to_bytes()),
        (ReleasePublicKey.from_bytes, key.public_key().to_bytes()),
        (
            lambda d: verify_manifest(d, key.public_key()),
            key.sign(_manifest()).to_bytes(),
        ),
    ]
    parse, valid = data.draw(st.sampled_from(samples))
    _survives(parse, data.draw(st.binary(max_size=300)))
    position = data.draw(st.integers(0, len(valid) - 1))
    mutated = bytearray(valid)
    mutated[position] = data.draw(st.integers(0, 255))
    _survives(parse, bytes(mutated))
    _survives(parse, valid[: data.draw(st.integers(0, len(valid)))])


def test_manifest_values_without_an_encoding_are_refused() -> None:
    """A release tool cannot build a manifest that would not round-trip."""
    for changes, match in (
        ({"security_version": 1 << 32}, "security_version"),
        ({"image_sha256": bytes(31)}, "image_sha256"),
        ({"release_notes": "x" * 100_000}, "release notes"),
        ({"model": ""}, "model"),
    ):
        with pytest.raises(ValueError, match=match):
            _manifest(**changes)


def test_versions_only_compare_with_versions() -> None:
    """Comparing a version with text is a TypeError, not a silent False."""
    assert FirmwareVersion(1, 2, 0) < FirmwareVersion(1, 10, 0)
    with pytest.raises(TypeError):
        _ = FirmwareVersion(1, 2, 0) < "1.3.0"  # type: ignore[operator]


def test_stored_keys_and_manifests_in_unknown_formats_are_malformed(
    key: ReleaseSigningKey,
) -> None:
    """Pasted or stored bytes in a format this version does not know are refused."""
    with pytest.raises(MalformedError, match="not hex"):
        ReleasePublicKey.from_text("not a key")
    public = key.public_key()
    assert ReleasePublicKey.from_text(f"  {public.to_text()}\n") == public
    stored = bytearray(key.to_bytes())
    stored[0] ^= 0xFF  # format byte
    with pytest.raises(MalformedError, match="signing key format"):
        ReleaseSigningKey.from_bytes(bytes(stored))
    with pytest.raises(ProtocolError) as err:
        ReleaseSigningKey(bytes(31), None)
    assert err.value.code is ErrorCode.INVALID_ARGUMENT
    signed = bytearray(key.sign(_manifest()).to_bytes())
    signed[4] ^= 0xFF  # format byte after the magic
    with pytest.raises(MalformedError, match="signed manifest format"):
        SignedManifest.from_bytes(bytes(signed))
