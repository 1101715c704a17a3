"""Run a real Mosquitto broker for development and tests.

The broker is the untrusted relay between controllers and locks, so its
configuration is as tight as Mosquitto allows: TLS 1.3 only, no plaintext
listener, no anonymous access, and per-client ACLs.  Two listeners, because the
two kinds of client authenticate differently (``per_listener_settings true``):

* the lock listener requires a client certificate issued by the manufacturer
  CA; the certificate's CN (the lock id hex) becomes the MQTT username and the
  client id, and an ACL pattern confines each lock to its own two topics;
* the controller listener authenticates with username and password; a
  per-user ACL grants the topics of the locks that controller may drive.

Client ids are the user names on both listeners, and controller names never
have the form of a lock id (:mod:`device_sim.account_names`), so no client
can push a lock or another account off the relay; two processes sharing one
account push each other off, which is why every controller gets its own.
The limits one customer may cost the broker are in
:mod:`device_sim.broker_limits`.  It listens on 127.0.0.1 only and keeps no
persistence.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
import os
from pathlib import Path
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from custom_components.secure_lock.transport.mqtt import MqttLinkConfig, MqttRole
from custom_components.secure_lock.transport.tls import client_tls_context
from custom_components.secure_lock.transport.topics import (
    DISCOVERY_FILTER,
    PREFIX,
    LockTopics,
)

from . import PROG
from .account_names import check_controller_name
from .broker_limits import BrokerLimits
from .passwords import password_line
from .pki import CertFiles, DevCertificateAuthority, write_issued
from .ports import HOST, free_ports
from .relay_process import RelayProcess

MOSQUITTO = "/usr/sbin/mosquitto"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
POLL_INTERVAL = 0.02
RELOAD_RESEND_INTERVAL = 1.0
RELOAD_TIMEOUT = 30.0
"""A loaded CI box once left a fresh broker's reload unconfirmed for 10 s."""
# Mosquitto's words when a listener's port is in use.
PORT_TAKEN = "Address already in use"
PORT_ATTEMPTS = 3


class BrokerError(Exception):
    """The broker could not be configured, started or reloaded."""


class _PortTakenError(Exception):
    """Mosquitto could not bind a port: another process took it first."""


@dataclass(frozen=True, slots=True)
class ControllerGrant:
    """A controller account: its password hash line and the locks it may drive."""

    username: str
    password_line: str = field(repr=False)
    topic_ids: frozenset[str]


def check_topic_id(topic_id: str) -> str:
    """Return ``topic_id`` if it is 32 lowercase hex digits."""
    try:
        return LockTopics(topic_id).topic_id
    except ValueError as err:
        raise BrokerError(str(err)) from None


def _port_accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def _write_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)
    tmp.replace(path)


def _run_as_user() -> str:
    # Mosquitto started as root drops to the "mosquitto" user, which could
    # not read the 0600 key files in the caller's directory; naming the
    # current user keeps it as whoever started it.
    return pwd.getpwuid(os.getuid()).pw_name


class MosquittoBroker(RelayProcess):
    """A Mosquitto process on free 127.0.0.1 ports, configured in ``directory``."""

    def __init__(
        self,
        directory: Path,
        ca_file: Path,
        server: CertFiles,
        *,
        lock_port: int = 0,
        controller_port: int = 0,
        executable: str = MOSQUITTO,
        tcp_nodelay: bool = True,
        limits: BrokerLimits | None = None,
    ) -> None:
        """Prepare (but do not start) a broker; ports 0 mean "pick free ports".

        ``tcp_nodelay=False`` exists only so bench/bench_broker.py can show
        what Nagle costs.
        """
        self.directory = directory
        self.ca_file = ca_file
        self._server = server
        self._executable = executable
        self._tcp_nodelay = tcp_nodelay
        self.limits = BrokerLimits() if limits is None else limits
        self._lock_port = lock_port
        self._controller_port = controller_port
        self._grants: dict[str, ControllerGrant] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._reloads_seen = 0

    @classmethod
    def with_dev_pki(
        cls,
        directory: Path,
        ca: DevCertificateAuthority,
        *,
        lock_port: int = 0,
        controller_port: int = 0,
        tcp_nodelay: bool = True,
        limits: BrokerLimits | None = None,
    ) -> MosquittoBroker:
        """Write the CA certificate and a fresh server certificate into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        ca_file = directory / "ca.crt"
        ca_file.write_bytes(ca.cert_pem)
        server = write_issued(ca.issue_broker(), directory, "broker")
        return cls(
            directory,
            ca_file,
            server,
            lock_port=lock_port,
            controller_port=controller_port,
            tcp_nodelay=tcp_nodelay,
            limits=limits,
        )

    # -- paths and ports -----------------------------------------------------

    @property
    def host(self) -> str:
        """Return the address the broker listens on."""
        return HOST

    @property
    def lock_port(self) -> int:
        """Return the mTLS port for locks."""
        return self._lock_port

    @property
    def controller_port(self) -> int:
        """Return the TLS + password port for controllers."""
        return self._controller_port

    @property
    def config_path(self) -> Path:
        """Return the generated mosquitto.conf."""
        return self.directory / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        """Return Mosquitto's log file."""
        return self.directory / "mosquitto.log"

    @property
    def running(self) -> bool:
        """Return whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """Return the process id while running."""
        return self._process.pid if self._process is not None else None

    # -- configuration -------------------------------------------------------

    def _render_config(self) -> str:
        tls = [
            f"cafile {self.ca_file}",
            f"certfile {self._server.cert}",
            f"keyfile {self._server.key}",
            "tls_version tlsv1.3",
        ]
        lines = [
            "# Generated by device_sim/broker.py; rewritten on every start.",
            "per_listener_settings true",
            "persistence false",
            f"user {_run_as_user()}",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "log_timestamp true",
            # Nagle on the broker side adds ~40-90 ms per round trip for
            # the small frames this protocol sends.
            f"set_tcp_nodelay {'true' if self._tcp_nodelay else 'false'}",
            "# What one customer may cost the broker (device_sim/broker_limits.py).",
            *self.limits.global_lines(),
            "",
            "# Locks: mutual TLS, certificate CN = lock id hex = username = client id.",
            f"listener {self._lock_port} {HOST}",
            "protocol mqtt",
            *self.limits.listener_lines(),
            *tls,
            "require_certificate true",
            "use_identity_as_username true",
            "use_username_as_clientid true",
            "allow_anonymous false",
            f"acl_file {self.directory / 'acl_locks'}",
            "",
            "# Controllers: TLS, username + password, per-user grants; a user name",
            "# is never a lock id, so no controller shares a lock's client id.",
            f"listener {self._controller_port} {HOST}",
            "protocol mqtt",
            *self.limits.listener_lines(),
            *tls,
            "require_certificate false",
            "use_username_as_clientid true",
            "allow_anonymous false",
            f"password_file {self.directory / 'passwd'}",
            f"acl_file {self.directory / 'acl_controllers'}",
            "",
        ]
        return "\n".join(lines)

    def _write_auth_files(self) -> None:
        _write_atomic(
            self.directory / "acl_locks",
            "# Each lock reads its commands and writes its replies (one topic per\n"
            "# recipient under up/); it hears every discovery probe and answers on\n"
            "# the prober's answer topic.\n"
            f"pattern read {PREFIX}/%u/down\n"
            f"pattern write {PREFIX}/%u/up/+\n"
            f"pattern read {DISCOVERY_FILTER}\n"
            f"pattern write {PREFIX}/found/+\n",
        )
        acl = [
            "# Every controller may probe for a discriminator and read the answers",
            "# to its own account, nothing else of discovery.",
            f"pattern write {PREFIX}/discover/+",
            f"pattern read {PREFIX}/found/%u",
            "",
            "# One block per controller: the locks it was granted.  Every recipient",
            "# topic under up/: an account does not know the routing ids of the",
            "# controllers that use it, and frames are sealed to their recipient.",
        ]
        passwd: list[str] = []
        for grant in sorted(self._grants.values(), key=lambda g: g.username):
            passwd.append(grant.password_line)
            acl.append(f"user {grant.username}")
            for topic_id in sorted(grant.topic_ids):
                topics = LockTopics(topic_id)
                acl.append(f"topic read {topics.up_filter}")
                acl.append(f"topic write {topics.down}")
            acl.append("")
        _write_atomic(
            self.directory / "passwd", "".join(f"{line}\n" for line in passwd)
        )
        _write_atomic(self.directory / "acl_controllers", "\n".join(acl) + "\n")

    def lock_link_config(self, lock_id: bytes, device: CertFiles) -> MqttLinkConfig:
        """Return how a lock with this device certificate reaches its own topics."""
        return MqttLinkConfig(
            role=MqttRole.LOCK,
            topics=LockTopics.for_lock(lock_id),
            port=self.lock_port,
            tls=client_tls_context(self.ca_file, device.cert, device.key),
            address=HOST,
        )

    def controller_link_config(
        self,
        lock_id: bytes,
        username: str,
        password: str,
        *,
        routing_id: bytes | None,
        hears_pairing: bool = False,
    ) -> MqttLinkConfig:
        """Return how a controller account reaches one lock's topics.

        ``routing_id`` is the controller's at this lock (the envelopes it
        receives); None only checks the path (see ``MqttLinkConfig``).
        """
        return MqttLinkConfig(
            role=MqttRole.CONTROLLER,
            topics=LockTopics.for_lock(lock_id),
            routing_id=routing_id,
            hears_pairing=hears_pairing,
            port=self.controller_port,
            tls=client_tls_context(self.ca_file),
            address=HOST,
            username=username,
            password=password,
        )

    def add_controller(
        self, username: str, password: str, topic_ids: Iterable[str]
    ) -> None:
        """Create or replace a controller account and reload a running broker."""
        self.add_controllers([(username, password, topic_ids)])

    def add_controllers(
        self, accounts: Iterable[tuple[str, str, Iterable[str]]]
    ) -> None:
        """Create or replace many accounts with one reload (bulk set-ups).

        Every account is checked before any is stored: one bad entry changes
        nothing.
        """
        grants = [
            ControllerGrant(
                check_controller_name(username),
                password_line(username, password),
                frozenset(check_topic_id(t) for t in topic_ids),
            )
            for username, password, topic_ids in accounts
        ]
        for grant in grants:
            self._grants[grant.username] = grant
        self._apply()

    def remove_controller(self, username: str) -> None:
        """Delete a controller account and reload a running broker."""
        if self._grants.pop(username, None) is not None:
            self._apply()

    def _apply(self) -> None:
        if self.directory.exists():
            self._write_auth_files()
        if self.running:
            self.reload()

    # -- process control -----------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Write the configuration, start Mosquitto and wait until both ports accept.

        Ports chosen here (those given as 0) were free a moment before
        Mosquitto binds them; if another process took one meanwhile, the
        broker starts again on fresh ports.  Ports given by the caller are
        never changed.
        """
        if self.running:
            raise BrokerError("broker already running")
        self.directory.mkdir(parents=True, exist_ok=True)
        choose_lock = self._lock_port == 0
        choose_controller = self._controller_port == 0
        for attempt in range(1, PORT_ATTEMPTS + 1):
            lock_port, controller_port = free_ports(2)
            if choose_lock:
                self._lock_port = lock_port
            if choose_controller:
                self._controller_port = controller_port
            try:
                self._start_once(timeout)
            except _PortTakenError as err:
                if not (choose_lock or choose_controller) or attempt == PORT_ATTEMPTS:
                    raise BrokerError(f"mosquitto exited during start: {err}") from None
            else:
                return

    def _start_once(self, timeout: float) -> None:
        self._write_auth_files()
        _write_atomic(self.config_path, self._render_config())
        self.log_path.unlink(missing_ok=True)
        self._reloads_seen = 0
        stderr_path = self.directory / "mosquitto.stderr"
        with stderr_path.open("wb") as stderr:
            self._process = subprocess.Popen(  # noqa: S603 - fixed executable, no shell
                [self._executable, "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        pending = [self._lock_port, self._controller_port]
        while pending:
            if self._process.poll() is not None:
                self._process = None
                diagnostics = self._diagnostics()
                if PORT_TAKEN in diagnostics:
                    raise _PortTakenError(diagnostics)
                raise BrokerError(f"mosquitto exited during start: {diagnostics}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(
                    f"mosquitto did not open its ports: {self._diagnostics()}"
                )
            if _port_accepts(pending[0]):
                pending.pop(0)
            else:
                time.sleep(POLL_INTERVAL)

    def _diagnostics(self) -> str:
        texts = [
            path.read_text(errors="replace")[-2000:]
            for path in (self.directory / "mosquitto.stderr", self.log_path)
            if path.exists()
        ]
        return " | ".join(texts) or "no output"

    def reload(self, timeout: float = RELOAD_TIMEOUT) -> None:
        """Send SIGHUP so Mosquitto re-reads password and ACL files; wait for it."""
        if self._process is None or not self.running:
            raise BrokerError("broker not running")
        wanted = self._reloads_seen + 1
        deadline = time.monotonic() + timeout
        resend_at = 0.0
        while (seen := self._count_reloads()) < wanted:
            now = time.monotonic()
            if now > deadline:
                raise BrokerError("mosquitto did not confirm the reload")
            # A signal that lands just before Mosquitto goes back to waiting
            # on its sockets is only noticed when that wait ends, which can be
            # long on an idle broker; another SIGHUP wakes it (reloading twice
            # is harmless).
            if now >= resend_at:
                self._process.send_signal(signal.SIGHUP)
                resend_at = now + RELOAD_RESEND_INTERVAL
            time.sleep(POLL_INTERVAL)
        self._reloads_seen = seen

    def _count_reloads(self) -> int:
        try:
            return self.log_path.read_text(errors="replace").count("Reloading config")
        except FileNotFoundError:
            return 0

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """Stop Mosquitto (SIGTERM, then SIGKILL) and reap it; return its exit code."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.terminate()
            try:
                return process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
        return process.wait()


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"{PROG}.broker",
        description="Run a development Mosquitto with the dev PKI, TLS and ACLs.",
    )
    parser.add_argument("directory", type=Path, help="where config, certs and logs go")
    parser.add_argument("--lock-port", type=int, default=0)
    parser.add_argument("--controller-port", type=int, default=0)
    parser.add_argument(
        "--controller",
        action="append",
        default=[],
        metavar="NAME=ROUTING_ID[,ROUTING_ID...]",
        help="controller account to create; its password is written to NAME.password",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the development broker until interrupted; return an exit status."""
    args = _parse_args(argv)
    directory: Path = args.directory
    if shutil.which(MOSQUITTO) is None:
        sys.stderr.write(f"{MOSQUITTO} not found; run scripts/setup\n")
        return 1
    ca, _ = DevCertificateAuthority.load_or_create(directory / "pki")
    broker = MosquittoBroker.with_dev_pki(
        directory, ca, lock_port=args.lock_port, controller_port=args.controller_port
    )
    try:
        for spec in args.controller:
            name, _, ids = spec.partition("=")
            password = secrets.token_urlsafe(24)
            broker.add_controller(name, password, [i for i in ids.split(",") if i])
            _write_atomic(directory / f"{name}.password", password + "\n")
        broker.start()
    except (BrokerError, ValueError) as err:
        sys.stderr.write(f"error: {err}\n")
        return 1
    sys.stdout.write(
        f"mosquitto pid {broker.pid} on {broker.host}: locks (mTLS) port "
        f"{broker.lock_port}, controllers port {broker.controller_port}\n"
        f"CA: {broker.ca_file}  log: {broker.log_path}\n"
    )
    sys.stdout.flush()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            if not broker.running:
                sys.stderr.write("mosquitto exited unexpectedly\n")
                return 1
    finally:
        broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
