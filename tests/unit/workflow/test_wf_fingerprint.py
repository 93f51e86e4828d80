"""wait_condition fingerprints equal what other Python SDK workers record for the same predicate."""

import sys

import pytest

from durable_workflow.workflow._context import predicate_fingerprint


class _Approval:
    def __init__(self) -> None:
        self.approved_by: str | None = None

    def predicate(self):  # type: ignore[no-untyped-def]
        return lambda: self.approved_by is not None


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="bytecode (and so the digest) is per CPython minor")
def test_fingerprint_matches_the_official_2_12_0_worker_on_cpython_3_11() -> None:
    # Recorded by running durable-workflow 2.12.0 on the same predicate under CPython 3.11.
    assert predicate_fingerprint(_Approval().predicate()) == EXPECTED_311


def test_fingerprint_is_stable_and_distinguishes_predicates() -> None:
    first = predicate_fingerprint(_Approval().predicate())
    assert first == predicate_fingerprint(_Approval().predicate())
    assert first != predicate_fingerprint(lambda: True)
    assert first.startswith("sha256:") and len(first) == 7 + 64


EXPECTED_311 = "sha256:d73f5690f7af3018d7d637525be749ddc963d3831744279e0493d90115a32ac6"
