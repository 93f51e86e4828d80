"""Session-wide fixtures: the back ends every store-touching test runs on.

``store_url`` is parametrised over SQLite (a file in the test's tmp dir) and PostgreSQL
(one database per xdist worker, created at first use, truncated before each test and
dropped at the end of the session), so one run covers both back ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import pg

BACKENDS = [pytest.param("sqlite", id="sqlite"),
            pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[str]:
    """This worker's PostgreSQL database (fails, never skips, if the server is unreachable)."""
    url = pg.create_database()
    try:
        yield url
    finally:
        pg.drop_database(url)


@pytest.fixture
def pg_url(pg_session_url: str) -> str:
    """The worker's database, emptied for this test."""
    pg.truncate(pg_session_url)
    return pg_session_url


@pytest.fixture
def pg_fresh_url() -> Iterator[str]:
    """A database of its own (for tests whose servers outlive a truncate: real processes)."""
    url = pg.create_database()
    try:
        yield url
    finally:
        pg.drop_database(url)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'dw.db'}"
