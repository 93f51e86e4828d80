"""Protocol versions, header names and the discovery documents (``/api/cluster/info``,
``/api/health``, ``/api/ready``). Pure data: the server serves these, the SDK checks them.
"""

from __future__ import annotations

from typing import Any, Final

CONTROL_PLANE_HEADER: Final = "X-Durable-Workflow-Control-Plane-Version"
WORKER_PROTOCOL_HEADER: Final = "X-Durable-Workflow-Protocol-Version"
NAMESPACE_HEADER: Final = "X-Namespace"

CONTROL_PLANE_VERSION: Final = "2"
WORKER_PROTOCOL_VERSION: Final = "1.20"
#: Worker-protocol versions a request may carry ("1.M" with M <= advertised minor, as the SDK sends).
ACCEPTED_WORKER_PROTOCOL_VERSIONS: Final = frozenset({"1.19", "1.20"})

REQUEST_CONTRACT_SCHEMA: Final = "durable-workflow.v2.control-plane-request.contract"
AUTH_COMPOSITION_SCHEMA: Final = "durable-workflow.v2.auth-composition.contract"

#: Commands advertised in ``supported_workflow_task_commands`` (the validated minimal list).
ADVERTISED_COMMANDS: Final = (
    "complete_workflow",
    "fail_workflow",
    "continue_as_new",
    "schedule_activity",
    "start_timer",
    "start_child_workflow",
    "complete_update",
    "fail_update",
    "record_side_effect",
    "record_version_marker",
    "upsert_search_attributes",
    "open_condition_wait",
    "record_local_activity",
)


def cluster_info(
    *,
    server_id: str,
    version: str,
    max_payload_bytes: int,
    long_poll_timeout: int = 30,
    default_namespace: str = "default",
) -> dict[str, Any]:
    """The cluster-info document: the minimal shape the 2.12.0 SDK validates, plus our identity.

    Capabilities that switch on extra SDK protocol (sticky execution, lease renewal,
    deregistration fencing, memo upserts, ...) are deliberately absent.
    """
    return {
        "version": version,
        "server_id": server_id,
        "default_namespace": default_namespace,
        "control_plane": {
            "version": CONTROL_PLANE_VERSION,
            "header": CONTROL_PLANE_HEADER,
            "request_contract": {
                "schema": REQUEST_CONTRACT_SCHEMA,
                "version": 1,
                "operations": {
                    "start": {
                        "fields": {
                            "duplicate_policy": {"canonical_values": ["fail", "use-existing"]}
                        }
                    },
                    "update": {
                        "fields": {"wait_for": {"canonical_values": ["accepted", "completed"]}}
                    },
                },
            },
        },
        "worker_protocol": {
            "version": WORKER_PROTOCOL_VERSION,
            "server_capabilities": {
                "query_tasks": True,
                "long_poll_timeout": long_poll_timeout,
                "supported_workflow_task_commands": list(ADVERTISED_COMMANDS),
                "history_page_size_default": 500,
                "history_page_size_max": 1000,
            },
        },
        "auth_composition_contract": {
            "schema": AUTH_COMPOSITION_SCHEMA,
            "version": 1,
            "precedence": {
                "connection_values": ["flag", "environment", "selected_profile", "default"],
                "profile_selection": ["flag_env", "DW_ENV", "current_profile", "default_profile"],
            },
            "canonical_environment": {
                "server_url": "DURABLE_WORKFLOW_SERVER_URL",
                "namespace": "DURABLE_WORKFLOW_NAMESPACE",
                "auth_token": "DURABLE_WORKFLOW_AUTH_TOKEN",
                "tls_verify": "DURABLE_WORKFLOW_TLS_VERIFY",
                "profile": "DW_ENV",
            },
            "auth_material": {
                "token": {
                    "status": "supported",
                    "transport": "bearer_authorization_header",
                    "effective_config_value": "redacted",
                },
                "mtls": {"status": "reserved"},
                "signed_headers": {"status": "reserved"},
            },
            "effective_config": {
                "required_fields": ["server_url", "namespace", "profile", "auth", "tls", "identity"]
            },
            "redaction": {
                "never_echo": ["bearer_tokens", "private_keys", "raw_authorization_headers"]
            },
        },
        "capabilities": {
            "workflow_tasks": True,
            "activity_tasks": True,
            "signals": True,
            "queries": True,
            "updates": True,
            "schedules": True,
            "search_attributes": True,
            "history_export": True,
            "continue_as_new": True,
            "child_workflows": True,
            "payload_codecs": ["avro"],
        },
        "limits": {"max_payload_bytes": max_payload_bytes},
    }


def health_body(*, database_ok: bool, timestamp: str) -> dict[str, Any]:
    """``GET /api/health``: 200 when serving, 503 (``degraded``) when storage is down."""
    return {
        "status": "serving" if database_ok else "degraded",
        "timestamp": timestamp,
        "checks": {"database": "ok" if database_ok else "unavailable"},
    }


def ready_body(*, checks: dict[str, str], timestamp: str) -> dict[str, Any]:
    """``GET /api/ready``: ``ready`` only when every check says ``ok``."""
    ok = all(v == "ok" for v in checks.values())
    return {"status": "ready" if ok else "not_ready", "timestamp": timestamp, "checks": checks}
