"""Builders for history events used by the workflow-runtime tests."""

from __future__ import annotations

from typing import Any

from durable_workflow.protocol import codec

STARTED_AT = "2026-04-22T04:30:00.000000Z"


class HistoryBuilder:
    """Appends events with contiguous envelope sequences."""

    def __init__(
        self, workflow_type: str = "demo", *, args: list[Any] | None = None, **extra: Any
    ) -> None:
        self.events: list[dict[str, Any]] = []
        payload: dict[str, Any] = {"workflow_type": workflow_type, "workflow_id": "wf-1", **extra}
        if args is not None:
            payload["input"] = codec.envelope(args)
        self.add("WorkflowStarted", recorded_at=STARTED_AT, **payload)

    def add(
        self, event_type: str, *, recorded_at: str = STARTED_AT, **payload: Any
    ) -> HistoryBuilder:
        self.events.append(
            {
                "id": f"evt-{len(self.events) + 1}",
                "sequence": len(self.events) + 1,
                "event_type": event_type,
                "recorded_at": recorded_at,
                "payload": payload,
            }
        )
        return self

    def activity(
        self, seq: int, activity_type: str, result: Any = None, **meta: Any
    ) -> HistoryBuilder:
        self.add("ActivityScheduled", sequence=seq, activity_type=activity_type, **meta)
        return self.add(
            "ActivityCompleted",
            sequence=seq,
            activity_type=activity_type,
            result=codec.envelope(result),
            **meta,
        )

    def timer(self, seq: int, delay: int, **meta: Any) -> HistoryBuilder:
        self.add("TimerScheduled", sequence=seq, delay_seconds=delay, timer_id=f"tm-{seq}", **meta)
        return self.add(
            "TimerFired", sequence=seq, delay_seconds=delay, timer_id=f"tm-{seq}", **meta
        )

    def signal(self, name: str, *args: Any, **extra: Any) -> HistoryBuilder:
        return self.add(
            "SignalReceived", signal_name=name, arguments=codec.envelope(list(args)), **extra
        )


def group_meta(prefix: str, kind: str, base: int, size: int, index: int) -> dict[str, Any]:
    entry = {
        "parallel_group_id": f"{prefix}:{base}:{size}",
        "parallel_group_kind": kind,
        "parallel_group_base_sequence": base,
        "parallel_group_size": size,
        "parallel_group_index": index,
    }
    return {**entry, "parallel_group_path": [dict(entry)]}
