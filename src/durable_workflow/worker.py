"""The :class:`Worker`: registers with the server, polls task queues and runs tasks.

Per task kind there are a few long-poll loops sharing one slot semaphore: a loop takes a
slot before it polls, so the worker only leases work it can start at once and never holds
more than ``max_concurrent_*`` tasks. Each leased task runs in its own asyncio task.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import importlib
import inspect
import logging
import os
import random
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Final

from durable_workflow import errors, serializer
from durable_workflow._transport import raise_if_cancelling
from durable_workflow.activity import (
    ActivityContext,
    ActivityDefinition,
    ActivityInfo,
    _reset_context,
    _set_context,
)
from durable_workflow.activity import get_definition as get_activity_definition
from durable_workflow.client import CONTROL_PLANE_VERSION, Client, WorkflowExecution
from durable_workflow.interceptors import (
    ActivityInterceptorContext,
    QueryTaskInterceptorContext,
    WorkflowTaskInterceptorContext,
    chain,
)
from durable_workflow.metrics import (
    WORKER_POLL_DURATION,
    WORKER_POLLS,
    WORKER_TASK_DURATION,
    WORKER_TASKS,
    MetricsRecorder,
    NoopMetrics,
)
from durable_workflow.protocol import manifest

__all__ = ["Worker", "validate_server_compatibility"]

log = logging.getLogger("durable_workflow.worker")

WAITING_FOR_HISTORY: Final = {
    "message": "Workflow task waiting for scheduled history.",
    "type": "WorkflowTaskWaitingForHistory",
}
_MAX_POLLERS = 4
_DEFAULT_HEARTBEAT_SECONDS = 60.0
_MESSAGE_LIMIT = 62 * 1024
_STACK_LIMIT = 128 * 1024
# Answers to complete/fail meaning "this lease is no longer yours": stop quietly.
_STALE_LEASE = frozenset(
    {
        "lease_expired",
        "lease_owner_mismatch",
        "run_already_closed",
        "run_closed",
        "task_not_found",
        "task_not_leased",
        "workflow_task_attempt_mismatch",
        "attempt_not_found",
        "task_mismatch",
        "query_task_not_found",
        "query_task_not_leased",
        "query_task_timed_out",
    }
)
_COMPLETION_RETRY_DELAYS = (0.05, 0.2)


# --------------------------------------------------------------------------- compatibility


def _compat_error(detail: str) -> RuntimeError:
    return RuntimeError(f"Server compatibility error: {detail}")


def _obj(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _compat_error(f"{path} is missing or not an object")
    return value


def validate_server_compatibility(info: Any, *, worker_protocol_version: str = "1.20") -> None:
    """Check a cluster-info document; raise ``RuntimeError("Server compatibility error: ...")``."""
    info = _obj(info, "cluster info")
    control = _obj(info.get("control_plane"), "control_plane")
    if str(control.get("version")) != CONTROL_PLANE_VERSION:
        raise _compat_error(
            f"control_plane.version is {control.get('version')!r}, expected {CONTROL_PLANE_VERSION!r}"
        )
    contract = _obj(control.get("request_contract"), "control_plane.request_contract")
    if contract.get("schema") != manifest.REQUEST_CONTRACT_SCHEMA:
        raise _compat_error(
            f"unsupported control_plane.request_contract.schema {contract.get('schema')!r}"
        )
    if not _is_one(contract.get("version")):
        raise _compat_error(
            f"unsupported control_plane.request_contract.version {contract.get('version')!r}"
        )
    protocol = _obj(info.get("worker_protocol"), "worker_protocol")
    _check_worker_version(protocol.get("version"), worker_protocol_version)
    caps = protocol.get("server_capabilities")
    if caps is not None and not isinstance(caps, Mapping):
        raise _compat_error("worker_protocol.server_capabilities is not an object")
    try:
        _check_auth_composition(info.get("auth_composition_contract"))
    except ValueError as exc:
        raise _compat_error(f"unsupported auth_composition_contract: {exc}") from None


def _is_one(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool) and value == 1) or value == "1"


def _check_worker_version(value: Any, wanted: str) -> None:
    if value is None:
        raise _compat_error("worker_protocol.version is missing")
    text = str(value)
    try:
        major, minor = (int(p) for p in text.split("."))
        want_major, want_minor = (int(p) for p in wanted.split("."))
    except ValueError:
        if text != wanted:
            raise _compat_error(f"worker_protocol.version {text!r} is not {wanted!r}") from None
        return
    if major != want_major or minor < want_minor:
        raise _compat_error(
            f"worker_protocol.version {text!r} is older than or incompatible with {wanted!r}"
        )


_CANONICAL_ENV = {
    "server_url": "DURABLE_WORKFLOW_SERVER_URL",
    "namespace": "DURABLE_WORKFLOW_NAMESPACE",
    "auth_token": "DURABLE_WORKFLOW_AUTH_TOKEN",
    "tls_verify": "DURABLE_WORKFLOW_TLS_VERIFY",
    "profile": "DW_ENV",
}
_REQUIRED_CONFIG_FIELDS = {"server_url", "namespace", "profile", "auth", "tls", "identity"}
_REQUIRED_REDACTIONS = {"bearer_tokens", "private_keys", "raw_authorization_headers"}


def _str_list(value: Any, path: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{path} must be a list of strings")
    return value


def _check_auth_composition(doc: Any) -> None:
    if not isinstance(doc, Mapping):
        raise ValueError("missing or not an object")
    if doc.get("schema") != manifest.AUTH_COMPOSITION_SCHEMA:
        raise ValueError(f"schema {doc.get('schema')!r}")
    if doc.get("version") != 1 or isinstance(doc.get("version"), bool):
        raise ValueError(f"version {doc.get('version')!r}")
    precedence = doc.get("precedence")
    if not isinstance(precedence, Mapping):
        raise ValueError("precedence must be an object")
    _str_list(precedence.get("connection_values"), "precedence.connection_values")
    _str_list(precedence.get("profile_selection"), "precedence.profile_selection")
    env = doc.get("canonical_environment")
    if not isinstance(env, Mapping) or not all(isinstance(v, str) for v in env.values()):
        raise ValueError("canonical_environment must be an object of strings")
    for key, name in _CANONICAL_ENV.items():
        if env.get(key) != name:
            raise ValueError(f"canonical_environment.{key} must be {name!r}")
    material = doc.get("auth_material")
    if not isinstance(material, Mapping) or not all(
        isinstance(v, Mapping) for v in material.values()
    ):
        raise ValueError("auth_material must be an object of objects")
    token = material.get("token") or {}
    if token.get("status") != "supported" or token.get("effective_config_value") != "redacted":
        raise ValueError("auth_material.token must be supported and redacted")
    for reserved in ("mtls", "signed_headers"):
        if (material.get(reserved) or {}).get("status") != "reserved":
            raise ValueError(f"auth_material.{reserved}.status must be 'reserved'")
    config = doc.get("effective_config")
    if not isinstance(config, Mapping):
        raise ValueError("effective_config must be an object")
    missing = _REQUIRED_CONFIG_FIELDS - set(
        _str_list(config.get("required_fields"), "effective_config.required_fields")
    )
    if missing:
        raise ValueError(f"effective_config.required_fields lacks {sorted(missing)}")
    redaction = doc.get("redaction")
    if not isinstance(redaction, Mapping):
        raise ValueError("redaction must be an object")
    missing = _REQUIRED_REDACTIONS - set(
        _str_list(redaction.get("never_echo"), "redaction.never_echo")
    )
    if missing:
        raise ValueError(f"redaction.never_echo lacks {sorted(missing)}")


# --------------------------------------------------------------------------- helpers


class _TaskFailure(Exception):
    """Report this workflow task / query task as failed with these fields."""

    def __init__(self, message: str, failure_type: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.failure_type = failure_type
        self.reason = reason


class _Abandon(Exception):
    """Drop the task without reporting (its lease runs out on the server)."""


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _trim(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 20] + "... [truncated]"


def _stack(exc: BaseException) -> str:
    return _trim("".join(traceback.format_exception(exc)), _STACK_LIMIT)


def _class_path(exc: BaseException) -> str:
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


def _names(value: Any) -> list[str]:
    """Handler names from a definition attribute (a mapping, names, or named objects)."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [str(k) for k in value]
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [v if isinstance(v, str) else str(getattr(v, "name", v)) for v in value]
    return []


def _check_codec(task: Mapping[str, Any], field: str) -> None:
    codec = task.get("payload_codec")
    if codec is None and not isinstance(task.get(field), str):
        return  # envelopes name their own codec
    if codec != serializer.AVRO_CODEC:
        raise ValueError(f"unsupported_payload_codec: {codec!r}")


class _Kind:
    """One task kind's slots and counters."""

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self.slots = asyncio.Semaphore(size)
        self.active = 0

    @property
    def available(self) -> int:
        return self.size - self.active


# --------------------------------------------------------------------------- worker


class Worker:
    """Polls one task queue and runs the registered workflows and activities.

    ``await worker.run()`` until :meth:`stop`; or ``await worker.run_until(workflow_id=...)``
    in scripts and tests to drive one workflow to a terminal status.
    """

    def __init__(
        self,
        client: Client,
        *,
        task_queue: str,
        workflows: Sequence[type] = (),
        activities: Sequence[Callable[..., Any]] = (),
        worker_id: str | None = None,
        poll_timeout: float = 35.0,
        max_concurrent_workflow_tasks: int = 10,
        max_concurrent_activity_tasks: int = 10,
        shutdown_timeout: float = 30.0,
        metrics: MetricsRecorder | None = None,
        interceptors: Sequence[Any] = (),
        build_id: str | None = None,
    ) -> None:
        if max_concurrent_workflow_tasks < 1 or max_concurrent_activity_tasks < 1:
            raise ValueError("max_concurrent_* must be at least 1")
        self.client = client
        self.task_queue = task_queue
        self.worker_id = worker_id or f"py-worker-{uuid.uuid4().hex[:8]}"
        self.poll_timeout = poll_timeout
        self.max_concurrent_workflow_tasks = max_concurrent_workflow_tasks
        self.max_concurrent_activity_tasks = max_concurrent_activity_tasks
        self.shutdown_timeout = shutdown_timeout
        self.metrics: MetricsRecorder = metrics or client.metrics
        self._record_metrics = not isinstance(self.metrics, NoopMetrics)
        self.build_id = build_id
        self._workflows: dict[str, Any] = {}
        if workflows:
            # The workflow side is imported only by workers that run workflows.
            get_definition = importlib.import_module("durable_workflow.workflow").get_definition
            for cls in workflows:
                definition = get_definition(cls)
                if definition.name in self._workflows:
                    raise ValueError(f"workflow type {definition.name!r} registered twice")
                self._workflows[definition.name] = definition
        self._activities: dict[str, ActivityDefinition] = {}
        for fn in activities:
            adef = get_activity_definition(fn)
            if adef.name in self._activities:
                raise ValueError(f"activity type {adef.name!r} registered twice")
            self._activities[adef.name] = adef
        self._run_workflow = chain(
            interceptors, "execute_workflow_task", self._execute_workflow_task
        )
        self._run_activity = chain(interceptors, "execute_activity", self._execute_activity)
        self._run_query = chain(interceptors, "execute_query_task", self._execute_query_task)

        self._started = False
        self._stop_requested = False
        self._stop_event: asyncio.Event | None = None
        self._done: asyncio.Event | None = None
        self._shutdown_error: BaseException | None = None
        self._registered = False
        self._loops: list[asyncio.Task[None]] = []
        self._inflight: set[asyncio.Task[None]] = set()
        self._kinds: dict[str, _Kind] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._heartbeat_interval = _DEFAULT_HEARTBEAT_SECONDS
        self._process_started = time.time()
        self._watched: str | None = None
        self._progress: asyncio.Event | None = None

    # ----------------------------------------------------------------- lifecycle

    async def run(self) -> None:
        """Register, then poll and run tasks until :meth:`stop` is called (or cancelled)."""
        if self._started:
            raise RuntimeError("Worker.run() can be called only once per Worker")
        self._started = True
        self._stop_event = asyncio.Event()
        self._done = asyncio.Event()
        if self._stop_requested:
            self._stop_event.set()
        try:
            await self._start()
            await self._stop_event.wait()
        finally:
            try:
                await self._shutdown()
            except BaseException as exc:
                self._shutdown_error = exc
                raise
            finally:
                self._done.set()

    async def stop(self) -> None:
        """Stop polling, let in-flight tasks finish (up to ``shutdown_timeout``), deregister."""
        self._stop_requested = True
        if self._stop_event is None or self._done is None:
            return
        self._stop_event.set()
        await self._done.wait()
        if self._shutdown_error is not None:
            raise self._shutdown_error

    async def run_until(
        self, *, workflow_id: str, timeout: float = 60.0, poll_interval: float = 0.5
    ) -> WorkflowExecution:
        """Run the worker until ``workflow_id`` is closed; return its final description.

        Raises ``TimeoutError`` if it is still open after ``timeout`` seconds.
        """
        self._watched = workflow_id
        progress = self._progress = asyncio.Event()
        runner = asyncio.create_task(self.run())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        delay = min(0.005, poll_interval)
        try:
            while True:
                if runner.done():
                    runner.result()
                    raise RuntimeError("worker stopped before the workflow closed")
                execution = await self.client.describe_workflow(workflow_id)
                if execution.is_terminal:
                    return execution
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError(
                        f"workflow {workflow_id} still {execution.status!r} after {timeout}s"
                    )
                progress.clear()
                waiter = asyncio.ensure_future(progress.wait())
                await asyncio.wait(
                    {waiter, runner},
                    timeout=min(delay, remaining),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waiter.cancel()
                delay = min(delay * 2, poll_interval)
        finally:
            self._watched = None
            if not runner.done():
                await self.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    async def _start(self) -> None:
        info = await self.client.get_cluster_info(refresh=True)
        validate_server_compatibility(
            info, worker_protocol_version=self.client.worker_protocol_version
        )
        protocol = info.get("worker_protocol") or {}
        caps = protocol.get("server_capabilities") or {}
        query_tasks = bool(caps.get("query_tasks") is True and self._workflows)
        self._kinds = {
            "workflow": _Kind("workflow", self.max_concurrent_workflow_tasks),
            "activity": _Kind("activity", self.max_concurrent_activity_tasks),
        }
        capabilities = ["query_tasks"] if query_tasks else []
        if any(_names(getattr(d, "updates", None)) for d in self._workflows.values()):
            capabilities.append("workflow_updates")
        if self._workflows:
            # Our replayer raises WorkflowCancelled into the workflow on a cancel request,
            # so our server may cancel cooperatively (server/engine/cancellation.py).
            capabilities.append(COOPERATIVE_CANCELLATION)
        if query_tasks and any(
            _names(getattr(d, "update_validators", None)) for d in self._workflows.values()
        ):
            # Validators run before acceptance on a validation task of the query channel.
            capabilities.append(UPDATE_VALIDATION)
        ack = await self.client.register_worker(
            worker_id=self.worker_id,
            task_queue=self.task_queue,
            supported_workflow_types=list(self._workflows),
            supported_activity_types=list(self._activities),
            workflow_definition_fingerprints={
                name: _fingerprint(d) for name, d in self._workflows.items()
            },
            workflow_command_contracts={
                name: _command_contract(d) for name, d in self._workflows.items()
            },
            capabilities=capabilities,
            build_id=self.build_id,
            max_concurrent_workflow_tasks=self.max_concurrent_workflow_tasks,
            max_concurrent_activity_tasks=self.max_concurrent_activity_tasks,
            task_slots=self._task_slots(),
            process_metrics=self._process_metrics(),
        )
        self._registered = True
        interval = ack.get("heartbeat_interval_seconds")
        if isinstance(interval, int) and interval > 0:
            self._heartbeat_interval = float(interval)
        log.info(
            "worker %s registered on %s (workflows=%s activities=%s)",
            self.worker_id,
            self.task_queue,
            sorted(self._workflows),
            sorted(self._activities),
        )
        self._loops.append(asyncio.create_task(self._heartbeat_loop()))
        if self._workflows:
            kind = self._kinds["workflow"]
            for _ in range(min(_MAX_POLLERS, kind.size)):
                self._loops.append(
                    asyncio.create_task(
                        self._poll_loop(kind, self._poll_workflow, self._handle_workflow_task)
                    )
                )
        if self._activities:
            kind = self._kinds["activity"]
            self._executor = ThreadPoolExecutor(
                max_workers=kind.size, thread_name_prefix=f"dw-activity-{self.worker_id}"
            )
            for _ in range(min(_MAX_POLLERS, kind.size)):
                self._loops.append(
                    asyncio.create_task(
                        self._poll_loop(kind, self._poll_activity, self._handle_activity_task)
                    )
                )
        if query_tasks:
            kind = self._kinds["query"] = _Kind("query", self.max_concurrent_workflow_tasks)
            self._loops.append(
                asyncio.create_task(
                    self._poll_loop(kind, self._poll_query, self._handle_query_task)
                )
            )

    async def _shutdown(self) -> None:
        for loop_task in self._loops:
            loop_task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops.clear()
        if self._inflight:
            _, pending = await asyncio.wait(set(self._inflight), timeout=self.shutdown_timeout)
            for task in pending:
                task.cancel()
            if pending:
                log.warning(
                    "worker %s cancelled %d task(s) still running at shutdown",
                    self.worker_id,
                    len(pending),
                )
                await asyncio.gather(*pending, return_exceptions=True)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        if self._registered:
            self._registered = False
            await self.client.deregister_worker_registration(self.worker_id)
            log.info("worker %s deregistered", self.worker_id)

    def _task_slots(self) -> dict[str, int]:
        wf = self._kinds.get("workflow")
        act = self._kinds.get("activity")
        return {
            "workflow_available": wf.available if wf else self.max_concurrent_workflow_tasks,
            "activity_available": act.available if act else self.max_concurrent_activity_tasks,
            "session_available": 0,
        }

    def _process_metrics(self) -> dict[str, Any]:
        return {
            "process_id": os.getpid(),
            "process_started_at": datetime.fromtimestamp(self._process_started, UTC).isoformat(),
            "process_uptime_seconds": int(time.time() - self._process_started),
        }

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_interval)
            try:
                ack = await self.client.heartbeat_worker(
                    worker_id=self.worker_id,
                    task_slots=self._task_slots(),
                    process_metrics=self._process_metrics(),
                )
            except Exception as exc:
                log.warning("worker heartbeat failed: %s", exc)
                continue
            interval = ack.get("heartbeat_interval_seconds")
            if isinstance(interval, int) and interval > 0:
                self._heartbeat_interval = float(interval)

    # ----------------------------------------------------------------- polling

    async def _poll_workflow(self) -> dict[str, Any] | None:
        return await self.client.poll_workflow_task(
            worker_id=self.worker_id,
            task_queue=self.task_queue,
            timeout=self.poll_timeout,
            build_id=self.build_id,
        )

    async def _poll_activity(self) -> dict[str, Any] | None:
        return await self.client.poll_activity_task(
            worker_id=self.worker_id,
            task_queue=self.task_queue,
            timeout=self.poll_timeout,
            build_id=self.build_id,
        )

    async def _poll_query(self) -> dict[str, Any] | None:
        return await self.client.poll_query_task(
            worker_id=self.worker_id,
            task_queue=self.task_queue,
            timeout=self.poll_timeout,
            build_id=self.build_id,
        )

    async def _poll_loop(
        self,
        kind: _Kind,
        poll: Callable[[], Any],
        handle: Callable[[dict[str, Any]], Any],
    ) -> None:
        backoff = 0.0
        while True:
            await kind.slots.acquire()
            started = time.perf_counter()
            try:
                task = await poll()
            except BaseException as exc:
                kind.slots.release()
                if not isinstance(exc, Exception):
                    raise
                raise_if_cancelling(exc)
                self._poll_metric(kind.name, "error", started)
                backoff = min(30.0, max(0.5, backoff * 2))
                log.warning("%s poll failed (retrying in %.1fs): %s", kind.name, backoff, exc)
                await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
                continue
            backoff = 0.0
            if task is None:
                kind.slots.release()
                self._poll_metric(kind.name, "empty", started)
                if time.perf_counter() - started < 0.01:
                    await asyncio.sleep(0.05)  # a probe-only server must not make us spin
                continue
            self._poll_metric(kind.name, "task", started)
            kind.active += 1
            job = asyncio.create_task(self._run_task(kind, handle, task))
            self._inflight.add(job)
            job.add_done_callback(self._inflight.discard)

    async def _run_task(
        self, kind: _Kind, handle: Callable[[dict[str, Any]], Any], task: dict[str, Any]
    ) -> None:
        started = time.perf_counter()
        outcome = "error"
        try:
            outcome = await handle(task)
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except Exception:
            log.exception("%s task handler crashed", kind.name)
        finally:
            kind.active -= 1
            kind.slots.release()
            if self._record_metrics:
                tags = {"task_kind": kind.name, "task_queue": self.task_queue, "outcome": outcome}
                self.metrics.increment(WORKER_TASKS, 1.0, tags)
                self.metrics.record(WORKER_TASK_DURATION, time.perf_counter() - started, tags)

    def _poll_metric(self, kind: str, outcome: str, started: float) -> None:
        if self._record_metrics:
            tags = {"task_kind": kind, "task_queue": self.task_queue, "outcome": outcome}
            self.metrics.increment(WORKER_POLLS, 1.0, tags)
            self.metrics.record(WORKER_POLL_DURATION, time.perf_counter() - started, tags)

    # ----------------------------------------------------------------- workflow tasks

    async def _handle_workflow_task(self, task: dict[str, Any]) -> str:
        try:
            return await self._workflow_task(task)
        finally:
            self._note_progress(task)

    async def _workflow_task(self, task: dict[str, Any]) -> str:
        task_id = str(task.get("task_id"))
        attempt = _int(task.get("workflow_task_attempt"), 1)
        try:
            commands = await self._run_workflow(
                WorkflowTaskInterceptorContext(self.worker_id, self.task_queue, task)
            )
        except _Abandon as exc:
            log.warning("abandoning workflow task %s: %s", task_id, exc)
            return "abandoned"
        except _TaskFailure as exc:
            await self._fail_workflow_task(
                task_id, attempt, exc.message, exc.failure_type, None, exc.reason
            )
            return "failed"
        except Exception as exc:
            log.warning("workflow task %s failed: %s", task_id, exc)
            await self._fail_workflow_task(
                task_id,
                attempt,
                _trim(str(exc) or type(exc).__name__, _MESSAGE_LIMIT),
                type(exc).__name__,
                _stack(exc),
            )
            return "failed"
        if not commands:
            await self._fail_workflow_task(
                task_id, attempt, WAITING_FOR_HISTORY["message"], WAITING_FOR_HISTORY["type"]
            )
            return "waiting"
        return await self._complete_workflow_task(task_id, attempt, commands)

    def _note_progress(self, task: Mapping[str, Any]) -> None:
        if self._progress is not None and task.get("workflow_id") == self._watched:
            self._progress.set()

    async def _execute_workflow_task(
        self, context: WorkflowTaskInterceptorContext
    ) -> list[dict[str, Any]] | None:
        task = context.task
        workflow_type = str(task.get("workflow_type") or "")
        definition = self._workflows.get(workflow_type)
        if definition is None:
            raise _TaskFailure(
                f"no workflow registered for type '{workflow_type}'", "UnknownWorkflowType"
            )
        try:
            _check_codec(task, "arguments")
            start_input = serializer.decode_arguments(task.get("arguments"))
        except ValueError as exc:
            raise _TaskFailure(
                f"cannot decode workflow start input with codec {task.get('payload_codec')!r}: {exc}",
                "WorkflowPayloadDecodeError",
            ) from exc
        history = await self._full_history(task)
        replay = importlib.import_module("durable_workflow.workflow.replay")
        commands: list[dict[str, Any]] = replay.run_workflow_task(
            definition.cls,
            history_events=history,
            start_input=start_input,
            workflow_id=str(task.get("workflow_id") or ""),
            run_id=str(task.get("run_id") or ""),
            workflow_type=workflow_type,
            task_queue=str(task.get("task_queue") or self.task_queue),
            update_id=task.get("workflow_update_id") or None,
        )
        return commands

    async def _full_history(self, task: Mapping[str, Any]) -> list[dict[str, Any]]:
        events = list(task.get("history_events") or [])
        token = task.get("next_history_page_token")
        seen: set[str] = set()
        while token:
            if not isinstance(token, str) or token in seen:
                raise _Abandon(f"history page token {token!r} repeated or malformed")
            seen.add(token)
            page = await self.client.workflow_task_history(
                task_id=str(task.get("task_id")),
                next_history_page_token=token,
                lease_owner=self.worker_id,
                workflow_task_attempt=_int(task.get("workflow_task_attempt"), 1),
            )
            more = page.get("history_events")
            if not isinstance(more, list):
                raise _Abandon("history page without a history_events list")
            events.extend(more)
            token = page.get("next_history_page_token")
        return events

    async def _complete_workflow_task(
        self, task_id: str, attempt: int, commands: list[dict[str, Any]]
    ) -> str:
        for retry in range(len(_COMPLETION_RETRY_DELAYS) + 1):
            try:
                await self.client.complete_workflow_task(
                    task_id=task_id,
                    lease_owner=self.worker_id,
                    workflow_task_attempt=attempt,
                    commands=commands,
                )
                return "completed"
            except (ConnectionError, TimeoutError, errors.ServerError) as exc:
                reason = getattr(exc, "reason", None)
                status = getattr(exc, "status", 500)
                if reason in _STALE_LEASE:
                    log.info(
                        "workflow task %s lease gone (%s); dropping completion", task_id, reason
                    )
                    return "stale"
                if (status >= 500 or status == 429) and retry < len(_COMPLETION_RETRY_DELAYS):
                    await asyncio.sleep(_COMPLETION_RETRY_DELAYS[retry])
                    continue
                if status >= 500 or status == 429:
                    log.error("workflow task %s completion failed: %s", task_id, exc)
                    return "error"
                error: Exception = exc
            except errors.DurableWorkflowError as exc:
                error = exc
            await self._fail_workflow_task(
                task_id,
                attempt,
                _trim(
                    f"workflow task completion failed after commands were produced: {error}",
                    _MESSAGE_LIMIT,
                ),
                type(error).__name__,
            )
            return "failed"
        return "error"

    async def _fail_workflow_task(
        self,
        task_id: str,
        attempt: int,
        message: str,
        failure_type: str,
        stack_trace: str | None = None,
        reason: str | None = None,
    ) -> None:
        try:
            await self.client.fail_workflow_task(
                task_id=task_id,
                lease_owner=self.worker_id,
                workflow_task_attempt=attempt,
                message=message,
                failure_type=failure_type,
                stack_trace=stack_trace,
                failure_reason=reason,
            )
        except Exception as exc:
            log.warning("could not report workflow task %s failure: %s", task_id, exc)

    # ----------------------------------------------------------------- activity tasks

    async def _handle_activity_task(self, task: dict[str, Any]) -> str:
        task_id = str(task.get("task_id"))
        attempt_id = str(task.get("activity_attempt_id") or task.get("attempt_id") or "")
        activity_type = str(task.get("activity_type") or "")
        definition = self._activities.get(activity_type)
        if definition is None:
            await self._fail_activity(
                task_id,
                attempt_id,
                f"no activity registered for '{activity_type}'",
                failure_type="ActivityNotRegistered",
                non_retryable=True,
            )
            return "failed"
        try:
            _check_codec(task, "arguments")
            args = serializer.decode_arguments(task.get("arguments"))
        except ValueError as exc:
            await self._fail_activity(
                task_id,
                attempt_id,
                f"cannot decode activity arguments: {exc}",
                failure_type="WorkflowPayloadDecodeError",
                non_retryable=True,
            )
            return "failed"
        info = ActivityInfo.from_task(task, worker_id=self.worker_id, task_queue=self.task_queue)

        async def send_heartbeat(details: dict[str, Any] | None) -> Mapping[str, Any]:
            return await self.client.heartbeat_activity_task(
                task_id=task_id,
                activity_attempt_id=attempt_id,
                lease_owner=self.worker_id,
                details=details,
            )

        ctx = ActivityContext(info=info, heartbeat=send_heartbeat, loop=asyncio.get_running_loop())
        token = _set_context(ctx)
        try:
            result = await self._run_activity(
                ActivityInterceptorContext(
                    self.worker_id, self.task_queue, task, activity_type, args
                )
            )
        except errors.ActivityLeaseAuthorityLost as exc:
            log.info("activity %s lost its lease (%s); not reporting", task_id, exc.reason)
            return "lease_lost"
        except errors.ActivityCancelled:
            await self._fail_activity(
                task_id,
                attempt_id,
                "activity cancelled",
                failure_type="ActivityCancelled",
                failure_class="durable_workflow.errors.ActivityCancelled",
                non_retryable=True,
            )
            return "cancelled"
        except Exception as exc:
            code = getattr(exc, "code", None)
            await self._fail_activity(
                task_id,
                attempt_id,
                _trim(str(exc) or type(exc).__name__, _MESSAGE_LIMIT),
                failure_type=type(exc).__name__,
                failure_class=_class_path(exc),
                failure_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
                stack_trace=_stack(exc),
                non_retryable=isinstance(exc, errors.NonRetryableError),
            )
            return "failed"
        finally:
            _reset_context(token)
        try:
            await self.client.complete_activity_task(
                task_id=task_id,
                activity_attempt_id=attempt_id,
                lease_owner=self.worker_id,
                result=result,
            )
        except ValueError as exc:  # the result has no Avro form, or is over the size limit
            await self._fail_activity(
                task_id,
                attempt_id,
                f"activity result cannot be sent: {exc}",
                failure_type=type(exc).__name__,
                failure_class=_class_path(exc),
                non_retryable=True,
            )
            return "failed"
        except errors.DurableWorkflowError as exc:
            log.info("activity %s completion not recorded: %s", task_id, exc)
            return "stale"
        return "completed"

    async def _execute_activity(self, context: ActivityInterceptorContext) -> Any:
        definition = self._activities[context.activity_type]
        if definition.is_async:
            return await definition.fn(*context.args)
        loop = asyncio.get_running_loop()
        # copy_context carries activity.context() into the executor thread
        snapshot = contextvars.copy_context()
        result = await loop.run_in_executor(
            self._executor, snapshot.run, definition.fn, *context.args
        )
        if inspect.isawaitable(result):
            result = await result
        return result

    async def _fail_activity(
        self,
        task_id: str,
        attempt_id: str,
        message: str,
        *,
        failure_type: str,
        failure_class: str | None = None,
        failure_code: int | None = None,
        stack_trace: str | None = None,
        non_retryable: bool = False,
    ) -> None:
        try:
            await self.client.fail_activity_task(
                task_id=task_id,
                activity_attempt_id=attempt_id,
                lease_owner=self.worker_id,
                message=message,
                failure_type=failure_type,
                failure_class=failure_class,
                failure_code=failure_code,
                stack_trace=stack_trace,
                non_retryable=non_retryable,
            )
        except Exception as exc:
            log.warning("could not report activity %s failure: %s", task_id, exc)

    # ----------------------------------------------------------------- query tasks

    async def _handle_query_task(self, task: dict[str, Any]) -> str:
        query_task_id = task.get("query_task_id")
        attempt = task.get("query_task_attempt")
        if not isinstance(query_task_id, str) or not query_task_id or _int(attempt, 0) < 1:
            log.warning("dropping malformed query task %r", query_task_id)
            return "dropped"
        assert isinstance(attempt, int)
        try:
            blob = await self._run_query(
                QueryTaskInterceptorContext(self.worker_id, self.task_queue, task)
            )
        except _TaskFailure as exc:
            await self._fail_query(
                query_task_id,
                attempt,
                exc.message,
                exc.reason or "query_rejected",
                exc.failure_type,
            )
            return "failed"
        except Exception as exc:
            await self._fail_query(
                query_task_id,
                attempt,
                _trim(str(exc) or type(exc).__name__, _MESSAGE_LIMIT),
                "query_rejected",
                type(exc).__name__,
                _stack(exc),
            )
            return "failed"
        try:
            await self.client.complete_query_task(
                query_task_id=query_task_id,
                lease_owner=self.worker_id,
                query_task_attempt=attempt,
                result=serializer.decode(blob),
                result_envelope={"codec": serializer.AVRO_CODEC, "blob": blob},
            )
        except errors.DurableWorkflowError as exc:
            log.info("query task %s completion not recorded: %s", query_task_id, exc)
            return "stale"
        return "completed"

    async def _execute_query_task(self, context: QueryTaskInterceptorContext) -> str:
        task = context.task
        workflow_type = str(task.get("workflow_type") or "")
        definition = self._workflows.get(workflow_type)
        if definition is None:
            raise _TaskFailure(
                f"no workflow registered for type '{workflow_type}'",
                "UnknownWorkflowType",
                "query_workflow_type_not_registered",
            )
        query_name = str(task.get("query_name") or "")
        if task.get("task_kind") == "update_validation":
            return self._validate_update(definition, task, query_name)
        known = _names(getattr(definition, "queries", None))
        if query_name not in known:
            raise _TaskFailure(
                f"unknown query '{query_name}'", "UnknownQuery", "rejected_unknown_query"
            )
        try:
            _check_codec(task, "workflow_arguments")
            start_input = serializer.decode_arguments(task.get("workflow_arguments"))
            query_args = serializer.decode_arguments(task.get("query_arguments"))
        except ValueError as exc:
            raise _TaskFailure(
                str(exc), "WorkflowPayloadDecodeError", "query_payload_decode_failed"
            ) from exc
        replay = importlib.import_module("durable_workflow.workflow.replay")
        try:
            value = replay.query_state(
                definition.cls,
                list(task.get("history_events") or []),
                start_input,
                query_name,
                query_args,
                workflow_id=str(task.get("workflow_id") or ""),
                run_id=str(task.get("run_id") or ""),
            )
        except errors.QueryFailed as exc:
            reason = exc.reason if exc.reason == "rejected_unknown_query" else "query_rejected"
            raise _TaskFailure(exc.message, type(exc).__name__, reason) from exc
        except (
            errors.DurableWorkflowError
        ) as exc:  # replay itself failed (non-determinism, decoding)
            raise _TaskFailure(
                str(exc), type(exc).__name__, "query_workflow_state_unavailable"
            ) from exc
        try:
            return serializer.encode(value)
        except ValueError as exc:
            raise _TaskFailure(str(exc), type(exc).__name__, "query_result_encode_failed") from exc

    def _validate_update(self, definition: Any, task: Mapping[str, Any], update_name: str) -> str:
        """Run the update's validator on the replayed state; a raise rejects the update."""
        try:
            _check_codec(task, "workflow_arguments")
            start_input = serializer.decode_arguments(task.get("workflow_arguments"))
            update_args = serializer.decode_arguments(task.get("query_arguments"))
        except ValueError as exc:
            raise _TaskFailure(
                str(exc), "WorkflowPayloadDecodeError", "query_payload_decode_failed"
            ) from exc
        replay = importlib.import_module("durable_workflow.workflow.replay")
        try:
            replay.validate_update(
                definition.cls,
                list(task.get("history_events") or []),
                start_input,
                update_name,
                update_args,
                workflow_id=str(task.get("workflow_id") or ""),
                run_id=str(task.get("run_id") or ""),
            )
        except errors.UpdateRejected as exc:
            raise _TaskFailure(str(exc), type(exc).__name__, "update_validator_rejected") from exc
        except errors.DurableWorkflowError as exc:
            raise _TaskFailure(
                str(exc), type(exc).__name__, "query_workflow_state_unavailable"
            ) from exc
        return serializer.encode(None)

    async def _fail_query(
        self,
        query_task_id: str,
        attempt: int,
        message: str,
        reason: str,
        failure_type: str | None = None,
        stack_trace: str | None = None,
    ) -> None:
        try:
            await self.client.fail_query_task(
                query_task_id=query_task_id,
                lease_owner=self.worker_id,
                query_task_attempt=attempt,
                message=message,
                reason=reason,
                failure_type=failure_type,
                stack_trace=stack_trace,
            )
        except Exception as exc:
            log.warning("could not report query task %s failure: %s", query_task_id, exc)


# --------------------------------------------------------------------------- registration details


COOPERATIVE_CANCELLATION: Final = "dw_cooperative_cancellation"
UPDATE_VALIDATION: Final = "dw_update_validation"


def _fingerprint(definition: Any) -> str:
    cls = definition.cls
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        source = f"{cls.__module__}.{cls.__qualname__}"
    return "sha256:" + hashlib.sha256(f"{definition.name}\n{source}".encode()).hexdigest()


def _command_contract(definition: Any) -> dict[str, Any]:
    contract: dict[str, Any] = {}
    for kind in ("queries", "signals", "updates"):
        names = _names(getattr(definition, kind, None))
        handlers = getattr(definition, kind, None)
        contract[kind] = names
        singular = kind[:-3] + "y" if kind == "queries" else kind[:-1]
        contract[f"{singular}_contracts"] = [
            {"name": n, "parameters": _parameters(definition.cls, handlers, n)} for n in names
        ]
    contract["update_validators"] = _names(getattr(definition, "update_validators", None))
    return contract


def _parameters(cls: type, handlers: Any, name: str) -> list[dict[str, Any]]:
    """Describe a handler's parameters (the definition maps names to method names)."""
    fn = handlers.get(name) if isinstance(handlers, Mapping) else None
    if isinstance(fn, str):
        fn = getattr(cls, fn, None)
    if not callable(fn):
        return []
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return []
    if params and params[0].name == "self":
        params = params[1:]
    out = []
    for position, p in enumerate(params):
        has_default = p.default is not inspect.Parameter.empty
        out.append(
            {
                "name": p.name,
                "position": position,
                "required": not has_default and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD),
                "variadic": p.kind is p.VAR_POSITIONAL,
                "default_available": has_default,
                "default": p.default if has_default and _jsonable(p.default) else None,
                "type": None,
                "allows_null": True,
            }
        )
    return out


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))
