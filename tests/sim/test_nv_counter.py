"""Sealed records bound to the secure element's monotonic counter: older copies are refused."""

from __future__ import annotations

from pathlib import Path
import shutil

import pytest

from device_sim.nv_counter import CounterError, CounterFile
from device_sim.storage import KeyFile, RecordRolledBack, SealedStore, StorageReadOnly


def _open(tmp_path: Path, *, counter: bool = True) -> SealedStore:
    return SealedStore(
        tmp_path / "flash",
        KeyFile(tmp_path / "se" / "device.key"),
        counter=CounterFile(tmp_path / "se" / "monotonic.counters")
        if counter
        else None,
    )


def test_older_copy_is_refused_after_the_next_boot_saved(tmp_path: Path) -> None:
    """A valid, authentic, older record put back is a rollback, not the state."""
    store = _open(tmp_path)
    store.save("state", b"before revocation")
    old = tmp_path / "old.sealed"
    shutil.copy2(store.path_of("state"), old)
    store.save("state", b"after revocation")
    shutil.copy2(old, store.path_of("state"))
    with pytest.raises(RecordRolledBack) as err:
        _open(tmp_path).load("state")
    assert err.value.name == "state"
    assert "revocation" not in str(err.value)
    assert _open(tmp_path).check("state") is not None


def test_deleted_record_is_a_rollback_but_a_sealed_delete_is_not(
    tmp_path: Path,
) -> None:
    """Removing a file to get a factory-new lock is refused; delete() leaves a tombstone."""
    store = _open(tmp_path)
    store.save("state", b"controllers")
    store.save("identity", b"keys")
    store.path_of("state").unlink()
    with pytest.raises(RecordRolledBack) as err:
        _open(tmp_path).load("state")
    assert err.value.epoch is None
    store.delete("identity")
    assert _open(tmp_path).load("identity") is None
    assert _open(tmp_path).check("identity") is None


def test_records_from_the_future_and_a_reset_counter_are_refused(
    tmp_path: Path,
) -> None:
    """An epoch beyond counter+1 means the counter was replaced: fail, do not guess."""
    store = _open(tmp_path)
    for _ in range(3):
        store.save("state", b"x")
    (tmp_path / "se" / "monotonic.counters").unlink()
    with pytest.raises(RecordRolledBack):
        _open(tmp_path).load("state")


def test_unbound_records_are_adopted_once_then_bound(tmp_path: Path) -> None:
    """A store from before the counter existed is taken over at counter 0, then protected."""
    plain = _open(tmp_path, counter=False)
    plain.save("state", b"old format")
    legacy = tmp_path / "legacy.sealed"
    shutil.copy2(plain.path_of("state"), legacy)
    plain.delete("state")
    assert plain.load("state") is None
    shutil.copy2(legacy, plain.path_of("state"))
    bound = _open(tmp_path)
    assert bound.load("state") == b"old format"
    bound.save("state", b"new format")
    shutil.copy2(legacy, bound.path_of("state"))
    with pytest.raises(RecordRolledBack):
        _open(tmp_path).load("state")


def test_quarantined_view_reads_but_never_writes(tmp_path: Path) -> None:
    """After a rollback the lock may read the old copy but never make it current."""
    store = _open(tmp_path)
    store.save("state", b"v1")
    quarantined = store.quarantined()
    assert not quarantined.bound
    assert quarantined.load("state") == b"v1"
    with pytest.raises(StorageReadOnly):
        quarantined.save("state", b"v2")
    with pytest.raises(StorageReadOnly):
        quarantined.delete("state")
    assert store.load("state") == b"v1"


def test_counter_only_goes_up_and_refuses_damage(tmp_path: Path) -> None:
    """The emulated NV counter never goes back; damaged or group-writable files are refused."""
    counter = CounterFile(tmp_path / "se" / "c")
    assert counter.value("state") == 0
    counter.advance("state", 5)
    counter.advance("state", 5)
    assert counter.value("state") == 5
    with pytest.raises(CounterError, match="back"):
        counter.advance("state", 4)
    with pytest.raises(CounterError, match="range"):
        counter.advance("state", -1)
    assert (tmp_path / "se" / "c").stat().st_mode & 0o077 == 0
    (tmp_path / "se" / "c").chmod(0o620)
    with pytest.raises(CounterError, match="writable"):
        counter.value("state")
    for damaged in (b"{", b'{"format": 9, "counters": {}}', b'{"counters": 1}'):
        (tmp_path / "se" / "c").write_bytes(damaged)
        (tmp_path / "se" / "c").chmod(0o600)
        with pytest.raises(CounterError, match="damaged"):
            counter.value("state")
    (tmp_path / "se" / "c").write_bytes(b'{"format": 1, "counters": {"state": -3}}')
    with pytest.raises(CounterError, match="damaged"):
        counter.value("state")
