"""Numbered schema migrations. Each step moves the database from ``version - 1`` to ``version``.

A step is a list of SQL statements per dialect, so both back ends share the numbering.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import m0001_initial, m0002_workflow_model, m0003_control_plane, m0004_lite


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: Callable[[str], list[str]]  # dialect -> SQL statements


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial", m0001_initial.statements),
    Migration(2, "workflow_model", m0002_workflow_model.statements),
    Migration(3, "control_plane", m0003_control_plane.statements),
    Migration(4, "lite", m0004_lite.statements),
)

LATEST_VERSION = MIGRATIONS[-1].version


def pending(current: int) -> list[Migration]:
    """Steps still to apply to a database at ``current`` (0 = empty database)."""
    return [m for m in MIGRATIONS if m.version > current]
