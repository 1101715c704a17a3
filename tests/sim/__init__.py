"""Tests of the simulated lock."""
