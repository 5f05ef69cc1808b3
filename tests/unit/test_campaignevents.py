"""CampaignEvents participants become sign-ups; hidden and missing accounts become problems."""

from __future__ import annotations

from bot.campaignevents import to_signups
from bot.models import ProblemKind, SignUpKind, Status

# The shape of /campaignevents/v0/event_registration/{id}/participants (ParticipantList.json).
ITEMS = [
    {"participant_id": 101, "user_id": 5001, "user_name": "Ravi_Teja K",
     "user_page": {"path": "/wiki/User:Ravi_Teja_K", "title": "User:Ravi Teja K", "classes": ""},
     "user_registered_at": "20260605103200", "user_registered_at_formatted": "10:32, 5 June 2026",
     "private": False},
    {"participant_id": 102, "user_id": 5002, "user_name": "farhana Akter",
     "user_registered_at": "20260607140200", "user_registered_at_formatted": "14:02, 7 June 2026",
     "private": True},
    {"participant_id": 103, "user_id": 5003, "user_registered_at": "20260608000000",
     "user_registered_at_formatted": "00:00, 8 June 2026", "private": False, "hidden": True},
    {"participant_id": 104, "user_id": 5004, "user_registered_at": "20260609000000",
     "user_registered_at_formatted": "00:00, 9 June 2026", "private": False, "not_found": True},
]


def test_participants_become_signups() -> None:
    signups, _ = to_signups(ITEMS, 42)
    assert [s.username for s in signups] == ["Ravi Teja K", "Farhana Akter"]
    first = signups[0]
    assert first.kind is SignUpKind.CAMPAIGNEVENTS and first.status is Status.REGISTERED
    assert first.source == "campaignevents:42" and first.line == 1
    assert first.fields == {"registered_via": "CampaignEvents",
                            "registered_at": "2026-06-05T10:32:00+00:00"}
    # A private registration counts, but is never named in a report.
    assert signups[1].fields["public"] == "no"


def test_hidden_and_missing_accounts_are_problems_not_drops() -> None:
    _, problems = to_signups(ITEMS, 42)
    assert [(p.kind, p.line) for p in problems] == [(ProblemKind.UNKNOWN_USER, 3),
                                                    (ProblemKind.UNKNOWN_USER, 4)]
    assert "is hidden" in problems[0].message and "was not found" in problems[1].message
