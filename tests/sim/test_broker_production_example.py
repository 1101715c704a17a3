"""docs/transport.md's production broker example is what the helper writes.

Paths, ports, the user and logging differ between a production broker and the
development one; every other setting, and how often it appears (once
globally, once per listener), must be the same.
"""

from __future__ import annotations

from collections import Counter
import re

from device_sim.broker import MosquittoBroker
from device_sim.broker_limits import BrokerLimits
from tests.conftest import REPO_ROOT

EXAMPLE = re.compile(r"### Production example\n.*?```\n(.*?)```", re.DOTALL)
SITE_SPECIFIC = frozenset(
    {
        "acl_file",
        "cafile",
        "certfile",
        "connection_messages",
        "keyfile",
        "listener",
        "log_dest",
        "log_timestamp",
        "log_type",
        "password_file",
        "user",
    }
)


def _settings(text: str) -> Counter[str]:
    lines = (line.strip() for line in text.splitlines())
    return Counter(
        line
        for line in lines
        if line and not line.startswith("#") and line.split()[0] not in SITE_SPECIFIC
    )


def test_the_production_example_is_what_the_helper_writes(
    broker: MosquittoBroker,
) -> None:
    """Every setting of the example is in the generated file, as often, and back."""
    match = EXAMPLE.search((REPO_ROOT / "docs" / "transport.md").read_text())
    assert match is not None
    example = _settings(match.group(1))
    assert example == _settings(broker.config_path.read_text())
    for line in BrokerLimits().global_lines():
        assert example[line] == 1
    for line in BrokerLimits().listener_lines():
        assert example[line] == 2
