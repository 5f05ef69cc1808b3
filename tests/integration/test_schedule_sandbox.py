"""The scheduler's series and on-wiki jobs against the sandbox farm, through `run-due` and the
production runner (the same code the Toolforge cron job runs)."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.models import Posted

A, B = "Sailaja Vemuri", "Kiran Hegde"


def markers(farm: Any, user: str, campaign: str) -> int:
    page = farm.read_page("metawiki", f"User talk:{user}")
    return len(re.findall(rf"<!-- eventbot:{re.escape(campaign)}:", page.text)) if page.exists else 0


def test_run_due_creates_and_announces_a_series_month_once(tmp_path: Path, farm: Any, human: Any,
                                                            prefix: str) -> None:
    from bot import schedule
    from bot.store import Store

    tag = prefix.rsplit("/", 1)[1][:8]
    for title, text in {
        "Preload": "Workshop of {{{month_name}}} {{{year}}} on {{{date}}}.\n\n== Participants ==\n\n"
                   "== Attended ==\n",
        "Subscribers": f"* [[User:{A}|{A}]]\n* [[User:{B}|{B}]]\n",
        "Messages/Announcement/en": "Hello {{{username}}}: [[{{{page}}}]] on {{{date}}}.",
    }.items():
        assert isinstance(human.edit("metawiki", f"{prefix}/{title}", text, "set up the series"), Posted)
    (tmp_path / "events").mkdir()
    (tmp_path / "series").mkdir()
    series_id = f"sched-{tag}"
    (tmp_path / "series" / "s.yaml").write_text(yaml.safe_dump({
        "id": series_id, "title": "Scheduled workshops", "wiki": "metawiki", "timezone": "Asia/Kolkata",
        "page_pattern": f"{prefix}/Workshops/{{year}}-{{month:02}}", "preload": f"{prefix}/Preload",
        "subscribers": f"{prefix}/Subscribers", "report": f"{prefix}/Report", "first_month": "2026-10",
        "months": 2, "day_of_month": 15, "time": "16:00", "create_days_before": 28,
        "announcement": {"when": "start - 14d at 10:00", "message": f"{prefix}/Messages/Announcement",
                         "title": "{event}", "languages": []},
        "delivery": {"edits_per_minute": 600},
    }), encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    runner = schedule.PipelineRunner(lambda: farm, tmp_path / "reports")
    now = datetime.fromisoformat("2026-10-01T10:05+05:30")

    def run(at: datetime) -> list[tuple[str, str | None]]:
        done = schedule.run_due(tmp_path / "events", store, runner, at, series_dir=tmp_path / "series")
        return [(task.key, result.status if result else None) for task, result in done]

    assert run(now) == [(f"{series_id}:series:2026-10-01", "ok"),
                        (f"{series_id}:series:announce-2026-10", "ok")]
    october = farm.read_page("metawiki", f"{prefix}/Workshops/2026-10")
    assert october.text.startswith("Workshop of October 2026 on 2026-10-15.")
    assert not farm.read_page("metawiki", f"{prefix}/Workshops/2026-11").exists  # created from 18 Oct
    announce = f"{series_id}-announce-2026-10"
    assert (markers(farm, A, announce), markers(farm, B, announce)) == (1, 1)
    assert "<!-- eventbot:start:series -->" in farm.read_page("metawiki", f"{prefix}/Report").text
    runs = {r.command: (r.status, r.counts) for r in store.runs(series_id)}
    assert runs["run-due:series:2026-10-01"] == ("ok", {"sent": 2, "skipped": 0, "failed": 0, "created": 1})
    assert runs["run-due:series:create-2026-10"][0] == "missed"  # 17 Sept: long before this first run

    # Called again every few minutes: nothing runs twice, nobody is messaged twice.
    assert run(now + timedelta(minutes=5)) == []
    # The next day's run keeps the report up to date and sends nothing.
    assert run(now + timedelta(days=1)) == [(f"{series_id}:series:2026-10-02", "ok")]
    assert (markers(farm, A, announce), markers(farm, B, announce)) == (1, 1)


def test_run_due_runs_the_onwiki_configurations_every_hour(tmp_path: Path, farm: Any, human: Any,
                                                           prefix: str) -> None:
    from bot import discovery, schedule
    from bot.store import Store

    # A configuration template of this test's own, so only this test's event page is found
    # (the sandbox holds every other test's {{eventbot}} pages too).
    template = f"Eventbot {prefix.rsplit('/', 1)[1][:8]}"
    human.edit("metawiki", f"Template:{template}", "An event configured for eventbot.", "test")
    signature = f"# [[User:{A}|{A}]] ([[User talk:{A}|talk]]) 10:00, 1 June 2026 (UTC)"
    human.edit("metawiki", f"{prefix}/Registration", f"== Participants ==\n{signature}\n", "test")
    human.edit("metawiki", f"{prefix}/Event", "\n".join([
        "{{" + template, "| start = 2026-12-05", "| end = 2026-12-05", "| timezone = UTC",
        f"| registration = {prefix}/Registration", "| sections = Participants: registered", "}}"]), "test")
    deadline = time.monotonic() + 20
    while not discovery.discover(farm, "metawiki", template=template):  # links are saved deferred
        assert time.monotonic() < deadline, "the event page was not found through its template"
        time.sleep(0.3)

    (tmp_path / "events").mkdir()
    store = Store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    runner = schedule.PipelineRunner(lambda: farm, tmp_path / "reports")
    job = schedule.OnwikiJob("metawiki", template=template)
    now = datetime.fromisoformat("2026-11-25T09:10+00:00")

    done = schedule.run_due(tmp_path / "events", store, runner, now, onwiki=[job])
    assert [(task.key, result.status if result else None) for task, result in done] == [
        ("onwiki-metawiki:onwiki:2026-11-25T09:00", "ok")]
    assert done[0][1] is not None and done[0][1].counts == {"events": 1, "approved": 0, "finished": 0,
                                                            "errors": 0}
    listing = farm.read_page("metawiki", f"{prefix}/Event/Participants").text
    assert "<!-- eventbot:start:participants -->" in listing and f"[[User:{A}|{A}]]" in listing
    (record,) = store.runs("onwiki-metawiki")
    assert (record.command, record.status) == ("run-due:onwiki:2026-11-25T09:00", "ok")
    # Every five minutes within the hour: nothing; the next hour: the next run.
    events = tmp_path / "events"
    assert schedule.run_due(events, store, runner, now + timedelta(minutes=45), onwiki=[job]) == []
    again = schedule.run_due(events, store, runner, now + timedelta(minutes=50), onwiki=[job])
    assert [task.key for task, _ in again] == ["onwiki-metawiki:onwiki:2026-11-25T10:00"]

    # Once its last statistics window has closed (it closes on 2027-06-04, 180 days after the
    # 5 December event's end, as do the two 90-day retention windows), it is left alone.
    revid = farm.read_page("metawiki", f"{prefix}/Event/Participants").revid
    human.edit("metawiki", f"{prefix}/Registration", "== Participants ==\n", "everyone left")
    (_, result), = schedule.run_due(events, store, runner, datetime.fromisoformat("2027-06-05T09:00Z"),
                                    onwiki=[job])
    assert result is not None and (result.counts["events"], result.counts["finished"]) == (1, 1)
    assert farm.read_page("metawiki", f"{prefix}/Event/Participants").revid == revid
