"""The records that flow through eventbot: sign-ups, participants, problems and outcomes.

Everything here is plain data: no wiki access, no I/O. Parsers produce `SignUp` and `Problem`
records, the compiler merges them into `Participant` records, and every action on the wiki
ends in an `Outcome` (`Posted`, `Unchanged`, `Skipped` or `Failed`) that reports are built from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

__all__ = [
    "Contribution",
    "Failed",
    "Outcome",
    "Participant",
    "PastEvents",
    "Posted",
    "Problem",
    "ProblemKind",
    "SignUp",
    "SignUpKind",
    "Skipped",
    "Status",
    "Unchanged",
    "Upload",
    "UserInfo",
]


class Status(str, Enum):
    """Where a person stands in an event. Ordered from weakest to strongest commitment."""

    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    SELECTED = "selected"
    ATTENDED = "attended"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class PastEvents:
    """A set of a programme's events and the statuses that count as "took part" in them: the
    shape of alumni filters (`alumni_of`, `not_alumni_of`) in audiences and screening rules.
    By default only attending counts; `statuses: [attended, selected]` widens it."""

    events: list[str]
    statuses: list[Status] = field(default_factory=lambda: [Status.ATTENDED])

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.events:
            problems.append("events: expected at least one event id of the programme")
        if not self.statuses:
            problems.append("statuses: expected at least one status")
        if problems:
            raise ValueError("; ".join(problems))

    def describe(self) -> str:
        """"attended ttt-2023 or ttt-2024" (for skip reasons and screening tables)."""
        return f"{'/'.join(s.value for s in self.statuses)} {' or '.join(self.events)}"


class SignUpKind(str, Enum):
    """Which kind of wikitext (or API) a sign-up was read from."""

    SIGNATURE = "signature"
    TEMPLATE = "template"
    TABLE = "table"
    APPLICATION = "application"
    CAMPAIGNEVENTS = "campaignevents"


@dataclass(frozen=True)
class SignUp:
    """One person signing up once, as read from one place on one page.

    `username` is already normalised the way MediaWiki normalises it (see `bot.usernames`).
    `source` names the page (or `campaignevents:ID`); `line` is 1-based within that page and
    `raw` is the source line, so an organiser can find the entry again.
    """

    username: str
    source: str
    line: int
    raw: str
    kind: SignUpKind
    status: Status = Status.REGISTERED
    section: str | None = None
    home_wiki: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)


class ProblemKind(str, Enum):
    """Why an entry needs an organiser's attention."""

    UNPARSEABLE = "unparseable"  # an entry in a sign-up area that names no user
    INVALID_NAME = "invalid-name"  # a name MediaWiki cannot hold
    UNKNOWN_USER = "unknown-user"  # no such account on the wiki
    RENAMED = "renamed"  # the account was renamed; the new name is used
    IP_ADDRESS = "ip-address"  # an IP address or temporary account signed
    BLOCKED = "blocked"
    BOT_ACCOUNT = "bot-account"
    DUPLICATE = "duplicate"  # the same person signed more than once
    WITHDRAWN = "withdrawn"  # struck out: kept, but not counted as taking part
    CONFLICT = "conflict"  # two sign-ups of one person disagree on a field
    SOURCE_ERROR = "source-error"  # a registration source could not be read at all


@dataclass(frozen=True)
class Problem:
    """Something an organiser should look at. Problems are reported, never silently dropped."""

    kind: ProblemKind
    message: str
    source: str | None = None
    line: int | None = None
    username: str | None = None
    raw: str | None = None


@dataclass(frozen=True)
class UserInfo:
    """What the wiki says about an account (from `list=users`), attached during validation."""

    name: str
    exists: bool
    user_id: int | None = None
    editcount: int | None = None
    registration: datetime | None = None
    groups: tuple[str, ...] = ()
    blocked: bool = False
    renamed_to: str | None = None
    is_ip: bool = False
    is_temp: bool = False

    @property
    def is_bot(self) -> bool:
        return "bot" in self.groups


@dataclass(frozen=True)
class Participant:
    """One person in an event, merged from all of their sign-ups.

    `status` is the strongest status across sign-ups (withdrawn only when every sign-up is
    withdrawn); `statuses` keeps all of them. `fields` merges sign-up fields; conflicting values
    are reported as problems and the first value is kept.
    """

    username: str
    status: Status
    statuses: frozenset[Status]
    signups: tuple[SignUp, ...]
    home_wiki: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    user: UserInfo | None = None

    @property
    def community(self) -> str | None:
        """The participant's community or language, as they gave it (or their home wiki)."""
        for key in ("community", "language", "lang"):
            value = self.fields.get(key)
            if value:
                return value
        return self.home_wiki

    @property
    def active(self) -> bool:
        """True unless the participant withdrew."""
        return self.status is not Status.WITHDRAWN


@dataclass(frozen=True)
class Contribution:
    """One edit by a participant, as `list=usercontribs` reports it. `timestamp` is in UTC.

    `created` marks the edit that created the page; `redirect` is true when the created page is a
    redirect (learned from a separate page-info query, since usercontribs does not say).
    """

    wiki: str
    user: str
    revid: int
    timestamp: datetime
    namespace: int
    title: str
    size_change: int
    created: bool = False
    redirect: bool = False
    page_id: int = 0


@dataclass(frozen=True)
class Upload:
    """One file upload by a participant (from the upload log). `timestamp` is in UTC."""

    wiki: str
    user: str
    timestamp: datetime
    title: str


# --- outcomes of actions on the wiki -------------------------------------------------------


@dataclass(frozen=True)
class Posted:
    """An edit was saved."""

    title: str
    revid: int
    wiki: str
    simulated: bool = False


@dataclass(frozen=True)
class Unchanged:
    """Nothing to do: the page already says what the bot would write."""

    title: str
    wiki: str


@dataclass(frozen=True)
class Skipped:
    """The bot chose not to act, for a reason an organiser can read."""

    title: str
    wiki: str
    reason: str


@dataclass(frozen=True)
class Failed:
    """The wiki refused or the request failed; `code` is the raw API error code when there is one."""

    title: str
    wiki: str
    error: str
    code: str | None = None


Outcome = Posted | Unchanged | Skipped | Failed
