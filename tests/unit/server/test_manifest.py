from __future__ import annotations

import json

from durable_workflow.protocol import manifest


def test_cluster_info_shape() -> None:
    info = manifest.cluster_info(server_id="s", version="1.2.3", max_payload_bytes=1234)
    assert info["control_plane"]["version"] == "2"
    assert info["worker_protocol"]["version"] == "1.20"
    caps = info["worker_protocol"]["server_capabilities"]
    assert caps["query_tasks"] is True
    for absent in (
        "sticky_execution",
        "activity_lease_renewal",
        "worker_deregistration_fencing",
        "workflow_memo_updates",
        "query_task_authority",
        "cooperative_cancellation",
    ):
        assert absent not in caps
    assert info["limits"] == {"max_payload_bytes": 1234}
    assert "namespace" not in info
    json.dumps(info)


def test_health_and_ready_bodies() -> None:
    assert manifest.health_body(database_ok=True, timestamp="t")["status"] == "serving"
    assert manifest.health_body(database_ok=False, timestamp="t")["checks"] == {
        "database": "unavailable"
    }
    assert manifest.ready_body(checks={"database": "ok"}, timestamp="t")["status"] == "ready"
    assert (
        manifest.ready_body(checks={"database": "unavailable"}, timestamp="t")["status"]
        == "not_ready"
    )
