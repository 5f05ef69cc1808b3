"""A three-month workshop series against the sandbox farm: pages created from the preload exactly
once, each month announced to the subscribers, registrants reminded, attendance reported."""

from __future__ import annotations

import html
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.models import Posted, Unchanged

IST = "+05:30"
A, B, C = "Sailaja Vemuri", "Kiran Hegde", "Asha Organiser"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + IST)


def markers(farm: Any, user: str, campaign: str) -> int:
    page = farm.read_page("metawiki", f"User talk:{user}")
    return len(re.findall(rf"<!-- eventbot:{re.escape(campaign)}:", page.text)) if page.exists else 0


def signed(name: str, *, te: bool = False) -> str:
    link = f"[[:te:వాడుకరి:{name}|{name}]]" if te else f"[[User:{name}|{name}]]"
    return f"# {link} 10:00, 1 October 2026 (UTC)"


def month_page(participants: list[str], attended: list[str]) -> str:
    return "\n".join(["Workshop page.", "", "== Participants ==", *participants, "", "== Attended ==",
                      *attended, ""])


def test_three_month_series_created_announced_and_reported(tmp_path: Path, farm: Any, human: Any,
                                                             prefix: str) -> None:
    from bot.series import months, parse_series, run_series
    from bot.store import Store

    tag = prefix.rsplit("/", 1)[1][:8]
    wiki = "metawiki"
    seeds = {
        "Preload": "Workshop of {{{month_name}}} {{{year}}}: {{{date}}} at {{{time}}} ({{{timezone}}}).\n\n"
                   "== Participants ==\n\n== Attended ==\n",
        "Subscribers": "".join(f"* [[User:{n}|{n}]]\n" for n in (A, B, C)),
        "Messages/Announcement/en": "Hello {{{username}}}: [[{{{page}}}]] on {{{date}}} at {{{time}}}.",
        "Messages/Reminder/en": "{{{username}}}, see you tomorrow at [[{{{page}}}]].",
    }
    for title, text in seeds.items():
        assert isinstance(human.edit(wiki, f"{prefix}/{title}", text, "set up the series"), Posted)
    series = parse_series({
        "id": f"test-{tag}", "title": "SWT test workshops", "wiki": wiki, "wikis": ["tewiki"],
        "timezone": "Asia/Kolkata", "page_pattern": f"{prefix}/Workshops/{{year}}-{{month:02}}",
        "preload": f"{prefix}/Preload", "subscribers": f"{prefix}/Subscribers", "report": f"{prefix}/Report",
        "first_month": "2026-10", "months": 3, "day_of_month": 15, "time": "16:00", "create_days_before": 28,
        "announcement": {"when": "start - 14d at 10:00", "message": f"{prefix}/Messages/Announcement",
                         "title": "{event}", "languages": []},
        "reminder": {"when": "start - 1d at 10:00", "message": f"{prefix}/Messages/Reminder",
                     "title": "{event}: tomorrow", "languages": []},
        "delivery": {"edits_per_minute": 600},
    }, "test")
    m1, m2, m3 = months(series)
    announce = [f"test-{tag}-announce-{m.key}" for m in (m1, m2, m3)]
    reminder1 = f"test-{tag}-reminder-{m1.key}"
    store = Store(f"sqlite:///{tmp_path / 'state.sqlite'}")

    # Before the first page's creation time (17 Sept): nothing is created or sent.
    run = run_series(series, farm, store, at("2026-09-10T09:00"))
    assert run.created == {} and run.followups == []
    assert not farm.read_page(wiki, m1.page_title).exists

    # 1 October: month 1 is created from the preload and announced to every subscriber.
    run = run_series(series, farm, store, at("2026-10-01T10:00"))
    assert list(run.created) == [m1.page_title] and isinstance(run.created[m1.page_title], Posted)
    page = farm.read_page(wiki, m1.page_title)
    assert page.text.startswith("Workshop of October 2026: 2026-10-15 at 16:00 (Asia/Kolkata).")
    sent = {r.username for rep in run.followups for r in rep.results if isinstance(r.outcome, Posted)}
    assert sent == {A, B, C}
    # A second run at the same moment makes no edit at all.
    again = run_series(series, farm, store, at("2026-10-01T10:00"))
    assert again.created == {} and isinstance(again.report, Unchanged)
    assert all(r.earlier for rep in again.followups for r in rep.results)
    assert farm.read_page(wiki, m1.page_title).revid == page.revid
    for user in (A, B, C):
        assert markers(farm, user, announce[0]) == 1, user

    # People sign up for October; the day before, only they are reminded.
    human.edit(wiki, m1.page_title, month_page([signed(A, te=True), signed(B)], []), "sign up")
    run = run_series(series, farm, store, at("2026-10-14T12:00"))
    reminded = {r.username for rep in run.followups if rep.campaign == reminder1 for r in rep.results
                if isinstance(r.outcome, Posted)}
    assert reminded == {A, B}
    assert markers(farm, C, reminder1) == 0
    human.edit(wiki, m1.page_title, month_page([signed(A, te=True), signed(B)],
                                               [signed(A, te=True), signed(B)]), "attendance")

    # November and December: each page created once and announced.
    run = run_series(series, farm, store, at("2026-11-01T10:00"))
    assert list(run.created) == [m2.page_title]
    human.edit(wiki, m2.page_title, month_page([], [signed(B), signed(C)]), "attendance")
    run = run_series(series, farm, store, at("2026-12-01T10:00"))
    assert list(run.created) == [m3.page_title]
    human.edit(wiki, m3.page_title, month_page([], [signed(B)]), "attendance")
    for campaign in announce:
        for user in (A, B, C):
            assert markers(farm, user, campaign) == 1, (campaign, user)

    # After the series: the report shows attendance across it.
    run = run_series(series, farm, store, at("2026-12-20T10:00"))
    assert run.created == {} and run.followups == []
    assert run.attendance is not None
    assert run.attendance.unique == 3 and run.attendance.repeat == (B,)
    report = html.unescape(farm.read_page(wiki, f"{prefix}/Report").text)
    assert "'''SWT test workshops''': 3 unique attendees, 1 repeat attendee (two or more workshops), " \
           "1 community reached." in report
    for key, label, day, registered, attended, change, new, returning in (
        ("2026-10", "October 2026", "2026-10-15", 2, 2, "—", 2, 0),
        ("2026-11", "November 2026", "2026-11-15", 2, 2, "±0", 1, 1),
        ("2026-12", "December 2026", "2026-12-15", 1, 1, "−1", 0, 1),
    ):
        row = (f'| data-sort-value="{key}" | {label} || [[{prefix}/Workshops/{key}|{day}]] || {registered} '
               f"|| {attended} || {change} || {new} || {returning}")
        assert row in report, row
    assert f"| [[User:{B}|{B}]] || — || 3 || 2026-10, 2026-11, 2026-12" in report
    assert f"| [[User:{A}|{A}]] || tewiki || 1 || 2026-10" in report
    assert "| tewiki || 1" in report
    # The delivery logs of each month's campaigns sit on the report page too.
    assert f"eventbot:start:followup-{announce[2]}" in report
