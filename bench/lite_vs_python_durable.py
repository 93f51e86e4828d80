"""The lite decorator API beside python-durable (the seed-004 project), same workload, same run.

    python bench/lite_vs_python_durable.py [--sequential 500] [--ten-step 100] [--concurrent 1000]
                                           [--repeat 3] [--pd-python /path/to/python3.12]

python-durable owns the ``durable`` import name and needs Python >= 3.12, so its half runs
in its own venv (``bench/.venv-python-durable``, created on first use from PyPI) as a
subprocess; this project's half runs under this interpreter with ``src/`` on the path.
Both execute ``bench/_lite_bench_workload.py`` unchanged: sequential one-step and ten-step
workflows/s, and 1,000 one-step workflows started at once. Each figure is the best of
``--repeat`` runs. Figures, never assertions.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORKLOAD = BENCH / "_lite_bench_workload.py"
VENV = BENCH / ".venv-python-durable"
PD_VERSION = "0.2.3"
# python-durable 0.2.3 imports redis at import time without depending on it.
PD_PACKAGES = [f"python-durable=={PD_VERSION}", "redis"]


def _python_312(explicit: str | None) -> str:
    candidates = [explicit] if explicit else []
    candidates += [shutil.which(n) for n in ("python3.13", "python3.12")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-9]*/bin/python3")))
    for cand in filter(None, candidates):
        probe = subprocess.run([cand, "-c", "import sys; print(sys.version_info >= (3, 12))"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return cand
    sys.exit("python-durable needs Python >= 3.12: pass --pd-python /path/to/python3.12")


def _venv_python(explicit: str | None) -> str:
    python = VENV / "bin" / "python"
    probe = [str(python), "-c", f"import importlib.metadata as m; assert m.version('python-durable') == '{PD_VERSION}'"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return str(python)
    print(f"creating {VENV.relative_to(REPO)} with python-durable {PD_VERSION} ...", file=sys.stderr)
    subprocess.run([_python_312(explicit), "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *PD_PACKAGES], check=True)
    return str(python)


def _once(python: str, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    proc = subprocess.run(
        [python, str(WORKLOAD), str(args.sequential), str(args.ten_step), str(args.concurrent)],
        capture_output=True, text=True, env=env, timeout=900,
    )
    if proc.returncode != 0:
        sys.exit(f"{python} failed:\n{proc.stderr[-2000:]}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    best = {key: max(r[key] for r in runs) for key in ("one_step_seq", "ten_step_seq", "concurrent")}
    best["concurrent_errors"] = max(r["concurrent_errors"] for r in runs)
    best["error_kinds"] = sorted({k for r in runs for k in r["concurrent_error_kinds"]})
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=500)
    parser.add_argument("--ten-step", type=int, default=100)
    parser.add_argument("--concurrent", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pd-python", default=os.environ.get("PD_PYTHON"))
    args = parser.parse_args()

    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DURABLE_DB")}
    ours_env = {**base, "PYTHONPATH": str(REPO / "src")}
    theirs_python = _venv_python(args.pd_python)
    ours_runs, theirs_runs = [], []
    for _ in range(args.repeat):  # interleaved, so both halves see the same machine load
        ours_runs.append(_once(sys.executable, ours_env, args))
        theirs_runs.append(_once(theirs_python, base, args))
    ours, theirs = _best(ours_runs), _best(theirs_runs)

    rows = [
        (f"sequential, 1 step ({args.sequential} workflows)", "one_step_seq"),
        (f"sequential, 10 steps ({args.ten_step} workflows)", "ten_step_seq"),
        (f"{args.concurrent} concurrent, 1 step", "concurrent"),
    ]
    print(f"\nworkflows/s, best of {args.repeat}; this project on Python {sys.version.split()[0]}, "
          f"python-durable {PD_VERSION} in {VENV.name}")
    print(f"{'scenario':<38} {'durable_workflow.lite':>22} {'python-durable':>15} {'ratio':>7}")
    for label, key in rows:
        ratio = ours[key] / theirs[key] if theirs[key] else float("inf")
        print(f"{label:<38} {ours[key]:>22.0f} {theirs[key]:>15.0f} {ratio:>6.1f}x")
    print(f"{'concurrent run errors (worst run)':<38} {ours['concurrent_errors']:>22} {theirs['concurrent_errors']:>15}")
    for name, best in (("durable_workflow.lite", ours), ("python-durable", theirs)):
        if best["error_kinds"]:
            print(f"  {name} errors: {'; '.join(best['error_kinds'])}")


if __name__ == "__main__":
    main()
