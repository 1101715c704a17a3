"""An independent conformance verifier, written from docs/protocol.md alone.

Nothing here imports the project's code: only the Python standard library,
``cryptography`` and PyNaCl primitives.  ``test_independence.py`` enforces it.
"""
