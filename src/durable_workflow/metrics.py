"""Metrics recorders: a two-method protocol, a no-op default, in-memory and Prometheus.

Metric names and their tags:

==================================================  =========  ==============================================
name                                                kind       tags
==================================================  =========  ==============================================
``durable_workflow_client_requests``                counter    method, route, plane, status_code, outcome
``durable_workflow_client_request_duration_seconds`` histogram  method, route, plane, status_code, outcome
``durable_workflow_worker_polls``                   counter    task_kind, task_queue, outcome
``durable_workflow_worker_poll_duration_seconds``   histogram  task_kind, task_queue, outcome
``durable_workflow_worker_tasks``                   counter    task_kind, task_queue, outcome
``durable_workflow_worker_task_duration_seconds``   histogram  task_kind, task_queue, outcome
==================================================  =========  ==============================================
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "CLIENT_REQUESTS",
    "CLIENT_REQUEST_DURATION",
    "WORKER_POLLS",
    "WORKER_POLL_DURATION",
    "WORKER_TASKS",
    "WORKER_TASK_DURATION",
    "InMemoryMetrics",
    "MetricsRecorder",
    "NoopMetrics",
    "PrometheusMetrics",
]

CLIENT_REQUESTS = "durable_workflow_client_requests"
CLIENT_REQUEST_DURATION = "durable_workflow_client_request_duration_seconds"
WORKER_POLLS = "durable_workflow_worker_polls"
WORKER_POLL_DURATION = "durable_workflow_worker_poll_duration_seconds"
WORKER_TASKS = "durable_workflow_worker_tasks"
WORKER_TASK_DURATION = "durable_workflow_worker_task_duration_seconds"

_CLIENT_TAGS = ("method", "route", "plane", "status_code", "outcome")
_WORKER_TAGS = ("task_kind", "task_queue", "outcome")
_TAGS: dict[str, tuple[str, ...]] = {
    CLIENT_REQUESTS: _CLIENT_TAGS,
    CLIENT_REQUEST_DURATION: _CLIENT_TAGS,
    WORKER_POLLS: _WORKER_TAGS,
    WORKER_POLL_DURATION: _WORKER_TAGS,
    WORKER_TASKS: _WORKER_TAGS,
    WORKER_TASK_DURATION: _WORKER_TAGS,
}


@runtime_checkable
class MetricsRecorder(Protocol):
    """Anything with ``increment`` (counters) and ``record`` (histograms)."""

    def increment(
        self, name: str, value: float = 1.0, tags: Mapping[str, str] | None = None
    ) -> None: ...

    def record(self, name: str, value: float, tags: Mapping[str, str] | None = None) -> None: ...


class NoopMetrics:
    """Drops everything; the default."""

    def increment(
        self, name: str, value: float = 1.0, tags: Mapping[str, str] | None = None
    ) -> None:
        return None

    def record(self, name: str, value: float, tags: Mapping[str, str] | None = None) -> None:
        return None


_Key = tuple[str, frozenset[tuple[str, str]]]


def _key(name: str, tags: Mapping[str, str] | None) -> _Key:
    return name, frozenset((tags or {}).items())


def _matches(key: _Key, name: str, tags: Mapping[str, str] | None) -> bool:
    return key[0] == name and (not tags or frozenset(tags.items()) <= key[1])


class InMemoryMetrics:
    """Keeps counters and histogram samples in memory, for tests and custom exporters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # sync activities record from executor threads
        self.counters: dict[_Key, float] = defaultdict(float)
        self.histograms: dict[_Key, list[float]] = defaultdict(list)

    def increment(
        self, name: str, value: float = 1.0, tags: Mapping[str, str] | None = None
    ) -> None:
        with self._lock:
            self.counters[_key(name, tags)] += value

    def record(self, name: str, value: float, tags: Mapping[str, str] | None = None) -> None:
        with self._lock:
            self.histograms[_key(name, tags)].append(value)

    def counter(self, name: str, tags: Mapping[str, str] | None = None) -> float:
        """Sum of a counter over every tag set that includes ``tags``."""
        with self._lock:
            return sum(v for k, v in self.counters.items() if _matches(k, name, tags))

    def samples(self, name: str, tags: Mapping[str, str] | None = None) -> list[float]:
        """All histogram samples of ``name`` whose tag set includes ``tags``."""
        with self._lock:
            out: list[float] = []
            for k, values in self.histograms.items():
                if _matches(k, name, tags):
                    out.extend(values)
            return out

    def reset(self) -> None:
        with self._lock:
            self.counters.clear()
            self.histograms.clear()


class PrometheusMetrics:
    """Exports to ``prometheus_client`` (install the ``prometheus`` extra)."""

    def __init__(self, registry: Any = None) -> None:
        try:
            import prometheus_client
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "PrometheusMetrics needs prometheus-client: "
                "pip install 'durable-workflow-py[prometheus]'"
            ) from exc
        self._prom = prometheus_client
        self._registry = registry if registry is not None else prometheus_client.REGISTRY
        self._metrics: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _metric(self, name: str, kind: str, tags: Mapping[str, str] | None) -> Any:
        metric = self._metrics.get(name)
        if metric is None:
            with self._lock:
                metric = self._metrics.get(name)
                if metric is None:
                    labels = _TAGS.get(name) or tuple(sorted(tags or {}))
                    factory = self._prom.Counter if kind == "counter" else self._prom.Histogram
                    metric = factory(name, name.replace("_", " "), labels, registry=self._registry)
                    self._metrics[name] = metric
        return metric

    def _labelled(self, metric: Any, tags: Mapping[str, str] | None) -> Any:
        names = metric._labelnames
        if not names:
            return metric
        given = tags or {}
        return metric.labels(**{n: str(given.get(n, "")) for n in names})

    def increment(
        self, name: str, value: float = 1.0, tags: Mapping[str, str] | None = None
    ) -> None:
        self._labelled(self._metric(name, "counter", tags), tags).inc(value)

    def record(self, name: str, value: float, tags: Mapping[str, str] | None = None) -> None:
        self._labelled(self._metric(name, "histogram", tags), tags).observe(value)
