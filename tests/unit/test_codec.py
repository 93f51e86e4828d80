"""The Avro codec is byte-compatible with the reference encodings of payloads.md."""

import pytest

from durable_workflow.protocol import codec

REFERENCE = [
    (None, "wwHioz3/VYAiNwA="),
    (True, "wwHioz3/VYAiNwIB"),
    (42, "wwHioz3/VYAiNwRU"),
    (-1, "wwHioz3/VYAiNwQB"),
    (1.5, "wwHioz3/VYAiNwYAAAAAAAD4Pw=="),
    (b"\x00\x01", "wwHioz3/VYAiNwgEAAE="),
    ("hello Ada", "wwHioz3/VYAiNwoSaGVsbG8gQWRh"),
    (["Ada"], "wwHioz3/VYAiNwwCCgZBZGEA"),
    ([], "wwHioz3/VYAiNwwA"),
    ({"k": 1}, "wwHioz3/VYAiNw4CAmsEAgA="),
    ([1, "a", None], "wwHioz3/VYAiNwwGBAIKAmEAAA=="),
]


@pytest.mark.parametrize(("value", "blob"), REFERENCE)
def test_reference_encodings(value: object, blob: str) -> None:
    assert codec.encode(value) == blob
    assert codec.decode(blob) == value


def test_fingerprint_matches_protocol() -> None:
    assert codec.FINGERPRINT.hex() == "e2a33dff55802237"


def test_nested_roundtrip() -> None:
    value = {"a": [1, 2.5, {"b": None, "c": [True, b"x"]}], "s": "é"}
    assert codec.decode_envelope(codec.envelope(value)) == value


@pytest.mark.parametrize("bad", [{1: "x"}, {1, 2}, float("nan"), 2**64, object()])
def test_unencodable_values_name_the_problem(bad: object) -> None:
    with pytest.raises(codec.PayloadEncodeError):
        codec.encode(bad)


@pytest.mark.parametrize(
    "blob",
    ['{"json": true}', "not-base64!!", "AAAA", codec.encode(1)[:-2] + "AA", codec.encode(1) + "AA=="],
)
def test_bad_blobs_are_rejected(blob: str) -> None:
    with pytest.raises(codec.PayloadDecodeError):
        codec.decode(blob)


def test_envelope_with_other_codec_rejected() -> None:
    with pytest.raises(codec.PayloadDecodeError, match="unsupported_payload_codec"):
        codec.decode_envelope({"codec": "json", "blob": "1"})
