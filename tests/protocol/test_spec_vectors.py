"""docs/protocol-vectors.json is what the code makes: spec vectors and code cannot drift."""

from __future__ import annotations

from dataclasses import replace
import json

import pytest

from tests.conformance.verifier import check_document

from . import make_spec_vectors
from .make_spec_vectors import SPEC_VECTORS, build, render


def test_regenerating_gives_the_committed_file_byte_for_byte() -> None:
    """Run ``python -m tests.protocol.make_spec_vectors`` after a wire change."""
    committed = SPEC_VECTORS.read_text()
    assert render(build(json.loads(committed))) == committed


def test_freshly_sealed_vectors_conform_as_well() -> None:
    """New HPKE encapsulations and ML-DSA signatures (nothing kept) pass the verifier."""
    fresh = build(None)
    assert check_document(fresh)
    committed = json.loads(SPEC_VECTORS.read_text())
    # Only the captured parts differ.
    assert fresh["lock"] == committed["lock"]
    assert fresh["audit_chain"] == committed["audit_chain"]
    assert fresh["certificates"] == committed["certificates"]
    unlock = fresh["suites"]["2"]["frames"]["unlock"]
    assert unlock["frame"] != committed["suites"]["2"]["frames"]["unlock"]["frame"]
    assert unlock["inner"] == committed["suites"]["2"]["frames"]["unlock"]["inner"]


def test_a_change_of_content_replaces_the_kept_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A kept frame is dropped when the code would seal other content with it."""
    committed = json.loads(SPEC_VECTORS.read_text())
    monkeypatch.setattr(
        make_spec_vectors,
        "STATUS",
        replace(make_spec_vectors.STATUS, battery_percent=12),
    )
    rebuilt = build(committed)
    frames, old = rebuilt["suites"]["1"]["frames"], committed["suites"]["1"]["frames"]
    # Same content key (same seed), other inner message: sealed afresh.
    assert frames["heartbeat"]["content_key"] == old["heartbeat"]["content_key"]
    assert frames["heartbeat"]["frame"] != old["heartbeat"]["frame"]
    assert frames["heartbeat"]["payload_fields"]["status"]["battery_percent"] == 12
    # Frames whose content did not change are kept.
    assert frames["settings"] == old["settings"]
