"""Persistence: domain verbs over SQLite (and PostgreSQL next). Decides nothing."""

from __future__ import annotations

from .base import Store, StoreConflict, StoreVersionError, Transaction, redact, retry_conflicts

__all__ = [
    "Store",
    "StoreConflict",
    "StoreVersionError",
    "Transaction",
    "open_store",
    "retry_conflicts",
]

_USAGE = "use sqlite:///path.db or postgresql://user@host:5432/dbname"


async def open_store(url: str) -> Store:
    """Open (and migrate) the database named by ``url``.

    ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, ``sqlite:///:memory:``
    and ``postgresql://user[:password]@host[:port]/dbname[?libpq-options]`` (or
    ``postgres://``; needs the ``postgres`` extra) are supported.
    """
    if not isinstance(url, str) or "://" not in url:
        raise ValueError(f"database URL must look like a URL ({_USAGE}), got {url!r}")
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
        from .postgres import PostgresStore

        if not rest.strip("/"):
            raise ValueError(f"PostgreSQL URL names no server or database: {redact(url)!r}")
        return await PostgresStore.open(url)
    raise ValueError(
        f"unsupported database URL scheme {scheme!r} in {redact(url)!r}; {_USAGE}"
    )
