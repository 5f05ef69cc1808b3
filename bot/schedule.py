"""When eventbot acts on its own: event configs → tasks, run by a daemon or by a cron-style one-shot.

    config/events/*.yaml ─▶ task_specs (pure) ─▶ plan / due_tasks (pure, explicit "now")
                                                    │
            ┌───────────────────────────────────────┴──────────────────────────────┐
    `eventbot scheduler`: APScheduler 3 with its job store            `eventbot run-due`: every task due
    in the state DB; one job per task spec, re-synced when a           at `now` and not yet settled, once
    config file changes; missed runs coalesced within a grace                       │
            └──────────────────────────────▶ execute() ◀───────────────────────────┘
                  a lock per task, `runs` row, the runner (the same pipeline entry points as the CLI),
                  and `task_runs` (settled: done or missed), so a task is done once whoever runs it.

Tasks of an event (times are wall-clock times in the event's timezone):

- `refresh`, daily at `at` (06:00 unless configured): the main job (`pipeline.run_event`): the
  participant list and the report section with its statistics, until the last statistics window
  has closed. Keyed by local date (`ttt-2026:refresh:2026-07-03`).
- `report`, daily from the first day of the event to the same end: the local report files (HTML
  with charts, CSV, JSON). Keyed by local date.
- `campaign`, once per enabled follow-up campaign at `campaigns.due_at` (`ttt-2026:campaign:feedback`);
  done only when its delivery finished (a stopped delivery is tried again; the delivery ledger
  makes a repeat harmless).

A task is *due* from its moment until `grace` (the misfire grace) has passed; of a daily task only
the latest occurrence counts (missed days are coalesced into one run). A task found later than
that is *missed*: logged and recorded once (in `runs` and `task_runs`), never run.

Stopping: `request_stop()` (SIGTERM, SIGINT) makes every runner stop before its next edit
(`stop_checkpoint` in the delivery protocol) and no new task start.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal, Protocol
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MISSED, EVENT_SCHEDULER_STARTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.campaigns import due_at
from bot.config import ConfigError, EventConfig, load_event
from bot.store import LockHeld, Store

if TYPE_CHECKING:
    from bot.series import SeriesConfig
    from bot.wiki import Farm

__all__ = [
    "DEFAULT_AT",
    "DEFAULT_GRACE",
    "KINDS",
    "SERIES_TAIL",
    "OnwikiJob",
    "PipelineRunner",
    "Runner",
    "Runtime",
    "Task",
    "TaskResult",
    "TaskSpec",
    "build_scheduler",
    "candidates",
    "clear_stop",
    "config_files",
    "due_tasks",
    "event_files",
    "execute",
    "format_schedule",
    "interruptible_sleep",
    "load_events",
    "load_unit",
    "missed_tasks",
    "parse_duration",
    "parse_time_of_day",
    "plan",
    "request_stop",
    "run_due",
    "run_task",
    "series_specs",
    "serve",
    "stop_checkpoint",
    "stop_requested",
    "task_specs",
]

log = logging.getLogger(__name__)

Kind = Literal["refresh", "report", "campaign", "series", "onwiki"]
KINDS: tuple[Kind, ...] = ("refresh", "report", "campaign", "series", "onwiki")
#: How a task recurs: once at a moment, daily at a local time, or every N minutes (UTC-aligned).
Period = Literal["once", "daily", "every"]
#: Interval tasks fall on multiples of their interval counted from this moment (so hourly is
#: on the hour whenever the daemon started).
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
#: Local time of the daily tasks: before the default campaign time (09:00), so messages go out
#: with a fresh participant list.
DEFAULT_AT = time(6, 0)
#: How late a task may still run (after downtime); later it is recorded as missed.
DEFAULT_GRACE = timedelta(hours=12)
#: After a campaign delivery stopped (run page, lock, wiki refusing edits): try again this much later.
RETRY_DELAY = timedelta(minutes=15)
#: How often the daemon looks for changed event files.
WATCH_EVERY = timedelta(minutes=1)
#: A task's lock outlives any sane run; a dead holder on this host is taken over at once.
TASK_LOCK_TTL = timedelta(hours=1)
#: The APScheduler table in the state database.
JOBS_TABLE = "apscheduler_jobs"
_RETRY = ":retry"
_WATCH_ID = "eventbot:watch-config"
_COMMAND_MAX = 64  # runs.command is a VARCHAR(64)
_MAX_DAYS = 3660


# --- tasks (pure) ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One thing to do once: a campaign, or one day's occurrence of a daily task.

    `name` is the campaign's name, or the local date of a daily task; `due` is aware, in the
    event's timezone. `key` identifies it in `task_runs`.
    """

    event_id: str
    kind: Kind
    name: str
    due: datetime
    period: Period = "once"

    @property
    def key(self) -> str:
        return f"{self.event_id}:{self.kind}:{self.name}"


@dataclass(frozen=True)
class TaskSpec:
    """What an event (or a series, or a wiki's on-wiki configurations) asks for: a one-off task
    `at` a moment, a `daily` one over [first, last], or one `every` so often.

    One spec is one scheduler job (`job_id`); its occurrences are `Task`s.
    """

    event_id: str
    kind: Kind
    name: str  # the campaign's name, or "daily"
    timezone: str
    what: str  # for people: what the task does
    at: datetime | None = None
    daily: time | None = None
    first: date | None = None
    last: date | None = None
    every: timedelta | None = None

    @property
    def period(self) -> Period:
        return "once" if self.at is not None else "every" if self.every is not None else "daily"

    def _slot(self, now: datetime) -> datetime:
        """The interval task's occurrence at or before `now`."""
        assert self.every is not None
        return _EPOCH + ((now - _EPOCH) // self.every) * self.every

    @property
    def job_id(self) -> str:
        return f"{self.event_id}:{self.kind}:{self.name}"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def occurrence(self, day: date) -> datetime:
        """The daily task's moment on a local date (a time skipped by DST moves forward)."""
        assert self.daily is not None
        naive = datetime.combine(day, self.daily)
        return naive.replace(tzinfo=self.tz).astimezone(UTC).astimezone(self.tz)

    def latest(self, now: datetime) -> datetime | None:
        """The last occurrence at or before `now`, or None."""
        if self.at is not None:
            return self.at if self.at <= now else None
        if self.every is not None:
            return self._slot(now).astimezone(self.tz)
        day = now.astimezone(self.tz).date()
        if self.last is not None and day > self.last:
            day = self.last
        if self.occurrence(day) > now:
            day -= timedelta(days=1)
        if self.first is not None and day < self.first:
            return None
        return self.occurrence(day)

    def next_after(self, now: datetime) -> datetime | None:
        """The first occurrence strictly after `now`, or None."""
        if self.at is not None:
            return self.at if self.at > now else None
        if self.every is not None:
            return (self._slot(now) + self.every).astimezone(self.tz)
        day = now.astimezone(self.tz).date()
        if self.occurrence(day) <= now:
            day += timedelta(days=1)
        if self.first is not None and day < self.first:
            day = self.first
        if self.last is not None and day > self.last:
            return None
        return self.occurrence(day)

    def between(self, start: datetime, end: datetime) -> list[datetime]:
        """Every occurrence with start <= moment < end."""
        if self.at is not None:
            return [self.at] if start <= self.at < end else []
        if self.every is not None:
            moment = self._slot(start)
            moment = moment if moment >= start else moment + self.every
            slots: list[datetime] = []
            while moment < end and len(slots) <= _MAX_DAYS:
                slots.append(moment.astimezone(self.tz))
                moment += self.every
            return slots
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        stop = end.astimezone(self.tz).date() + timedelta(days=1)
        if self.first is not None:
            day = max(day, self.first)
        if self.last is not None:
            stop = min(stop, self.last)
        found: list[datetime] = []
        while day <= stop and len(found) <= _MAX_DAYS:
            moment = self.occurrence(day)
            if start <= moment < end:
                found.append(moment)
            day += timedelta(days=1)
        return found

    def task(self, due: datetime) -> Task:
        local = due.astimezone(self.tz)
        if self.at is not None:
            name = self.name
        elif self.every is not None:
            name = f"{local:%Y-%m-%dT%H:%M}"
        else:
            name = local.date().isoformat()
        return Task(self.event_id, self.kind, name, local, self.period)

    def describe(self, path: str) -> str:
        """Everything the scheduler job depends on, in words: a change means a new trigger."""
        if self.at is not None:
            when = f"at {self.at.isoformat()}"
        elif self.every is not None:
            when = f"every {_hours(self.every)}"
        else:
            assert self.daily is not None
            span = f" from {self.first}" if self.first else ""
            span += f" until {self.last}" if self.last else ""
            when = f"daily at {self.daily:%H:%M} {self.timezone}{span}"
        return f"{self.job_id} {when} ({path})"


@dataclass(frozen=True)
class OnwikiJob:
    """Every on-wiki configuration (`{{eventbot}}`) of one wiki, run `every` so often: discovery,
    talk-page notices, participant lists and reports and, with `send`, the due campaigns of
    configurations the trust rule approves (see `discovery.run_onwiki`)."""

    wiki: str
    template: str = "Eventbot"
    allowlist: str | None = "User:EventBot/Organisers"
    group: str | None = "event-organizer"
    every: timedelta = timedelta(hours=1)
    send: bool = True
    timezone: str = "UTC"

    @property
    def id(self) -> str:
        return f"onwiki-{self.wiki}"

    @property
    def title(self) -> str:
        return f"on-wiki configurations ({{{{{self.template}}}}} on {self.wiki})"

    @property
    def path(self) -> str:
        """Where the scheduler says the job comes from (there is no file)."""
        return f"onwiki:{self.wiki}"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


if TYPE_CHECKING:
    #: What the scheduler runs tasks for: an event file, a series file or a wiki's on-wiki configurations.
    Unit = EventConfig | SeriesConfig | OnwikiJob

#: After the last workshop of a series, its daily task keeps the attendance report up to date
#: this long (attendance is often marked a few days late).
SERIES_TAIL = timedelta(days=14)


def task_specs(unit: Unit, *, at: time = DEFAULT_AT) -> list[TaskSpec]:
    """The tasks an event, a series or an on-wiki job asks for (disabled campaigns have none)."""
    if isinstance(unit, OnwikiJob):
        return [TaskSpec(unit.id, "onwiki", "every", unit.timezone,
                         f"on-wiki configurations of {unit.wiki}", every=unit.every)]
    if isinstance(unit, EventConfig):
        return _event_specs(unit, at)
    return series_specs(unit, at=at)


def series_specs(series: SeriesConfig, *, at: time = DEFAULT_AT) -> list[TaskSpec]:
    """A series' tasks: each month's page creation, announcement and reminder at their moments,
    and a daily run (pages, attendance report) from the first creation until `SERIES_TAIL`
    after the last workshop. Every one of them runs `series.run_series`, which does whatever is
    due, so a late or repeated run is harmless."""
    from bot import series as series_mod

    tz = series.timezone
    specs: list[TaskSpec] = []
    months = series_mod.months(series)
    for month in months:
        specs.append(TaskSpec(series.id, "series", f"create-{month.key}", tz,
                              f"create {month.page_title}", at=series_mod.creation_time(series, month)))
        event = series_mod.event_for_month(series, month)
        for campaign in event.campaigns:
            if not campaign.enabled:
                continue
            step = "announce" if campaign.name == series_mod.announce_name(series, month) else "remind"
            specs.append(TaskSpec(series.id, "series", f"{step}-{month.key}", tz,
                                  f"{step} {month.label} ({campaign.when})",
                                  at=due_at(campaign.schedule, event)))
    first = series_mod.creation_time(series, months[0]).date()
    specs.append(TaskSpec(series.id, "series", "daily", tz, "month pages and the attendance report",
                          daily=at, first=first, last=months[-1].date + SERIES_TAIL))
    return specs


def _event_specs(event: EventConfig, at: time) -> list[TaskSpec]:
    last = event.stats_end
    specs = [
        TaskSpec(event.id, "refresh", "daily", event.timezone,
                 "participant list and report section on the wiki", daily=at, last=last),
        TaskSpec(event.id, "report", "daily", event.timezone,
                 "report files (HTML, CSV, JSON)", daily=at, first=event.start, last=last),
    ]
    for campaign in event.campaigns:
        if campaign.enabled:
            specs.append(TaskSpec(event.id, "campaign", campaign.name, event.timezone,
                                  f"{campaign.name} ({campaign.when})",
                                  at=due_at(campaign.schedule, event)))
    return specs


def _order(task: Task) -> tuple[datetime, int, str, str]:
    return task.due, KINDS.index(task.kind), task.event_id, task.name


def plan(events: Sequence[Unit], *, start: datetime, end: datetime,
         at: time = DEFAULT_AT) -> list[Task]:
    """Every task of `events` falling due in [start, end), in time order."""
    tasks = [spec.task(moment) for event in events for spec in task_specs(event, at=at)
             for moment in spec.between(start, end)]
    return sorted(tasks, key=_order)


def _state(task: Task, now: datetime, grace: timedelta) -> Literal["due", "missed", "old"]:
    """`due` within the grace; `missed` after it (a daily task only until its next day: older
    days were coalesced); `old` otherwise."""
    late = now - task.due
    if late <= grace:
        return "due"
    if task.period == "once" or (task.period == "daily" and late <= grace + timedelta(days=1)):
        return "missed"
    return "old"


def candidates(events: Sequence[Unit], now: datetime, *, grace: timedelta = DEFAULT_GRACE,
               at: time = DEFAULT_AT) -> list[Task]:
    """What may need doing at `now`: every campaign due by then, and the latest occurrence of
    each daily task (earlier days coalesce into it), unless too old to mention."""
    tasks: list[Task] = []
    for event in events:
        for spec in task_specs(event, at=at):
            moment = spec.latest(now)
            if moment is not None and _state(spec.task(moment), now, grace) != "old":
                tasks.append(spec.task(moment))
    return sorted(tasks, key=_order)


def due_tasks(events: Sequence[Unit], now: datetime, done: set[str], *,
              grace: timedelta = DEFAULT_GRACE, at: time = DEFAULT_AT) -> list[Task]:
    """Tasks to run at `now`: due within the grace and not settled (`done` holds settled keys)."""
    return [t for t in candidates(events, now, grace=grace, at=at)
            if t.key not in done and _state(t, now, grace) == "due"]


def missed_tasks(events: Sequence[Unit], now: datetime, done: set[str], *,
                 grace: timedelta = DEFAULT_GRACE, at: time = DEFAULT_AT) -> list[Task]:
    """Tasks past their grace that nobody ran (to be recorded as missed, once)."""
    return [t for t in candidates(events, now, grace=grace, at=at)
            if t.key not in done and _state(t, now, grace) == "missed"]


def format_schedule(events: Sequence[Unit], now: datetime, *, at: time = DEFAULT_AT) -> str:
    """The upcoming runs of each event, in the event's timezone: the next occurrence of each
    daily task and every campaign still to come."""
    lines: list[str] = []
    for event in events:
        tz = event.tz
        lines.append(f"{event.id}  {event.title}  ({event.timezone}; as of "
                     f"{now.astimezone(tz):%Y-%m-%d %H:%M %Z})")
        upcoming: list[tuple[datetime, str]] = []
        for spec in task_specs(event, at=at):
            moment = spec.next_after(now)
            if moment is None:
                continue
            what = spec.what + (f", daily until {spec.last}" if spec.daily and spec.last else
                                f", every {_hours(spec.every)}" if spec.every else "")
            upcoming.append((moment, f"{spec.kind:9} {what}"))
        for moment, text in sorted(upcoming):
            lines.append(f"  {moment.astimezone(tz):%Y-%m-%d %H:%M %Z}  {text}")
        if not upcoming:
            lines.append("  nothing left to do: every task of this event is in the past")
    return "\n".join(lines) + "\n" if lines else "no event files\n"


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `12h`, `2d`, `1w`, or plain seconds. Raises ValueError."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"expected a duration such as 30m, 12h or 2d, got {text!r}")
    return timedelta(seconds=float(match.group(1)) * _UNITS[(match.group(2) or "s").lower()])


def parse_time_of_day(text: str) -> time:
    """`HH:MM` (00:00 to 23:59). Raises ValueError."""
    match = re.match(r"^(\d{1,2}):(\d{2})$", text.strip())
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f"expected a time of day written HH:MM, got {text!r}")
    return time(int(match.group(1)), int(match.group(2)))


# --- stopping ------------------------------------------------------------------------------------

_STOP = threading.Event()


def request_stop() -> None:
    """Ask every runner to stop before its next edit, and the scheduler to start nothing new."""
    _STOP.set()


def stop_requested() -> bool:
    return _STOP.is_set()


def clear_stop() -> None:
    _STOP.clear()


def stop_checkpoint(name: str) -> None:
    """A delivery `checkpoint`: stop cleanly before the next recipient's intent is recorded,
    that is after the current edit has been sent and recorded."""
    if name == "before-intent" and stop_requested():
        from bot.delivery import DeliveryStopped

        raise DeliveryStopped("eventbot is shutting down; the next run continues from here")


def interruptible_sleep(seconds: float) -> None:
    """`time.sleep` that returns early when a stop is requested (for delivery's pauses)."""
    _STOP.wait(seconds)


def install_stop_handlers(on_stop: Callable[[], None]) -> Callable[[], None]:
    """Make SIGTERM and SIGINT call `request_stop()` then `on_stop()` (main thread only).
    Returns a function that puts the previous handlers back."""
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: stopping after the current edit", signal.Signals(signum).name)
        request_stop()
        on_stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)
    return restore


# --- running one task ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskResult:
    """What a runner did. `done`: the task is finished and must not run again."""

    status: str  # ok, failed (some page or recipient failed), stopped, crashed
    counts: Mapping[str, int] = field(default_factory=dict)
    detail: str | None = None
    done: bool = True


class Runner(Protocol):
    """Does one task: the pipeline in production, a recorder in tests."""

    def __call__(self, event: Unit, task: Task, now: datetime, store: Store) -> TaskResult: ...


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead_on_this_host(owner: str) -> bool:
    """True when `owner` is a process on this host that no longer runs."""
    host, _, rest = owner.partition(":")
    pid = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _command(prefix: str, task: Task) -> str:
    return f"{prefix}:{task.kind}:{task.name}"[:_COMMAND_MAX]


def execute(task: Task, event: Unit, runner: Runner, store: Store, now: datetime, *,
            prefix: str) -> TaskResult | None:
    """Run `task` once: under its lock, unless already settled; recorded in `runs` (command
    `PREFIX:KIND:NAME`) and, when done, in `task_runs`. None when it was not run."""
    lock, owner = f"task:{task.key}", _owner()
    try:
        store.acquire_lock(lock, owner, TASK_LOCK_TTL, is_dead=_dead_on_this_host)
    except LockHeld as exc:
        log.info("%s: not run, another process is running it (%s)", task.key, exc)
        return None
    try:
        if store.task_done(task.key):
            log.info("%s: already done", task.key)
            return None
        log.info("%s: running (due %s)", task.key, f"{task.due:%Y-%m-%d %H:%M %Z}")
        run_id = store.start_run(task.event_id, _command(prefix, task), now)
        try:
            result = runner(event, task, now, store)
        except Exception as exc:
            log.exception("%s: crashed", task.key)
            store.finish_run(run_id, "crashed", {}, detail=f"{type(exc).__name__}: {exc}")
            return TaskResult("crashed", detail=str(exc), done=False)
        store.finish_run(run_id, result.status, result.counts, detail=result.detail)
        if result.done:
            store.mark_task_done(task.key)
        log.info("%s: %s%s", task.key, result.status,
                 "" if result.done else " (not marked done: it runs again next time)")
        return result
    finally:
        store.release_lock(lock, owner)


def record_missed(store: Store, task: Task, now: datetime, *, prefix: str, grace: timedelta) -> None:
    """Log and record (in `runs` and `task_runs`) a task found after its misfire grace."""
    late = now - task.due
    detail = (f"due {task.due:%Y-%m-%d %H:%M %Z}, found {_hours(late)} later: more than the "
              f"misfire grace of {_hours(grace)}; not run")
    log.warning("%s: missed: %s", task.key, detail)
    run_id = store.start_run(task.event_id, _command(prefix, task), now)
    store.finish_run(run_id, "missed", {}, detail=detail)
    store.mark_task_done(task.key, "missed")


def _hours(span: timedelta) -> str:
    """`30 min`, `1 h`, `13.5 h`: how long, in the words the logs and schedules use."""
    seconds = int(span.total_seconds())
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f}".removesuffix(".0") + " h"


def event_files(config_dir: Path) -> list[Path]:
    """The event files of a folder (*.yaml, *.yml), sorted."""
    return sorted([*config_dir.glob("*.yaml"), *config_dir.glob("*.yml")])


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def load_events(files: Sequence[Path], *, series_files: Sequence[Path] = (),
                onwiki: Sequence[OnwikiJob] = ()) -> tuple[dict[str, Unit], set[str]]:
    """Load event files, series files and on-wiki jobs: ({path: unit}, {paths that failed}).
    Problems are logged; a second unit with an id already taken counts as failed."""
    units: dict[str, Unit] = {}
    broken: set[str] = set()
    owners: dict[str, str] = {}
    found: list[tuple[str, Unit]] = []
    for file, kind in [*((p, "event") for p in files), *((p, "series") for p in series_files)]:
        try:
            found.append((str(file), load_unit(str(file), kind)))
        except (ConfigError, OSError) as exc:
            log.error("%s: cannot be read; its tasks stay as they were:\n%s", file, exc)
            broken.add(str(file))
    found += [(job.path, job) for job in onwiki]
    for where, unit in found:
        if unit.id in owners:
            log.error("%s: the id %r is already used by %s; this one is ignored", where, unit.id,
                      owners[unit.id])
            broken.add(where)
            continue
        owners[unit.id] = where
        units[where] = unit
    return units, broken


def load_unit(path: str, kind: str, onwiki: Sequence[OnwikiJob] = ()) -> Unit:
    """The event, series or on-wiki job a task of `kind` belongs to, read from `path` now.
    Raises `ConfigError`/`OSError` for a file that cannot be read, `KeyError` for an on-wiki
    job that is no longer configured."""
    if kind == "onwiki":
        for job in onwiki:
            if job.path == path:
                return job
        raise KeyError(path)
    if kind == "series":
        from bot.series import load_series

        return load_series(path)
    return load_event(path)


def config_files(config_dir: Path, series_dir: Path | None) -> tuple[list[Path], list[Path]]:
    """(event files, series files) of the scheduler's folders."""
    return event_files(config_dir), event_files(series_dir) if series_dir is not None else []


def run_due(config_dir: Path, store: Store, runner: Runner, now: datetime, *,
            grace: timedelta = DEFAULT_GRACE, at: time = DEFAULT_AT,
            prefix: str = "run-due", series_dir: Path | None = None,
            onwiki: Sequence[OnwikiJob] = ()) -> list[tuple[Task, TaskResult | None]]:
    """The cron-style one shot: every task due at `now` and not yet settled, once.

    Idempotent: a task runs again only when it did not finish (a stopped delivery, a crash).
    """
    files, series_files = config_files(config_dir, series_dir)
    units, _ = load_events(files, series_files=series_files, onwiki=onwiki)
    by_id = {unit.id: unit for unit in units.values()}
    found = candidates(list(by_id.values()), now, grace=grace, at=at)
    done = store.tasks_done(t.key for t in found)
    for task in missed_tasks(list(by_id.values()), now, done, grace=grace, at=at):
        record_missed(store, task, now, prefix=prefix, grace=grace)
    results: list[tuple[Task, TaskResult | None]] = []
    for task in due_tasks(list(by_id.values()), now, done, grace=grace, at=at):
        if stop_requested():
            log.info("stop requested: %s and later tasks are left for the next run", task.key)
            break
        results.append((task, execute(task, by_id[task.event_id], runner, store, now, prefix=prefix)))
    if not results:
        log.info("nothing due at %s", f"{now:%Y-%m-%d %H:%M %Z}")
    return results


# --- the daemon ----------------------------------------------------------------------------------

_RUNTIME: Runtime | None = None


def run_task(path: str, event_id: str, kind: str, name: str) -> None:
    """The scheduler's job function (the job store keeps a reference to it, so it stays a
    module-level function with plain arguments)."""
    if _RUNTIME is None:
        raise RuntimeError("no eventbot scheduler runtime in this process")
    _RUNTIME.run_job(path, event_id, kind, name)


@dataclass
class Runtime:
    """The daemon's state: where events (and series) are, the on-wiki jobs, the store, the
    runner, and the scheduler."""

    config_dir: Path
    store: Store
    runner: Runner
    grace: timedelta
    at: time
    clock: Callable[[], datetime]
    retry_delay: timedelta = RETRY_DELAY
    prefix: str = "scheduler"
    scheduler: Any = None
    series_dir: Path | None = None
    onwiki: Sequence[OnwikiJob] = ()
    _fingerprint: dict[str, str] | None = field(default=None, init=False)
    _specs: dict[str, tuple[str, TaskSpec]] = field(default_factory=dict, init=False)
    _running: int = field(default=0, init=False)
    _busy: set[str] = field(default_factory=set, init=False)
    _syncing: threading.Lock = field(default_factory=threading.Lock, init=False)
    _idle: threading.Condition = field(default_factory=threading.Condition, init=False)

    # -- bookkeeping -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _active(self) -> Iterator[None]:
        with self._idle:
            self._running += 1
        try:
            yield
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until no job function runs; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout)

    # -- config → jobs -----------------------------------------------------------------------

    def on_start(self, _event: Any = None) -> None:
        """APScheduler listener: sync with the event files before the first jobs run."""
        self.sync(force=True)
        jobs = self.scheduler.get_jobs(jobstore="default")
        log.info("scheduler running: %d job(s) for %d event file(s) in %s", len(jobs),
                 len({job.args[0] for job in jobs if job.args}), self.config_dir)

    def watch(self) -> None:
        """The watcher job: re-sync when an event file was added, changed or removed."""
        with self._active():
            if not stop_requested():
                self.sync()

    def sync(self, *, force: bool = False) -> None:
        """Make the scheduler's jobs match the event files: add new, remove deleted,
        reschedule changed; a file that cannot be read keeps its jobs as they were."""
        with self._syncing:
            self._sync(force)

    def _sync(self, force: bool) -> None:
        for folder in (self.config_dir, self.series_dir):
            if folder is not None and not folder.is_dir():  # a storage hiccup: never take it for "none"
                log.error("%s is not a folder (any more?); the jobs stay as they were", folder)
                return
        files, series_files = config_files(self.config_dir, self.series_dir)
        fingerprint = {str(path): _digest(path) for path in [*files, *series_files]}
        if not force and fingerprint == self._fingerprint:
            return
        self._fingerprint = fingerprint
        events, broken = load_events(files, series_files=series_files, onwiki=self.onwiki)
        wanted = {spec.job_id: (path, spec) for path, event in events.items()
                  for spec in task_specs(event, at=self.at)}
        current = {job.id: job for job in self.scheduler.get_jobs(jobstore="default")}
        for job_id, job in current.items():
            path = job.args[0] if job.args else ""
            if job_id.removesuffix(_RETRY) not in wanted and path not in broken:
                self.scheduler.remove_job(job_id, jobstore="default")
                log.info("%s: removed (no longer in %s)", job_id, path or "any event file")
        now = self.clock()
        for job_id, (path, spec) in wanted.items():
            self._ensure(spec, path, current.get(job_id), (job_id + _RETRY) in current, now)
        kept = {job_id: found for job_id, found in self._specs.items() if found[0] in broken}
        self._specs = {**kept, **wanted}

    def _ensure(self, spec: TaskSpec, path: str, job: Any, retrying: bool, now: datetime) -> None:
        """Add or reschedule the job of `spec` unless it is there unchanged. An unchanged job
        keeps its next run time, so runs missed while the daemon was down still happen."""
        description = spec.describe(path)
        grace = int(self.grace.total_seconds())
        if job is not None and job.name == description:
            if job.misfire_grace_time != grace:
                self.scheduler.modify_job(job.id, jobstore="default", misfire_grace_time=grace)
            if not retrying:
                self._catch_up(spec, path, job.next_run_time, now)
            return
        first = self._first_run(spec, now, retrying)
        if first is None:
            if job is not None:
                self.scheduler.remove_job(job.id, jobstore="default")
            return
        self.scheduler.add_job(
            run_task, trigger=_trigger(spec), args=[path, spec.event_id, spec.kind, spec.name],
            id=spec.job_id, name=description, jobstore="default", replace_existing=True,
            next_run_time=first, misfire_grace_time=grace)
        log.info("%s: %s, next run %s", spec.job_id, "rescheduled" if job is not None else "scheduled",
                 f"{first.astimezone(spec.tz):%Y-%m-%d %H:%M %Z}")

    def _catch_up(self, spec: TaskSpec, path: str, next_run: datetime | None, now: datetime) -> None:
        """Run the current occurrence now when its job has moved past it without finishing it
        (taken up just as the daemon stopped, or the job was replaced): within the grace only."""
        latest = spec.latest(now)
        if latest is None or (next_run is not None and next_run <= latest):
            return  # the job itself will run it
        task = spec.task(latest)
        if task.key in self._busy or _state(task, now, self.grace) != "due" or self.store.task_done(task.key):
            return
        log.info("%s: due %s and not done: running it now", task.key, f"{latest:%Y-%m-%d %H:%M %Z}")
        self._add_retry(spec, path, now)

    def _first_run(self, spec: TaskSpec, now: datetime, retrying: bool) -> datetime | None:
        """A new job's first run: the latest occurrence when it is due and not settled (it then
        runs at once), else the next one. A missed occurrence is recorded once."""
        latest = spec.latest(now)
        if latest is not None and not retrying:
            task = spec.task(latest)
            state = _state(task, now, self.grace)
            if state != "old" and not self.store.task_done(task.key):
                if state == "due":
                    return latest
                record_missed(self.store, task, now, prefix=self.prefix, grace=self.grace)
        return spec.next_after(now)

    # -- running -------------------------------------------------------------------------------

    def run_job(self, path: str, event_id: str, kind: str, name: str) -> None:
        """Run the current occurrence of a job's task with the event file as it is now."""
        with self._active():
            if stop_requested():
                log.info("%s:%s:%s: not started, shutting down", event_id, kind, name)
                return
            now = self.clock()
            try:
                event = load_unit(path, kind, self.onwiki)
            except KeyError:
                log.warning("%s:%s:%s: %s is no longer configured; not run", event_id, kind, name, path)
                return
            except (ConfigError, OSError) as exc:
                log.error("%s:%s:%s: %s cannot be read, not run:\n%s", event_id, kind, name, path, exc)
                run_id = self.store.start_run(event_id, f"{self.prefix}:{kind}:{name}"[:_COMMAND_MAX], now)
                self.store.finish_run(run_id, "config-error", {}, detail=str(exc))
                return
            spec = next((s for s in task_specs(event, at=self.at) if (s.kind, s.name) == (kind, name)), None)
            due = spec.latest(now) if spec is not None else None
            if spec is None or due is None:
                log.warning("%s:%s:%s: no longer in %s; not run", event_id, kind, name, path)
                return
            task = spec.task(due)
            if _state(task, now, self.grace) != "due":
                if not self.store.task_done(task.key):
                    record_missed(self.store, task, now, prefix=self.prefix, grace=self.grace)
                return
            self._busy.add(task.key)
            try:
                result = execute(task, event, self.runner, self.store, now, prefix=self.prefix)
            finally:
                self._busy.discard(task.key)
            if result is not None and not result.done:
                self._retry(spec, task, path, now)

    def _retry(self, spec: TaskSpec, task: Task, path: str, now: datetime) -> None:
        """Try an unfinished task again after `retry_delay`, while its grace lasts."""
        when = now + self.retry_delay
        if stop_requested():
            return
        if when - task.due > self.grace:
            log.warning("%s: not finished and its misfire grace ends before a retry; run it by hand",
                        task.key)
            return
        self._add_retry(spec, path, when)
        log.info("%s: will try again at %s", task.key, f"{when.astimezone(spec.tz):%Y-%m-%d %H:%M %Z}")

    def _add_retry(self, spec: TaskSpec, path: str, when: datetime) -> None:
        self.scheduler.add_job(
            run_task, trigger=DateTrigger(run_date=when), args=[path, spec.event_id, spec.kind, spec.name],
            id=spec.job_id + _RETRY, name=f"retry of {spec.describe(path)}", jobstore="default",
            replace_existing=True, misfire_grace_time=int(self.grace.total_seconds()))

    def on_missed(self, event: Any) -> None:
        """APScheduler listener: a job's run time passed beyond the misfire grace."""
        found = self._specs.get(event.job_id.removesuffix(_RETRY))
        if found is None:
            log.warning("%s: missed its run at %s", event.job_id, event.scheduled_run_time)
            return
        task = found[1].task(event.scheduled_run_time)
        if not self.store.task_done(task.key):
            record_missed(self.store, task, self.clock(), prefix=self.prefix, grace=self.grace)


class _Blocking(BlockingScheduler):  # type: ignore[misc]
    """APScheduler 3's loop makes one more pass over the due jobs when `shutdown()` wakes it,
    after the executors are gone: a job due then would be taken (its run time consumed) and
    never run. Once stopping, the loop takes nothing: due jobs stay in the store for the next
    start, which runs them within the misfire grace."""

    def _process_jobs(self) -> float | None:
        return _process_unless_stopping(self)


class _Background(BackgroundScheduler):  # type: ignore[misc]
    """`_Blocking`'s guard, for a scheduler in a background thread (tests)."""

    def _process_jobs(self) -> float | None:
        return _process_unless_stopping(self)


def _process_unless_stopping(scheduler: Any) -> float | None:
    if scheduler.state == STATE_STOPPED or stop_requested():
        return None
    return BaseScheduler._process_jobs(scheduler)  # type: ignore[no-any-return]


def _trigger(spec: TaskSpec) -> Any:
    if spec.at is not None:
        return DateTrigger(run_date=spec.at)
    if spec.every is not None:
        return IntervalTrigger(seconds=spec.every.total_seconds(), start_date=_EPOCH, timezone=UTC)
    assert spec.daily is not None
    tz = spec.tz
    return CronTrigger(
        hour=spec.daily.hour, minute=spec.daily.minute, timezone=tz,
        start_date=datetime.combine(spec.first, time(0), tz) if spec.first else None,
        end_date=datetime.combine(spec.last, time(23, 59, 59), tz) if spec.last else None)


def build_scheduler(config_dir: Path, store_url: str, runner: Runner, *,
                    misfire_grace: timedelta = DEFAULT_GRACE, at: time = DEFAULT_AT,
                    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                    background: bool = False, watch_every: timedelta = WATCH_EVERY,
                    retry_delay: timedelta = RETRY_DELAY, series_dir: Path | None = None,
                    onwiki: Sequence[OnwikiJob] = ()) -> Any:
    """The daemon: an APScheduler 3 scheduler (blocking, or `background` for tests) whose jobs
    live in the state database (table `apscheduler_jobs`), one per task spec, synced with the
    event files on start and whenever they change. Jobs run one at a time; missed runs are
    coalesced into one and run on start when within `misfire_grace`.
    """
    global _RUNTIME
    clear_stop()
    store = Store(store_url)
    runtime = Runtime(config_dir=config_dir, store=store, runner=runner, grace=misfire_grace, at=at,
                      clock=clock, retry_delay=retry_delay, series_dir=series_dir, onwiki=onwiki)
    grace = int(misfire_grace.total_seconds())
    options: dict[str, Any] = {
        "jobstores": {
            "default": SQLAlchemyJobStore(url=store_url, tablename=JOBS_TABLE,
                                          engine_options={"pool_pre_ping": True, "pool_recycle": 3600}),
            "memory": MemoryJobStore(),
        },
        # Tasks one at a time (one edit stream); the watcher beside them, so a config change is
        # picked up even while a long delivery runs.
        "executors": {"default": ThreadPoolExecutor(max_workers=1),
                      "watch": ThreadPoolExecutor(max_workers=1)},
        "job_defaults": {"coalesce": True, "misfire_grace_time": grace, "max_instances": 1},
        "timezone": UTC,
    }
    scheduler = _Background(**options) if background else _Blocking(**options)
    runtime.scheduler = scheduler
    scheduler.add_listener(runtime.on_start, EVENT_SCHEDULER_STARTED)
    scheduler.add_listener(runtime.on_missed, EVENT_JOB_MISSED)
    scheduler.add_job(runtime.watch, IntervalTrigger(seconds=watch_every.total_seconds()), id=_WATCH_ID,
                      name="watch the event files", jobstore="memory", executor="watch")
    scheduler.eventbot_runtime = runtime
    _RUNTIME = runtime
    return scheduler


def stop_gracefully(scheduler: Any) -> None:
    """Stop taking jobs, let the running one stop at its next edit, then shut down."""
    request_stop()
    with contextlib.suppress(Exception):
        scheduler.pause()
    scheduler.eventbot_runtime.drain()
    with contextlib.suppress(Exception):  # already shut down
        scheduler.shutdown(wait=True)
    log.info("scheduler stopped")


def serve(scheduler: Any) -> None:
    """Run a blocking scheduler until SIGTERM or SIGINT, then stop cleanly after the current edit.

    The shutdown runs in its own thread: a signal handler may interrupt the scheduler's loop
    while it holds its locks, and waiting for jobs there could deadlock.
    """
    stopper: list[threading.Thread] = []

    def on_stop() -> None:
        if not stopper:
            stopper.append(threading.Thread(target=stop_gracefully, args=(scheduler,), name="eventbot-stop"))
            stopper[0].start()

    restore = install_stop_handlers(on_stop)
    try:
        log.info("scheduler starting: misfire grace %s", _hours(scheduler.eventbot_runtime.grace))
        scheduler.start()
    finally:
        restore()
        for thread in stopper:
            thread.join()


# --- the production runner -----------------------------------------------------------------------


@dataclass
class PipelineRunner:
    """Runs tasks through the same entry points as the CLI commands (`run`, `report`,
    `followups`). The wiki connection is opened on first use and kept."""

    open_farm: Callable[[], Farm]
    reports_dir: Path
    _farm: Farm | None = None

    def farm(self) -> Farm:
        if self._farm is None:
            self._farm = self.open_farm()
        return self._farm

    def __call__(self, event: Unit, task: Task, now: datetime, store: Store) -> TaskResult:
        if isinstance(event, OnwikiJob):
            return self._onwiki(event, now, store)
        if not isinstance(event, EventConfig):
            return self._series(event, now, store)
        if task.kind == "refresh":
            return self._refresh(event, now, store)
        if task.kind == "report":
            return self._report(event, now, store)
        return self._campaign(event, task, now, store)

    def _series(self, series: SeriesConfig, now: datetime, store: Store) -> TaskResult:
        """`eventbot series`: month pages, announcements, reminders, the attendance report."""
        from bot import series as series_mod
        from bot.models import Failed, Posted, Skipped

        farm = self.farm()
        run = series_mod.run_series(series, farm, store, now, write=not farm.simulate)
        stopped = next((r.stopped for r in run.followups if r.stopped), None)
        counts = {name: sum(r.count(kind) for r in run.followups)
                  for name, kind in (("sent", Posted), ("skipped", Skipped), ("failed", Failed))}
        counts["created"] = sum(1 for o in run.created.values() if isinstance(o, Posted))
        failed = counts["failed"] or any(isinstance(o, Failed) for o in [*run.created.values(), run.report])
        status = "stopped" if stopped else "failed" if failed else "ok"
        return TaskResult(status, counts, detail=stopped, done=stopped is None and not farm.simulate)

    def _onwiki(self, job: OnwikiJob, now: datetime, store: Store) -> TaskResult:
        """`eventbot onwiki --send`: every `{{eventbot}}` configuration of the job's wiki."""
        from bot import discovery
        from bot.onwiki import OnwikiSettings

        farm = self.farm()
        settings = OnwikiSettings(wiki=job.wiki, template=job.template, allowlist_page=job.allowlist,
                                  required_group=job.group)
        results = discovery.run_onwiki(farm, settings, now, store=store, send=job.send,
                                       write=not farm.simulate)
        errors = [f"{r.loaded.page.title}: {r.error}" for r in results if r.error]
        counts = {"events": len(results), "approved": sum(1 for r in results if r.loaded.sends),
                  "finished": sum(1 for r in results if r.finished), "errors": len(errors)}
        return TaskResult("failed" if errors else "ok", counts, detail="; ".join(errors) or None,
                          done=not farm.simulate)

    def _refresh(self, event: EventConfig, now: datetime, store: Store) -> TaskResult:
        from bot import pipeline
        from bot.models import Failed

        farm = self.farm()
        result = pipeline.run_event(event, farm, now, store=store)
        counts = pipeline.outcome_counts(list(result.outcomes.values()))
        counts.update(participants=sum(1 for p in result.compiled.participants if p.active),
                      problems=len(result.compiled.problems))
        failed = any(isinstance(o, Failed) for o in result.outcomes.values())
        return TaskResult("failed" if failed else "ok", counts, done=not farm.simulate)

    def _report(self, event: EventConfig, now: datetime, store: Store) -> TaskResult:
        from bot import htmlreport, pipeline

        farm = self.farm()
        computed = pipeline.event_stats(event, farm, store, now)
        active = {p.username for p in computed.compiled.participants if p.active}
        written = htmlreport.write_report(self.reports_dir / event.id, event, computed.stats,
                                          computed.contribs, formats={"html", "csv", "json"},
                                          generated_at=now, users=active)
        return TaskResult("ok", {"participants": computed.stats.participants, "files": len(written)},
                          detail=f"wrote {self.reports_dir / event.id}", done=not farm.simulate)

    def _campaign(self, event: EventConfig, task: Task, now: datetime, store: Store) -> TaskResult:
        from bot import pipeline
        from bot.models import Failed, Posted, Skipped

        farm = self.farm()
        compiled, _ = pipeline.compile_event(event, farm)
        reports = pipeline.run_followups(event, compiled, farm, store, now, only=task.name,
                                         preview=farm.simulate, checkpoint=stop_checkpoint)
        stopped = next((r.stopped for r in reports if r.stopped), None)
        counts = {name: sum(r.count(kind) for r in reports)
                  for name, kind in (("sent", Posted), ("skipped", Skipped), ("failed", Failed))}
        status = "stopped" if stopped else "failed" if counts["failed"] else "ok"
        return TaskResult(status, counts, detail=stopped, done=stopped is None and not farm.simulate)
