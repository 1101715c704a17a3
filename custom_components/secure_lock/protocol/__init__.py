"""Secure Lock wire protocol: pairing, envelopes, keys.

This package never imports Home Assistant: the simulator uses it too.
"""
