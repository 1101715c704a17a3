"""Where RabbitMQ and Erlang from Debian forky live, installed on first use.

scripts/setup_rabbitmq installs them into the forky root scripts/setup
unpacks (cached, with a stamp) and patches Erlang's programs to run from it
without a chroot; this module runs that script once per process and names
the paths the node helper needs.
"""

from __future__ import annotations

from dataclasses import dataclass
import functools
import os
from pathlib import Path
import subprocess

RABBITMQ_VERSION = "4.3.6"
_REPO = Path(__file__).resolve().parent.parent
SETUP_SCRIPT = _REPO / "scripts" / "setup_rabbitmq"
INSTALL_TIMEOUT = 900.0


class RabbitMqUnavailableError(Exception):
    """RabbitMQ could not be installed or found on this machine."""


@dataclass(frozen=True, slots=True)
class RabbitMqInstall:
    """Paths of an installed RabbitMQ and the Erlang it runs on."""

    erl_bin: Path
    """Directory of the ``erl`` wrapper that points Erlang at the forky root."""
    forky: Path

    @property
    def server_scripts(self) -> Path:
        """Return RabbitMQ's own sbin directory (rabbitmq-server, rabbitmqctl)."""
        return (
            self.forky
            / "usr/lib/rabbitmq/lib"
            / f"rabbitmq_server-{RABBITMQ_VERSION}"
            / "sbin"
        )

    @property
    def epmd(self) -> Path:
        """Return the Erlang port mapper daemon."""
        erlang = self.forky / "usr/lib/erlang"
        return next(erlang.glob("erts-*/bin/epmd"))

    @property
    def erl_call(self) -> Path:
        """Return the C client that evaluates an expression on a running node."""
        return self.forky / "usr/lib/erlang/bin/erl_call"

    def environment(self) -> dict[str, str]:
        """Return the variables every RabbitMQ or Erlang command needs."""
        return {
            "PATH": f"{self.erl_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            # escript looks for `erl` beside itself, which is Debian's wrapper
            # with /usr/lib/erlang hard-coded.
            "ESCRIPT_EMULATOR": str(self.erl_bin / "erl"),
        }


@functools.cache
def ensure_rabbitmq() -> RabbitMqInstall:
    """Install RabbitMQ on first use (minutes once, then instant); return its paths."""
    try:
        result = subprocess.run(  # noqa: S603 - fixed script, no shell
            ["/bin/bash", str(SETUP_SCRIPT)],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise RabbitMqUnavailableError(f"{SETUP_SCRIPT} did not run: {err}") from None
    if result.returncode != 0:
        raise RabbitMqUnavailableError(result.stderr.strip()[-2000:] or "no output")
    erl_bin = Path(result.stdout.strip().splitlines()[-1])
    return RabbitMqInstall(erl_bin=erl_bin, forky=erl_bin.parent.parent / "forky")
