"""Compiling a participant list against the real sandbox wikis: accounts are checked in batches,
and every kind of trouble becomes a problem for the organisers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers

from bot.config import parse_event
from bot.models import Posted, ProblemKind, Status

REAL = ["Ravi Teja K", "Sailaja Vemuri", "Pranab Mohanty", "Farhana Akter", "Dilshod Rahimov",
        "Kiran Hegde", "Asha Organiser", "Human Editor", "Admin", "శ్రీనివాస్ తెలుగు"]


def event_for(page: str, *extra: dict[str, Any]) -> Any:
    return parse_event({
        "id": "compile-test", "title": "Compile test", "start": "2026-07-10", "end": "2026-07-12",
        "timezone": "Asia/Kolkata", "wikis": ["tewiki"],
        "pages": {"participants": page + "/Participants", "report": page + "/Report"},
        "registration": [{"page": page, "sections": {"Participants": "registered",
                                                     "Waitlist": "waitlisted"}}, *extra],
    }, "test")


def signed(name: str, ns: str = "User") -> str:
    return f"# [[{ns}:{name}|{name}]] ([[{ns} talk:{name}|talk]]) 10:00, 1 June 2026 (UTC)"


def test_real_missing_blocked_and_renamed_accounts(human: Any, sandbox: Path, prefix: str) -> None:
    from bot import pipeline
    from bot.wiki import Farm

    lines = ["== Participants ==", *(signed(n) for n in REAL), signed("Old Trainer Name"),
             signed("Nobody Of That Name"),
             "# 192.0.2.7 10:00, 1 June 2026 (UTC) [[Special:Contributions/192.0.2.7|192.0.2.7]]",
             "# [[User:EventBot|EventBot]] 10:00, 1 June 2026 (UTC)",
             "== Waitlist ==", signed("Blocked Trainee")]
    page = f"{prefix}/Registration"
    assert isinstance(human.edit("metawiki", page, "\n".join(lines), "test"), Posted)

    farm = Farm(batch=4)  # small batches, so a dozen real accounts prove the batching
    compiled, _ = pipeline.compile_event(event_for(page), farm)
    by_name = {p.username: p for p in compiled.participants}
    problems = {(p.kind, p.username) for p in compiled.problems}

    assert set(REAL) <= set(by_name)
    assert (ProblemKind.RENAMED, "Renamed Trainer") in problems and "Old Trainer Name" not in by_name
    assert (ProblemKind.UNKNOWN_USER, "Nobody Of That Name") in problems
    assert (ProblemKind.IP_ADDRESS, "192.0.2.7") in problems
    assert (ProblemKind.BOT_ACCOUNT, "EventBot") in problems
    assert (ProblemKind.BLOCKED, "Blocked Trainee") in problems
    assert by_name["Blocked Trainee"].status is Status.WAITLISTED
    assert by_name["Ravi Teja K"].user is not None and by_name["Ravi Teja K"].user.user_id

    # list=users once per batch of names, not once per name: ceil(N / batch).
    names = len(REAL) + 5
    assert farm.calls["metawiki", "users"] == math.ceil(names / 4) + 1  # + the renamed account's new name
    # The rename log is asked only about the names that do not exist.
    assert farm.calls["metawiki", "logevents"] == 2


def test_telugu_page_parses_through_the_same_code(human: Any, sandbox: Path, farm: Any) -> None:
    from bot import pipeline

    event = parse_event({
        "id": "te-test", "title": "te", "start": "2026-07-10", "end": "2026-07-12",
        "timezone": "Asia/Kolkata", "pages": {"participants": "X/P", "report": "X/R"},
        "registration": [{"page": "వికీపీడియా:శిక్షకులకు శిక్షణ 2026/నమోదు", "wiki": "tewiki",
                          "sections": {"పాల్గొనేవారు": "registered"}}],
    }, "test")
    compiled, pages = pipeline.compile_event(event, farm)
    assert pages == 1
    assert [p.username for p in compiled.participants] == ["Ravi Teja K", "శ్రీనివాస్ తెలుగు"]
    assert all(p.user is not None and p.user.exists for p in compiled.participants)


@responses.activate
def test_campaignevents_registrations_merge_with_wikitext(human: Any, sandbox: Path, prefix: str) -> None:
    """The sandbox cannot host CampaignEvents, so its REST API is simulated in the real
    response shape; everything else goes to the sandbox wikis."""
    from bot import pipeline
    from bot.wiki import Farm

    responses.add_passthru("http://127.0.0.1:8101/api.php")
    responses.add_passthru("http://127.0.0.1:8102/api.php")
    page = f"{prefix}/Registration"
    human.edit("metawiki", page, "== Participants ==\n" + signed("Ravi Teja K"), "test")
    url = "http://127.0.0.1:8101/rest.php/campaignevents/v0/event_registration/42/participants"
    first = [{"participant_id": 7, "user_id": 1, "user_name": "Ravi Teja K", "private": False,
              "user_registered_at": "20260601000000", "user_registered_at_formatted": "x"},
             {"participant_id": 9, "user_id": 2, "user_name": "Farhana Akter", "private": True,
              "user_registered_at": "20260602000000", "user_registered_at_formatted": "x"}]
    second = [{"participant_id": 12, "user_id": 3, "private": False, "not_found": True,
               "user_registered_at": "20260603000000", "user_registered_at_formatted": "x"}]
    for query, body in ((None, first), ("9", second), ("12", [])):
        params = {"include_private": "false"} | ({"last_participant_id": query} if query else {})
        responses.add(responses.GET, url, json=body, match=[matchers.query_param_matcher(params)])

    farm = Farm()
    compiled, _ = pipeline.compile_event(event_for(page, {"campaignevents": 42}), farm)
    by_name = {p.username: p for p in compiled.participants}
    assert set(by_name) == {"Ravi Teja K", "Farhana Akter"}
    assert {s.source for s in by_name["Ravi Teja K"].signups} == {page, "campaignevents:42"}
    assert by_name["Farhana Akter"].fields["public"] == "no"
    assert [p.kind for p in compiled.problems] == [ProblemKind.UNKNOWN_USER]
    assert farm.calls["metawiki", "rest:campaignevents"] == 3


@pytest.mark.parametrize("status", [404, 500])
@responses.activate
def test_unreadable_campaignevents_source_is_a_problem_not_a_crash(status: int, human: Any,
                                                                     sandbox: Path, prefix: str) -> None:
    from bot import pipeline
    from bot.wiki import Farm

    responses.add_passthru("http://127.0.0.1:8101/api.php")
    responses.add_passthru("http://127.0.0.1:8102/api.php")
    page = f"{prefix}/Registration"
    human.edit("metawiki", page, "== Participants ==\n" + signed("Ravi Teja K"), "test")
    url = "http://127.0.0.1:8101/rest.php/campaignevents/v0/event_registration/5/participants"
    responses.add(responses.GET, url, status=status,
                  json={"messageTranslations": {"en": "This event does not exist."}, "httpCode": status})
    compiled, _ = pipeline.compile_event(event_for(page, {"campaignevents": 5}), Farm())
    assert [p.username for p in compiled.participants] == ["Ravi Teja K"]
    (problem,) = compiled.problems
    assert problem.kind is ProblemKind.SOURCE_ERROR and str(status) in problem.message
