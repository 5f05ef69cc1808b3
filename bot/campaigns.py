"""Follow-up campaigns: what to send, to whom, and when (pure: no wiki, no database).

A campaign is configured per event (`CampaignConfig`, a section of the event's YAML) and says
when it is due relative to the event (`end + 1d`) or at a fixed moment, which participants it
reaches (`AudienceConfig`), and which on-wiki message page it posts. `select_audience` turns a
participant list into recipients plus skips with reasons; `due_at`, `is_due` and `next_due`
answer the scheduler's questions for an explicit "now".

Schedule anchors: `start` is the event's first day and `end` its *last* day, both at 00:00 in
the event's timezone, so `end + 1d` is the day after the last day. Day and week offsets move the
calendar date; the message then goes out at `at HH:MM` local time, 09:00 when no time is given
(nobody wants a talk-page notification at midnight). Hour offsets count wall-clock hours from
the anchor's midnight (`start - 2h` is 22:00 on the eve) and cannot be combined with `at`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from bot.models import Participant, PastEvents, Status
from bot.usernames import try_normalise

if TYPE_CHECKING:
    from bot.alumni import PersonHistory
    from bot.config import EventConfig

__all__ = [
    "DEFAULT_LANGUAGES",
    "DEFAULT_SUMMARY",
    "DEFAULT_TIME",
    "RESERVED_NAMES",
    "RESERVED_PARAMS",
    "WITHDREW",
    "AbsoluteWhen",
    "AudienceConfig",
    "AudienceDataMissing",
    "CampaignConfig",
    "RelativeWhen",
    "When",
    "due_at",
    "fill_placeholders",
    "is_due",
    "next_due",
    "parse_when",
    "select_audience",
    "target_wiki",
]

#: Local time of day a relative schedule uses when it gives no `at HH:MM`.
DEFAULT_TIME = time(9, 0)
DEFAULT_SUMMARY = "eventbot: {campaign} message for {event}"
#: Language subpages looked for when a campaign does not list its own; `en` is always the fallback.
DEFAULT_LANGUAGES: tuple[str, ...] = (
    "te", "bn", "tg", "or", "hi", "ta", "kn", "ml", "mr", "gu", "pa",
    "ur", "ne", "si", "ru", "ar", "fa", "es", "fr", "pt", "de",
)  # fmt: skip
#: Template parameters the bot fills itself; campaign `params` may not use these names.
RESERVED_PARAMS = frozenset({"username", "event", "campaign", "lang", "community", "sender"})
#: Campaign names that would make message markers look like bot-owned section markers
#: (`<!-- eventbot:start:NAME -->`, see `bot.sections`).
RESERVED_NAMES = frozenset({"start", "end"})
#: The skip reason of a participant who withdrew.
WITHDREW = "withdrew from the event"

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")  # no "--": the name goes in an HTML comment
_LANG_CODE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{1,8})*$")
_PARAM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_NOT_IN_TITLES = re.compile(r"[#<>\[\]{}|\x00-\x1f\x7f]")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_TITLE_PLACEHOLDERS = frozenset({"event", "username", "campaign"})
_MAX_DAYS = 3660  # ten years either way: anything more is a typo

_EXAMPLES = (
    "write it like 'start - 7d at 09:00', 'end + 1d', 'end + 2w at 10:30', 'start', "
    "'2026-07-20 09:00' (event timezone) or '2026-07-20T09:00+05:30'"
)


# --- schedules --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RelativeWhen:
    """`ANCHOR [+|- N UNIT] [at HH:MM]`: days (weeks are 7 days) or hours from the anchor."""

    anchor: Literal["start", "end"]
    days: int = 0
    hours: int = 0
    at: time | None = None

    def __str__(self) -> str:
        text: str = self.anchor
        if self.days or self.hours:
            amount, unit = (self.days, "d") if self.days else (self.hours, "h")
            text += f" {'-' if amount < 0 else '+'} {abs(amount)}{unit}"
        if self.at is not None:
            text += f" at {self.at:%H:%M}"
        return text


@dataclass(frozen=True)
class AbsoluteWhen:
    """A fixed moment; a naive `moment` is wall-clock time in the event's timezone."""

    moment: datetime

    def __str__(self) -> str:
        return self.moment.isoformat(sep=" ", timespec="minutes")


When = RelativeWhen | AbsoluteWhen

_ANCHOR = re.compile(r"(start|end)\b", re.IGNORECASE)
_OFFSET = re.compile(r"\s*([+-])\s*(\d+)\s*([^\W\d_]+)?")
_AT = re.compile(r"\s+at\s+(\S+)", re.IGNORECASE)
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UNITS = {
    "d": "d", "day": "d", "days": "d",
    "w": "w", "week": "w", "weeks": "w",
    "h": "h", "hour": "h", "hours": "h",
}  # fmt: skip


def parse_when(text: str) -> When:
    """Read a campaign's `when`. Raises `ValueError` saying what is wrong, with examples.

    Relative: `start`, `end + 1d`, `start - 7d at 09:00`, `end + 2w`, `start - 2h`.
    Absolute: `2026-07-20 09:00` or `2026-07-20` (09:00) in the event's timezone, or with an
    explicit offset such as `2026-07-20T09:00+05:30` or `...Z`.
    """
    source = text.strip()

    def fail(problem: str) -> ValueError:
        return ValueError(f"when: cannot read {text!r}: {problem}; {_EXAMPLES}")

    if not source:
        raise fail("it is empty")
    anchor = _ANCHOR.match(source)
    if anchor is None:
        return _parse_absolute(source, fail)

    rest = source[anchor.end() :]
    days = hours = 0
    offset = _OFFSET.match(rest)
    if offset is not None:
        sign, number, unit_text = offset.groups()
        if unit_text is None or unit_text.lower() == "at":
            raise fail(f"the offset {sign}{number} needs a unit: d (days), w (weeks) or h (hours)")
        unit = _UNITS.get(unit_text.lower())
        if unit is None:
            raise fail(f"unknown unit {unit_text!r}; use d (days), w (weeks) or h (hours)")
        amount = int(number) * (-1 if sign == "-" else 1)
        if unit == "h":
            hours = amount
        else:
            days = amount * (7 if unit == "w" else 1)
        if abs(days) > _MAX_DAYS or abs(hours) > _MAX_DAYS * 24:
            raise fail("the offset is more than ten years")
        rest = rest[offset.end() :]
    elif rest.lstrip()[:1] in {"+", "-"}:
        raise fail("expected a number after the sign, as in 'end + 1d'")

    at: time | None = None
    at_match = _AT.match(rest)
    if at_match is not None:
        at = _parse_hhmm(at_match.group(1), fail)
        if hours:
            raise fail("use either an hour offset or 'at HH:MM', not both")
        rest = rest[at_match.end() :]
    if rest.strip():
        raise fail(f"unexpected {rest.strip()!r}")
    name: Literal["start", "end"] = "start" if anchor.group(1).lower() == "start" else "end"
    return RelativeWhen(name, days=days, hours=hours, at=at)


def _parse_hhmm(text: str, fail: Callable[[str], ValueError]) -> time:
    match = _HHMM.match(text)
    if match is None:
        raise fail(f"expected a time written HH:MM after 'at', got {text!r}")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise fail(f"there is no time {text} (use 00:00 to 23:59)")
    return time(hour, minute)


def _parse_absolute(source: str, fail: Callable[[str], ValueError]) -> AbsoluteWhen:
    day_text, at_text = source, None
    at_match = re.search(r"\s+at\s+(\S+)$", source, re.IGNORECASE)
    if at_match is not None:
        day_text, at_text = source[: at_match.start()], at_match.group(1)
    if _DATE_ONLY.match(day_text):
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise fail(f"there is no date {day_text}") from None
        at = _parse_hhmm(at_text, fail) if at_text is not None else DEFAULT_TIME
        return AbsoluteWhen(datetime.combine(day, at))
    if at_text is not None:
        raise fail("'at HH:MM' follows a date (YYYY-MM-DD) or 'start'/'end'")
    if not re.match(r"^\d{4}-\d{2}-\d{2}[T ]", day_text):
        raise fail("it starts with neither 'start', 'end' nor a date (YYYY-MM-DD)")
    try:
        moment = datetime.fromisoformat(day_text)
    except ValueError:
        raise fail("expected a date and time such as 2026-07-20 09:00") from None
    return AbsoluteWhen(moment)


def _localise(naive: datetime, tz: ZoneInfo) -> datetime:
    """Wall-clock time in `tz` as an aware datetime. A time skipped by a DST change moves forward
    by the gap (02:30 → 03:30); a repeated time means its first occurrence."""
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def due_at(when: When, event: EventConfig) -> datetime:
    """The moment a schedule falls due for `event`, aware, in the event's timezone.

    Offsets are applied to local calendar dates and wall-clock times before localising, so
    `end + 90d at 09:00` is 09:00 local whether or not a DST change lies in between.
    """
    tz = event.tz
    if isinstance(when, AbsoluteWhen):
        if when.moment.tzinfo is None:
            return _localise(when.moment, tz)
        return when.moment.astimezone(tz)
    day = (event.start if when.anchor == "start" else event.end) + timedelta(days=when.days)
    if when.hours:
        naive = datetime.combine(day, time(0)) + timedelta(hours=when.hours)
    else:
        naive = datetime.combine(day, when.at or DEFAULT_TIME)
    return _localise(naive, tz)


# --- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AudienceConfig:
    """Who a campaign reaches. Withdrawn participants never do (they are reported as skipped).

    `new_editors_only`: only participants who were new editors (see `stats.new_editor_days`);
    `inactive_during_event`: only those who made no edit during the event; `list_page`: only
    users linked from that page; `alumni_of`: only those who took part in one of these earlier
    events of the event's programme, `not_alumni_of`: only those who did not (see
    `bot.alumni`; the event needs `programme:`). Filters combine with AND.
    """

    statuses: list[Status] = field(
        default_factory=lambda: [Status.REGISTERED, Status.SELECTED, Status.ATTENDED]
    )
    new_editors_only: bool = False
    inactive_during_event: bool = False
    list_page: str | None = None
    alumni_of: PastEvents | None = None
    not_alumni_of: PastEvents | None = None

    @property
    def alumni_events(self) -> list[str]:
        """Every programme event an alumni filter names (empty without alumni filters)."""
        found = [*(self.alumni_of.events if self.alumni_of else []),
                 *(self.not_alumni_of.events if self.not_alumni_of else [])]
        return list(dict.fromkeys(found))

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.statuses:
            problems.append("statuses: expected at least one status")
        if Status.WITHDRAWN in self.statuses:
            problems.append(
                "statuses: withdrawn participants never receive messages; remove 'withdrawn'"
            )
        if self.list_page is not None:
            problem = _title_problem(self.list_page)
            if problem:
                problems.append(f"list_page: {problem}")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True)
class CampaignConfig:
    """One follow-up campaign of an event.

    `message` is the base title of the message page; the text is read from its language
    subpages (`MESSAGE/te`, fallback `MESSAGE/en`). `title` is the new section's heading and
    `summary` the edit summary; both may use `{event}`, `{username}` and `{campaign}`.
    `params` are extra template parameters for the message page.
    """

    name: str
    when: str
    message: str
    title: str
    summary: str = DEFAULT_SUMMARY
    audience: AudienceConfig = field(default_factory=AudienceConfig)
    deliver_to: Literal["event-wiki", "home-wiki"] = "event-wiki"
    languages: list[str] = field(default_factory=lambda: list(DEFAULT_LANGUAGES))
    params: dict[str, str] = field(default_factory=dict)
    enabled: bool = True

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not _SLUG.match(self.name) or len(self.name) > 64:
            problems.append(
                f"name: expected a short slug of a-z, 0-9 and single '-' such as "
                f"'feedback' or 'follow-up-30d', got {self.name!r}"
            )
        elif self.name in RESERVED_NAMES:
            problems.append(f"name: {self.name!r} is reserved; choose another name")
        try:
            parse_when(self.when)
        except ValueError as exc:
            problems.append(str(exc))
        problem = _title_problem(self.message)
        if problem:
            problems.append(f"message: {problem}")
        if not self.title.strip():
            problems.append("title: expected a section title, got an empty string")
        problems.extend(_placeholder_problems("title", self.title))
        problems.extend(_placeholder_problems("summary", self.summary))
        if self.deliver_to not in ("event-wiki", "home-wiki"):
            problems.append(
                f"deliver_to: expected event-wiki or home-wiki, got {self.deliver_to!r}"
            )
        for index, code in enumerate(self.languages):
            if not _LANG_CODE.match(code):
                problems.append(
                    f"languages[{index}]: expected a language code such as 'te', got {code!r}"
                )
        for name in self.params:
            if not _PARAM_NAME.match(name):
                problems.append(
                    f"params.{name}: a parameter name is letters, digits, '_' and '-', "
                    "starting with a letter"
                )
            elif name in RESERVED_PARAMS:
                problems.append(
                    f"params.{name}: the bot fills '{name}' itself; choose another name"
                )
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def schedule(self) -> When:
        """The parsed `when` (validated at construction, so this does not fail)."""
        return parse_when(self.when)


def _title_problem(title: str) -> str | None:
    """Why `title` cannot name a wiki page, or None."""
    if not title.strip():
        return "expected a page title, got an empty string"
    bad = _NOT_IN_TITLES.search(title)
    if bad is not None:
        return f"{title!r} cannot be a page title: it contains {bad.group(0)!r}"
    if "~~~" in title:
        return f"{title!r} cannot be a page title: it contains '~~~'"
    if len(title.encode("utf-8")) > 255:
        return "a page title is at most 255 bytes"
    return None


def _placeholder_problems(key: str, text: str) -> list[str]:
    allowed = ", ".join("{" + name + "}" for name in sorted(_TITLE_PLACEHOLDERS))
    return [
        f"{key}: unknown placeholder {{{name}}}; use {allowed}"
        for name in _PLACEHOLDER.findall(text)
        if name not in _TITLE_PLACEHOLDERS
    ]


def fill_placeholders(template: str, values: Mapping[str, str]) -> str:
    """Replace `{event}`-style placeholders; other braces are left as written."""

    def replace(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    return _PLACEHOLDER.sub(replace, template)


# --- scheduling -------------------------------------------------------------------------------


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"'now' must carry a timezone, got {now.isoformat()}")


def is_due(campaign: CampaignConfig, event: EventConfig, now: datetime) -> bool:
    """True when the campaign is enabled and its moment has come. It stays due afterwards:
    the delivery ledger, not the clock, makes sure each person gets the message once."""
    _require_aware(now)
    return campaign.enabled and due_at(campaign.schedule, event) <= now


def next_due(
    campaigns: Iterable[CampaignConfig], event: EventConfig, now: datetime
) -> tuple[datetime, CampaignConfig] | None:
    """The earliest enabled campaign that falls due strictly after `now`, with its moment
    (so a scheduler knows when to wake up), or None when nothing is left."""
    _require_aware(now)
    upcoming = [
        (due_at(campaign.schedule, event), campaign) for campaign in campaigns if campaign.enabled
    ]
    later = [item for item in upcoming if item[0] > now]
    return min(later, key=lambda item: item[0]) if later else None


# --- audience ---------------------------------------------------------------------------------


class AudienceDataMissing(ValueError):
    """A campaign's audience filter needs data the caller did not provide."""


def select_audience(
    campaign: CampaignConfig,
    participants: Sequence[Participant],
    *,
    during_edits: Mapping[str, int] | None,
    new_editors: frozenset[str] | None,
    list_members: frozenset[str] | None,
    history: Mapping[str, PersonHistory] | None = None,
) -> tuple[list[Participant], list[tuple[Participant, str]]]:
    """Split participants into recipients and skips (with a reason), in input order.

    Withdrawn participants are skipped with `WITHDREW`, so organisers see them. Everyone else
    outside the audience (another status, or filtered out) is simply not part of it.
    `during_edits` maps usernames to their edit count during the event (absent = no edits);
    `new_editors` and `list_members` are sets of usernames; `history` is each person's alumni
    history by username (`alumni.history`; someone absent took part in nothing). Names are
    compared normalised. Raises `AudienceDataMissing` when an enabled filter's data is None.
    """
    audience = campaign.audience
    edited: frozenset[str] | None = None  # who did edit during the event
    if audience.inactive_during_event:
        if during_edits is None:
            raise AudienceDataMissing(
                f"campaign {campaign.name!r} is only for participants who did not edit during "
                "the event (audience.inactive_during_event), but no edit counts were given"
            )
        edited = frozenset(_key(name) for name, count in during_edits.items() if count > 0)
    new: frozenset[str] | None = None
    if audience.new_editors_only:
        if new_editors is None:
            raise AudienceDataMissing(
                f"campaign {campaign.name!r} is only for new editors "
                "(audience.new_editors_only), but no list of new editors was given"
            )
        new = frozenset(_key(name) for name in new_editors)
    listed: frozenset[str] | None = None
    if audience.list_page is not None:
        if list_members is None:
            raise AudienceDataMissing(
                f"campaign {campaign.name!r} is only for users linked from "
                f"{audience.list_page!r} (audience.list_page), but that page was not read"
            )
        listed = frozenset(_key(name) for name in list_members)
    alumni: dict[str, PersonHistory] | None = None
    if audience.alumni_events:
        if history is None:
            raise AudienceDataMissing(
                f"campaign {campaign.name!r} filters on earlier events of the programme "
                "(audience.alumni_of / not_alumni_of), but no alumni history was given"
            )
        alumni = {_key(name): person for name, person in history.items()}

    statuses = frozenset(audience.statuses)
    recipients: list[Participant] = []
    skipped: list[tuple[Participant, str]] = []
    for participant in participants:
        if not participant.active:
            skipped.append((participant, WITHDREW))
            continue
        name = _key(participant.username)
        if participant.status not in statuses:
            continue
        if new is not None and name not in new:
            continue
        if edited is not None and name in edited:
            continue
        if listed is not None and name not in listed:
            continue
        if alumni is not None and not _alumni_match(audience, alumni.get(name)):
            continue
        recipients.append(participant)
    return recipients, skipped


def _alumni_match(audience: AudienceConfig, person: PersonHistory | None) -> bool:
    """Whether a person's history passes the audience's `alumni_of` and `not_alumni_of`."""
    for rule, wanted in ((audience.alumni_of, True), (audience.not_alumni_of, False)):
        if rule is None:
            continue
        took_part = bool(person is not None and person.took_part(rule.statuses, rule.events))
        if took_part != wanted:
            return False
    return True


def target_wiki(campaign: CampaignConfig, event: EventConfig, participant: Participant) -> str:
    """The wiki whose talk page receives the message: the event's wiki, or the participant's
    home wiki when the campaign says `deliver_to: home-wiki` and one is known."""
    if campaign.deliver_to == "home-wiki" and participant.home_wiki:
        return participant.home_wiki
    return event.wiki


def _key(username: str) -> str:
    return try_normalise(username) or username
