"""Participation statistics, with expectations worked out by hand for the TTT 2026 dates.

The event runs 2026-07-10 to 2026-07-12 in Asia/Kolkata (UTC+05:30, no DST):
starts_at = 2026-07-10 00:00 IST = 2026-07-09T18:30Z, ends_at = 2026-07-13 00:00 IST =
2026-07-12T18:30Z.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.models import Contribution, Participant, Status, Upload, UserInfo
from bot.stats import (
    EMPTY,
    FEW_ANSWERS_NOTICE,
    FEW_ANSWERS_OPTION,
    EventStats,
    Experience,
    Metrics,
    OptionCount,
    Window,
    classify,
    combine,
    compute,
    definitions,
    demographics,
    is_public,
    metrics,
    public_rows,
    retention,
    retention_windows,
    windows,
)
from tests.unit.factories import make_event

IST = ZoneInfo("Asia/Kolkata")
_revids = itertools.count(1)


EVENT = make_event()
OLD = datetime(2015, 1, 1, tzinfo=UTC)


def z(text: str) -> datetime:
    """A UTC timestamp from 'YYYY-MM-DDTHH:MM:SS'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def edit(
    user: str,
    when: str,
    *,
    wiki: str = "tewiki",
    ns: int = 0,
    title: str = "Page",
    size: int = 10,
    created: bool = False,
    redirect: bool = False,
) -> Contribution:
    return Contribution(wiki, user, next(_revids), z(when), ns, title, size, created, redirect)


def person(
    name: str,
    status: Status = Status.REGISTERED,
    *,
    info: UserInfo | bool | None = True,
    editcount: int = 1000,
    registration: datetime | None = OLD,
    **fields: str,
) -> Participant:
    user = UserInfo(name, True, 1, editcount, registration) if info is True else info or None
    return Participant(name, status, frozenset({status}), (), fields=fields, user=user)


def by_name(ws: list[Window]) -> dict[str, Window]:
    return {w.name: w for w in ws}


# --- windows ---------------------------------------------------------------------------------


def test_windows_are_local_midnights_in_the_event_timezone() -> None:
    ws = windows(EVENT)
    assert [w.name for w in ws] == ["baseline", "during", "after-30", "after-90", "after-180"]
    w = by_name(ws)
    assert w["baseline"].start == datetime(2026, 4, 11, tzinfo=IST)  # 90 days before July 10
    assert w["baseline"].end == w["during"].start == datetime(2026, 7, 10, tzinfo=IST)
    assert w["during"].end == datetime(2026, 7, 13, tzinfo=IST)
    assert w["during"].start == z("2026-07-09T18:30:00")
    assert w["after-30"].start == w["after-90"].start == datetime(2026, 7, 13, tzinfo=IST)
    assert w["after-30"].end == datetime(2026, 8, 12, tzinfo=IST)
    assert w["after-180"].end == datetime(2027, 1, 9, tzinfo=IST)
    assert all(x.start.tzinfo is not None and x.end.tzinfo is not None for x in ws)


def test_window_edges_across_a_dst_change_stay_at_local_midnight() -> None:
    event = make_event(timezone="Europe/Berlin", start="2026-04-01", end="2026-04-02",
                       stats={"baseline_days": 10})
    baseline = by_name(windows(event))["baseline"]
    # 2026-03-22 is before the switch to summer time (2026-03-29): UTC+1, not UTC+2.
    assert baseline.start == datetime(2026, 3, 22, tzinfo=ZoneInfo("Europe/Berlin"))
    assert baseline.start == z("2026-03-21T23:00:00")
    assert baseline.end == z("2026-03-31T22:00:00")


def test_retention_windows_are_days_d_plus_1_to_2d_after_the_end() -> None:
    r30, r90 = retention_windows(EVENT)
    assert r30.name == "retention-30"
    assert r30.start == datetime(2026, 8, 12, tzinfo=IST)  # ends_at + 30 days
    assert r30.end == datetime(2026, 9, 11, tzinfo=IST)  # ends_at + 60 days
    assert r90.start == datetime(2026, 10, 11, tzinfo=IST)
    assert r90.end == datetime(2027, 1, 9, tzinfo=IST)


def test_window_state_and_open() -> None:
    w = Window("during", datetime(2026, 7, 10, tzinfo=IST), datetime(2026, 7, 13, tzinfo=IST))
    assert w.state(z("2026-07-01T00:00:00")) == "not-started"
    assert w.state(z("2026-07-11T00:00:00")) == "open"
    assert w.is_open(z("2026-07-12T18:29:59"))
    assert not w.is_open(z("2026-07-12T18:30:00"))  # the end is exclusive: closed at the end
    assert w.state(z("2026-07-12T18:30:00")) == "closed"


def test_naive_window_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Window("x", datetime(2026, 1, 1), datetime(2026, 1, 2))


# --- metrics ---------------------------------------------------------------------------------


def cells_for(*contribs: Contribution, uploads: tuple[Upload, ...] = ()) -> dict[Any, Metrics]:
    return metrics(contribs, uploads, windows(EVENT), IST)


def test_an_edit_at_local_midnight_belongs_to_the_window_starting_there() -> None:
    cells = cells_for(
        edit("Asha", "2026-07-09T18:30:00"),  # 2026-07-10 00:00 IST: during
        edit("Asha", "2026-07-09T18:29:59"),  # 2026-07-09 23:59:59 IST: baseline
        edit("Asha", "2026-07-12T18:30:00"),  # 2026-07-13 00:00 IST: after, not during
        edit("Asha", "2026-07-12T18:29:59"),  # last second of the event
    )
    assert cells["Asha", "tewiki", "during"].edits == 2
    assert cells["Asha", "tewiki", "baseline"].edits == 1
    assert cells["Asha", "tewiki", "after-30"].edits == 1
    assert cells["Asha", "tewiki", "after-180"].edits == 1  # after windows are nested


def test_naive_timestamps_are_read_as_utc() -> None:
    c = Contribution("tewiki", "Asha", 1, datetime(2026, 7, 9, 18, 30), 0, "P", 5)
    assert metrics([c], [], windows(EVENT), IST)["Asha", "tewiki", "during"].edits == 1


def test_edits_outside_every_window_are_not_counted() -> None:
    assert cells_for(edit("Asha", "2026-01-01T00:00:00"), edit("Asha", "2027-06-01T00:00:00")) == {}


def test_pages_created_excludes_redirects_and_other_namespaces() -> None:
    cells = cells_for(
        edit("Asha", "2026-07-10T05:00:00", title="New article", created=True),
        edit("Asha", "2026-07-10T05:01:00", title="Redirect", created=True, redirect=True),
        edit("Asha", "2026-07-10T05:02:00", ns=2, title="User:Asha/Draft", created=True),
        edit("Asha", "2026-07-10T05:03:00", title="New article"),
        edit("Asha", "2026-07-10T05:04:00", ns=1, title="Talk:New article"),
    )
    m = cells["Asha", "tewiki", "during"]
    assert m.pages_created == 1
    assert m.edits == 5
    assert m.main_edits == 3  # the article twice and the redirect
    assert m.pages_edited == 4


def test_bytes_added_and_removed() -> None:
    cells = cells_for(
        edit("Asha", "2026-07-10T05:00:00", size=1200),
        edit("Asha", "2026-07-10T05:01:00", size=-300),
        edit("Asha", "2026-07-10T05:02:00", size=0),
        edit("Asha", "2026-07-10T05:03:00", size=45),
        edit("Asha", "2026-07-10T05:04:00", size=-7),
    )
    m = cells["Asha", "tewiki", "during"]
    assert (m.bytes_added, m.bytes_removed) == (1245, 307)


def test_active_days_are_local_dates() -> None:
    cells = cells_for(
        # Same UTC date, two IST dates: 2026-07-10 23:59 and 2026-07-11 00:01.
        edit("Asha", "2026-07-10T18:29:00"),
        edit("Asha", "2026-07-10T18:31:00"),
        # Two UTC dates, one IST date: 2026-07-12 01:30 and 10:30.
        edit("Ravi", "2026-07-11T20:00:00"),
        edit("Ravi", "2026-07-12T05:00:00"),
    )
    assert cells["Asha", "tewiki", "during"].active_days == 2
    assert cells["Ravi", "tewiki", "during"].active_days == 1


def test_uploads_count_on_their_own_wiki() -> None:
    up = Upload("commonswiki", "Asha", z("2026-07-11T04:00:00"), "File:Temple.jpg")
    cells = cells_for(edit("Asha", "2026-07-11T04:00:00"), uploads=(up,))
    assert cells["Asha", "commonswiki", "during"].uploads == 1
    assert cells["Asha", "commonswiki", "during"].edits == 0
    assert cells["Asha", "tewiki", "during"].uploads == 0


def test_users_filter_is_exact() -> None:
    cells = metrics(
        [edit("Asha", "2026-07-10T05:00:00"), edit("asha", "2026-07-10T05:00:00")],
        [], windows(EVENT), IST, users={"Asha"},
    )
    assert set(cells) == {("Asha", "tewiki", "during")}


def test_duplicate_window_names_are_refused() -> None:
    w = windows(EVENT)[0]
    with pytest.raises(ValueError, match="unique"):
        metrics([], [], [w, w], IST)


def test_combine_adds_counts_and_unites_pages_and_days() -> None:
    d = date(2026, 7, 10)
    a = Metrics(edits=2, bytes_added=10, page_keys=frozenset({("tewiki", 0, "A")}),
                day_keys=frozenset({("Asha", d)}))
    b = Metrics(edits=3, bytes_added=5,
                page_keys=frozenset({("tewiki", 0, "A"), ("enwiki", 0, "A")}),
                day_keys=frozenset({("Asha", d), ("Ravi", d)}))
    total = a + b
    assert total.edits == 5 and total.bytes_added == 15
    assert total.pages_edited == 2  # tewiki:A once, enwiki:A is another page
    assert total.active_days == 2  # Asha's day once, plus Ravi's day
    assert combine([a, b]) == total
    assert combine([]) == EMPTY
    assert a + EMPTY == a


# --- new vs experienced ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "before", "since", "expected"),
    [
        # Registered 30 days before the start (2026-06-10 00:00 IST): new.
        ({"registration": datetime(2026, 6, 10, tzinfo=IST), "editcount": 5000}, 0, 0,
         Experience.NEW),
        # One second earlier: decided by edits instead.
        ({"registration": datetime(2026, 6, 9, 23, 59, 59, tzinfo=IST), "editcount": 5000}, 0, 0,
         Experience.EXPERIENCED),
        # Registered during the event.
        ({"registration": z("2026-07-11T04:00:00"), "editcount": 3}, 0, 3, Experience.NEW),
        # Old account, 49 edits before the start (60 now, 11 since): new.
        ({"editcount": 60}, 0, 11, Experience.NEW),
        # Old account, 50 edits before the start: experienced.
        ({"editcount": 60}, 0, 10, Experience.EXPERIENCED),
        # The fetched edits before the start win over a smaller estimate.
        ({"editcount": 60}, 55, 20, Experience.EXPERIENCED),
        # Very old accounts have no registration date.
        ({"registration": None, "editcount": 10}, 0, 0, Experience.NEW),
        # No edit count: enough fetched edits decide; too few cannot.
        ({"registration": None, "editcount": None}, 80, 0, Experience.EXPERIENCED),
        ({"registration": None, "editcount": None}, 3, 0, Experience.UNKNOWN),
    ],
)
def test_classify(kwargs: dict[str, Any], before: int, since: int, expected: Experience) -> None:
    p = Participant("Asha", Status.REGISTERED, frozenset({Status.REGISTERED}), (),
                    user=UserInfo("Asha", True, 1, kwargs.get("editcount"),
                                  kwargs.get("registration", OLD)))
    assert classify(p, EVENT, edits_before=before, edits_since=since) is expected


def test_classify_without_user_info_is_unknown() -> None:
    assert classify(person("Asha", info=False), EVENT, edits_before=0, edits_since=0) \
        is Experience.UNKNOWN
    missing = person("Asha", info=UserInfo("Asha", exists=False))
    assert classify(missing, EVENT, edits_before=0, edits_since=0) is Experience.UNKNOWN


# --- retention -------------------------------------------------------------------------------

# retention-30 is [2026-08-12 00:00 IST, 2026-09-11 00:00 IST) = [08-11T18:30Z, 09-10T18:30Z).


def test_retention_closed_counts_edits_in_days_31_to_60() -> None:
    people = [person("Asha"), person("Ravi"), person("Meena"), person("Gone", Status.WITHDRAWN)]
    contribs = [
        edit("Asha", "2026-08-11T18:30:00", wiki="commonswiki", ns=6),  # first moment: retained
        edit("Ravi", "2026-08-11T18:29:59"),  # day 30: too early
        edit("Meena", "2026-09-10T18:30:00"),  # day 61: too late
        edit("Gone", "2026-08-20T00:00:00"),  # withdrawn: not counted at all
    ]
    r30, r90 = retention(EVENT, people, contribs, z("2026-09-10T18:30:00"))
    assert (r30.days, r30.retained, r30.denominator, r30.pending) == (30, 1, 3, False)
    assert r30.rate == pytest.approx(1 / 3)
    assert (r90.days, r90.retained, r90.denominator, r90.pending) == (90, None, 3, True)
    assert r90.rate is None


def test_retention_is_pending_until_its_window_closes() -> None:
    people = [person("Asha")]
    contribs = [edit("Asha", "2026-08-20T00:00:00")]
    (r30, _) = retention(EVENT, people, contribs, z("2026-09-10T18:29:59"))
    assert r30.pending and r30.retained is None  # never a number, even with an edit already in


def test_retention_with_nobody_has_no_rate() -> None:
    (r30, _) = retention(EVENT, [], [], z("2027-06-01T00:00:00"))
    assert (r30.retained, r30.denominator, r30.rate) == (0, 0, None)


# --- privacy ---------------------------------------------------------------------------------


def answered(values: list[str], field: str = "gender") -> list[Participant]:
    status = Status.REGISTERED
    return [Participant(f"User{i}", status, frozenset({status}), (), fields={field: v})
            for i, v in enumerate(values)]


def test_question_with_fewer_than_10_answers_shows_only_a_notice() -> None:
    people = [*answered(["woman"] * 9), person("Silent")]
    agg = demographics(people, "gender")
    assert not agg.shown
    assert agg.notice == FEW_ANSWERS_NOTICE == "fewer than 10 answers; not shown"
    assert agg.options == () and agg.no_answer is None
    assert agg.participants == 10


def test_option_with_fewer_than_5_answers_shows_fewer_than_5() -> None:
    values = ["Woman"] * 6 + ["man"] * 5 + ["non-binary"] * 2 + ["woman "]
    people = [*answered(values), person("Silent1"), person("Silent2", gender="  ")]
    agg = demographics(people, "gender")
    assert agg.shown
    assert agg.options == (
        OptionCount("man", 5),
        OptionCount("non-binary", None),
        OptionCount("Woman", 7),  # "woman " is the same answer; the common spelling is shown
    )
    assert agg.options[1].display == FEW_ANSWERS_OPTION == "fewer than 5"
    # 16 participants, 12 known answers, one suppressed option of 1 to 4 answers.
    assert agg.no_answer == (0, 4)


def test_demographics_exact_no_answer_when_nothing_is_suppressed() -> None:
    people = [*answered(["18-24"] * 5 + ["25-34"] * 5, "age_group"), person("Silent")]
    agg = demographics(people, "age_group")
    assert agg.no_answer == (1, 1)


def test_withdrawn_participants_do_not_count_in_demographics() -> None:
    people = [*answered(["woman"] * 9), person("Gone", Status.WITHDRAWN, gender="woman")]
    assert not demographics(people, "gender").shown


def test_is_public() -> None:
    assert is_public(person("Asha"))
    assert is_public(person("Asha", public="yes"))
    assert not is_public(person("Asha", public="No"))
    assert not is_public(person("Asha", public=" false "))
    assert not is_public(person("Asha"), frozenset({"Asha"}))


def test_public_rows_leave_out_opted_out_and_withdrawn() -> None:
    people = [person("Ravi"), person("Asha"), person("Hidden", public="no"), person("Quiet"),
              person("Gone", Status.WITHDRAWN)]
    stats = compute(EVENT, people, [], [], z("2026-07-20T00:00:00"))
    # compute already filters; public_rows can filter again with a further opt-out list.
    rows = public_rows(stats.rows, people, opted_out=frozenset({"Quiet"}))
    assert [r.username for r in rows] == ["Asha", "Ravi"]


# --- compute ---------------------------------------------------------------------------------

NOW = z("2026-09-15T00:00:00")  # retention-30 closed, retention-90 pending, after-90 open


def ttt_participants() -> list[Participant]:
    return [
        person("Asha", Status.ATTENDED, community="Telugu", region="South", editcount=40),
        person("Ravi", Status.SELECTED, community="Telugu", region="South"),
        person("Hidden", Status.ATTENDED, community="Odia", public="no", editcount=12),
        person("Quiet", Status.REGISTERED, community="Odia", info=False),
        person("Gone", Status.WITHDRAWN, community="Telugu"),
    ]


def ttt_contribs() -> list[Contribution]:
    return [
        # Asha: two wikis during the event, one day (2026-07-11 IST) on both.
        edit("Asha", "2026-07-11T03:00:00", wiki="tewiki", title="A", size=500, created=True),
        edit("Asha", "2026-07-11T04:00:00", wiki="tewiki", title="A", size=-20),
        edit("Asha", "2026-07-11T05:00:00", wiki="wikidatawiki", title="Q1", size=300),
        edit("Asha", "2026-07-12T05:00:00", wiki="wikidatawiki", title="Q2", size=100),
        edit("Asha", "2026-08-20T00:00:00", wiki="tewiki", title="B"),  # day 39: retained at 30
        # Ravi: the same page as Asha during; baseline edits.
        edit("Ravi", "2026-07-10T05:00:00", wiki="tewiki", title="A", size=50),
        edit("Ravi", "2026-06-01T05:00:00", wiki="tewiki", title="C"),
        # Hidden: edits during, not retained.
        edit("Hidden", "2026-07-10T06:00:00", wiki="tewiki", title="D", size=10),
        # Gone (withdrawn) and an unknown (e.g. pre-rename) name: ignored.
        edit("Gone", "2026-07-10T06:00:00", wiki="tewiki", title="E"),
        edit("Asha old", "2026-07-10T06:00:00", wiki="tewiki", title="E"),
    ]


def ttt_stats(**kwargs: Any) -> EventStats:
    uploads = [Upload("commonswiki", "Hidden", z("2026-07-11T06:00:00"), "File:Konark.jpg"),
               Upload("commonswiki", "Gone", z("2026-07-11T06:00:00"), "File:X.jpg")]
    return compute(EVENT, ttt_participants(), iter(ttt_contribs()), uploads, NOW, **kwargs)


def test_compute_counts_and_rows() -> None:
    stats = ttt_stats()
    assert stats.participants == 4 and stats.withdrawn == 1
    assert [r.username for r in stats.rows] == ["Asha", "Quiet", "Ravi"]  # Hidden opted out
    assert stats.not_public == 1
    assert stats.open_windows == {"after-90", "after-180"}


def test_compute_per_wiki_and_total_for_a_participant_on_two_wikis() -> None:
    asha = next(r for r in ttt_stats().rows if r.username == "Asha")
    te, wd = asha.get("during", "tewiki"), asha.get("during", "wikidatawiki")
    assert (te.edits, te.pages_edited, te.pages_created, te.bytes_added, te.bytes_removed) == \
        (2, 1, 1, 500, 20)
    assert (wd.edits, wd.pages_edited, wd.bytes_added, wd.active_days) == (2, 2, 400, 2)
    total = asha.get("during")
    assert (total.edits, total.pages_edited, total.bytes_added, total.bytes_removed) == \
        (4, 3, 900, 20)
    assert total.active_days == 2  # 07-11 on both wikis counts once, plus 07-12
    assert asha.get("after-30").edits == 0  # 2026-08-20 is day 39 after the end
    assert asha.get("after-90").edits == 1
    assert asha.get("baseline") == EMPTY
    assert asha.retained == {30: True, 90: None}
    assert asha.experience is Experience.NEW  # 40 edits now, 5 since the start


def test_compute_totals_include_opted_out_but_not_withdrawn_or_unknown_users() -> None:
    stats = ttt_stats()
    during = stats.totals["during"]
    assert during.edits == 6  # Asha 4, Ravi 1, Hidden 1; not Gone, not "Asha old"
    assert during.pages_edited == 4  # tewiki A (Asha and Ravi), D; wikidatawiki Q1, Q2
    assert during.uploads == 1  # Hidden's, not Gone's
    assert during.active_days == 4  # Asha 2, Ravi 1, Hidden 1
    assert stats.totals["baseline"].edits == 1
    assert set(stats.totals_by_wiki) == {"commonswiki", "tewiki", "wikidatawiki"}
    assert stats.totals_by_wiki["tewiki"]["during"].edits == 4
    assert stats.totals_by_wiki["commonswiki"]["during"].uploads == 1


def test_compute_retention_all_and_new() -> None:
    stats = ttt_stats()
    summary = [(r.population, r.days, r.retained, r.denominator, r.pending)
               for r in stats.retention]
    # New: Asha (40 edits) and Hidden (12 edits); Ravi has 1000; Quiet has no UserInfo.
    assert summary == [
        ("all", 30, 1, 4, False),
        ("all", 90, None, 4, True),
        ("new", 30, 1, 2, False),
        ("new", 90, None, 2, True),
    ]


def test_compute_groups() -> None:
    stats = ttt_stats()
    telugu = stats.group("community", "Telugu")
    assert telugu is not None
    assert (telugu.participants, telugu.active_during, telugu.edits_during) == (2, 2, 5)
    assert [(r.retained, r.denominator) for r in telugu.retention] == [(1, 2), (None, 2)]
    odia = stats.group("community", "Odia")
    assert odia is not None and (odia.participants, odia.active_during) == (2, 1)
    assert [g.key for g in stats.groups["region"]] == ["South", "unknown"]
    assert stats.group("status", "withdrawn") is None
    attended = stats.group("status", "attended")
    assert attended is not None and attended.participants == 2
    keys = {g.key: g.participants for g in stats.groups["experience"]}
    assert keys == {"new": 2, "experienced": 1, "unknown": 1}


def test_compute_opt_out_list() -> None:
    stats = ttt_stats(opted_out=frozenset({"Asha"}))
    assert [r.username for r in stats.rows] == ["Quiet", "Ravi"]
    assert stats.totals["during"].edits == 6


def test_compute_demographics_fields() -> None:
    stats = ttt_stats(demographic_fields=("gender",))
    assert [(a.field, a.shown) for a in stats.demographics] == [("gender", False)]


def test_compute_refuses_naive_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        compute(EVENT, [], [], [], datetime(2026, 9, 1))


def test_as_dict_is_plain_json_with_iso_datetimes_and_flags_partial_windows() -> None:
    data = json.loads(json.dumps(ttt_stats().as_dict()))
    assert data["now"] == "2026-09-15T00:00:00+00:00"
    assert data["windows"][1] == {"name": "during", "start": "2026-07-10T00:00:00+05:30",
                                  "end": "2026-07-13T00:00:00+05:30", "state": "closed"}
    assert data["totals"]["during"]["partial"] is False
    assert data["totals"]["after-90"]["partial"] is True
    assert data["retention"][1]["retained"] is None and data["retention"][1]["pending"] is True
    assert [row["username"] for row in data["rows"]] == ["Asha", "Quiet", "Ravi"]
    assert "Hidden" not in json.dumps(data)  # opted out: only in totals
    assert data["rows"][0]["retained"] == {"30": True, "90": None}


def test_many_contributions_are_bucketed_in_one_pass() -> None:
    start = z("2026-07-09T18:30:00")
    contribs = (edit(f"U{i % 50}", (start + timedelta(minutes=i)).isoformat()[:19])
                for i in range(20_000))
    stats = compute(EVENT, [person(f"U{i}") for i in range(50)], contribs, [], NOW)
    assert stats.totals["during"].edits == 3 * 24 * 60  # the event's three days, one a minute
    assert stats.totals["after-30"].edits == 20_000 - 3 * 24 * 60


def test_definitions_cover_every_metric() -> None:
    d = definitions()
    for key in Metrics().as_dict():
        assert d[key]
    for key in ("retention", "new_editor", "demographics", "compared_with_outreach_dashboard",
                "compared_with_event_metrics"):
        assert d[key]
