"""What the lock does when its flash holds an older copy of its sealed records.

`SealedStore` detects the rollback (see `storage` and `nv_counter`).  The lock
then fails secure: it boots from a read-only, quarantined view of the old
records only to know its own keys and whom to warn, throws the bolt, acts on
nothing (every incoming frame is dropped unanswered), writes nothing (sealing
the old state again would make it current), and sends a signed TAMPER event
to the admins the old records name, at boot and then every heartbeat period.
Only a factory reset (physical access) ends this state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import logging

from custom_components.secure_lock.protocol.identity import LockIdentity, PrekeyPolicy
from custom_components.secure_lock.protocol.messages import (
    Event,
    EventSource,
    EventType,
    MessageKind,
)
from custom_components.secure_lock.protocol.rng import Clock, Rng
from custom_components.secure_lock.protocol.session import LockEndpoint
from custom_components.secure_lock.protocol.state import LockStatus

from .device_state import STATE_RECORD, DeviceState, load_state
from .mechanism import BoltState
from .secure_element import IDENTITY_RECORD, SETUP_RECORD, Label, SecureElement
from .storage import RecordRolledBack, SealedStore, StorageError

_LOGGER = logging.getLogger(__name__)

CHECKED_RECORDS = (IDENTITY_RECORD, SETUP_RECORD, STATE_RECORD)


@dataclass(frozen=True, slots=True)
class RollbackReport:
    """Which records were found rolled back (names and counters, no contents)."""

    findings: tuple[RecordRolledBack, ...]

    @classmethod
    def of(cls, store: SealedStore) -> RollbackReport:
        """Check every record the lock boots from."""
        findings = tuple(
            finding
            for name in CHECKED_RECORDS
            if (finding := _check(store, name)) is not None
        )
        return cls(findings)

    def describe(self) -> dict[str, object]:
        """Return a secret-free summary for the admin channel."""
        return {
            "records": [
                {"name": f.name, "found_epoch": f.epoch, "counter": f.counter}
                for f in self.findings
            ],
            "action": "refusing every request until a factory reset",
        }


def _check(store: SealedStore, name: str) -> RecordRolledBack | None:
    try:
        return store.check(name)
    except StorageError:
        # Damaged as well as old: still a reason to stay in lockdown.
        return RecordRolledBack(name, None, 0)


@dataclass(frozen=True, slots=True)
class QuarantinedBoot:
    """The old records, read but never to be written again."""

    element: SecureElement
    state: DeviceState
    store: SealedStore


def boot_quarantined(
    store: SealedStore, *, clock: Clock, rng: Rng, policy: PrekeyPolicy
) -> QuarantinedBoot:
    """Load what the flash holds, read-only; invent nothing that could be saved."""
    quarantined = store.quarantined()
    try:
        element, _ = SecureElement.load_or_create(
            quarantined, clock=clock, rng=rng, policy=policy
        )
    except StorageError:
        # Keys gone or unreadable: an identity nobody knows, kept in memory
        # only, so the lock still runs (and refuses) but can warn no one.
        identity = LockIdentity.generate(rng=rng, now_ms=clock(), policy=policy)
        element = SecureElement(identity, Label.generate(identity, rng), quarantined)
    # An old identity record brings back prekeys that were erased; replace
    # and forget them at once (in memory), so forward secrecy does not
    # depend on the lockdown alone.
    element.rotate_prekeys(clock(), rng, persist=False)
    try:
        state = load_state(quarantined) or DeviceState()
    except StorageError:
        state = DeviceState()
    return QuarantinedBoot(element, state, quarantined)


def boot_in_lockdown(
    store: SealedStore, *, clock: Clock, rng: Rng, policy: PrekeyPolicy
) -> tuple[RollbackReport, QuarantinedBoot]:
    """Say which records rolled back, and boot from them read-only, bolt thrown."""
    report = RollbackReport.of(store)
    quarantined = boot_quarantined(store, clock=clock, rng=rng, policy=policy)
    # Fail secure: the bolt is thrown before anything else runs.
    state = quarantined.state
    state.mechanism = replace(state.mechanism, bolt=BoltState.LOCKED)
    _LOGGER.error(
        "Sealed state is older than the secure element's counter (%s): "
        "refusing every request until a factory reset",
        ", ".join(f.name for f in report.findings),
    )
    return report, quarantined


def tamper_frames(
    endpoint: LockEndpoint, status: LockStatus, now_ms: int
) -> list[bytes]:
    """Seal a TAMPER event to each admin the (old) registry names."""
    event = Event(EventType.TAMPER, EventSource.UNKNOWN, status, now_ms)
    return [
        endpoint.seal(record.controller_id, MessageKind.EVENT, event, now_ms=now_ms)
        for record in endpoint.registry.admins()
    ]
