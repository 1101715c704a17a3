"""Tests for the Secure Lock integration, simulator and protocol."""
