"""The one background task: sleeps until the earliest due item (timer, expired lease,
retry back-off, run or activity deadline) and handles it.

Due times live in the database, so after a restart the first sweep finds everything
that fell due while the server was down. Creating an item that is due earlier than the
planned wake-up pokes the sweeper (``notify_due``); a fake clock pokes it on every jump.
When other processes share the database, items they create are not announced here:
``max_sleep`` bounds the sleep so such items are handled at most that late (several
sweepers racing is safe: the store claims due items with row locks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math

from ..store.base import StoreConflict
from .clock import Clock
from .service import Engine

log = logging.getLogger(__name__)

_MIN_SLEEP = 0.001  # wall clock vs loop clock skew: never spin on "due in -0.0002 s"
_ERROR_BACKOFF = 1.0


class Sweeper:
    def __init__(self, engine: Engine, clock: Clock, max_sleep: float | None = None) -> None:
        self._engine = engine
        self._max_sleep = max_sleep
        self._clock = clock
        self._poked = False
        self._wakeup: asyncio.Future[None] | None = None
        self._next_due = math.inf
        self._task: asyncio.Task[None] | None = None
        engine.on_due = self.notify_due
        clock.on_jump(self.poke)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="durable-workflow-sweeper")

    def notify_due(self, when: float) -> None:
        """Something new falls due at ``when``; wake early if that is before the planned wake-up."""
        if when < self._next_due:
            self._next_due = when
            self.poke()

    def poke(self) -> None:
        self._poked = True
        fut = self._wakeup
        if fut is not None and not fut.done():
            fut.set_result(None)

    async def _sleep(self, timeout: float | None) -> None:
        """Sleep until ``timeout`` passes or someone pokes (a plain future: cheap and promptly cancellable)."""
        if self._poked:
            return
        loop = asyncio.get_running_loop()
        fut = self._wakeup = loop.create_future()
        handle = None if timeout is None else loop.call_later(timeout, _resolve, fut)
        try:
            await fut
        finally:
            self._wakeup = None
            if handle is not None:
                handle.cancel()

    async def _run(self) -> None:
        while True:
            self._poked = False  # before sweeping, so a poke during the sweep is not lost
            try:
                next_due = await self._engine.sweep()
            except asyncio.CancelledError:
                raise
            except StoreConflict:  # another server took the same items first: just go again
                await asyncio.sleep(0)
                continue
            except Exception:
                log.exception("sweep failed; retrying in %.0f s", _ERROR_BACKOFF)
                next_due = self._clock.now() + _ERROR_BACKOFF
            self._next_due = math.inf if next_due is None else next_due
            if self._poked:
                await asyncio.sleep(0)  # let the event loop breathe between back-to-back sweeps
                continue
            timeout = None if next_due is None else max(_MIN_SLEEP, next_due - self._clock.now())
            if self._max_sleep is not None:
                timeout = self._max_sleep if timeout is None else min(timeout, self._max_sleep)
            await self._sleep(timeout)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
