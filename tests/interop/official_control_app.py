"""Run with the OFFICIAL durable-workflow 2.12.0 SDK (not ours): control-plane calls against a
server URL -- schedule create/describe/trigger/history/delete, namespace create/describe, and a
search-attribute filter on list_workflows. Prints one JSON line."""

import asyncio
import json
import sys

import durable_workflow
from durable_workflow import Client
from durable_workflow.client import ScheduleAction, ScheduleSpec
from durable_workflow.errors import ScheduleNotFound


async def main(url: str, token: str, suffix: str) -> dict:
    out: dict = {"sdk_version": durable_workflow.__version__, "sdk_path": durable_workflow.__file__}
    ns_name = f"interop-{suffix}"
    async with Client(url, token=token or None) as client:
        ns = await client.create_namespace(ns_name, description="official SDK", retention_days=3)
        out["namespace"] = {"name": ns.name, "retention_days": ns.retention_days}
        out["namespace_described"] = (await client.describe_namespace(ns_name)).name

    async with Client(url, token=token or None, namespace=ns_name) as client:
        sid = f"sched-{suffix}"
        handle = await client.create_schedule(
            schedule_id=sid,
            spec=ScheduleSpec(cron_expressions=["0 3 * * *"], timezone="UTC"),
            action=ScheduleAction(workflow_type="interop-report", task_queue="interop-sched",
                                  input=[{"format": "pdf"}]),
            overlap_policy="allow_all",
            note="nightly",
        )
        desc = await client.describe_schedule(handle.schedule_id)
        out["schedule"] = {"id": desc.schedule_id, "status": desc.status, "note": desc.note,
                           "next_fire_at": desc.next_fire_at, "fires_count": desc.fires_count}
        trig = await client.trigger_schedule(sid)
        out["trigger"] = {"outcome": trig.outcome, "workflow_id": trig.workflow_id}
        out["fires_after_trigger"] = (await client.describe_schedule(sid)).fires_count
        listed = await client.list_schedules()
        out["listed"] = [s.schedule_id for s in listed.schedules]
        await client.delete_schedule(sid)
        try:
            await client.describe_schedule(sid)
            out["after_delete"] = "still there"
        except ScheduleNotFound:
            out["after_delete"] = "ScheduleNotFound"
        history = await client.get_schedule_history(sid)
        out["history"] = [e.event_type for e in history.events]

        await client.create_search_attribute("Region", "keyword")
        attrs = await client.list_search_attributes()
        out["custom_attributes"] = dict(attrs.custom_attributes)
        for wid, region in (("eu-1", "eu"), ("us-1", "us")):
            await client.start_workflow(workflow_type="interop-report", task_queue="interop-sched",
                                        workflow_id=f"{wid}-{suffix}",
                                        search_attributes={"Region": region})
        found = await client.list_workflows(query="Region = 'eu'")
        out["filtered"] = sorted(e.workflow_id for e in found.executions)
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))))
