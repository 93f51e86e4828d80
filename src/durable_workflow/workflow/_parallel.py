"""Parallel groups: ``yield [a, b, [c, d]]`` (worker-plane.md §5, history-events.md §3.2).

Every list node is a group. Its base sequence is the sequence of its first leaf, its size the
number of leaves below it, and a leaf's index is its position among those leaves. A leaf
carries the path of its groups (outermost first) plus a copy of the innermost entry.
"""

from __future__ import annotations

from typing import Any, Final

from ._commands import ScheduleActivity, StartChildWorkflow, StartTimer

__all__ = ["GROUP_KEYS", "Leaf", "flatten", "leaf_metadata", "outermost"]

Leaf = ScheduleActivity | StartTimer | StartChildWorkflow

GROUP_KEYS: Final = (
    "parallel_group_id",
    "parallel_group_kind",
    "parallel_group_base_sequence",
    "parallel_group_size",
    "parallel_group_index",
)
_KINDS: Final[dict[type, tuple[str, str]]] = {
    ScheduleActivity: ("activity", "parallel-activities"),
    StartTimer: ("timer", "parallel-timers"),
    StartChildWorkflow: ("child", "parallel-children"),
}
_MIXED: Final = ("mixed", "parallel-calls")


def flatten(tree: list[Any]) -> list[Leaf]:
    """The leaves of ``tree`` in order; TypeError for members that cannot run in parallel."""
    leaves: list[Leaf] = []
    for item in tree:
        if isinstance(item, list):
            leaves.extend(flatten(item))
        elif isinstance(item, (ScheduleActivity, StartTimer, StartChildWorkflow)):
            leaves.append(item)
        else:
            raise TypeError(
                "a parallel list may only hold activities, timers, child workflows or nested lists, "
                f"got {type(item).__name__}"
            )
    return leaves


def _node_spans(tree: list[Any]) -> list[list[tuple[int, int]]]:
    """For each leaf, the ``(first_leaf, leaf_count)`` of its enclosing lists, outermost first."""
    spans: list[list[tuple[int, int]]] = []
    counter = [0]

    def count(node: list[Any]) -> int:
        return sum(count(i) if isinstance(i, list) else 1 for i in node)

    def walk(node: list[Any], outer: list[tuple[int, int]]) -> None:
        here = [*outer, (counter[0], count(node))]
        for item in node:
            if isinstance(item, list):
                walk(item, here)
            else:
                spans.append(here)
                counter[0] += 1

    walk(tree, [])
    return spans


def leaf_metadata(tree: list[Any], leaves: list[Leaf], base: int) -> list[dict[str, Any]]:
    """The wire group metadata of every leaf when the group's first leaf gets sequence ``base``."""
    spans = _node_spans(tree)
    out: list[dict[str, Any]] = []
    for index, span in enumerate(spans):
        path = []
        for first, size in span:
            kinds = {_KINDS[type(leaves[i])] for i in range(first, first + size)}
            kind, prefix = kinds.pop() if len(kinds) == 1 else _MIXED
            group_base = base + first
            path.append(
                {
                    "parallel_group_id": f"{prefix}:{group_base}:{size}",
                    "parallel_group_kind": kind,
                    "parallel_group_base_sequence": group_base,
                    "parallel_group_size": size,
                    "parallel_group_index": index - first,
                }
            )
        meta: dict[str, Any] = dict(path[-1])
        meta["parallel_group_path"] = path
        out.append(meta)
    return out


def outermost(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The outermost group entry recorded on an event, or None when it carries no metadata."""
    path = payload.get("parallel_group_path")
    if isinstance(path, list) and path and isinstance(path[0], dict):
        return path[0]
    if payload.get("parallel_group_id") is not None:
        return payload
    return None
