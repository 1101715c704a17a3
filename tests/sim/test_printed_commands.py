"""Every command the README, `--help`, the lock and scripts/develop print runs as printed.

A bare `python` on a developer's PATH may be an older Python that cannot run
the project: printed commands name the project's interpreter,
`.venvs/latest/bin/python`, and each `device_sim` command parses.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
import contextlib
import io
from pathlib import Path
import re
import shlex

import pytest

from device_sim import PROG, PYTHON, crash_test, firmware_crash_test
from device_sim.__main__ import build_parser
from device_sim.cli_lock import FIRST_LAN_PORT, announce
from device_sim.crash_test import REPO_ROOT
from device_sim.lock_device import DeviceConfig
from device_sim.lock_runtime import LockRuntime, RuntimeOptions

README = REPO_ROOT / "README.md"
DEVELOP = REPO_ROOT / "scripts" / "develop"
_PARSERS = {
    "device_sim": build_parser,
    "device_sim.crash_test": crash_test.build_parser,
    "device_sim.firmware_crash_test": firmware_crash_test.build_parser,
}
# `python -m` not preceded by the project's interpreter path.
_BARE_PYTHON = re.compile(r"(?<![/\w$])python3? -m ")


def parses(argv: list[str]) -> None:
    """Fail unless `python -m MODULE ARGS` parses (argparse exits on errors)."""
    assert argv[:2] == [PYTHON, "-m"], argv
    build = _PARSERS[argv[2]]
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            build().parse_args(argv[3:])
    except SystemExit as err:
        pytest.fail(f"{shlex.join(argv)} does not parse: {stderr.getvalue()} ({err})")


def readme_commands() -> Iterator[list[str]]:
    """Yield each `$P ...` command of the README's shell blocks, with `$P` expanded."""
    text = README.read_text(encoding="utf-8")
    assert f"P={PYTHON}\n" in text
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            command = line.split("  #")[0].strip()
            if command.startswith("$P "):
                yield [PYTHON, *shlex.split(command)[1:]]


def test_readme_commands_run_as_printed() -> None:
    """`$P -m device_sim ...` lines parse; `$P script.py` names an existing file."""
    commands = list(readme_commands())
    assert len(commands) > 15
    modules = 0
    for argv in commands:
        if argv[1] == "-m":
            parses(argv)
            modules += 1
        else:
            assert (REPO_ROOT / argv[1]).is_file(), argv
    assert modules > 10
    text = README.read_text(encoding="utf-8")
    assert not _BARE_PYTHON.search(text)
    assert "device_sim setup-code" in text


def test_readme_lock_does_not_clash_with_develop() -> None:
    """The README's lock listens on a port scripts/develop's locks do not use."""
    for argv in readme_commands():
        if argv[3:4] == ["lock"] and "--listen" in argv:
            port = int(argv[argv.index("--listen") + 1].rpartition(":")[2])
            assert not FIRST_LAN_PORT <= port < FIRST_LAN_PORT + 20, argv


def _all_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _all_parsers(sub)


def test_help_texts_print_runnable_commands() -> None:
    """Usage lines and hints in every `--help` name the project's interpreter."""
    seen = 0
    for build in _PARSERS.values():
        for parser in _all_parsers(build()):
            text = parser.format_help()
            assert not _BARE_PYTHON.search(text), text
            assert parser.prog.startswith(PROG), parser.prog
            for command in re.findall(r"`([^`]*)`", text):
                if command.startswith(PROG):
                    parses(shlex.split(command))
                    seen += 1
    assert seen >= 1  # `lock --help` tells how to press the button


def test_develop_prints_runnable_commands() -> None:
    """scripts/develop's summary commands name the interpreter and parse."""
    text = DEVELOP.read_text(encoding="utf-8")
    printed = [line for line in text.splitlines() if line.lstrip().startswith("printf")]
    commands = [
        command
        for line in printed
        for command in re.findall(rf"({re.escape(PROG)}[^\\']*)", line)
    ]
    assert len(commands) >= 2
    for command in commands:
        parses(shlex.split(command))
    assert not any(_BARE_PYTHON.search(line) for line in printed)


async def test_lock_announcement_prints_runnable_commands(tmp_path: Path) -> None:
    """The lock's start-up text: press-button and setup-code commands that parse."""
    runtime = LockRuntime(
        RuntimeOptions(
            state_dir=tmp_path / "lock", device=DeviceConfig(), lan=("127.0.0.1", 0)
        )
    )
    await runtime.start()
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            announce(runtime, quiet=True)
    finally:
        await runtime.stop()
    text = out.getvalue()
    assert not _BARE_PYTHON.search(text)
    commands = [line.partition(":")[2].strip() for line in text.splitlines()]
    runnable = [c for c in commands if c.startswith(PROG)]
    assert [shlex.split(c)[3] for c in runnable] == ["press-button", "setup-code"]
    for command in runnable:
        parses(shlex.split(command))
