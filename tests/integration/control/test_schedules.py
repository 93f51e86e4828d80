"""Schedules end to end through the SDK (issue 5 point 1): firing from the server's sweeper,
overlap policies, pause/resume, trigger, backfill, max_runs, audit history, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from durable_workflow import (
    Client,
    InvalidArgument,
    ScheduleAction,
    ScheduleAlreadyExists,
    ScheduleNotFound,
    ScheduleSpec,
)
from durable_workflow.server.engine.clock import FakeClock
from durable_workflow.server.engine.schedules import parse_spec

from .conftest import dump, settle, wait_for

ACTION = ScheduleAction(workflow_type="report", task_queue="reports", input=[{"format": "pdf"}])
START = datetime(2026, 1, 1, tzinfo=UTC).timestamp()  # the FakeClock's start


async def fires(client: Client, sid: str) -> int:
    return (await client.describe_schedule(sid)).fires_count


async def advance(clock: FakeClock, client: Client, sid: str, seconds: float, expect: int) -> None:
    clock.advance(seconds)

    async def done() -> bool:
        return await fires(client, sid) >= expect

    await wait_for(done, what=f"{sid} to reach {expect} fires")
    await settle()
    assert await fires(client, sid) == expect


async def test_interval_fires_once_per_occurrence(client: Client, clock: FakeClock) -> None:
    h = await client.create_schedule(
        schedule_id="every-10m",
        spec=ScheduleSpec(intervals=[{"every": "PT10M"}]),
        action=ACTION,
        overlap_policy="allow_all",
        memo={"owner": "ops"},
        search_attributes={"Team": "ops"},
        note="nightly-ish",
    )
    desc = await h.describe()
    assert desc.next_fire_at == "2026-01-01T00:10:00.000000Z" and desc.fires_count == 0
    assert desc.note == "nightly-ish" and desc.memo == {"owner": "ops"}
    await advance(clock, client, "every-10m", 600, 1)
    await advance(clock, client, "every-10m", 600, 2)
    clock.advance(1)  # nothing due: no extra fire
    await settle()
    assert await fires(client, "every-10m") == 2
    wfs = (await client.list_workflows(workflow_type="report")).executions
    assert sorted(w.workflow_id for w in wfs) == [
        f"schedule:every-10m:{int((START + 600) * 1000)}",
        f"schedule:every-10m:{int((START + 1200) * 1000)}",
    ]
    started = await client.describe_workflow(wfs[0].workflow_id)
    assert started.task_queue == "reports"
    desc = await h.describe()
    assert desc.latest_workflow_instance_id == wfs[0].workflow_id
    assert desc.last_fired_at == "2026-01-01T00:20:00.000000Z"
    raw = await client._describe_raw(wfs[0].workflow_id)
    assert raw["memo"] == {"owner": "ops"} and raw["search_attributes"] == {"Team": "ops"}


async def test_pause_stops_fires_and_resume_restarts_them(client: Client, clock: FakeClock) -> None:
    h = await client.create_schedule(
        schedule_id="p", spec=ScheduleSpec(intervals=["PT10M"]), action=ACTION,
        overlap_policy="allow_all",
    )
    await advance(clock, client, "p", 600, 1)
    await h.pause(note="maintenance window")
    desc = await h.describe()
    assert desc.status == "paused" and desc.paused_at is not None and desc.next_fire_at is None
    clock.advance(3600)
    await settle()
    assert await fires(client, "p") == 1
    trig = await h.trigger()
    assert (trig.outcome, trig.reason) == ("skipped", "status_not_triggerable")
    await h.resume(note="maintenance complete")
    assert (await h.describe()).next_fire_at == "2026-01-01T01:20:00.000000Z"
    await advance(clock, client, "p", 600, 2)
    types = [e.event_type async for e in h.iter_history()]
    assert types == [
        "ScheduleCreated", "ScheduleTriggered", "SchedulePaused", "ScheduleTriggerSkipped",
        "ScheduleResumed", "ScheduleTriggered",
    ]


async def test_paused_at_creation_does_not_fire(client: Client, clock: FakeClock) -> None:
    await client.create_schedule(
        schedule_id="quiet", spec=ScheduleSpec(intervals=["PT1M"]), action=ACTION, paused=True
    )
    clock.advance(600)
    await settle()
    desc = await client.describe_schedule("quiet")
    assert desc.status == "paused" and desc.fires_count == 0


async def test_overlap_policies(client: Client) -> None:
    async def make(sid: str, policy: str) -> None:
        await client.create_schedule(
            schedule_id=sid, spec=ScheduleSpec(intervals=["P1D"]), action=ACTION,
            overlap_policy=policy,
        )

    await make("skip", "skip")
    first = await client.trigger_schedule("skip")
    assert first.outcome == "triggered" and first.workflow_id
    second = await client.trigger_schedule("skip")
    assert (second.outcome, second.reason) == ("skipped", "overlap_policy_skip")
    assert (await client.describe_schedule("skip")).info == {
        "buffered_actions": [], "skipped_trigger_count": 1, "last_skip_reason": "overlap_policy_skip"
    }
    third = await client.trigger_schedule("skip", overlap_policy="allow_all")
    assert third.outcome == "triggered"

    await make("cancel", "cancel_other")
    a = await client.trigger_schedule("cancel")
    b = await client.trigger_schedule("cancel")
    assert b.outcome == "triggered"
    assert (await client.describe_workflow(str(a.workflow_id))).status == "cancelled"

    await make("term", "terminate_other")
    a = await client.trigger_schedule("term")
    await client.trigger_schedule("term")
    assert (await client.describe_workflow(str(a.workflow_id))).status == "terminated"

    await make("b1", "buffer_one")
    a = await client.trigger_schedule("b1")
    buffered = await client.trigger_schedule("b1")
    assert (buffered.outcome, buffered.buffer_depth) == ("buffered", 1)
    full = await client.trigger_schedule("b1")
    assert full.outcome == "buffer_full"

    await make("ball", "buffer_all")
    await client.trigger_schedule("ball")
    for depth in (1, 2, 3):
        assert (await client.trigger_schedule("ball")).buffer_depth == depth


async def test_buffered_fire_starts_when_the_running_workflow_closes(
    client: Client, clock: FakeClock
) -> None:
    await client.create_schedule(
        schedule_id="buf", spec=ScheduleSpec(intervals=["P1D"]), action=ACTION,
        overlap_policy="buffer_one",
    )
    first = await client.trigger_schedule("buf")
    assert (await client.trigger_schedule("buf")).outcome == "buffered"
    await client.terminate_workflow(str(first.workflow_id), reason="done")
    clock.advance(2)  # the buffered fire is checked about once a second

    async def started() -> bool:
        return await fires(client, "buf") == 2

    await wait_for(started, what="the buffered fire to start")
    desc = await client.describe_schedule("buf")
    assert desc.info is not None and desc.info["buffered_actions"] == []
    assert desc.latest_workflow_instance_id != first.workflow_id


async def test_max_runs_exhausts_remaining_actions(client: Client, clock: FakeClock) -> None:
    await client.create_schedule(
        schedule_id="twice", spec=ScheduleSpec(intervals=["PT1M"]), action=ACTION,
        overlap_policy="allow_all", max_runs=2,
    )
    assert (await client.describe_schedule("twice")).remaining_actions == 2
    await advance(clock, client, "twice", 60, 1)
    await advance(clock, client, "twice", 60, 2)
    desc = await client.describe_schedule("twice")
    assert desc.remaining_actions == 0 and desc.next_fire_at is None
    clock.advance(600)
    await settle()
    assert await fires(client, "twice") == 2
    res = await client.trigger_schedule("twice")
    assert (res.outcome, res.reason) == ("skipped", "remaining_actions_exhausted")


async def test_backfill_over_a_past_hour_starts_six_workflows(client: Client) -> None:
    h = await client.create_schedule(
        schedule_id="bf", spec=ScheduleSpec(intervals=["PT10M"]), action=ACTION
    )
    result = await h.backfill(start_time="2025-12-31T10:00:00Z", end_time="2025-12-31T11:00:00Z")
    # [start, end): 10:00, 10:10, ..., 10:50 -- 11:00 is excluded.
    assert result.fires_attempted == 6 and result.outcome == "backfilled"
    assert [r["outcome"] for r in result.results or []] == ["backfilled"] * 6
    assert result.results and result.results[0]["fire_time"] == "2025-12-31T10:00:00.000000Z"
    ids = sorted(w.workflow_id for w in (await client.list_workflows()).executions)
    assert len(ids) == 6 and ids[0] == f"schedule:bf:backfill:{int(START - 14 * 3600)}"
    assert (await h.describe()).fires_count == 6


async def test_cron_in_a_timezone_and_update(client: Client) -> None:
    h = await client.create_schedule(
        schedule_id="paris",
        spec=ScheduleSpec(cron_expressions=["0 9 * * *"], timezone="Europe/Paris"),
        action=ACTION,
        jitter_seconds=0,
    )
    assert (await h.describe()).next_fire_at == "2026-01-01T08:00:00.000000Z"  # 09:00 CET
    await h.update(spec=ScheduleSpec(cron_expressions=["*/30 * * * *"]), note="every 30 min",
                   jitter_seconds=5)
    desc = await h.describe()
    assert desc.note == "every 30 min" and desc.jitter_seconds == 5
    assert desc.next_fire_at is not None
    t = datetime.fromisoformat(desc.next_fire_at.replace("Z", "+00:00")).timestamp()
    assert START + 1800 <= t <= START + 1805  # nominal 00:30 plus up to 5 s of jitter
    await h.update(action=ScheduleAction(workflow_type="report-v2"))
    desc = await h.describe()
    assert desc.action is not None and desc.action.workflow_type == "report-v2"
    assert desc.action.task_queue == "reports"  # untouched fields of the action stay


async def test_list_filters_and_paging(client: Client) -> None:
    for i in range(5):
        await client.create_schedule(
            schedule_id=f"s{i}", spec=ScheduleSpec(intervals=["PT1H"]),
            action=ScheduleAction(workflow_type="a" if i % 2 else "b"), paused=i == 0,
        )
    page = await client.list_schedules(page_size=2)
    assert [s.schedule_id for s in page.schedules] == ["s0", "s1"] and page.next_page_token
    rest = await client.list_schedules(page_size=10, next_page_token=page.next_page_token)
    assert [s.schedule_id for s in rest.schedules] == ["s2", "s3", "s4"]
    assert [s.schedule_id for s in (await client.list_schedules(status="paused")).schedules] == ["s0"]
    assert [s.schedule_id for s in (await client.list_schedules(workflow_type="a")).schedules] == [
        "s1", "s3"
    ]
    await client.delete_schedule("s1")
    assert "s1" not in [s.schedule_id for s in (await client.list_schedules()).schedules]


async def test_history_pages_and_survives_delete(client: Client) -> None:
    h = await client.create_schedule(schedule_id="audit", spec=ScheduleSpec(intervals=["PT1H"]),
                                     action=ACTION)
    for _ in range(3):
        await h.pause()
        await h.resume()
    await h.delete()
    page = await h.history(limit=3)
    assert [e.sequence for e in page.events] == [1, 2, 3] and page.has_more
    assert page.next_cursor == 3 and page.namespace == "default"
    events = [e async for e in h.iter_history(limit=2)]
    assert [e.sequence for e in events] == list(range(1, 9))
    assert events[-1].event_type == "ScheduleDeleted"
    with pytest.raises(ScheduleNotFound):
        await h.describe()
    # The id can be reused; its audit stream continues.
    await client.create_schedule(schedule_id="audit", spec=ScheduleSpec(intervals=["PT1H"]),
                                 action=ACTION)
    assert (await h.history(after_sequence=8)).events[0].event_type == "ScheduleCreated"


async def test_bad_input_is_rejected_and_changes_nothing(client: Client, db_url: str) -> None:
    await client.create_schedule(schedule_id="taken", spec=ScheduleSpec(intervals=["PT1H"]),
                                 action=ACTION)
    before = dump(db_url)
    bad_specs = {
        "cron": ScheduleSpec(cron_expressions=["61 * * * *"]),
        "six-field cron": ScheduleSpec(cron_expressions=["0 0 * * * *"]),
        "timezone": ScheduleSpec(cron_expressions=["0 * * * *"], timezone="Mars/Olympus_Mons"),
        "zero interval": ScheduleSpec(intervals=["PT0S"]),
        "month interval": ScheduleSpec(intervals=["P1M"]),
        "empty": ScheduleSpec(),
    }
    for what, spec in bad_specs.items():
        with pytest.raises(InvalidArgument) as info:
            await client.create_schedule(schedule_id="new", spec=spec, action=ACTION)
        assert info.value.errors, what
    with pytest.raises(InvalidArgument, match="Mars/Olympus_Mons"):
        await client.create_schedule(
            schedule_id="new", spec=bad_specs["timezone"], action=ACTION
        )
    with pytest.raises(ScheduleAlreadyExists) as dup:
        await client.create_schedule(schedule_id="taken", spec=ScheduleSpec(intervals=["PT1H"]),
                                     action=ACTION)
    assert dup.value.schedule_id == "taken"
    for call in (
        client.describe_schedule("nope"),
        client.pause_schedule("nope"),
        client.trigger_schedule("nope"),
        client.delete_schedule("nope"),
        client.get_schedule_history("nope"),
        client.update_schedule("nope", note="x"),
        client.backfill_schedule("nope", start_time="2025-01-01T00:00:00Z",
                                 end_time="2025-01-02T00:00:00Z"),
    ):
        with pytest.raises(ScheduleNotFound):
            await call
    with pytest.raises(InvalidArgument):
        await client.update_schedule("taken", spec=ScheduleSpec(intervals=["PT0S"]))
    with pytest.raises(InvalidArgument):
        await client.backfill_schedule("taken", start_time="yesterday", end_time="today")
    with pytest.raises(ValueError):
        await client.create_schedule(spec=ScheduleSpec(intervals=["PT1H"]), action=ACTION,
                                     overlap_policy="sometimes")
    assert dump(db_url) == before


def test_spec_occurrences_are_half_open() -> None:
    spec = parse_spec({"intervals": [{"every": "PT10M", "offset": "PT5M"}]})
    times = list(spec.occurrences(START, START + 3600))
    assert [int(t - START) for t in times] == [300, 900, 1500, 2100, 2700, 3300]
    assert list(parse_spec({"intervals": ["PT10M"]}).occurrences(START, START + 600)) == [START]


@pytest.mark.timeout(60)
async def test_every_two_seconds_fires_three_times_on_the_real_clock(tmp_path: Path) -> None:
    async with Client(f"sqlite:///{tmp_path / 'real.db'}") as client:
        await client.create_schedule(
            schedule_id="tick", spec=ScheduleSpec(intervals=["PT2S"]), action=ACTION,
            overlap_policy="allow_all",
        )

        async def three() -> bool:
            return await fires(client, "tick") >= 3

        await wait_for(three, timeout=20.0, what="three fires of an every-2-seconds schedule")
        history = [e async for e in client.iter_schedule_history("tick")]
        triggered = [e for e in history if e.event_type == "ScheduleTriggered"]
        assert len(triggered) >= 3
        assert len({e.workflow_instance_id for e in triggered}) == len(triggered)
