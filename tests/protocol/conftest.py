"""Shared fixtures: deterministic identities and paired endpoints for both suites."""

from __future__ import annotations

from custom_components.secure_lock.protocol import LockPin

# First: registers the protocol package without running the integration's
# __init__ (which imports Home Assistant).
import device_sim  # noqa: F401

# isort: split

from dataclasses import dataclass

import pytest

from custom_components.secure_lock.protocol import (
    ControllerEndpoint,
    ControllerIdentity,
    ControllerPairing,
    ControllerRegistry,
    LockEndpoint,
    LockIdentity,
    LockPairing,
    PairedLock,
    PairingAttempts,
    Role,
    SetupCode,
    SuiteId,
    supported_suites,
)
from custom_components.secure_lock.protocol.rng import DeterministicRng

T0 = 1_800_000_000_000  # a fixed wall-clock time in ms (2027-01-15)

SUITES = [
    pytest.param(
        suite,
        marks=pytest.mark.skipif(
            suite not in supported_suites(), reason="backend lacks this suite"
        ),
        id=f"suite{suite.value}",
    )
    for suite in SuiteId
]


@dataclass
class Pair:
    """A paired lock and controller with their endpoints."""

    lock: LockIdentity
    controller: ControllerIdentity
    setup: SetupCode
    registry: ControllerRegistry
    paired: PairedLock
    lock_ep: LockEndpoint
    ctrl_ep: ControllerEndpoint
    rng: DeterministicRng


def pair_devices(
    suite: SuiteId,
    *,
    seed: bytes = b"pair",
    lock: LockIdentity | None = None,
    registry: ControllerRegistry | None = None,
    role: Role = Role.ADMIN,
    name: str = "Home Assistant",
) -> Pair:
    """Run a real pairing at ``T0`` and return endpoints for ``suite``."""
    rng = DeterministicRng(seed)
    lock = lock or LockIdentity.generate(rng, now_ms=T0, suites=(suite,))
    controller = ControllerIdentity.generate(rng, now_ms=T0, suites=(suite,))
    setup = SetupCode.generate(LockPin(lock.lock_id, lock.fingerprint), rng=rng)
    lock_pairing = LockPairing(
        lock,
        setup.secret_for(lock.lock_id),
        PairingAttempts(),
        rng=rng,
        clock=lambda: T0,
    )
    lock_pairing.open_window(T0)
    ctrl_pairing = ControllerPairing(
        controller, setup, name, suites=(suite,), rng=rng, clock=lambda: T0
    )
    challenge = lock_pairing.handle_hello(ctrl_pairing.start(), T0)
    proof = ctrl_pairing.handle_challenge(challenge, T0)
    result, lock_outcome = lock_pairing.handle_proof(proof, role, T0)
    outcome = ctrl_pairing.handle_result(result, T0)
    registry = registry if registry is not None else ControllerRegistry()
    registry.add(lock_outcome.record)
    return Pair(
        lock,
        controller,
        setup,
        registry,
        outcome.lock,
        LockEndpoint(lock, registry, rng=rng, clock=lambda: T0),
        ControllerEndpoint(controller, outcome.lock, rng=rng, clock=lambda: T0),
        rng,
    )


@pytest.fixture(params=SUITES)
def suite(request: pytest.FixtureRequest) -> SuiteId:
    """Each supported suite in turn."""
    value: SuiteId = request.param
    return value


@pytest.fixture
def pair(suite: SuiteId) -> Pair:
    """Return a freshly paired lock and controller for ``suite``."""
    return pair_devices(suite)
