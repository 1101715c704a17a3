"""Controller roles (the policy about what each may do lives in permissions)."""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    """Granted at pairing or by an admin; stored in the lock's registry."""

    ADMIN = 1
    OPERATOR = 2
    GUEST = 3
