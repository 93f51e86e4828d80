"""Serializer adaptation, metrics recorders, interceptor chaining, public exports."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

import pytest

import durable_workflow
from durable_workflow import serializer
from durable_workflow.interceptors import (
    PassthroughWorkerInterceptor,
    WorkflowTaskInterceptorContext,
    chain,
)
from durable_workflow.metrics import InMemoryMetrics, NoopMetrics, PrometheusMetrics


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    when: dt.datetime
    tags: tuple[str, ...] = ()


class Model:
    def model_dump(self) -> dict[str, Any]:
        return {"id": uuid.UUID(int=1), "price": Decimal("1.50")}


def test_to_avro_payload_value_adapts_common_types() -> None:
    value = {
        "point": Point(1, dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), ("a", "b")),
        "model": Model(),
        "color": Color.RED,
        "day": dt.date(2026, 1, 2),
        "set": {3, 1, 2},
        Color.RED: b"x",
    }
    assert serializer.to_avro_payload_value(value) == {
        "point": {"x": 1, "when": "2026-01-02T03:04:05+00:00", "tags": ["a", "b"]},
        "model": {"id": "00000000-0000-0000-0000-000000000001", "price": "1.50"},
        "color": "red",
        "day": "2026-01-02",
        "set": [1, 2, 3],
        "red": b"x",
    }
    round_trip = serializer.decode_envelope(
        serializer.envelope(serializer.to_avro_payload_value(value))
    )
    assert round_trip["point"]["x"] == 1


@pytest.mark.parametrize(
    ("value", "text"),
    [(object(), r"object at \$"), ({1: 2}, "key"), ({"a": [object()]}, r"\$\.a\[0\]")],
)
def test_to_avro_payload_value_rejects(value: Any, text: str) -> None:
    with pytest.raises(TypeError, match=text):
        serializer.to_avro_payload_value(value)


def test_envelope_errors_mention_the_adapter() -> None:
    with pytest.raises(ValueError, match="to_avro_payload_value"):
        serializer.envelope([Point(1, dt.datetime(2026, 1, 1))])


def test_decode_arguments_shapes() -> None:
    assert serializer.decode_arguments(None) == []
    assert serializer.decode_arguments({"codec": "avro", "blob": None}) == []
    assert serializer.decode_arguments(serializer.envelope(["a", 1])) == ["a", 1]
    assert serializer.decode_arguments(serializer.envelope("solo")) == ["solo"]
    assert serializer.decode_arguments(serializer.encode([1])) == [1]
    with pytest.raises(ValueError, match="unsupported_payload_codec"):
        serializer.decode_arguments({"codec": "json", "blob": "[]"})


def test_in_memory_metrics() -> None:
    m = InMemoryMetrics()
    m.increment("c", tags={"a": "1", "b": "x"})
    m.increment("c", 2, tags={"a": "2"})
    m.record("h", 0.5, tags={"a": "1"})
    assert m.counter("c") == 3 and m.counter("c", {"a": "1"}) == 1
    assert m.samples("h", {"a": "1"}) == [0.5] and m.samples("h", {"a": "9"}) == []
    NoopMetrics().increment("c")


def test_prometheus_metrics() -> None:
    prometheus_client = pytest.importorskip("prometheus_client")
    registry = prometheus_client.CollectorRegistry()
    m = PrometheusMetrics(registry=registry)
    tags = {"task_kind": "activity", "task_queue": "q", "outcome": "completed"}
    m.increment("durable_workflow_worker_tasks", 1.0, tags)
    m.record("durable_workflow_worker_task_duration_seconds", 0.25, tags)
    assert registry.get_sample_value("durable_workflow_worker_tasks_total", tags) == 1.0
    assert (
        registry.get_sample_value("durable_workflow_worker_task_duration_seconds_sum", tags) == 0.25
    )


async def test_interceptors_run_first_outermost() -> None:
    order: list[str] = []

    class Tag(PassthroughWorkerInterceptor):
        def __init__(self, name: str) -> None:
            self.name = name

        async def execute_workflow_task(self, context: Any, next: Any) -> Any:
            order.append(f"{self.name}>")
            result = await next(context)
            order.append(f"<{self.name}")
            return result

    async def terminal(context: WorkflowTaskInterceptorContext) -> list[dict[str, Any]]:
        order.append("run")
        return [{"type": "complete_workflow"}]

    handler = chain([Tag("a"), Tag("b")], "execute_workflow_task", terminal)
    assert await handler(WorkflowTaskInterceptorContext("w", "q", {})) == [
        {"type": "complete_workflow"}
    ]
    assert order == ["a>", "b>", "run", "<b", "<a"]


def test_public_exports_resolve() -> None:
    for name in durable_workflow.__all__:
        assert getattr(durable_workflow, name) is not None, name
    assert durable_workflow.__all__ == sorted(
        durable_workflow.__all__, key=lambda n: (n[0].islower(), n)
    )


def test_importing_the_sdk_does_not_load_the_server() -> None:
    import subprocess
    import sys

    code = "import sys, durable_workflow; print(any(m.startswith('durable_workflow.server') for m in sys.modules))"
    assert (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "False"
    )
