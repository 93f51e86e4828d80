"""The SDK's exceptions, and the one place where a server error envelope becomes one of them.

Tree::

    Exception
     └─ DurableWorkflowError
         ├─ WorkflowNotFound, WorkflowAlreadyStarted, NamespaceNotFound
         ├─ WorkflowFailed, WorkflowTerminated, WorkflowTimedOut
         ├─ ActivityFailed, NonRetryableError, ActivityLeaseAuthorityLost
         ├─ ChildWorkflowFailed ─┬─ ChildWorkflowCancelled
         │                       └─ ChildWorkflowTerminated
         ├─ SignalFailed, QueryFailed, UpdateRejected, UpdateValidationFailed
         ├─ InvalidArgument ── UpdateFailed
         ├─ ScheduleNotFound, ScheduleAlreadyExists, WorkerNotFound, SearchAttributeNotFound
         ├─ Unauthorized
         ├─ ServerError ── ScheduleListError
         ├─ RuntimeDiscoveryUnavailable, RuntimeCapabilityUnsupported
         ├─ NonDeterministicReplayError, WorkflowPayloadDecodeError
         └─ ExternalPayloadError ── ExternalPayload{NotFound,Expired,Unauthorized,
                                    Unavailable,Oversized,Unsupported,IntegrityMismatch}
                                                   IntegrityMismatch ── ExternalPayloadIntegrityError
    BaseException
     ├─ WorkflowCancelled   (cancellation must not be swallowed by ``except Exception``)
     └─ ActivityCancelled
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ActivityCancelled",
    "ActivityFailed",
    "ActivityLeaseAuthorityLost",
    "ChildWorkflowCancelled",
    "ChildWorkflowFailed",
    "ChildWorkflowTerminated",
    "DurableWorkflowError",
    "ExternalPayloadError",
    "ExternalPayloadExpired",
    "ExternalPayloadIntegrityError",
    "ExternalPayloadIntegrityMismatch",
    "ExternalPayloadNotFound",
    "ExternalPayloadOversized",
    "ExternalPayloadUnauthorized",
    "ExternalPayloadUnavailable",
    "ExternalPayloadUnsupported",
    "InvalidArgument",
    "NamespaceNotFound",
    "NonDeterministicReplayError",
    "NonRetryableError",
    "QueryFailed",
    "RuntimeCapabilityUnsupported",
    "RuntimeDiscoveryUnavailable",
    "ScheduleAlreadyExists",
    "ScheduleListError",
    "ScheduleNotFound",
    "SearchAttributeNotFound",
    "ServerError",
    "SignalFailed",
    "Unauthorized",
    "UpdateFailed",
    "UpdateRejected",
    "UpdateValidationFailed",
    "WorkerNotFound",
    "WorkflowAlreadyStarted",
    "WorkflowCancelled",
    "WorkflowFailed",
    "WorkflowNotFound",
    "WorkflowPayloadDecodeError",
    "WorkflowTerminated",
    "WorkflowTimedOut",
    "error_from_response",
]


class DurableWorkflowError(Exception):
    """Base class of every SDK error except the two cancellations."""


class WorkflowNotFound(DurableWorkflowError):
    """No workflow with this id exists in the namespace."""

    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"workflow not found: {workflow_id}")
        self.workflow_id = workflow_id


class WorkflowAlreadyStarted(DurableWorkflowError):
    """A workflow with this id exists and the duplicate policy refused a new start."""

    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"workflow already started: {workflow_id}")
        self.workflow_id = workflow_id


class NamespaceNotFound(DurableWorkflowError):
    """The namespace named in ``X-Namespace`` does not exist."""

    def __init__(self, namespace: str) -> None:
        super().__init__(f"namespace not found: {namespace}")
        self.namespace = namespace


class WorkflowFailed(DurableWorkflowError):
    """The workflow ended in the failed state."""

    def __init__(self, message: str, exception_class: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.exception_class = exception_class


class WorkflowTerminated(DurableWorkflowError):
    """The workflow was terminated."""

    def __init__(self, message: str = "workflow terminated") -> None:
        super().__init__(message)
        self.message = message


class WorkflowTimedOut(DurableWorkflowError):
    """The workflow passed its execution or run deadline."""

    def __init__(self, message: str = "workflow timed out") -> None:
        super().__init__(message)
        self.message = message


class WorkflowCancelled(BaseException):
    """The workflow was cancelled. A BaseException so ``except Exception`` cannot swallow it."""

    def __init__(
        self, message: str = "workflow cancelled", request_id: str | None = None, context: Any = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id
        self.context = context


class ActivityCancelled(BaseException):
    """The running activity was cancelled. A BaseException, like ``asyncio.CancelledError``."""

    def __init__(self, message: str = "activity cancelled") -> None:
        super().__init__(message)
        self.message = message


class ActivityFailed(DurableWorkflowError):
    """Raised inside workflow code when a scheduled activity failed for good."""

    def __init__(
        self,
        message: str,
        activity_type: str | None = None,
        step_sequence: int | None = None,
        activity_execution_id: str | None = None,
        activity_attempt_id: str | None = None,
        failure_id: str | None = None,
        failure_category: str | None = None,
        exception_type: str | None = None,
        exception_class: str | None = None,
        non_retryable: bool = False,
        code: Any = None,
        exception_payload: Any = None,
        activity: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.activity_type = activity_type
        self.step_sequence = step_sequence
        self.activity_execution_id = activity_execution_id
        self.activity_attempt_id = activity_attempt_id
        self.failure_id = failure_id
        self.failure_category = failure_category
        self.exception_type = exception_type
        self.exception_class = exception_class
        self.non_retryable = non_retryable
        self.code = code
        self.exception_payload = exception_payload
        self.activity = activity


class NonRetryableError(DurableWorkflowError):
    """Raise from an activity to fail it without further retries."""

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause


class ActivityLeaseAuthorityLost(DurableWorkflowError):
    """The server no longer lets this worker report on the activity attempt."""

    def __init__(self, task_id: str, reason: str | None = None) -> None:
        super().__init__(f"activity lease lost for task {task_id}: {reason}")
        self.task_id = task_id
        self.reason = reason


class ChildWorkflowFailed(DurableWorkflowError):
    """Raised inside the parent when a child workflow failed."""

    def __init__(
        self,
        message: str,
        exception_class: str | None = None,
        failure_kind: str = "failed",
        child_workflow_run_id: str | None = None,
        child_workflow_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exception_class = exception_class
        self.failure_kind = failure_kind
        self.child_workflow_run_id = child_workflow_run_id
        self.child_workflow_type = child_workflow_type


class ChildWorkflowCancelled(ChildWorkflowFailed):
    """The child workflow was cancelled."""

    def __init__(
        self,
        message: str,
        exception_class: str | None = None,
        child_workflow_run_id: str | None = None,
        child_workflow_type: str | None = None,
    ) -> None:
        super().__init__(message, exception_class, "cancelled", child_workflow_run_id, child_workflow_type)


class ChildWorkflowTerminated(ChildWorkflowFailed):
    """The child workflow was terminated."""

    def __init__(
        self,
        message: str,
        exception_class: str | None = None,
        child_workflow_run_id: str | None = None,
        child_workflow_type: str | None = None,
    ) -> None:
        super().__init__(message, exception_class, "terminated", child_workflow_run_id, child_workflow_type)


class _RequestError(DurableWorkflowError):
    def __init__(
        self, message: str, reason: str | None = None, status: int | None = None, body: Any = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.status = status
        self.body = body


class SignalFailed(_RequestError):
    """The server refused a signal (closed run, unknown name, conflicting request id)."""

    def __init__(
        self,
        message: str,
        reason: str | None = None,
        status: int | None = None,
        body: Any = None,
        request_id: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message, reason, status, body)
        self.request_id = request_id
        self.details = details


class QueryFailed(_RequestError):
    """A query could not be answered (unknown name, handler error, no worker, timeout)."""


class UpdateRejected(DurableWorkflowError):
    """The workflow rejected an update before accepting it."""

    def __init__(
        self,
        message: str,
        exception_type: str | None = None,
        validation_errors: Any = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exception_type = exception_type
        self.validation_errors = validation_errors
        self.body = body


class UpdateValidationFailed(DurableWorkflowError):
    """The server could not run the update validator."""

    def __init__(
        self,
        message: str,
        reason: str | None = None,
        status: int | None = None,
        retryable: bool = False,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.status = status
        self.retryable = retryable
        self.body = body


class InvalidArgument(DurableWorkflowError):
    """The server rejected the request's arguments (HTTP 422)."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class UpdateFailed(InvalidArgument):
    """An accepted update's handler failed."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        body: Any = None,
        reason: str | None = None,
        request_id: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.reason = reason
        self.request_id = request_id
        self.details = details


class ScheduleNotFound(DurableWorkflowError):
    """No schedule with this id exists."""

    def __init__(self, schedule_id: str) -> None:
        super().__init__(f"schedule not found: {schedule_id}")
        self.schedule_id = schedule_id


class ScheduleAlreadyExists(DurableWorkflowError):
    """A schedule with this id already exists."""

    def __init__(self, schedule_id: str) -> None:
        super().__init__(f"schedule already exists: {schedule_id}")
        self.schedule_id = schedule_id


class WorkerNotFound(DurableWorkflowError):
    """No worker with this id is registered."""

    def __init__(self, worker_id: str) -> None:
        super().__init__(f"worker not found: {worker_id}")
        self.worker_id = worker_id


class SearchAttributeNotFound(DurableWorkflowError):
    """No search attribute with this name exists."""

    def __init__(self, name: str) -> None:
        super().__init__(f"search attribute not found: {name}")
        self.name = name


class Unauthorized(DurableWorkflowError):
    """The bearer token is missing or not valid for this route."""

    def __init__(self, message: str = "unauthorized") -> None:
        super().__init__(message)
        self.message = message


class ServerError(DurableWorkflowError):
    """The server answered with an error the SDK has no narrower type for."""

    def __init__(self, status: int, body: Any = None) -> None:
        self.status = status
        self.body = body
        self.reason = body.get("reason") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else body
        super().__init__(f"server error {status}: {message or self.reason or ''}".rstrip(": "))


class ScheduleListError(ServerError):
    """Listing schedules failed."""


class RuntimeDiscoveryUnavailable(DurableWorkflowError):
    """Cluster info could not be read, so a capability-gated call cannot proceed."""

    def __init__(
        self, operation: str, required_path: str, message: str | None = None, cause: Any = None
    ) -> None:
        super().__init__(message or f"{operation}: cluster info does not publish {required_path}")
        self.operation = operation
        self.required_path = required_path
        self.cause = cause


class RuntimeCapabilityUnsupported(DurableWorkflowError):
    """The server does not advertise a capability the call needs."""

    def __init__(
        self,
        operation: str,
        capability: str,
        message: str | None = None,
        supported_values: Any = None,
    ) -> None:
        super().__init__(message or f"{operation}: server does not support {capability}")
        self.operation = operation
        self.capability = capability
        self.supported_values = supported_values


class NonDeterministicReplayError(DurableWorkflowError):
    """Workflow code no longer matches its recorded history."""

    def __init__(
        self,
        workflow_sequence: int | None,
        expected_shape: str,
        recorded_event_types: list[str] | None = None,
        detail: str | None = None,
    ) -> None:
        self.workflow_sequence = workflow_sequence
        self.expected_shape = expected_shape
        self.recorded_event_types = list(recorded_event_types or [])
        self.detail = detail
        text = (
            f"non-deterministic replay at workflow sequence {workflow_sequence}: "
            f"code yielded {expected_shape}, history recorded {self.recorded_event_types}"
        )
        super().__init__(f"{text}; {detail}" if detail else text)


class WorkflowPayloadDecodeError(DurableWorkflowError):
    """A payload in history could not be decoded."""

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        for key, value in context.items():
            setattr(self, key, value)


class ExternalPayloadError(DurableWorkflowError):
    """An externally stored payload could not be used."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        retryable: bool = False,
        reference_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable
        self.reference_id = reference_id
        self.body = body


class ExternalPayloadNotFound(ExternalPayloadError):
    """The referenced payload does not exist."""


class ExternalPayloadExpired(ExternalPayloadError):
    """The referenced payload has expired."""


class ExternalPayloadUnauthorized(ExternalPayloadError):
    """Not allowed to read the referenced payload."""


class ExternalPayloadUnavailable(ExternalPayloadError):
    """The payload store is unavailable."""


class ExternalPayloadOversized(ExternalPayloadError):
    """The payload is larger than allowed."""


class ExternalPayloadUnsupported(ExternalPayloadError):
    """The payload reference is not supported."""


class ExternalPayloadIntegrityMismatch(ExternalPayloadError):
    """The payload's size or hash does not match its reference."""


class ExternalPayloadIntegrityError(ExternalPayloadIntegrityMismatch):
    """An externally stored payload is missing, truncated or changed (size or SHA-256 differ).

    Raised by the SDK's own verification (``fetch_external_payload``); a subclass of
    :class:`ExternalPayloadIntegrityMismatch`, so either name catches it.
    """

    def __init__(self, message: str, *, reference: Any = None) -> None:
        super().__init__(message)
        self.reference = reference


_EXTERNAL_BY_REASON: dict[str, type[ExternalPayloadError]] = {
    "external_payload_not_found": ExternalPayloadNotFound,
    "external_payload_expired": ExternalPayloadExpired,
    "external_payload_unauthorized": ExternalPayloadUnauthorized,
    "external_payload_unavailable": ExternalPayloadUnavailable,
    "external_payload_oversized": ExternalPayloadOversized,
    "external_payload_unsupported": ExternalPayloadUnsupported,
    "external_payload_integrity_mismatch": ExternalPayloadIntegrityMismatch,
}
_QUERY_409 = {
    "query_rejected",
    "query_worker_unavailable",
    "query_worker_incompatible",
    "query_workflow_state_unavailable",
}
_QUERY_504 = {"query_worker_timeout", "query_worker_execution_timeout", "query_task_not_claimed"}


def error_from_response(
    status: int,
    body: Any,
    *,
    context: str | None = None,
    namespace: str | None = None,
    operation: str | None = None,
) -> DurableWorkflowError:
    """Map a non-2xx response onto the narrowest exception.

    ``context`` is the id the call was about (a workflow or schedule id);
    ``operation`` is the SDK call (``"signal"``, ``"query"``, ``"update"``, ``"list_schedules"``).
    """
    data = body if isinstance(body, dict) else {}
    reason = data.get("reason")
    message = str(data.get("message") or (body if isinstance(body, str) else "") or reason or status)
    ctx = context or ""
    if reason in _EXTERNAL_BY_REASON:
        return _EXTERNAL_BY_REASON[reason](message, status=status, body=body)
    if status == 401:
        return Unauthorized(message)
    if operation == "list_schedules" and status in (400, 403, 409, 422):
        return ScheduleListError(status, body)
    if status == 404:
        if reason == "unknown_signal":
            return SignalFailed(message, reason, status, body)
        if reason in ("query_not_found", "rejected_unknown_query"):
            return QueryFailed(message, reason, status, body)
        if reason == "schedule_not_found":
            return ScheduleNotFound(ctx)
        if reason == "namespace_not_found":
            return NamespaceNotFound(namespace or ctx)
        if reason == "worker_not_found":
            return WorkerNotFound(ctx)
        if reason == "search_attribute_not_found":
            return SearchAttributeNotFound(ctx)
        if reason in ("instance_not_found", "workflow_not_found", "run_not_found") or "workflow" in ctx:
            return WorkflowNotFound(ctx)
        return ServerError(status, body)
    if status == 409:
        op = data.get("control_plane_operation") or (data.get("control_plane") or {}).get("operation")
        if reason == "schedule_already_exists":
            return ScheduleAlreadyExists(ctx)
        if reason in ("duplicate_not_allowed", "instance_already_started"):
            return WorkflowAlreadyStarted(ctx)
        if reason == "run_not_active" and (op or operation) == "signal":
            return SignalFailed(message, reason, status, body)
        if reason == "run_not_active" and (op or operation) == "query":
            return QueryFailed(message, reason, status, body)
        if reason in _QUERY_409:
            return QueryFailed(message, reason, status, body)
        if reason in ("update_rejected", "update_validator_rejected"):
            return UpdateRejected(message, body=body)
        if isinstance(reason, str) and (
            reason.startswith("update_validation_")
            or reason.startswith("update_validator_")
            or reason == "stale_update_validation_completion"
        ):
            return UpdateValidationFailed(message, reason, status, bool(data.get("retryable")), body)
        if reason == "request_id_conflict":
            if operation == "update" or data.get("retained_command_type") == "update":
                return UpdateFailed(message, status, body, reason, data.get("request_id"))
            return SignalFailed(message, reason, status, body, data.get("request_id"))
        return ServerError(status, body)
    if status == 504 and reason in _QUERY_504:
        return QueryFailed(message, reason, status, body)
    if status == 422:
        if reason == "update_validator_rejected":
            return UpdateRejected(message, body=body)
        if reason == "invalid_signal_arguments":
            return SignalFailed(message, reason, status, body)
        if reason == "invalid_query_arguments":
            return QueryFailed(message, reason, status, body)
        if data.get("update_status") == "failed":
            return UpdateFailed(str(data.get("failure_message") or message), status, body, reason)
        errors = data.get("errors") or data.get("validation_errors")
        return InvalidArgument(message, errors if isinstance(errors, dict) else None)
    return ServerError(status, body)
