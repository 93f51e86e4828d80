from __future__ import annotations

import asyncio

from durable_workflow.server.engine.wakeups import Wakeups

KEY = ("default", "q", "workflow")


async def test_notify_wakes_one_compatible_waiter() -> None:
    hub = Wakeups()
    a = hub.park(KEY, ["billing"])
    b = hub.park(KEY, ["greeter"])
    c = hub.park(KEY, None)
    assert hub.notify(KEY, "greeter") == 1
    assert await b.wait(1) is True and not a.future.done() and not c.future.done()
    assert hub.notify(("default", "other", "workflow"), "greeter") == 0
    for w in (a, b, c):
        w.release()
    assert hub.parked_count() == 0


async def test_unconsumed_wake_is_handed_on() -> None:
    hub = Wakeups()
    first = hub.park(KEY, None)
    second = hub.park(KEY, None)
    hub.notify(KEY, "t")
    first.release()  # woken but leaving without acting on it
    assert await second.wait(1) is True


async def test_wait_times_out_and_close_answers_everyone() -> None:
    hub = Wakeups()
    w = hub.park(KEY, None)
    assert await w.wait(0.01) is False
    w.release()
    waiters = [hub.park(KEY, None) for _ in range(3)]
    hub.close()
    assert await asyncio.gather(*(x.wait(5) for x in waiters)) == [False, False, False]
    late = hub.park(KEY, None)
    assert await late.wait(5) is False
