"""Every ```python block in README.md and docs/*.md runs, read from the files so docs cannot drift.

Each block is a complete program, run in its own empty temporary directory (so embedded-mode
``Client("sqlite:///x.db")`` writes there), in process. Top-level ``await`` is allowed.

A block opts out or changes how it runs only through an HTML comment on the lines just before
its fence:

* ``<!-- sample: skip <reason> -->``: not run (the reason is required and reported);
* ``<!-- sample: server ... -->``: run against a ``dw server start --token dev-token`` the test
  starts; the literal ``http://localhost:8080`` in the block is pointed at that server
  (the only rewrite ever made to a sample). These cases are ``e2e``: they need a process.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.processes import REPO, ServerProcess

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SERVER_URL_IN_DOCS = "http://localhost:8080"
FENCE = re.compile(r"^```(\w*)\s*$")
MARKER = re.compile(r"^<!--\s*sample:\s*(\w+)\s*(.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Sample:
    path: Path
    line: int  # 1-based line of the opening fence
    code: str
    mode: str  # "run" | "server" | "skip"
    reason: str

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def samples_in(path: Path) -> Iterator[Sample]:
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        start, lang = i, match.group(1)
        end = start + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        if end == len(lines):
            raise ValueError(f"{path}:{start + 1}: unclosed code fence")
        if lang == "python":
            mode, reason = "run", ""
            back = start - 1
            while back >= 0 and not lines[back].strip():
                back -= 1
            marker = MARKER.match(lines[back].strip()) if back >= 0 else None
            if marker:
                mode, reason = marker.group(1), marker.group(2)
                if mode not in ("skip", "server"):
                    raise ValueError(f"{path}:{back + 1}: unknown sample marker {mode!r}")
                if mode == "skip" and not reason:
                    raise ValueError(f"{path}:{back + 1}: a skipped sample needs a reason")
            yield Sample(path, start + 1, "\n".join(lines[start + 1 : end]) + "\n", mode, reason)
        i = end + 1


SAMPLES = [sample for path in DOCS for sample in samples_in(path)]


def _params() -> list[object]:
    params: list[object] = []
    for sample in SAMPLES:
        if sample.mode == "skip":
            continue
        marks = [pytest.mark.e2e] if sample.mode == "server" else []
        params.append(pytest.param(sample, id=sample.id, marks=marks))
    return params


def run_sample(sample: Sample, code: str) -> None:
    """Compile with top-level await allowed; a module that awaits runs in a fresh loop."""
    compiled = compile(code, str(sample.id), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    namespace: dict[str, object] = {"__name__": "__main__"}
    if compiled.co_flags & inspect.CO_COROUTINE:
        asyncio.run(eval(compiled, namespace))
    else:
        exec(compiled, namespace)


@pytest.fixture
def restore_workflow_registry() -> Iterator[None]:
    """Samples register workflow types process-wide; leave the registry as it was."""
    from durable_workflow.workflow import _definition

    saved = dict(_definition._REGISTRY)
    yield
    _definition._REGISTRY.clear()
    _definition._REGISTRY.update(saved)


@pytest.mark.usefixtures("restore_workflow_registry")
@pytest.mark.parametrize("sample", _params())
def test_doc_sample_runs(sample: Sample, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = sample.code
    if sample.mode == "server":
        assert SERVER_URL_IN_DOCS in code, f"{sample.id}: server sample without {SERVER_URL_IN_DOCS}"
        server = ServerProcess(db_url=f"sqlite:///{tmp_path / 'server.db'}", token="dev-token",
                               log_path=tmp_path / "server.log").start()
        try:
            run_sample(sample, code.replace(SERVER_URL_IN_DOCS, server.url))
        finally:
            server.stop()
    else:
        run_sample(sample, code)


def test_doc_samples_are_counted() -> None:
    """Report what runs and what is skipped (visible with ``-s`` / ``-rA``); keep the guide honest."""
    ran = [s for s in SAMPLES if s.mode != "skip"]
    skipped = [s for s in SAMPLES if s.mode == "skip"]
    print(f"\ndoc samples: {len(ran)} run ({sum(s.mode == 'server' for s in ran)} against a "
          f"server), {len(skipped)} skipped")
    for s in skipped:
        print(f"  skipped {s.id}: {s.reason}")
    guide = [s for s in ran if s.path.name == "guide.md"]
    assert len(guide) >= 8, f"docs/guide.md should carry the key samples, found {len(guide)}"
    readme = [s for s in ran if s.path.name == "README.md"]
    assert readme, "README.md should show at least one runnable Python sample"
