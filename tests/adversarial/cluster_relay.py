"""The hostile relay on a 3-node RabbitMQ cluster: two virtual hosts, one per side.

hostile_relay.py's docstring says why the attacker sits between two virtual
hosts of one cluster.  Here: the operator's accounts (full rights on every
``securelock/v1`` topic in both virtual hosts) and `ClusterDomains`, which
places the lock on node 0, controllers on node 1 and the attacker on node 2.

One cluster serves a whole test session (it takes 12-22 s to form); each
stage gets fresh lock ids (new locks) and its own controller account names
(a per-stage prefix), so tests do not see each other's accounts or frames.

Which scenarios run on the cluster
----------------------------------
Every test on a `Stage` has a ``[mosquitto]`` and a ``[rabbitmq-cluster]``
variant.  ``SECURE_LOCK_CLUSTER_RELAY`` chooses which cluster variants run:

* ``ci`` (the default, what CI runs): `CI_SCENARIOS`, the blindness
  scenario, a dropped command and a dropped result (which also show that
  nothing crosses from one virtual host to the other but through the
  attacker), and one attack of each other kind (hold past expiry, move and
  reflect across locks, withhold a revocation), within CI's time budget;
* ``all``: every scenario that applies;
* ``none``: no cluster variant (no cluster is started).

Not on the cluster, whatever the setting (`LAN_ONLY`): the scenarios whose
attacker is the LAN proxy (``[lan]`` variants, and the LAN proxy test).
Their frames go from the controller straight to the lock's WebSocket and
never touch the relay, so the relay they run beside changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
import itertools
import os
from pathlib import Path
import re

import pytest

from custom_components.secure_lock.transport import MqttLinkConfig
from custom_components.secure_lock.transport.topics import PREFIX
from device_sim.lock_runtime import BrokerSettings
from device_sim.rabbitmq import RabbitMqCluster
from device_sim.rabbitmq_accounts import (
    VHOST,
    Grant,
    RelayAccounts,
    TopicPermission,
    hash_password,
    routing_key,
)

from .hostile_relay import (
    OPERATOR_ACCOUNTS,
    OPERATOR_PASSWORD,
    OperatorLogin,
    operator_name,
)
from .relay_domains import RelayDomains, Side

CONTROLLER_VHOST = "controllers"
LOCK_NODE, CONTROLLER_NODE, ATTACKER_NODE = 0, 1, 2
CLUSTER_SIZE = 3

# Mosquitto's `topic readwrite securelock/v1/#`, on routing keys.
_EVERY_LOCK_TOPIC = "^" + re.escape(routing_key(PREFIX)) + r"\..+$"


@dataclass(slots=True)
class OperatorAccounts(RelayAccounts):
    """The relay's accounts plus the operator's, in both virtual hosts."""

    controller_vhost: str = CONTROLLER_VHOST
    operator_hash: str = field(
        default_factory=lambda: hash_password(OPERATOR_PASSWORD), repr=False
    )

    def grants(self) -> list[Grant]:
        """Return every account's rights, the operator's last."""
        everything = TopicPermission(_EVERY_LOCK_TOPIC, _EVERY_LOCK_TOPIC)
        return [
            *RelayAccounts.grants(self),
            *(
                Grant(operator_name(i), self.operator_hash, vhost, everything)
                for vhost in (VHOST, self.controller_vhost)
                for i in range(OPERATOR_ACCOUNTS)
            ),
        ]


SELECTION_VARIABLE = "SECURE_LOCK_CLUSTER_RELAY"

CI_SCENARIOS = frozenset(
    {
        "test_the_relay_learns_no_content_and_no_kind",
        "test_dropped_command_is_a_timeout_and_changes_nothing",
        "test_dropped_confirmation_shows_only_signed_state",
        "test_unlock_held_past_its_expiry_is_refused",
        "test_frames_moved_reflected_or_downgraded_are_refused",
        "test_withheld_revocation",
    }
)
"""The cluster variants CI runs (``SECURE_LOCK_CLUSTER_RELAY=ci``)."""

LAN_ONLY = frozenset({"test_lan_proxy_replays_and_held_unlocks_are_refused"})
"""Tests whose only attacker is the LAN proxy (besides ``[lan]`` variants)."""
_LAN_PARAMETERS = ("path", "kind")


class RelayKind(StrEnum):
    """Which relay a stage runs on."""

    MOSQUITTO = "mosquitto"
    RABBITMQ_CLUSTER = "rabbitmq-cluster"


class ClusterSelection(StrEnum):
    """Which cluster variants run (``SECURE_LOCK_CLUSTER_RELAY``)."""

    CI = "ci"
    ALL = "all"
    NONE = "none"


def _selection() -> ClusterSelection:
    value = os.environ.get(SELECTION_VARIABLE, ClusterSelection.CI)
    try:
        return ClusterSelection(value)
    except ValueError:
        choices = ", ".join(ClusterSelection)
        raise pytest.UsageError(
            f"{SELECTION_VARIABLE} must be one of {choices}"
        ) from None


def applies_to_cluster(item: pytest.Item) -> bool:
    """Return whether a test's attacker is the relay (not only the LAN proxy)."""
    if not isinstance(item, pytest.Function) or item.originalname in LAN_ONLY:
        return False
    params = item.callspec.params
    return all(params.get(name) != "lan" for name in _LAN_PARAMETERS)


def cluster_selection(
    items: Sequence[pytest.Item],
) -> tuple[list[pytest.Item], list[pytest.Item]]:
    """Split ``items`` into those to run and the cluster variants to deselect."""
    selection = _selection()
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_cluster = (
            callspec is not None
            and callspec.params.get("stage") is RelayKind.RABBITMQ_CLUSTER
        )
        wanted = (
            not on_cluster
            or (selection is ClusterSelection.ALL and applies_to_cluster(item))
            or (
                selection is ClusterSelection.CI
                and applies_to_cluster(item)
                and isinstance(item, pytest.Function)
                and item.originalname in CI_SCENARIOS
            )
        )
        (keep if wanted else drop).append(item)
    return keep, drop


_STAGES = itertools.count()


class ClusterDomains(RelayDomains):
    """The lock's virtual host ``/`` and the controllers' on one running cluster."""

    needs_lock_account = True

    def __init__(self, cluster: RabbitMqCluster) -> None:
        """Use ``cluster`` (started with `OperatorAccounts`) for one stage."""
        if cluster.accounts.controller_vhost == VHOST:
            raise ValueError("the cluster's controllers share the locks' vhost")
        self.cluster = cluster
        self._prefix = f"s{next(_STAGES)}-"

    def _account(self, username: str) -> str:
        return self._prefix + username

    @property
    def ca_file(self) -> Path:
        """Return the cluster's CA certificate."""
        return self.cluster.ca_file

    def lock_settings(self) -> BrokerSettings:
        """Return node 0 first, the other nodes as fallbacks."""
        return self.cluster.broker_settings(LOCK_NODE)

    def admit_lock(self, lock_id: bytes) -> None:
        """Create the lock's (certificate-only) account."""
        self.cluster.add_locks([lock_id])

    def add_controller(
        self, username: str, password: str, topic_ids: Iterable[str]
    ) -> None:
        """Create or replace this stage's account in the controllers' vhost."""
        self.cluster.add_controller(self._account(username), password, topic_ids)

    def controller_link_config(
        self,
        lock_id: bytes,
        username: str,
        password: str,
        *,
        routing_id: bytes | None,
        hears_pairing: bool,
    ) -> MqttLinkConfig:
        """Return node 1 first (then the others) for this stage's account."""
        return self.cluster.controller_link_config(
            lock_id,
            self._account(username),
            password,
            node=CONTROLLER_NODE,
            routing_id=routing_id,
            hears_pairing=hears_pairing,
            connect_timeout=5.0,
        )

    def controller_urls(self) -> tuple[str, ...]:
        """Return node 1's URL, then the other nodes'."""
        ports = [self.cluster.nodes[CONTROLLER_NODE].mqtt_port]
        ports += [e.port for e in self.cluster.fallbacks(CONTROLLER_NODE)]
        return tuple(f"mqtts://127.0.0.1:{port}" for port in ports)

    def controller_login(self, username: str) -> str:
        """Return ``controllers:<this stage's account>``."""
        return self.cluster.accounts.login(self._account(username))

    def operator(self, side: Side, account: int) -> OperatorLogin:
        """Return the operator on node 2, in the lock's or the controllers' vhost."""
        name = operator_name(account)
        if side is Side.CONTROLLERS:
            name = self.cluster.accounts.login(name)
        port = self.cluster.nodes[ATTACKER_NODE].mqtt_port
        return OperatorLogin(port, self.cluster.ca_file, name)
