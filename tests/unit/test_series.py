"""Workshop series: months, month events, attendance across the series and the report (pure)."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError
from bot.models import Participant, SignUp, SignUpKind, Status
from bot.participants import Compiled
from bot.series import (
    Month,
    SeriesConfig,
    attendance,
    creation_time,
    event_for_month,
    fill_preload,
    load_series,
    months,
    parse_series,
    series_report_wikitext,
)

REPO = Path(__file__).resolve().parents[2]


def series(**changes: Any) -> SeriesConfig:
    data: dict[str, Any] = {
        "id": "swt", "title": "SWT workshops", "page_pattern": "SWT/Workshops/{year}-{month:02}",
        "preload": "SWT/Preload", "subscribers": "SWT/Subscribers", "report": "SWT/Report",
        "first_month": "2026-11", "months": 3, "day_of_month": 31, "timezone": "Asia/Kolkata",
        "announcement": {"when": "start - 14d at 10:00", "message": "SWT/Announce", "title": "{event}"},
        "reminder": {"when": "start - 1d", "message": "SWT/Remind", "title": "{event}: tomorrow"},
    }
    data.update(changes)
    return parse_series(data, "test.yaml")


def person(name: str, *statuses: Status, community: str | None = None,
           home_wiki: str | None = None) -> Participant:
    signups = tuple(SignUp(username=name, source="p", line=1, raw="", kind=SignUpKind.SIGNATURE, status=s)
                    for s in statuses)
    fields = {"community": community} if community is not None else {}
    return Participant(username=name, status=max(statuses, key=list(Status).index),
                       statuses=frozenset(statuses), signups=signups, home_wiki=home_wiki, fields=fields)


def test_months_cross_the_year_and_clip_the_day() -> None:
    got = months(series())
    assert got == [
        Month(2026, 11, date(2026, 11, 30), "SWT/Workshops/2026-11"),
        Month(2026, 12, date(2026, 12, 31), "SWT/Workshops/2026-12"),
        Month(2027, 1, date(2027, 1, 31), "SWT/Workshops/2027-01"),
    ]
    assert [m.key for m in got] == ["2026-11", "2026-12", "2027-01"]


def test_last_month_instead_of_a_count() -> None:
    got = months(series(months=None, last_month="2027-02", day_of_month=15))
    assert [m.key for m in got] == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert [m.date.day for m in got] == [15, 15, 15, 15]


def test_creation_time_is_midnight_local_days_before() -> None:
    s = series(create_days_before=10, day_of_month=15)
    first = months(s)[0]
    assert creation_time(s, first) == datetime(2026, 11, 5, 0, 0, tzinfo=s.tz)


def test_event_for_month_is_an_ordinary_event() -> None:
    s = series()
    month = months(s)[1]
    event = event_for_month(s, month)
    assert event.id == "swt-2026-12"
    assert event.start == event.end == date(2026, 12, 31)
    assert event.registration[0].page == "SWT/Workshops/2026-12"
    assert event.registration[0].sections == {"Participants": Status.REGISTERED, "Attended": Status.ATTENDED}
    assert [c.name for c in event.campaigns] == ["swt-announce-2026-12", "swt-reminder-2026-12"]
    assert event.pages.delivery_log == "SWT/Report"
    assert event.campaigns[1].audience.statuses == [Status.REGISTERED, Status.SELECTED, Status.WAITLISTED]
    assert event.campaigns[0].params["page"] == "SWT/Workshops/2026-12"


def test_bad_series_lists_every_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        series(page_pattern="SWT/{year}", first_month="2026-13", day_of_month=0, titel="x")
    text = str(caught.value)
    assert "titel: unknown key; did you mean 'title'?" in text
    with pytest.raises(ConfigError) as caught:
        series(page_pattern="SWT/{year}", first_month="2026-13", day_of_month=0)
    text = str(caught.value)
    assert "page_pattern" in text and "first_month" in text and "day_of_month" in text


def test_bad_campaign_in_series_is_reported_at_load() -> None:
    with pytest.raises(ConfigError, match="when: cannot read"):
        series(reminder={"when": "tomorrow", "message": "M", "title": "T"})


def test_example_series_file_loads() -> None:
    s = load_series(REPO / "config/series/swt-workshops.yaml")
    expected = [f"Small wiki toolkits/Workshops/2026-{n}" for n in (10, 11, 12)]
    assert [m.page_title for m in months(s)] == expected


def test_preload_placeholders_are_filled() -> None:
    s = series()
    month = months(s)[0]
    preload = "{{{month_name}}} {{{year}}}-{{{month}}}: {{{date}}} {{{time}}} {{{other}}}"
    text = fill_preload(s, month, preload)
    assert text == "November 2026-11: 2026-11-30 16:00 {{{other}}}"


def test_attendance_new_repeat_unique_and_communities() -> None:
    s = series()
    m1, m2, m3 = months(s)
    by_month = {
        m1: Compiled([person("A", Status.ATTENDED, community="Telugu"),
                      person("B", Status.REGISTERED, Status.ATTENDED, home_wiki="tewiki"),
                      person("D", Status.REGISTERED)], []),
        m2: Compiled([person("B", Status.ATTENDED), person("C", Status.ATTENDED, community="Odia"),
                      person("E", Status.WITHDRAWN)], []),
        m3: Compiled([person("B", Status.ATTENDED, community="Kannada")], []),
    }
    result = attendance(by_month)
    assert result.unique == 3
    assert result.repeat == ("B",)
    rows = [(r.month.key, r.registered, r.attended, r.new, r.returning, r.change) for r in result.months]
    assert rows == [
        ("2026-11", 3, ("A", "B"), ("A", "B"), (), None),
        ("2026-12", 2, ("B", "C"), ("C",), ("B",), 0),
        ("2027-01", 1, ("B",), (), ("B",), -1),
    ]
    assert result.attendees["B"] == (m1, m2, m3)
    # B's community: the latest one given (Kannada) wins over the earlier home wiki.
    assert dict(result.communities) == {"Kannada": ("B",), "Odia": ("C",), "Telugu": ("A",)}


def test_attendance_of_no_months_is_empty() -> None:
    result = attendance({})
    assert result.unique == 0 and result.repeat == () and result.months == ()


def test_report_escapes_hostile_community_names() -> None:
    s = series()
    m1 = months(s)[0]
    hostile = "}} {{Delete}} [[Category:Spam]] ~~~~ |- | <script>x</script>\n* item"
    result = attendance({m1: Compiled([person("A", Status.ATTENDED, community=hostile)], [])})
    text = series_report_wikitext(s, result, datetime(2026, 12, 1, 4, 30, tzinfo=UTC))
    for bad in ("{{Delete}}", "[[Category:Spam]]", "~~~~", "<script>", "\n* item"):
        assert bad not in text
    assert html.unescape(text).count(hostile.replace("\n", " ")) == 2  # attendees and communities tables
    assert "'''SWT workshops''': 1 unique attendee, 0 repeat attendees" in text
    row = '| data-sort-value="2026-11" | November 2026 || [[SWT/Workshops/2026-11|2026-11-30]] || 1 || 1 || —'
    assert row in text
    assert '<span class="eventbot-stamp">Last updated by eventbot: 1 December 2026, 10:00 (Asia/Kolkata).' \
        in text
