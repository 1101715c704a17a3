"""Loopback only, inside the Home Assistant process the end-to-end tests start.

Python imports `sitecustomize` at start-up from PYTHONPATH, before Home
Assistant runs.  This one refuses every TCP connection and every datagram to
an address that is not loopback, and every name lookup except for loopback
names, before anything reaches the kernel, and appends what was refused to the
file named by SECURE_LOCK_E2E_GUARD_LOG, so the test can fail on any attempt
(the test process itself is guarded by pytest-socket, tests/conftest.py).

connect() on a UDP socket sends nothing (the kernel only picks a route; Home
Assistant's network integration finds its source address this way), so it is
allowed; sending on such a socket is refused.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

_LOG = os.environ.get("SECURE_LOCK_E2E_GUARD_LOG")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
_IP_FAMILIES = (socket.AF_INET, socket.AF_INET6)


def _is_loopback(host: object) -> bool:
    if host is None or host in ("", b""):
        # getaddrinfo(None, port): the wildcard or loopback address of a server.
        return True
    text = host.decode() if isinstance(host, bytes) else str(host)
    if text.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(text.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _record(what: str, target: object) -> str:
    # os.write, not open(): Home Assistant fails blocking open() calls made
    # inside its event loop, and this runs wherever the socket call happens.
    line = f"{what} {target!r}"
    if _LOG:
        fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
    return f"e2e network guard: refused {line}"


def _outside(sock: socket.socket, address: Any) -> bool:
    return (
        sock.family in _IP_FAMILIES
        and isinstance(address, tuple)
        and not _is_loopback(address[0])
    )


def _peer_outside(sock: socket.socket) -> bool:
    if sock.family not in _IP_FAMILIES or sock.type != socket.SOCK_DGRAM:
        return False
    try:
        return _outside(sock, sock.getpeername())
    except OSError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_send = socket.socket.send
_real_sendto = socket.socket.sendto
_real_getaddrinfo = socket.getaddrinfo


def _connect(self: socket.socket, address: Any) -> None:
    if self.type != socket.SOCK_DGRAM and _outside(self, address):
        raise ConnectionRefusedError(_record("connect", address))
    _real_connect(self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    if self.type != socket.SOCK_DGRAM and _outside(self, address):
        raise ConnectionRefusedError(_record("connect", address))
    return _real_connect_ex(self, address)


def _send(self: socket.socket, data: Any, *args: Any) -> int:
    if _peer_outside(self):
        raise ConnectionRefusedError(_record("send", self.getpeername()))
    return _real_send(self, data, *args)


def _sendto(self: socket.socket, data: Any, *args: Any) -> int:
    if _outside(self, args[-1]):
        raise ConnectionRefusedError(_record("sendto", args[-1]))
    return _real_sendto(self, data, *args)


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _is_loopback(host):
        raise socket.gaierror(socket.EAI_NONAME, _record("getaddrinfo", host))
    return _real_getaddrinfo(host, *args, **kwargs)


if _LOG:
    socket.socket.connect = _connect  # type: ignore[method-assign, assignment]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign, assignment]
    socket.socket.send = _send  # type: ignore[method-assign, assignment]
    socket.socket.sendto = _sendto  # type: ignore[method-assign, assignment]
    socket.getaddrinfo = _getaddrinfo
