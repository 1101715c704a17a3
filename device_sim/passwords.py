"""Mosquitto password-file hashes, computed without the mosquitto_passwd binary.

Passing a password on mosquitto_passwd's command line would expose it in the
process list; computing the hash here keeps it inside this process.  The
format is Mosquitto 2.0's ``$7$``: PBKDF2-HMAC-SHA512 with a random salt, base64.
"""

from __future__ import annotations

import base64
import re
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

# Mosquitto 2.0's mosquitto_passwd default iteration count.  Development
# passwords only: a production broker would use a dedicated auth plugin.
PBKDF2_ITERATIONS = 101
SALT_LEN = 12
HASH_LEN = 64
USERNAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class InvalidUsername(ValueError):
    """A username that could break the password or ACL file syntax."""


def check_username(username: str) -> str:
    """Return ``username`` if it is safe to write into Mosquitto's files."""
    if not USERNAME_RE.fullmatch(username):
        raise InvalidUsername("username must be 1-64 characters of [A-Za-z0-9_.-]")
    return username


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Return a ``$7$`` hash line body for ``password``."""
    salt = secrets.token_bytes(SALT_LEN) if salt is None else salt
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA512(),
        length=HASH_LEN,
        salt=salt,
        iterations=PBKDF2_ITERATIONS,
    )
    digest = kdf.derive(password.encode())
    b64 = base64.b64encode
    return f"$7${PBKDF2_ITERATIONS}${b64(salt).decode()}${b64(digest).decode()}"


def password_line(username: str, password: str) -> str:
    """Return one password-file line (without newline)."""
    if not password:
        raise ValueError("password must not be empty")
    return f"{check_username(username)}:{hash_password(password)}"
