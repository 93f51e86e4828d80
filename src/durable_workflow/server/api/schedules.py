"""Schedule handlers (control-plane.md §2): create, list, describe, update, pause, resume,
trigger, backfill, delete and the audit history."""

from __future__ import annotations

from typing import Any

from ..engine.control import control_plane
from ..engine.errors import InvalidArgument
from ..engine.paging import decode_token, encode_token
from ..engine.schedules import (
    OVERLAP_POLICIES,
    ScheduleService,
    parse_spec,
    parse_time,
    schedule_event_view,
    schedule_view,
)
from ..store.control_rows import ScheduleFilter
from .call import Call
from .validation import ID_PATTERN, BodyReader

_ACTION_FIELDS = (
    "workflow_type",
    "task_queue",
    "input",
    "execution_timeout_seconds",
    "run_timeout_seconds",
)
_MUTABLE = (
    "spec",
    "action",
    "overlap_policy",
    "jitter_seconds",
    "max_runs",
    "memo",
    "search_attributes",
    "note",
)


def _service(call: Call) -> ScheduleService:
    return control_plane(call.engine).schedules


def _action(call: Call, r: BodyReader, partial: bool) -> dict[str, Any] | None:
    raw = r.obj("action", required=not partial)
    if raw is None:
        return None
    a = BodyReader(raw, max_payload_bytes=call.settings.max_payload_bytes, allowed=_ACTION_FIELDS)
    out: dict[str, Any] = {}
    for key, value in (
        ("workflow_type", a.string("workflow_type", required=not partial)),
        ("task_queue", a.string("task_queue")),
        ("input", a.envelope("input", allow_list=True)),
        ("execution_timeout_seconds", a.integer("execution_timeout_seconds", minimum=1)),
        ("run_timeout_seconds", a.integer("run_timeout_seconds", minimum=1)),
    ):
        if value is not None:
            out[key] = value
    for field, msgs in a.errors.items():
        r.errors.setdefault(f"action.{field}", []).extend(msgs)
    return out


def _fields(call: Call, r: BodyReader, partial: bool) -> dict[str, Any]:
    spec = r.obj("spec", required=not partial)
    out: dict[str, Any] = {}
    if spec is not None:
        try:
            parse_spec(spec)
        except InvalidArgument as exc:
            for field, msgs in exc.errors.items():
                r.errors.setdefault(field, []).extend(msgs)
        out["spec"] = spec
    action = _action(call, r, partial)
    if action is not None:
        out["action"] = action
    policy = r.one_of("overlap_policy", OVERLAP_POLICIES)
    if policy is not None:
        out["overlap_policy"] = policy
    for key, value in (
        ("jitter_seconds", r.integer("jitter_seconds", minimum=0, maximum=86400)),
        ("max_runs", r.integer("max_runs", minimum=1)),
        ("memo", r.obj("memo")),
        ("search_attributes", r.obj("search_attributes")),
        ("note", r.string("note", max_length=4096)),
    ):
        if value is not None:
            out[key] = value
    return out


async def create_schedule(call: Call) -> tuple[int, Any]:
    r = call.reader(("schedule_id", "paused", *_MUTABLE))
    schedule_id = r.string(
        "schedule_id", pattern=ID_PATTERN, pattern_hint="letters, digits and . _ : -"
    )
    paused = r.any("paused")
    if paused is not None and not isinstance(paused, bool):
        r.errors.setdefault("paused", []).append("must be a boolean")
    fields = _fields(call, r, partial=False)
    r.finish()
    row = await _service(call).create(
        call.namespace,
        schedule_id=schedule_id,
        spec=fields["spec"],
        action=fields["action"],
        overlap_policy=fields.get("overlap_policy", "skip"),
        jitter_seconds=fields.get("jitter_seconds", 0),
        max_runs=fields.get("max_runs"),
        memo=fields.get("memo"),
        search_attributes=fields.get("search_attributes"),
        paused=bool(paused),
        note=fields.get("note"),
    )
    view = schedule_view(row)
    return 201, {**view, "outcome": "created"}


def _page_size(call: Call, name: str, default: int, maximum: int) -> int:
    raw = call.query(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidArgument(
            f"{name} must be a positive integer",
            {name: [f"must be an integer between 1 and {maximum}"]},
            field=name,
        )
    return min(int(raw), maximum)


async def list_schedules(call: Call) -> tuple[int, Any]:
    limit = _page_size(call, "page_size", 50, 200)
    offset = decode_token(call.query("next_page_token"))
    status = call.query("status")
    if status is not None and status not in ("active", "paused", "deleted"):
        raise InvalidArgument(
            "status must be one of active, paused, deleted",
            {"status": ["must be one of active, paused, deleted"]},
            field="status",
        )
    flt = ScheduleFilter(
        status=status, workflow_type=call.query("workflow_type"), query=call.query("query")
    )
    rows, more = await _service(call).list(call.namespace, flt, offset, limit)
    return 200, {
        "namespace": call.namespace,
        "schedules": [schedule_view(r) for r in rows],
        "next_page_token": encode_token(offset + limit) if more else None,
    }


async def describe_schedule(call: Call) -> tuple[int, Any]:
    return 200, schedule_view(
        await _service(call).describe(call.namespace, call.params["schedule_id"])
    )


async def update_schedule(call: Call) -> tuple[int, Any]:
    r = call.reader(_MUTABLE)
    fields = _fields(call, r, partial=True)
    r.finish()
    row = await _service(call).update(call.namespace, call.params["schedule_id"], fields)
    return 200, {**schedule_view(row), "outcome": "updated"}


def _note(call: Call) -> str | None:
    r = call.reader(("note",))
    note = r.string("note", max_length=4096)
    r.finish()
    return note


async def pause_schedule(call: Call) -> tuple[int, Any]:
    row = await _service(call).pause(call.namespace, call.params["schedule_id"], _note(call))
    return 200, {**schedule_view(row), "outcome": "paused"}


async def resume_schedule(call: Call) -> tuple[int, Any]:
    row = await _service(call).resume(call.namespace, call.params["schedule_id"], _note(call))
    return 200, {
        **schedule_view(row),
        "outcome": "resumed",
        "resumed_at": schedule_view(row)["updated_at"],
    }


async def trigger_schedule(call: Call) -> tuple[int, Any]:
    r = call.reader(("overlap_policy",))
    policy = r.one_of("overlap_policy", OVERLAP_POLICIES)
    r.finish()
    return 200, await _service(call).trigger(call.namespace, call.params["schedule_id"], policy)


async def backfill_schedule(call: Call) -> tuple[int, Any]:
    r = call.reader(("start_time", "end_time", "overlap_policy"))
    start = r.string("start_time", required=True)
    end = r.string("end_time", required=True)
    policy = r.one_of("overlap_policy", OVERLAP_POLICIES)
    r.finish()
    return 200, await _service(call).backfill(
        call.namespace,
        call.params["schedule_id"],
        parse_time(start, "start_time"),
        parse_time(end, "end_time"),
        policy,
    )


async def delete_schedule(call: Call) -> tuple[int, Any]:
    row = await _service(call).delete(call.namespace, call.params["schedule_id"])
    return 200, {
        "schedule_id": row.schedule_id,
        "outcome": "deleted",
        "deleted_at": schedule_view(row)["deleted_at"],
    }


async def schedule_history(call: Call) -> tuple[int, Any]:
    raw_limit = call.query("limit")
    raw_after = call.query("after_sequence")
    errors: dict[str, list[str]] = {}
    if raw_limit is not None and not raw_limit.lstrip("-").isdigit():
        errors["limit"] = ["must be an integer"]
    if raw_after is not None and not raw_after.isdigit():
        errors["after_sequence"] = ["must be a non-negative integer"]
    if errors:
        raise InvalidArgument(f"Invalid history cursor: {next(iter(errors))}", errors)
    limit = max(1, min(500, int(raw_limit))) if raw_limit is not None else 100
    after = int(raw_after) if raw_after is not None else 0
    sid = call.params["schedule_id"]
    events, more = await _service(call).history(call.namespace, sid, after, limit)
    return 200, {
        "schedule_id": sid,
        "namespace": call.namespace,
        "events": [schedule_event_view(e) for e in events],
        "has_more": more,
        "next_cursor": events[-1].sequence if more and events else None,
    }
