"""Persistence: domain verbs over SQLite (and PostgreSQL next). Decides nothing."""

from __future__ import annotations

from .base import Store, StoreVersionError, Transaction

__all__ = ["Store", "StoreVersionError", "Transaction", "open_store"]


async def open_store(url: str) -> Store:
    """Open (and migrate) the database named by ``url``.

    ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` and
    ``sqlite:///:memory:`` are supported.
    """
    if not isinstance(url, str) or "://" not in url:
        raise ValueError(f"database URL must look like 'sqlite:///path.db', got {url!r}")
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    if scheme == "sqlite":
        if not rest.startswith("/") or rest == "/":
            raise ValueError(
                f"SQLite URL must be 'sqlite:///path.db' or 'sqlite:///:memory:', got {url!r}"
            )
        path = rest[1:]
        from .sqlite import SqliteStore

        return await SqliteStore.open(path)
    if scheme in ("postgres", "postgresql"):
        raise ValueError(
            f"the PostgreSQL back end is not available yet (got {url!r}); use sqlite:///path.db"
        )
    raise ValueError(
        f"unsupported database URL scheme {scheme!r} in {url!r}; use sqlite:///path.db"
    )
