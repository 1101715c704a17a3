"""Tests for Secure Lock."""
