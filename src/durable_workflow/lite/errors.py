"""Errors of the lite decorator API. Every bad input raises one of these, naming the problem.

::

    DurableError                      base of everything raised by durable_workflow.lite
    ├── InvalidArgumentError          (ValueError) a bad value: retries, backoff, lease, db, ...
    │   ├── RunIdError                the run id template cannot be resolved from the arguments
    │   ├── RunConflictError          the run id already belongs to another workflow of the app
    │   └── StoreURLError             the store URL is malformed or its scheme is unknown
    ├── DefinitionError               (TypeError) decorating something that cannot be durable
    ├── SerializationError            (TypeError) a result is not JSON-serializable
    ├── LeaseLostError                another process took the run over; this one must stop
    └── StoreUnavailableError         the store's back end cannot be opened
"""

from __future__ import annotations

__all__ = [
    "DefinitionError",
    "DurableError",
    "InvalidArgumentError",
    "LeaseLostError",
    "RunConflictError",
    "RunIdError",
    "SerializationError",
    "StoreURLError",
    "StoreUnavailableError",
]


class DurableError(Exception):
    """Base class of every error raised by the lite API."""


class InvalidArgumentError(DurableError, ValueError):
    """An argument has a value the lite API cannot use."""


class RunIdError(InvalidArgumentError):
    """The workflow's ``id`` template cannot be resolved from the call's arguments."""


class RunConflictError(InvalidArgumentError):
    """The resolved run id is already used by a different workflow of the same app."""

    def __init__(self, message: str, *, run_id: str, workflow: str, existing_workflow: str) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.workflow = workflow
        self.existing_workflow = existing_workflow


class StoreURLError(InvalidArgumentError):
    """A store URL is malformed or names an unsupported scheme."""


class DefinitionError(DurableError, TypeError):
    """A decorator was applied to something it cannot make durable."""


class SerializationError(DurableError, TypeError):
    """A task or workflow returned a value that cannot be stored as JSON."""

    def __init__(self, message: str, *, name: str, run_id: str) -> None:
        super().__init__(message)
        self.name = name
        self.run_id = run_id


class LeaseLostError(DurableError):
    """This process no longer holds the run's lease (it expired and another process took over)."""

    def __init__(self, message: str, *, run_id: str) -> None:
        super().__init__(message)
        self.run_id = run_id


class StoreUnavailableError(DurableError):
    """The selected store cannot be opened (missing driver, back end not built, ...)."""
