"""The state database: what eventbot did and when (SQLAlchemy Core).

SQLite in a local data folder by default; any SQLAlchemy URL works (ToolsDB is MariaDB:
`mysql+pymysql://...`). This module is the only one that knows the tables. Table and column
choices keep MariaDB in mind: utf8mb4 text, bounded VARCHARs for keys.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    select,
    update,
)

__all__ = ["DEFAULT_URL_ENV", "RunRecord", "Store", "default_url"]

DEFAULT_URL_ENV = "EVENTBOT_DB_URL"

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event", String(191), nullable=False, index=True),
    Column("command", String(64), nullable=False),
    Column("now", DateTime(timezone=True), nullable=False),
    Column("started", DateTime(timezone=True), nullable=False),
    Column("finished", DateTime(timezone=True)),
    Column("status", String(32), nullable=False, default="running"),
    Column("counts", Text, nullable=False, default="{}"),
    Column("detail", Text),
    mysql_charset="utf8mb4",
)


@dataclass(frozen=True)
class RunRecord:
    """One row of `runs`: a command run for an event, with its outcome counts."""

    id: int
    event: str
    command: str
    now: datetime
    started: datetime
    finished: datetime | None
    status: str
    counts: Mapping[str, int]
    detail: str | None


def default_url() -> str:
    """$EVENTBOT_DB_URL, or a SQLite file in ./data (created on first use)."""
    url = os.environ.get(DEFAULT_URL_ENV)
    if url:
        return url
    path = Path(os.environ.get("EVENTBOT_DATA_DIR", "data")) / "eventbot.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path.resolve()}"


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class Store:
    """Access to the state database. Create with a URL; tables are created when missing."""

    def __init__(self, url: str | None = None, *, engine: Engine | None = None) -> None:
        self.url = url or default_url()
        self.engine = engine or create_engine(self.url, future=True, pool_pre_ping=True)
        metadata.create_all(self.engine)

    def start_run(self, event: str, command: str, now: datetime) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(runs).values(event=event, command=command, now=now.astimezone(UTC),
                                    started=datetime.now(UTC), status="running", counts="{}")
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def finish_run(self, run_id: int, status: str, counts: Mapping[str, int],
                   detail: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(runs).where(runs.c.id == run_id).values(
                    finished=datetime.now(UTC), status=status,
                    counts=json.dumps(dict(counts), sort_keys=True), detail=detail,
                )
            )

    def runs(self, event: str | None = None, limit: int = 20) -> list[RunRecord]:
        query = select(runs).order_by(runs.c.id.desc()).limit(limit)
        if event is not None:
            query = query.where(runs.c.event == event)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            RunRecord(
                id=row["id"], event=row["event"], command=row["command"], now=_utc(row["now"]),  # type: ignore[arg-type]
                started=_utc(row["started"]), finished=_utc(row["finished"]),  # type: ignore[arg-type]
                status=row["status"], counts=json.loads(row["counts"] or "{}"), detail=row["detail"],
            )
            for row in rows
        ]
