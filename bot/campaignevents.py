"""CampaignEvents registrations (Meta-Wiki's "Register" button) as sign-ups (pure).

The extension's REST API lists an event's participants as JSON objects; `bot.wiki` fetches
them page by page and this module turns them into `SignUp` records, merged with wikitext
sign-ups by the compiler like any other source. A private registration is kept, but marked
`public: no`, so the participant counts in totals and is never named in a report. Accounts
the API reports as hidden or not found become problems, never silent drops.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.models import Problem, ProblemKind, SignUp, SignUpKind, Status
from bot.usernames import InvalidUsername, normalise

__all__ = ["source_label", "to_signups"]


def source_label(registration_id: int) -> str:
    return f"campaignevents:{registration_id}"


def _registered_at(value: Any) -> str | None:
    """MediaWiki's TS_MW timestamp (20250901120000) as ISO 8601 UTC."""
    try:
        return datetime.strptime(str(value), "%Y%m%d%H%M%S").replace(tzinfo=UTC).isoformat()
    except ValueError:
        return None


def to_signups(items: Iterable[Mapping[str, Any]], registration_id: int
               ) -> tuple[list[SignUp], list[Problem]]:
    """Sign-ups and problems from the participants endpoint's objects, in the order given."""
    source = source_label(registration_id)
    found: list[SignUp] = []
    problems: list[Problem] = []
    for index, item in enumerate(items, start=1):
        pid = item.get("participant_id")
        raw = f"participant {pid} (central user id {item.get('user_id')})"
        name = item.get("user_name")
        if item.get("hidden") or item.get("not_found") or not isinstance(name, str):
            why = "is hidden" if item.get("hidden") else "was not found"
            problems.append(Problem(ProblemKind.UNKNOWN_USER, source=source, line=index, raw=raw,
                                    message=f"a CampaignEvents participant's account {why} ({raw})"))
            continue
        try:
            username = normalise(name)
        except InvalidUsername as exc:
            problems.append(Problem(ProblemKind.INVALID_NAME, source=source, line=index, raw=raw,
                                    username=name, message=str(exc)))
            continue
        fields = {"registered_via": "CampaignEvents"}
        registered = _registered_at(item.get("user_registered_at"))
        if registered:
            fields["registered_at"] = registered
        if item.get("private"):
            fields["public"] = "no"
        found.append(SignUp(username=username, source=source, line=index, raw=raw,
                            kind=SignUpKind.CAMPAIGNEVENTS, status=Status.REGISTERED, fields=fields))
    return found, problems
