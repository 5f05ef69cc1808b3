"""The local HTML report and its CSV/JSON companions.

The event runs 2026-07-10 to 2026-07-12 in Asia/Kolkata (UTC+05:30); `NOW` is
2026-09-15T00:00Z (05:30 IST): retention at 30 days is closed, at 90 days pending, and the
after-90 and after-180 periods are still open.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from datetime import UTC, datetime
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from bot.charts import Chart
from bot.config import EventConfig
from bot.htmlreport import groups_csv, render_html, windows_csv, write_report
from bot.models import Contribution, Participant, Status, UserInfo
from bot.stats import EventStats, compute, definitions
from tests.unit.factories import make_event as _make_event

_revids = itertools.count(1)
OLD = datetime(2015, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 9, 15, tzinfo=UTC)
GENERATED = datetime(2026, 9, 15, 1, 0, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script>"
RTL_NAME = "مستخدم"


def make_event(**overrides: Any) -> EventConfig:
    """The shared event, with a title that must be escaped and a location."""
    return _make_event(**{"title": "Train the Trainer <2026> & friends", "location": "Hyderabad",
                          **overrides})


EVENT = make_event()


def z(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def edit(user: str, when: str, *, wiki: str = "tewiki", created: bool = False) -> Contribution:
    return Contribution(wiki, user, next(_revids), z(when), 0, f"Page {next(_revids)}", 100,
                        created=created)


def person(name: str, status: Status = Status.ATTENDED, *, new: bool = False, **fields: str) -> Participant:
    registration = datetime(2026, 7, 1, tzinfo=UTC) if new else OLD
    info = UserInfo(name, True, 1, 5 if new else 1000, registration)
    return Participant(name, status, frozenset({status}), (), fields=fields, user=info)


def sample() -> tuple[list[Participant], list[Contribution]]:
    people = [
        person("Asha", community="Telugu", region="South", gender="woman", new=True),
        person("Ravi", community="Telugu", region="South", gender="man"),
        person(RTL_NAME, community="العربية", gender="woman"),
        person(HOSTILE, community='" onerror="alert(2)', gender="woman", new=True),
        person("Hidden Person", community="Odia", public="no", gender="man"),
        person("Gone Away", Status.WITHDRAWN, community="Telugu"),
        person("Formula", community="=HYPERLINK(\"http://evil\")", gender="woman"),
    ]
    # Twelve more so that gender has enough answers to be shown (women 8, men 5, one other).
    people += [person(f"Extra {i}", community="Odia", gender="woman" if i < 4 else "man")
               for i in range(7)]
    people.append(person("Extra 7", community="Odia", gender="non-binary"))
    contribs = [
        edit("Asha", "2026-07-10T05:00:00", created=True),
        edit("Asha", "2026-07-11T05:00:00", wiki="wikidatawiki"),
        edit("Asha", "2026-08-20T00:00:00"),
        edit("Ravi", "2026-06-01T05:00:00"),
        edit("Ravi", "2026-07-10T06:00:00"),
        edit(RTL_NAME, "2026-07-12T06:00:00"),
        edit("Hidden Person", "2026-07-11T07:00:00"),
        edit("Gone Away", "2026-07-11T07:00:00"),
    ]
    return people, contribs


def sample_stats() -> EventStats:
    people, contribs = sample()
    return compute(EVENT, people, contribs, [], NOW)


def fake_chart(alt: str) -> Chart:
    return Chart(b"\x89PNG\r\n\x1a\n fake", alt, "image/png", 900, 300)


CHARTS = {
    "participants_by_community": fake_chart(f"Communities: {HOSTILE}; \" onerror=\"x"),
    "retention_by_cohort": fake_chart("Retention: pending"),
}


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(EVENT, sample_stats(), CHARTS, generated_at=GENERATED)


class _Checker(HTMLParser):
    """Checks that tags nest and close, and collects elements with their attributes."""

    VOID = frozenset({"meta", "img", "br", "link", "hr", "input", "col", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
        else:
            self.stack.pop()


def parse(html_text: str) -> _Checker:
    checker = _Checker()
    checker.feed(html_text)
    checker.close()
    return checker


# --- structure and accessibility ---------------------------------------------------------------


def test_page_is_well_formed_and_self_contained(page: str) -> None:
    checker = parse(page)
    assert checker.errors == [] and checker.stack == []
    assert page.startswith("<!DOCTYPE html>\n")
    assert '<html lang="en" dir="ltr">' in page and '<meta charset="utf-8">' in page
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing loaded from elsewhere
    assert "<style>" in page and "@media print" in page


def test_charts_are_inlined_with_their_alt_text_escaped(page: str) -> None:
    images = [attrs for tag, attrs in parse(page).elements if tag == "img"]
    assert len(images) == 2
    assert all((a.get("src") or "").startswith("data:image/png;base64,") for a in images)
    assert [a["alt"] for a in images] == [CHARTS["participants_by_community"].alt, "Retention: pending"]
    assert all(a["width"] == "900" and a["height"] == "300" for a in images)
    # The report order puts community first, whatever the mapping order.
    assert page.index("Participants by community") < page.index('id="chart-retention_by_cohort"')


def test_no_charts_no_chart_section() -> None:
    html_text = render_html(EVENT, sample_stats(), {}, generated_at=GENERATED)
    assert "<img" not in html_text and 'href="#charts"' not in html_text


def test_tables_have_captions_and_header_scopes(page: str) -> None:
    elements = parse(page).elements
    tables = [t for t, _ in elements if t == "table"]
    assert len(tables) >= 8 and len([t for t, _ in elements if t == "caption"]) == len(tables)
    headers = [a for t, a in elements if t == "th"]
    assert headers and all(a.get("scope") in {"col", "row", "colgroup"} for a in headers)


# --- escaping ----------------------------------------------------------------------------------


def test_participant_text_is_escaped_and_isolated(page: str) -> None:
    assert HOSTILE not in page
    assert f'<bdi dir="auto">{escape(HOSTILE)}</bdi>' in page
    assert f'<bdi dir="auto">{RTL_NAME}</bdi>' in page
    assert '<bdi dir="auto">العربية</bdi>' in page
    assert 'onerror="alert(2)' not in page and "&quot; onerror=&quot;alert(2)" in page
    assert "Train the Trainer &lt;2026&gt; &amp; friends" in page
    assert "<title>Participation report: Train the Trainer &lt;2026&gt; &amp; friends</title>" in page


def test_opted_out_and_withdrawn_people_are_not_named(page: str) -> None:
    assert "Hidden Person" not in page and "Gone Away" not in page
    assert "1 participant asked not to be named" in page


# --- content -----------------------------------------------------------------------------------


def test_times_are_in_the_event_timezone(page: str) -> None:
    assert "Figures as of <time datetime=\"2026-09-15T00:00:00+00:00\">15 September 2026, 05:30 " \
           "(Asia/Kolkata)</time>" in page
    assert "15 September 2026, 06:30 (Asia/Kolkata)" in page  # generated at


def test_open_windows_are_marked_partial_and_retention_pending(page: str) -> None:
    assert "Some periods have not ended yet (90 days after, 180 days after)" in page
    assert "Retention at 90 days is pending until 8 January 2027." in page
    periods = page[page.index('id="periods"'):page.index('id="retention"')]
    assert periods.count('<span class="tag tag-partial">partial</span>') == 2
    assert periods.count('<span class="tag tag-done">complete</span>') == 3
    retention = page[page.index('id="retention"'):page.index('id="groups"')]
    # 14 non-withdrawn participants, 3 of them new (Asha, the hostile name, no one else).
    assert "1 of 14 (7%)" in retention and "1 of 2 (50%)" in retention
    assert retention.count(">pending<") == 2 and "None" not in page


def test_groups_show_every_dimension_with_escaped_keys(page: str) -> None:
    groups = page[page.index('id="groups"'):page.index('id="demographics"')]
    for caption in ("By community", "By region", "By status", "By editing experience"):
        assert f"<caption>{caption}</caption>" in groups
    assert "By affiliation: not recorded for any participant." in groups
    assert '<bdi dir="auto">Odia</bdi>' in groups  # opted-out people still count in groups


def test_demographics_respect_thresholds(page: str) -> None:
    section = page[page.index('id="demographics"'):page.index('id="participants"')]
    assert "Gender (self-reported, 14 participants)" in section
    assert "<td class=num>fewer than 5</td>" in section  # the one non-binary answer
    assert "Age:</strong> <span class=\"muted\">fewer than 10 answers; not shown." in section


def test_definitions_are_all_there(page: str) -> None:
    for text in definitions().values():
        assert escape(text) in page
    assert "<dt>After-N</dt>" in page


def test_summary_cards(page: str) -> None:
    summary = page[page.index('id="summary"'):page.index('id="charts"')]
    assert '<span class="big">14</span><span class="what">participants</span>' in summary
    assert "1 withdrew" in summary
    assert '<span class="big">7%</span><span class="what">retained at 30 days</span>' in summary
    assert '<span class="big pending">pending</span><span class="what">retained at 90 days' in summary


def test_naive_generated_at_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        render_html(EVENT, sample_stats(), {}, generated_at=datetime(2026, 9, 15))


# --- files -------------------------------------------------------------------------------------


def test_write_report_writes_every_format(tmp_path: Path) -> None:
    people, contribs = sample()
    stats = compute(EVENT, people, contribs, [], NOW)
    out = tmp_path / "report"
    paths = write_report(out, EVENT, stats, contribs, formats={"html", "csv", "json"},
                         generated_at=GENERATED, users={p.username for p in people if p.active})
    assert [p.name for p in paths] == ["report.html", "participants.csv", "groups.csv",
                                       "windows.csv", "stats.json"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)  # no temp files
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 3
    assert parse(page).errors == []
    data = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    assert data["event"] == "ttt-2026" and data["generated_at"] == GENERATED.isoformat()
    assert {r["username"] for r in data["rows"]}.isdisjoint({"Hidden Person", "Gone Away"})
    rows = list(csv.DictReader(io.StringIO((out / "participants.csv").read_text(encoding="utf-8"))))
    assert {r["username"] for r in rows} == {r.username for r in stats.rows}


def test_write_report_only_the_formats_asked_for(tmp_path: Path) -> None:
    paths = write_report(tmp_path, EVENT, sample_stats(), [], formats={"json"}, generated_at=GENERATED)
    assert [p.name for p in paths] == ["stats.json"]
    with pytest.raises(ValueError, match="pdf"):
        write_report(tmp_path, EVENT, sample_stats(), [], formats={"pdf"}, generated_at=GENERATED)


def test_groups_csv_defuses_formulas_and_leaves_pending_empty() -> None:
    rows = list(csv.DictReader(io.StringIO(groups_csv(sample_stats()))))
    keys = [r["key"] for r in rows if r["dimension"] == "community"]
    assert "'=HYPERLINK(\"http://evil\")" in keys
    telugu = next(r for r in rows if r["dimension"] == "community" and r["key"] == "Telugu")
    assert (telugu["participants"], telugu["active_during"], telugu["edits"]) == ("2", "2", "3")
    assert (telugu["retained_30"], telugu["retention_30_pending"]) == ("1", "False")
    assert (telugu["retained_90"], telugu["retention_90_pending"]) == ("", "True")


def test_windows_csv_has_totals_and_each_wiki() -> None:
    rows = list(csv.DictReader(io.StringIO(windows_csv(sample_stats()))))
    during = {r["wiki"]: r for r in rows if r["window"] == "during"}
    assert set(during) == {"all", "tewiki", "wikidatawiki"}
    assert (during["all"]["edits"], during["all"]["active_users"]) == ("5", "4")
    assert {r["partial"] for r in rows if r["window"] == "after-90"} == {"True"}


def test_a_report_before_the_event_says_not_started(tmp_path: Path) -> None:
    people, _ = sample()
    early = z("2026-07-01T00:00:00")  # during the baseline, before the event
    stats = compute(EVENT, people, [], [], early)
    [path] = write_report(tmp_path, EVENT, stats, [], formats={"html"}, generated_at=early)
    page = path.read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 3
    periods = page[page.index('id="periods"'):page.index('id="retention"')]
    assert periods.count(">not started<") == 4 and periods.count(">partial<") == 1
