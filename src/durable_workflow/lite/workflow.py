"""``Workflow``: durable async functions in the caller's process, checkpointed step by step.

::

    wf = Workflow("my-app")                      # SQLite file durable.db in the current directory

    @wf.task(retries=3, backoff=exponential(base=2, max=60))
    async def fetch(url: str) -> dict: ...

    @wf.workflow(id="pipeline-{source}")
    async def pipeline(source: str) -> None:
        data = await fetch(f"https://example.com/{source}")

A call of ``pipeline(...)`` is a *run*, identified by its resolved id. The run is leased to
one caller at a time (across processes); each task call inside it is a *step* whose JSON
result is checkpointed, so calling the workflow again after a crash skips the completed
steps. Calling a completed run again returns its stored result without executing anything.
Transactions per run: one to claim, one per step, one to finish.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import json
import logging
import math
import os
import re
import socket
import string
import sys
import traceback
import uuid
import weakref
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, Final, Generic, ParamSpec, TypeVar, cast, overload

from .backoff import Backoff, exponential
from .errors import (
    DefinitionError,
    DurableError,
    InvalidArgumentError,
    LeaseLostError,
    RunConflictError,
    RunIdError,
    SerializationError,
)
from .store import DEFAULT_DB, RunInfo, StepInfo, Store, store_from_url

__all__ = ["DurableFunction", "RunContext", "Task", "Workflow", "current_run"]

P = ParamSpec("P")
R = TypeVar("R")

_log = logging.getLogger("durable_workflow.lite")

Sleep = Callable[[float], Awaitable[None]]

_MISSING: Final = object()


# -- who holds a lease ---------------------------------------------------------------------

# Owners (lease tokens) of the runs this process is executing right now.
_ACTIVE_OWNERS: set[str] = set()
_IDENTITY: dict[int, str] = {}


def _identity() -> str:
    """``host|pid-namespace``: where a pid in a lease owner can be checked for liveness."""
    pid = os.getpid()
    found = _IDENTITY.get(pid)
    if found is None:
        try:
            namespace = os.readlink("/proc/self/ns/pid")
        except OSError:
            namespace = "-"
        found = _IDENTITY[pid] = f"{socket.gethostname()}|{namespace}"
    return found


def _new_owner() -> str:
    return f"{_identity()}|{os.getpid()}|{uuid.uuid4().hex}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, belongs to someone else
        return True
    try:  # a killed child its parent has not reaped yet still answers signal 0
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _owner_is_gone(owner: str) -> bool:
    """True only when certain: the owner ran on this host (same pid namespace) and is dead.

    Lets a re-run right after a crash resume at once instead of waiting out the lease.
    Owners elsewhere (or on Windows, where signal 0 would kill) wait for lease expiry.
    """
    if sys.platform == "win32":
        return False
    try:
        identity, pid_text, _ = owner.rsplit("|", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if identity != _identity():
        return False
    if pid == os.getpid():
        return owner not in _ACTIVE_OWNERS  # abandoned by this very process (e.g. cancelled)
    return not _pid_alive(pid)


class _Renewer:
    """Keeps this process's leases of one store alive: one batched renewal every lease/3."""

    def __init__(self, store: Store, lease_seconds: float) -> None:
        self._store = store
        self._lease = lease_seconds
        self._leases: dict[str, tuple[str, str]] = {}  # owner -> (app, run_id)
        self.lost: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def add(self, owner: str, app: str, run_id: str) -> None:
        self._leases[owner] = (app, run_id)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._renew())

    def remove(self, owner: str) -> None:
        self._leases.pop(owner, None)
        self.lost.discard(owner)

    async def _renew(self) -> None:
        try:
            while self._leases:
                await asyncio.sleep(self._lease / 3)
                items = [(app, run_id, owner) for owner, (app, run_id) in self._leases.items()]
                if not items:
                    break
                try:
                    held = await self._store.renew_leases(items, self._lease)
                except Exception:  # transient: the lease still has 2/3 of its time
                    _log.warning("could not renew %d run lease(s)", len(items), exc_info=True)
                    continue
                for (_, run_id, owner), ok in zip(items, held, strict=True):
                    if not ok and owner in self._leases:
                        _log.warning("lost the lease of run %r to another process", run_id)
                        self.lost.add(owner)
        finally:
            self._task = None


# -- run context ---------------------------------------------------------------------------


class RunContext:
    """The run the current task calls belong to (set by the workflow wrapper, via ContextVar)."""

    __slots__ = ("_counts", "_renewer", "completed", "owner", "run_id", "workflow", "workflow_name")

    def __init__(
        self,
        workflow: Workflow,
        workflow_name: str,
        run_id: str,
        owner: str,
        completed: dict[str, Any],
        renewer: _Renewer,
    ) -> None:
        self.workflow = workflow
        self.workflow_name = workflow_name
        self.run_id = run_id
        self.owner = owner
        self.completed = completed  # step key -> stored result, from the claim
        self._renewer = renewer
        self._counts: dict[str, int] = {}

    @property
    def app(self) -> str:
        return self.workflow.name

    def __repr__(self) -> str:
        return f"RunContext(app={self.app!r}, run_id={self.run_id!r})"

    def _step_key(self, task_name: str, step_id: object) -> str:
        if step_id is not None:
            return f"{task_name}[{step_id}]"
        # Repeated calls without step_id get their own steps, numbered in call order.
        n = self._counts.get(task_name, 0) + 1
        self._counts[task_name] = n
        return task_name if n == 1 else f"{task_name}#{n}"

    def _check_lease(self) -> None:
        if self.owner in self._renewer.lost:
            raise LeaseLostError(
                f"run {self.run_id!r} of app {self.app!r} was taken over by another process "
                "(its lease expired); this process stops executing it",
                run_id=self.run_id,
            )

    async def _save(self, step: StepInfo) -> None:
        wf = self.workflow
        if not await wf.store.save_step(wf.name, self.run_id, self.owner, step, wf.lease_seconds):
            self._renewer.lost.add(self.owner)
            self._check_lease()


_CURRENT: ContextVar[RunContext | None] = ContextVar("durable_workflow_lite_run", default=None)


def current_run() -> RunContext | None:
    """The run being executed by the calling coroutine, or ``None`` outside a workflow."""
    return _CURRENT.get()


# -- JSON ----------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    # Pydantic is not a dependency: recognise a model by its method.
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return dump(mode="json")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _to_json(value: Any, what: str, name: str, run_id: str) -> Any:
    """``value`` as it will replay: ``json.loads(json.dumps(value))``, models as dicts."""
    try:
        text = json.dumps(value, default=_json_default, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise SerializationError(
            f"{what} {name!r} in run {run_id!r} returned a {type(value).__name__} that is not "
            f"JSON-serializable ({exc}); return dicts, lists, str, int, float, bool or None "
            "(for a Pydantic model, .model_dump())",
            name=name,
            run_id=run_id,
        ) from exc
    return json.loads(text)


def _describe(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


# -- tasks ---------------------------------------------------------------------------------


class Task(Generic[P, R]):
    """An async function made durable by ``@wf.task``.

    Inside a workflow run, a call is a step: its JSON result is checkpointed, a completed
    step returns the stored result without running, failures are retried with
    ``backoff``. Outside a workflow it is the plain function (no store, no retries);
    ``step_id=`` is accepted and ignored there.
    """

    def __init__(
        self,
        fn: Callable[P, Awaitable[R]],
        workflow: Workflow,
        name: str,
        retries: int,
        backoff: Backoff,
    ) -> None:
        self.fn = fn
        self.workflow = workflow
        self.name = name
        self.retries = retries
        self.backoff = backoff
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<durable task {self.name!r} retries={self.retries}>"

    async def __call__(self, *args: Any, step_id: str | int | None = None, **kwargs: Any) -> R:
        ctx = _CURRENT.get()
        if ctx is None:
            return await self.fn(*args, **kwargs)
        if step_id is not None and (
            isinstance(step_id, bool) or not isinstance(step_id, str | int)
        ):
            raise InvalidArgumentError(
                f"step_id of task {self.name!r} must be a str or int, got {step_id!r}"
            )
        key = ctx._step_key(self.name, step_id)
        cached = ctx.completed.get(key, _MISSING)
        if cached is not _MISSING:
            return cast(R, cached)
        attempt = 0
        while True:
            attempt += 1
            ctx._check_lease()
            try:
                value = await self.fn(*args, **kwargs)
            except DurableError:
                raise  # our own errors (a nested lease loss, bad input) are not retried
            except Exception as exc:
                if attempt > self.retries:
                    await ctx._save(StepInfo(key, "failed", None, attempt, _describe(exc), 0.0))
                    raise
                delay = self._delay(attempt)
                _log.info(
                    "task %r in run %r failed (attempt %d), retrying in %.3gs: %s",
                    self.name,
                    ctx.run_id,
                    attempt,
                    delay,
                    exc,
                )
                await self.workflow._sleep(delay)
                continue
            result = _to_json(value, "task", self.name, ctx.run_id)
            await ctx._save(StepInfo(key, "completed", result, attempt, None, 0.0))
            ctx.completed[key] = result  # a repeated explicit step_id replays it
            return cast(R, result)

    def _delay(self, retry: int) -> float:
        delay = self.backoff(retry)
        if (
            isinstance(delay, bool)
            or not isinstance(delay, int | float)
            or not math.isfinite(delay)
            or delay < 0
        ):
            raise InvalidArgumentError(
                f"backoff of task {self.name!r} returned {delay!r} for retry {retry}; "
                "a backoff must return a finite number of seconds >= 0"
            )
        return float(delay)


# -- workflows -----------------------------------------------------------------------------

_FIELD_ROOT = re.compile(r"[.\[]")


class DurableFunction(Generic[P, R]):
    """An async function made the entry point of durable runs by ``@wf.workflow``."""

    def __init__(
        self, fn: Callable[P, Awaitable[R]], workflow: Workflow, name: str, id_template: str | None
    ) -> None:
        self.fn = fn
        self.workflow = workflow
        self.name = name
        self.id_template = id_template
        self._signature = inspect.signature(fn)
        self._var_kw = next(
            (p.name for p in self._signature.parameters.values() if p.kind is p.VAR_KEYWORD), None
        )
        if id_template is not None:
            self._check_template(id_template)
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<durable workflow {self.name!r} id={self.id_template!r}>"

    def _check_template(self, template: str) -> None:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
        except ValueError as exc:
            raise RunIdError(f"id template {template!r} of workflow {self.name!r}: {exc}") from None
        params = [
            p.name for p in self._signature.parameters.values() if p.kind is not p.VAR_KEYWORD
        ]
        for field in fields:
            root = _FIELD_ROOT.split(field, maxsplit=1)[0]
            if not root or root.isdigit():
                raise RunIdError(
                    f"id template {template!r} of workflow {self.name!r} uses a positional "
                    f"placeholder {{{field}}}; name a parameter instead, e.g. {{{params[0] if params else 'arg'}}}"
                )
            if root not in params and self._var_kw is None:
                raise RunIdError(
                    f"id template {template!r} of workflow {self.name!r} uses {{{root}}}, which "
                    f"is not a parameter of {self.fn.__name__}({', '.join(params)})"
                )

    def run_id_for(self, *args: Any, **kwargs: Any) -> str:
        """The run id a call with these arguments resolves to."""
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.fn.__name__}(): {exc}") from None
        bound.apply_defaults()
        values = dict(bound.arguments)
        if self._var_kw is not None:
            values.update(values.pop(self._var_kw, {}))
        if self.id_template is None:
            try:
                canonical = json.dumps(
                    values, sort_keys=True, default=_json_default, separators=(",", ":")
                )
            except (TypeError, ValueError) as exc:
                raise RunIdError(
                    f"workflow {self.name!r} has no id template and its arguments are not "
                    f"JSON ({exc}); pass @wf.workflow(id='...{{param}}...')"
                ) from None
            return f"{self.name}-{hashlib.sha256(canonical.encode()).hexdigest()[:16]}"
        try:
            run_id = self.id_template.format_map(values)
        except KeyError as exc:
            raise RunIdError(
                f"id template {self.id_template!r} of workflow {self.name!r} needs {exc.args[0]!r}, "
                f"which this call does not pass (arguments: {', '.join(values) or 'none'})"
            ) from None
        except (AttributeError, IndexError, ValueError, TypeError) as exc:
            raise RunIdError(
                f"id template {self.id_template!r} of workflow {self.name!r}: {exc}"
            ) from None
        if not run_id:
            raise RunIdError(f"id template {self.id_template!r} resolved to an empty run id")
        return run_id

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        run_id = self.run_id_for(*args, **kwargs)
        return await self.workflow._execute(self, run_id, args, kwargs)


# -- the app -------------------------------------------------------------------------------


def _positive_seconds(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InvalidArgumentError(f"{name} must be a finite number of seconds > 0, got {value!r}")
    return float(value)


class Workflow:
    """A durable app: decorators for tasks and workflows, and the store their runs live in.

    Args:
        name: the app's name; runs of different apps never mix, even in one database.
        db: store URL or path: ``"sqlite:///path.db"``, ``"path.db"``, ``"postgresql://..."``.
            Default: env ``DURABLE_DB``, else ``durable.db`` in the current directory.
        store: a :class:`Store` instance instead of ``db``.
        lease_seconds: how long a run stays leased to a process that stops renewing it
            (crashed elsewhere). A crash on this host is detected at once.
        poll_interval: longest wait between checks while another caller holds a run.
        sleep: awaited with each retry delay (inject a fake in tests).
    """

    def __init__(
        self,
        name: str,
        *,
        db: str | os.PathLike[str] | None = None,
        store: Store | None = None,
        lease_seconds: float = 30.0,
        poll_interval: float = 0.5,
        sleep: Sleep | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgumentError(f"Workflow name must be a non-empty string, got {name!r}")
        if db is not None and store is not None:
            raise InvalidArgumentError("pass db= or store= to Workflow, not both")
        if store is not None and not isinstance(store, Store):
            raise InvalidArgumentError(
                f"store must be a durable Store instance, got {type(store).__name__}"
            )
        if sleep is not None and not callable(sleep):
            raise InvalidArgumentError(f"sleep must be an async callable, got {sleep!r}")
        self.name = name
        self.store: Store = store or store_from_url(
            db if db is not None else os.environ.get("DURABLE_DB") or DEFAULT_DB
        )
        self.lease_seconds = _positive_seconds("lease_seconds", lease_seconds)
        self.poll_interval = _positive_seconds("poll_interval", poll_interval)
        self._sleep: Sleep = sleep or asyncio.sleep
        self._names: dict[str, object] = {}
        self._renewers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Renewer] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"Workflow({self.name!r}, store={self.store!r})"

    # -- decorators ----------------------------------------------------------------------

    def _register(self, kind: str, fn: object, name: str | None) -> str:
        if not inspect.iscoroutinefunction(fn):
            hint = (
                f"; did you mean @wf.{kind}(retries={fn!r})?"
                if kind == "task" and isinstance(fn, int)
                else ""
            )
            raise DefinitionError(f"@wf.{kind} needs an async def function, got {fn!r}{hint}")
        if name is None:
            qualname = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "")
            name = cast(str, qualname).replace(".<locals>", "")
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"{kind} name must be a non-empty string, got {name!r}")
        if "step_id" in inspect.signature(fn).parameters:
            raise DefinitionError(
                f"{kind} {name!r} has a parameter named 'step_id', which the durable wrapper "
                "reserves for checkpoint keys; rename it"
            )
        if name in self._names and self._names[name] is not fn:
            raise DefinitionError(
                f"app {self.name!r} already has a task or workflow named {name!r}; "
                f"two functions would share checkpoints, so pass name= to tell them apart"
            )
        self._names[name] = fn
        return name

    @overload
    def task(self, fn: Callable[P, Awaitable[R]], /) -> Task[P, R]: ...

    @overload
    def task(
        self,
        fn: None = None,
        /,
        *,
        retries: int = 0,
        backoff: Backoff | None = None,
        name: str | None = None,
    ) -> Callable[[Callable[P, Awaitable[R]]], Task[P, R]]: ...

    def task(
        self,
        fn: Callable[P, Awaitable[R]] | None = None,
        /,
        *,
        retries: int = 0,
        backoff: Backoff | None = None,
        name: str | None = None,
    ) -> Task[P, R] | Callable[[Callable[P, Awaitable[R]]], Task[P, R]]:
        """Make an async function a checkpointed, retried step: ``@wf.task`` or ``@wf.task(...)``.

        Args:
            retries: extra attempts after a failure (``retries=3``: up to 4 calls).
            backoff: delay before each retry; default ``exponential(base=2, max=60)``.
            name: the step name in the store (default: the function's qualified name).
        """
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise InvalidArgumentError(f"retries must be an int >= 0, got {retries!r}")
        if backoff is not None and not callable(backoff):
            raise InvalidArgumentError(
                f"backoff must be exponential(...), linear(...), constant(...) or a callable "
                f"taking the retry number, got {backoff!r}"
            )
        chosen = backoff or exponential()

        def decorate(f: Callable[P, Awaitable[R]]) -> Task[P, R]:
            return Task(f, self, self._register("task", f, name), retries, chosen)

        return decorate if fn is None else decorate(fn)

    @overload
    def workflow(self, fn: Callable[P, Awaitable[R]], /) -> DurableFunction[P, R]: ...

    @overload
    def workflow(
        self, fn: None = None, /, *, id: str | None = None, name: str | None = None
    ) -> Callable[[Callable[P, Awaitable[R]]], DurableFunction[P, R]]: ...

    def workflow(
        self,
        fn: Callable[P, Awaitable[R]] | None = None,
        /,
        *,
        id: str | None = None,
        name: str | None = None,
    ) -> DurableFunction[P, R] | Callable[[Callable[P, Awaitable[R]]], DurableFunction[P, R]]:
        """Make an async function the entry point of durable runs.

        Args:
            id: run id template, formatted with the call's arguments by name
                (``"pipeline-{source}"``). Default: the workflow name plus a hash of the
                arguments, so equal arguments resume the same run.
            name: the workflow name in the store (default: the function's qualified name).
        """
        if id is not None and (not isinstance(id, str) or not id):
            raise RunIdError(f"id must be a non-empty template string, got {id!r}")

        def decorate(f: Callable[P, Awaitable[R]]) -> DurableFunction[P, R]:
            return DurableFunction(f, self, self._register("workflow", f, name), id)

        return decorate if fn is None else decorate(fn)

    # -- runs ----------------------------------------------------------------------------

    async def list_runs(
        self, *, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[RunInfo]:
        """This app's runs, newest first, each with its steps and their results."""
        return await self.store.list_runs(self.name, status=status, limit=limit, offset=offset)

    async def get_run(self, run_id: str) -> RunInfo | None:
        """One run of this app with its steps, or ``None``."""
        return await self.store.get_run(self.name, run_id)

    async def close(self) -> None:
        """Close the store's connection in this event loop (it reopens on next use)."""
        await self.store.close()

    def _renewer(self) -> _Renewer:
        loop = asyncio.get_running_loop()
        renewer = self._renewers.get(loop)
        if renewer is None:
            renewer = self._renewers[loop] = _Renewer(self.store, self.lease_seconds)
        return renewer

    async def _execute(
        self,
        fn: DurableFunction[Any, R],
        run_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> R:
        owner = _new_owner()
        _ACTIVE_OWNERS.add(owner)
        try:
            wait = min(0.01, self.poll_interval)
            while True:
                claim = await self.store.claim_run(
                    self.name, run_id, fn.name, owner, self.lease_seconds, _owner_is_gone
                )
                if claim.run.workflow_name != fn.name:
                    raise RunConflictError(
                        f"run id {run_id!r} of app {self.name!r} belongs to workflow "
                        f"{claim.run.workflow_name!r}, not {fn.name!r}; give the workflows "
                        "distinct id templates",
                        run_id=run_id,
                        workflow=fn.name,
                        existing_workflow=claim.run.workflow_name,
                    )
                if claim.acquired:
                    break
                if claim.run.status == "completed":
                    return cast(R, claim.run.result)
                # Leased by a live caller (here or in another process): wait for it.
                await asyncio.sleep(wait)
                wait = min(wait * 2, self.poll_interval)
            return await self._run_claimed(fn, run_id, owner, dict(claim.completed), args, kwargs)
        finally:
            _ACTIVE_OWNERS.discard(owner)

    async def _run_claimed(
        self,
        fn: DurableFunction[Any, R],
        run_id: str,
        owner: str,
        completed: dict[str, Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> R:
        renewer = self._renewer()
        renewer.add(owner, self.name, run_id)
        ctx = RunContext(self, fn.name, run_id, owner, completed, renewer)
        token = _CURRENT.set(ctx)
        try:
            try:
                value = await fn.fn(*args, **kwargs)
                result = _to_json(value, "workflow", fn.name, run_id)
            except LeaseLostError:
                raise  # the run belongs to another process now: write nothing
            except Exception as exc:
                if not await self.store.finish_run(
                    self.name, run_id, owner, "failed", None, _describe(exc)
                ):
                    raise _lease_lost(self.name, run_id) from exc
                raise
            except BaseException:
                # Cancelled or interrupted: no outcome, the run stays resumable at once.
                try:
                    await self.store.release_run(self.name, run_id, owner)
                except BaseException:  # the loop may be going away; the lease will expire
                    _log.debug("could not release run %r", run_id, exc_info=True)
                raise
            if not await self.store.finish_run(self.name, run_id, owner, "completed", result, None):
                raise _lease_lost(self.name, run_id)
            return cast(R, result)
        finally:
            _CURRENT.reset(token)
            renewer.remove(owner)


def _lease_lost(app: str, run_id: str) -> LeaseLostError:
    return LeaseLostError(
        f"run {run_id!r} of app {app!r} was taken over by another process before it finished; "
        "its outcome was not recorded here",
        run_id=run_id,
    )
