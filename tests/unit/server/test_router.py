from __future__ import annotations

import pytest

from durable_workflow.server.api.errors import ApiError
from durable_workflow.server.api.router import Router
from durable_workflow.server.api.routes import ROUTES


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(ROUTES)


def test_params_are_url_decoded(router: Router) -> None:
    route, params = router.match("POST", "/api/workflows/order%3A1/runs/r1/signal/do%20it")
    assert route.pattern.endswith("/signal/{signal_name}")
    assert params == {"workflow_id": "order:1", "run_id": "r1", "signal_name": "do it"}


def test_static_beats_nothing_and_counts_segments(router: Router) -> None:
    assert (
        router.match("POST", "/api/worker/workflow-tasks/poll")[0].handler.__name__
        == "poll_workflow_task"
    )
    assert router.match("POST", "/api/worker/workflow-tasks/t1/complete")[1] == {"task_id": "t1"}
    assert router.match("GET", "/api/workflows")[0].handler.__name__ == "list_workflows"
    assert router.match("GET", "/api/workflows/")[0].handler.__name__ == "list_workflows"


def test_unknown_route_and_wrong_method(router: Router) -> None:
    with pytest.raises(ApiError) as nf:
        router.match("GET", "/api/unknown")
    assert (nf.value.status, nf.value.reason) == (404, "route_not_found")
    with pytest.raises(ApiError) as na:
        router.match("PUT", "/api/workflows/x")
    assert (na.value.status, na.value.reason) == (405, "method_not_allowed")
    assert na.value.extra["allowed_methods"] == ["GET"]


def test_every_route_is_unique() -> None:
    keys = [(r.method, r.pattern) for r in ROUTES]
    assert len(keys) == len(set(keys))
