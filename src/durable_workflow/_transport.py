"""How the SDK reaches a server: one small interface, an HTTP and an in-process implementation.

``http://``/``https://`` base URLs go over aiohttp. ``sqlite://`` and ``postgresql://`` URLs
run the server in this process: the same request (method, path, headers, body) is handed to
``Api.dispatch`` without a socket and without JSON encoding. Retries (protocol README,
"Transport retries") wrap either one in :func:`send_with_retries`.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

__all__ = [
    "EMBEDDED_SCHEMES",
    "EmbeddedTransport",
    "HttpTransport",
    "RetrySettings",
    "RuntimeTransport",
    "Transport",
    "make_transport",
    "raise_if_cancelling",
    "send_with_retries",
    "validate_base_url",
]

EMBEDDED_SCHEMES = ("sqlite", "postgresql", "postgres")
# Canonical query timeouts: the query already waited server-side, a retry would wait again.
_NO_RETRY_504 = frozenset(
    {"query_worker_timeout", "query_worker_execution_timeout", "query_task_not_claimed"}
)


class Transport(Protocol):
    """Sends one request and returns ``(status, parsed JSON body or text)``."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str],
        body: Any = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> tuple[int, Any]: ...

    async def aclose(self) -> None: ...


def validate_base_url(base_url: str) -> str:
    """Return the HTTP base URL without a trailing slash, or raise ValueError."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url must be an http(s) URL or a database URL, got {base_url!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"base_url must not carry a query or fragment: {base_url!r}")
    path = parts.path.rstrip("/")
    if path == "/api" or path.endswith("/api"):
        raise ValueError(f"base_url must not end in /api (the SDK adds it): {base_url!r}")
    return base_url.rstrip("/")


def _parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


class HttpTransport:
    """aiohttp with one pooled session, opened on first use (it needs a running loop)."""

    def __init__(self, base_url: str, *, timeout: float = 60.0, pool_size: int = 100) -> None:
        self.base_url = validate_base_url(base_url)
        self._timeout = timeout
        self._pool_size = pool_size
        self._session: Any = None

    def _open(self) -> Any:
        import aiohttp

        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._pool_size),
            json_serialize=json.dumps,
        )
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str],
        body: Any = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> tuple[int, Any]:
        import aiohttp

        session = self._session or self._open()
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        try:
            async with session.request(
                method,
                self.base_url + path,
                headers=headers,
                data=data,
                params=params,
                timeout=aiohttp.ClientTimeout(total=timeout or self._timeout),
            ) as resp:
                return resp.status, _parse_body(await resp.read())
        except TimeoutError as exc:
            raise TimeoutError(f"{method} {path} timed out") from exc
        except aiohttp.ClientError as exc:
            # One builtin type for "the request may not have reached the server": retryable.
            raise ConnectionError(f"{method} {path}: {exc}") from exc

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


@dataclass
class _Shared:
    runtime: Any
    refs: int


# One runtime per (database URL, event loop): a Client and its Worker share it.
_RUNTIMES: dict[tuple[str, int], _Shared] = {}
_OPENING: dict[tuple[str, int], asyncio.Lock] = {}


class RuntimeTransport:
    """Sends requests to an already open ``ServerRuntime`` in this process (no socket, no JSON).

    ``copy_bodies=True`` passes bodies through JSON both ways, as a socket would; tests use it
    to catch a client and the server sharing mutable objects.
    """

    def __init__(self, runtime: Any, *, timeout: float = 60.0, copy_bodies: bool = False) -> None:
        self.runtime = runtime
        self._timeout = timeout
        self._copy = copy_bodies
        self._request_type: Any = importlib.import_module("durable_workflow.server.api").ApiRequest

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str],
        body: Any = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> tuple[int, Any]:
        if self._copy and body is not None:
            body = json.loads(json.dumps(body))
        request = self._request_type(
            method=method,
            path=path,
            query=dict(params) if params else {},
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
        )
        async with asyncio.timeout(timeout or self._timeout):
            response = await self.runtime.api.dispatch(request)
        if self._copy:
            return response.status, json.loads(json.dumps(response.body))
        return response.status, response.body

    async def aclose(self) -> None:
        return None


class EmbeddedTransport:
    """Runs the server in this process and calls ``Api.dispatch`` directly."""

    def __init__(self, db_url: str, *, timeout: float = 60.0) -> None:
        self.db_url = db_url
        self._timeout = timeout
        self._key: tuple[str, int] | None = None
        self._inner: RuntimeTransport | None = None
        self._closed = False

    async def _acquire(self) -> Any:
        if self._closed:
            raise RuntimeError("transport is closed")
        key = (self.db_url, id(asyncio.get_running_loop()))
        lock = _OPENING.setdefault(key, asyncio.Lock())
        async with lock:
            if self._inner is not None:  # another request of ours opened it meanwhile
                return self._inner
            shared = _RUNTIMES.get(key)
            if shared is None:
                # Imported here so the SDK never loads the server unless asked to embed it.
                server = importlib.import_module("durable_workflow.server.runtime")
                runtime = await server.ServerRuntime.open(server.ServerConfig(db_url=self.db_url))
                shared = _RUNTIMES[key] = _Shared(runtime, 0)
            shared.refs += 1
            self._key = key
            self._inner = RuntimeTransport(shared.runtime, timeout=self._timeout)
            return self._inner

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str],
        body: Any = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> tuple[int, Any]:
        inner = self._inner or await self._acquire()
        return await inner.request(
            method, path, headers=headers, body=body, params=params, timeout=timeout
        )

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        key, self._key, self._inner = self._key, None, None
        if key is None:
            return
        shared = _RUNTIMES.get(key)
        if shared is None:
            return
        shared.refs -= 1
        if shared.refs <= 0:
            del _RUNTIMES[key]
            _OPENING.pop(key, None)
            await shared.runtime.close()


def make_transport(base_url: str, timeout: float = 60.0) -> Transport:
    """Pick the transport for ``base_url``: HTTP(S), or an embedded server for database URLs."""
    scheme = base_url.split(":", 1)[0].lower()
    if scheme in EMBEDDED_SCHEMES:
        return EmbeddedTransport(base_url, timeout=timeout)
    return HttpTransport(base_url, timeout=timeout)


class RetrySettings(Protocol):
    """The fields of ``retry_policy.TransportRetryPolicy`` the transport reads."""

    @property
    def max_attempts(self) -> int: ...
    @property
    def initial_backoff_seconds(self) -> float: ...
    @property
    def max_backoff_seconds(self) -> float: ...
    @property
    def jitter(self) -> float: ...


@dataclass(frozen=True)
class DefaultRetrySettings:
    """Protocol README defaults, used when no policy object is given."""

    max_attempts: int = 3
    initial_backoff_seconds: float = 0.1
    max_backoff_seconds: float = 5.0
    jitter: float = 0.25


def default_retry_settings() -> RetrySettings:
    try:
        from durable_workflow.retry_policy import TransportRetryPolicy
    except ImportError:
        return DefaultRetrySettings()
    policy: RetrySettings = TransportRetryPolicy()
    return policy


def _retryable_status(status: int, body: Any) -> bool:
    reason = body.get("reason") if isinstance(body, dict) else None
    if status == 429:
        return reason != "long_poll_capacity_exhausted"
    if status == 504 and reason in _NO_RETRY_504:
        return False
    return status >= 500


def backoff_delay(policy: RetrySettings, attempt: int) -> float:
    """Delay before retry number ``attempt`` (1-based): doubling, capped, with +-jitter."""
    backoff = getattr(policy, "backoff", None)
    if callable(backoff):
        delay: float = backoff(attempt - 1, random.random())
        return delay
    base = min(policy.max_backoff_seconds, policy.initial_backoff_seconds * 2.0 ** (attempt - 1))
    return max(0.0, base * (1 + random.uniform(-policy.jitter, policy.jitter)))


def raise_if_cancelling(exc: BaseException) -> None:
    """Re-raise as ``CancelledError`` when the current task is being cancelled.

    A cancellation can come back as an ordinary exception: on Python 3.11 a cancel racing an
    ``asyncio.timeout`` surfaces as ``TimeoutError``, and a database driver may report the
    query it aborted as an error. Retrying or polling on would leave ``Worker.stop()`` waiting
    for a whole new long poll.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError() from exc


async def send_with_retries(
    transport: Transport,
    policy: RetrySettings | None,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str],
    body: Any = None,
    params: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> tuple[int, Any]:
    """Send, resending the identical request on connection errors, timeouts, 5xx and 429.

    ``policy=None`` sends exactly once (worker deregistration).
    """
    attempts = max(1, policy.max_attempts) if policy is not None else 1
    attempt = 1
    while True:
        try:
            status, data = await transport.request(
                method, path, headers=headers, body=body, params=params, timeout=timeout
            )
        except (ConnectionError, TimeoutError) as exc:
            raise_if_cancelling(exc)
            if attempt >= attempts or policy is None:
                raise
        else:
            if attempt >= attempts or policy is None or not _retryable_status(status, data):
                return status, data
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                return status, data  # being cancelled: no retry; the caller sees this answer
        await asyncio.sleep(backoff_delay(policy, attempt))
        attempt += 1
