"""The scheduler: pure planning, `run-due` idempotence, config changes picked up by the daemon,
and a clean stop on SIGTERM. No wiki: a fake runner records what would have run.

The daemon tests use the real APScheduler with its SQLAlchemy job store on a SQLite file (the
same store on MariaDB, and the downtime test, are in tests/db/test_jobstore_db.py).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time as time_mod
import types
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import cli, schedule
from bot.config import EventConfig, load_event
from bot.schedule import Task, TaskResult
from bot.store import Store

REPO = Path(__file__).resolve().parents[2]
TTT = REPO / "config/events/ttt-2026.yaml"
IST = ZoneInfo("Asia/Kolkata")


def ist(*args: int) -> datetime:
    return datetime(*args, tzinfo=IST)  # type: ignore[misc]


def write_event(folder: Path, event_id: str, *, start: date, end: date, tz: str = "Asia/Kolkata",
                campaigns: tuple[tuple[str, str], ...] = ()) -> Path:
    """A minimal valid event file; campaigns are (name, when)."""
    lines = [f"id: {event_id}", f"title: Event {event_id}", f"start: {start}", f"end: {end}",
             f"timezone: {tz}", "pages:", "  participants: P", "  report: R", "registration:",
             "  - page: Reg"]
    if campaigns:
        lines.append("campaigns:")
        for name, when in campaigns:
            lines += [f"  - name: {name}", f'    when: "{when}"', f"    message: M/{name}",
                      f'    title: "T {name}"']
    path = folder / f"{event_id}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class FakeRunner:
    """Records every task it is given; `results` maps a task kind or name to what to return."""

    def __init__(self, results: dict[str, list[TaskResult]] | None = None) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.results = results or {}
        self.lock = threading.Lock()

    def __call__(self, event: EventConfig, task: Task, now: datetime, store: Store) -> TaskResult:
        with self.lock:
            self.calls.append((event.id, task.kind, task.name))
            queue = self.results.get(task.name) or self.results.get(task.kind)
            result = queue.pop(0) if queue else TaskResult("ok", {"edits": 1})
        if result.status == "crash":
            raise RuntimeError("the wiki went away")
        return result


@pytest.fixture(autouse=True)
def _no_stop() -> Iterator[None]:
    schedule.clear_stop()
    yield
    schedule.clear_stop()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'state.sqlite'}")


# -- planning (pure) --------------------------------------------------------------------------------


def test_task_specs_of_the_example_event() -> None:
    event = load_event(TTT)
    specs = {spec.job_id: spec for spec in schedule.task_specs(event)}
    assert list(specs) == ["ttt-2026:refresh:daily", "ttt-2026:report:daily", "ttt-2026:campaign:prework",
                           "ttt-2026:campaign:feedback", "ttt-2026:campaign:followup-30d"]
    assert specs["ttt-2026:campaign:prework"].at == ist(2026, 7, 3, 9, 0)
    assert specs["ttt-2026:campaign:feedback"].at == ist(2026, 7, 13, 10, 0)
    # Daily until the last statistics window (after-180, retention 2 x 90) has closed.
    assert specs["ttt-2026:refresh:daily"].last == date(2027, 1, 9)
    assert specs["ttt-2026:refresh:daily"].first is None
    assert specs["ttt-2026:report:daily"].first == date(2026, 7, 10)


def test_plan_in_time_order_with_keys_by_local_date() -> None:
    event = load_event(TTT)
    tasks = schedule.plan([event], start=ist(2026, 7, 2, 0, 0), end=ist(2026, 7, 4, 0, 0))
    assert [(t.key, f"{t.due:%Y-%m-%d %H:%M}") for t in tasks] == [
        ("ttt-2026:refresh:2026-07-02", "2026-07-02 06:00"),
        ("ttt-2026:refresh:2026-07-03", "2026-07-03 06:00"),
        ("ttt-2026:campaign:prework", "2026-07-03 09:00"),
    ]
    year = schedule.plan([event], start=ist(2026, 1, 1, 0, 0), end=ist(2028, 1, 1, 0, 0))
    assert sum(t.kind == "campaign" for t in year) == 3
    assert max(t.due for t in year) == ist(2027, 1, 9, 6, 0)  # nothing after the last window


def test_daily_time_follows_the_local_clock_across_dst(tmp_path: Path) -> None:
    event = load_event(write_event(tmp_path, "berlin", start=date(2026, 3, 20), end=date(2026, 3, 30),
                                   tz="Europe/Berlin"))
    spec = schedule.task_specs(event, at=time(2, 30))[0]
    days = spec.between(datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))
    # 02:30 does not exist on 29 March (clocks go from 02:00 to 03:00): it moves forward.
    assert [f"{d:%m-%d %H:%M %Z}" for d in days] == ["03-28 02:30 CET", "03-29 03:30 CEST",
                                                     "03-30 02:30 CEST"]


def test_due_coalesces_daily_tasks_and_respects_the_grace() -> None:
    event = load_event(TTT)
    grace = timedelta(hours=12)
    # Three days after the last run: only today's refresh is due (the missed days coalesce).
    now = ist(2026, 7, 3, 9, 5)
    due = schedule.due_tasks([event], now, set(), grace=grace)
    assert [t.key for t in due] == ["ttt-2026:refresh:2026-07-03", "ttt-2026:campaign:prework"]
    assert schedule.missed_tasks([event], now, set(), grace=grace) == []
    assert schedule.due_tasks([event], now, {t.key for t in due}, grace=grace) == []
    # Later than the grace: the campaign is missed, the refresh of that day too (once).
    late = ist(2026, 7, 3, 23, 0)
    assert [t.key for t in schedule.missed_tasks([event], late, set(), grace=grace)] == [
        "ttt-2026:refresh:2026-07-03", "ttt-2026:campaign:prework"]
    # A daily task long past is neither due nor missed; the campaigns stay on record as missed.
    after = ist(2027, 6, 1, 12, 0)
    assert schedule.due_tasks([event], after, set(), grace=grace) == []
    assert {t.kind for t in schedule.missed_tasks([event], after, set(), grace=grace)} == {"campaign"}


def test_disabled_campaigns_are_not_planned(tmp_path: Path) -> None:
    text = TTT.read_text(encoding="utf-8").replace("  - name: feedback\n",
                                                   "  - name: feedback\n    enabled: false\n")
    (tmp_path / "e.yaml").write_text(text, encoding="utf-8")
    names = [s.name for s in schedule.task_specs(load_event(tmp_path / "e.yaml"))]
    assert "feedback" not in names and "prework" in names


def test_format_schedule_in_the_event_timezone() -> None:
    text = schedule.format_schedule([load_event(TTT)], ist(2026, 7, 1, 9, 0))
    assert text.splitlines() == [
        "ttt-2026  Train the Trainer 2026  (Asia/Kolkata; as of 2026-07-01 09:00 IST)",
        "  2026-07-02 06:00 IST  refresh   participant list and report section on the wiki, "
        "daily until 2027-01-09",
        "  2026-07-03 09:00 IST  campaign  prework (start - 7d at 09:00)",
        "  2026-07-10 06:00 IST  report    report files (HTML, CSV, JSON), daily until 2027-01-09",
        "  2026-07-13 10:00 IST  campaign  feedback (end + 1d at 10:00)",
        "  2026-08-11 09:00 IST  campaign  followup-30d (end + 30d)",
    ]


def test_schedule_command(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
                          tmp_path: Path) -> None:
    (tmp_path / "ttt.yaml").write_text(TTT.read_text(encoding="utf-8"), encoding="utf-8")
    assert cli.main(["schedule", "--list", "--events", str(tmp_path), "--now", "2026-07-12T12:00+05:30",
                     "--refresh-at", "05:15"]) == 0
    out = capsys.readouterr().out
    assert "  2026-07-13 05:15 IST  refresh " in out
    assert "prework" not in out and "  2026-07-13 10:00 IST  campaign  feedback" in out
    (tmp_path / "bad.yaml").write_text("id: bad\n")
    assert cli.main(["schedule", "--events", str(tmp_path)]) == 2
    assert "bad.yaml: cannot be read" in caplog.text


def test_parse_duration_and_time() -> None:
    assert schedule.parse_duration("90") == timedelta(seconds=90)
    assert schedule.parse_duration("30m") == timedelta(minutes=30)
    assert schedule.parse_duration("12h") == timedelta(hours=12)
    assert schedule.parse_duration("2d") == timedelta(days=2)
    assert schedule.parse_time_of_day("6:05") == time(6, 5)
    for bad in ("soon", "-1h", "12 hours"):
        with pytest.raises(ValueError, match="duration"):
            schedule.parse_duration(bad)
    with pytest.raises(ValueError, match="HH:MM"):
        schedule.parse_time_of_day("24:00")


# -- run-due ----------------------------------------------------------------------------------------


def events_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "ttt-2026.yaml").write_text(TTT.read_text(encoding="utf-8"), encoding="utf-8")
    return folder


def test_run_due_does_each_due_thing_exactly_once(tmp_path: Path, store: Store) -> None:
    folder, runner = events_dir(tmp_path), FakeRunner()
    now = ist(2026, 7, 3, 9, 2)  # the refresh (06:00) and the pre-work reminder (09:00) are due
    first = schedule.run_due(folder, store, runner, now)
    assert [(t.key, r.status if r else None) for t, r in first] == [
        ("ttt-2026:refresh:2026-07-03", "ok"), ("ttt-2026:campaign:prework", "ok")]
    # Called again at the same moment, and every five minutes after: nothing runs twice.
    for minutes in (0, 5, 10, 60):
        assert schedule.run_due(folder, store, runner, now + timedelta(minutes=minutes)) == []
    assert runner.calls == [("ttt-2026", "refresh", "2026-07-03"), ("ttt-2026", "campaign", "prework")]
    # The next day's refresh is a new task.
    schedule.run_due(folder, store, runner, ist(2026, 7, 4, 6, 1))
    assert runner.calls[-1] == ("ttt-2026", "refresh", "2026-07-04")
    assert len(runner.calls) == 3
    commands = [(r.command, r.status) for r in reversed(store.runs("ttt-2026"))]
    assert commands == [("run-due:refresh:2026-07-03", "ok"), ("run-due:campaign:prework", "ok"),
                        ("run-due:refresh:2026-07-04", "ok")]
    assert store.tasks_done(["ttt-2026:campaign:prework", "ttt-2026:campaign:feedback"]) == {
        "ttt-2026:campaign:prework"}


def test_run_due_retries_a_delivery_until_it_finishes(tmp_path: Path, store: Store) -> None:
    runner = FakeRunner({"prework": [TaskResult("stopped", detail="run page says no", done=False),
                                     TaskResult("crash"), TaskResult("ok")]})
    folder, now = events_dir(tmp_path), ist(2026, 7, 3, 9, 2)
    results = [schedule.run_due(folder, store, runner, now + timedelta(minutes=5 * i)) for i in range(5)]
    statuses = [[(t.name, r.status if r else None) for t, r in batch] for batch in results]
    assert statuses == [[("2026-07-03", "ok"), ("prework", "stopped")], [("prework", "crashed")],
                        [("prework", "ok")], [], []]
    assert [r.status for r in store.runs("ttt-2026")][:3] == ["ok", "crashed", "stopped"]


def test_run_due_records_a_missed_task_once(tmp_path: Path, store: Store,
                                            caplog: pytest.LogCaptureFixture) -> None:
    folder, runner = events_dir(tmp_path), FakeRunner()
    now = ist(2026, 7, 3, 22, 0)  # 13 hours after the pre-work reminder was due
    with caplog.at_level(logging.WARNING, logger="bot.schedule"):
        assert schedule.run_due(folder, store, runner, now, grace=timedelta(hours=12)) == []
        assert schedule.run_due(folder, store, runner, now + timedelta(minutes=5)) == []
    assert runner.calls == []
    missed = [r for r in store.runs("ttt-2026") if r.status == "missed"]
    assert sorted(r.command for r in missed) == ["run-due:campaign:prework", "run-due:refresh:2026-07-03"]
    assert "ttt-2026:campaign:prework: missed: due 2026-07-03 09:00 IST, found 13 h later" in caplog.text
    assert caplog.text.count("ttt-2026:campaign:prework: missed") == 1


def test_run_due_runs_other_events_when_one_file_is_broken(tmp_path: Path, store: Store,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    folder, runner = events_dir(tmp_path), FakeRunner()
    (folder / "broken.yaml").write_text("id: broken\ntitle: [\n")
    results = schedule.run_due(folder, store, runner, ist(2026, 7, 3, 9, 2))
    assert len(results) == 2
    assert "broken.yaml: cannot be read" in caplog.text


def test_run_due_stops_before_the_next_task_when_asked(tmp_path: Path, store: Store) -> None:
    class StopAfterFirst(FakeRunner):
        def __call__(self, event: EventConfig, task: Task, now: datetime, store: Store) -> TaskResult:
            schedule.request_stop()
            return super().__call__(event, task, now, store)

    runner = StopAfterFirst()
    results = schedule.run_due(events_dir(tmp_path), store, runner, ist(2026, 7, 3, 9, 2))
    assert [t.kind for t, _ in results] == ["refresh"] and len(runner.calls) == 1


def test_a_task_held_by_another_process_is_left_alone(tmp_path: Path, store: Store) -> None:
    store.acquire_lock("task:ttt-2026:campaign:prework", "elsewhere:1:x", timedelta(minutes=5))
    runner = FakeRunner()
    results = schedule.run_due(events_dir(tmp_path), store, runner, ist(2026, 7, 3, 9, 2))
    assert [(t.kind, r) for t, r in results][1] == ("campaign", None)
    assert not store.task_done("ttt-2026:campaign:prework")


def test_stop_checkpoint_stops_delivery_before_the_next_intent(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stopped(RuntimeError):
        pass

    monkeypatch.setitem(sys.modules, "bot.delivery", types.SimpleNamespace(DeliveryStopped=Stopped))
    schedule.stop_checkpoint("before-intent")  # no stop requested: nothing happens
    schedule.request_stop()
    schedule.stop_checkpoint("after-send")  # the current edit is finished first
    with pytest.raises(Stopped, match="shutting down"):
        schedule.stop_checkpoint("before-intent")
    started = time_mod.monotonic()
    schedule.interruptible_sleep(5)
    assert time_mod.monotonic() - started < 1
    # The delivery protocol still calls the checkpoint this relies on (read as text: no pywikibot).
    assert 'checkpoint("before-intent")' in (REPO / "bot/delivery.py").read_text(encoding="utf-8")


# -- the daemon ---------------------------------------------------------------------------------------


def job_ids(scheduler: Any) -> dict[str, Any]:
    return {job.id: job.next_run_time for job in scheduler.get_jobs(jobstore="default")}


def test_config_changes_are_picked_up_without_a_restart(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    today = datetime.now(IST).date()
    soon, later = today + timedelta(days=10), today + timedelta(days=20)
    path = write_event(folder, "a", start=today + timedelta(days=5), end=today + timedelta(days=6),
                       campaigns=(("x", f"{soon} 09:00"), ("y", f"{later} 09:00")))
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    scheduler = schedule.build_scheduler(folder, url, FakeRunner(), background=True,
                                         watch_every=timedelta(seconds=0.2), at=time(3, 0))
    scheduler.start()
    try:
        before = job_ids(scheduler)
        assert set(before) == {"a:refresh:daily", "a:report:daily", "a:campaign:x", "a:campaign:y"}
        # Edit the file: x removed, y moved, z added. The watcher notices within a second.
        write_event(folder, "a", start=today + timedelta(days=5), end=today + timedelta(days=6),
                    campaigns=(("y", f"{later} 10:30"), ("z", f"{soon} 08:00")))
        wait_for(lambda: "a:campaign:z" in job_ids(scheduler))
        after = job_ids(scheduler)
        assert set(after) == {"a:refresh:daily", "a:report:daily", "a:campaign:y", "a:campaign:z"}
        assert after["a:campaign:y"] == datetime.combine(later, time(10, 30), IST)
        assert after["a:refresh:daily"] == before["a:refresh:daily"]  # unchanged jobs are kept
        # A broken file: logged, its jobs stay as they were.
        path.write_text("id: a\nstart: 2026-13-01\n")
        wait_for(lambda: "cannot be read; its tasks stay as they were" in caplog.text)
        assert job_ids(scheduler) == after
        assert "start: expected a date written YYYY-MM-DD" in caplog.text
        # A new event file adds its jobs; removing it removes them.
        other = write_event(folder, "b", start=today + timedelta(days=5), end=today + timedelta(days=6))
        wait_for(lambda: set(job_ids(scheduler)) == {*after, "b:refresh:daily", "b:report:daily"})
        other.unlink()
        wait_for(lambda: set(job_ids(scheduler)) == set(after))
    finally:
        schedule.stop_gracefully(scheduler)


def wait_for(condition: Any, timeout: float = 4.0) -> None:
    deadline = time_mod.monotonic() + timeout
    while not condition():
        if time_mod.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time_mod.sleep(0.05)


def test_sigterm_stops_cleanly_after_the_current_edit(tmp_path: Path) -> None:
    """A delivery of ten edits is under way when SIGTERM arrives: the edit in progress is
    finished, no further edit starts, the run is recorded as stopped (not done), and the
    process's scheduler returns."""
    folder = tmp_path / "events"
    folder.mkdir()
    now = datetime.now(IST)
    write_event(folder, "a", start=now.date() + timedelta(days=5), end=now.date() + timedelta(days=6),
                campaigns=(("slow", (now - timedelta(minutes=1)).isoformat(timespec="seconds")),))
    edits: list[int] = []

    class Slow(FakeRunner):
        def __call__(self, event: EventConfig, task: Task, now: datetime, store: Store) -> TaskResult:
            if task.kind != "campaign":
                return super().__call__(event, task, now, store)
            for number in range(1, 11):
                if schedule.stop_requested():
                    return TaskResult("stopped", {"sent": len(edits)}, detail="shutting down", done=False)
                time_mod.sleep(0.1)  # the edit
                edits.append(number)
            return TaskResult("ok", {"sent": len(edits)})

    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    scheduler = schedule.build_scheduler(folder, url, Slow(), misfire_grace=timedelta(hours=1),
                                         at=(now + timedelta(hours=3)).time())

    def terminate() -> None:
        deadline = time_mod.monotonic() + 4
        while len(edits) < 2 and time_mod.monotonic() < deadline:
            time_mod.sleep(0.01)
        if len(edits) >= 2:
            os.kill(os.getpid(), signal.SIGTERM)
        else:
            schedule.stop_gracefully(scheduler)

    killer = threading.Thread(target=terminate)
    killer.start()
    started = time_mod.monotonic()
    schedule.serve(scheduler)  # returns after SIGTERM
    killer.join()
    assert time_mod.monotonic() - started < 4
    assert 2 <= len(edits) <= 3 and edits == list(range(1, len(edits) + 1))
    store = Store(url)
    run = next(r for r in store.runs("a") if r.command == "scheduler:campaign:slow")
    assert run.status == "stopped" and run.finished is not None
    assert not store.task_done("a:campaign:slow")
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    # The next start delivers the rest.
    schedule.clear_stop()
    again = FakeRunner()
    restarted = schedule.build_scheduler(folder, url, again, misfire_grace=timedelta(hours=1),
                                         at=(now + timedelta(hours=3)).time(), background=True)
    restarted.start()
    try:
        wait_for(lambda: store.task_done("a:campaign:slow"))
    finally:
        schedule.stop_gracefully(restarted)
    assert again.calls == [("a", "campaign", "slow")]


def test_a_daily_run_taken_up_at_shutdown_is_caught_up_on_start(tmp_path: Path) -> None:
    """A daily job whose run time was consumed without running (taken just as the daemon
    stopped) still runs today's occurrence on the next start, within the grace, once."""
    folder = tmp_path / "events"
    folder.mkdir()
    now = datetime.now(IST)
    write_event(folder, "a", start=now.date() + timedelta(days=5), end=now.date() + timedelta(days=6))
    url, runner = f"sqlite:///{tmp_path / 'state.sqlite'}", FakeRunner()
    at = (now - timedelta(minutes=30)).time()
    first = schedule.build_scheduler(folder, url, runner, misfire_grace=timedelta(hours=1), at=at,
                                     background=True)
    first.start(paused=True)
    job = first.get_job("a:refresh:daily")
    first.modify_job("a:refresh:daily", next_run_time=job.next_run_time + timedelta(days=1))
    first.shutdown()
    assert runner.calls == []
    second = schedule.build_scheduler(folder, url, runner, misfire_grace=timedelta(hours=1), at=at,
                                      background=True)
    second.start()
    try:
        wait_for(lambda: len(runner.calls) == 1)
        time_mod.sleep(0.2)
    finally:
        schedule.stop_gracefully(second)
    today = (now - timedelta(minutes=30)).date().isoformat()
    assert runner.calls == [("a", "refresh", today)]


def test_scheduler_command_stops_on_sigterm(tmp_path: Path) -> None:
    """The real `eventbot scheduler` process: starts, idles, and exits 0 on SIGTERM."""
    folder = tmp_path / "events"
    folder.mkdir()
    write_event(folder, "old", start=date(2020, 1, 10), end=date(2020, 1, 12))  # nothing left to do
    env = {**os.environ, "PYTHONPATH": str(REPO), "EVENTBOT_DB_URL": f"sqlite:///{tmp_path / 's.sqlite'}"}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "scheduler", "--events", str(folder)],
                            cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    lines: list[str] = []
    for line in proc.stderr:
        lines.append(line)
        if "scheduler running" in line:
            break
    proc.send_signal(signal.SIGTERM)
    try:
        _, rest = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    log_text = "".join(lines) + rest
    assert proc.returncode == 0, log_text
    assert "scheduler running: 0 job(s)" in log_text
    assert "SIGTERM received: stopping after the current edit" in log_text
    assert "scheduler stopped" in log_text


# -- workshop series and on-wiki configurations ---------------------------------------------------

SERIES = REPO / "config/series/swt-workshops.yaml"  # monthly on the 15th at 16:00 UTC, Oct-Dec 2026


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_series_tasks_at_each_months_moments() -> None:
    from bot.series import load_series

    specs = {spec.job_id: spec for spec in schedule.task_specs(load_series(SERIES))}
    assert list(specs)[:3] == ["swt-workshops:series:create-2026-10", "swt-workshops:series:announce-2026-10",
                               "swt-workshops:series:remind-2026-10"]
    assert len(specs) == 3 * 3 + 1
    assert specs["swt-workshops:series:create-2026-11"].at == utc(2026, 10, 18)  # 28 days before the 15th
    assert specs["swt-workshops:series:announce-2026-11"].at == utc(2026, 11, 1, 10)  # start - 14d at 10:00
    assert specs["swt-workshops:series:remind-2026-12"].at == utc(2026, 12, 14, 10)  # start - 1d at 10:00
    daily = specs["swt-workshops:series:daily"]
    assert (daily.first, daily.last) == (date(2026, 9, 17), date(2026, 12, 29))  # until 14 days after
    plan = schedule.plan([load_series(SERIES)], start=utc(2026, 11, 1), end=utc(2026, 11, 2))
    assert [(t.key, t.due) for t in plan] == [("swt-workshops:series:2026-11-01", utc(2026, 11, 1, 6)),
                                              ("swt-workshops:series:announce-2026-11", utc(2026, 11, 1, 10))]


def test_onwiki_job_runs_every_interval_on_the_clock() -> None:
    job = schedule.OnwikiJob("metawiki", every=timedelta(hours=1))
    (spec,) = schedule.task_specs(job)
    assert (spec.job_id, spec.period) == ("onwiki-metawiki:onwiki:every", "every")
    now = utc(2026, 11, 21, 11, 44)
    assert spec.latest(now) == utc(2026, 11, 21, 11) and spec.next_after(now) == utc(2026, 11, 21, 12)
    assert spec.next_after(utc(2026, 11, 21, 12)) == utc(2026, 11, 21, 13)
    assert spec.between(utc(2026, 11, 21, 10, 30), utc(2026, 11, 21, 13)) == [
        utc(2026, 11, 21, 11), utc(2026, 11, 21, 12)]
    assert spec.task(utc(2026, 11, 21, 11)).key == "onwiki-metawiki:onwiki:2026-11-21T11:00"
    # Every occurrence is the latest one's: after downtime it runs once, and is never "missed".
    assert [t.key for t in schedule.candidates([job], now + timedelta(days=3))] == [
        "onwiki-metawiki:onwiki:2026-11-24T11:00"]
    assert schedule.missed_tasks([job], now, set(), grace=timedelta(minutes=10)) == []


def test_run_due_runs_events_series_and_onwiki_jobs(tmp_path: Path, store: Store) -> None:
    folder, runner = events_dir(tmp_path), FakeRunner()
    series_dir = tmp_path / "series"
    series_dir.mkdir()
    (series_dir / "swt.yaml").write_text(SERIES.read_text(encoding="utf-8"), encoding="utf-8")
    jobs = [schedule.OnwikiJob("metawiki"), schedule.OnwikiJob("tewiki", every=timedelta(minutes=30))]
    now = utc(2026, 11, 1, 10, 2)
    first = schedule.run_due(folder, store, runner, now, series_dir=series_dir, onwiki=jobs)
    assert [t.key for t, _ in first] == [  # in time order; at the same moment, series before on-wiki
        "ttt-2026:refresh:2026-11-01", "ttt-2026:report:2026-11-01", "swt-workshops:series:2026-11-01",
        "swt-workshops:series:announce-2026-11", "onwiki-metawiki:onwiki:2026-11-01T10:00",
        "onwiki-tewiki:onwiki:2026-11-01T10:00"]
    assert runner.calls[2:4] == [("swt-workshops", "series", "2026-11-01"),
                                 ("swt-workshops", "series", "announce-2026-11")]
    assert schedule.run_due(folder, store, runner, now + timedelta(minutes=5), series_dir=series_dir,
                            onwiki=jobs) == []
    later = schedule.run_due(folder, store, runner, now + timedelta(minutes=29), series_dir=series_dir,
                             onwiki=jobs)
    assert [t.key for t, _ in later] == ["onwiki-tewiki:onwiki:2026-11-01T10:30"]
    # The series' page creation for November (18 Oct) is older than the grace: recorded as
    # missed, once, and not run (the daily series run creates a missing page anyway).
    create = "swt-workshops:series:create-2026-11"
    assert store.tasks_done([create]) == {create}
    assert ("swt-workshops", "series", "create-2026-11") not in runner.calls
    assert [r.status for r in store.runs("swt-workshops") if r.command.endswith("create-2026-11")] == [
        "missed"]


def test_schedule_command_lists_series_and_onwiki(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    series_dir = tmp_path / "series"
    series_dir.mkdir()
    (series_dir / "swt.yaml").write_text(SERIES.read_text(encoding="utf-8"), encoding="utf-8")
    code = cli.main(["schedule", "--events", str(events_dir(tmp_path)), "--series", str(series_dir),
                     "--onwiki", "metawiki", "--now", "2026-11-21T11:44Z"])
    out = capsys.readouterr().out
    assert code == 0
    assert "swt-workshops  Small wiki toolkits workshops  (UTC; as of 2026-11-21 11:44 UTC)" in out
    assert ("2026-11-22 06:00 UTC  series    month pages and the attendance report, "
            "daily until 2026-12-29") in out
    assert "2026-12-01 10:00 UTC  series    announce December 2026 (start - 14d at 10:00)" in out
    assert "2026-11-21 12:00 UTC  onwiki    on-wiki configurations of metawiki, every 1 h" in out
    with pytest.raises(SystemExit, match=r"--series .*nope is not a folder of series files"):
        cli.main(["schedule", "--events", str(tmp_path), "--series", str(tmp_path / "nope")])


def test_series_and_onwiki_jobs_in_the_daemon(tmp_path: Path) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    series_dir = tmp_path / "series"
    series_dir.mkdir()
    (series_dir / "swt.yaml").write_text(SERIES.read_text(encoding="utf-8"), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    runner = FakeRunner()
    scheduler = schedule.build_scheduler(folder, url, runner, background=True, series_dir=series_dir,
                                         onwiki=[schedule.OnwikiJob("metawiki", every=timedelta(minutes=30))],
                                         clock=lambda: utc(2026, 11, 21, 11, 44))
    scheduler.start()
    try:
        jobs = job_ids(scheduler)
        assert "onwiki-metawiki:onwiki:every" in jobs and "swt-workshops:series:announce-2026-12" in jobs
        assert "swt-workshops:series:announce-2026-10" not in jobs  # long past, nothing left to run
        assert jobs["swt-workshops:series:announce-2026-12"] == utc(2026, 12, 1, 10)
    finally:
        schedule.stop_gracefully(scheduler)
