"""Event configuration: the example loads, and every kind of mistake gets its exact message."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from textwrap import dedent

import pytest

from bot.config import ConfigError, load_event, parse_event
from bot.models import Status

REPO = Path(__file__).resolve().parents[2]

VALID = """\
id: demo
title: Demo event
start: 2026-07-10
end: 2026-07-12
timezone: Asia/Kolkata
pages:
  participants: Demo/Participants
  report: Demo/Report
registration:
  - page: Demo/Registration
    formats: [signatures]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "event.yaml"
    path.write_text(dedent(text), encoding="utf-8")
    return path


def errors_of(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_event(path)
    return [line.replace(str(path), "FILE") for line in str(info.value).splitlines()]


def test_example_event_loads() -> None:
    event = load_event(REPO / "config" / "events" / "ttt-2026.yaml")
    assert event.id == "ttt-2026"
    assert (event.start, event.end) == (date(2026, 7, 10), date(2026, 7, 12))
    assert event.starts_at.isoformat() == "2026-07-10T00:00:00+05:30"
    assert event.ends_at.isoformat() == "2026-07-13T00:00:00+05:30"  # whole days: exclusive end
    assert event.all_wikis == ["metawiki", "tewiki"]
    assert event.registration[0].sections["Waitlist"] is Status.WAITLISTED
    assert event.registration[0].template is not None
    assert event.registration[0].template.name == "TTT participant"


def test_id_defaults_to_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("id: demo\n", ""))
    assert load_event(path).id == "event"


def test_unknown_key_suggests_the_closest(tmp_path: Path) -> None:
    assert errors_of(tmp_path, VALID.replace("title:", "titel:")) == [
        "FILE:2: titel: unknown key; did you mean 'title'?",
        "FILE:1: title: missing required key 'title'",
    ]


def test_unknown_key_without_close_match_lists_valid_keys(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, VALID + "colour: blue\n")
    assert errors == [
        "FILE:12: colour: unknown key; expected one of id, title, start, end, timezone, pages, "
        "registration, wiki, wikis, location, stats, campaigns, delivery, report, programme"
    ]


def test_nested_unknown_key_has_its_path(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, VALID.replace("  report: Demo/Report", "  report: Demo/Report\n  reprot: X"))
    assert errors == ["FILE:9: pages.reprot: unknown key; did you mean 'report'?"]


def test_wrong_type(tmp_path: Path) -> None:
    assert errors_of(tmp_path, VALID.replace("title: Demo event", "title: [a, b]")) == [
        "FILE:2: title: expected text, got a list"
    ]
    assert errors_of(tmp_path, VALID + "stats:\n  baseline_days: ninety\n") == [
        "FILE:13: stats.baseline_days: expected a whole number, got 'ninety'"
    ]


def test_unparseable_date(tmp_path: Path) -> None:
    assert errors_of(tmp_path, VALID.replace("start: 2026-07-10", "start: 2026-07-32")) == [
        "FILE:3: start: expected a date written YYYY-MM-DD, got '2026-07-32'"
    ]
    assert errors_of(tmp_path, VALID.replace("start: 2026-07-10", "start: 10 July")) == [
        "FILE:3: start: expected a date written YYYY-MM-DD, got '10 July'"
    ]


def test_end_before_start(tmp_path: Path) -> None:
    assert errors_of(tmp_path, VALID.replace("end: 2026-07-12", "end: 2026-07-01")) == [
        "FILE:4: end: the event ends (2026-07-01) before it starts (2026-07-10)"
    ]


def test_unknown_timezone(tmp_path: Path) -> None:
    assert errors_of(tmp_path, VALID.replace("Asia/Kolkata", "Asia/Kolkatta")) == [
        "FILE:5: timezone: unknown timezone 'Asia/Kolkatta'; expected an IANA name such as "
        "'Asia/Kolkata'"
    ]


def test_missing_required_page(tmp_path: Path) -> None:
    assert errors_of(tmp_path, VALID.replace("  report: Demo/Report\n", "")) == [
        "FILE:7: pages.report: missing required key 'report'"
    ]


def test_bad_choice_in_a_list(tmp_path: Path) -> None:
    assert errors_of(tmp_path, VALID.replace("[signatures]", "[signature]")) == [
        "FILE:11: registration[0].formats[0]: expected one of signatures, template, table, "
        "application, got 'signature'"
    ]


def test_bad_status_in_sections(tmp_path: Path) -> None:
    text = VALID + "    sections:\n      Attendees: attending\n"
    assert errors_of(tmp_path, text) == [
        "FILE:13: registration[0].sections.Attendees: expected one of registered, waitlisted, "
        "selected, attended, withdrawn, got 'attending'"
    ]


def test_source_needs_exactly_one_location(tmp_path: Path) -> None:
    text = VALID.replace("  - page: Demo/Registration", "  - page: Demo/Registration\n    campaignevents: 12")
    assert errors_of(tmp_path, text) == [
        "FILE:10: registration[0]: expected exactly one of 'page', 'prefix' (application "
        "subpages) or 'campaignevents' (a registration id), got 2"
    ]


def test_template_format_needs_a_template(tmp_path: Path) -> None:
    assert errors_of(tmp_path, VALID.replace("[signatures]", "[signatures, template]")) == [
        "FILE:11: registration[0].template: the 'template' format needs a 'template:' with "
        "at least a name"
    ]


def test_bad_wiki_name(tmp_path: Path) -> None:
    assert errors_of(tmp_path, VALID + "wiki: meta.wikimedia.org\n") == [
        "FILE:12: wiki: expected a wiki database name such as 'metawiki' or 'tewiki', got "
        "'meta.wikimedia.org'"
    ]


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, VALID + "pages: [unclosed\n")
    assert len(errors) == 1 and errors[0].startswith("FILE:13: not valid YAML: expected ',' or ']'")


def test_not_a_mapping(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "- just\n- a list\n") == [
        "FILE: expected a mapping with keys id, title, start, end, timezone, pages, "
        "registration, wiki, wikis, location, stats, campaigns, delivery, report, programme, got a list"
    ]


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_event("/nonexistent/event.yaml")


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    text = VALID.replace("title:", "titel:").replace("2026-07-10", "2026-13-01")
    assert len(errors_of(tmp_path, text)) == 3


def test_parse_event_from_mapping_for_on_wiki_configs() -> None:
    event = parse_event(
        {"title": "T", "start": "2026-01-01", "end": "2026-01-01", "timezone": "UTC",
         "pages": {"participants": "P", "report": "R"}, "registration": [{"page": "X"}]},
        "Talk:Event", default_id="t",
    )
    assert event.id == "t" and event.start == date(2026, 1, 1)
    with pytest.raises(ConfigError) as info:
        parse_event({"title": 5}, "Talk:Event")
    assert str(info.value).startswith("Talk:Event: id: missing required key 'id'")


def test_timezone_and_wiki_checked_even_when_other_keys_are_wrong(tmp_path: Path) -> None:
    text = (VALID.replace("Asia/Kolkata", "Mars/Olympus").replace("title: Demo event\n", "")
            + "wikis: [te.wikipedia]\n")
    assert errors_of(tmp_path, text) == [
        "FILE:1: title: missing required key 'title'",
        "FILE:4: timezone: unknown timezone 'Mars/Olympus'; expected an IANA name such as 'Asia/Kolkata'",
        "FILE:11: wikis[0]: expected a wiki database name such as 'metawiki' or 'tewiki', got 'te.wikipedia'",
    ]
