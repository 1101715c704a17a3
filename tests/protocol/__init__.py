"""Tests of the Home-Assistant-free wire protocol."""
