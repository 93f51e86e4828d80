"""The workload of bench/lite_vs_python_durable.py, run unchanged by both implementations.

Only seed-004 API is used (``from durable import Workflow``), so the same file measures
this project's ``durable`` alias and python-durable, each in its own interpreter. Each
measurement starts in a fresh working directory, so each uses a fresh default database.

    python _lite_bench_workload.py SEQUENTIAL_ONE SEQUENTIAL_TEN CONCURRENT
prints one JSON object: workflows/s per scenario and the errors seen.
"""

import asyncio
import json
import os
import sys
import tempfile
import time

from durable import Workflow


def fresh_app(name):
    os.chdir(tempfile.mkdtemp(prefix="lite-bench-"))
    wf = Workflow(name)

    @wf.task
    async def step(n: int) -> int:
        return n + 1

    @wf.workflow(id="one-{n}")
    async def one(n: int) -> int:
        return await step(n)

    @wf.workflow(id="ten-{n}")
    async def ten(n: int) -> int:
        for i in range(10):
            n = await step(n, step_id=f"s{i}")
        return n

    return one, ten


async def sequential(flow, count):
    for n in range(-5, 0):  # warm-up: open and create the database
        await flow(n)
    started = time.perf_counter()
    for n in range(count):
        await flow(n)
    return count / (time.perf_counter() - started)


async def concurrent(flow, count):
    await flow(-1)
    started = time.perf_counter()
    results = await asyncio.gather(*(flow(n) for n in range(count)), return_exceptions=True)
    elapsed = time.perf_counter() - started
    errors = [r for r in results if isinstance(r, BaseException)]
    done = count - len(errors)
    kinds = sorted({f"{type(e).__name__}: {e}"[:80] for e in errors})
    return done / elapsed, len(errors), kinds


async def main():
    seq_one, seq_ten, conc = (int(a) for a in sys.argv[1:4])
    out = {}
    one, _ = fresh_app("bench-one")
    out["one_step_seq"] = await sequential(one, seq_one)
    _, ten = fresh_app("bench-ten")
    out["ten_step_seq"] = await sequential(ten, seq_ten)
    one, _ = fresh_app("bench-conc")
    out["concurrent"], out["concurrent_errors"], out["concurrent_error_kinds"] = await concurrent(one, conc)
    print(json.dumps(out))


asyncio.run(main())
