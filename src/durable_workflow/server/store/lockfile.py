"""One server per SQLite file: ``dw server start`` holds ``<db>.server.lock`` (``flock``).

SQLite has one writer and no cross-process notifications, so two servers on one file
would each leave the other's tasks unannounced and fight for the write lock. The second
server is refused at start with the holder's pid. The kernel drops the lock when the
holder dies (even by SIGKILL), so a restart after a crash just works. Embedded clients
do not take the lock: they may share the file with a server (see ``sqlite.py``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO

__all__ = ["ServerLock", "ServerLockError", "acquire_server_lock"]


class ServerLockError(RuntimeError):
    """Another live process already serves this database file."""


class ServerLock:
    """A held lock; :meth:`release` (or process exit) frees it."""

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self._handle: IO[str] | None = handle

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def acquire_server_lock(db_url: str) -> ServerLock | None:
    """Lock the SQLite file named by ``db_url``; None for in-memory or non-SQLite URLs."""
    scheme, _, rest = db_url.partition("://")
    if scheme.lower() != "sqlite" or not rest.startswith("/"):
        return None
    db = rest[1:]
    if db in ("", ":memory:"):
        return None
    path = Path(db).resolve()
    lock_path = path.with_name(path.name + ".server.lock")
    handle = open(lock_path, "a+")  # noqa: SIM115 - held for the life of the server
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise ServerLockError(
            f"database {path} is already served by process {holder} (lock file {lock_path}); "
            "stop that server, or use PostgreSQL to run several servers on one database"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return ServerLock(lock_path, handle)
