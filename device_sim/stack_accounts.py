"""The development stack's broker accounts: one per controller and lock, never shared.

The broker takes each client's id from its user name, so two programs on one
account push each other off the relay in turn: a command can run on the lock
while its sender, pushed off, never hears the signed answer.  Home Assistant
opens one connection per lock it drives, and so does each command-line
profile, so the stack gives every lock an account for Home Assistant and
another for the command-line client, each granted that lock only.  The
passwords live in 0600 files beside the stack's state and survive restarts,
as Home Assistant keeps the one it was given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
import os
from pathlib import Path
import secrets

from .account_names import check_controller_name


class AccountHolder(StrEnum):
    """Which program an account is for."""

    HOME_ASSISTANT = "homeassistant"
    COMMAND_LINE = "cli"

    @property
    def description(self) -> str:
        """Return the program's name for people."""
        return {
            AccountHolder.HOME_ASSISTANT: "Home Assistant",
            AccountHolder.COMMAND_LINE: "command-line client",
        }[self]


@dataclass(frozen=True, slots=True)
class StackAccount:
    """One broker account of the stack: who holds it and which lock it drives."""

    holder: AccountHolder
    lock_index: int
    topic_id: str
    password_file: Path

    @property
    def username(self) -> str:
        """Return the account's user name (never a lock id's form)."""
        return check_controller_name(f"{self.holder.value}-{self.lock_index}")

    def password(self) -> str:
        """Return the account's password, creating it (0600) on first use."""
        try:
            return self.password_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            pass
        password = secrets.token_urlsafe(24)
        self.password_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(password + "\n")
        return password


def stack_accounts(directory: Path, topic_ids: Iterable[str]) -> list[StackAccount]:
    """Return an account per holder for each lock, passwords kept in ``directory``."""
    return [
        StackAccount(
            holder, index, topic_id, directory / f"{holder.value}-{index}.password"
        )
        for index, topic_id in enumerate(topic_ids)
        for holder in AccountHolder
    ]
