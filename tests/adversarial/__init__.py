"""Attacks by a hostile relay and LAN proxy against the real lock and controller."""
