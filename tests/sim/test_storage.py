"""Sealed storage: round trip, tamper evidence, key handling, nothing in plaintext."""

from __future__ import annotations

from pathlib import Path
import stat

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from device_sim.storage import (
    EnvKey,
    InvalidRecordName,
    KeyFile,
    SealedStore,
    StorageCorrupted,
    StorageIOError,
    StorageKeyError,
)

SECRET = b"TOP-SECRET-DEVICE-SIGNING-KEY-0123456789"


@pytest.fixture
def key_file(tmp_path: Path) -> KeyFile:
    """Return a key file kept apart from the state directory."""
    return KeyFile(tmp_path / "tpm" / "device.key")


@pytest.fixture
def store(tmp_path: Path, key_file: KeyFile) -> SealedStore:
    """Return a store in its own directory."""
    return SealedStore(tmp_path / "state", key_file)


def test_round_trip_and_generations(store: SealedStore) -> None:
    """Saved bytes come back; each save bumps the generation; absent is None."""
    assert store.load("state") is None
    assert store.save("state", b"one") == 1
    assert store.save("state", b"two") == 2
    assert store.load("state") == b"two"
    record = store.load_record("state")
    assert record is not None and record.generation == 2
    store.save("empty", b"")
    assert store.load("empty") == b""
    store.delete("state")
    assert store.load("state") is None


def test_reopen_with_same_key(
    tmp_path: Path, key_file: KeyFile, store: SealedStore
) -> None:
    """A reboot (new store object, same key file) reads the records."""
    store.save("state", SECRET)
    assert SealedStore(tmp_path / "state", key_file).load("state") == SECRET


def test_key_file_created_0600(key_file: KeyFile, store: SealedStore) -> None:
    """The key file is created on first boot with owner-only permissions."""
    mode = stat.S_IMODE(key_file.path.stat().st_mode)
    assert mode == 0o600
    assert len(key_file.path.read_bytes()) == 32


def test_key_file_readable_by_others_refused(tmp_path: Path, key_file: KeyFile) -> None:
    """A key file that others can read is refused rather than used."""
    key_file.load_key()
    key_file.path.chmod(0o644)
    with pytest.raises(StorageKeyError, match="0600"):
        SealedStore(tmp_path / "state", key_file)


def test_no_plaintext_secret_on_disk(tmp_path: Path, store: SealedStore) -> None:
    """No file anywhere under the test directory contains the secret."""
    store.save("state", SECRET)
    store.save("state", SECRET + b"-v2")
    for path in tmp_path.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert SECRET not in content, path
            assert SECRET.hex().encode() not in content, path


@pytest.mark.parametrize("offset", [0, 6, 8, 15, 20, 40, -1])
def test_bit_flip_detected(store: SealedStore, offset: int) -> None:
    """Any flipped bit (header, nonce, ciphertext, tag) gives StorageCorrupted."""
    store.save("state", SECRET)
    path = store.path_of("state")
    blob = bytearray(path.read_bytes())
    blob[offset] ^= 0x01
    path.write_bytes(bytes(blob))
    with pytest.raises(StorageCorrupted):
        store.load("state")


@pytest.mark.parametrize("length", [0, 1, 10, 30, 45, 60])
def test_truncation_detected(store: SealedStore, length: int) -> None:
    """A truncated record gives StorageCorrupted."""
    store.save("state", SECRET)
    path = store.path_of("state")
    path.write_bytes(path.read_bytes()[:length])
    with pytest.raises(StorageCorrupted):
        store.load("state")


def test_swapped_files_detected(store: SealedStore) -> None:
    """A record copied over another role's file fails authentication."""
    store.save("pairings", b"pairings")
    store.save("counters", b"counters")
    store.path_of("counters").write_bytes(store.path_of("pairings").read_bytes())
    with pytest.raises(StorageCorrupted):
        store.load("counters")


def test_other_device_key_detected(tmp_path: Path, store: SealedStore) -> None:
    """A record sealed on another device does not open here."""
    store.save("state", SECRET)
    other = SealedStore(tmp_path / "state", KeyFile(tmp_path / "other" / "device.key"))
    with pytest.raises(StorageCorrupted):
        other.load("state")


def test_save_replaces_corrupted_record(store: SealedStore) -> None:
    """Saving over a damaged record works and the new data loads."""
    store.save("state", b"old")
    store.path_of("state").write_bytes(b"garbage")
    store.save("state", b"new")
    assert store.load("state") == b"new"


@pytest.mark.parametrize("name", ["", "../escape", "a/b", "UPPER", ".hidden", "x" * 65])
def test_bad_names_refused(store: SealedStore, name: str) -> None:
    """Names that are not plain lowercase file names are refused."""
    with pytest.raises(InvalidRecordName):
        store.save(name, b"x")
    assert not any(store.directory.iterdir())


def test_env_key(tmp_path: Path) -> None:
    """A key from the environment works; a malformed one is a typed error."""
    env = {"K": "11" * 32, "SHORT": "11" * 16, "BAD": "zz"}
    store = SealedStore(tmp_path, EnvKey("K", env.get))
    store.save("state", b"x")
    assert store.load("state") == b"x"
    for variable in ("SHORT", "BAD", "MISSING"):
        with pytest.raises(StorageKeyError):
            EnvKey(variable, env.get).load_key()


def test_leftover_temporaries_swept(tmp_path: Path, key_file: KeyFile) -> None:
    """Temporary files from an interrupted write are removed at the next boot."""
    state = tmp_path / "state"
    state.mkdir()
    leftover = state / ".state.sealed.0123.tmp"
    leftover.write_bytes(b"partial")
    SealedStore(state, key_file)
    assert not leftover.exists()


def test_unreadable_record_is_typed_error(store: SealedStore) -> None:
    """A record path that cannot be read gives StorageIOError, not OSError."""
    store.path_of("state").mkdir()
    with pytest.raises(StorageIOError):
        store.load("state")
    with pytest.raises(StorageIOError):
        store.save("state", b"x")
    assert [p.name for p in store.directory.iterdir()] == ["state.sealed"]


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_corruption_is_detected(store: SealedStore, data: st.DataObject) -> None:
    """Any change to a sealed file either fails with StorageCorrupted or is not a change."""
    if store.load("state") is None:
        store.save("state", SECRET)
    path = store.path_of("state")
    original = path.read_bytes()
    mutated = data.draw(
        st.one_of(
            st.binary(max_size=len(original) + 8),
            st.integers(0, len(original) - 1).map(lambda n: original[:n]),
            st.tuples(st.integers(0, len(original) - 1), st.integers(1, 255)).map(
                lambda t: (
                    original[: t[0]]
                    + bytes([original[t[0]] ^ t[1]])
                    + original[t[0] + 1 :]
                )
            ),
            st.binary(min_size=1, max_size=8).map(lambda extra: original + extra),
        )
    )
    path.write_bytes(mutated)
    try:
        if mutated == original:
            assert store.load("state") == SECRET
        else:
            with pytest.raises(StorageCorrupted):
                store.load("state")
    finally:
        path.write_bytes(original)
