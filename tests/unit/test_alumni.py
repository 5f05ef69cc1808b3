"""Alumni history: merging compiled lists across iterations, and the sentences it makes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import alumni
from bot.config import ConfigError
from bot.models import Status, UserInfo
from bot.participants import Compiled, apply_user_info, compile_participants
from tests.unit.factories import su


def compiled(*people: tuple[str, Status], renames: dict[str, str] | None = None) -> Compiled:
    result = compile_participants([su(name, i, status=status) for i, (name, status) in enumerate(people, 1)])
    if renames:
        infos = {old: UserInfo(name=new, exists=True, renamed_to=new) for old, new in renames.items()}
        result = apply_user_info(result, infos)
    return result


def three_iterations() -> dict[str, alumni.PersonHistory]:
    by_event = {
        "ttt-2023": compiled(("Asha", Status.ATTENDED), ("Kiran", Status.ATTENDED),
                             ("Old Name", Status.ATTENDED)),
        "ttt-2024": compiled(("Asha", Status.ATTENDED), ("Ravi", Status.REGISTERED),
                             ("Lipika", Status.WITHDRAWN), renames=None),
        "ttt-2025": compiled(("Ravi", Status.SELECTED), ("New Name", Status.WAITLISTED)),
        "ttt-2026": compiled(("Asha", Status.REGISTERED), ("Old Name", Status.REGISTERED),
                             renames={"Old Name": "New Name"}),
    }
    labels = {"ttt-2023": "2023", "ttt-2024": "2024", "ttt-2025": "2025", "ttt-2026": "2026"}
    return alumni.history(by_event, labels=labels, programme="TTT")


def test_history_across_iterations_reads_as_a_sentence() -> None:
    people = three_iterations()
    assert list(people) == ["Asha", "Kiran", "Lipika", "New Name", "Old Name", "Ravi"]
    assert people["Asha"].describe() == "attended TTT 2023 and 2024, applied 2026"
    assert people["Kiran"].describe() == "attended TTT 2023"
    assert people["Ravi"].describe() == "selected for TTT 2025, applied 2024"
    assert people["Lipika"].describe() == "withdrew from TTT 2024"
    assert alumni.PersonHistory("Nobody").describe() == ""


def test_renamed_account_merges_under_the_new_name_within_an_event() -> None:
    people = three_iterations()
    # 2026's sign-up as "Old Name" was re-keyed by the compiler to "New Name"; 2023's list was
    # compiled without a lookup, so it stays under the old name there (as the wiki would not).
    assert people["New Name"].describe() == "waitlisted for TTT 2025, applied 2026"
    assert [e.event_id for e in people["New Name"].entries] == ["ttt-2025", "ttt-2026"]


def test_questions_about_one_person() -> None:
    asha = three_iterations()["Asha"]
    assert asha.attended("ttt-2023") and asha.attended() and not asha.attended("ttt-2026")
    assert asha.applied("ttt-2026") and not asha.applied("ttt-2025")
    assert asha.status("ttt-2024") is Status.ATTENDED and asha.status("ttt-2025") is None
    assert asha.took_part([Status.ATTENDED], ["ttt-2024", "ttt-2026"]) == ["ttt-2024"]


def test_three_or_more_labels_use_commas() -> None:
    entries = tuple(alumni.HistoryEntry(f"e{y}", str(y), Status.ATTENDED) for y in (2023, 2024, 2025))
    assert alumni.PersonHistory("X", entries, "TTT").describe() == "attended TTT 2023, 2024 and 2025"
    assert alumni.PersonHistory("X", entries).describe() == "attended 2023, 2024 and 2025"


def test_example_programme_file_loads() -> None:
    programme = alumni.load_programme(Path(__file__).parents[2] / "config" / "programmes" / "ttt.yaml")
    assert [e.id for e in programme.events] == ["ttt-2024", "ttt-2026"]
    assert programme.current.id == "ttt-2026" and [e.id for e in programme.past] == ["ttt-2024"]
    assert programme.labels == {"ttt-2024": "2024", "ttt-2026": "2026"}


def test_programme_errors_name_the_key() -> None:
    with pytest.raises(ConfigError) as err:
        alumni.parse_programme({"id": "x", "titel": "T", "events": [{"label": "2023"}]}, "p.yaml")
    text = str(err.value)
    assert "titel: unknown key; did you mean 'title'?" in text
    assert "missing required key 'title'" in text
    assert "events[0]: expected exactly one of 'file'" in text


def test_current_must_be_one_of_the_events(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("id: x\ntitle: X\nevents: [a.yaml]\ncurrent: nope\n")
    (tmp_path / "a.yaml").write_text(
        "title: A\nstart: 2023-01-01\nend: 2023-01-02\ntimezone: UTC\n"
        "pages: {participants: P, report: R}\nregistration: [{page: Reg}]\n")
    with pytest.raises(ConfigError, match="current: no event 'nope'"):
        alumni.load_programme(tmp_path / "p.yaml")


EVENT = ("title: A\nstart: {year}-01-01\nend: {year}-01-02\ntimezone: UTC\n"
         "pages: {{participants: P{year}, report: R{year}}}\nregistration: [{{page: Reg{year}}}]\n")


def programme_files(tmp_path: Path, campaigns: str = "") -> Path:
    """events/e2023.yaml, events/e2024.yaml, events/e2025.yaml and programmes/p.yaml listing them;
    the 2025 event names the programme (relative to itself)."""
    (tmp_path / "events").mkdir()
    (tmp_path / "programmes").mkdir()
    for year in (2023, 2024, 2025):
        text = EVENT.format(year=year)
        if year == 2025:
            text += "programme: ../programmes/p.yaml\n" + campaigns
        (tmp_path / "events" / f"e{year}.yaml").write_text(text)
    (tmp_path / "programmes" / "p.yaml").write_text(
        "id: p\ntitle: P\nevents: [../events/e2023.yaml, ../events/e2024.yaml, ../events/e2025.yaml]\n")
    return tmp_path / "events" / "e2025.yaml"


def test_event_names_its_programme_relative_to_its_file(tmp_path: Path) -> None:
    from bot.config import load_event

    event = load_event(programme_files(tmp_path))
    assert event.programme == str(tmp_path / "events" / ".." / "programmes" / "p.yaml")
    programme = alumni.event_programme(event)
    assert programme is not None and [e.id for e in programme.events] == ["e2023", "e2024", "e2025"]
    assert alumni.earlier(programme, "e2025") == ["e2023", "e2024"]
    assert alumni.earlier(programme, "e2023") == []
    assert alumni.earlier(programme, "elsewhere") == ["e2023", "e2024", "e2025"]
    assert alumni.event_programme(load_event(tmp_path / "events" / "e2023.yaml")) is None


def test_alumni_filter_naming_an_unknown_event_is_an_error(tmp_path: Path) -> None:
    from bot.config import load_event

    campaigns = ("campaigns:\n  - {name: back, when: end + 1d, message: M, title: T,\n"
                 "     audience: {alumni_of: {events: [e2024]}, not_alumni_of: {events: [e2042, e2023]}}}\n")
    event = load_event(programme_files(tmp_path, campaigns))
    with pytest.raises(ConfigError) as err:
        alumni.event_programme(event)
    assert str(err.value).splitlines() == [
        f"event e2025: campaigns[0].audience: 'e2042' is not an event of the programme 'p' "
        f"({event.programme}); its events are e2023, e2024, e2025"]


def test_alumni_filter_needs_a_programme(tmp_path: Path) -> None:
    from bot.config import load_event

    path = tmp_path / "e.yaml"
    campaign = "campaigns:\n  - {name: back, when: end + 1d, message: M, title: T, audience: {%s}}\n"
    path.write_text(EVENT.format(year=2025) + campaign % "not_alumni_of: {events: []}")
    with pytest.raises(ConfigError, match=r"e.yaml:8: campaigns\[0\].audience.not_alumni_of: events: "
                                          "expected at least one event id of the programme"):
        load_event(path)
    path.write_text(EVENT.format(year=2025) + campaign % "alumni_of: {events: [e2024]}")
    with pytest.raises(ConfigError, match=r"campaigns\[0\].audience: alumni_of / not_alumni_of name earlier "
                                          "events of a programme, but the event has no 'programme:'"):
        load_event(path)


def test_screening_rules_checked_against_the_programme(tmp_path: Path) -> None:
    from bot import screening
    from bot.config import load_event

    programme = alumni.event_programme(load_event(programme_files(tmp_path)))
    good = screening.parse_rules({"not_alumni_of": {"events": ["e2023"]}}, "r.yaml")
    screening.check_programme(good, programme, "r.yaml")
    screening.check_programme(screening.parse_rules({}, "r.yaml"), None, "r.yaml")
    typo = screening.parse_rules({"not_alumni_of": {"events": ["e2023", "e2204"]}}, "r.yaml")
    with pytest.raises(ConfigError, match=r"r.yaml: not_alumni_of.events: e2204: not an event of the "
                                          r"programme 'p'; its events are e2023, e2024, e2025"):
        screening.check_programme(typo, programme, "r.yaml")
    with pytest.raises(ConfigError, match="no programme lists them"):
        screening.check_programme(good, None, "r.yaml")


def test_report_counts_returning_participants() -> None:
    from datetime import UTC, datetime

    from bot import reports
    from bot.config import parse_event

    event = parse_event({"id": "e", "title": "E", "start": "2026-01-01", "end": "2026-01-02",
                         "timezone": "UTC", "pages": {"participants": "P", "report": "R"},
                         "registration": [{"page": "Reg"}]}, "t")
    now = compiled(("Asha", Status.REGISTERED), ("Kiran", Status.REGISTERED), ("Ravi", Status.REGISTERED),
                   ("Lipika", Status.WITHDRAWN), ("Dev", Status.REGISTERED))
    people = three_iterations()  # Asha and Kiran attended before, Ravi applied, Lipika withdrew (and now too)
    text = reports.summary_wikitext(event, now, datetime(2026, 1, 3, tzinfo=UTC), people)
    assert "! Returning from earlier iterations\n| 3 (2 attended one)\n" in text
    assert "Returning" not in reports.summary_wikitext(event, now, datetime(2026, 1, 3, tzinfo=UTC))
