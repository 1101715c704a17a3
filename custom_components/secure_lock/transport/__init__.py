"""Secure Lock transports: how opaque frames reach the lock (MQTT relay, LAN WebSocket).

This package never imports Home Assistant: the simulator uses it too.
"""
