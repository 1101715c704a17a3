"""The secure element's monotonic counters, kept apart from the lock's flash.

A real lock keeps these in storage that someone who copies and rewrites the
flash cannot roll back: a secure element's monotonic counter, a TPM NV
counter index (TPM2_NV_Increment), or an eMMC RPMB block (writes
authenticated by a key burnt into the controller, with its own write
counter).  Here they are one small file that lives beside the device key, not
among the sealed records: the simulator's stand-in for that hardware.  Like
the key file it must not be part of what an attacker with the flash image can
copy back; tests keep it in its own directory.

One counter per sealed record name.  A counter only ever goes up: `advance`
refuses a smaller value, and the file is replaced atomically (write, fsync,
rename, fsync the directory), so a power cut leaves the old or the new values.

This module imports nothing from the rest of device_sim so a crash-test
worker can load it on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
import os
from pathlib import Path
import secrets
import stat

COUNTER_FILE_NAME = "monotonic.counters"
_FORMAT = 1
_MAX_VALUE = 2**63 - 1


class CounterError(Exception):
    """The counter store is unreadable, damaged, writable by others, or asked to go back."""


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class CounterFile:
    """Monotonic counters in one owner-only file (the emulated NV counter)."""

    path: Path

    def value(self, name: str) -> int:
        """Return the counter for ``name`` (0 if it never advanced)."""
        return self._read().get(name, 0)

    def advance(self, name: str, value: int) -> None:
        """Durably set the counter for ``name`` to ``value``; never lower it."""
        if not 0 <= value <= _MAX_VALUE:
            raise CounterError("counter value out of range")
        counters = self._read()
        current = counters.get(name, 0)
        if value < current:
            raise CounterError(f"counter {name!r} cannot go back")
        if value == current:
            return
        counters[name] = value
        self._write(counters)

    def _read(self) -> dict[str, int]:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return {}
        except OSError as err:
            raise CounterError(f"cannot read {self.path}: {err.strerror}") from None
        try:
            mode = os.fstat(fd).st_mode
            if mode & (stat.S_IWGRP | stat.S_IWOTH):
                raise CounterError(
                    f"counter file {self.path} is writable by group or others"
                )
            raw = os.read(fd, 65536)
        finally:
            os.close(fd)
        try:
            data = json.loads(raw)
            version = data["format"]
            result = {str(k): int(v) for k, v in data["counters"].items()}
        except ValueError, KeyError, TypeError, AttributeError:
            raise CounterError(f"counter file {self.path} is damaged") from None
        if version != _FORMAT or any(not 0 <= v <= _MAX_VALUE for v in result.values()):
            raise CounterError(f"counter file {self.path} is damaged")
        return result

    def _write(self, counters: dict[str, int]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = json.dumps(
            {"format": _FORMAT, "counters": counters}, sort_keys=True
        ).encode()
        temp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(body)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            temp.replace(self.path)
            _fsync_directory(self.path.parent)
        except OSError as err:
            temp.unlink(missing_ok=True)
            raise CounterError(f"cannot write {self.path}: {err.strerror}") from None
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
