"""PostgreSQL dialect of the lite store verbs (``lite_verbs.LiteVerbs``).

``get_lite_run_for_update`` locks the run row until commit. Concurrent lite operations of one
process share a transaction (group commit) and may lock several run rows in any order: a
deadlock (40P01) is reported by ``PostgresStore.transaction`` as ``StoreConflict`` and the
lite store reruns the operations.
"""

from __future__ import annotations

from ._verbs import PostgresHooks
from .lite_verbs import LiteVerbs

__all__ = ["PostgresLiteVerbs"]


class PostgresLiteVerbs(LiteVerbs, PostgresHooks):
    """Mixed into ``PostgresTransaction``."""

    _FOR_UPDATE = " FOR UPDATE"
