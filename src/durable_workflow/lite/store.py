"""Where lite runs and their step results live: the ``Store`` interface and its back ends.

``SQLiteStore`` (the default) and ``PostgresStore`` keep runs in the server's own database
(tables ``lite_runs`` and ``lite_steps``, migration 4) through the server store's domain
verbs, so one database can hold both server workflows and lite durable functions.
Subclass :class:`Store` to keep runs anywhere else.

Within a process, every ``SQLiteStore``/``PostgresStore`` naming the same database shares
one connection per event loop, and concurrent operations are committed together: all
claims, checkpoints and finishes that are waiting when the previous commit ends go into
the next transaction (group commit). One operation is never split across transactions.
"""

from __future__ import annotations

import abc
import asyncio
import os
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

from .errors import InvalidArgumentError, StoreUnavailableError, StoreURLError

if TYPE_CHECKING:
    from ..server.store.base import Store as ServerStore
    from ..server.store.base import Transaction
    from ..server.store.rows import LiteRunRow, LiteStepRow

__all__ = [
    "DEFAULT_DB",
    "Claim",
    "PostgresStore",
    "RunInfo",
    "RunStatus",
    "SQLiteStore",
    "StepInfo",
    "Store",
    "store_from_url",
]

T = TypeVar("T")

DEFAULT_DB: Final = "sqlite:///durable.db"
"""The store used when ``Workflow`` gets neither ``db=`` nor ``store=`` (env ``DURABLE_DB`` wins)."""

RunStatus = Literal["running", "completed", "failed"]


@dataclass(frozen=True, slots=True)
class StepInfo:
    """One checkpointed task call."""

    key: str
    status: str  # "completed" or "failed"
    result: Any
    attempts: int
    error: str | None
    updated_at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "status": self.status,
            "result": self.result,
            "attempts": self.attempts,
            "error": self.error,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One run of a durable function, with its steps in the order they were written."""

    app: str
    run_id: str
    workflow_name: str
    status: str  # RunStatus
    result: Any
    error: str | None
    created_at: float
    updated_at: float
    lease_owner: str | None = None
    lease_expires_at: float | None = None
    steps: tuple[StepInfo, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, as printed by ``dw lite show``."""
        return {
            "app": self.app,
            "run_id": self.run_id,
            "workflow_name": self.workflow_name,
            "status": self.status,
            "result": self.result,
            "error": self.error,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "lease_owner": self.lease_owner,
            "lease_expires_at": self.lease_expires_at,
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass(frozen=True, slots=True)
class Claim:
    """Outcome of :meth:`Store.claim_run`.

    ``acquired``: the caller now holds the lease and must execute the run; ``completed``
    maps the step keys already done to their stored results. Otherwise ``run`` says why:
    completed (return ``run.result``), another workflow's run, or leased by a live owner.
    """

    acquired: bool
    run: RunInfo
    completed: Mapping[str, Any] = field(default_factory=dict)


OwnerIsGone = Callable[[str], bool]


class Store(abc.ABC):
    """Persistence for lite runs. Each method is one atomic operation.

    A run is executed by one lease holder at a time: ``claim_run`` takes the lease,
    ``save_step``/``renew_leases`` keep it, ``finish_run``/``release_run`` give it back.
    Every write after the claim is fenced: it only happens while ``owner`` still holds
    the lease, and returns ``False`` otherwise.
    """

    @abc.abstractmethod
    async def claim_run(
        self,
        app: str,
        run_id: str,
        workflow_name: str,
        owner: str,
        lease_seconds: float,
        owner_is_gone: OwnerIsGone,
    ) -> Claim:
        """Create the run or take its lease, atomically.

        Acquire when the run is new, or not completed, of the same workflow and
        :meth:`lease_is_free`. Acquiring sets status ``running`` and returns the
        completed steps; otherwise return the run as it is.
        """

    @abc.abstractmethod
    async def save_step(
        self, app: str, run_id: str, owner: str, step: StepInfo, lease_seconds: float
    ) -> bool:
        """Write (or overwrite) one step and extend the lease; ``False`` if not the holder."""

    @abc.abstractmethod
    async def finish_run(
        self, app: str, run_id: str, owner: str, status: RunStatus, result: Any, error: str | None
    ) -> bool:
        """Record the outcome and release the lease; ``False`` if not the holder."""

    @abc.abstractmethod
    async def release_run(self, app: str, run_id: str, owner: str) -> bool:
        """Give the lease back without an outcome (the run stays resumable)."""

    @abc.abstractmethod
    async def renew_leases(
        self, leases: Sequence[tuple[str, str, str]], lease_seconds: float
    ) -> list[bool]:
        """Extend each ``(app, run_id, owner)`` lease; ``False`` for those no longer held."""

    @abc.abstractmethod
    async def list_runs(
        self,
        app: str | None = None,
        *,
        status: str | None = None,
        run_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[RunInfo]:
        """Runs with their steps, newest first; ``None`` filters match anything."""

    async def get_run(self, app: str, run_id: str) -> RunInfo | None:
        """One run with its steps, or ``None``."""
        runs = await self.list_runs(app, run_id=run_id, limit=1)
        return runs[0] if runs else None

    async def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing
        """Release connections. The default does nothing."""

    @staticmethod
    def lease_is_free(run: RunInfo, now: float, owner_is_gone: OwnerIsGone) -> bool:
        """Whether a claim may take ``run``'s lease: none, expired, or its owner is gone."""
        if run.lease_owner is None:
            return True
        if run.lease_expires_at is not None and run.lease_expires_at <= now:
            return True
        return owner_is_gone(run.lease_owner)


# -- the server-store back ends ----------------------------------------------------------------

_Op = Callable[["Transaction"], Awaitable[Any]]


class _Shared:
    """One open server store for one URL in one event loop, with its group-commit queue."""

    def __init__(self, store: ServerStore) -> None:
        self.store = store
        self._queue: list[tuple[_Op, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def run(self, op: _Op) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((op, fut))
        if self._flusher is None:
            # Started as a task, so it runs once every operation ready right now has queued.
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        return await fut

    async def _flush(self) -> None:
        batch: list[tuple[_Op, asyncio.Future[Any]]] = []
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    results = []
                    async with self.store.transaction() as tx:
                        for op, _ in batch:
                            results.append(await op(tx))
                except Exception as exc:
                    if len(batch) == 1:
                        _settle(batch[0][1], error=exc)
                        continue
                    # One failing operation must not fail the others: replay them one by one.
                    for op, fut in batch:
                        try:
                            async with self.store.transaction() as tx:
                                result = await op(tx)
                        except Exception as one_exc:
                            _settle(fut, error=one_exc)
                        else:
                            _settle(fut, result=result)
                    continue
                for (_, fut), result in zip(batch, results, strict=True):
                    _settle(fut, result=result)
        except BaseException as exc:  # cancelled with the loop: nobody may wait forever
            for _, fut in [*batch, *self._queue]:
                _settle(fut, error=exc)
            self._queue = []
            raise
        finally:
            self._flusher = None

    async def close(self) -> None:
        while self._flusher is not None:
            await asyncio.shield(self._flusher)
        await self.store.close()


def _settle(
    fut: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None
) -> None:
    if fut.done():  # the caller was cancelled; its operation still ran (or failed) in the batch
        return
    if isinstance(error, asyncio.CancelledError):
        fut.cancel()
    elif error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(result)


# loop -> normalised URL -> the task opening (then holding) the shared store
_OPEN: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Task[_Shared]]] = (
    weakref.WeakKeyDictionary()
)


async def _open_shared(url: str) -> _Shared:
    from ..server.store import open_store

    try:
        return _Shared(await open_store(url))
    except ValueError as exc:
        # open_store's "unsupported"/"not available yet" messages quote the URL: hide its password.
        raise StoreUnavailableError(str(exc).replace(url, _redact(url))) from None
    except ImportError as exc:
        raise StoreUnavailableError(f"cannot open {_redact(url)}: {exc}") from exc
    except ConnectionError as exc:  # unreachable server; the message names the redacted URL
        raise StoreUnavailableError(str(exc)) from exc


def _redact(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return scheme + sep + rest


class _ServerBackedStore(Store):
    """Runs in the server database's ``lite_*`` tables, through the server store's verbs."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_redact(self.url)!r})"

    async def _shared(self) -> _Shared:
        loop = asyncio.get_running_loop()
        per_loop = _OPEN.setdefault(loop, {})
        opening = per_loop.get(self.url)
        if opening is None:
            opening = per_loop[self.url] = loop.create_task(_open_shared(self.url))
        try:
            # shield: one caller's cancellation must not abort the open the others await.
            return await asyncio.shield(opening)
        except BaseException:
            if opening.done() and per_loop.get(self.url) is opening:
                del per_loop[self.url]  # let the next call try again
            raise

    async def _run(self, op: _Op) -> Any:
        return await (await self._shared()).run(op)

    async def claim_run(
        self,
        app: str,
        run_id: str,
        workflow_name: str,
        owner: str,
        lease_seconds: float,
        owner_is_gone: OwnerIsGone,
    ) -> Claim:
        from ..server.store.rows import LiteRunRow

        async def op(tx: Transaction) -> Claim:
            now = time.time()
            row = await tx.get_lite_run_for_update(app, run_id)
            if row is None:
                new = LiteRunRow(
                    app,
                    run_id,
                    workflow_name,
                    "running",
                    owner,
                    now + lease_seconds,
                    None,
                    None,
                    now,
                    now,
                )
                if await tx.insert_lite_run(new):
                    return Claim(True, _run_info(new, []))
                # Another writer inserted it between our read and insert (PostgreSQL only).
                row = await tx.get_lite_run_for_update(app, run_id)
                assert row is not None
            info = _run_info(row, [])
            if (
                row.status == "completed"
                or row.workflow_name != workflow_name
                or not self.lease_is_free(info, now, owner_is_gone)
            ):
                return Claim(False, info)
            changes = {
                "status": "running",
                "lease_owner": owner,
                "lease_expires_at": now + lease_seconds,
                "updated_at": now,
            }
            await tx.update_lite_run(app, run_id, changes)
            steps = await tx.lite_steps_of(app, run_id)
            done = {s.step_key: s.result for s in steps if s.status == "completed"}
            claimed = replace(
                _run_info(row, steps),
                status="running",
                lease_owner=owner,
                lease_expires_at=now + lease_seconds,
                updated_at=now,
            )
            return Claim(True, claimed, done)

        result: Claim = await self._run(op)
        return result

    async def save_step(
        self, app: str, run_id: str, owner: str, step: StepInfo, lease_seconds: float
    ) -> bool:
        from ..server.store.rows import LiteStepRow

        async def op(tx: Transaction) -> bool:
            now = time.time()
            # Renewing the lease and fencing the write are the same statement.
            held = await tx.update_owned_lite_run(
                app, run_id, owner, {"lease_expires_at": now + lease_seconds, "updated_at": now}
            )
            if held:
                await tx.upsert_lite_step(
                    LiteStepRow(
                        app,
                        run_id,
                        step.key,
                        step.status,
                        step.result,
                        step.attempts,
                        step.error,
                        now,
                    )
                )
            return held

        held: bool = await self._run(op)
        return held

    async def finish_run(
        self, app: str, run_id: str, owner: str, status: RunStatus, result: Any, error: str | None
    ) -> bool:
        async def op(tx: Transaction) -> bool:
            changes = {
                "status": status,
                "result": result,
                "error": error,
                "lease_owner": None,
                "lease_expires_at": None,
                "updated_at": time.time(),
            }
            return await tx.update_owned_lite_run(app, run_id, owner, changes)

        held: bool = await self._run(op)
        return held

    async def release_run(self, app: str, run_id: str, owner: str) -> bool:
        async def op(tx: Transaction) -> bool:
            changes = {"lease_owner": None, "lease_expires_at": None, "updated_at": time.time()}
            return await tx.update_owned_lite_run(app, run_id, owner, changes)

        held: bool = await self._run(op)
        return held

    async def renew_leases(
        self, leases: Sequence[tuple[str, str, str]], lease_seconds: float
    ) -> list[bool]:
        async def op(tx: Transaction) -> list[bool]:
            now = time.time()
            changes = {"lease_expires_at": now + lease_seconds, "updated_at": now}
            return [await tx.update_owned_lite_run(a, r, o, changes) for a, r, o in leases]

        held: list[bool] = await self._run(op)
        return held

    async def list_runs(
        self,
        app: str | None = None,
        *,
        status: str | None = None,
        run_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[RunInfo]:
        from ..server.store.rows import LiteRunFilter

        _check_page(limit, offset)
        flt = LiteRunFilter(app=app, run_id=run_id, status=status)

        async def op(tx: Transaction) -> list[RunInfo]:
            rows = await tx.list_lite_runs(flt, offset, limit)
            return [_run_info(r, await tx.lite_steps_of(r.app, r.run_id)) for r in rows]

        runs: list[RunInfo] = await self._run(op)
        return runs

    async def close(self) -> None:
        """Close this process's shared connection to the database (in the running loop)."""
        per_loop = _OPEN.get(asyncio.get_running_loop(), {})
        opening = per_loop.pop(self.url, None)
        if opening is not None:
            try:
                shared = await opening
            except Exception:  # never opened: nothing to close
                return
            await shared.close()


def _check_page(limit: int, offset: int) -> None:
    for name, value, low in (("limit", limit, 1), ("offset", offset, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidArgumentError(f"{name} must be an int >= {low}, got {value!r}")


def _run_info(row: LiteRunRow, steps: Sequence[LiteStepRow]) -> RunInfo:
    return RunInfo(
        app=row.app,
        run_id=row.run_id,
        workflow_name=row.workflow_name,
        status=row.status,
        result=row.result,
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at,
        steps=tuple(
            StepInfo(s.step_key, s.status, s.result, s.attempts, s.error, s.updated_at)
            for s in steps
        ),
    )


class SQLiteStore(_ServerBackedStore):
    """A SQLite file (WAL, ``synchronous=FULL``): the zero-configuration default.

    Args:
        path: a file path (``"durable.db"``) or URL (``"sqlite:///durable.db"``,
            ``"sqlite:////abs/durable.db"``, ``"sqlite:///:memory:"``). Relative paths are
            resolved against the current directory when the store is created.
    """

    def __init__(self, path: str | os.PathLike[str] = "durable.db") -> None:
        super().__init__(_sqlite_url(path))


class PostgresStore(_ServerBackedStore):
    """A PostgreSQL database (``postgresql://user:pass@host/db``) via the server's store.

    Needs the ``postgres`` extra (``pip install 'durable-workflow-py[postgres]'``). Any number
    of processes may share the database; a run is leased to one of them at a time. If the
    driver is missing or the server unreachable, the first operation raises
    :class:`StoreUnavailableError`.
    """

    def __init__(self, url: str) -> None:
        if not isinstance(url, str) or url.partition("://")[0].lower() not in _POSTGRES_SCHEMES:
            raise StoreURLError(f"PostgresStore needs a postgresql://... URL, got {url!r}")
        super().__init__(url)


_POSTGRES_SCHEMES: Final = ("postgres", "postgresql")


def _sqlite_url(path: object) -> str:
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str) or not path.strip():
        raise StoreURLError(f"SQLite store needs a file path or sqlite:/// URL, got {path!r}")
    if "://" in path:
        scheme, _, rest = path.partition("://")
        if scheme.lower() != "sqlite":
            raise StoreURLError(f"SQLiteStore needs a sqlite:/// URL, got {path!r}")
        if not rest.startswith("/") or rest == "/":
            raise StoreURLError(
                f"SQLite URL must be 'sqlite:///relative.db', 'sqlite:////absolute.db' or "
                f"'sqlite:///:memory:', got {path!r}"
            )
        path = rest[1:]
    if path == ":memory:":
        return "sqlite:///:memory:"
    # Absolute, so a later chdir cannot split one app's runs over two files, and so
    # that two spellings of one file share one connection.
    return "sqlite:///" + os.path.abspath(path)


def store_from_url(url: str | os.PathLike[str]) -> Store:
    """The store named by ``url``: ``sqlite:///file.db`` (or a plain path) or ``postgresql://...``.

    Raises:
        StoreURLError: the URL is empty, malformed or has an unknown scheme.
    """
    if isinstance(url, os.PathLike):
        url = os.fspath(url)
    if not isinstance(url, str) or not url.strip():
        raise StoreURLError(f"store URL must be a non-empty string, got {url!r}")
    if "://" not in url:
        return SQLiteStore(url)
    scheme = url.partition("://")[0].lower()
    if scheme == "sqlite":
        return SQLiteStore(url)
    if scheme in _POSTGRES_SCHEMES:
        return PostgresStore(url)
    raise StoreURLError(
        f"unknown store URL scheme {scheme!r} in {_redact(url)!r}; "
        "use sqlite:///path.db, a file path, or postgresql://user:pass@host/db"
    )
