"""Campaign configuration, schedules (`when`), and audience selection."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.alumni import HistoryEntry, PersonHistory
from bot.campaigns import (
    DEFAULT_LANGUAGES,
    WITHDREW,
    AbsoluteWhen,
    AudienceConfig,
    AudienceDataMissing,
    CampaignConfig,
    RelativeWhen,
    due_at,
    fill_placeholders,
    is_due,
    next_due,
    parse_when,
    select_audience,
    target_wiki,
)
from bot.config import EventConfig, PagesConfig, RegistrationSource, _Builder
from bot.models import Participant, PastEvents, Status

IST = ZoneInfo("Asia/Kolkata")
BERLIN = ZoneInfo("Europe/Berlin")


def event(start: date, end: date, timezone: str = "Asia/Kolkata") -> EventConfig:
    values: dict[str, Any] = {
        "id": "ttt-2026",
        "title": "Train the Trainer 2026",
        "start": start,
        "end": end,
        "timezone": timezone,
        "pages": PagesConfig(participants="TTT/Participants", report="TTT/Report"),
        "registration": [RegistrationSource(page="TTT/Registration")],
    }
    return EventConfig(**values)


TTT = event(date(2026, 7, 14), date(2026, 7, 16))


def campaign(**overrides: Any) -> CampaignConfig:
    values: dict[str, Any] = {
        "name": "feedback",
        "when": "end + 1d",
        "message": "Train the Trainer 2026/Messages/Feedback",
        "title": "Feedback on {event}",
    }
    values.update(overrides)
    return CampaignConfig(**values)


def person(name: str, status: Status = Status.REGISTERED, **fields: str) -> Participant:
    return Participant(
        username=name,
        status=status,
        statuses=frozenset({status}),
        signups=(),
        fields=fields,
    )


# --- parse_when ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("start - 7d at 09:00", RelativeWhen("start", days=-7, at=time(9, 0))),
        ("end + 1d", RelativeWhen("end", days=1)),
        ("end + 30d at 10:30", RelativeWhen("end", days=30, at=time(10, 30))),
        ("start", RelativeWhen("start")),
        ("end + 2w", RelativeWhen("end", days=14)),
        ("end + 90d at 09:00", RelativeWhen("end", days=90, at=time(9, 0))),
        ("start - 2h", RelativeWhen("start", hours=-2)),
        ("END+1 day", RelativeWhen("end", days=1)),
        ("start -3 weeks at 7:05", RelativeWhen("start", days=-21, at=time(7, 5))),
        ("  end at 18:00  ", RelativeWhen("end", at=time(18, 0))),
        ("2026-07-20 09:00", AbsoluteWhen(datetime(2026, 7, 20, 9, 0))),
        ("2026-07-20", AbsoluteWhen(datetime(2026, 7, 20, 9, 0))),
        ("2026-07-20 at 17:45", AbsoluteWhen(datetime(2026, 7, 20, 17, 45))),
        (
            "2026-07-20T09:00+05:30",
            AbsoluteWhen(datetime(2026, 7, 20, 9, 0, tzinfo=IST).astimezone(IST)),
        ),
        ("2026-07-20T03:30Z", AbsoluteWhen(datetime(2026, 7, 20, 3, 30, tzinfo=UTC))),
    ],
)
def test_parse_when_forms(text: str, expected: RelativeWhen | AbsoluteWhen) -> None:
    parsed = parse_when(text)
    assert type(parsed) is type(expected)
    if isinstance(parsed, AbsoluteWhen):
        assert isinstance(expected, AbsoluteWhen)
        assert parsed.moment == expected.moment
        assert (parsed.moment.tzinfo is None) == (expected.moment.tzinfo is None)
    else:
        assert parsed == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "it is empty"),
        ("   ", "it is empty"),
        ("end + 1m", "unknown unit 'm'; use d (days), w (weeks) or h (hours)"),
        ("end + 1", "the offset +1 needs a unit"),
        ("end + 1 at 09:00", "the offset +1 needs a unit"),
        ("end +", "expected a number after the sign"),
        ("end + 1d at 25:00", "there is no time 25:00"),
        ("end + 1d at 9am", "expected a time written HH:MM after 'at', got '9am'"),
        ("start + 2h at 09:00", "use either an hour offset or 'at HH:MM', not both"),
        ("end + 1d please", "unexpected 'please'"),
        ("end + 99999d", "more than ten years"),
        ("tomorrow", "it starts with neither 'start', 'end' nor a date"),
        ("09:00", "it starts with neither 'start', 'end' nor a date"),
        ("started + 1d", "it starts with neither 'start', 'end' nor a date"),
        ("2026-02-30", "there is no date 2026-02-30"),
        ("2026-13-01 09:00", "expected a date and time such as 2026-07-20 09:00"),
        ("2026-07-20T09:00+05:30 at 10:00", "'at HH:MM' follows a date"),
    ],
)
def test_parse_when_errors_say_what_and_show_examples(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_when(text)
    message = str(caught.value)
    assert message.startswith(f"when: cannot read {text!r}: ")
    assert problem in message
    assert "'start - 7d at 09:00'" in message and "'2026-07-20T09:00+05:30'" in message


def test_when_round_trips_through_str() -> None:
    for text in ["start - 7d at 09:00", "end + 1d", "end + 14d", "start - 2h", "start"]:
        assert str(parse_when(text)) == text
    assert str(parse_when("2026-07-20")) == "2026-07-20 09:00"


# --- due_at ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "local"),
    [
        ("start - 7d at 09:00", datetime(2026, 7, 7, 9, 0)),
        ("end + 1d", datetime(2026, 7, 17, 9, 0)),  # the day after the last day, 09:00
        ("end + 30d at 10:30", datetime(2026, 8, 15, 10, 30)),
        ("end + 90d", datetime(2026, 10, 14, 9, 0)),
        ("start", datetime(2026, 7, 14, 9, 0)),
        ("end", datetime(2026, 7, 16, 9, 0)),  # the last day itself
        ("end + 2w", datetime(2026, 7, 30, 9, 0)),
        ("start - 2h", datetime(2026, 7, 13, 22, 0)),
        ("end + 30h", datetime(2026, 7, 17, 6, 0)),
        ("2026-07-20 09:00", datetime(2026, 7, 20, 9, 0)),
        ("2026-07-20T09:00+05:30", datetime(2026, 7, 20, 9, 0)),
        ("2026-07-20T03:30Z", datetime(2026, 7, 20, 9, 0)),
    ],
)
def test_due_at_in_event_timezone(text: str, local: datetime) -> None:
    due = due_at(parse_when(text), TTT)
    assert due == local.replace(tzinfo=IST)
    assert due.utcoffset() == timedelta(hours=5, minutes=30)
    assert due.tzinfo == IST


def test_due_at_keeps_local_time_across_dst_end() -> None:
    berlin = event(date(2026, 7, 31), date(2026, 8, 2), "Europe/Berlin")
    feedback = due_at(parse_when("end + 1d"), berlin)
    follow_up = due_at(parse_when("end + 90d at 09:00"), berlin)
    # Summer time (CEST, +02:00) ends on 2026-10-25; 2026-10-31 is in CET (+01:00).
    assert feedback == datetime(2026, 8, 3, 9, 0, tzinfo=BERLIN)
    assert feedback.astimezone(UTC) == datetime(2026, 8, 3, 7, 0, tzinfo=UTC)
    assert follow_up == datetime(2026, 10, 31, 9, 0, tzinfo=BERLIN)
    assert follow_up.utcoffset() == timedelta(hours=1)
    assert follow_up.astimezone(UTC) == datetime(2026, 10, 31, 8, 0, tzinfo=UTC)
    # 89 days of elapsed time after the feedback moment would have been 08:00 local.
    assert follow_up.astimezone(UTC) - feedback.astimezone(UTC) == timedelta(days=89, hours=1)


def test_due_at_across_dst_start_and_in_the_gap() -> None:
    berlin = event(date(2026, 3, 29), date(2026, 3, 29), "Europe/Berlin")
    before = due_at(parse_when("start - 7d at 09:00"), berlin)
    assert before.astimezone(UTC) == datetime(2026, 3, 22, 8, 0, tzinfo=UTC)  # CET
    assert due_at(parse_when("end + 1d"), berlin).astimezone(UTC) == datetime(
        2026,
        3,
        30,
        7,
        0,
        tzinfo=UTC,  # CEST
    )
    # 02:00 does not exist on 2026-03-29 in Berlin: it becomes 03:00 CEST (01:00 UTC).
    gap = due_at(parse_when("start + 2h"), berlin)
    assert (gap.hour, gap.minute) == (3, 0)
    assert gap.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_due_at_repeated_hour_means_first_occurrence() -> None:
    berlin = event(date(2026, 10, 25), date(2026, 10, 25), "Europe/Berlin")
    due = due_at(parse_when("start + 2h"), berlin)  # 02:00 happens twice on 2026-10-25
    assert due.astimezone(UTC) == datetime(2026, 10, 25, 0, 0, tzinfo=UTC)


def test_absolute_with_offset_is_the_same_instant_anywhere() -> None:
    berlin = event(date(2026, 7, 14), date(2026, 7, 16), "Europe/Berlin")
    when = parse_when("2026-07-20T09:00+05:30")
    assert due_at(when, berlin) == due_at(when, TTT)
    naive = parse_when("2026-07-20 09:00")
    assert due_at(naive, berlin) != due_at(naive, TTT)  # local to each event


# --- is_due / next_due ------------------------------------------------------------------------


def test_is_due_from_the_moment_on() -> None:
    feedback = campaign(when="end + 1d")
    moment = datetime(2026, 7, 17, 9, 0, tzinfo=IST)
    assert not is_due(feedback, TTT, moment - timedelta(seconds=1))
    assert is_due(feedback, TTT, moment)
    assert is_due(feedback, TTT, moment.astimezone(UTC))
    assert is_due(feedback, TTT, moment + timedelta(days=60))  # the ledger prevents repeats
    assert not is_due(campaign(enabled=False), TTT, moment + timedelta(days=1))


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="must carry a timezone"):
        is_due(campaign(), TTT, datetime(2026, 7, 17, 9, 0))
    with pytest.raises(ValueError, match="must carry a timezone"):
        next_due([campaign()], TTT, datetime(2026, 7, 17, 9, 0))


def test_next_due_picks_the_earliest_later_enabled_campaign() -> None:
    pre = campaign(name="pre-work", when="start - 7d at 09:00")
    feedback = campaign(name="feedback", when="end + 1d")
    later = campaign(name="follow-up-30d", when="end + 30d")
    off = campaign(name="off", when="end + 2d", enabled=False)
    campaigns = [later, off, feedback, pre]
    now = datetime(2026, 7, 10, 12, 0, tzinfo=IST)
    assert next_due(campaigns, TTT, now) == (datetime(2026, 7, 17, 9, 0, tzinfo=IST), feedback)
    at_feedback = datetime(2026, 7, 17, 9, 0, tzinfo=IST)
    assert next_due(campaigns, TTT, at_feedback) == (
        datetime(2026, 8, 15, 9, 0, tzinfo=IST),
        later,
    )
    assert next_due(campaigns, TTT, datetime(2027, 1, 1, tzinfo=UTC)) is None
    assert next_due([], TTT, now) is None


# --- configuration ----------------------------------------------------------------------------


def test_defaults() -> None:
    config = campaign()
    assert config.summary == "eventbot: {campaign} message for {event}"
    assert config.audience == AudienceConfig()
    assert config.audience.statuses == [Status.REGISTERED, Status.SELECTED, Status.ATTENDED]
    assert config.deliver_to == "event-wiki"
    assert config.languages == list(DEFAULT_LANGUAGES)
    assert config.languages[:4] == ["te", "bn", "tg", "or"]
    assert "en" not in config.languages  # always the fallback, never looked up as a choice
    assert config.params == {} and config.enabled
    assert config.schedule == RelativeWhen("end", days=1)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"name": "Feedback"}, "name: expected a short slug"),
        ({"name": "feed--back"}, "name: expected a short slug"),
        ({"name": "-feedback"}, "name: expected a short slug"),
        ({"name": "feed back"}, "name: expected a short slug"),
        ({"name": "x" * 65}, "name: expected a short slug"),
        ({"name": "start"}, "name: 'start' is reserved"),
        ({"name": "end"}, "name: 'end' is reserved"),
        ({"when": "end + 1m"}, "when: cannot read 'end + 1m': unknown unit 'm'"),
        ({"message": ""}, "message: expected a page title"),
        ({"message": "Feedback|x"}, "message: 'Feedback|x' cannot be a page title"),
        ({"message": "{{Feedback}}"}, "cannot be a page title: it contains '{'"),
        ({"message": "Feedback~~~"}, "it contains '~~~'"),
        ({"title": "  "}, "title: expected a section title"),
        ({"title": "About {eventname}"}, "title: unknown placeholder {eventname}"),
        ({"summary": "{user} got {event}"}, "summary: unknown placeholder {user}"),
        ({"deliver_to": "talk-page"}, "deliver_to: expected event-wiki or home-wiki"),
        ({"languages": ["te", "Telugu"]}, "languages[1]: expected a language code"),
        ({"params": {"username": "x"}}, "params.username: the bot fills 'username' itself"),
        ({"params": {"a|b": "x"}}, "params.a|b: a parameter name is letters"),
    ],
)
def test_campaign_validation(overrides: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError) as caught:
        campaign(**overrides)
    assert fragment in str(caught.value)


def test_campaign_validation_lists_every_problem() -> None:
    with pytest.raises(ValueError) as caught:
        campaign(name="Bad Name", when="later", title="{nope}")
    message = str(caught.value)
    assert message.count("; ") >= 2
    assert "name:" in message and "when:" in message and "title:" in message


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"statuses": []}, "statuses: expected at least one status"),
        ({"statuses": [Status.WITHDRAWN]}, "withdrawn participants never receive messages"),
        ({"list_page": "A [[b]]"}, "list_page: 'A [[b]]' cannot be a page title"),
    ],
)
def test_audience_validation(overrides: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError) as caught:
        AudienceConfig(**overrides)
    assert fragment in str(caught.value)


def test_schema_loader_builds_campaigns_and_reports_errors_at_the_key() -> None:
    builder = _Builder()
    built = builder.build(
        CampaignConfig,
        {
            "name": "follow-up-30d",
            "when": "end + 30d at 10:30",
            "message": "TTT/Messages/Follow-up",
            "title": "One month after {event}",
            "audience": {"statuses": ["attended"], "new_editors_only": True},
            "params": {"form": "https://example.org/form", "year": 2026},
        },
        "campaigns[0]",
        None,
    )
    assert builder.issues == []
    assert isinstance(built, CampaignConfig)
    assert built.audience.statuses == [Status.ATTENDED]
    assert built.params == {"form": "https://example.org/form", "year": "2026"}

    builder = _Builder()
    builder.build(
        CampaignConfig,
        {"name": "feedback", "when": "end + 1x", "message": "M", "title": "T"},
        "campaigns[1]",
        None,
    )
    [issue] = builder.issues
    assert issue.path == "campaigns[1]"
    assert issue.message.startswith("when: cannot read 'end + 1x': unknown unit 'x'")


def test_fill_placeholders_leaves_other_braces() -> None:
    assert fill_placeholders("{event}: {{x}} {other} {", {"event": "E"}) == "E: {{x}} {other} {"
    # A value is inserted once and never re-read as a placeholder.
    assert fill_placeholders("{event}", {"event": "{username}", "username": "U"}) == "{username}"


# --- audience -------------------------------------------------------------------------------

PEOPLE = [
    person("Asha", Status.REGISTERED),
    person("Bala", Status.SELECTED),
    person("Chitra", Status.ATTENDED),
    person("Dev", Status.WAITLISTED),
    person("Esha", Status.WITHDRAWN),
    person("Farid Khan", Status.ATTENDED),
]


def names(participants: list[Participant]) -> list[str]:
    return [participant.username for participant in participants]


def select(config: CampaignConfig, **data: Any) -> tuple[list[str], list[tuple[str, str]]]:
    recipients, skipped = select_audience(
        config,
        PEOPLE,
        during_edits=data.get("during_edits"),
        new_editors=data.get("new_editors"),
        list_members=data.get("list_members"),
        history=data.get("history"),
    )
    return names(recipients), [(participant.username, reason) for participant, reason in skipped]


def test_default_audience_skips_withdrawn_with_reason_and_leaves_out_waitlist() -> None:
    recipients, skipped = select(campaign())
    assert recipients == ["Asha", "Bala", "Chitra", "Farid Khan"]
    assert skipped == [("Esha", "withdrew from the event")]
    assert WITHDREW == "withdrew from the event"


def test_status_filter() -> None:
    attended = campaign(audience=AudienceConfig(statuses=[Status.ATTENDED]))
    assert select(attended) == (["Chitra", "Farid Khan"], [("Esha", WITHDREW)])
    waitlist = campaign(audience=AudienceConfig(statuses=[Status.WAITLISTED]))
    assert select(waitlist) == (["Dev"], [("Esha", WITHDREW)])


def test_new_editors_filter_compares_normalised_names() -> None:
    config = campaign(audience=AudienceConfig(new_editors_only=True))
    recipients, skipped = select(config, new_editors=frozenset({"asha", "Farid_Khan", "Esha"}))
    assert recipients == ["Asha", "Farid Khan"]
    assert skipped == [("Esha", WITHDREW)]


def test_inactive_during_event_filter() -> None:
    config = campaign(audience=AudienceConfig(inactive_during_event=True))
    # Bala made no edit (0), Chitra is absent from the counts: both did not edit.
    edits = {"Asha": 12, "Bala": 0, "Farid_Khan": 1}
    recipients, _ = select(config, during_edits=edits)
    assert recipients == ["Bala", "Chitra"]


def test_list_page_filter_and_filters_combine() -> None:
    config = campaign(
        audience=AudienceConfig(
            statuses=[Status.ATTENDED, Status.REGISTERED],
            list_page="TTT/Mentoring",
            new_editors_only=True,
        )
    )
    recipients, skipped = select(
        config,
        list_members=frozenset({"Asha", "Chitra", "Dev"}),
        new_editors=frozenset({"Chitra", "Dev", "Farid Khan"}),
    )
    assert recipients == ["Chitra"]  # Dev is waitlisted, Asha not new, Farid not listed
    assert skipped == [("Esha", WITHDREW)]


@pytest.mark.parametrize(
    ("audience", "fragment"),
    [
        (AudienceConfig(new_editors_only=True), "only for new editors"),
        (AudienceConfig(inactive_during_event=True), "did not edit during the event"),
        (AudienceConfig(list_page="TTT/Mentoring"), "linked from 'TTT/Mentoring'"),
        (AudienceConfig(alumni_of=PastEvents(["ttt-2024"])), "no alumni history was given"),
    ],
)
def test_missing_filter_data_is_an_error(audience: AudienceConfig, fragment: str) -> None:
    with pytest.raises(AudienceDataMissing) as caught:
        select(campaign(audience=audience))
    assert fragment in str(caught.value)
    assert "'feedback'" in str(caught.value)


def alumni_history() -> dict[str, PersonHistory]:
    """Chitra attended 2024; Asha only applied in 2024; Farid Khan was selected in 2025 (under
    the name "Farid_Khan", to check names are compared normalised); Bala and Dev are new."""
    def entries(*items: tuple[str, Status]) -> tuple[HistoryEntry, ...]:
        return tuple(HistoryEntry(event_id, event_id[-4:], status) for event_id, status in items)

    return {"Chitra": PersonHistory("Chitra", entries(("ttt-2024", Status.ATTENDED))),
            "Asha": PersonHistory("Asha", entries(("ttt-2024", Status.REGISTERED))),
            "Farid_Khan": PersonHistory("Farid_Khan", entries(("ttt-2025", Status.SELECTED)))}


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        (AudienceConfig(alumni_of=PastEvents(["ttt-2024"])), ["Chitra"]),
        (AudienceConfig(alumni_of=PastEvents(["ttt-2024", "ttt-2025"])), ["Chitra"]),
        (AudienceConfig(alumni_of=PastEvents(["ttt-2024", "ttt-2025"], [Status.ATTENDED, Status.SELECTED])),
         ["Chitra", "Farid Khan"]),
        (AudienceConfig(alumni_of=PastEvents(["ttt-2024"], [Status.REGISTERED])), ["Asha"]),
        (AudienceConfig(not_alumni_of=PastEvents(["ttt-2024"])), ["Asha", "Bala", "Farid Khan"]),
        (AudienceConfig(statuses=[Status.ATTENDED], not_alumni_of=PastEvents(["ttt-2024"])), ["Farid Khan"]),
        (AudienceConfig(alumni_of=PastEvents(["ttt-2025"], [Status.SELECTED]),
                        not_alumni_of=PastEvents(["ttt-2024"])), ["Farid Khan"]),
    ],
)
def test_alumni_filters(audience: AudienceConfig, expected: list[str]) -> None:
    recipients, skipped = select(campaign(audience=audience), history=alumni_history())
    assert recipients == expected
    assert skipped == [("Esha", WITHDREW)]


def test_alumni_filter_events_must_be_given() -> None:
    with pytest.raises(ValueError, match="events: expected at least one event id"):
        PastEvents([])
    assert AudienceConfig(alumni_of=PastEvents(["a", "b"]), not_alumni_of=PastEvents(["b", "c"])
                          ).alumni_events == ["a", "b", "c"]


def test_filter_data_may_be_given_when_not_needed() -> None:
    assert select(campaign(), new_editors=frozenset(), during_edits={}, list_members=frozenset())[
        0
    ] == ["Asha", "Bala", "Chitra", "Farid Khan"]


def test_target_wiki() -> None:
    tewiki = Participant(
        username="Asha",
        status=Status.REGISTERED,
        statuses=frozenset({Status.REGISTERED}),
        signups=(),
        home_wiki="tewiki",
    )
    nowhere = person("Bala")
    assert target_wiki(campaign(), TTT, tewiki) == "metawiki"
    home = campaign(deliver_to="home-wiki")
    assert target_wiki(home, TTT, tewiki) == "tewiki"
    assert target_wiki(home, TTT, nowhere) == "metawiki"
