"""RabbitMQ accounts and topic permissions equivalent to the Mosquitto ACLs.

RabbitMQ's MQTT plugin publishes every MQTT message to the topic exchange
``amq.topic`` with the topic as routing key, MQTT ``/`` becoming ``.``; a
subscription is a binding whose key is the topic filter mapped the same way
(``+`` becomes ``*``, ``#`` stays).  RabbitMQ 4.3 leaves an MQTT ``.`` as it
is, so it separates levels too: ``found/a.b`` and ``found/a/b`` are one
routing key, delivered as ``found/a/b``.  So a controller account name must
not contain ``.`` on RabbitMQ (:func:`check_rabbitmq_account`).  Topic
permissions are two regular expressions per user and exchange: *write* is
matched against the routing key of each publish, *read* against the binding
key of each subscribe (once: what a subscription receives later is not
checked again).  The rules below are written on routing keys, one MQTT
level being ``[^.]+``, and every name in them is regex-escaped.  A read rule
lets a ``*`` level through (the ``+`` filter Mosquitto's ``topic read
.../+`` allows) but never ``#``, which Mosquitto would refuse as well.

Locks log in with their certificate (``mqtt.ssl_cert_login``, CN = lock id
hex), but unlike Mosquitto RabbitMQ still needs a user of that name: each
lock gets one with no password, so nobody logs in as a lock with a password.
Controllers log in with a password (stored as RabbitMQ's salted SHA-256).

Every lock and controller account also carries a user limit on its
connections, and every virtual host a policy bounding the session queues
(:mod:`device_sim.rabbitmq_limits`); other users (the hostile-relay tests'
operator) get neither.

The whole set is rendered as a definitions document, which a node imports at
boot (``definitions.local.path``) or at run time (``rabbitmqctl
import_definitions``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
import hashlib
import json
import re
import secrets

from custom_components.secure_lock.transport.topics import PREFIX, LockTopics

from .account_names import check_controller_name
from .rabbitmq_limits import AccountLimits

VHOST = "/"
EXCHANGE = "amq.topic"
HASHING_ALGORITHM = "rabbit_password_hashing_sha256"
_SALT_LEN = 4
_ONE_LEVEL = r"[^.*#]+"
"""One concrete topic level (what a publish names)."""
_ONE_LEVEL_OR_PLUS = r"[^.#]+"
"""One level of a subscription: a concrete name or the ``+`` wildcard (``*``)."""
# The MQTT plugin declares one queue per subscribing session, named
# mqtt-subscription-<client id>qos<n>, and binds it to amq.topic; these are
# the only queue and exchange rights a client needs.  With AMQP switched off
# nobody can consume such a queue except through the MQTT session it belongs to.
_QUEUES = r"^mqtt-subscription-"
_QUEUES_AND_EXCHANGE = r"^(?:amq\.topic|mqtt-subscription-.*)$"


class AccountNameError(ValueError):
    """A name RabbitMQ's topic mapping cannot keep apart from others."""


def routing_key(mqtt_topic: str) -> str:
    """Return the AMQP routing key RabbitMQ 4.3 makes of an MQTT topic (or filter)."""
    return mqtt_topic.replace("/", ".").replace("+", "*")


def check_rabbitmq_account(username: str) -> str:
    """Return ``username`` if it may name a controller on RabbitMQ."""
    check_controller_name(username)
    if "." in username:
        raise AccountNameError(
            "on RabbitMQ a controller name must not contain '.': its MQTT "
            "plugin turns it into a topic level, so found/a.b would be found/a/b"
        )
    return username


def _key_regex(mqtt_topic: str) -> str:
    return re.escape(routing_key(mqtt_topic))


def _anchored(alternatives: Iterable[str]) -> str:
    parts = list(alternatives)
    if not parts:
        return "^$(?!)"
    return "^(?:" + "|".join(parts) + ")$"


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Return RabbitMQ's ``password_hash`` for ``password`` (salted SHA-256)."""
    salt = secrets.token_bytes(_SALT_LEN) if salt is None else salt
    digest = hashlib.sha256(salt + password.encode()).digest()
    return base64.b64encode(salt + digest).decode("ascii")


@dataclass(frozen=True, slots=True)
class TopicPermission:
    """A user's write and read regexes on ``amq.topic``."""

    write: str
    read: str


def lock_permission(topic_id: str) -> TopicPermission:
    """Return what the lock with this topic id may publish and subscribe to."""
    topics = LockTopics(topic_id)
    own = _key_regex(f"{PREFIX}/{topics.topic_id}")
    discovery = _key_regex(f"{PREFIX}/discover")
    found = _key_regex(f"{PREFIX}/found")
    return TopicPermission(
        write=_anchored([rf"{own}\.up\.{_ONE_LEVEL}", rf"{found}\.{_ONE_LEVEL}"]),
        read=_anchored([rf"{own}\.down", rf"{discovery}\.{_ONE_LEVEL_OR_PLUS}"]),
    )


def controller_permission(username: str, topic_ids: Iterable[str]) -> TopicPermission:
    """Return what a controller account granted these locks may use."""
    owned = sorted({LockTopics(t).topic_id for t in topic_ids})
    locks = [_key_regex(f"{PREFIX}/{topic_id}") for topic_id in owned]
    discovery = _key_regex(f"{PREFIX}/discover")
    write = [rf"{lock}\.down" for lock in locks]
    write.append(rf"{discovery}\.{_ONE_LEVEL}")
    read = [rf"{lock}\.up\.{_ONE_LEVEL_OR_PLUS}" for lock in locks]
    read.append(_key_regex(f"{PREFIX}/found/{username}"))
    return TopicPermission(write=_anchored(write), read=_anchored(read))


@dataclass(frozen=True, slots=True)
class ControllerAccount:
    """A controller account: its password hash and the locks it may drive."""

    username: str
    password_hash: str = field(repr=False)
    topic_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class Grant:
    """One account's rights in one virtual host (an account may have several)."""

    username: str
    password_hash: str = field(repr=False)
    """Empty for an account that logs in only with its certificate."""
    vhost: str
    topics: TopicPermission


@dataclass(slots=True)
class RelayAccounts:
    """Every lock and controller account of one relay (all nodes of a cluster).

    Locks live in the default virtual host, which a certificate login
    lands in.  Controllers live in ``controller_vhost``: the default one
    too, unless a test splits the relay into two routing domains (a client
    names another virtual host by logging in as ``vhost:username``).
    """

    controller_vhost: str = VHOST
    lock_ids: set[str] = field(default_factory=set)
    controllers: dict[str, ControllerAccount] = field(default_factory=dict)
    limits: AccountLimits = field(default_factory=AccountLimits)
    """What each lock and controller account may cost the relay."""

    def add_lock(self, topic_id: str) -> bool:
        """Register a lock's account; return whether it is new."""
        topic_id = LockTopics(topic_id).topic_id
        if topic_id in self.lock_ids:
            return False
        self.lock_ids.add(topic_id)
        return True

    def add_controllers(
        self, accounts: Iterable[tuple[str, str, Iterable[str]]]
    ) -> list[ControllerAccount]:
        """Create or replace controller accounts (all checked before any is stored)."""
        made = [
            ControllerAccount(
                check_rabbitmq_account(username),
                hash_password(password),
                frozenset(LockTopics(t).topic_id for t in topic_ids),
            )
            for username, password, topic_ids in accounts
        ]
        for account in made:
            self.controllers[account.username] = account
        return made

    def login(self, username: str) -> str:
        """Return the MQTT user name a controller account connects with."""
        if self.controller_vhost == VHOST:
            return username
        return f"{self.controller_vhost}:{username}"

    def grants(self) -> list[Grant]:
        """Return every account's rights, locks first."""
        made = [
            # No password hash: the account logs in only with its certificate.
            Grant(topic_id, "", VHOST, lock_permission(topic_id))
            for topic_id in sorted(self.lock_ids)
        ]
        made += [
            Grant(
                account.username,
                account.password_hash,
                self.controller_vhost,
                controller_permission(account.username, account.topic_ids),
            )
            for account in sorted(self.controllers.values(), key=lambda a: a.username)
        ]
        return made

    def definitions(self) -> str:
        """Return the accounts as a RabbitMQ definitions document (JSON)."""
        users: dict[str, dict[str, object]] = {}
        permissions: list[dict[str, str]] = []
        topic_permissions: list[dict[str, str]] = []
        customers = self.lock_ids | self.controllers.keys()
        for grant in self.grants():
            user = users.setdefault(
                grant.username,
                {
                    "name": grant.username,
                    "password_hash": grant.password_hash,
                    "hashing_algorithm": HASHING_ALGORITHM,
                    "tags": [],
                },
            )
            if grant.username in customers:
                user["limits"] = self.limits.user_limits()
            permissions.append(
                {
                    "user": grant.username,
                    "vhost": grant.vhost,
                    "configure": _QUEUES,
                    "write": _QUEUES_AND_EXCHANGE,
                    "read": _QUEUES_AND_EXCHANGE,
                }
            )
            topic_permissions.append(
                {
                    "user": grant.username,
                    "vhost": grant.vhost,
                    "exchange": EXCHANGE,
                    "write": grant.topics.write,
                    "read": grant.topics.read,
                }
            )
        vhosts = sorted({VHOST, self.controller_vhost})
        document = {
            "vhosts": [{"name": name} for name in vhosts],
            "users": list(users.values()),
            "permissions": permissions,
            "topic_permissions": topic_permissions,
            "policies": [
                self.limits.session_queue_policy(vhost, _QUEUES) for vhost in vhosts
            ],
        }
        return json.dumps(document, indent=1)
