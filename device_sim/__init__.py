"""Simulated Secure Lock: the device side of the protocol, for development and tests."""

from .protocol_loader import load_all

# Registered before any device_sim module imports from them.
load_all()
