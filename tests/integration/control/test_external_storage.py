"""External payload storage (issue 5 point 6): drivers, references, integrity, and a 5 MB
activity result through a namespace with a 64 KB threshold."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import pytest

from durable_workflow import (
    Client,
    ExternalPayloadCache,
    ExternalPayloadIntegrityError,
    ExternalPayloadIntegrityMismatch,
    ExternalPayloadReference,
    LocalFilesystemExternalStorage,
    S3ExternalStorage,
    Worker,
    activity,
    external_storage_driver_from_policy,
    external_storage_envelope,
    fetch_external_payload,
    store_external_payload,
    to_avro_payload_value,
    workflow,
)
from durable_workflow.external_storage import (
    AzureBlobExternalStorage,
    GCSExternalStorage,
    delete_external_payload,
    resolve_external_envelope,
)
from durable_workflow.serializer import decode_envelope
from durable_workflow.server.runtime import ServerRuntime

from .conftest import make_client

QUEUE = "big"
BIG = 5 * 1024 * 1024


@activity.defn(name="big.make")
def make_big(n: int) -> str:
    return "x" * n


@workflow.defn(name="big.wf")
class BigWorkflow:
    def run(self, ctx, n):  # type: ignore[no-untyped-def]
        data = yield ctx.schedule_activity("big.make", [n])
        return {"length": len(data), "head": data[:3]}


async def test_five_megabyte_activity_result_round_trips(
    runtime: ServerRuntime, tmp_path: Path
) -> None:
    root = tmp_path / "payloads"
    async with make_client(runtime) as admin:
        await admin.set_namespace_external_storage(
            "default", driver="local", threshold_bytes=64 * 1024, config={"root": str(root)}
        )
        policy = (await admin.describe_namespace("default")).external_payload_storage
    driver = external_storage_driver_from_policy(policy)
    async with make_client(runtime, external_storage=driver) as client:
        worker = Worker(client, task_queue=QUEUE, workflows=[BigWorkflow], activities=[make_big],
                        poll_timeout=2)
        runner = asyncio.create_task(worker.run())
        try:
            h = await client.start_workflow(workflow_type="big.wf", task_queue=QUEUE,
                                            workflow_id="big-1", input=[BIG])
            assert await h.result(timeout=60) == {"length": BIG, "head": "xxx"}
        finally:
            await worker.stop()
            await runner
        assert client.external_storage_threshold_bytes == 64 * 1024  # read from the namespace
        # The server holds a reference, not 5 MB: the history has the reference envelope.
    async with make_client(runtime) as plain:
        history = await plain.get_history("big-1", str(h.run_id))
        completed = [e for e in history["events"] if e["event_type"] == "ActivityCompleted"]
        ref_env = completed[0]["payload"]["result"]
        assert set(ref_env) == {"codec", "external_storage"}
        ref = ExternalPayloadReference.from_dict(ref_env["external_storage"])
        assert ref.size_bytes > BIG and ref.uri.startswith(root.resolve().as_uri())
        # Tamper with the stored object: reading it back must fail loudly.
        path = Path(ref.uri.removeprefix("file://"))
        data = bytearray(path.read_bytes())
        data[100] ^= 1
        path.write_bytes(bytes(data))
    async with make_client(runtime, external_storage=driver) as reader:
        with pytest.raises(ExternalPayloadIntegrityError):
            await reader.get_history("big-1", str(h.run_id))


def test_local_driver_store_fetch_delete_and_cache(tmp_path: Path) -> None:
    storage = LocalFilesystemExternalStorage(tmp_path / "store", prefix="billing")
    cache = ExternalPayloadCache(max_entries=2, max_bytes=1024)
    ref = store_external_payload(storage, b'{"archived":true}', codec="json")
    assert ref.sha256 == hashlib.sha256(b'{"archived":true}').hexdigest() and ref.size_bytes == 17
    assert "/billing/" in ref.uri
    assert fetch_external_payload(storage, ref, cache=cache) == b'{"archived":true}'
    assert len(cache) == 1
    assert ExternalPayloadReference.from_dict(ref.to_dict()) == ref
    delete_external_payload(storage, ref, cache=cache)
    assert len(cache) == 0
    with pytest.raises(ExternalPayloadIntegrityError):
        fetch_external_payload(storage, ref)  # missing
    with pytest.raises(ValueError, match="outside the storage root"):
        storage.get((tmp_path / "elsewhere").resolve().as_uri())
    with pytest.raises(ValueError):
        ExternalPayloadCache(max_entries=0)


def test_truncated_and_mutated_objects_fail_integrity(tmp_path: Path) -> None:
    storage = LocalFilesystemExternalStorage(tmp_path)
    ref = store_external_payload(storage, b"0123456789")
    path = Path(ref.uri.removeprefix("file://"))
    path.write_bytes(b"012345")
    with pytest.raises(ExternalPayloadIntegrityError, match="6 bytes"):
        fetch_external_payload(storage, ref)
    path.write_bytes(b"0123456780")
    with pytest.raises(ExternalPayloadIntegrityMismatch, match="sha256"):
        fetch_external_payload(storage, ref)


def test_envelope_inline_below_threshold_reference_above(tmp_path: Path) -> None:
    storage = LocalFilesystemExternalStorage(tmp_path)
    small = external_storage_envelope({"a": 1}, external_storage=storage, threshold_bytes=1024)
    assert "blob" in small
    value = to_avro_payload_value({"invoice_pdf": "x" * 100_000})
    big = external_storage_envelope(value, external_storage=storage, threshold_bytes=64 * 1024)
    assert set(big) == {"codec", "external_storage"}
    assert decode_envelope(resolve_external_envelope(big, storage)) == value
    with pytest.raises(ValueError):
        external_storage_envelope(1, external_storage=storage, threshold_bytes=0)


def test_reference_schema_is_checked() -> None:
    good = {"schema": "durable-workflow.v2.external-payload-reference.v1", "uri": "s3://b/k",
            "sha256": "0" * 64, "size_bytes": 1, "codec": "avro"}
    assert ExternalPayloadReference.from_dict(good).uri == "s3://b/k"
    for broken in ({**good, "schema": "v0"}, {**good, "sha256": "XYZ"}, {**good, "size_bytes": -1},
                   {**good, "uri": ""}, "not-an-object"):
        with pytest.raises(ValueError):
            ExternalPayloadReference.from_dict(broken)


class FakeS3:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes) -> None:
        self.objects[(Bucket, Key)] = Body

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        data = self.objects[(Bucket, Key)]

        class Body:
            def read(self) -> bytes:
                return data

        return {"Body": Body()}

    def delete_object(self, *, Bucket: str, Key: str) -> None:
        self.objects.pop((Bucket, Key), None)


def test_object_store_adapters_refuse_foreign_references() -> None:
    s3 = S3ExternalStorage(FakeS3(), "dw-payloads", prefix="billing")
    ref = store_external_payload(s3, b"hello")
    assert ref.uri.startswith("s3://dw-payloads/billing/")
    assert fetch_external_payload(s3, ref) == b"hello"
    with pytest.raises(ValueError, match="does not belong"):
        s3.get("s3://other-bucket/billing/abc")
    with pytest.raises(ValueError, match="outside the prefix"):
        s3.get("s3://dw-payloads/payroll/abc")
    with pytest.raises(ValueError, match="does not belong"):
        GCSExternalStorage(object(), "b").get("gs://c/k")
    with pytest.raises(ValueError, match="does not belong"):
        AzureBlobExternalStorage(object(), "box").get("azure://other/k")


def test_driver_from_policy(tmp_path: Path) -> None:
    local = external_storage_driver_from_policy(
        {"driver": "local", "enabled": True, "config": {"root": str(tmp_path)}}
    )
    assert isinstance(local, LocalFilesystemExternalStorage)
    s3 = external_storage_driver_from_policy(
        {"driver": "s3", "enabled": True, "config": {"bucket": "b", "prefix": "p"}},
        s3_client=FakeS3(),
    )
    assert isinstance(s3, S3ExternalStorage) and s3.prefix == "p"
    for policy, why in (
        ({"driver": "local", "enabled": False}, "disabled"),
        ({"driver": "ftp", "enabled": True}, "unsupported"),
        ({"driver": "s3", "enabled": True, "config": {"bucket": "b"}}, "s3_client"),
        ({"driver": "gcs", "enabled": True, "config": {}}, "bucket"),
        ({"driver": "azure", "enabled": True, "config": {"container": "c"}}, "azure_container"),
    ):
        with pytest.raises(ValueError, match=why):
            external_storage_driver_from_policy(policy)


async def test_client_without_storage_cannot_send_five_megabytes(runtime: ServerRuntime) -> None:
    async with make_client(runtime) as client:
        with pytest.raises(Exception, match=r"(?i)payload"):
            await client.start_workflow(workflow_type="t", task_queue="q", workflow_id="too-big",
                                        input=["x" * BIG])
    _ = Client
