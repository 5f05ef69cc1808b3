"""Eligibility screening and alumni history against the sandbox farm, with hand-worked answers.

Twenty applications for "TTT 2026" are screened against rules whose answers follow from the
historical edits in config/sandbox/history.json (all dates there are UTC; the event's timezone
is Asia/Kolkata, so a cut-off "before 2026-07-10" is 2026-07-09T18:30:00Z):

    main-namespace edits before 2026-07-13 (18:30Z on the 12th), metawiki + tewiki, need 2:
        Ravi Teja K 3 (meta 18:29:59Z and 18:30:00Z on 9 July, te 11 July), Sailaja Vemuri 3
        (10 July twice, 11 July), Farhana Akter 2 (1 June, 18:29:59Z on 12 July; her 18:30:00Z
        edit is on the 13th in India), శ్రీనివాస్ తెలుగు 2 (te 11 and 12 July),
        Renamed Trainer 1 (11 July), everyone else 0.
    any edits before 2026-07-10 (18:30Z on the 9th), need 1:
        Ravi Teja K 1 (18:29:59Z), Farhana Akter 1 (1 June), everyone else 0.
    not attended TTT 2023 or 2024 (three registration pages made here, 2023 to 2025):
        Kiran Hegde and Sailaja Vemuri attended both, Lipika Das 2023, Renamed Trainer 2024
        (signed as Old Trainer Name); Farhana Akter only applied in 2024; Ravi Teja K applied
        and Dilshod Rahimov attended in 2025, which the rule does not name.
    account at least 365 days old on 2030-01-01: every existing account.

So exactly Ravi Teja K and Farhana Akter are eligible; the seven made-up names are "not found".
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import EventConfig, parse_event
from bot.models import Posted, Unchanged

REAL = ["Ravi Teja K", "Sailaja Vemuri", "Pranab Mohanty", "Farhana Akter", "Dilshod Rahimov", "Kiran Hegde",
        "Lipika Das", "Farhana A.", "శ్రీనివాస్ తెలుగు", "Old Trainer Name", "Blocked Trainee",
        "Asha Organiser", "Human Editor"]
GHOSTS = [f"No Such Applicant {n}" for n in range(1, 8)]
R1, R2, AGE, ALUMNI = ("main edits before 2026-07-13", "edits before 2026-07-10", "account age on 2030-01-01",
                       "earlier iterations")


def signed(name: str) -> str:
    return f"# [[User:{name}|{name}]] ([[User talk:{name}|talk]]) 10:00, 1 June 2026 (UTC)"


def page_text(attended: list[str], applied: list[str]) -> str:
    return "\n".join(["Intro text by a person.", "== Attended ==", *map(signed, attended),
                      "== Applied ==", *map(signed, applied), ""])


def event(year: int, page: str, prefix: str) -> EventConfig:
    return parse_event({
        "id": f"ttt-{year}", "title": f"Train the Trainer {year}", "start": f"{year}-07-10",
        "end": f"{year}-07-12", "timezone": "Asia/Kolkata", "wikis": ["tewiki"],
        "pages": {"participants": f"{prefix}/Participants {year}", "report": f"{prefix}/Report {year}"},
        "registration": [{"page": page, "sections": {"Attended": "attended", "Applied": "registered"}}],
    }, "test")


def test_twenty_applicants_screened_with_alumni_of_three_iterations(human: Any, farm: Any,
                                                                    prefix: str) -> None:
    from bot import alumni, screening
    from bot.screening import MinAccountAge, MinEdits, NotAlumni, ScreeningRules

    pages = {
        2023: page_text(["Kiran Hegde", "Sailaja Vemuri", "Lipika Das"], []),
        2024: page_text(["Kiran Hegde", "Sailaja Vemuri", "Old Trainer Name"], ["Farhana Akter"]),
        2025: page_text(["Lipika Das", "Dilshod Rahimov"], ["Ravi Teja K", "Sailaja Vemuri"]),
        2026: page_text([], REAL + GHOSTS),
    }
    events = []
    for year, text in pages.items():
        title = f"{prefix}/TTT {year}"
        assert isinstance(human.edit("metawiki", title, text, "test"), Posted)
        events.append(event(year, title, prefix))
    committee = f"{prefix}/Selection"
    intro = "Notes of the selection committee.\n"
    assert isinstance(human.edit("metawiki", committee, intro, "test"), Posted)

    config = alumni.ProgrammeConfig(id="ttt", title="TTT",
                                    events=[alumni.ProgrammeEvent(event=e) for e in events])
    programme = alumni.programme_from_events(config, events)
    assert programme.current.id == "ttt-2026"
    loaded = alumni.load_history(programme, farm)
    people = loaded.people
    assert people["Sailaja Vemuri"].describe() == "attended TTT 2023 and 2024, applied 2025 and 2026"
    assert people["Kiran Hegde"].describe() == "attended TTT 2023 and 2024, applied 2026"
    assert people["Lipika Das"].describe() == "attended TTT 2023 and 2025, applied 2026"
    assert people["Renamed Trainer"].describe() == "attended TTT 2024, applied 2026"  # renamed: merged
    assert "Old Trainer Name" not in people
    assert people["Farhana Akter"].describe() == "applied TTT 2024 and 2026"
    assert people["Dilshod Rahimov"].describe() == "attended TTT 2025, applied 2026"
    assert people["Ravi Teja K"].describe() == "applied TTT 2025 and 2026"
    assert people["Pranab Mohanty"].describe() == "applied TTT 2026"

    rules = ScreeningRules(
        min_edits=[MinEdits(count=2, before=datetime(2026, 7, 13).date(), namespaces=[0]),
                   MinEdits(count=1, before=datetime(2026, 7, 10).date())],
        min_account_age=MinAccountAge(days=365, as_of=datetime(2030, 1, 1).date()),
        not_alumni_of=NotAlumni(events=["ttt-2023", "ttt-2024"]),
    )
    current = programme.current
    before = farm.calls["metawiki", "usercontribs"], farm.calls["tewiki", "usercontribs"]
    verdicts = screening.screen_applicants(current, farm, rules, history=people,
                                           participants=loaded.compiled[current.id].participants)
    # One batched usercontribs request per wiki for all thirteen existing accounts.
    assert (farm.calls["metawiki", "usercontribs"], farm.calls["tewiki", "usercontribs"]) == (
        before[0] + 1, before[1] + 1)
    assert len(verdicts) == 20
    by_name = {v.username: v for v in verdicts}
    assert set(by_name) == {*REAL, *GHOSTS} - {"Old Trainer Name"} | {"Renamed Trainer"}

    edits = {"Ravi Teja K": (3, 1), "Sailaja Vemuri": (3, 0), "Farhana Akter": (2, 1),
             "శ్రీనివాస్ తెలుగు": (2, 0), "Renamed Trainer": (1, 0)}
    alumni_of = {"Kiran Hegde": "ttt-2023, ttt-2024", "Sailaja Vemuri": "ttt-2023, ttt-2024",
                 "Lipika Das": "ttt-2023", "Renamed Trainer": "ttt-2024"}
    infos = farm.users("metawiki", [n for n in by_name if n not in GHOSTS])
    for name, verdict in by_name.items():
        if name in GHOSTS:
            assert not verdict.eligible
            assert verdict.reasons == ["account: not found (needs an existing account)"]
            continue
        r1, r2 = edits.get(name, (0, 0))
        age = (datetime.fromisoformat("2030-01-01T00:00:00+05:30") - infos[name].registration).days
        earlier = f"attended in {alumni_of[name]}" if name in alumni_of else "none"
        account = {"account": "blocked"} if name == "Blocked Trainee" else {}
        expected = {**account, R1: str(r1), R2: str(r2), AGE: f"{age} days", ALUMNI: earlier}
        assert verdict.counts == expected, name
        assert age >= 365
        expected_reasons = [f"{R1}: {r1} (needs 2)"] * (r1 < 2) + [f"{R2}: {r2} (needs 1)"] * (r2 < 1) + (
            [f"{ALUMNI}: {earlier} (needs not attended in ttt-2023, ttt-2024)"] if name in alumni_of else [])
        if name == "Blocked Trainee":
            expected_reasons.insert(0, "account: blocked (needs not blocked)")
        assert verdict.reasons == expected_reasons, name
        assert verdict.history == people[name].describe()
    assert sorted(v.username for v in verdicts if v.eligible) == ["Farhana Akter", "Ravi Teja K"]

    outcome = screening.write_screening(current, farm, committee, verdicts, rules)
    assert isinstance(outcome, Posted)
    text = farm.read_page("metawiki", committee).text
    assert text.startswith("Notes of the selection committee.\n")
    assert "20 applicants screened, 2 eligible." in text
    assert screening.screening_wikitext(verdicts, rules).strip() in text
    farhana_age = by_name["Farhana Akter"].counts[AGE]
    assert ("| [[User:Farhana Akter|Farhana Akter]] || yes || 2 || 1 || "
            f"{farhana_age} || none || applied TTT 2024 and 2026 || \n") in text

    # A second run finds the same answers and leaves the page alone.
    again = screening.screen_applicants(current, farm, rules, history=people)
    assert again == verdicts
    assert isinstance(screening.write_screening(current, farm, committee, again, rules), Unchanged)
    csv_text = screening.screening_csv(verdicts, rules)
    assert csv_text.count("\n") == 21 and "Farhana Akter,yes,2,1," in csv_text


def test_example_programme_file_is_valid(sandbox: Path) -> None:
    from bot import alumni, screening

    path = Path(__file__).parents[2] / "config" / "programmes" / "ttt.yaml"
    assert alumni.load_programme(path).current.id == "ttt-2026"
    assert screening.load_rules(path).not_alumni_of is not None
