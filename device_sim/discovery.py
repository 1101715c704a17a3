"""Zeroconf advertisement of a simulated lock: `_securelock._tcp.local.`.

The TXT record carries the lock id, model, firmware version and protocol
version, and nothing secret: the setup code never leaves the label.
"""

from __future__ import annotations

from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from custom_components.secure_lock.protocol.envelope import PROTOCOL_VERSION

SERVICE_TYPE = "_securelock._tcp.local."


def service_info(
    lock_id: bytes,
    model: str,
    firmware_version: str,
    port: int,
    address: str = "127.0.0.1",
) -> AsyncServiceInfo:
    """Return the service record a lock announces."""
    name = f"Secure Lock {lock_id.hex()[:8]}.{SERVICE_TYPE}"
    return AsyncServiceInfo(
        SERVICE_TYPE,
        name,
        parsed_addresses=[address],
        port=port,
        properties={
            "lock_id": lock_id.hex(),
            "model": model,
            "fw": firmware_version,
            "proto": str(PROTOCOL_VERSION),
        },
        server=f"securelock-{lock_id.hex()[:8]}.local.",
    )


async def register_lock(
    lock_id: bytes,
    model: str,
    firmware_version: str,
    port: int,
    *,
    interfaces: list[str] | None = None,
) -> AsyncZeroconf:
    """Announce the lock; by default only on loopback (a development machine's own HA)."""
    zeroconf = AsyncZeroconf(
        interfaces=interfaces or ["127.0.0.1"], ip_version=IPVersion.V4Only
    )
    await zeroconf.async_register_service(
        service_info(lock_id, model, firmware_version, port)
    )
    return zeroconf
