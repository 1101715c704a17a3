"""Run RabbitMQ (one node or a cluster on loopback) as the relay, for tests and benches.

The same relay contract as :class:`device_sim.broker.MosquittoBroker`: TLS
1.3 only, locks log in with their device certificate (CN = lock id hex),
controllers with username and password, and topic permissions equivalent to
Mosquitto's ACLs (:mod:`device_sim.rabbitmq_accounts`).  Differences, and
why, are in docs/transport.md ("Running the relay on RabbitMQ").  In short:

* one MQTT TLS listener per node serves both kinds of client: it asks for a
  certificate but does not require one; a client that presents none must
  give a password, and lock accounts have none;
* every lock needs an account (``lock_link_config`` creates it);
* RabbitMQ checks read permission when a client subscribes, not per
  message, so changing or removing an account closes its connections.
* an account holds two connections, not one, and each session queue is
  bounded as on Mosquitto (:mod:`device_sim.rabbitmq_limits`).

Everything listens on 127.0.0.1: the MQTT listener, Erlang distribution,
and a private epmd; AMQP and management are off.  Accounts are written as a
definitions file every node imports at boot; changes at run time are one
call into a running node through ``erl_call`` (milliseconds, where
rabbitmqctl takes over a second).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
import contextlib
from dataclasses import dataclass
import os
from pathlib import Path
import secrets
import signal
import socket
import subprocess
import threading
import time
from typing import Any

from custom_components.secure_lock.transport.mqtt import (
    BrokerEndpoint,
    MqttLinkConfig,
    MqttRole,
)
from custom_components.secure_lock.transport.tls import client_tls_context
from custom_components.secure_lock.transport.topics import LockTopics

from .broker_limits import MAX_PACKET_SIZE, SESSION_EXPIRY_HOURS
from .lock_runtime import BrokerSettings
from .pki import CertFiles, DevCertificateAuthority, write_issued
from .ports import HOST, free_ports
from .rabbitmq_accounts import RelayAccounts
from .rabbitmq_install import RabbitMqInstall, ensure_rabbitmq
from .relay_process import RelayProcess

START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
CTL_TIMEOUT = 60.0
POLL_INTERVAL = 0.05
PLUGINS = "rabbitmq_mqtt"
MAX_SESSION_EXPIRY_S = SESSION_EXPIRY_HOURS * 3600
SEND_TIMEOUT_MS = 15_000
"""How long a write to a client may block before the node closes it (the plugin's default)."""
_LOCALHOST_ONLY = "-kernel inet_dist_use_interface {127,0,0,1}"


class RabbitMqError(Exception):
    """A RabbitMQ node could not be configured, started or changed."""


def _erlang_string(text: str) -> str:
    # Names and paths here are checked account names and our own paths;
    # escaping keeps any quote or backslash literal all the same.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _erlang_binary(text: str) -> str:
    return f"<<{_erlang_string(text)}/utf8>>"


def _port_accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def _group_alive(pgid: int) -> bool:
    # A zombie still counts for kill(); /proc tells a live member apart.
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    tmp.replace(path)


@dataclass(frozen=True, slots=True)
class NodePorts:
    """The ports one node listens on (all on 127.0.0.1)."""

    mqtt: int
    distribution: int
    amqp_unused: int
    """RabbitMQ derives defaults from it; no AMQP listener is opened."""


class RabbitMqNode:
    """One RabbitMQ node process; :class:`RabbitMqCluster` owns and drives it."""

    def __init__(
        self, cluster: RabbitMqCluster, index: int, name: str, ports: NodePorts
    ) -> None:
        """Prepare (but do not start) node ``index`` of ``cluster``."""
        self._cluster = cluster
        self.index = index
        self.name = name
        self.ports = ports
        self.directory = cluster.directory / f"node{index}"
        self._process: subprocess.Popen[bytes] | None = None
        self.last_start_seconds: float | None = None

    @property
    def mqtt_port(self) -> int:
        """Return the MQTT-over-TLS port (locks and controllers)."""
        return self.ports.mqtt

    @property
    def running(self) -> bool:
        """Return whether the node's process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def vm_pid(self) -> int | None:
        """Return the Erlang VM's process id (for CPU and memory figures) while running."""
        process = self._process
        if process is None or process.poll() is not None:
            return None
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                name, rest = stat.read_text().split(" (", 1)[1].rsplit(")", 1)
            except OSError, IndexError, ValueError:
                continue
            if name == "beam.smp" and int(rest.split()[2]) == process.pid:
                return int(stat.parent.name)
        return None

    @property
    def log_path(self) -> Path:
        """Return the node's log file."""
        return self.directory / "rabbit.log"

    def _render_config(self) -> str:
        cluster = self._cluster
        lines = [
            "# Generated by device_sim/rabbitmq.py; rewritten on every start.",
            "listeners.tcp = none",
            "mqtt.listeners.tcp = none",
            f"mqtt.listeners.ssl.default = {HOST}:{self.ports.mqtt}",
            # Nagle adds tens of ms per round trip to this protocol's small
            # frames.  Setting one listener option replaces the plugin's whole
            # default list, so the others are restated: among them, a client
            # that stops reading is closed after 15 s instead of holding a
            # connection process and its buffers for ever.
            "mqtt.tcp_listen_options.nodelay = true",
            "mqtt.tcp_listen_options.backlog = 128",
            f"mqtt.tcp_listen_options.send_timeout = {SEND_TIMEOUT_MS}",
            "mqtt.tcp_listen_options.send_timeout_close = true",
            "mqtt.allow_anonymous = false",
            # Refuse a publish or subscribe with its MQTT 5 reason code and
            # keep the connection, as Mosquitto does (RabbitMQ's default
            # disconnects), so the transport sees the same refusals.
            "mqtt.disconnect_on_unauthorized = false",
            "mqtt.ssl_cert_login = true",
            "ssl_cert_login_from = common_name",
            # What one customer may cost the relay, as on Mosquitto
            # (device_sim/broker_limits.py): packets no larger than the
            # largest frame needs, no session outliving its client by more
            # than an hour, and nothing retained for later subscribers.
            f"mqtt.max_packet_size_authenticated = {MAX_PACKET_SIZE}",
            f"mqtt.max_session_expiry_interval_seconds = {MAX_SESSION_EXPIRY_S}",
            "mqtt.retained_message_store.max_messages = 0",
            f"ssl_options.cacertfile = {cluster.ca_file}",
            f"ssl_options.certfile = {cluster.server.cert}",
            f"ssl_options.keyfile = {cluster.server.key}",
            "ssl_options.versions.1 = tlsv1.3",
            # Ask every client for a certificate, require none: controllers
            # have none and log in with a password.
            "ssl_options.verify = verify_peer",
            "ssl_options.fail_if_no_peer_cert = false",
            "definitions.import_backend = local_filesystem",
            f"definitions.local.path = {cluster.definitions_path}",
            "log.console = false",
            f"log.file = {self.log_path}",
            "log.file.level = info",
            # Tests share a small disk and memory with everything else.
            "disk_free_limit.absolute = 50MB",
            "vm_memory_high_watermark.relative = 0.8",
        ]
        if self.index > 0:
            # Node 0 boots alone and seeds the cluster; a fresh node joins it.
            # (Listing every node everywhere makes a fresh node wait for all
            # of them before it boots.)  A restarted node rejoins from its data.
            lines += [
                "cluster_formation.peer_discovery_backend = classic_config",
                f"cluster_formation.classic_config.nodes.1 = {cluster.nodes[0].name}",
            ]
        return "\n".join(lines) + "\n"

    def environment(self) -> dict[str, str]:
        """Return the variables that place this node's files, name and ports."""
        cluster = self._cluster
        base = self.directory
        return {
            **cluster.install.environment(),
            "HOME": str(cluster.directory),  # the shared .erlang.cookie
            "ERL_EPMD_PORT": str(cluster.epmd_port),
            "ERL_EPMD_ADDRESS": HOST,
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": HOST,
            "RABBITMQ_NODE_PORT": str(self.ports.amqp_unused),
            "RABBITMQ_DIST_PORT": str(self.ports.distribution),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
            "RABBITMQ_MNESIA_BASE": str(base / "data"),
            "RABBITMQ_MNESIA_DIR": str(base / "data" / self.name),
            "RABBITMQ_LOG_BASE": str(base),
            "RABBITMQ_PID_FILE": str(base / "rabbit.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_ENABLED_PLUGINS": PLUGINS,
            # Every Erlang VM started from here reads ERL_AFLAGS, including the
            # short-lived helper node peer discovery starts, which otherwise
            # listens on 0.0.0.0.
            "ERL_AFLAGS": _LOCALHOST_ONLY,
        }

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the node (a restart keeps its data) and wait for its MQTT port."""
        if self.running:
            raise RabbitMqError(f"{self.name} already running")
        self.directory.mkdir(parents=True, exist_ok=True)
        _write_private(self.directory / "rabbitmq.conf", self._render_config())
        began = time.monotonic()
        with (self.directory / "stdout.log").open("ab") as output:
            self._process = subprocess.Popen(  # noqa: S603 - fixed script, no shell
                [str(self._cluster.install.server_scripts / "rabbitmq-server")],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                env=self.environment(),
                start_new_session=True,
            )
        deadline = began + timeout
        while not _port_accepts(self.ports.mqtt):
            if self._process.poll() is not None:
                self._process = None
                raise RabbitMqError(f"{self.name} exited: {self.diagnostics()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RabbitMqError(f"{self.name} did not listen: {self.diagnostics()}")
            time.sleep(POLL_INTERVAL)
        self.last_start_seconds = time.monotonic() - began

    def kill(self) -> None:
        """Kill -9 the node's whole process group (script and Erlang VM) and reap it."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        # Reaping the script is not enough: the Erlang VM, its child, may
        # still hold the ports for a moment, and a restart would then see
        # the dying node's listener as its own.
        deadline = time.monotonic() + STOP_TIMEOUT
        while _group_alive(process.pid) or _port_accepts(self.ports.mqtt):
            if time.monotonic() > deadline:
                raise RabbitMqError(f"{self.name} outlived kill -9")
            time.sleep(POLL_INTERVAL)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the node (SIGTERM, then kill -9 after ``timeout``)."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout)
        self.kill()

    def diagnostics(self) -> str:
        """Return the tail of the node's output and log (no secrets are logged)."""
        texts = [
            path.read_text(errors="replace")[-2000:]
            for path in (self.directory / "stdout.log", self.log_path)
            if path.exists()
        ]
        return " | ".join(texts) or "no output"

    def ctl(self, *arguments: str, timeout: float = CTL_TIMEOUT) -> str:
        """Run ``rabbitmqctl`` against this node (about 1.5 s); return its output."""
        result = subprocess.run(  # noqa: S603 - fixed script, no shell
            [
                str(self._cluster.install.server_scripts / "rabbitmqctl"),
                "-n",
                self.name,
                "-q",
                *arguments,
            ],
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RabbitMqError(
                f"rabbitmqctl {arguments[0]} failed: {result.stderr[-1000:]}"
            )
        return result.stdout

    def call(self, expression: str, timeout: float = CTL_TIMEOUT) -> str:
        """Evaluate one Erlang expression on the node; return the printed result.

        ``erl_call`` (a small C program) answers in milliseconds where
        rabbitmqctl boots an Erlang VM first; it reads the cluster's cookie
        from $HOME and finds the node through the private epmd.
        """
        result = subprocess.run(  # noqa: S603 - fixed executable, no shell
            [str(self._cluster.install.erl_call), "-sname", self.name, "-e"],
            input=expression + "\n",
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0 or not result.stdout.startswith("{ok,"):
            raise RabbitMqError(
                f"{self.name} refused a call: {(result.stdout + result.stderr)[-500:]}"
            )
        return result.stdout


class RabbitMqCluster(RelayProcess):
    """One or more RabbitMQ nodes on free 127.0.0.1 ports, configured in ``directory``.

    The MosquittoBroker-like API (``lock_link_config``,
    ``controller_link_config``, ``add_controller(s)``, ``remove_controller``,
    ``start``, ``stop``, context managers) plus node control
    (``kill_node``, ``start_node``) and a ``node`` argument choosing which
    node a client dials.
    """

    def __init__(
        self,
        directory: Path,
        ca_file: Path,
        server: CertFiles,
        *,
        size: int = 1,
        install: RabbitMqInstall | None = None,
        accounts: RelayAccounts | None = None,
    ) -> None:
        """Prepare (but do not start) ``size`` nodes; installs RabbitMQ if needed.

        ``accounts`` (empty ones by default) may place controllers in a
        virtual host of their own (:class:`RelayAccounts`).
        """
        if size < 1:
            raise ValueError("a cluster has at least one node")
        self.directory = directory
        self.ca_file = ca_file
        self.server = server
        self.install = ensure_rabbitmq() if install is None else install
        self.accounts = RelayAccounts() if accounts is None else accounts
        token = secrets.token_hex(4)
        ports = free_ports(1 + 3 * size)
        self.epmd_port = ports[0]
        self.nodes = [
            RabbitMqNode(
                self,
                i,
                f"securelock{i}-{token}@localhost",
                NodePorts(*ports[1 + 3 * i : 4 + 3 * i]),
            )
            for i in range(size)
        ]
        self._epmd: subprocess.Popen[bytes] | None = None

    @classmethod
    def with_dev_pki(
        cls,
        directory: Path,
        ca: DevCertificateAuthority,
        *,
        size: int = 1,
        accounts: RelayAccounts | None = None,
    ) -> RabbitMqCluster:
        """Write the CA certificate and a fresh server certificate into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        ca_file = directory / "ca.crt"
        ca_file.write_bytes(ca.cert_pem)
        server = write_issued(ca.issue_broker(), directory, "broker")
        return cls(directory, ca_file, server, size=size, accounts=accounts)

    # -- addresses ------------------------------------------------------------

    @property
    def host(self) -> str:
        """Return the address every node listens on."""
        return HOST

    @property
    def lock_port(self) -> int:
        """Return node 0's MQTT port (MosquittoBroker's name for the lock port)."""
        return self.nodes[0].mqtt_port

    @property
    def controller_port(self) -> int:
        """Return node 0's MQTT port: locks and controllers share one listener."""
        return self.nodes[0].mqtt_port

    @property
    def mqtt_ports(self) -> list[int]:
        """Return every node's MQTT port, node 0 first (a failover list)."""
        return [node.mqtt_port for node in self.nodes]

    @property
    def definitions_path(self) -> Path:
        """Return the accounts file every node imports at boot."""
        return self.directory / "definitions.json"

    @property
    def running(self) -> bool:
        """Return whether every node runs."""
        return all(node.running for node in self.nodes)

    # -- accounts ---------------------------------------------------------------

    def fallbacks(self, node: int) -> tuple[BrokerEndpoint, ...]:
        """Return the other nodes, in order after ``node``: where a link fails over to."""
        count = len(self.nodes)
        return tuple(
            BrokerEndpoint("localhost", self.nodes[(node + i) % count].mqtt_port, HOST)
            for i in range(1, count)
        )

    def broker_settings(self, node: int = 0) -> BrokerSettings:
        """Return a simulated lock's relay settings: ``node`` first, then the others."""
        return BrokerSettings(
            HOST,
            self.nodes[node].mqtt_port,
            self.ca_file,
            fallbacks=tuple((e.dial_address, e.port) for e in self.fallbacks(node)),
        )

    def lock_link_config(
        self, lock_id: bytes, device: CertFiles, *, node: int = 0
    ) -> MqttLinkConfig:
        """Return how a lock reaches its topics via ``node`` (then the others).

        Creates the lock's account: RabbitMQ needs one for a certificate login.
        """
        if self.accounts.add_lock(LockTopics.for_lock(lock_id).topic_id):
            self._apply()
        return MqttLinkConfig(
            role=MqttRole.LOCK,
            topics=LockTopics.for_lock(lock_id),
            port=self.nodes[node].mqtt_port,
            tls=client_tls_context(self.ca_file, device.cert, device.key),
            address=HOST,
            fallbacks=self.fallbacks(node),
        )

    def controller_link_config(
        self,
        lock_id: bytes,
        username: str,
        password: str,
        *,
        node: int = 0,
        **link_options: Any,
    ) -> MqttLinkConfig:
        """Return how a controller account reaches one lock's topics via ``node``.

        The other nodes follow as fallbacks.  The account logs in to the
        controllers' virtual host (:meth:`RelayAccounts.login`).  ``link_options`` go to
        :class:`MqttLinkConfig` as they are (``routing_id``, ``hears_pairing``).
        """
        return MqttLinkConfig(
            role=MqttRole.CONTROLLER,
            topics=LockTopics.for_lock(lock_id),
            port=self.nodes[node].mqtt_port,
            tls=client_tls_context(self.ca_file),
            address=HOST,
            username=self.accounts.login(username),
            password=password,
            fallbacks=self.fallbacks(node),
            **link_options,
        )

    def add_locks(self, lock_ids: Iterable[bytes]) -> None:
        """Create lock accounts (certificate login only) in one change."""
        added = [
            self.accounts.add_lock(LockTopics.for_lock(i).topic_id) for i in lock_ids
        ]
        if any(added):
            self._apply()

    def add_controller(
        self, username: str, password: str, topic_ids: Iterable[str]
    ) -> None:
        """Create or replace a controller account."""
        self.add_controllers([(username, password, topic_ids)])

    def add_controllers(
        self, accounts: Iterable[tuple[str, str, Iterable[str]]]
    ) -> None:
        """Create or replace many accounts in one change.

        A replaced account's open connections are closed: RabbitMQ checked
        its subscriptions against the old grants and would keep delivering.
        """
        known = set(self.accounts.controllers)
        replaced = [
            account.username
            for account in self.accounts.add_controllers(accounts)
            if account.username in known
        ]
        self._apply()
        for username in replaced:
            self._close_connections(username)

    def remove_controller(self, username: str) -> None:
        """Delete a controller account and close its connections."""
        if self.accounts.controllers.pop(username, None) is None:
            return
        _write_private(self.definitions_path, self.accounts.definitions())
        node = self._live_node()
        if node is not None:
            name = _erlang_binary(username)
            node.call(f"rabbit_auth_backend_internal:delete_user({name}, <<>>).")
            self._close_connections(username)

    def _apply(self) -> None:
        if not self.directory.exists():
            return
        _write_private(self.definitions_path, self.accounts.definitions())
        node = self._live_node()
        if node is not None:
            path = _erlang_string(str(self.definitions_path))
            answer = node.call(
                f"rabbit_definitions:import_raw(element(2, file:read_file({path})))."
            )
            if not answer.startswith("{ok, ok}"):
                raise RabbitMqError(f"definitions refused: {answer[:500]}")

    def _close_connections(self, username: str) -> None:
        node = self._live_node()
        if node is not None:
            node.call(
                "rabbit_networking:close_all_user_connections("
                f'{_erlang_binary(username)}, "account changed").'
            )

    def _live_node(self) -> RabbitMqNode | None:
        return next((node for node in self.nodes if node.running), None)

    # -- processes --------------------------------------------------------------

    def start(self) -> None:
        """Start epmd and every node; the first node seeds the cluster."""
        self.directory.mkdir(parents=True, exist_ok=True)
        _write_private(self.directory / ".erlang.cookie", secrets.token_hex(20))
        _write_private(self.definitions_path, self.accounts.definitions())
        self._epmd = subprocess.Popen(  # noqa: S603 - fixed executable, no shell
            [str(self.install.epmd), "-port", str(self.epmd_port), "-address", HOST],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            self.nodes[0].start()
            self._start_together(self.nodes[1:])
        except BaseException:
            self.stop()
            raise

    def _start_together(self, nodes: Sequence[RabbitMqNode]) -> None:
        # The joining nodes boot side by side: each waits on its own port.
        errors: list[BaseException] = []

        def run(node: RabbitMqNode) -> None:
            try:
                node.start()
            except RabbitMqError as err:
                errors.append(err)

        threads = [threading.Thread(target=run, args=(n,)) for n in nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def kill_node(self, index: int) -> None:
        """Kill -9 one node (its data stays for a restart)."""
        self.nodes[index].kill()

    def start_node(self, index: int) -> None:
        """Start one node again; it rejoins the cluster from its data."""
        self.nodes[index].start()

    def stop(self) -> None:
        """Stop every node and epmd."""
        for node in self.nodes:
            node.kill()
        epmd, self._epmd = self._epmd, None
        if epmd is not None:
            epmd.kill()
            epmd.wait()
