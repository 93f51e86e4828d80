"""The protocol surface: ``Api.dispatch(ApiRequest) -> ApiResponse``.

Both transports call it: the Starlette adapter (``server.http``) and the SDK's embedded
mode. Order of checks per request: route (404/405), bearer token (401/403), version
header (400), namespace (404), then the handler's body validation (422) and one engine call.
"""

from __future__ import annotations

import asyncio
import logging

from ...protocol import manifest
from ..engine import control as _control
from ..engine.errors import NamespaceNotFound
from ..engine.service import Engine
from ..store.base import retry_conflicts
from .auth import Authenticator
from .call import Call
from .errors import ApiError, error_body
from .router import Route, Router
from .routes import ROUTES
from .settings import ApiSettings
from .types import ApiRequest, ApiResponse

__all__ = ["Api", "ApiError", "ApiRequest", "ApiResponse", "ApiSettings", "Authenticator"]

log = logging.getLogger(__name__)

_CONTROL = manifest.CONTROL_PLANE_HEADER.lower()
_WORKER = manifest.WORKER_PROTOCOL_HEADER.lower()
_NAMESPACE = manifest.NAMESPACE_HEADER.lower()


class Api:
    """Routes requests to handlers; turns every error into the protocol's error envelope."""

    def __init__(self, engine: Engine, auth: Authenticator, settings: ApiSettings) -> None:
        self.engine = engine
        self.auth = auth
        self.settings = settings
        self.router = Router(ROUTES)

    async def dispatch(self, request: ApiRequest) -> ApiResponse:
        headers: dict[str, str] = {}
        try:
            route, params = self.router.match(request.method, request.path)
            self._version(route, request, headers)
            self.auth.check(route.roles, request.headers)
            self._check_version(route, request)
            namespace = (request.headers.get(_NAMESPACE) or "default").strip().lower()
            if route.namespaced and not await _control.control_plane(self.engine).namespace_exists(
                namespace
            ):
                raise NamespaceNotFound(
                    f"Namespace {namespace!r} does not exist.", namespace=namespace
                )
            call = Call(request, params, namespace, self.engine, self.settings)
            # A transaction that lost a race with another server was rolled back: run it again.
            status, body = await retry_conflicts(lambda: route.handler(call))
        except Exception as exc:  # every error leaves as an envelope
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # The caller is being cancelled and a driver reported the aborted query as an
                # error (psycopg does). A 500 here would make the caller retry a request it
                # no longer wants, so the cancellation goes on as a cancellation.
                raise asyncio.CancelledError() from exc
            status, body = error_body(exc)
        return ApiResponse(status, body, headers)

    @staticmethod
    def _version(route: Route, request: ApiRequest, headers: dict[str, str]) -> None:
        if route.plane == "control":
            headers[manifest.CONTROL_PLANE_HEADER] = manifest.CONTROL_PLANE_VERSION
        elif route.plane == "worker":
            sent = request.headers.get(_WORKER)
            ok = sent in manifest.ACCEPTED_WORKER_PROTOCOL_VERSIONS
            headers[manifest.WORKER_PROTOCOL_HEADER] = (
                sent if ok and sent else manifest.WORKER_PROTOCOL_VERSION
            )

    @staticmethod
    def _check_version(route: Route, request: ApiRequest) -> None:
        if route.plane == "control":
            sent = request.headers.get(_CONTROL)
            if sent is None:
                raise ApiError(
                    400,
                    "missing_control_plane_version",
                    f"Send {manifest.CONTROL_PLANE_HEADER}: {manifest.CONTROL_PLANE_VERSION}.",
                    supported_version=manifest.CONTROL_PLANE_VERSION,
                )
            if sent.strip() != manifest.CONTROL_PLANE_VERSION:
                raise ApiError(
                    400,
                    "unsupported_control_plane_version",
                    f"{manifest.CONTROL_PLANE_HEADER} {sent!r} is not supported; use {manifest.CONTROL_PLANE_VERSION}.",
                    requested_version=sent,
                    supported_version=manifest.CONTROL_PLANE_VERSION,
                )
        elif route.plane == "worker":
            sent = request.headers.get(_WORKER)
            supported = sorted(manifest.ACCEPTED_WORKER_PROTOCOL_VERSIONS)
            if sent is None:
                raise ApiError(
                    400,
                    "missing_protocol_version",
                    f"Send {manifest.WORKER_PROTOCOL_HEADER}: {manifest.WORKER_PROTOCOL_VERSION}.",
                    supported_versions=supported,
                )
            if sent.strip() not in manifest.ACCEPTED_WORKER_PROTOCOL_VERSIONS:
                raise ApiError(
                    400,
                    "unsupported_protocol_version",
                    f"{manifest.WORKER_PROTOCOL_HEADER} {sent!r} is not supported; use one of {', '.join(supported)}.",
                    requested_version=sent,
                    supported_versions=supported,
                )
