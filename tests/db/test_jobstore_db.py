"""The scheduler's state on both backends (SQLite and MariaDB, see tests/conftest.py): the
APScheduler job store across a stop of a simulated day, `task_runs`, and `run-due` idempotence.

The downtime test: the scheduler plans its jobs "a day ago" (a clock one day behind, started
paused, so nothing runs), is shut down, and starts again now. On restart every missed job runs
exactly once (the daily ones coalesced, though two of their run times passed), a campaign missed
by more than the misfire grace is not run but logged and recorded, and the schedule continues:
a campaign due a moment later runs on time and the daily jobs wait for tomorrow. A third start
runs nothing again.
"""

from __future__ import annotations

import logging
import threading
import time as time_mod
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot import schedule
from bot.config import EventConfig
from bot.schedule import Task, TaskResult
from bot.store import Store

IST = ZoneInfo("Asia/Kolkata")
REPO = Path(__file__).resolve().parents[2]


class Recorder:
    """A runner that records each task (kind, name) and succeeds."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, event: EventConfig, task: Task, now: datetime, store: Store) -> TaskResult:
        with self.lock:
            self.calls.append((task.kind, task.name))
        return TaskResult("ok", {"edits": 1})


@pytest.fixture(autouse=True)
def _no_stop() -> Iterator[None]:
    schedule.clear_stop()
    yield
    schedule.clear_stop()


def write_event(folder: Path, now: datetime) -> None:
    """An event under way, with campaigns at moments relative to `now`."""
    campaigns = {
        "on-time-soon": now + timedelta(seconds=2),      # after the restart: runs on time
        "late-ok": now - timedelta(minutes=30),          # missed by 30 min: within the grace
        "too-late": now - timedelta(hours=20),           # missed by 20 h: beyond the grace
    }
    lines = ["id: live", "title: Live event", f"start: {(now - timedelta(days=2)).date()}",
             f"end: {(now + timedelta(days=1)).date()}", "timezone: Asia/Kolkata",
             "pages: {participants: P, report: R}", "registration:", "  - page: Reg", "campaigns:"]
    for name, moment in campaigns.items():
        lines += [f"  - name: {name}", f'    when: "{moment.isoformat(timespec="seconds")}"',
                  f"    message: M/{name}", f'    title: "T {name}"']
    (folder / "live.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def jobs_in_store(url: str) -> dict[str, float | None]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(f"SELECT id, next_run_time FROM {schedule.JOBS_TABLE}")).all()
    finally:
        engine.dispose()
    return {row[0]: row[1] for row in rows}


def wait_for(condition: object, timeout: float) -> bool:
    deadline = time_mod.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time_mod.monotonic() > deadline:
            return False
        time_mod.sleep(0.05)
    return True


def test_restart_after_a_day_runs_each_missed_job_once(db_url: str, tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    now = datetime.now(IST).replace(microsecond=0)
    write_event(folder, now)
    grace = timedelta(hours=2)
    # The daily tasks run at the local time of an hour ago: yesterday's and today's run fall
    # into the downtime, today's is within the grace.
    at = (now - timedelta(hours=1)).time().replace(second=0)
    runner = Recorder()

    # 1. A day ago: the scheduler plans its jobs, then is stopped (started paused: nothing runs).
    day_ago = schedule.build_scheduler(folder, db_url, runner, misfire_grace=grace, at=at, background=True,
                                       clock=lambda: datetime.now(IST) - timedelta(days=1))
    day_ago.start(paused=True)
    day_ago.shutdown()
    planned = jobs_in_store(db_url)
    assert set(planned) == {"live:refresh:daily", "live:report:daily", "live:campaign:on-time-soon",
                            "live:campaign:late-ok", "live:campaign:too-late"}
    # The daily jobs were next due a day ago: that run and today's both fall into the downtime.
    day_before = (now - timedelta(days=1, hours=1)).timestamp()
    assert abs((planned["live:refresh:daily"] or 0) - day_before) < 60
    assert runner.calls == []

    # 2. Restarted now, a day later.
    with caplog.at_level(logging.INFO):
        restarted = schedule.build_scheduler(folder, db_url, runner, misfire_grace=grace, at=at,
                                             background=True)
        restarted.start()
        try:
            assert wait_for(lambda: len(runner.calls) >= 4, timeout=5), runner.calls
            time_mod.sleep(0.3)  # anything extra would show up now
            today = (now - timedelta(hours=1)).date().isoformat()
            assert sorted(runner.calls) == sorted([
                ("refresh", today), ("report", today), ("campaign", "late-ok"), ("campaign", "on-time-soon")])
            # The schedule continues: the daily jobs' next runs are a day later.
            jobs = {job.id: job for job in restarted.get_jobs(jobstore="default")}
            assert set(jobs) == {"live:refresh:daily", "live:report:daily"}
            assert jobs["live:refresh:daily"].next_run_time > datetime.now(IST) + timedelta(hours=22)
        finally:
            schedule.stop_gracefully(restarted)
    assert 'Run time of job "live:campaign:too-late' in caplog.text  # APScheduler's own warning
    assert "live:campaign:too-late: missed: due " in caplog.text

    store = Store(db_url)
    runs = {r.command: r for r in store.runs("live", limit=50)}
    assert runs["scheduler:campaign:too-late"].status == "missed"
    assert "more than the misfire grace of 2 h" in (runs["scheduler:campaign:too-late"].detail or "")
    assert runs["scheduler:campaign:late-ok"].status == "ok"
    assert runs[f"scheduler:refresh:{today}"].status == "ok"
    settled = [f"live:refresh:{today}", f"live:report:{today}", "live:campaign:late-ok",
               "live:campaign:too-late", "live:campaign:on-time-soon"]
    assert store.tasks_done(settled) == set(settled)

    # 3. Another restart: nothing runs twice.
    calls = len(runner.calls)
    again = schedule.build_scheduler(folder, db_url, runner, misfire_grace=grace, at=at, background=True)
    again.start()
    try:
        time_mod.sleep(0.5)
    finally:
        schedule.stop_gracefully(again)
    assert len(runner.calls) == calls
    assert len([r for r in Store(db_url).runs("live", limit=50) if r.status == "missed"]) == 1


def test_task_runs_round_trip(db_url: str) -> None:
    store = Store(db_url)
    keys = ["e:refresh:2026-07-03", "e:Refresh:2026-07-03", "e:campaign:తెలుగు", "e:campaign:తెలుగ"]
    assert store.tasks_done(keys) == set()
    store.mark_task_done(keys[0])
    store.mark_task_done(keys[2], "missed")
    store.mark_task_done(keys[2])  # settling twice is harmless
    assert store.tasks_done(keys) == {keys[0], keys[2]}  # keys compare exactly (binary collation)
    assert store.task_done(keys[0]) and not store.task_done(keys[1])
    with pytest.raises(ValueError, match="unknown task state"):
        store.mark_task_done(keys[1], "maybe")


def test_run_due_is_idempotent(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "ttt.yaml").write_text((REPO / "config/events/ttt-2026.yaml").read_text(encoding="utf-8"),
                                     encoding="utf-8")
    store, runner = Store(db_url), Recorder()
    now = datetime(2026, 7, 13, 10, 1, tzinfo=IST)  # the feedback request is due at 10:00
    for minutes in (0, 0, 5, 10):
        schedule.run_due(folder, store, runner, now + timedelta(minutes=minutes))
    assert runner.calls == [("refresh", "2026-07-13"), ("report", "2026-07-13"), ("campaign", "feedback")]
    # The pre-work reminder (10 days earlier) was recorded as missed, once.
    assert [r.command for r in store.runs("ttt-2026") if r.status == "missed"] == ["run-due:campaign:prework"]
