"""Tests for the simulator infrastructure: PKI, broker, transports, storage."""
