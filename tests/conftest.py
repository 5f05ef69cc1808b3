"""Fixtures for every test: the state database on both backends, SQLite and a real MariaDB.

A test that takes `db_url` runs twice, `[sqlite]` and `[mariadb]`. The MariaDB server is the
private one of scripts/test-mariadb (started here, or reused in < 1 s); each test session gets a
fresh database on it, and every test starts with no tables at all.

Without MariaDB (not Debian, not root, no PyMySQL) the `[mariadb]` tests are skipped with the
reason, unless EVENTBOT_REQUIRE_MARIADB is set (as `make test` does): then they fail.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parents[1]
TEST_MARIADB = REPO / "scripts" / "test-mariadb"
REQUIRE_MARIADB = "EVENTBOT_REQUIRE_MARIADB"

# Tests never talk to a real wiki. pywikibot, imported without a configuration, would default
# to Wikimedia's sites; pointing it at the sandbox farm before any test module loads means it
# finds the farm's configuration (or none at all, and fails loudly).
os.environ["PYWIKIBOT_DIR"] = str(
    Path(os.environ.get("EVENTBOT_SANDBOX", REPO / ".sandbox")).resolve() / "pywikibot")
_real_getaddrinfo = socket.getaddrinfo
_LOOPBACK = ("localhost", "127.", "::1", "ip6-localhost")


def _loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
    """Refuse to resolve any name but loopback: a test that tries reaches nothing outside."""
    name = host.decode() if isinstance(host, bytes) else str(host)
    if not name.startswith(_LOOPBACK):
        raise OSError(f"tests may only talk to 127.0.0.1 (a test tried to reach {name!r})")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_only


def _no_mariadb(reason: str) -> None:
    if os.environ.get(REQUIRE_MARIADB):
        pytest.fail(f"MariaDB is required ({REQUIRE_MARIADB} is set) but {reason}", pytrace=False)
    pytest.skip(f"no MariaDB: {reason}")


def _mariadb_url() -> str:
    try:
        import pymysql  # noqa: F401
    except ImportError:
        _no_mariadb("PyMySQL is not installed (pip install -e '.[test]')")
    try:
        done = subprocess.run([sys.executable, str(TEST_MARIADB), "start"], capture_output=True,
                              text=True, timeout=900)
    except subprocess.TimeoutExpired:
        _no_mariadb("`scripts/test-mariadb start` did not finish in 15 minutes")
    if done.returncode != 0 or not done.stdout.strip():
        _no_mariadb(f"`scripts/test-mariadb start` failed (exit {done.returncode}):\n{done.stderr.strip()}")
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session", params=["sqlite", "mariadb"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The SQLAlchemy URL of an empty state database for this session, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'state.sqlite'}"
        return
    server = sa.make_url(_mariadb_url())
    name = f"{server.database}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, poolclass=NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        admin.dispose()


@pytest.fixture(autouse=True)
def _empty_db(request: pytest.FixtureRequest) -> None:
    """Every test that uses `db_url` starts with no tables (whoever's metadata made them)."""
    if "db_url" not in request.fixturenames:
        return
    engine = sa.create_engine(request.getfixturevalue("db_url"), poolclass=NullPool)
    try:
        tables = sa.MetaData()
        tables.reflect(engine)
        tables.drop_all(engine)
    finally:
        engine.dispose()
