"""Who is who on the broker: lock ids and controller names never overlap.

Mosquitto takes each client's id from its user name on both listeners
(``use_username_as_clientid``), and client ids form one namespace across the
whole broker: a second connection with an id disconnects the first.  A lock
is named by its certificate's CN, its lock id in 32 lowercase hex digits.  A
controller account or controller certificate with such a name would share
that lock's client id and push it off the relay, and on the lock listener
the ACL pattern would grant it that lock's topics.  So lock ids belong to
locks only; every controller name is checked here before it becomes an
account or a certificate.
"""

from __future__ import annotations

from custom_components.secure_lock.transport.topics import LockTopics

from .passwords import InvalidUsername, check_username


def is_lock_name(name: str) -> bool:
    """Return whether ``name`` has the form of a lock id (a lock's client id)."""
    try:
        LockTopics(name)
    except ValueError:
        return False
    return True


def check_controller_name(name: str) -> str:
    """Return ``name`` if it may name a controller on the broker."""
    check_username(name)
    if is_lock_name(name):
        raise InvalidUsername(
            "a controller name must not have the form of a lock id "
            "(32 lowercase hex digits): that name belongs to the lock"
        )
    return name
