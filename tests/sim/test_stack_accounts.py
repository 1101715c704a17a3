"""The development stack gives every program its own broker account.

It used to give Home Assistant and the command-line client one shared
account; the broker takes the client id from the user name, so the two
pushed each other off in turn (a command ran on the lock while its sender
reported no signed answer).
"""

from __future__ import annotations

from pathlib import Path

from custom_components.secure_lock.transport import LockTopics
from device_sim.account_names import is_lock_name
from device_sim.broker import MosquittoBroker
from device_sim.stack_accounts import AccountHolder, stack_accounts

from .conftest import LOCK_A, LOCK_B
from .mqtt_customer import Customer


def test_every_program_and_lock_has_its_own_account(tmp_path: Path) -> None:
    """Two locks: four accounts, four names, none a lock id's, each for one lock."""
    accounts = stack_accounts(tmp_path, [LOCK_A.hex(), LOCK_B.hex()])
    assert [(a.holder, a.topic_id) for a in accounts] == [
        (AccountHolder.HOME_ASSISTANT, LOCK_A.hex()),
        (AccountHolder.COMMAND_LINE, LOCK_A.hex()),
        (AccountHolder.HOME_ASSISTANT, LOCK_B.hex()),
        (AccountHolder.COMMAND_LINE, LOCK_B.hex()),
    ]
    names = [a.username for a in accounts]
    assert len(set(names)) == len(names)
    assert not any(is_lock_name(name) for name in names)
    assert len({a.password_file for a in accounts}) == len(accounts)


def test_passwords_are_private_and_survive_a_restart(tmp_path: Path) -> None:
    """A password is made once (0600) and read back the same the next time."""
    first = stack_accounts(tmp_path / "accounts", [LOCK_A.hex()])
    passwords = [account.password() for account in first]
    assert len(set(passwords)) == len(passwords)
    for account in first:
        assert account.password_file.stat().st_mode & 0o777 == 0o600
    again = stack_accounts(tmp_path / "accounts", [LOCK_A.hex()])
    assert [account.password() for account in again] == passwords


def test_home_assistant_and_the_command_line_stay_connected_together(
    broker: MosquittoBroker, tmp_path: Path, customers: list[Customer]
) -> None:
    """Both programs of one lock hold their connections at once; neither reaches the other lock."""
    accounts = stack_accounts(tmp_path / "accounts", [LOCK_A.hex(), LOCK_B.hex()])
    broker.add_controllers(
        (account.username, account.password(), [account.topic_id])
        for account in accounts
    )
    home_assistant, command_line = (
        Customer.controller(broker, account.username, account.password())
        for account in accounts[:2]
    )
    customers.extend([home_assistant, command_line])
    assert not home_assistant.connect().is_failure
    assert not command_line.connect().is_failure
    down = LockTopics.for_lock(LOCK_A).down
    assert home_assistant.publish(down, b"command")
    assert command_line.publish(down, b"command")
    assert home_assistant.connected and command_line.connected
    assert not command_line.publish(LockTopics.for_lock(LOCK_B).down, b"command")
