"""The transport package loads without Home Assistant."""

from __future__ import annotations

from pathlib import Path
import subprocess
import sys

REPO = Path(__file__).resolve().parents[2]

CHECK = """
import sys
import device_sim
from custom_components.secure_lock.transport import MqttFrameLink, WebSocketFrameLink
leaked = sorted(m for m in sys.modules if m.split('.')[0] == 'homeassistant')
assert not leaked, leaked
"""


def test_transport_imports_no_homeassistant() -> None:
    """Importing device_sim and the transport pulls in no homeassistant module."""
    subprocess.run([sys.executable, "-c", CHECK], check=True, cwd=REPO)  # noqa: S603
