"""docs/protocol-vectors.json is what the code makes: spec vectors and code cannot drift."""

from __future__ import annotations

from dataclasses import replace
import itertools
import json

import pytest

from custom_components.secure_lock.protocol import MessageKind, SuiteId
from custom_components.secure_lock.protocol.messages import KIND_INFO, Direction
from custom_components.secure_lock.protocol.pairing import echo_is_faithful
from custom_components.secure_lock.protocol.permissions import ROLE_PERMISSIONS
from tests.conformance import wire
from tests.conformance.pairing_receivers import echo_is_the_offer_as_read
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


SENDER = {
    Direction.CONTROLLER_TO_LOCK: "controller",
    Direction.LOCK_TO_CONTROLLER: "lock",
}


def test_every_kind_of_the_registry_has_a_vector_per_direction_and_suite() -> None:
    """Issue 15's acceptance: each MessageKind, each way it travels, both suites."""
    committed = json.loads(SPEC_VECTORS.read_text())
    assert set(committed["suites"]) == {str(int(s)) for s in SuiteId}
    for suite, suite_doc in committed["suites"].items():
        covered = {(v["kind"], v["sender"]) for v in suite_doc["frames"].values()}
        wanted = {
            (int(kind), SENDER[direction])
            for kind, info in KIND_INFO.items()
            for direction in info.directions
        }
        assert wanted - covered == set(), f"suite {suite}"
        assert covered - wanted == set(), f"suite {suite}: a kind in a wrong direction"
        # A response vector answers a request of this suite.
        for vector in suite_doc["frames"].values():
            is_response = KIND_INFO[MessageKind(vector["kind"])].is_response
            assert ("answers" in vector) == is_response, vector["kind_name"]


def test_the_verifier_registry_is_the_project_registry() -> None:
    """The verifier's constants (written from section 0.3) name every kind alike."""
    assert {int(kind): kind.name for kind in MessageKind} == wire.KINDS
    for kind, info in KIND_INFO.items():
        for direction in Direction:
            assert wire.may_travel(kind.name, int(direction)) == (
                direction in info.directions
            ), (kind.name, direction)
        assert (kind.name in wire.RESPONSE_KINDS) == info.is_response
        short = kind.name in wire.SHORT_LIFETIME_KINDS
        assert info.max_lifetime_ms == (
            wire.SHORT_LIFETIME_MS if short else wire.LIFETIME_MS
        )
    assert {
        role.name.lower(): {kind.name for kind in kinds}
        for role, kinds in ROLE_PERMISSIONS.items()
    } == wire.ROLE_KINDS


def test_the_verifier_reads_a_suite_echo_as_the_code_does() -> None:
    """Section 7's echo rule, written twice (spec and code), agrees on every small case."""
    universe = (1, 2, 9)
    lists = [tuple(p) for n in range(1, 4) for p in itertools.permutations(universe, n)]
    for offer in lists:
        for echo in lists:
            for lock in lists:
                assert echo_is_the_offer_as_read(
                    list(offer), list(echo), list(lock)
                ) == echo_is_faithful(offer, echo, lock), (offer, echo, lock)
