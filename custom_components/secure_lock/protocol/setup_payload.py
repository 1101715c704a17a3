"""The setup payload on the lock's label: QR URI and typeable code with checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

from .encoding import Reader, Writer
from .errors import SetupCodeError
from .identity import LOCK_ID_SIZE, LockIdentity
from .keys import KEY_ID_SIZE
from .rng import Rng, system_rng

SETUP_VERSION = 1
PAIRING_SECRET_SIZE = 16
URI_PREFIX = "SECURELOCK:"

# Crockford base32: no I, L, O, U, so fewer look-alikes when typing.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)} | {"O": 0, "I": 1, "L": 1}
DATA_CHARS_PER_GROUP = 5
GROUP_SIZE = DATA_CHARS_PER_GROUP + 1
_PAYLOAD_SIZE = 1 + LOCK_ID_SIZE + KEY_ID_SIZE + PAIRING_SECRET_SIZE
_DATA_CHARS = (
    -(-(_PAYLOAD_SIZE * 8) // (5 * DATA_CHARS_PER_GROUP)) * DATA_CHARS_PER_GROUP
)
GROUP_COUNT = _DATA_CHARS // DATA_CHARS_PER_GROUP
CODE_CHARS = GROUP_COUNT * GROUP_SIZE

# GF(2^5) with the primitive polynomial x^5 + x^2 + 1.
_GF_POLY = 0b100101


def _gf_mul(a: int, b: int) -> int:
    product = 0
    while b:
        if b & 1:
            product ^= a
        b >>= 1
        a <<= 1
        if a & 0b100000:
            a ^= _GF_POLY
    return product


def _gf_inv(a: int) -> int:
    # a^30 = a^-1 in GF(32)*, which has order 31.
    result = 1
    for _ in range(30):
        result = _gf_mul(result, a)
    return result


# Position weights alpha^j: all non-zero (any substitution changes the sum)
# and pairwise distinct (an adjacent swap of a != b adds (a+b)(w_j+w_j+1) != 0).
_WEIGHTS = [1]
for _ in range(GROUP_SIZE - 1):
    _WEIGHTS.append(_gf_mul(_WEIGHTS[-1], 2))
_CHECK_INV = _gf_inv(_WEIGHTS[-1])


def _group_syndrome(values: list[int], group_index: int) -> int:
    # The group number is mixed in so that reordered groups are caught too.
    total = (group_index + 1) & 0b11111
    for weight, value in zip(_WEIGHTS, values, strict=False):
        total ^= _gf_mul(weight, value)
    return total


def check_char(data: str, group_index: int) -> str:
    """Return the check character for one group of data characters."""
    syndrome = _group_syndrome([_VALUE[c] for c in data], group_index)
    return ALPHABET[_gf_mul(syndrome, _CHECK_INV)]


@dataclass(frozen=True, slots=True)
class SetupPayload:
    """What the lock shows: version, lock id, key fingerprint, pairing secret."""

    lock_id: bytes
    fingerprint: bytes
    pairing_secret: bytes = field(repr=False)
    version: int = SETUP_VERSION

    def __post_init__(self) -> None:
        """Reject wrong sizes early."""
        if (
            len(self.lock_id) != LOCK_ID_SIZE
            or len(self.fingerprint) != KEY_ID_SIZE
            or len(self.pairing_secret) != PAIRING_SECRET_SIZE
        ):
            raise SetupCodeError("field sizes are wrong")
        if self.version != SETUP_VERSION:
            raise SetupCodeError("unsupported setup payload version")

    @classmethod
    def generate(cls, identity: LockIdentity, rng: Rng = system_rng) -> Self:
        """Create a payload with a fresh 128-bit pairing secret for ``identity``."""
        return cls(identity.lock_id, identity.fingerprint, rng(PAIRING_SECRET_SIZE))

    def to_bytes(self) -> bytes:
        """Return the 49-byte binary form."""
        return (
            Writer()
            .u8(self.version)
            .fixed(self.lock_id, LOCK_ID_SIZE)
            .fixed(self.fingerprint, KEY_ID_SIZE)
            .fixed(self.pairing_secret, PAIRING_SECRET_SIZE)
            .finish()
        )

    def _chars(self) -> str:
        number = int.from_bytes(self.to_bytes(), "big") << (
            _DATA_CHARS * 5 - _PAYLOAD_SIZE * 8
        )
        return "".join(
            ALPHABET[(number >> (5 * (_DATA_CHARS - 1 - i))) & 31]
            for i in range(_DATA_CHARS)
        )

    def _groups(self) -> list[str]:
        data = self._chars()
        groups = []
        for index in range(GROUP_COUNT):
            chunk = data[
                index * DATA_CHARS_PER_GROUP : (index + 1) * DATA_CHARS_PER_GROUP
            ]
            groups.append(chunk + check_char(chunk, index))
        return groups

    def to_code(self) -> str:
        """Return the typeable code: groups of five characters plus a check character."""
        return "-".join(self._groups())

    def to_uri(self) -> str:
        """Return the QR form (upper case so QR alphanumeric mode applies)."""
        return URI_PREFIX + "".join(self._groups())

    def __str__(self) -> str:
        """Never print the secret."""
        return f"SetupPayload(lock_id={self.lock_id.hex()}, fingerprint={self.fingerprint.hex()})"

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse a QR URI or a typed code; lenient about case, spaces and dashes."""
        if not isinstance(text, str):
            raise SetupCodeError("expected text")
        body = text.strip()
        if body.upper().startswith(URI_PREFIX):
            body = body[len(URI_PREFIX) :]
        cleaned = "".join(ch for ch in body.upper() if ch not in " -\t\r\n")
        if len(cleaned) != CODE_CHARS:
            raise SetupCodeError(
                f"expected {CODE_CHARS} characters, got {len(cleaned)}"
            )
        values = []
        for position, ch in enumerate(cleaned, 1):
            if ch not in _VALUE:
                # The character itself is not echoed: it is part of the secret.
                raise SetupCodeError(f"invalid character at position {position}")
            values.append(_VALUE[ch])
        data: list[int] = []
        for index in range(GROUP_COUNT):
            group = values[index * GROUP_SIZE : (index + 1) * GROUP_SIZE]
            if _group_syndrome(group, index) != 0:
                raise SetupCodeError(f"check character mismatch in group {index + 1}")
            data.extend(group[:DATA_CHARS_PER_GROUP])
        number = 0
        for value in data:
            number = (number << 5) | value
        pad_bits = _DATA_CHARS * 5 - _PAYLOAD_SIZE * 8
        if number & ((1 << pad_bits) - 1):
            raise SetupCodeError("non-zero padding")
        reader = Reader((number >> pad_bits).to_bytes(_PAYLOAD_SIZE, "big"))
        version = reader.u8()
        if version != SETUP_VERSION:
            raise SetupCodeError(f"unsupported setup payload version {version}")
        return cls(
            lock_id=reader.fixed(LOCK_ID_SIZE),
            fingerprint=reader.fixed(KEY_ID_SIZE),
            pairing_secret=reader.fixed(PAIRING_SECRET_SIZE),
            version=version,
        )
