"""Pick free TCP ports on 127.0.0.1 for simulators, brokers and test servers."""

from __future__ import annotations

from contextlib import ExitStack
import socket

HOST = "127.0.0.1"


def free_ports(count: int) -> tuple[int, ...]:
    """Return ``count`` distinct ports on 127.0.0.1 that were free a moment ago.

    All the sockets stay bound until every port is chosen: picking one port at
    a time can hand out the same port twice, because the kernel may reuse a
    port as soon as its socket closes.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    with ExitStack() as stack:
        ports: list[int] = []
        for _ in range(count):
            sock = stack.enter_context(
                socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            )
            sock.bind((HOST, 0))
            ports.append(sock.getsockname()[1])
        return tuple(ports)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    return free_ports(1)[0]
