"""`device_sim client keypad-*` and `device_sim keypad PIN`: codes managed from the CLI.

The parsing and printing run in-process against a simulated lock; one test
runs the real commands against a lock process, as a developer would.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from pathlib import Path
import re

import pytest

from custom_components.secure_lock.controller import LockClient
from custom_components.secure_lock.protocol.keypad_codes import KeypadSchedule
from device_sim import cli_keypad
from device_sim.keypad import KeypadOutcome

from .lock_rig import Rig
from .test_cli_errors import assert_one_line_error, run_async, running_lock
from .test_cli_profile import pair_cli


def _parser(client: LockClient) -> argparse.ArgumentParser:
    async def with_client(
        _args: argparse.Namespace, work: Callable[[LockClient], Awaitable[int]]
    ) -> int:
        return await work(client)

    parser = argparse.ArgumentParser(prog="client")
    cli_keypad.add_parsers(parser.add_subparsers(required=True), with_client)
    return parser


async def _run(parser: argparse.ArgumentParser, *argv: str) -> int:
    args = parser.parse_args(argv)
    result: int = await args.action(args)
    return result


async def test_set_list_disable_remove_in_process(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each command does what it says and prints one line about it; no PIN is echoed."""
    admin = await rig.pair()
    parser = _parser(admin)
    await _run(
        parser,
        "keypad-set",
        "0",
        "--name",
        "Cleaner",
        "--pin",
        "246810",
        "--weekly",
        "tue 08:00-12:00",
        "--weekly",
        "daily 00:00-24:00",
        "--utc-offset",
        "-90",
    )
    out = capsys.readouterr().out
    assert out == (
        "keypad code 0 (Cleaner) set: tue 08:00-12:00; "
        "mon,tue,wed,thu,fri,sat,sun 00:00-24:00 (UTC-01:30)\n"
    )
    assert "246810" not in out
    await _run(
        parser, "keypad-set", "1", "--name", "Guest", "--generate", "--valid-hours", "2"
    )
    out = capsys.readouterr().out
    pin = re.search(r"PIN \(shown once\): (\d{8})", out)
    assert pin is not None
    assert "from " in out and "until " in out
    assert rig.device.type_on_keypad(pin.group(1)) is KeypadOutcome.UNLOCKED

    await _run(parser, "keypad-disable", "0")
    assert rig.device.type_on_keypad("246810") is KeypadOutcome.DISABLED
    await _run(parser, "keypad-enable", "0")
    for _ in range(5):
        rig.device.type_on_keypad("000000")
    capsys.readouterr()
    await _run(parser, "keypad-codes")
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].startswith("wrong PINs so far: 5; locked out until ")
    assert listing[1].startswith(" 0  on   Cleaner: ")
    assert "last used never" in listing[1]
    assert "last used 20" in listing[2]
    await _run(parser, "keypad-remove", "1")
    assert capsys.readouterr().out == "keypad code 1 removed\n"
    rig.scheduler.advance(60)
    await _run(parser, "keypad-codes")
    assert capsys.readouterr().out.splitlines()[0] == "wrong PINs so far: 5"
    await admin.close()


def test_describe_an_always_code_and_bad_weekly_slots() -> None:
    """A code with no schedule opens always; a slot that does not parse says how it reads."""
    assert cli_keypad.describe_schedule(KeypadSchedule(utc_offset_minutes=60)) == (
        "always (UTC+01:00)"
    )
    for bad in ("tue", "someday 08:00-09:00", "tue 9-10", "tue 12:00-08:00"):
        with pytest.raises(argparse.ArgumentTypeError, match="reads like"):
            cli_keypad.parse_weekly(bad)


async def test_a_code_set_from_the_cli_opens_the_keypad_of_a_running_lock(
    tmp_path: Path,
) -> None:
    """`client keypad-set --generate`, then `keypad PIN` opens; `keypad lock` locks."""
    async with running_lock(tmp_path / "lock") as lock:
        profile = tmp_path / "me.json"
        await pair_cli(lock, profile)
        state_dir = str(lock.state_dir)
        made = await run_async(
            "client",
            "--profile",
            str(profile),
            "keypad-set",
            "2",
            "--name",
            "Guest",
            "--generate",
        )
        assert made.returncode == 0, made.stderr
        pin = re.search(r"PIN \(shown once\): (\d{8})", made.stdout)
        assert pin is not None

        wrong = await run_async("keypad", "00000000", "--state-dir", state_dir)
        assert wrong.stdout.splitlines() == ["Keypad: wrong_code; the bolt is locked."]
        opened = await run_async("keypad", pin.group(1), "--state-dir", state_dir)
        assert opened.stdout.splitlines() == ["Keypad: unlocked; the bolt is unlocked."]
        assert pin.group(1) not in opened.stdout + opened.stderr
        locked = await run_async("keypad", "lock", "--state-dir", state_dir)
        assert locked.stdout.splitlines() == [
            "Keypad lock key pressed; the bolt is locked."
        ]
        assert_one_line_error(
            await run_async("client", "--profile", str(profile), "keypad-disable", "7"),
            "no keypad code in slot 7",
        )
