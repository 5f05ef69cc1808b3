"""Report bodies for the wiki, rendered from plain data (pure).

Every participant-supplied string goes through `bot.escape.inert`, so a community called
`[[Category:X]]` shows as that text and categorises nothing.
"""

from __future__ import annotations

from datetime import datetime

from bot import sections
from bot.config import EventConfig
from bot.escape import inert
from bot.models import Status
from bot.participants import Compiled, by_community

__all__ = ["stamp_label", "summary_wikitext"]

_STATUS_ORDER = [Status.ATTENDED, Status.SELECTED, Status.REGISTERED, Status.WAITLISTED,
                 Status.WITHDRAWN]


def stamp_label(event: EventConfig, now: datetime) -> str:
    """'Last updated' text in the event's own timezone, e.g. '1 July 2026, 09:00 (Asia/Kolkata)'."""
    local = now.astimezone(event.tz)
    return f"Last updated by eventbot: {local.day} {local:%B %Y, %H:%M} ({event.timezone})."


def summary_wikitext(event: EventConfig, compiled: Compiled, now: datetime) -> str:
    """The report section: participants in total, by status and by community, and a stamp."""
    active = [p for p in compiled.participants if p.active]
    counts = {status: 0 for status in _STATUS_ORDER}
    for participant in compiled.participants:
        counts[participant.status] += 1
    communities = by_community(compiled.participants)
    lines = [
        f"=== Participants of {inert(event.title)} ===",
        '{| class="wikitable"',
        f"! Participants\n| {len(active)}",
    ]
    for status in _STATUS_ORDER:
        if counts[status]:
            lines += ["|-", f"! {status.value.capitalize()}\n| {counts[status]}"]
    lines += ["|-", f"! Communities\n| {len([c for c in communities if c[0] != '(not given)'])}",
              "|-", f"! Problems for organisers\n| {len(compiled.problems)}", "|}", ""]
    lines += ['{| class="wikitable sortable"', "! Community !! Participants"]
    for community, number in communities:
        lines += ["|-", f"| {inert(community)} || {number}"]
    lines += ["|}", "", sections.stamp(stamp_label(event, now))]
    return "\n".join(lines)
