"""Durable async functions without a server: the decorator API of seed 004.

::

    from durable_workflow.lite import Workflow            # or: from durable import Workflow
    from durable_workflow.lite.backoff import exponential  # or: from durable.backoff import ...

Runs and step results are stored in the same database as the server (tables
``lite_runs``/``lite_steps``); list them with ``Workflow.list_runs()`` or ``dw lite list``.
"""

from __future__ import annotations

from . import backoff
from .backoff import constant, exponential, linear
from .errors import (
    DefinitionError,
    DurableError,
    InvalidArgumentError,
    LeaseLostError,
    RunConflictError,
    RunIdError,
    SerializationError,
    StoreUnavailableError,
    StoreURLError,
)
from .store import (
    DEFAULT_DB,
    Claim,
    PostgresStore,
    RunInfo,
    SQLiteStore,
    StepInfo,
    Store,
    store_from_url,
)
from .workflow import DurableFunction, RunContext, Task, Workflow, current_run

__all__ = [
    "DEFAULT_DB",
    "Claim",
    "DefinitionError",
    "DurableError",
    "DurableFunction",
    "InvalidArgumentError",
    "LeaseLostError",
    "PostgresStore",
    "RunConflictError",
    "RunContext",
    "RunIdError",
    "RunInfo",
    "SQLiteStore",
    "SerializationError",
    "StepInfo",
    "Store",
    "StoreURLError",
    "StoreUnavailableError",
    "Task",
    "Workflow",
    "backoff",
    "constant",
    "current_run",
    "exponential",
    "linear",
    "store_from_url",
]
