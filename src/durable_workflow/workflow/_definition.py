"""``@workflow.defn`` and the receiver decorators.

Receiver tables (signal/query/update names -> method names) are built once, when the class
is decorated, so replay never re-inspects the class.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

__all__ = [
    "WorkflowDefinition",
    "defn",
    "get_definition",
    "query",
    "registry",
    "signal",
    "update",
    "update_validator",
]

T = TypeVar("T", bound=type)
F = TypeVar("F", bound=Callable[..., Any])

_DEFINITION_ATTR = "__durable_workflow_definition__"
_SIGNAL_ATTR = "__durable_workflow_signal__"
_QUERY_ATTR = "__durable_workflow_query__"
_UPDATE_ATTR = "__durable_workflow_update__"
_VALIDATOR_ATTR = "__durable_workflow_update_validator__"

_REGISTRY: dict[str, type] = {}


@dataclass(frozen=True)
class WorkflowDefinition:
    """What ``@workflow.defn`` learned about a workflow class."""

    name: str
    cls: type
    signals: Mapping[str, str]
    queries: Mapping[str, str]
    updates: Mapping[str, str]
    update_validators: Mapping[str, str]


def _check_name(kind: str, name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{kind} name must be a non-empty string, got {name!r}")
    return name


def _marker(attr: str, kind: str, name: str) -> Callable[[F], F]:
    _check_name(kind, name)

    def mark(fn: F) -> F:
        setattr(fn, attr, name)
        return fn

    return mark


def signal(name: str) -> Callable[[F], F]:
    """Mark a method as the handler of signal ``name``; it is re-run at its history position on replay."""
    return _marker(_SIGNAL_ATTR, "signal", name)


def query(name: str) -> Callable[[F], F]:
    """Mark a read-only method as the handler of query ``name``."""
    return _marker(_QUERY_ATTR, "query", name)


def update_validator(name: str) -> Callable[[F], F]:
    """Mark a method as the validator of update ``name``; raising rejects the update."""
    return _marker(_VALIDATOR_ATTR, "update", name)


def update(name: str) -> Callable[[F], F]:
    """Mark a method as the handler of update ``name``.

    The decorated function gains a ``.validator`` decorator registering its validator.
    """
    _check_name("update", name)

    def mark(fn: F) -> F:
        setattr(fn, _UPDATE_ATTR, name)
        fn.validator = update_validator(name)  # type: ignore[attr-defined]
        return fn

    return mark


def _table(cls: type, attr: str, kind: str) -> Mapping[str, str]:
    table: dict[str, str] = {}
    # Walk the MRO base-first so a subclass override wins.
    for klass in reversed(cls.__mro__):
        for member_name, member in vars(klass).items():
            target = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
            receiver = getattr(target, attr, None)
            if isinstance(receiver, str):
                previous = table.get(receiver)
                if previous is not None and previous != member_name and klass is cls:
                    raise ValueError(f"{cls.__qualname__}: {kind} {receiver!r} is handled twice")
                table[receiver] = member_name
    return MappingProxyType(table)


def defn(*, name: str) -> Callable[[T], T]:
    """Register a class as workflow type ``name`` (the language-neutral type key)."""
    _check_name("workflow", name)

    def decorate(cls: T) -> T:
        if not callable(getattr(cls, "run", None)):
            raise TypeError(
                f"workflow class {cls.__qualname__} must define a run(self, ctx, *args) method"
            )
        definition = WorkflowDefinition(
            name=name,
            cls=cls,
            signals=_table(cls, _SIGNAL_ATTR, "signal"),
            queries=_table(cls, _QUERY_ATTR, "query"),
            updates=_table(cls, _UPDATE_ATTR, "update"),
            update_validators=_table(cls, _VALIDATOR_ATTR, "update validator"),
        )
        setattr(cls, _DEFINITION_ATTR, definition)
        _REGISTRY[name] = cls
        return cls

    return decorate


def get_definition(cls: type) -> WorkflowDefinition:
    """The definition stored by ``@workflow.defn``; TypeError if ``cls`` was not decorated."""
    # vars(), not getattr(): an undecorated subclass must not inherit its parent's registration.
    definition = vars(cls).get(_DEFINITION_ATTR)
    if not isinstance(definition, WorkflowDefinition):
        raise TypeError(
            f"{getattr(cls, '__qualname__', cls)!r} is not decorated with @workflow.defn"
        )
    return definition


def registry() -> dict[str, type]:
    """A copy of the workflow types registered in this process (name -> class)."""
    return dict(_REGISTRY)
