"""The state database: what eventbot did and when (SQLAlchemy Core).

SQLite in a local data folder by default; any SQLAlchemy URL works (ToolsDB is MariaDB:
`mysql+pymysql://...`). This module is the only one that knows the tables. Table and column
choices keep MariaDB in mind: utf8mb4 text, bounded VARCHARs for keys.
"""

from __future__ import annotations

import json
import os
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    RowMapping,
    String,
    Table,
    Text,
    and_,
    create_engine,
    delete,
    insert,
    select,
    tuple_,
    update,
)

from bot.models import Contribution

__all__ = ["DEFAULT_URL_ENV", "FetchMark", "RunRecord", "Store", "default_url"]

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


#: Every contribution fetched, shared by all events (a revision is the same fact for each).
contributions = Table(
    "contributions",
    metadata,
    Column("wiki", String(64), nullable=False),
    Column("revid", BigInteger, nullable=False),
    Column("user", String(255), nullable=False),
    Column("timestamp", DateTime(timezone=True), nullable=False),
    Column("namespace", Integer, nullable=False),
    Column("title", String(512), nullable=False),
    Column("size_change", Integer, nullable=False),
    Column("created", Boolean, nullable=False),
    Column("redirect", Boolean, nullable=False),
    Column("page_id", BigInteger, nullable=False),
    PrimaryKeyConstraint("wiki", "revid"),
    mysql_charset="utf8mb4",
)

#: How far each user's contributions on a wiki are known: [fetched_from, fetched_until).
fetch_marks = Table(
    "fetch_marks",
    metadata,
    Column("wiki", String(64), nullable=False),
    Column("user", String(191), nullable=False),
    Column("fetched_from", DateTime(timezone=True), nullable=False),
    Column("fetched_until", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("wiki", "user"),
    mysql_charset="utf8mb4",
)


@dataclass(frozen=True)
class FetchMark:
    """The span of time for which a user's contributions on a wiki are all in the store."""

    wiki: str
    user: str
    fetched_from: datetime
    fetched_until: datetime


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


@typing.overload
def _utc(value: datetime) -> datetime: ...
@typing.overload
def _utc(value: None) -> None: ...
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
                id=row["id"], event=row["event"], command=row["command"], now=_utc(row["now"]),
                started=_utc(row["started"]), finished=_utc(row["finished"]),
                status=row["status"], counts=json.loads(row["counts"] or "{}"), detail=row["detail"],
            )
            for row in rows
        ]

    # -- contributions cache ------------------------------------------------------------

    def save_contributions(self, items: Iterable[Contribution]) -> int:
        """Store contributions, ignoring ones already stored. Returns how many were new."""
        rows = {(c.wiki, c.revid): c for c in items}
        if not rows:
            return 0
        new = 0
        with self.engine.begin() as conn:
            keys = list(rows)
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                known = set(conn.execute(
                    select(contributions.c.wiki, contributions.c.revid).where(
                        tuple_(contributions.c.wiki, contributions.c.revid).in_(chunk))
                ).tuples())
                fresh = [rows[k] for k in chunk if k not in known]
                if fresh:
                    conn.execute(insert(contributions), [_contribution_row(c) for c in fresh])
                    new += len(fresh)
        return new

    def load_contributions(self, wiki: str, users: Sequence[str], start: datetime,
                           end: datetime) -> list[Contribution]:
        """Stored contributions by `users` on `wiki` with start <= timestamp < end."""
        found: list[Contribution] = []
        with self.engine.connect() as conn:
            for offset in range(0, len(users), 500):
                chunk = list(users[offset : offset + 500])
                result = conn.execute(select(contributions).where(and_(
                    contributions.c.wiki == wiki, contributions.c.user.in_(chunk),
                    contributions.c.timestamp >= start.astimezone(UTC),
                    contributions.c.timestamp < end.astimezone(UTC),
                ))).mappings()
                found.extend(_contribution_of(row) for row in result)
        return found

    def fetch_marks(self, wiki: str, users: Sequence[str]) -> dict[str, FetchMark]:
        marks: dict[str, FetchMark] = {}
        with self.engine.connect() as conn:
            for offset in range(0, len(users), 500):
                chunk = list(users[offset : offset + 500])
                for row in conn.execute(select(fetch_marks).where(and_(
                    fetch_marks.c.wiki == wiki, fetch_marks.c.user.in_(chunk)))).mappings():
                    marks[row["user"]] = FetchMark(
                        wiki=row["wiki"], user=row["user"],
                        fetched_from=_utc(row["fetched_from"]),
                        fetched_until=_utc(row["fetched_until"]),
                    )
        return marks

    def set_fetch_marks(self, wiki: str, users: Sequence[str], fetched_from: datetime,
                        fetched_until: datetime) -> None:
        """Record that every contribution of `users` in [from, until) is stored."""
        with self.engine.begin() as conn:
            for offset in range(0, len(users), 500):
                chunk = list(users[offset : offset + 500])
                conn.execute(delete(fetch_marks).where(and_(
                    fetch_marks.c.wiki == wiki, fetch_marks.c.user.in_(chunk))))
                conn.execute(insert(fetch_marks), [
                    {"wiki": wiki, "user": user, "fetched_from": fetched_from.astimezone(UTC),
                     "fetched_until": fetched_until.astimezone(UTC)} for user in chunk
                ])


def _contribution_row(c: Contribution) -> dict[str, object]:
    return {
        "wiki": c.wiki, "revid": c.revid, "user": c.user, "timestamp": c.timestamp.astimezone(UTC),
        "namespace": c.namespace, "title": c.title, "size_change": c.size_change,
        "created": c.created, "redirect": c.redirect, "page_id": c.page_id,
    }


def _contribution_of(row: RowMapping) -> Contribution:
    return Contribution(
        wiki=row["wiki"], user=row["user"], revid=int(row["revid"]), timestamp=_utc(row["timestamp"]),
        namespace=int(row["namespace"]), title=row["title"], size_change=int(row["size_change"]),
        created=bool(row["created"]), redirect=bool(row["redirect"]), page_id=int(row["page_id"]),
    )
