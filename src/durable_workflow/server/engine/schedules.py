"""Schedules (semantics §14): spec evaluation, overlap policies, trigger, backfill, audit history,
and the sweeper step that fires due schedules.

Exactly once per fire time, with any number of server processes: the sweeper reads a due
schedule, then moves ``next_fire_at`` on with a conditional update keyed by the value it
read (``claim_schedule_fire``) and starts the workflow in the same transaction. A process
that lost the race updates zero rows and starts nothing.

Missed fires (server down for several periods) are caught up with one fire, not one per
missed period: the next fire time is computed from ``max(fired occurrence, now)``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from ..store.base import Transaction
from ..store.control_rows import ScheduleEventRow, ScheduleFilter, ScheduleRow
from ..store.rows import WorkflowRow
from .clock import rfc3339
from .durations import DurationError, parse_duration
from .errors import Conflict, InvalidArgument, NotFound
from .ids import ulid
from .runctx import Effects, create_run

if TYPE_CHECKING:
    from .service import Engine

__all__ = [
    "OVERLAP_POLICIES",
    "ScheduleAlreadyExists",
    "ScheduleNotFound",
    "ScheduleService",
    "ScheduleSpec",
    "parse_spec",
]

OVERLAP_POLICIES = (
    "skip",
    "buffer_one",
    "buffer_all",
    "allow_all",
    "cancel_other",
    "terminate_other",
)
BUFFER_RECHECK_SECONDS = (
    1.0  # how often a schedule with buffered fires looks at its running workflow
)
MAX_BACKFILL_FIRES = 1000


class ScheduleNotFound(NotFound):
    reason = "schedule_not_found"


class ScheduleAlreadyExists(Conflict):
    reason = "schedule_already_exists"


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """A validated spec: cron expressions in ``timezone`` and fixed intervals (seconds)."""

    cron_expressions: tuple[str, ...]
    intervals: tuple[tuple[float, float], ...]  # (every, offset)
    timezone: ZoneInfo

    def next_after(self, after: float) -> float | None:
        """The earliest occurrence strictly after ``after`` across all rules."""
        best: float | None = None
        for every, offset in self.intervals:
            k = (after - offset) // every + 1
            t = offset + k * every
            if t <= after:  # float rounding at an exact multiple
                t += every
            best = t if best is None else min(best, t)
        if self.cron_expressions:
            start = datetime.fromtimestamp(after, self.timezone)
            for expr in self.cron_expressions:
                t = croniter(expr, start).get_next(float)
                best = t if best is None else min(best, t)
        return best

    def occurrences(self, start: float, end: float) -> Iterator[float]:
        """Every occurrence in ``[start, end)``."""
        t = self.next_after(start - 1e-6)
        while t is not None and t < end:
            yield t
            t = self.next_after(t)


def parse_spec(spec: Any, field: str = "spec") -> ScheduleSpec:
    """Validate a wire spec; :class:`InvalidArgument` names each bad part."""
    errors: dict[str, list[str]] = {}
    if not isinstance(spec, dict):
        raise InvalidArgument(f"{field} must be an object", {field: ["must be an object"]})
    unknown = set(spec) - {"cron_expressions", "intervals", "timezone", "calendars", "skip"}
    for key in sorted(unknown):
        errors[f"{field}.{key}"] = ["is not a supported field"]
    crons: list[str] = []
    raw_crons = spec.get("cron_expressions") or []
    if not isinstance(raw_crons, list):
        errors[f"{field}.cron_expressions"] = ["must be a list of strings"]
        raw_crons = []
    for i, expr in enumerate(raw_crons):
        name = f"{field}.cron_expressions.{i}"
        if not isinstance(expr, str) or len(expr.split()) != 5:
            errors[name] = [
                f"{expr!r} is not a 5-field cron expression (minute hour day month weekday)"
            ]
        elif not croniter.is_valid(expr):
            errors[name] = [f"{expr!r} is not a valid cron expression"]
        else:
            crons.append(expr)
    intervals: list[tuple[float, float]] = []
    raw_intervals = spec.get("intervals") or []
    if not isinstance(raw_intervals, list):
        errors[f"{field}.intervals"] = ['must be a list of objects such as {"every": "PT30M"}']
        raw_intervals = []
    for i, item in enumerate(raw_intervals):
        name = f"{field}.intervals.{i}"
        if isinstance(item, str):
            item = {"every": item}
        if not isinstance(item, dict) or "every" not in item:
            errors[name] = ["must be an object with an ISO-8601 'every' duration"]
            continue
        try:
            every = parse_duration(item["every"])
            offset = parse_duration(item["offset"]) if item.get("offset") is not None else 0.0
        except DurationError as exc:
            errors[name] = [str(exc)]
            continue
        if every <= 0:
            errors[name] = [f"every must be a positive duration (got {item['every']!r})"]
            continue
        intervals.append((every, offset % every))
    tz_name = spec.get("timezone") or "UTC"
    tz = ZoneInfo("UTC")
    try:
        if not isinstance(tz_name, str):
            raise ZoneInfoNotFoundError(tz_name)
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        errors[f"{field}.timezone"] = [f"{tz_name!r} is not a known IANA time zone"]
    if not errors and not crons and not intervals:
        errors[field] = ["must contain at least one cron expression or interval"]
    if errors:
        first = next(iter(errors.items()))
        raise InvalidArgument(f"Invalid schedule {first[0]}: {first[1][0]}", errors)
    return ScheduleSpec(tuple(crons), tuple(intervals), tz)


def schedule_view(row: ScheduleRow) -> dict[str, Any]:
    """A schedule as the control plane returns it (list item and describe)."""
    return {
        "schedule_id": row.schedule_id,
        "namespace": row.namespace,
        "status": row.status,
        "paused": row.status == "paused",
        "spec": row.spec,
        "action": row.action,
        "overlap_policy": row.overlap_policy,
        "note": row.note,
        "memo": row.memo or {},
        "search_attributes": row.search_attributes or {},
        "jitter_seconds": row.jitter_seconds,
        "max_runs": row.max_runs,
        "remaining_actions": row.remaining_actions,
        "fires_count": row.fires_count,
        "failures_count": row.failures_count,
        "next_fire_at": rfc3339(row.next_fire_at) if row.status == "active" else None,
        "last_fired_at": rfc3339(row.last_fired_at),
        "latest_workflow_instance_id": row.latest_workflow_instance_id,
        "latest_workflow_run_id": row.latest_run_id,
        "paused_at": rfc3339(row.paused_at),
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
        "deleted_at": rfc3339(row.deleted_at),
        "info": {
            "buffered_actions": [rfc3339(t) for t in row.buffer],
            "skipped_trigger_count": row.skipped_count,
            "last_skip_reason": row.last_skip_reason,
        },
    }


def schedule_event_view(row: ScheduleEventRow) -> dict[str, Any]:
    return {
        "id": f"evt-{row.sequence}",
        "sequence": row.sequence,
        "event_type": row.event_type,
        "recorded_at": rfc3339(row.recorded_at),
        "workflow_instance_id": row.workflow_instance_id,
        "workflow_run_id": row.workflow_run_id,
        "payload": row.payload,
    }


class ScheduleService:
    """Every schedule operation; each one store transaction (through the engine's ``_txn``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- helpers ---------------------------------------------------------------------------

    async def _get(self, tx: Transaction, ns: str, schedule_id: str) -> ScheduleRow:
        row = await tx.get_schedule(ns, schedule_id)
        if row is None or row.status == "deleted":
            raise ScheduleNotFound(f"Schedule {schedule_id!r} not found.", schedule_id=schedule_id)
        return row

    async def _event(
        self,
        tx: Transaction,
        row: ScheduleRow,
        event_type: str,
        now: float,
        payload: dict[str, Any],
        workflow_id: str | None = None,
        run_id: str | None = None,
    ) -> None:
        row.last_sequence += 1
        await tx.append_schedule_event(
            ScheduleEventRow(
                row.namespace,
                row.schedule_id,
                row.last_sequence,
                event_type,
                now,
                workflow_id,
                run_id,
                payload,
            )
        )

    @staticmethod
    def _plan(row: ScheduleRow, spec: ScheduleSpec, after: float) -> None:
        """Set the next nominal and jittered fire time after ``after`` (None when exhausted)."""
        nominal = None if row.remaining_actions == 0 else spec.next_after(after)
        row.next_nominal_at = nominal
        if nominal is None:
            row.next_fire_at = None
        else:
            jitter = random.uniform(0, row.jitter_seconds) if row.jitter_seconds else 0.0
            row.next_fire_at = nominal + jitter

    @staticmethod
    def _due(row: ScheduleRow, now: float) -> float | None:
        times: list[float] = []
        if row.status == "active" and row.next_fire_at is not None:
            times.append(row.next_fire_at)
        if row.buffer and row.status != "deleted":
            times.append(now + BUFFER_RECHECK_SECONDS)
        return min(times) if times else None

    @staticmethod
    def _fields(row: ScheduleRow, *names: str) -> dict[str, Any]:
        return {n: getattr(row, n) for n in names}

    _STATE = (
        "status",
        "spec",
        "action",
        "overlap_policy",
        "jitter_seconds",
        "max_runs",
        "remaining_actions",
        "memo",
        "search_attributes",
        "note",
        "next_nominal_at",
        "next_fire_at",
        "buffer",
        "fires_count",
        "failures_count",
        "skipped_count",
        "last_skip_reason",
        "last_fired_at",
        "latest_workflow_instance_id",
        "latest_run_id",
        "last_sequence",
        "paused_at",
        "updated_at",
        "deleted_at",
        "due_at",
    )

    async def _save(self, tx: Transaction, row: ScheduleRow, effects: Effects, now: float) -> None:
        row.due_at = self._due(row, now)
        await tx.update_schedule(row.namespace, row.schedule_id, self._fields(row, *self._STATE))
        effects.due(row.due_at)

    # -- create / read -----------------------------------------------------------------------

    async def create(
        self,
        ns: str,
        *,
        schedule_id: str | None,
        spec: dict[str, Any],
        action: dict[str, Any],
        overlap_policy: str,
        jitter_seconds: int,
        max_runs: int | None,
        memo: dict[str, Any] | None,
        search_attributes: dict[str, Any] | None,
        paused: bool,
        note: str | None,
    ) -> ScheduleRow:
        parsed = parse_spec(spec)
        async with self.engine._txn() as (tx, effects, now):
            sid = schedule_id or f"schedule-{ulid(now).lower()}"
            old = await tx.get_schedule(ns, sid)
            if old is not None and old.status != "deleted":
                raise ScheduleAlreadyExists(f"Schedule {sid!r} already exists.", schedule_id=sid)
            row = ScheduleRow(
                namespace=ns,
                schedule_id=sid,
                status="paused" if paused else "active",
                spec=spec,
                action=action,
                overlap_policy=overlap_policy,
                jitter_seconds=jitter_seconds,
                max_runs=max_runs,
                remaining_actions=max_runs,
                memo=memo,
                search_attributes=search_attributes,
                note=note,
                next_nominal_at=None,
                next_fire_at=None,
                buffer=[],
                fires_count=0,
                failures_count=0,
                skipped_count=0,
                last_skip_reason=None,
                last_fired_at=None,
                latest_workflow_instance_id=None,
                latest_run_id=None,
                # A re-created id continues its audit history: the old stream stays readable.
                last_sequence=old.last_sequence if old is not None else 0,
                paused_at=now if paused else None,
                created_at=now,
                updated_at=now,
                deleted_at=None,
                due_at=None,
            )
            self._plan(row, parsed, now)
            row.due_at = self._due(row, now)
            if old is None:
                await tx.insert_schedule(row)
            else:
                await tx.update_schedule(
                    ns, sid, {**self._fields(row, *self._STATE), "created_at": now}
                )
            await self._event(
                tx,
                row,
                "ScheduleCreated",
                now,
                {
                    "spec": spec,
                    "action": _action_summary(action),
                    "overlap_policy": overlap_policy,
                    "paused": paused,
                    "note": note,
                },
            )
            await tx.update_schedule(ns, sid, {"last_sequence": row.last_sequence})
            effects.due(row.due_at)
            return row

    async def describe(self, ns: str, schedule_id: str) -> ScheduleRow:
        async with self.engine._txn() as (tx, _, _now):
            return await self._get(tx, ns, schedule_id)

    async def list(
        self, ns: str, flt: ScheduleFilter, offset: int, limit: int
    ) -> tuple[list[ScheduleRow], bool]:
        async with self.engine._txn() as (tx, _, _now):
            rows = await tx.list_schedules(ns, flt, offset, limit + 1)
        return rows[:limit], len(rows) > limit

    async def history(
        self, ns: str, schedule_id: str, after_sequence: int, limit: int
    ) -> tuple[list[ScheduleEventRow], bool]:
        """The audit stream; readable after delete (only never-created ids are 404)."""
        async with self.engine._txn() as (tx, _, _now):
            if await tx.get_schedule(ns, schedule_id) is None:
                raise ScheduleNotFound(
                    f"Schedule {schedule_id!r} not found.", schedule_id=schedule_id
                )
            rows = await tx.read_schedule_events(ns, schedule_id, after_sequence, limit + 1)
        return rows[:limit], len(rows) > limit

    # -- changes -----------------------------------------------------------------------------

    async def update(self, ns: str, schedule_id: str, changes: dict[str, Any]) -> ScheduleRow:
        parsed = parse_spec(changes["spec"]) if "spec" in changes else None
        async with self.engine._txn() as (tx, effects, now):
            row = await self._get(tx, ns, schedule_id)
            if "action" in changes:
                changes["action"] = {**row.action, **changes["action"]}
            for key, value in changes.items():
                setattr(row, key, value)
            if "max_runs" in changes:
                row.remaining_actions = changes["max_runs"]
            if parsed is not None or "max_runs" in changes or "jitter_seconds" in changes:
                self._plan(row, parsed or parse_spec(row.spec), now)
            row.updated_at = now
            await self._event(tx, row, "ScheduleUpdated", now, {"fields": sorted(changes)})
            await self._save(tx, row, effects, now)
            return row

    async def pause(self, ns: str, schedule_id: str, note: str | None) -> ScheduleRow:
        async with self.engine._txn() as (tx, effects, now):
            row = await self._get(tx, ns, schedule_id)
            if row.status != "paused":
                row.status, row.paused_at, row.updated_at = "paused", now, now
                if note is not None:
                    row.note = note
                await self._event(tx, row, "SchedulePaused", now, {"note": note})
                await self._save(tx, row, effects, now)
            return row

    async def resume(self, ns: str, schedule_id: str, note: str | None) -> ScheduleRow:
        async with self.engine._txn() as (tx, effects, now):
            row = await self._get(tx, ns, schedule_id)
            if row.status == "paused":
                row.status, row.paused_at, row.updated_at = "active", None, now
                if note is not None:
                    row.note = note
                # Occurrences that fell in the pause are not made up: plan from now.
                self._plan(row, parse_spec(row.spec), now)
                await self._event(tx, row, "ScheduleResumed", now, {"note": note})
                await self._save(tx, row, effects, now)
            return row

    async def delete(self, ns: str, schedule_id: str) -> ScheduleRow:
        async with self.engine._txn() as (tx, effects, now):
            row = await self._get(tx, ns, schedule_id)
            row.status, row.deleted_at, row.updated_at = "deleted", now, now
            row.next_fire_at = row.next_nominal_at = None
            row.buffer = []
            await self._event(tx, row, "ScheduleDeleted", now, {})
            await self._save(tx, row, effects, now)
            return row

    async def trigger(
        self, ns: str, schedule_id: str, overlap_policy: str | None
    ) -> dict[str, Any]:
        async with self.engine._txn() as (tx, effects, now):
            row = await self._get(tx, ns, schedule_id)
            if row.status != "active":
                result = await self._skip(tx, row, now, now, "status_not_triggerable", "manual")
            else:
                result = await self._fire(tx, effects, row, now, now, "manual", overlap_policy)
            await self._save(tx, row, effects, now)
            return result

    async def backfill(
        self, ns: str, schedule_id: str, start: float, end: float, overlap_policy: str | None
    ) -> dict[str, Any]:
        if end <= start:
            raise InvalidArgument(
                "end_time must be after start_time", {"end_time": ["must be after start_time"]}
            )
        async with self.engine._txn() as (tx, effects, now):
            row = await self._get(tx, ns, schedule_id)
            spec = parse_spec(row.spec)
            times = []
            for t in spec.occurrences(start, end):
                times.append(t)
                if len(times) > MAX_BACKFILL_FIRES:
                    raise InvalidArgument(
                        f"the range holds more than {MAX_BACKFILL_FIRES} fire times; split it",
                        {"end_time": [f"range must hold at most {MAX_BACKFILL_FIRES} fire times"]},
                    )
            results = []
            for t in times:
                # Backfilled runs are historical catch-up: by default they do not block each other.
                res = await self._fire(
                    tx, effects, row, now, t, "backfill", overlap_policy or "allow_all"
                )
                if res["outcome"] == "triggered":
                    res["outcome"] = "backfilled"
                results.append({"fire_time": rfc3339(t), **res})
            await self._save(tx, row, effects, now)
            return {
                "schedule_id": row.schedule_id,
                "outcome": "backfilled",
                "fires_attempted": len(times),
                "results": results,
            }

    # -- firing --------------------------------------------------------------------------

    async def _skip(
        self,
        tx: Transaction,
        row: ScheduleRow,
        now: float,
        fire_time: float,
        reason: str,
        kind: str,
    ) -> dict[str, Any]:
        row.skipped_count += 1
        row.last_skip_reason = reason
        await self._event(
            tx,
            row,
            "ScheduleTriggerSkipped",
            now,
            {"reason": reason, "fire_time": rfc3339(fire_time), "trigger": kind},
        )
        return {"schedule_id": row.schedule_id, "outcome": "skipped", "reason": reason}

    async def _fire(
        self,
        tx: Transaction,
        effects: Effects,
        row: ScheduleRow,
        now: float,
        fire_time: float,
        kind: str,
        overlap_override: str | None,
    ) -> dict[str, Any]:
        """One fire at nominal ``fire_time``: start, buffer or skip per the overlap policy."""
        if row.remaining_actions is not None and row.remaining_actions <= 0:
            return await self._skip(tx, row, now, fire_time, "remaining_actions_exhausted", kind)
        policy = overlap_override or row.overlap_policy
        running = None
        if row.latest_run_id is not None:
            latest = await tx.get_run(row.latest_run_id)
            if latest is not None and latest.is_open:
                running = latest
        if running is not None:
            if policy == "skip":
                return await self._skip(tx, row, now, fire_time, "overlap_policy_skip", kind)
            if policy in ("buffer_one", "buffer_all"):
                if policy == "buffer_one" and row.buffer:
                    await self._skip(tx, row, now, fire_time, "buffer_full", kind)
                    return {
                        "schedule_id": row.schedule_id,
                        "outcome": "buffer_full",
                        "reason": "buffer_full",
                        "buffer_depth": len(row.buffer),
                    }
                row.buffer = [*row.buffer, fire_time]
                return {
                    "schedule_id": row.schedule_id,
                    "outcome": "buffered",
                    "buffer_depth": len(row.buffer),
                }
            if policy in ("cancel_other", "terminate_other"):
                ctx = self.engine._ctx(tx, running, now, effects)
                await self.engine._close_by_command(
                    ctx,
                    "cancel" if policy == "cancel_other" else "terminate",
                    f"schedule {row.schedule_id} overlap policy {policy}",
                )
                await ctx.save()
        return await self._start(tx, effects, row, now, fire_time, kind)

    async def _start(
        self,
        tx: Transaction,
        effects: Effects,
        row: ScheduleRow,
        now: float,
        fire_time: float,
        kind: str,
    ) -> dict[str, Any]:
        action = row.action
        if kind == "backfill":
            workflow_id = f"schedule:{row.schedule_id}:backfill:{int(fire_time)}"
        else:
            workflow_id = f"schedule:{row.schedule_id}:{int(fire_time * 1000)}"
        if await tx.get_workflow(row.namespace, workflow_id) is not None:
            workflow_id = f"{workflow_id}:{ulid(now).lower()}"  # two fires in one millisecond
        ctx = await create_run(
            tx,
            effects,
            self.engine.config,
            now,
            namespace=row.namespace,
            workflow_id=workflow_id,
            run_number=1,
            workflow_type=action["workflow_type"],
            task_queue=action.get("task_queue") or "default",
            input=action.get("input"),
            memo=dict(row.memo or {}),
            search_attributes=dict(row.search_attributes or {}),
            execution_timeout_seconds=action.get("execution_timeout_seconds"),
            run_timeout_seconds=action.get("run_timeout_seconds"),
        )
        await ctx.save()
        await tx.insert_workflow(
            WorkflowRow(row.namespace, workflow_id, ctx.run.run_id, 1, now, now)
        )
        row.fires_count += 1
        row.last_fired_at = now
        row.latest_workflow_instance_id = workflow_id
        row.latest_run_id = ctx.run.run_id
        if row.remaining_actions is not None:
            row.remaining_actions -= 1
            if row.remaining_actions <= 0:  # exhausted: no more automatic fires
                row.next_fire_at = row.next_nominal_at = None
        await self._event(
            tx,
            row,
            "ScheduleTriggered",
            now,
            {
                "fire_time": rfc3339(fire_time),
                "trigger": kind,
                "workflow_type": action["workflow_type"],
            },
            workflow_id,
            ctx.run.run_id,
        )
        return {
            "schedule_id": row.schedule_id,
            "outcome": "triggered",
            "workflow_id": workflow_id,
            "run_id": ctx.run.run_id,
        }

    async def sweep(self, limit: int) -> int:
        """Fire every due schedule and start buffered fires whose blocker closed."""
        async with self.engine._txn() as (tx, effects, now):
            rows = await tx.due_schedules(now, limit)
            for row in rows:
                await self._sweep_one(tx, effects, row, now)
        return len(rows)

    async def _sweep_one(
        self, tx: Transaction, effects: Effects, row: ScheduleRow, now: float
    ) -> None:
        if row.status == "active" and row.next_fire_at is not None and row.next_fire_at <= now:
            expected = row.next_fire_at
            nominal = row.next_nominal_at if row.next_nominal_at is not None else expected
            self._plan(row, parse_spec(row.spec), max(nominal, now))
            claimed = await tx.claim_schedule_fire(
                row.namespace,
                row.schedule_id,
                expected,
                {"next_fire_at": row.next_fire_at, "next_nominal_at": row.next_nominal_at},
            )
            if not claimed:  # another server process fired this occurrence
                return
            await self._fire(tx, effects, row, now, nominal, "scheduled", None)
        if row.buffer:
            latest = await tx.get_run(row.latest_run_id) if row.latest_run_id else None
            if latest is None or not latest.is_open:
                fire_time, row.buffer = row.buffer[0], row.buffer[1:]
                await self._start(tx, effects, row, now, fire_time, "buffered")
        await self._save(tx, row, effects, now)


def _action_summary(action: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in action.items() if k != "input"}


def parse_time(value: Any, field: str) -> float:
    """An ISO-8601 timestamp (``Z`` or offset; naive means UTC) as epoch seconds."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} must be an ISO-8601 timestamp", {field: ["is required"]})
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidArgument(
            f"{field} {value!r} is not an ISO-8601 timestamp",
            {field: [f"{value!r} is not an ISO-8601 timestamp"]},
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
