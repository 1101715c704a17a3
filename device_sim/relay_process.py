"""What every relay the tests and benches run has in common: a ``with`` block.

Mosquitto (:mod:`device_sim.broker`) and a RabbitMQ cluster
(:mod:`device_sim.rabbitmq`) start blocking (they wait until their ports
accept), so the async forms run them in an executor, keeping the event loop
of the test or bench free.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from typing import Self


class RelayProcess(ABC):
    """Started on entering a ``with`` or ``async with`` block, stopped on leaving it."""

    @abstractmethod
    def start(self) -> None:
        """Start the relay and wait until it accepts connections."""

    @abstractmethod
    def stop(self) -> object:
        """Stop the relay and reap its processes."""

    def __enter__(self) -> Self:
        """Start the relay."""
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the relay."""
        self.stop()

    async def __aenter__(self) -> Self:
        """Start the relay without blocking the event loop."""
        await asyncio.get_running_loop().run_in_executor(None, self.start)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop the relay without blocking the event loop."""
        await asyncio.get_running_loop().run_in_executor(None, self.stop)
