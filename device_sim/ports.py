"""Pick free TCP ports on 127.0.0.1 for simulators, brokers and test servers."""

from __future__ import annotations

from contextlib import ExitStack
import secrets
import socket

HOST = "127.0.0.1"
LISTEN_PORTS = range(20_000, 32_768)
"""Below Linux's ephemeral range (32768-60999): a port the kernel hands out for
an outgoing connection can never be one of these, so a lock restarted after
kill -9 finds its port still free even while other tests dial out."""
ATTEMPTS = 1_000


def free_ports(count: int) -> tuple[int, ...]:
    """Return ``count`` distinct ports on 127.0.0.1 that were free a moment ago.

    All the sockets stay bound until every port is chosen, so no port is
    handed out twice.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    with ExitStack() as stack:
        ports: list[int] = []
        for _ in range(ATTEMPTS):
            sock = stack.enter_context(
                socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            )
            try:
                sock.bind((HOST, secrets.choice(LISTEN_PORTS)))
            except OSError:
                continue
            ports.append(sock.getsockname()[1])
            if len(ports) == count:
                return tuple(ports)
    raise OSError(f"no {count} free ports in {LISTEN_PORTS}")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    return free_ports(1)[0]
