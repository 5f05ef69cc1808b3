"""Charts for the local report: PNG/SVG bytes, determinism, pending retention, labels in any script.

The event runs 2026-07-10 to 2026-07-12 in Asia/Kolkata (UTC+05:30); `NOW` is 2026-09-15, so
retention at 30 days (days 31–60, up to 2026-09-10) is closed and at 90 days is pending.
"""

from __future__ import annotations

import itertools
import re
import struct
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import pytest

from bot import charts
from bot.charts import (
    Chart,
    build_charts,
    daily_edits,
    edits_per_day,
    participants_by_community,
    retention_by_cohort,
    window_label,
)
from bot.models import Contribution, Participant, Status, UserInfo
from bot.stats import EventStats, compute
from tests.unit.factories import make_event

_revids = itertools.count(1)
OLD = datetime(2015, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 9, 15, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script>"
TELUGU = "తెలుగు వికీపీడియా"


EVENT = make_event()


def z(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def edit(user: str, when: str, *, wiki: str = "tewiki") -> Contribution:
    return Contribution(wiki, user, next(_revids), z(when), 0, "Page", 10)


def person(name: str, community: str, *, new: bool = False) -> Participant:
    registration = datetime(2026, 7, 1, tzinfo=UTC) if new else OLD
    info = UserInfo(name, True, 1, 5 if new else 1000, registration)
    return Participant(name, Status.ATTENDED, frozenset({Status.ATTENDED}), (),
                       fields={"community": community}, user=info)


def sample() -> tuple[list[Participant], list[Contribution]]:
    people = [
        person("Asha", TELUGU, new=True),
        person("Ravi", TELUGU),
        person("مستخدم", "العربية"),
        person("Mallory", HOSTILE, new=True),
    ]
    contribs = [
        edit("Asha", "2026-07-10T05:00:00"),
        edit("Asha", "2026-07-11T05:00:00"),
        edit("Asha", "2026-08-20T00:00:00"),  # day 39 after the end: retained at 30
        edit("Ravi", "2026-06-01T05:00:00"),
        edit("Ravi", "2026-07-10T06:00:00"),
        edit("مستخدم", "2026-07-12T06:00:00"),
    ]
    return people, contribs


def sample_stats(now: datetime = NOW) -> EventStats:
    people, contribs = sample()
    return compute(EVENT, people, contribs, [], now)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def svg_texts(chart: Chart) -> list[str]:
    """The text of every <text> element of an SVG chart (matplotlib keeps text as text)."""
    root = ET.fromstring(chart.data)
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


# --- daily edits -------------------------------------------------------------------------------


def test_daily_edits_counts_local_days_and_keeps_only_the_given_users() -> None:
    contribs = [
        edit("Asha", "2026-07-09T18:29:59"),  # 23:59:59 IST on 9 July
        edit("Asha", "2026-07-09T18:30:00"),  # midnight IST: 10 July
        edit("Ravi", "2026-07-10T12:00:00"),
        edit("Gone", "2026-07-10T12:00:00"),
        Contribution("tewiki", "Ravi", 99, datetime(2026, 7, 10, 20, 0), 0, "P", 1),  # naive: UTC
    ]
    assert daily_edits(contribs, EVENT.tz, {"Asha", "Ravi"}) == {
        date(2026, 7, 9): 1,
        date(2026, 7, 10): 2,
        date(2026, 7, 11): 1,
    }
    assert sum(daily_edits(contribs, EVENT.tz).values()) == 5
    assert list(daily_edits(reversed(contribs), EVENT.tz)) == sorted(daily_edits(contribs, EVENT.tz))


def test_window_labels_are_words() -> None:
    assert [window_label(n) for n in ("baseline", "during", "after-30", "other")] == [
        "before the event", "during the event", "30 days after", "other"]


# --- images ------------------------------------------------------------------------------------


def test_every_chart_is_a_png_twice_its_css_size() -> None:
    stats = sample_stats()
    _, contribs = sample()
    built = build_charts(EVENT, stats, daily_edits(contribs, EVENT.tz))
    assert list(built) == list(charts.CHART_NAMES)
    for chart in built.values():
        assert chart.mime == "image/png" and chart.extension == "png"
        assert png_size(chart.data) == (chart.width * 2, chart.height * 2)
        assert chart.width == 900 and 200 < chart.height < 800
        assert 5_000 < len(chart.data) < 500_000
        assert b"Software" not in chart.data[:200]


def test_the_same_input_gives_the_same_bytes_in_png_and_svg() -> None:
    _, contribs = sample()
    by_day = daily_edits(contribs, EVENT.tz)
    for fmt in ("png", "svg"):
        first = build_charts(EVENT, sample_stats(), by_day, fmt=fmt)
        second = build_charts(EVENT, sample_stats(), by_day, fmt=fmt)
        assert {k: c.data for k, c in first.items()} == {k: c.data for k, c in second.items()}
    svg = first["edits_per_day"].data
    assert svg.startswith(b"<?xml") and b"<dc:date>" not in svg and b"Matplotlib" not in svg


def test_user_matplotlib_settings_change_nothing_and_are_left_alone() -> None:
    import matplotlib

    stats = sample_stats()
    plain = retention_by_cohort(stats).data
    with matplotlib.rc_context({"axes.facecolor": "red", "font.size": 30, "patch.edgecolor": "k"}):
        assert retention_by_cohort(stats).data == plain
        assert matplotlib.rcParams["font.size"] == 30
    assert matplotlib.rcParams["svg.hashsalt"] is None


def test_importing_charts_does_not_import_matplotlib() -> None:
    code = "import sys, bot.charts; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="png"):
        retention_by_cohort(sample_stats(), fmt="gif")  # type: ignore[arg-type]


# --- retention ---------------------------------------------------------------------------------


def test_pending_retention_is_drawn_without_a_number() -> None:
    chart = retention_by_cohort(sample_stats(), fmt="svg")
    texts = svg_texts(chart)
    # Closed at 30 days: all 1 of 4 (Asha), new editors 1 of 2 (Asha, Mallory).
    assert "1 of 4" in texts and "1 of 2" in texts and "25%" in texts and "50%" in texts
    # Pending at 90 days: two placeholder boxes saying so, and no third or fourth figure.
    assert texts.count("pending") == 3  # two boxes and the legend
    assert len([t for t in texts if re.fullmatch(r"\d+ of \d+", t)]) == 2
    assert "closes" in texts and "8 January 2027" in texts  # 2026-07-13 + 180 days, exclusive
    alt = chart.alt
    at_90 = alt[alt.index("at 90 days"):]
    assert "pending" in at_90 and "%" not in at_90 and " of " not in at_90
    assert "all participants 1 of 4 (25%)" in alt and "new editors 1 of 2 (50%)" in alt


def test_retention_before_any_period_has_closed_is_all_pending() -> None:
    chart = retention_by_cohort(sample_stats(z("2026-07-20T00:00:00")), fmt="svg")
    texts = svg_texts(chart)
    assert texts.count("pending") == 5
    assert not any(re.fullmatch(r"\d+ of \d+", t) for t in texts)
    assert "%" not in chart.alt


def test_an_empty_new_editor_cohort_says_nobody() -> None:
    people = [person("Ravi", "te")]
    stats = compute(EVENT, people, [edit("Ravi", "2026-08-20T00:00:00")], [], NOW)
    chart = retention_by_cohort(stats, fmt="svg")
    assert "nobody" in svg_texts(chart)
    assert "new editors: nobody in the cohort" in chart.alt


# --- participants by community -----------------------------------------------------------------


def test_community_labels_keep_any_script_and_hostile_text_as_text() -> None:
    chart = participants_by_community(sample_stats(), fmt="svg")
    texts = svg_texts(chart)
    assert TELUGU in texts and "العربية" in texts and HOSTILE in texts
    assert b"<script>" not in chart.data  # XML-escaped inside the SVG
    # Largest first in the alt text, with who edited during the event.
    assert chart.alt.index(TELUGU) < chart.alt.index("العربية")
    assert f"{TELUGU}: 2 (2 edited during the event)" in chart.alt
    assert "4 participants in all" in chart.alt


def test_long_community_names_are_shortened_in_the_chart_not_in_the_alt_text() -> None:
    name = "Wikimedians of a Very Long Community Name Region and Friends"
    stats = compute(EVENT, [person("Asha", name)], [], [], NOW)
    chart = participants_by_community(stats, fmt="svg")
    short = [t for t in svg_texts(chart) if t.startswith("Wikimedians")]
    assert len(short) == 1 and short[0].endswith("…") and len(short[0]) == charts.MAX_LABEL
    assert name in chart.alt


def test_many_communities_end_in_one_other_bar() -> None:
    people = [person(f"U{i}", f"Community {i:02}") for i in range(20)]
    chart = participants_by_community(compute(EVENT, people, [], [], NOW), fmt="svg")
    texts = svg_texts(chart)
    assert "6 other communities" in texts
    assert len([t for t in texts if t.startswith("Community ")]) == charts.MAX_COMMUNITIES - 1


def test_no_participants_gives_a_chart_that_says_so() -> None:
    stats = compute(EVENT, [], [], [], NOW)
    chart = participants_by_community(stats, fmt="svg")
    assert "No participants yet" in svg_texts(chart)
    assert png_size(participants_by_community(stats).data)[0] == 1800


def test_font_fallback_lists_only_installed_fonts() -> None:
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    family = charts._font_family()
    assert family and set(family) <= installed | {"DejaVu Sans"}


# --- edits per day -----------------------------------------------------------------------------


def test_edits_per_day_stops_at_now_and_labels_partial_windows() -> None:
    stats = sample_stats()
    _, contribs = sample()
    chart = edits_per_day(EVENT, daily_edits(contribs, EVENT.tz), stats.windows, now=NOW, fmt="svg")
    texts = svg_texts(chart)
    assert "before the event" in texts and "during the event" in texts
    assert "30 days after" in texts and "days 31–90 after (partial)" in texts
    assert not any("91–180" in t for t in texts)  # starts after `now`: nothing to draw yet
    alt = chart.alt
    assert alt.startswith("Bar chart of edits per day by participants, 11 April 2026 to "
                          "15 September 2026 (Asia/Kolkata).")
    assert "during the event: 4 edits over 3 days" in alt
    assert "before the event: 1 edit over 90 days" in alt
    assert "days 31–90 after: 1 edit over 35 days, so far" in alt  # 12 Aug to 15 Sep
    assert "Busiest day: 10 July 2026 with 2 edits." in alt


def test_edits_per_day_without_now_spans_every_window() -> None:
    stats = sample_stats()
    chart = edits_per_day(EVENT, {}, stats.windows, fmt="svg")
    assert "No edits in these periods yet" in svg_texts(chart)
    assert "to 8 January 2027" in chart.alt and "No edits yet." in chart.alt
    assert "(partial)" not in "".join(svg_texts(chart))


def test_edits_per_day_needs_windows() -> None:
    with pytest.raises(ValueError, match="window"):
        edits_per_day(EVENT, {}, [])


def test_without_script_fonts_labels_degrade_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "_font_family", lambda: ("DejaVu Sans",))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chart = participants_by_community(sample_stats())
    assert png_size(chart.data)[0] == 1800
    assert TELUGU in chart.alt  # the words are still there for anyone who cannot see boxes


def test_edits_per_day_before_any_window_has_started() -> None:
    early = z("2026-01-01T00:00:00")
    stats = sample_stats(early)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chart = edits_per_day(EVENT, {}, stats.windows, now=early, fmt="svg")
    assert "The first period has not started yet" in svg_texts(chart)
    assert chart.alt == "Edits per day: no days to show yet."
