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
from datetime import UTC, datetime, timedelta
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
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import IntegrityError

from bot.models import Contribution

__all__ = ["DEFAULT_URL_ENV", "Delivery", "FetchMark", "LockHeld", "RunRecord", "Store", "default_url"]


class LockHeld(RuntimeError):
    """Another live process holds the lock; the message names it."""

DEFAULT_URL_ENV = "EVENTBOT_DB_URL"

metadata = MetaData()

#: A UTC instant. MariaDB's DATETIME has no time zone (everything stored is UTC, see `_utc`) and
#: keeps microseconds only when asked to (fsp=6).
UtcDateTime = DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event", String(191), nullable=False, index=True),
    Column("command", String(64), nullable=False),
    Column("now", UtcDateTime, nullable=False),
    Column("started", UtcDateTime, nullable=False),
    Column("finished", UtcDateTime),
    Column("status", String(32), nullable=False, default="running"),
    Column("counts", Text, nullable=False, default="{}"),
    Column("detail", Text),
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)


#: Every contribution fetched, shared by all events (a revision is the same fact for each).
contributions = Table(
    "contributions",
    metadata,
    Column("wiki", String(64), nullable=False),
    Column("revid", BigInteger, nullable=False),
    Column("user", String(255), nullable=False),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("namespace", Integer, nullable=False),
    Column("title", String(512), nullable=False),
    Column("size_change", Integer, nullable=False),
    Column("created", Boolean, nullable=False),
    Column("redirect", Boolean, nullable=False),
    Column("page_id", BigInteger, nullable=False),
    PrimaryKeyConstraint("wiki", "revid"),
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)

#: How far each user's contributions on a wiki are known: [fetched_from, fetched_until).
fetch_marks = Table(
    "fetch_marks",
    metadata,
    Column("wiki", String(64), nullable=False),
    Column("user", String(191), nullable=False),
    Column("fetched_from", UtcDateTime, nullable=False),
    Column("fetched_until", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("wiki", "user"),
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)


#: The follow-up delivery ledger: one row per campaign and recipient. `intent` is written
#: before the edit and `posted` (with the revision id) after it; an `intent` left by a crash
#: is resolved by looking for the message's marker on the talk page before any retry.
deliveries = Table(
    "deliveries",
    metadata,
    Column("campaign", String(191), nullable=False),
    Column("user", String(191), nullable=False),
    Column("wiki", String(64), nullable=False),
    Column("title", String(512), nullable=False),
    Column("state", String(16), nullable=False),
    Column("revid", BigInteger),
    Column("language", String(16)),
    Column("detail", Text),
    Column("updated", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("campaign", "user"),
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)

#: Named locks with an owner and an expiry, so one sender runs per campaign at a time.
locks = Table(
    "locks",
    metadata,
    Column("name", String(191), primary_key=True),
    Column("owner", String(191), nullable=False),
    Column("expires", UtcDateTime, nullable=False),
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)

#: Scheduled tasks that are settled (see bot.schedule): `done` (ran to the end) or `missed` (found
#: after its misfire grace had passed). A key names one occurrence, e.g. `ttt-2026:refresh:2026-07-03`
#: or `ttt-2026:campaign:feedback`, so `eventbot run-due` does each thing once however often it runs.
task_runs = Table(
    "task_runs",
    metadata,
    Column("task_key", String(191), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("done_at", UtcDateTime, nullable=False),
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)

TASK_STATES = ("done", "missed")

#: The wikis where each person's global account has edits (CentralAuth), refreshed weekly.
global_accounts = Table(
    "global_accounts",
    metadata,
    Column("user", String(191), primary_key=True),
    Column("wikis", Text, nullable=False),
    Column("fetched", UtcDateTime, nullable=False),
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)

DELIVERY_STATES = ("intent", "posted", "skipped", "failed")


@dataclass(frozen=True)
class Delivery:
    """The ledger's word on one recipient of one campaign."""

    campaign: str
    user: str
    wiki: str
    title: str
    state: str
    revid: int | None
    detail: str | None
    updated: datetime
    language: str | None = None


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
                known = {(row[0], row[1]) for row in conn.execute(
                    select(contributions.c.wiki, contributions.c.revid).where(
                        tuple_(contributions.c.wiki, contributions.c.revid).in_(chunk)))}
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

    def forget_fetch_marks(self, users: Sequence[str]) -> int:
        """Forget how far `users`' contributions are known, on every wiki, so the next run
        fetches their whole range again (for revisions that appeared later with older
        timestamps: imports, undeletions). The stored contributions stay; new ones are added."""
        removed = 0
        with self.engine.begin() as conn:
            for offset in range(0, len(users), 500):
                chunk = list(users[offset : offset + 500])
                result = conn.execute(delete(fetch_marks).where(fetch_marks.c.user.in_(chunk)))
                removed += int(result.rowcount)
        return removed

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

    # -- global accounts ----------------------------------------------------------------------

    def global_wikis(self, users: Sequence[str], *, newer_than: datetime) -> dict[str, list[str]]:
        """The stored wiki lists of `users` fetched after `newer_than`."""
        found: dict[str, list[str]] = {}
        with self.engine.connect() as conn:
            for offset in range(0, len(users), 500):
                chunk = list(users[offset : offset + 500])
                for row in conn.execute(select(global_accounts).where(and_(
                        global_accounts.c.user.in_(chunk),
                        global_accounts.c.fetched > newer_than.astimezone(UTC)))).mappings():
                    found[row["user"]] = json.loads(row["wikis"])
        return found

    def save_global_wikis(self, wikis: Mapping[str, Sequence[str]], fetched: datetime) -> None:
        """Remember each user's wikis with the time they were asked for."""
        users = list(wikis)
        with self.engine.begin() as conn:
            for offset in range(0, len(users), 500):
                chunk = users[offset : offset + 500]
                conn.execute(delete(global_accounts).where(global_accounts.c.user.in_(chunk)))
                conn.execute(insert(global_accounts), [
                    {"user": u, "wikis": json.dumps(list(wikis[u])), "fetched": fetched.astimezone(UTC)}
                    for u in chunk])

    # -- delivery ledger --------------------------------------------------------------------

    def deliveries(self, campaign: str) -> dict[str, Delivery]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(deliveries).where(deliveries.c.campaign == campaign)).mappings()
            return {row["user"]: _delivery_of(row) for row in rows}

    def record_delivery(self, campaign: str, user: str, *, wiki: str, title: str, state: str,
                        revid: int | None = None, detail: str | None = None,
                        language: str | None = None) -> None:
        """Write (or overwrite) the ledger row of one recipient, committed before returning."""
        if state not in DELIVERY_STATES:
            raise ValueError(f"unknown delivery state {state!r}")
        values = {"wiki": wiki, "title": title, "state": state, "revid": revid, "detail": detail,
                  "language": language, "updated": datetime.now(UTC)}
        with self.engine.begin() as conn:
            changed = conn.execute(update(deliveries).where(and_(
                deliveries.c.campaign == campaign, deliveries.c.user == user)).values(**values))
            if changed.rowcount == 0:
                conn.execute(insert(deliveries).values(campaign=campaign, user=user, **values))

    def forget_deliveries(self, campaign: str, users: Sequence[str] | None = None) -> int:
        """Remove ledger rows so a campaign can be re-run on purpose (never automatically)."""
        query = delete(deliveries).where(deliveries.c.campaign == campaign)
        if users is not None:
            query = query.where(deliveries.c.user.in_(list(users)))
        with self.engine.begin() as conn:
            return int(conn.execute(query).rowcount)

    # -- locks --------------------------------------------------------------------------------

    def acquire_lock(self, name: str, owner: str, ttl: timedelta, *,
                     is_dead: typing.Callable[[str], bool] | None = None) -> None:
        """Take the named lock or raise `LockHeld`. An expired lock, or one whose owner
        `is_dead(owner)` says has died (a killed process on this host), is taken over."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            try:
                with conn.begin_nested():
                    conn.execute(insert(locks).values(name=name, owner=owner, expires=now + ttl))
                return
            except IntegrityError:
                pass
            row = conn.execute(select(locks).where(locks.c.name == name)).mappings().first()
            if row is None:
                raise LockHeld(f"lock {name!r} changed hands while being taken; try again")
            holder, expires = row["owner"], _utc(row["expires"])
            if holder != owner and expires > now and not (is_dead and is_dead(holder)):
                raise LockHeld(f"{name!r} is held by {holder} until {expires:%Y-%m-%d %H:%M:%S} UTC")
            taken = conn.execute(update(locks).where(and_(
                locks.c.name == name, locks.c.owner == holder)).values(owner=owner, expires=now + ttl))
            if taken.rowcount != 1:
                raise LockHeld(f"lock {name!r} changed hands while being taken; try again")

    def refresh_lock(self, name: str, owner: str, ttl: timedelta) -> bool:
        """Extend a lock we hold; False if we no longer hold it (then stop working)."""
        with self.engine.begin() as conn:
            result = conn.execute(update(locks).where(and_(locks.c.name == name, locks.c.owner == owner))
                                  .values(expires=datetime.now(UTC) + ttl))
            return bool(result.rowcount == 1)

    def release_lock(self, name: str, owner: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(locks).where(and_(locks.c.name == name, locks.c.owner == owner)))

    # -- scheduled tasks (bot.schedule) ------------------------------------------------------

    def mark_task_done(self, key: str, status: str = "done") -> None:
        """Record that the task `key` is settled: `done`, or `missed` (past its misfire grace)."""
        if status not in TASK_STATES:
            raise ValueError(f"unknown task state {status!r}")
        values = {"status": status, "done_at": datetime.now(UTC)}
        with self.engine.begin() as conn:
            changed = conn.execute(update(task_runs).where(task_runs.c.task_key == key).values(**values))
            if changed.rowcount == 0:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(task_runs).values(task_key=key, **values))
                except IntegrityError:  # another process settled it meanwhile: same outcome
                    pass

    def task_done(self, key: str) -> bool:
        """True when the task `key` is settled (done or missed)."""
        return key in self.tasks_done([key])

    def tasks_done(self, keys: Iterable[str]) -> set[str]:
        """The settled ones among `keys`."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                found.update(conn.execute(select(task_runs.c.task_key).where(
                    task_runs.c.task_key.in_(chunk))).scalars())
        return found


def _delivery_of(row: RowMapping) -> Delivery:
    return Delivery(campaign=row["campaign"], user=row["user"], wiki=row["wiki"], title=row["title"],
                    state=row["state"], revid=row["revid"], detail=row["detail"],
                    updated=_utc(row["updated"]), language=row["language"])


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
