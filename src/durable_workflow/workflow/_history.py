"""One pass over a run's history, indexing what the replayer consumes (history-events.md §3, §5.6).

* ``results``: resolution events in history order (what yields receive);
* ``pending``: operations with only scheduled-type events (what blocks the code);
* ``waits``: ``ConditionWaitOpened`` records with their outcome and bound receivers;
* ``positional``: signal/update receivers applied by result position.

Nothing is decoded here; payloads are decoded once, when the code consumes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from ..protocol import events as ev

__all__ = ["History", "Op", "Receiver", "Result", "Wait", "index_history", "recorded_kind"]

ACTIVITY: Final = "activity"
TIMER: Final = "timer"
CHILD: Final = "child"
SIDE_EFFECT: Final = "side_effect"
VERSION: Final = "version"
SEARCH_ATTRIBUTES: Final = "search_attributes"
MEMO: Final = "memo"

# event type -> (operation kind, is resolution)
_OPERATION_EVENTS: Final[dict[str, tuple[str, bool]]] = {
    ev.ACTIVITY_SCHEDULED: (ACTIVITY, False),
    ev.ACTIVITY_STARTED: (ACTIVITY, False),
    ev.ACTIVITY_COMPLETED: (ACTIVITY, True),
    ev.ACTIVITY_FAILED: (ACTIVITY, True),
    ev.ACTIVITY_TIMED_OUT: (ACTIVITY, True),
    ev.ACTIVITY_CANCELLED: (ACTIVITY, True),
    ev.TIMER_SCHEDULED: (TIMER, False),
    ev.TIMER_FIRED: (TIMER, True),
    ev.CHILD_WORKFLOW_SCHEDULED: (CHILD, False),
    ev.CHILD_RUN_STARTED: (CHILD, False),
    ev.CHILD_RUN_COMPLETED: (CHILD, True),
    ev.CHILD_RUN_FAILED: (CHILD, True),
    ev.CHILD_RUN_CANCELLED: (CHILD, True),
    ev.CHILD_RUN_TERMINATED: (CHILD, True),
    ev.SIDE_EFFECT_RECORDED: (SIDE_EFFECT, True),
    ev.VERSION_MARKER_RECORDED: (VERSION, True),
    ev.SEARCH_ATTRIBUTES_UPSERTED: (SEARCH_ATTRIBUTES, True),
    ev.MEMO_UPSERTED: (MEMO, True),
}
_TIMER_EVENTS: Final = frozenset({ev.TIMER_SCHEDULED, ev.TIMER_FIRED, ev.TIMER_CANCELLED})


def recorded_kind(event_type: str) -> str | None:
    """The operation kind an event belongs to, or ``None``."""
    entry = _OPERATION_EVENTS.get(event_type)
    return entry[0] if entry else None


@dataclass(slots=True, eq=False)
class Op:
    """One durable operation: every event sharing a workflow sequence."""

    sequence: int | None
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    resolved: bool = False


@dataclass(slots=True, eq=False)
class Result:
    """A resolution event, in the order yields consume them."""

    op: Op
    event_type: str
    kind: str
    payload: dict[str, Any]


@dataclass(slots=True, eq=False)
class Receiver:
    """A ``SignalReceived`` or ``UpdateApplied`` event to re-run a handler for."""

    is_update: bool
    name: str
    payload: dict[str, Any]
    results_before: int
    applied: bool = False


@dataclass(slots=True, eq=False)
class Wait:
    """A recorded condition wait, its outcome and the receivers applied at it."""

    wait_id: str
    sequence: int | None
    payload: dict[str, Any]
    outcome: str | None = None  # "satisfied" | "timed_out"
    terminal: bool = False
    receivers: list[Receiver] = field(default_factory=list)

    @property
    def key(self) -> Any:
        return self.payload.get("condition_key")

    @property
    def fingerprint(self) -> Any:
        return self.payload.get("condition_definition_fingerprint")


@dataclass(slots=True, eq=False)
class History:
    """The indexed history of one run."""

    results: list[Result]
    pending: list[Op]
    waits: list[Wait]
    positional: list[Receiver]
    max_sequence: int
    started: dict[str, Any] | None
    started_recorded_at: Any
    accepted_updates: dict[str, dict[str, Any]]
    # (results recorded before it, highest sequence before it, payload) of a cooperative
    # ``CancelRequested``, if any
    cancel_request: tuple[int, int, dict[str, Any]] | None = None


def _event_type(event: dict[str, Any]) -> str | None:
    value = event.get("event_type") or event.get("type")
    return value if isinstance(value, str) else None


class _Indexer:
    """State of the single indexing pass (kept out of ``History`` so replay objects stay small)."""

    def __init__(self) -> None:
        self.ops: dict[int, Op] = {}
        self.ordered_ops: list[Op] = []
        self.unsequenced: dict[str, Op] = {}
        self.results: list[Result] = []
        self.waits: list[Wait] = []
        self.waits_by_id: dict[str, Wait] = {}
        self.legacy_timers: dict[Any, Wait] = {}
        self.positional: list[Receiver] = []
        self.current: Wait | None = None  # open wait receivers bind to
        self.limbo: list[Receiver] | None = None  # receivers after a wait's terminal event
        self.max_sequence = 0
        self.started: dict[str, Any] | None = None
        self.started_recorded_at: Any = None
        self.accepted: dict[str, dict[str, Any]] = {}
        self.cancel_request: tuple[int, int, dict[str, Any]] | None = None

    def see_sequence(self, payload: dict[str, Any]) -> int | None:
        seq = ev.workflow_sequence(payload)
        if seq is not None and seq > self.max_sequence:
            self.max_sequence = seq
        return seq

    def end_limbo(self) -> None:
        if self.limbo is not None:
            self.positional.extend(self.limbo)
            self.limbo = None

    def operation(
        self, event_type: str, kind: str, is_resolution: bool, payload: dict[str, Any]
    ) -> None:
        self.end_limbo()
        seq = self.see_sequence(payload)
        op: Op | None
        if seq is not None:
            op = self.ops.get(seq)
            if op is None:
                op = self.ops[seq] = Op(seq)
                self.ordered_ops.append(op)
        else:
            # Unsequenced (minimal) histories: a resolution closes the last open op of its kind.
            op = self.unsequenced.pop(kind, None) if is_resolution else None
            if op is None:
                op = Op(None)
                self.ordered_ops.append(op)
            if not is_resolution:
                self.unsequenced[kind] = op
        if is_resolution:
            duplicate = any(t == event_type and p == payload for t, p in op.events)
            op.events.append((event_type, payload))
            if not duplicate:
                op.resolved = True
                self.results.append(Result(op, event_type, kind, payload))
        else:
            op.events.append((event_type, payload))

    def wait_for_timer(self, event_type: str, payload: dict[str, Any]) -> Wait | None:
        """The wait owning this timer event, or None for a user timer."""
        wait_id = payload.get("condition_wait_id")
        if isinstance(wait_id, str) and wait_id in self.waits_by_id:
            return self.waits_by_id[wait_id]
        seq = ev.workflow_sequence(payload)
        timer_id = payload.get("timer_id")
        if ev.is_internal_timer(payload):
            for wait in reversed(self.waits):
                if wait.sequence is not None and wait.sequence == seq:
                    return wait
            return self.current
        for ident in (("id", timer_id), ("seq", seq)):
            if ident[1] is not None and ident in self.legacy_timers:
                return self.legacy_timers[ident]
        # The metadata-poor form of older servers: a timer with its own sequence and a
        # timer_id, scheduled while a wait is open, whose delay equals the wait's timeout.
        current = self.current
        if (
            event_type == ev.TIMER_SCHEDULED
            and current is not None
            and timer_id is not None
            and payload.get("timer_kind") is None
            and current.payload.get("timeout_seconds") is not None
            and str(payload.get("delay_seconds")) == str(current.payload.get("timeout_seconds"))
        ):
            self.legacy_timers[("id", timer_id)] = current
            if seq is not None:
                self.legacy_timers[("seq", seq)] = current
            return current
        return None

    def wait_timer(self, event_type: str, wait: Wait | None, payload: dict[str, Any]) -> None:
        self.see_sequence(payload)
        if wait is None:
            return
        if event_type == ev.TIMER_FIRED:
            wait.outcome = "timed_out"
            self.terminate(wait)
        elif event_type == ev.TIMER_CANCELLED:
            self.terminate(wait)

    def terminate(self, wait: Wait) -> None:
        wait.terminal = True
        if wait is self.current:
            self.current = None
            self.limbo = []

    def opened(self, payload: dict[str, Any]) -> None:
        wait_id = payload.get("condition_wait_id")
        if not isinstance(wait_id, str) or not wait_id:
            return  # without a server id the event is not a wait record
        seq = self.see_sequence(payload)
        wait = Wait(wait_id, seq, payload)
        previous = self.current
        if previous is not None and not previous.terminal:
            # Re-opened with no terminal event between: only the first receiver stays behind.
            wait.receivers.extend(previous.receivers[1:])
            del previous.receivers[1:]
        if self.limbo is not None:
            wait.receivers.extend(self.limbo)
            self.limbo = None
        self.waits.append(wait)
        self.waits_by_id[wait_id] = wait
        self.current = wait

    def closed(self, payload: dict[str, Any], outcome: str) -> None:
        self.see_sequence(payload)
        wait = self.waits_by_id.get(str(payload.get("condition_wait_id")))
        if wait is None:
            return
        if outcome == "timed_out" or wait.outcome is None:
            wait.outcome = outcome  # a timeout wins over a satisfaction
        self.terminate(wait)

    def receiver(self, is_update: bool, payload: dict[str, Any]) -> None:
        name = payload.get("update_name" if is_update else "signal_name")
        if not isinstance(name, str) or not name:
            return
        receiver = Receiver(is_update, name, payload, len(self.results))
        if self.current is not None:
            self.current.receivers.append(receiver)
        elif self.limbo is not None:
            self.limbo.append(receiver)
        else:
            self.positional.append(receiver)

    def feed(self, event: dict[str, Any]) -> None:
        event_type = _event_type(event)
        if event_type is None:
            return
        payload = event.get("payload")
        if not isinstance(payload, dict):
            payload = {}
        if event_type in _TIMER_EVENTS:
            wait = self.wait_for_timer(event_type, payload)
            if wait is not None or ev.is_internal_timer(payload):
                self.wait_timer(event_type, wait, payload)
                return
            if event_type == ev.TIMER_CANCELLED:
                return  # a cancelled user timer never resolves a yield
        entry = _OPERATION_EVENTS.get(event_type)
        if entry is not None:
            self.operation(event_type, entry[0], entry[1], payload)
        elif event_type == ev.CONDITION_WAIT_OPENED:
            self.opened(payload)
        elif event_type == ev.CONDITION_WAIT_SATISFIED:
            self.closed(payload, "satisfied")
        elif event_type == ev.CONDITION_WAIT_TIMED_OUT:
            self.closed(payload, "timed_out")
        elif event_type == ev.SIGNAL_RECEIVED:
            self.receiver(False, payload)
        elif event_type == ev.UPDATE_APPLIED:
            self.receiver(True, payload)
        elif event_type == ev.UPDATE_ACCEPTED:
            update_id = payload.get("update_id")
            if isinstance(update_id, str):
                self.accepted[update_id] = payload
        elif event_type == ev.CANCEL_REQUESTED and self.cancel_request is None:
            self.cancel_request = (len(self.results), self.max_sequence, payload)
        elif event_type == ev.WORKFLOW_STARTED and self.started is None:
            self.started = payload
            self.started_recorded_at = event.get("recorded_at") or event.get("timestamp")


def index_history(events: list[dict[str, Any]]) -> History:
    """Index ``events`` (dicts with ``event_type``/``type`` and ``payload``) in one pass."""
    indexer = _Indexer()
    for event in events:
        indexer.feed(event)
    indexer.end_limbo()
    return History(
        results=indexer.results,
        pending=[op for op in indexer.ordered_ops if not op.resolved],
        waits=indexer.waits,
        positional=indexer.positional,
        max_sequence=indexer.max_sequence,
        started=indexer.started,
        started_recorded_at=indexer.started_recorded_at,
        accepted_updates=indexer.accepted,
        cancel_request=indexer.cancel_request,
    )
