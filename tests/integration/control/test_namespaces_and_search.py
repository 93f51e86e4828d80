"""Namespaces (issue 5 point 2) and search attributes with the visibility query (point 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from durable_workflow import (
    Client,
    InvalidArgument,
    NamespaceNotFound,
    ScheduleAction,
    ScheduleSpec,
    SearchAttributeNotFound,
)
from durable_workflow.server.engine.visibility import QuerySyntaxError, parse_query
from durable_workflow.server.runtime import ServerConfig, ServerRuntime

from .conftest import dump, make_client


async def test_namespace_lifecycle_and_isolation(client: Client, runtime: ServerRuntime) -> None:
    created = await client.create_namespace("billing", description="invoices", retention_days=7)
    assert (created.name, created.retention_days, created.status) == ("billing", 7, "active")
    names = [n.name for n in (await client.list_namespaces()).namespaces]
    assert names == ["billing", "default"]
    updated = await client.update_namespace("billing", retention_days=14)
    assert updated.retention_days == 14 and updated.description == "invoices"
    assert (await client.describe_namespace("billing")).retention_days == 14

    async with make_client(runtime, namespace="billing") as billing:
        # X-Namespace of a just-created namespace works at once.
        await billing.start_workflow(workflow_type="t", task_queue="q", workflow_id="same-id")
        await billing.create_schedule(schedule_id="s", spec=ScheduleSpec(intervals=["PT1H"]),
                                      action=ScheduleAction("t"))
        await billing.create_search_attribute("Customer", "keyword")
        # The same ids in default are independent.
        await client.start_workflow(workflow_type="t", task_queue="q", workflow_id="same-id")
        assert len((await billing.list_workflows()).executions) == 1
        assert [s.schedule_id for s in (await client.list_schedules()).schedules] == []
        assert (await client.list_search_attributes()).custom_attributes == {}
        assert (await billing.list_search_attributes()).custom_attributes == {"Customer": "keyword"}

    async with make_client(runtime, namespace="nowhere") as lost:
        with pytest.raises(NamespaceNotFound):
            await lost.list_workflows()
    with pytest.raises(NamespaceNotFound):
        await client.describe_namespace("nowhere")


async def test_namespace_created_by_another_process_is_usable(db_url: str) -> None:
    one = await ServerRuntime.open(ServerConfig(db_url=db_url))
    two = await ServerRuntime.open(ServerConfig(db_url=db_url))
    try:
        async with make_client(one) as c1, make_client(two, namespace="tenant-a") as c2:
            with pytest.raises(NamespaceNotFound):
                await c2.list_workflows()
            await c1.create_namespace("tenant-a")
            assert (await c2.list_workflows()).executions == []  # the other runtime sees it now
    finally:
        await one.close()
        await two.close()


async def test_namespace_bad_input(client: Client, db_url: str) -> None:
    await client.create_namespace("taken")
    before = dump(db_url)
    for name, retention in (("Bad Name", 30), ("taken", 30), ("ok-name", 0)):
        with pytest.raises(InvalidArgument):
            await client.create_namespace(name, retention_days=retention)
    with pytest.raises(NamespaceNotFound):
        await client.update_namespace("missing", retention_days=3)
    with pytest.raises(InvalidArgument):
        await client.set_namespace_external_storage("taken", driver="ftp")
    with pytest.raises(InvalidArgument):
        await client.set_namespace_external_storage("taken", driver="s3", config={})
    assert dump(db_url) == before


async def test_external_storage_policy_and_storage_test(client: Client, tmp_path: Path) -> None:
    ns = await client.set_namespace_external_storage(
        "default", driver="local", threshold_bytes=65536, config={"root": str(tmp_path / "blobs")}
    )
    policy = ns.external_payload_storage
    assert policy is not None and policy.driver == "local" and policy.threshold_bytes == 65536
    assert policy.enabled is True and policy.integrity_required is True
    result = await client.test_external_storage(small_payload_bytes=64, large_payload_bytes=200_000)
    assert result.status == "passed" and result.driver == "local"
    assert result.large_payload is not None and result.large_payload.bytes == 200_000
    assert result.large_payload.verified and result.large_payload.reference_uri
    with pytest.deprecated_call():
        await client.set_namespace_external_storage(
            namespace="default", driver="local", config={"root": str(tmp_path)}
        )


async def test_search_attributes_filter_workflows(client: Client, db_url: str) -> None:
    types = {
        "Region": "keyword", "Title": "text", "Priority": "int", "Score": "double",
        "Vip": "bool", "DueAt": "datetime", "Tags": "keyword_list",
    }
    for name, type_ in types.items():
        assert (await client.create_search_attribute(name, type_))["outcome"] == "created"
    listed = await client.list_search_attributes()
    assert listed.custom_attributes == types
    assert listed.system_attributes["WorkflowType"] == "keyword"
    rows = {
        "o-1": {"Region": "eu", "Title": "Big order for ACME", "Priority": 5, "Score": 0.5,
                "Vip": True, "DueAt": "2026-02-01T00:00:00Z", "Tags": ["rush", "gift"]},
        "o-2": {"Region": "us", "Title": "small order", "Priority": 1, "Score": 2.5,
                "Vip": False, "DueAt": "2026-03-01T00:00:00Z", "Tags": ["gift"]},
        "o-3": {"Region": "eu", "Title": "refund", "Priority": 9, "Score": 9.0, "Vip": False,
                "DueAt": "2026-01-15T00:00:00Z", "Tags": []},
    }
    for wid, attrs in rows.items():
        await client.start_workflow(workflow_type="order", task_queue="q", workflow_id=wid,
                                    search_attributes=attrs)
    await client.start_workflow(workflow_type="other", task_queue="q", workflow_id="x-1")

    async def ids(query: str) -> list[str]:
        return sorted(w.workflow_id for w in (await client.list_workflows(query=query)).executions)

    assert await ids("Region = 'eu'") == ["o-1", "o-3"]
    assert await ids("Region = 'eu' AND Priority > 5") == ["o-3"]
    assert await ids("Region = 'us' OR (Vip = true AND Score < 1)") == ["o-1", "o-2"]
    assert await ids("Region IN ('us', 'apac')") == ["o-2"]
    assert await ids("Region NOT IN ('us') AND WorkflowType = 'order'") == ["o-1", "o-3"]
    assert await ids("Priority BETWEEN 2 AND 9") == ["o-1", "o-3"]
    assert await ids("Title = 'order'") == ["o-1", "o-2"]
    assert await ids("Tags = 'gift'") == ["o-1", "o-2"]
    assert await ids("DueAt < '2026-02-15T00:00:00Z'") == ["o-1", "o-3"]
    assert await ids("Region IS NULL") == ["x-1"]
    # SQL semantics: a workflow without the attribute matches neither Region = 'eu' nor its NOT.
    assert await ids("NOT Region = 'eu' AND ExecutionStatus = 'pending'") == ["o-2"]
    assert await ids("`Score` >= 2.5") == ["o-2", "o-3"]
    # The same answers on both back ends (SQLite json_extract, PostgreSQL jsonb), edge cases:
    assert await ids("Tags != 'gift'") == ["o-3", "x-1"]  # an absent list contains nothing
    assert await ids("Tags IN ('rush', 'none')") == ["o-1"]
    assert await ids("Title != 'order'") == ["o-3"]  # absent text is NULL: no match
    assert await ids("Title = 'ORDER'") == ["o-1", "o-2"]  # case-insensitive substring
    assert await ids("Vip = false") == ["o-2", "o-3"]
    assert await ids("Priority NOT IN (1)") == ["o-1", "o-3"]
    assert await ids("Score > 1 AND Score <= 9") == ["o-2", "o-3"]
    assert await ids("DueAt IS NOT NULL AND StartTime > '2000-01-01T00:00:00Z'") == [
        "o-1", "o-2", "o-3"]
    assert await ids("o-") == ["o-1", "o-2", "o-3"]  # a plain fragment stays a substring search

    before = dump(db_url)
    for bad, pos in (("Region = ", 9), ("Region = 'eu' AND", 17), ("(Region = 'eu'", 14),
                     ("Region ~ 'eu'", 7), ("Nope = 1", 0), ("Priority = 'high'", 0)):
        with pytest.raises(InvalidArgument) as info:
            await client.list_workflows(query=bad)
        assert f"position {pos}" in str(info.value), (bad, str(info.value))
    with pytest.raises(InvalidArgument, match="keyword, text, int"):
        await client.create_search_attribute("When", "uuid")
    with pytest.raises(InvalidArgument):
        await client.create_search_attribute("Region", "keyword")  # duplicate
    with pytest.raises(InvalidArgument):
        await client.create_search_attribute("WorkflowId", "keyword")  # system name
    with pytest.raises(SearchAttributeNotFound):
        await client.delete_search_attribute("Missing")
    assert dump(db_url) == before
    assert (await client.delete_search_attribute("Score"))["outcome"] == "deleted"


def test_query_parser_reports_positions() -> None:
    tree = parse_query("A = 'x' AND (B > 2 OR C IN ('p', \"q\")) AND NOT D IS NOT NULL")
    assert tree.op == "and" and len(tree.items) == 3
    with pytest.raises(QuerySyntaxError) as info:
        parse_query("A = 'x' OR OR")
    assert info.value.position == 11 and "position 11" in str(info.value)
    with pytest.raises(QuerySyntaxError) as info:
        parse_query("A = 'unterminated")
    assert info.value.position == 4
