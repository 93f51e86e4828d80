"""Long-poll wake-ups: parked polls are futures keyed by (namespace, task queue, kind).

A task becoming ready wakes exactly one parked poll of its queue that can take its
type; nothing else runs. An idle poll is one future in a dict: a thousand of them
cost nothing until a task arrives.

When other processes write the same database (several servers on PostgreSQL, embedded
clients sharing a SQLite file) their tasks reach us as ``notify`` calls from the store's
listener (PostgreSQL LISTEN/NOTIFY) — or not at all (SQLite). ``recheck_seconds`` bounds
how long a parked poll trusts that: it then wakes once to look again. It is a safety net,
not the wake-up path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

Key = tuple[str, str, str]  # (namespace, task_queue, kind)


class Waiter:
    """One parked poll. ``wait`` returns True when woken for a task, False on timeout/close."""

    __slots__ = ("_consumed", "_hub", "future", "key", "owner", "types", "woken_for")

    def __init__(
        self, hub: Wakeups, key: Key, types: Collection[str] | None, owner: str | None
    ) -> None:
        self._hub = hub
        self.key = key
        self.types = types
        self.owner = owner
        self.future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._consumed = False
        self.woken_for: str | None = None

    def accepts(self, task_type: str | None) -> bool:
        return self.types is None or task_type is None or task_type in self.types

    async def wait(self, timeout: float) -> bool:
        """Sleep until woken or ``timeout`` seconds pass. A wake is consumed by the caller's next lease attempt.

        Also returns True, without a wake, after the hub's ``recheck_seconds``.
        """
        recheck = self._hub.recheck_seconds
        limit = timeout if recheck is None else min(timeout, recheck)
        if not self.future.done():
            await asyncio.wait((self.future,), timeout=max(0.0, limit))
        self._consumed = True
        if not self.future.done():
            return limit < timeout and not self._hub.closed
        return bool(not self.future.cancelled() and self.future.result())

    def release(self) -> None:
        """Unpark. A wake that arrived but will not be acted on is handed to another waiter."""
        self._hub._remove(self)
        if self.future.done():
            if not self._consumed and not self.future.cancelled() and self.future.result():
                self._hub.notify(self.key, self.woken_for)
        else:
            self.future.cancel()


class Wakeups:
    """The registry of parked polls."""

    def __init__(self, recheck_seconds: float | None = None) -> None:
        self._parked: dict[Key, dict[Waiter, None]] = {}
        self._closed = False
        self.recheck_seconds = recheck_seconds

    @property
    def closed(self) -> bool:
        return self._closed

    def park(self, key: Key, types: Collection[str] | None, owner: str | None = None) -> Waiter:
        """Register a poll *before* it looks for work, so a task made ready meanwhile is not missed."""
        waiter = Waiter(self, key, types, owner)
        if self._closed:
            waiter.future.set_result(False)
        else:
            self._parked.setdefault(key, {})[waiter] = None
        return waiter

    def notify(self, key: Key, task_type: str | None, count: int = 1) -> int:
        """Wake up to ``count`` parked polls of ``key`` that accept ``task_type``; returns how many."""
        parked = self._parked.get(key)
        if not parked:
            return 0
        woken = 0
        for waiter in list(parked):
            if woken >= count:
                break
            if waiter.accepts(task_type) and not waiter.future.done():
                del parked[waiter]
                waiter.woken_for = task_type
                waiter.future.set_result(True)
                woken += 1
        if not parked:
            self._parked.pop(key, None)
        return woken

    def notify_remote(self, key: Key | None, task_type: str | None) -> None:
        """A wake-up from another process; ``key`` None: anything may have changed, wake every poll."""
        if key is not None:
            self.notify(key, task_type)
            return
        for k in list(self._parked):
            self.notify(k, None, count=len(self._parked.get(k, ())))

    def parked_count(self, key: Key | None = None) -> int:
        if key is not None:
            return len(self._parked.get(key, ()))
        return sum(len(v) for v in self._parked.values())

    def dismiss(self, namespace: str, owner: str) -> int:
        """Answer every parked poll of worker ``owner`` as empty (it deregistered: do not lease to it)."""
        dismissed = 0
        for key, parked in list(self._parked.items()):
            if key[0] != namespace:
                continue
            for waiter in [w for w in parked if w.owner == owner]:
                del parked[waiter]
                if not waiter.future.done():
                    waiter.future.set_result(False)
                    dismissed += 1
            if not parked:
                self._parked.pop(key, None)
        return dismissed

    def close(self) -> None:
        """Answer every parked poll as empty and refuse new parking."""
        self._closed = True
        for parked in self._parked.values():
            for waiter in parked:
                if not waiter.future.done():
                    waiter.future.set_result(False)
        self._parked.clear()

    def _remove(self, waiter: Waiter) -> None:
        parked = self._parked.get(waiter.key)
        if parked is not None:
            parked.pop(waiter, None)
            if not parked:
                self._parked.pop(waiter.key, None)
