"""RabbitMQ accounts with controllers in a virtual host of their own (no broker needed).

The hostile-relay tests split one cluster into the locks' and the
controllers' virtual host (tests/adversarial/cluster_relay.py); that they
are really apart is shown there by dropped frames never arriving.  Here:
the definitions document puts each grant in its place.
"""

from __future__ import annotations

import json
from typing import Any

from device_sim.rabbitmq_accounts import (
    VHOST,
    Grant,
    RelayAccounts,
    TopicPermission,
    controller_permission,
    lock_permission,
)

LOCK = "a1" * 16


def _document(accounts: RelayAccounts) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(accounts.definitions())
    return document


def test_by_default_everyone_shares_the_default_vhost() -> None:
    """One virtual host; controllers log in with their account name as it is."""
    accounts = RelayAccounts()
    accounts.add_lock(LOCK)
    accounts.add_controllers([("ha", "pw", [LOCK])])
    document = _document(accounts)
    assert document["vhosts"] == [{"name": VHOST}]
    assert {p["vhost"] for p in document["topic_permissions"]} == {VHOST}
    assert accounts.login("ha") == "ha"


def test_controllers_get_their_own_vhost_and_locks_stay_in_the_default() -> None:
    """Each grant lands in its side's vhost; a controller names its vhost at login."""
    accounts = RelayAccounts(controller_vhost="controllers")
    accounts.add_lock(LOCK)
    accounts.add_controllers([("ha", "pw", [LOCK])])
    document = _document(accounts)
    assert document["vhosts"] == [{"name": VHOST}, {"name": "controllers"}]
    topics = {
        (p["user"], p["vhost"]): (p["write"], p["read"])
        for p in document["topic_permissions"]
    }
    lock = lock_permission(LOCK)
    controller = controller_permission("ha", [LOCK])
    assert topics == {
        (LOCK, VHOST): (lock.write, lock.read),
        ("ha", "controllers"): (controller.write, controller.read),
    }
    assert {(p["user"], p["vhost"]) for p in document["permissions"]} == set(topics)
    assert accounts.login("ha") == "controllers:ha"


def test_an_account_granted_in_two_vhosts_is_one_user() -> None:
    """A user with grants in both vhosts is listed once, with both grants."""

    class TwoSided(RelayAccounts):
        def grants(self) -> list[Grant]:
            both = TopicPermission("^w$", "^r$")
            return [Grant("op", "hash", vhost, both) for vhost in (VHOST, "c")]

    document = _document(TwoSided(controller_vhost="c"))
    assert [u["name"] for u in document["users"]] == ["op"]
    assert {(p["user"], p["vhost"]) for p in document["topic_permissions"]} == {
        ("op", VHOST),
        ("op", "c"),
    }
