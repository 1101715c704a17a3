"""The failure of a vector that disagrees with the specification."""

from __future__ import annotations


class Mismatch(AssertionError):
    """A vector disagrees with what the specification computes."""


def expect(condition: bool, what: str) -> None:
    """Raise ``Mismatch`` naming ``what`` unless ``condition`` holds."""
    if not condition:
        raise Mismatch(what)
