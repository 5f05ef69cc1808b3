"""Test data shared by the unit tests: a TTT-like event and sign-up records."""

from __future__ import annotations

from typing import Any

from bot.config import EventConfig, parse_event
from bot.models import SignUp, SignUpKind, Status

REG = "Train the Trainer 2026/Registration"


def make_event(**overrides: Any) -> EventConfig:
    """Train the Trainer 2026 (10-12 July 2026, Asia/Kolkata) with any key replaced."""
    data: dict[str, Any] = {
        "id": "ttt-2026",
        "title": "Train the Trainer 2026",
        "start": "2026-07-10",
        "end": "2026-07-12",
        "timezone": "Asia/Kolkata",
        "wikis": ["tewiki"],
        "pages": {"participants": "TTT/Participants", "report": "TTT/Report"},
        "registration": [{"page": "TTT/Registration", "formats": ["signatures"]}],
    }
    data.update(overrides)
    return parse_event(data, "test")


def su(
    name: str,
    line: int = 1,
    *,
    source: str = REG,
    kind: SignUpKind = SignUpKind.TEMPLATE,
    status: Status = Status.REGISTERED,
    section: str | None = None,
    home_wiki: str | None = None,
    raw: str | None = None,
    **fields: str,
) -> SignUp:
    """A sign-up as the parser would make it (by default a template on the registration page)."""
    return SignUp(
        username=name,
        source=source,
        line=line,
        raw=raw if raw is not None else f"{{{{TTT participant|username={name}}}}}",
        kind=kind,
        status=status,
        section=section,
        home_wiki=home_wiki,
        fields=fields,
    )
