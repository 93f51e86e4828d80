"""Schedules in the SDK: spec/action/result dataclasses, :class:`ScheduleHandle`, and the
schedule methods of :class:`~durable_workflow.Client` (mixed in from :class:`ScheduleClientMixin`).

Wire shapes follow control-plane.md §2; the server fires schedules itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

__all__ = [
    "OVERLAP_POLICIES",
    "ScheduleAction",
    "ScheduleBackfillResult",
    "ScheduleClientMixin",
    "ScheduleDescription",
    "ScheduleHandle",
    "ScheduleHistoryEvent",
    "ScheduleHistoryPage",
    "ScheduleList",
    "ScheduleSpec",
    "ScheduleTriggerResult",
]

OVERLAP_POLICIES = (
    "skip",
    "buffer_one",
    "buffer_all",
    "allow_all",
    "cancel_other",
    "terminate_other",
)
_CONTROL = "control"


@dataclass
class ScheduleSpec:
    """When a schedule fires: 5-field cron expressions and/or ISO-8601 intervals, in ``timezone``.

    ``intervals`` items are ``{"every": "PT30M"}`` (optionally ``"offset"``) or plain duration
    strings, which are sent as ``{"every": ...}``.
    """

    cron_expressions: list[str] | None = None
    intervals: list[dict[str, Any] | str] | None = None
    timezone: str | None = None

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.cron_expressions is not None:
            out["cron_expressions"] = list(self.cron_expressions)
        if self.intervals is not None:
            out["intervals"] = [
                {"every": i} if isinstance(i, str) else dict(i) for i in self.intervals
            ]
        if self.timezone is not None:
            out["timezone"] = self.timezone
        return out

    @classmethod
    def from_wire(cls, data: Any) -> ScheduleSpec | None:
        if not isinstance(data, Mapping):
            return None
        return cls(data.get("cron_expressions"), data.get("intervals"), data.get("timezone"))


@dataclass
class ScheduleAction:
    """The workflow start a schedule issues on each fire; ``input`` is the argument list."""

    workflow_type: str
    task_queue: str | None = None
    input: list[Any] | None = None
    execution_timeout_seconds: int | None = None
    run_timeout_seconds: int | None = None

    @classmethod
    def from_wire(cls, data: Any) -> ScheduleAction | None:
        if not isinstance(data, Mapping) or "workflow_type" not in data:
            return None
        from durable_workflow import serializer

        raw = data.get("input")
        decoded: list[Any] | None = None
        if isinstance(raw, Mapping) and "blob" in raw:
            decoded = serializer.decode_arguments(raw)
        return cls(
            str(data["workflow_type"]),
            data.get("task_queue"),
            decoded,
            data.get("execution_timeout_seconds"),
            data.get("run_timeout_seconds"),
        )


@dataclass
class ScheduleDescription:
    """Current server view of a schedule and its recent execution state."""

    schedule_id: str
    status: str | None = None
    spec: ScheduleSpec | None = None
    action: ScheduleAction | None = None
    overlap_policy: str | None = None
    note: str | None = None
    memo: dict[str, Any] | None = None
    search_attributes: dict[str, Any] | None = None
    jitter_seconds: int | None = None
    max_runs: int | None = None
    remaining_actions: int | None = None
    fires_count: int = 0
    failures_count: int = 0
    next_fire_at: str | None = None
    last_fired_at: str | None = None
    latest_workflow_instance_id: str | None = None
    paused_at: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    info: dict[str, Any] | None = None

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ScheduleDescription:
        def obj(key: str) -> dict[str, Any] | None:
            value = data.get(key)
            return dict(value) if isinstance(value, Mapping) else None

        return cls(
            schedule_id=str(data.get("schedule_id", "")),
            status=data.get("status"),
            spec=ScheduleSpec.from_wire(data.get("spec")),
            action=ScheduleAction.from_wire(data.get("action")),
            overlap_policy=data.get("overlap_policy"),
            note=data.get("note"),
            memo=obj("memo"),
            search_attributes=obj("search_attributes"),
            jitter_seconds=data.get("jitter_seconds"),
            max_runs=data.get("max_runs"),
            remaining_actions=data.get("remaining_actions"),
            fires_count=int(data.get("fires_count") or 0),
            failures_count=int(data.get("failures_count") or 0),
            next_fire_at=data.get("next_fire_at"),
            last_fired_at=data.get("last_fired_at"),
            latest_workflow_instance_id=data.get("latest_workflow_instance_id"),
            paused_at=data.get("paused_at"),
            created_at=data.get("created_at"),
            updated_at=data.get("updated_at"),
            info=obj("info"),
        )


@dataclass
class ScheduleList:
    """One page of schedules."""

    schedules: list[ScheduleDescription]
    next_page_token: str | None = None


@dataclass
class ScheduleTriggerResult:
    """Outcome of a manual trigger: ``triggered``, ``skipped``, ``buffered`` or ``buffer_full``."""

    schedule_id: str
    outcome: str
    workflow_id: str | None = None
    run_id: str | None = None
    reason: str | None = None
    buffer_depth: int | None = None


@dataclass
class ScheduleBackfillResult:
    """Outcome of a backfill: one result per fire time in ``[start_time, end_time)``."""

    schedule_id: str
    outcome: str
    fires_attempted: int = 0
    results: list[dict[str, Any]] | None = None


@dataclass
class ScheduleHistoryEvent:
    """One audit event of a schedule (created, paused, triggered, ...)."""

    sequence: int
    event_type: str
    recorded_at: str | None = None
    workflow_instance_id: str | None = None
    workflow_run_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class ScheduleHistoryPage:
    """One page of a schedule's audit history, ascending by sequence."""

    schedule_id: str
    namespace: str | None
    events: list[ScheduleHistoryEvent]
    has_more: bool = False
    next_cursor: int | None = None


class ScheduleHandle:
    """Operations on one schedule id; no request is sent until a method is awaited."""

    def __init__(self, client: ScheduleClientMixin, schedule_id: str) -> None:
        self.client = client
        self.schedule_id = schedule_id

    def __repr__(self) -> str:
        return f"ScheduleHandle(schedule_id={self.schedule_id!r})"

    async def describe(self) -> ScheduleDescription:
        """See :meth:`Client.describe_schedule`."""
        return await self.client.describe_schedule(self.schedule_id)

    async def update(
        self,
        *,
        spec: ScheduleSpec | None = None,
        action: ScheduleAction | None = None,
        overlap_policy: str | None = None,
        jitter_seconds: int | None = None,
        max_runs: int | None = None,
        memo: Mapping[str, Any] | None = None,
        search_attributes: Mapping[str, Any] | None = None,
        note: str | None = None,
    ) -> None:
        """See :meth:`Client.update_schedule`."""
        await self.client.update_schedule(
            self.schedule_id,
            spec=spec,
            action=action,
            overlap_policy=overlap_policy,
            jitter_seconds=jitter_seconds,
            max_runs=max_runs,
            memo=memo,
            search_attributes=search_attributes,
            note=note,
        )

    async def pause(self, *, note: str | None = None) -> None:
        """See :meth:`Client.pause_schedule`."""
        await self.client.pause_schedule(self.schedule_id, note=note)

    async def resume(self, *, note: str | None = None) -> None:
        """See :meth:`Client.resume_schedule`."""
        await self.client.resume_schedule(self.schedule_id, note=note)

    async def trigger(self, *, overlap_policy: str | None = None) -> ScheduleTriggerResult:
        """See :meth:`Client.trigger_schedule`."""
        return await self.client.trigger_schedule(self.schedule_id, overlap_policy=overlap_policy)

    async def backfill(
        self, *, start_time: str, end_time: str, overlap_policy: str | None = None
    ) -> ScheduleBackfillResult:
        """See :meth:`Client.backfill_schedule`."""
        return await self.client.backfill_schedule(
            self.schedule_id,
            start_time=start_time,
            end_time=end_time,
            overlap_policy=overlap_policy,
        )

    async def delete(self) -> None:
        """See :meth:`Client.delete_schedule`."""
        await self.client.delete_schedule(self.schedule_id)

    async def history(
        self, *, limit: int | None = None, after_sequence: int | None = None
    ) -> ScheduleHistoryPage:
        """See :meth:`Client.get_schedule_history`."""
        return await self.client.get_schedule_history(
            self.schedule_id, limit=limit, after_sequence=after_sequence
        )

    def iter_history(
        self, *, limit: int | None = None, after_sequence: int | None = None
    ) -> AsyncIterator[ScheduleHistoryEvent]:
        """See :meth:`Client.iter_schedule_history`."""
        return self.client.iter_schedule_history(
            self.schedule_id, limit=limit, after_sequence=after_sequence
        )


def _check_policy(policy: str | None) -> None:
    if policy is not None and policy not in OVERLAP_POLICIES:
        raise ValueError(
            f"unknown overlap_policy {policy!r}; use one of {', '.join(OVERLAP_POLICIES)}"
        )


class ScheduleClientMixin:
    """The schedule methods of :class:`~durable_workflow.Client`."""

    if TYPE_CHECKING:
        namespace: str

        async def _call(
            self,
            plane: str,
            method: str,
            route: str,
            path_params: Mapping[str, str] | None = None,
            *,
            body: Any = None,
            params: Mapping[str, str] | None = None,
            timeout: float | None = None,
            context: str | None = None,
            operation: str | None = None,
            retry: bool = True,
        ) -> Any: ...

        def _arguments(self, args: Sequence[Any] | None, what: str) -> dict[str, str]: ...

    def _action_wire(self, action: ScheduleAction) -> dict[str, Any]:
        out: dict[str, Any] = {"workflow_type": action.workflow_type}
        if action.task_queue is not None:
            out["task_queue"] = action.task_queue
        if action.input is not None:
            out["input"] = self._arguments(action.input, "schedule action input")
        if action.execution_timeout_seconds is not None:
            out["execution_timeout_seconds"] = action.execution_timeout_seconds
        if action.run_timeout_seconds is not None:
            out["run_timeout_seconds"] = action.run_timeout_seconds
        return out

    def get_schedule_handle(self, schedule_id: str) -> ScheduleHandle:
        """Bind a handle to an existing schedule; no request is sent."""
        return ScheduleHandle(self, schedule_id)

    async def create_schedule(
        self,
        *,
        schedule_id: str | None = None,
        spec: ScheduleSpec,
        action: ScheduleAction,
        overlap_policy: str | None = None,
        jitter_seconds: int | None = None,
        max_runs: int | None = None,
        memo: Mapping[str, Any] | None = None,
        search_attributes: Mapping[str, Any] | None = None,
        paused: bool = False,
        note: str | None = None,
    ) -> ScheduleHandle:
        """Create a schedule and return its handle.

        Raises :class:`~durable_workflow.errors.ScheduleAlreadyExists` for a taken id and
        :class:`~durable_workflow.errors.InvalidArgument` for a bad spec (cron, time zone, interval).
        """
        _check_policy(overlap_policy)
        body: dict[str, Any] = {"spec": spec.to_wire(), "action": self._action_wire(action)}
        if schedule_id is not None:
            body["schedule_id"] = schedule_id
        body.update(
            _optional_fields(overlap_policy, jitter_seconds, max_runs, note, memo, search_attributes)
        )
        if paused:
            body["paused"] = True
        data = await self._call(_CONTROL, "POST", "/schedules", body=body, context=schedule_id)
        sid = data.get("schedule_id") if isinstance(data, dict) else None
        return ScheduleHandle(self, str(sid or schedule_id))

    async def list_schedules(
        self,
        *,
        status: str | None = None,
        workflow_type: str | None = None,
        query: str | None = None,
        page_size: int | None = None,
        next_page_token: str | None = None,
    ) -> ScheduleList:
        """One page of schedules in this namespace (deleted ones only with ``status="deleted"``)."""
        params = {
            k: str(v)
            for k, v in (
                ("status", status),
                ("workflow_type", workflow_type),
                ("query", query),
                ("page_size", page_size),
                ("next_page_token", next_page_token),
            )
            if v is not None
        }
        data = await self._call(
            _CONTROL, "GET", "/schedules", params=params, operation="list_schedules"
        )
        items = data.get("schedules") if isinstance(data, dict) else None
        return ScheduleList(
            [ScheduleDescription.from_wire(i) for i in items or [] if isinstance(i, Mapping)],
            data.get("next_page_token") if isinstance(data, dict) else None,
        )

    async def describe_schedule(self, schedule_id: str) -> ScheduleDescription:
        """Status, spec, action, next fire and counters; ``ScheduleNotFound`` if unknown."""
        data = await self._call(
            _CONTROL, "GET", "/schedules/{id}", {"id": schedule_id}, context=schedule_id
        )
        return ScheduleDescription.from_wire(data if isinstance(data, dict) else {})

    async def update_schedule(
        self,
        schedule_id: str,
        *,
        spec: ScheduleSpec | None = None,
        action: ScheduleAction | None = None,
        overlap_policy: str | None = None,
        jitter_seconds: int | None = None,
        max_runs: int | None = None,
        memo: Mapping[str, Any] | None = None,
        search_attributes: Mapping[str, Any] | None = None,
        note: str | None = None,
    ) -> None:
        """Change the given fields; ``None`` leaves a field as it is."""
        _check_policy(overlap_policy)
        body: dict[str, Any] = {}
        if spec is not None:
            body["spec"] = spec.to_wire()
        if action is not None:
            body["action"] = self._action_wire(action)
        body.update(
            _optional_fields(overlap_policy, jitter_seconds, max_runs, note, memo, search_attributes)
        )
        await self._call(
            _CONTROL, "PUT", "/schedules/{id}", {"id": schedule_id}, body=body, context=schedule_id
        )

    async def pause_schedule(self, schedule_id: str, *, note: str | None = None) -> None:
        """Stop automatic fires until resumed; running workflows are not touched."""
        body = {} if note is None else {"note": note}
        await self._call(
            _CONTROL,
            "POST",
            "/schedules/{id}/pause",
            {"id": schedule_id},
            body=body,
            context=schedule_id,
        )

    async def resume_schedule(self, schedule_id: str, *, note: str | None = None) -> None:
        """Restart automatic fires from now on (fires missed while paused are not made up)."""
        body = {} if note is None else {"note": note}
        await self._call(
            _CONTROL,
            "POST",
            "/schedules/{id}/resume",
            {"id": schedule_id},
            body=body,
            context=schedule_id,
        )

    async def trigger_schedule(
        self, schedule_id: str, *, overlap_policy: str | None = None
    ) -> ScheduleTriggerResult:
        """Fire now; ``overlap_policy`` overrides the schedule's policy for this fire only."""
        _check_policy(overlap_policy)
        body = {} if overlap_policy is None else {"overlap_policy": overlap_policy}
        data = await self._call(
            _CONTROL,
            "POST",
            "/schedules/{id}/trigger",
            {"id": schedule_id},
            body=body,
            context=schedule_id,
        )
        d = data if isinstance(data, dict) else {}
        return ScheduleTriggerResult(
            str(d.get("schedule_id") or schedule_id),
            str(d.get("outcome") or ""),
            d.get("workflow_id"),
            d.get("run_id"),
            d.get("reason"),
            d.get("buffer_depth"),
        )

    async def backfill_schedule(
        self,
        schedule_id: str,
        *,
        start_time: str,
        end_time: str,
        overlap_policy: str | None = None,
    ) -> ScheduleBackfillResult:
        """Fire once per occurrence in ``[start_time, end_time)`` (ISO-8601 strings)."""
        _check_policy(overlap_policy)
        body: dict[str, Any] = {"start_time": start_time, "end_time": end_time}
        if overlap_policy is not None:
            body["overlap_policy"] = overlap_policy
        data = await self._call(
            _CONTROL,
            "POST",
            "/schedules/{id}/backfill",
            {"id": schedule_id},
            body=body,
            context=schedule_id,
        )
        d = data if isinstance(data, dict) else {}
        results = d.get("results")
        return ScheduleBackfillResult(
            str(d.get("schedule_id") or schedule_id),
            str(d.get("outcome") or ""),
            int(d.get("fires_attempted") or 0),
            list(results) if isinstance(results, list) else None,
        )

    async def delete_schedule(self, schedule_id: str) -> None:
        """Delete the schedule; its audit history stays readable, its workflows keep running."""
        await self._call(
            _CONTROL, "DELETE", "/schedules/{id}", {"id": schedule_id}, context=schedule_id
        )

    async def get_schedule_history(
        self, schedule_id: str, *, limit: int | None = None, after_sequence: int | None = None
    ) -> ScheduleHistoryPage:
        """One page of the schedule's audit history (``limit`` clamped 1-500 by the server)."""
        params: dict[str, str] = {}
        if limit is not None:
            params["limit"] = str(limit)
        if after_sequence is not None:
            if after_sequence < 0:
                raise ValueError("after_sequence must be >= 0")
            params["after_sequence"] = str(after_sequence)
        data = await self._call(
            _CONTROL,
            "GET",
            "/schedules/{id}/history",
            {"id": schedule_id},
            params=params,
            context=schedule_id,
        )
        d = data if isinstance(data, dict) else {}
        events = [
            ScheduleHistoryEvent(
                int(e.get("sequence") or 0),
                str(e.get("event_type") or ""),
                e.get("recorded_at"),
                e.get("workflow_instance_id"),
                e.get("workflow_run_id"),
                dict(e.get("payload") or {}),
            )
            for e in d.get("events") or []
            if isinstance(e, Mapping)
        ]
        cursor = d.get("next_cursor")
        return ScheduleHistoryPage(
            str(d.get("schedule_id") or schedule_id),
            d.get("namespace"),
            events,
            bool(d.get("has_more")),
            int(cursor) if cursor is not None else None,
        )

    async def iter_schedule_history(
        self, schedule_id: str, *, limit: int | None = None, after_sequence: int | None = None
    ) -> AsyncIterator[ScheduleHistoryEvent]:
        """Every audit event, paging until the server reports no more."""
        cursor = after_sequence
        while True:
            page = await self.get_schedule_history(schedule_id, limit=limit, after_sequence=cursor)
            for event in page.events:
                yield event
            if not page.has_more or page.next_cursor is None:
                return
            cursor = page.next_cursor


def _optional_fields(
    overlap_policy: str | None,
    jitter_seconds: int | None,
    max_runs: int | None,
    note: str | None,
    memo: Mapping[str, Any] | None,
    search_attributes: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The schedule fields a create or update request sends only when the caller set them."""
    out: dict[str, Any] = {
        key: value
        for key, value in (
            ("overlap_policy", overlap_policy),
            ("jitter_seconds", jitter_seconds),
            ("max_runs", max_runs),
            ("note", note),
        )
        if value is not None
    }
    if memo is not None:
        out["memo"] = dict(memo)
    if search_attributes is not None:
        out["search_attributes"] = dict(search_attributes)
    return out
