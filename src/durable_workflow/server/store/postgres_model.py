"""PostgreSQL dialect of the workflow-model store verbs (``model_verbs.ModelVerbs``).

The SQL is the shared one. Locking: every caller in the engine has already locked the run
these rows belong to (``get_run``/``get_workflow`` are ``FOR UPDATE``), so the rows of
``child_calls``, ``workflow_updates`` and ``cancel_requests`` are only changed under their
run's lock; concurrent inserts of one key become ``StoreConflict`` (unique violation).
"""

from __future__ import annotations

from ._verbs import PostgresHooks
from .model_verbs import ModelVerbs

__all__ = ["PostgresModelVerbs"]


class PostgresModelVerbs(ModelVerbs, PostgresHooks):
    """Mixed into ``PostgresTransaction``."""
