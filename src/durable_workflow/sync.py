"""A blocking :class:`Client` that mirrors the async :class:`durable_workflow.Client`.

Every method of the async client is available with the same name and arguments and returns the
same value, without ``await``. Handles (``WorkflowHandle``, ``ScheduleHandle``) come back as
blocking proxies; async iterators (``iter_schedule_history``) as plain iterators.

The async client lives on a private event loop in a background thread, so this works from a
plain script, a notebook, and from a thread whose own event loop is already running (where
``asyncio.run`` would fail). Close it with :meth:`Client.close` or a ``with`` block.

Example::

    from durable_workflow.sync import Client

    with Client("http://localhost:8080", token="secret") as client:
        handle = client.start_workflow(workflow_type="greeter", task_queue="default",
                                       workflow_id="greet-1", input=["world"])
        print(client.describe_workflow("greet-1").status)
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from types import TracebackType
from typing import Any, TypeVar

from durable_workflow import client as _client
from durable_workflow import schedules as _schedules

__all__ = ["Client", "SyncHandle"]

T = TypeVar("T")


class _LoopThread:
    """One event loop running forever in a daemon thread; coroutines are submitted to it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.call_soon(ready.set)
            self.loop.run_forever()

        self.thread = threading.Thread(target=main, name="durable-workflow-sync", daemon=True)
        self.thread.start()
        ready.wait()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError("a sync Client method was called from inside its own loop thread")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def iterate(self, agen: AsyncIterator[Any]) -> Iterator[Any]:
        while True:
            try:
                yield self.run(agen.__anext__())  # type: ignore[arg-type]
            except StopAsyncIteration:
                return

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class _Blocking:
    """Proxy an async object: coroutine methods block, async iterators become iterators."""

    def __init__(self, target: Any, runner: _LoopThread) -> None:
        self._target = target
        self._runner = runner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if inspect.iscoroutinefunction(attr):
            return self._blocking(attr)
        if inspect.isasyncgenfunction(attr):
            return lambda *a, **kw: self._runner.iterate(attr(*a, **kw))
        if callable(attr) and name.startswith(("get_", "iter_")):
            return lambda *a, **kw: self._wrap(attr(*a, **kw))
        return attr

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self._target)) | set(super().__dir__()))

    def _blocking(self, fn: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            return self._wrap(self._runner.run(fn(*args, **kwargs)))

        call.__name__ = getattr(fn, "__name__", "call")
        call.__doc__ = fn.__doc__
        return call

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, (_client.WorkflowHandle, _schedules.ScheduleHandle)):
            return SyncHandle(value, self._runner)
        if isinstance(value, AsyncIterator):
            return self._runner.iterate(value)
        return value


class SyncHandle(_Blocking):
    """A blocking view of a ``WorkflowHandle`` or ``ScheduleHandle``."""

    def __repr__(self) -> str:
        return f"SyncHandle({self._target!r})"


class Client(_Blocking):
    """Blocking twin of :class:`durable_workflow.Client`; same constructor arguments."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        runner = _LoopThread()

        async def make() -> _client.Client:
            # Built on the private loop: transports bind to the loop they are created on.
            return _client.Client(base_url, **kwargs)

        try:
            target = runner.run(make())
        except BaseException:
            runner.stop()
            raise
        super().__init__(target, runner)
        self._closed = False

    @property
    def async_client(self) -> _client.Client:
        """The underlying async client (use it only on :attr:`loop`)."""
        client: _client.Client = self._target
        return client

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._runner.loop

    def close(self) -> None:
        """Close the async client and stop the private loop. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._runner.run(self._target.aclose())
        finally:
            self._runner.stop()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _blocking_method(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def method(self: Client, *args: Any, **kwargs: Any) -> Any:
        return self._wrap(self._runner.run(getattr(self._target, name)(*args, **kwargs)))

    return method


# Real methods (not only ``__getattr__``) so ``help()``, IDEs and ``inspect.signature`` show the
# documented surface: each one has the signature of the async method it blocks on.
for _name, _fn in inspect.getmembers(_client.Client, inspect.iscoroutinefunction):
    if not _name.startswith("_") and _name != "aclose":
        setattr(Client, _name, _blocking_method(_name, _fn))
Client.__signature__ = inspect.signature(_client.Client)  # type: ignore[attr-defined]
del _name, _fn
