"""Simulated Secure Lock: the device side of the protocol, for development and tests."""

from .protocol_loader import load_all

PYTHON = ".venvs/latest/bin/python"
"""The project's interpreter, relative to the repository root (a bare
`python` may be an older version that cannot run the project)."""
PROG = f"{PYTHON} -m device_sim"
"""How every help text and hint prints a simulator command."""

# Registered before any device_sim module imports from them.
load_all()
