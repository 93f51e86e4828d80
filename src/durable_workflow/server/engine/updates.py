"""Workflow updates (semantics §9): admission, optional validation, ``UpdateAccepted`` and the
update task, ``complete_update``/``fail_update``, and answering the waiting caller.

Validators run *before* acceptance, so a rejected update writes nothing: when a worker of the
run's queue declares a validator for the update (``workflow_command_contracts[type]
.update_validators``), the engine sends it an in-memory validation task through the query-task
channel (``task_kind: "update_validation"``, only to workers with the
``dw_update_validation`` capability: our SDK's Worker). The official SDK's own multiplexed
validation protocol is not implemented (and not advertised), so its Worker refuses validators;
an update whose name no registered contract declares is rejected with 409 ``update_rejected``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...protocol import codec
from ...protocol import events as ev
from ..store.rows import RunRow, UpdateRow
from .errors import Conflict, EngineError, InvalidArgument, LeaseConflict, RunNotActive
from .ids import ulid
from .runctx import RunContext

if TYPE_CHECKING:
    from .service import Engine

VALIDATION_CAPABILITY = "dw_update_validation"
UPDATE_COMMANDS = ("complete_update", "fail_update")
WAIT_STAGES = ("accepted", "completed")

# update_id -> futures of callers waiting for its completion (ids are ULIDs: process-unique).
_WAITERS: dict[str, list[asyncio.Future[None]]] = {}


def _wake(update_id: str) -> None:
    for fut in _WAITERS.pop(update_id, []):
        if not fut.done():
            fut.set_result(None)


def _error(status: int, reason: str, message: str, **extra: Any) -> EngineError:
    err = EngineError(message, reason=reason, **extra)
    err.status = status
    return err


def _contracts(workers: list[Any], workflow_type: str) -> list[dict[str, Any]]:
    out = []
    for worker in workers:
        contracts = worker.workflow_command_contracts
        contract = contracts.get(workflow_type) if isinstance(contracts, dict) else None
        if isinstance(contract, dict) and isinstance(contract.get("updates"), list):
            out.append(contract)
    return out


class UpdatesMixin:
    """``Engine`` methods for updates."""

    async def update_workflow(
        self: Engine,
        ns: str,
        workflow_id: str,
        update_name: str,
        *,
        input: Any,
        request_id: str | None,
        wait_for: str,
        wait_timeout_seconds: float,
    ) -> tuple[int, dict[str, Any]]:
        """Admit, validate, accept; then answer at ``wait_for`` (semantics §9)."""
        blob = input.get("blob") if isinstance(input, dict) else input
        fingerprint = hashlib.sha256(
            json.dumps([update_name, blob], separators=(",", ":")).encode()
        ).hexdigest()
        existing, run, validate = await self._admit_update(
            ns, workflow_id, update_name, request_id, fingerprint
        )
        if existing is None:
            if validate:
                await self.validate_update(ns, run, update_name, input)
            existing = await self._accept_update(
                ns, workflow_id, run, update_name, input, request_id, fingerprint
            )
        return await self._update_answer(existing, wait_for, wait_timeout_seconds)

    async def _admit_update(
        self: Engine,
        ns: str,
        workflow_id: str,
        name: str,
        request_id: str | None,
        fingerprint: str,
    ) -> tuple[UpdateRow | None, RunRow, bool]:
        async with self._txn() as (tx, _effects, _now):
            _wf, run = await self._instance(tx, ns, workflow_id)
            if request_id:
                seen = await tx.update_by_request(ns, workflow_id, request_id)
                if seen is not None:
                    if seen.fingerprint != fingerprint:
                        raise LeaseConflict(
                            f"request_id {request_id!r} was already used for a different update",
                            reason="request_id_conflict",
                            retained_command_type="update",
                            request_id=request_id,
                            retained_command_id=seen.update_id,
                            conflict="request_id_reused_with_different_intent",
                        )
                    return seen, run, False
            if not run.is_open:
                raise RunNotActive(
                    f"Workflow {workflow_id!r} run {run.run_id} is {run.status}; it cannot receive updates.",
                    workflow_id=workflow_id,
                    run_id=run.run_id,
                    control_plane_operation="update",
                )
            contracts = _contracts(await tx.workers_of_queue(ns, run.task_queue), run.workflow_type)
        if contracts and not any(name in c["updates"] for c in contracts):
            raise Conflict(
                f"workflow type {run.workflow_type!r} declares no update {name!r}",
                reason="update_rejected",
                workflow_id=workflow_id,
                run_id=run.run_id,
                update_name=name,
            )
        validate = any(name in (c.get("update_validators") or []) for c in contracts)
        return None, run, validate

    async def _accept_update(
        self: Engine,
        ns: str,
        workflow_id: str,
        admitted: RunRow,
        name: str,
        input: Any,
        request_id: str | None,
        fingerprint: str,
    ) -> UpdateRow:
        async with self._txn() as (tx, effects, now):
            _wf, run = await self._instance(tx, ns, workflow_id)
            if run.run_id != admitted.run_id or not run.is_open:
                raise RunNotActive(
                    f"Workflow {workflow_id!r} run {admitted.run_id} closed while the update was validated.",
                    workflow_id=workflow_id,
                    run_id=admitted.run_id,
                    control_plane_operation="update",
                )
            row = UpdateRow(
                update_id=ulid(now),
                namespace=ns,
                workflow_id=workflow_id,
                run_id=run.run_id,
                update_name=name,
                arguments=input,
                request_id=request_id,
                fingerprint=fingerprint,
                status="accepted",
                task_id=None,
                result=None,
                failure=None,
                created_at=now,
                closed_at=None,
            )
            await tx.insert_update(row)
            ctx = self._ctx(tx, run, now, effects)
            await ctx.deliver(
                ev.UPDATE_ACCEPTED,
                {"update_id": row.update_id, "update_name": name, "arguments": input},
                wakes=True,
            )
            await ctx.save()
            return row

    async def _update_answer(
        self: Engine, row: UpdateRow, wait_for: str, wait_timeout: float
    ) -> tuple[int, dict[str, Any]]:
        timed_out = False
        if wait_for == "completed" and row.status == "accepted":
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            _WAITERS.setdefault(row.update_id, []).append(fut)
            try:
                row = await self._read_update(row.update_id)
                if row.status == "accepted":
                    await asyncio.wait((fut,), timeout=max(0.0, wait_timeout))
                    row = await self._read_update(row.update_id)
                    timed_out = row.status == "accepted"
            finally:
                waiters = _WAITERS.get(row.update_id)
                if waiters is not None and fut in waiters:
                    waiters.remove(fut)
                    if not waiters:
                        _WAITERS.pop(row.update_id, None)
        base = {
            "workflow_id": row.workflow_id,
            "run_id": row.run_id,
            "update_id": row.update_id,
            "update_name": row.update_name,
            "request_id": row.request_id,
            "wait_for": wait_for,
            "wait_timed_out": timed_out,
        }
        if row.status == "completed":
            return 200, {
                **base,
                "update_status": "completed",
                "outcome": "update_completed",
                "result": None,
                "result_envelope": row.result,
            }
        if row.status == "failed":
            failure = row.failure or {}
            message = str(failure.get("message") or "update failed")
            raise InvalidArgument(
                message,
                reason=str(failure.get("reason") or "update_failed"),
                update_status="failed",
                failure_message=message,
                failure_id=failure.get("failure_id"),
                exception_type=failure.get("exception_type"),
                **{k: base[k] for k in ("workflow_id", "run_id", "update_id", "update_name")},
            )
        return 202, {**base, "update_status": "accepted", "outcome": "update_accepted", "result": None}

    async def _read_update(self: Engine, update_id: str) -> UpdateRow:
        async with self._txn() as (tx, _effects, _now):
            row = await tx.get_update(update_id)
        assert row is not None
        return row

    async def validate_update(self: Engine, ns: str, run: RunRow, name: str, input: Any) -> None:
        """Run the update's validator on a worker before anything is written."""
        outcome = await self.run_side_task(  # type: ignore[attr-defined]
            ns,
            run,
            kind="update_validation",
            name=name,
            arguments=input,
            timeout=self.config.max_poll_seconds / 2,
            capability=VALIDATION_CAPABILITY,
        )
        if outcome.get("failure") is not None:
            failure = outcome["failure"]
            message = str(failure.get("message") or "update validator rejected the update")
            raise _error(
                422,
                "update_validator_rejected",
                message,
                workflow_id=run.workflow_id,
                run_id=run.run_id,
                update_name=name,
                exception_type=failure.get("type"),
            )


def check_update_task(commands: Any, update: UpdateRow) -> dict[str, list[str]]:
    """An update task answers with exactly one ``complete_update``/``fail_update`` for its update."""
    if not isinstance(commands, list) or len(commands) != 1 or not isinstance(commands[0], dict):
        return {"commands": ["an update task is completed with exactly one complete_update or fail_update command"]}
    cmd = commands[0]
    errors: dict[str, list[str]] = {}
    if cmd.get("type") not in UPDATE_COMMANDS:
        errors["commands.0.type"] = [f"must be one of {', '.join(UPDATE_COMMANDS)} in an update task"]
    elif cmd.get("update_id") != update.update_id:
        errors["commands.0.update_id"] = [f"must be {update.update_id!r}, the update of this task"]
    elif cmd["type"] == "complete_update" and cmd.get("result") is not None:
        try:
            codec.validate_envelope(cmd["result"], "commands.0.result")
        except codec.PayloadDecodeError as exc:
            errors["commands.0.result"] = [str(exc)]
    elif cmd["type"] == "fail_update" and not (isinstance(cmd.get("message"), str) and cmd["message"]):
        errors["commands.0.message"] = ["is required"]
    return errors


async def apply_update_task(ctx: RunContext, update: UpdateRow, cmd: Mapping[str, Any]) -> None:
    """Record the update's outcome: ``UpdateApplied`` + ``UpdateCompleted``, or only the latter."""
    base = {"update_id": update.update_id, "update_name": update.update_name}
    if cmd["type"] == "complete_update":
        applied: dict[str, Any] = {**base, "arguments": update.arguments}
        wait = ctx.run.open_wait
        if wait:
            applied["sequence"] = wait["sequence"]
        ctx.append(ev.UPDATE_APPLIED, applied)
        ctx.append(ev.UPDATE_COMPLETED, {**base, "result": cmd.get("result")})
        changes: dict[str, Any] = {"status": "completed", "result": cmd.get("result")}
    else:
        failure = {
            "message": cmd.get("message"),
            "exception_type": cmd.get("exception_type"),
            "exception_class": cmd.get("exception_class"),
            "non_retryable": bool(cmd.get("non_retryable", True)),
            "failure_id": ulid(ctx.now),
        }
        ctx.append(ev.UPDATE_COMPLETED, {**base, **failure})
        changes = {"status": "failed", "failure": {**failure, "reason": "update_failed"}}
    await ctx.tx.change_update(update.update_id, {**changes, "closed_at": ctx.now})
    ctx.effects.after_commit.append(lambda: _wake(update.update_id))


async def fail_open_updates(ctx: RunContext) -> None:
    """The run closed: updates still pending fail, and their callers are answered."""
    for update in await ctx.tx.open_updates(ctx.run.run_id):
        message = f"workflow run {ctx.run.run_id} closed ({ctx.run.status}) before update {update.update_name!r} completed"
        await ctx.tx.change_update(
            update.update_id,
            {
                "status": "failed",
                "failure": {"message": message, "reason": "update_failed", "exception_type": "RunClosed"},
                "closed_at": ctx.now,
            },
        )
        update_id = update.update_id
        ctx.effects.after_commit.append(lambda uid=update_id: _wake(uid))  # type: ignore[misc]
