"""Client-managed external payload storage (payloads.md §6.1).

Large payload envelopes are written to an object store by the SDK and replaced on the wire by
``{"codec": "avro", "external_storage": <reference>}``; the server stores references verbatim.
Readers fetch the bytes back, verify size and SHA-256, and decode. The stored bytes are the
UTF-8 bytes of the envelope's base64 blob text.

Drivers: :class:`LocalFilesystemExternalStorage` (no dependencies) and adapters over
application-owned clients for S3 (boto3-style), GCS (google-cloud-storage-style) and Azure Blob
(container client). The SDK never imports a cloud SDK.

With ``Client(external_storage=driver)`` (and therefore its :class:`~durable_workflow.Worker`)
this happens on every request and response: envelopes over the threshold (explicit, or the
namespace policy's ``threshold_bytes``) leave as references and references come back inline.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlparse

from durable_workflow import serializer
from durable_workflow.errors import ExternalPayloadIntegrityError

__all__ = [
    "DEFAULT_EXTERNAL_STORAGE_THRESHOLD_BYTES",
    "EXTERNAL_PAYLOAD_REFERENCE_SCHEMA",
    "AzureBlobExternalStorage",
    "ExternalPayloadCache",
    "ExternalPayloadReference",
    "ExternalStorageDriver",
    "GCSExternalStorage",
    "LocalFilesystemExternalStorage",
    "S3ExternalStorage",
    "delete_external_payload",
    "external_storage_driver_from_policy",
    "external_storage_envelope",
    "externalize_payloads",
    "fetch_external_payload",
    "is_external_reference_envelope",
    "resolve_external_envelope",
    "resolve_payloads",
    "store_external_payload",
]

EXTERNAL_PAYLOAD_REFERENCE_SCHEMA = "durable-workflow.v2.external-payload-reference.v1"
DEFAULT_EXTERNAL_STORAGE_THRESHOLD_BYTES = 256 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@runtime_checkable
class ExternalStorageDriver(Protocol):
    """Where external payload bytes live. Implementations may raise their own storage errors."""

    def put(self, data: bytes, *, sha256: str, codec: str) -> str:
        """Store ``data`` and return its URI."""
        ...

    def get(self, uri: str) -> bytes:
        """The bytes stored at ``uri``."""
        ...

    def delete(self, uri: str) -> None:
        """Remove the object at ``uri`` (no error if already gone)."""
        ...


def _object_name(prefix: str, sha256: str) -> str:
    # Content-addressed: the same bytes always map to the same object, so retries are idempotent.
    prefix = prefix.strip("/")
    return f"{prefix}/{sha256}" if prefix else sha256


class LocalFilesystemExternalStorage:
    """``file://`` objects under ``root``; URIs that resolve outside ``root`` raise ``ValueError``."""

    def __init__(self, root: str | os.PathLike[str], *, prefix: str = "") -> None:
        self.root = Path(root).resolve()
        self.prefix = prefix

    def _path(self, uri: str) -> Path:
        parsed = urlparse(uri)
        if parsed.scheme != "file":
            raise ValueError(f"{uri!r} is not a file:// URI")
        path = Path(unquote(parsed.path)).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"{uri!r} is outside the storage root {self.root}")
        return path

    def put(self, data: bytes, *, sha256: str, codec: str) -> str:
        path = self.root / _object_name(self.prefix, sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a crash never leaves a truncated object under the final name.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path.as_uri()

    def get(self, uri: str) -> bytes:
        return self._path(uri).read_bytes()

    def delete(self, uri: str) -> None:
        self._path(uri).unlink(missing_ok=True)


def _split_bucket_uri(uri: str, scheme: str, bucket: str, prefix: str) -> str:
    parsed = urlparse(uri)
    key = parsed.path.lstrip("/")
    if parsed.scheme != scheme or parsed.netloc != bucket:
        raise ValueError(f"{uri!r} does not belong to {scheme}://{bucket}/")
    p = prefix.strip("/")
    if p and not key.startswith(p + "/"):
        raise ValueError(f"{uri!r} is outside the prefix {p!r} of {scheme}://{bucket}/")
    return key


def _as_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise ValueError(f"{what} returned {type(value).__name__}, not bytes")


class S3ExternalStorage:
    """``s3://bucket/prefix/<sha256>`` through a boto3-compatible client."""

    def __init__(self, client: Any, bucket: str, *, prefix: str = "") -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def put(self, data: bytes, *, sha256: str, codec: str) -> str:
        key = _object_name(self.prefix, sha256)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        return f"s3://{self.bucket}/{key}"

    def get(self, uri: str) -> bytes:
        key = _split_bucket_uri(uri, "s3", self.bucket, self.prefix)
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        return _as_bytes(body.read() if hasattr(body, "read") else body, "S3 get_object")

    def delete(self, uri: str) -> None:
        key = _split_bucket_uri(uri, "s3", self.bucket, self.prefix)
        self.client.delete_object(Bucket=self.bucket, Key=key)


class GCSExternalStorage:
    """``gs://bucket/prefix/<sha256>`` through a google-cloud-storage-style client."""

    def __init__(self, client: Any, bucket: str, *, prefix: str = "") -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def put(self, data: bytes, *, sha256: str, codec: str) -> str:
        key = _object_name(self.prefix, sha256)
        self.client.bucket(self.bucket).blob(key).upload_from_string(data)
        return f"gs://{self.bucket}/{key}"

    def get(self, uri: str) -> bytes:
        key = _split_bucket_uri(uri, "gs", self.bucket, self.prefix)
        return _as_bytes(
            self.client.bucket(self.bucket).blob(key).download_as_bytes(), "GCS download"
        )

    def delete(self, uri: str) -> None:
        key = _split_bucket_uri(uri, "gs", self.bucket, self.prefix)
        self.client.bucket(self.bucket).blob(key).delete()


class AzureBlobExternalStorage:
    """``azure://container/prefix/<sha256>`` through an Azure ``ContainerClient``."""

    def __init__(
        self, container_client: Any, container: str | None = None, *, prefix: str = ""
    ) -> None:
        self.client = container_client
        self.container = container or str(getattr(container_client, "container_name", ""))
        if not self.container:
            raise ValueError("AzureBlobExternalStorage needs a container name")
        self.prefix = prefix

    def put(self, data: bytes, *, sha256: str, codec: str) -> str:
        key = _object_name(self.prefix, sha256)
        self.client.upload_blob(key, data, overwrite=True)
        return f"azure://{self.container}/{key}"

    def get(self, uri: str) -> bytes:
        key = _split_bucket_uri(uri, "azure", self.container, self.prefix)
        return _as_bytes(self.client.download_blob(key).readall(), "Azure download_blob")

    def delete(self, uri: str) -> None:
        key = _split_bucket_uri(uri, "azure", self.container, self.prefix)
        self.client.delete_blob(key)


@dataclass(frozen=True)
class ExternalPayloadReference:
    """The wire reference to an externally stored payload."""

    uri: str
    sha256: str
    size_bytes: int
    codec: str = serializer.AVRO_CODEC
    schema: str = EXTERNAL_PAYLOAD_REFERENCE_SCHEMA
    expires_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema": self.schema,
            "uri": self.uri,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "codec": self.codec,
        }
        if self.expires_at is not None:
            out["expires_at"] = self.expires_at
        return out

    @classmethod
    def from_dict(cls, data: Any) -> ExternalPayloadReference:
        """Parse and check a reference; ``ValueError`` for another schema or malformed fields."""
        if not isinstance(data, Mapping):
            raise ValueError("an external payload reference must be an object")
        if data.get("schema") != EXTERNAL_PAYLOAD_REFERENCE_SCHEMA:
            raise ValueError(
                f"unsupported external payload reference schema {data.get('schema')!r}"
            )
        uri, sha, size, codec = (
            data.get("uri"),
            data.get("sha256"),
            data.get("size_bytes"),
            data.get("codec"),
        )
        if not isinstance(uri, str) or not uri:
            raise ValueError("external payload reference uri must be a non-empty string")
        if not isinstance(sha, str) or not _SHA256.match(sha):
            raise ValueError(
                "external payload reference sha256 must be 64 lowercase hex characters"
            )
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError("external payload reference size_bytes must be a non-negative integer")
        if not isinstance(codec, str) or not codec:
            raise ValueError("external payload reference codec must be a non-empty string")
        expires = data.get("expires_at")
        if expires is not None and not isinstance(expires, str):
            raise ValueError("external payload reference expires_at must be a string")
        return cls(uri, sha, size, codec, EXTERNAL_PAYLOAD_REFERENCE_SCHEMA, expires)


class ExternalPayloadCache:
    """Bounded LRU of already verified payload bytes, keyed by (uri, sha256)."""

    def __init__(self, max_entries: int = 256, max_bytes: int = 32 * 1024 * 1024) -> None:
        if max_entries <= 0 or max_bytes <= 0:
            raise ValueError("ExternalPayloadCache limits must be positive")
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._items: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, reference: ExternalPayloadReference) -> bytes | None:
        key = (reference.uri, reference.sha256)
        data = self._items.get(key)
        if data is not None:
            self._items.move_to_end(key)
        return data

    def put(self, reference: ExternalPayloadReference, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        key = (reference.uri, reference.sha256)
        self.evict(reference)
        self._items[key] = data
        self._bytes += len(data)
        while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
            _, old = self._items.popitem(last=False)
            self._bytes -= len(old)

    def evict(self, reference: ExternalPayloadReference) -> None:
        old = self._items.pop((reference.uri, reference.sha256), None)
        if old is not None:
            self._bytes -= len(old)


def store_external_payload(
    driver: ExternalStorageDriver,
    data: bytes,
    *,
    codec: str = serializer.AVRO_CODEC,
    expires_at: str | None = None,
) -> ExternalPayloadReference:
    """Write ``data`` through ``driver`` and return its reference."""
    digest = hashlib.sha256(data).hexdigest()
    uri = driver.put(data, sha256=digest, codec=codec)
    return ExternalPayloadReference(uri, digest, len(data), codec, expires_at=expires_at)


def fetch_external_payload(
    driver: ExternalStorageDriver,
    reference: ExternalPayloadReference,
    *,
    cache: ExternalPayloadCache | None = None,
) -> bytes:
    """The referenced bytes, verified; :class:`ExternalPayloadIntegrityError` if missing,
    truncated or changed."""
    if cache is not None:
        hit = cache.get(reference)
        if hit is not None:
            return hit
    try:
        data = driver.get(reference.uri)
    except (FileNotFoundError, KeyError) as exc:
        raise ExternalPayloadIntegrityError(
            f"external payload {reference.uri} is missing", reference=reference
        ) from exc
    if len(data) != reference.size_bytes:
        raise ExternalPayloadIntegrityError(
            f"external payload {reference.uri} is {len(data)} bytes, the reference says "
            f"{reference.size_bytes}",
            reference=reference,
        )
    digest = hashlib.sha256(data).hexdigest()
    if digest != reference.sha256:
        raise ExternalPayloadIntegrityError(
            f"external payload {reference.uri} has sha256 {digest}, the reference says "
            f"{reference.sha256}",
            reference=reference,
        )
    if cache is not None:
        cache.put(reference, data)
    return data


def delete_external_payload(
    driver: ExternalStorageDriver,
    reference: ExternalPayloadReference,
    *,
    cache: ExternalPayloadCache | None = None,
) -> None:
    """Delete the object and forget any cached copy."""
    if cache is not None:
        cache.evict(reference)
    driver.delete(reference.uri)


def is_external_reference_envelope(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and "codec" in value
        and isinstance(value.get("external_storage"), dict)
    )


def external_storage_envelope(
    value: Any,
    *,
    external_storage: ExternalStorageDriver,
    threshold_bytes: int = DEFAULT_EXTERNAL_STORAGE_THRESHOLD_BYTES,
) -> dict[str, Any]:
    """Avro-encode ``value``; inline up to ``threshold_bytes`` of blob, a reference above it."""
    if not isinstance(threshold_bytes, int) or threshold_bytes <= 0:
        raise ValueError("threshold_bytes must be a positive integer")
    env = serializer.envelope(value)
    return externalize_envelope(env, external_storage, threshold_bytes)


def externalize_envelope(
    env: dict[str, Any], driver: ExternalStorageDriver, threshold_bytes: int
) -> dict[str, Any]:
    """Replace an inline envelope whose blob is over the threshold by a stored reference."""
    blob = env.get("blob")
    if not isinstance(blob, str) or len(blob) <= threshold_bytes:
        return env
    codec = str(env.get("codec") or serializer.AVRO_CODEC)
    ref = store_external_payload(driver, blob.encode("utf-8"), codec=codec)
    return {"codec": codec, "external_storage": ref.to_dict()}


def resolve_external_envelope(
    env: Mapping[str, Any],
    driver: ExternalStorageDriver | None,
    *,
    cache: ExternalPayloadCache | None = None,
) -> dict[str, Any]:
    """Turn a reference envelope back into an inline ``{"codec", "blob"}`` envelope (verified)."""
    if driver is None:
        raise ValueError("this payload is stored externally and no external_storage driver is set")
    ref = ExternalPayloadReference.from_dict(env.get("external_storage"))
    data = fetch_external_payload(driver, ref, cache=cache)
    return {"codec": env.get("codec") or ref.codec, "blob": data.decode("utf-8")}


def externalize_payloads(value: Any, driver: ExternalStorageDriver, threshold_bytes: int) -> Any:
    """A copy of ``value`` (any JSON document) with every inline envelope whose blob is over
    ``threshold_bytes`` stored through ``driver`` and replaced by its reference envelope."""
    if isinstance(value, dict):
        if "codec" in value and isinstance(value.get("blob"), str):
            return externalize_envelope(value, driver, threshold_bytes)
        return {k: externalize_payloads(v, driver, threshold_bytes) for k, v in value.items()}
    if isinstance(value, list):
        return [externalize_payloads(v, driver, threshold_bytes) for v in value]
    return value


def resolve_payloads(
    value: Any, driver: ExternalStorageDriver | None, *, cache: ExternalPayloadCache | None = None
) -> Any:
    """A copy of ``value`` with every reference envelope fetched back inline, size and hash
    verified (``ExternalPayloadIntegrityError`` otherwise). Values without references are
    returned as they are, not copied."""
    if isinstance(value, dict):
        if is_external_reference_envelope(value):
            return resolve_external_envelope(value, driver, cache=cache)
        if not _holds_reference(value):
            return value
        return {k: resolve_payloads(v, driver, cache=cache) for k, v in value.items()}
    if isinstance(value, list):
        if not _holds_reference(value):
            return value
        return [resolve_payloads(v, driver, cache=cache) for v in value]
    return value


def _holds_reference(value: Any) -> bool:
    if isinstance(value, dict):
        return is_external_reference_envelope(value) or any(_holds_reference(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_reference(v) for v in value)
    return False


def external_storage_driver_from_policy(
    policy: Any,
    *,
    s3_client: Any = None,
    gcs_client: Any = None,
    azure_container_client: Any = None,
) -> ExternalStorageDriver:
    """The driver a namespace's ``external_payload_storage`` policy names, over the given client.

    ``ValueError`` if the policy is disabled, names an unsupported driver, or lacks the client,
    bucket or container it needs.
    """
    data = policy if isinstance(policy, Mapping) else getattr(policy, "__dict__", None)
    if data is None and hasattr(policy, "__dataclass_fields__"):
        data = {k: getattr(policy, k) for k in policy.__dataclass_fields__}
    if not isinstance(data, Mapping):
        raise ValueError("external storage policy must be an object")
    if not data.get("enabled"):
        raise ValueError("the external storage policy is disabled")
    driver = data.get("driver")
    config = data.get("config") or {}
    prefix = str(config.get("prefix") or data.get("prefix") or "")
    if driver == "local":
        root = config.get("root") or config.get("uri")
        if not isinstance(root, str):
            raise ValueError("the local external storage policy needs config.root")
        return LocalFilesystemExternalStorage(root.removeprefix("file://"), prefix=prefix)
    if driver in ("s3", "gcs"):
        bucket = config.get("bucket")
        client = s3_client if driver == "s3" else gcs_client
        if not isinstance(bucket, str) or not bucket:
            raise ValueError(f"the {driver} external storage policy needs config.bucket")
        if client is None:
            raise ValueError(f"pass {driver}_client= to build the {driver} driver")
        if driver == "s3":
            return S3ExternalStorage(client, bucket, prefix=prefix)
        return GCSExternalStorage(client, bucket, prefix=prefix)
    if driver == "azure":
        container = config.get("container")
        if not isinstance(container, str) or not container:
            raise ValueError("the azure external storage policy needs config.container")
        if azure_container_client is None:
            raise ValueError("pass azure_container_client= to build the azure driver")
        return AzureBlobExternalStorage(azure_container_client, container, prefix=prefix)
    raise ValueError(f"unsupported external storage driver {driver!r}")
