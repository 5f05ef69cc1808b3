"""Participation statistics: windows, per-participant metrics, groups, retention, privacy.

Everything here is a pure function over the dataclasses in `bot.models` and `bot.config`: no
wiki access, no clock (every entry point takes `now`), no I/O. The data flow is

    contributions + uploads ──metrics()──▶ cells (user, wiki, window) ──compute()──▶ EventStats

`metrics` makes one pass over the contributions, bucketing by user; every later step works on
the (much smaller) cells. Windows are half-open `[start, end)`, in the event's timezone, so an
edit at exactly a window edge belongs to the window that starts there. Contribution timestamps
are UTC; a naive timestamp is read as UTC (pywikibot's `Timestamp` is naive UTC).

Privacy: self-reported demographics only ever leave this module as thresholded aggregates
(`demographics`), and participants who opt out of being named only count in totals and groups
(`public_rows`, `is_public`). Withdrawn participants are left out of everything except a count.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from bot.config import EventConfig
from bot.models import Contribution, Participant, Status, Upload

__all__ = [
    "DEFAULT_DEMOGRAPHIC_FIELDS",
    "DIMENSIONS",
    "EMPTY",
    "MIN_ANSWERS_PER_OPTION",
    "MIN_ANSWERS_PER_QUESTION",
    "UNKNOWN",
    "Aggregate",
    "EventStats",
    "Experience",
    "GroupStats",
    "Metrics",
    "OptionCount",
    "ParticipantStats",
    "Retention",
    "Window",
    "classify",
    "combine",
    "compute",
    "definitions",
    "demographics",
    "is_public",
    "metrics",
    "public_rows",
    "retention",
    "retention_windows",
    "windows",
]

#: Participant fields treated as self-reported demographics (aggregated, never shown per person).
DEFAULT_DEMOGRAPHIC_FIELDS: tuple[str, ...] = ("gender", "age", "age_group")
#: A question with fewer answers than this shows only a notice (CampaignEvents' threshold).
MIN_ANSWERS_PER_QUESTION = 10
#: An option with fewer answers than this shows "fewer than 5" (CampaignEvents' threshold).
MIN_ANSWERS_PER_OPTION = 5
#: The group key for a participant who gave no value (or whose account could not be looked up).
UNKNOWN = "unknown"
#: Group dimensions, in report order.
DIMENSIONS: tuple[str, ...] = ("community", "region", "affiliation", "status", "experience")

FEW_ANSWERS_NOTICE = f"fewer than {MIN_ANSWERS_PER_QUESTION} answers; not shown"
FEW_ANSWERS_OPTION = f"fewer than {MIN_ANSWERS_PER_OPTION}"

_PRIVATE_VALUES = frozenset({"no", "n", "false", "0", "off"})

PageKey = tuple[str, int, str]
"""A page as (wiki, namespace, title): the same title on two wikis is two pages."""
DayKey = tuple[str, date]
"""An active day as (user, local date): one user on two wikis on one day is one day."""
CellKey = tuple[str, str, str]
"""(user, wiki, window name)."""


def _utc(ts: datetime) -> datetime:
    """`ts` in UTC; a naive datetime is taken to be UTC already."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value.isoformat()}")


# --- windows ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A named half-open time range `[start, end)` with timezone-aware ends.

    A window is *open* at `now` while `end > now`: its figures are still partial.
    """

    name: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _require_aware(f"window {self.name!r} start", self.start)
        _require_aware(f"window {self.name!r} end", self.end)
        if self.end < self.start:
            raise ValueError(
                f"window {self.name!r} ends ({self.end}) before it starts ({self.start})"
            )

    def contains(self, ts: datetime) -> bool:
        """True when `ts` (UTC if naive) falls in `[start, end)`."""
        return self.start <= _utc(ts) < self.end

    def is_open(self, now: datetime) -> bool:
        """True while the window has not closed, including when it has not started yet."""
        return self.end > now

    def state(self, now: datetime) -> str:
        """"closed", "open" (under way) or "not-started" at `now`."""
        if self.end <= now:
            return "closed"
        return "open" if self.start <= now else "not-started"

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }
        if now is not None:
            data["state"] = self.state(now)
        return data


def windows(event: EventConfig) -> list[Window]:
    """The report windows of an event, in its timezone, in time order.

    baseline `[start - baseline_days, start)`, during `[start, end)`, then one `after-N`
    `[end, end + N days)` per `stats.after_days` (nested: after-90 includes after-30). Days are
    calendar days in the event's timezone, so every edge is a local midnight even across a DST
    change. Repeated `after_days` values give one window.
    """
    start, end, cfg = event.starts_at, event.ends_at, event.stats
    result = [
        Window("baseline", start - timedelta(days=cfg.baseline_days), start),
        Window("during", start, end),
    ]
    for n in sorted(set(cfg.after_days)):
        result.append(Window(f"after-{n}", end, end + timedelta(days=n)))
    return result


def retention_windows(event: EventConfig) -> list[Window]:
    """One window per `stats.retention_days` D: days D+1..2D after the end, `[end+D, end+2D)`."""
    end = event.ends_at
    return [
        Window(f"retention-{d}", end + timedelta(days=d), end + timedelta(days=2 * d))
        for d in sorted(set(event.stats.retention_days))
    ]


# --- metrics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metrics:
    """Activity in one window: for one participant on one wiki, or summed over wikis/people.

    Counts add up; distinct pages and active days are kept as sets so that sums stay exact:
    a page is (wiki, namespace, title), so two participants editing one page count it once;
    an active day is (user, local date), so one person on two wikis on one day is one day,
    while for a group the days add up over people (participant-days).
    """

    edits: int = 0
    main_edits: int = 0
    pages_created: int = 0
    bytes_added: int = 0
    bytes_removed: int = 0
    uploads: int = 0
    page_keys: frozenset[PageKey] = field(default=frozenset(), repr=False)
    day_keys: frozenset[DayKey] = field(default=frozenset(), repr=False)

    @property
    def pages_edited(self) -> int:
        return len(self.page_keys)

    @property
    def active_days(self) -> int:
        return len(self.day_keys)

    def __add__(self, other: Metrics) -> Metrics:
        return combine((self, other))

    def as_dict(self) -> dict[str, int]:
        return {
            "edits": self.edits,
            "main_edits": self.main_edits,
            "pages_edited": self.pages_edited,
            "pages_created": self.pages_created,
            "bytes_added": self.bytes_added,
            "bytes_removed": self.bytes_removed,
            "active_days": self.active_days,
            "uploads": self.uploads,
        }


EMPTY = Metrics()


def combine(items: Iterable[Metrics]) -> Metrics:
    """The sum of many `Metrics` (counts added, page and day sets united) in linear time."""
    acc = _Acc()
    for m in items:
        acc.merge(m)
    return acc.freeze()


class _Acc:
    """A mutable `Metrics` under construction; frozen once the pass is over."""

    __slots__ = ("bytes_added", "bytes_removed", "days", "edits", "main_edits", "pages",
                 "pages_created", "uploads")

    def __init__(self) -> None:
        self.edits = self.main_edits = self.pages_created = 0
        self.bytes_added = self.bytes_removed = self.uploads = 0
        self.pages: set[PageKey] = set()
        self.days: set[DayKey] = set()

    def add_edit(self, c: Contribution, day: date) -> None:
        self.edits += 1
        if c.namespace == 0:
            self.main_edits += 1
            if c.created and not c.redirect:
                self.pages_created += 1
        if c.size_change > 0:
            self.bytes_added += c.size_change
        else:
            self.bytes_removed -= c.size_change
        self.pages.add((c.wiki, c.namespace, c.title))
        self.days.add((c.user, day))

    def merge(self, m: Metrics) -> None:
        self.edits += m.edits
        self.main_edits += m.main_edits
        self.pages_created += m.pages_created
        self.bytes_added += m.bytes_added
        self.bytes_removed += m.bytes_removed
        self.uploads += m.uploads
        self.pages |= m.page_keys
        self.days |= m.day_keys

    def freeze(self) -> Metrics:
        return Metrics(
            self.edits, self.main_edits, self.pages_created, self.bytes_added,
            self.bytes_removed, self.uploads, frozenset(self.pages), frozenset(self.days),
        )


def metrics(
    contribs: Iterable[Contribution],
    uploads: Iterable[Upload],
    windows: Sequence[Window],
    tz: tzinfo,
    *,
    users: Container[str] | None = None,
) -> dict[CellKey, Metrics]:
    """Metrics per (user, wiki, window name), in one pass over contributions and uploads.

    An edit counts in every window that contains it (windows may overlap). `users`, when given,
    keeps only those usernames (compared exactly). Active days are local dates in `tz`. Uploads
    count on the wiki they were made on (usually commonswiki). Cells with no activity are absent.
    """
    names = [w.name for w in windows]
    if len(set(names)) != len(names):
        raise ValueError(f"window names must be unique, got {names}")
    bounds = [(w.name, _utc(w.start), _utc(w.end)) for w in windows]
    cells: dict[CellKey, _Acc] = {}

    def cell(user: str, wiki: str, name: str) -> _Acc:
        key = (user, wiki, name)
        acc = cells.get(key)
        if acc is None:
            acc = cells[key] = _Acc()
        return acc

    for c in contribs:
        if users is not None and c.user not in users:
            continue
        ts = _utc(c.timestamp)
        hits = [name for name, start, end in bounds if start <= ts < end]
        if hits:
            day = ts.astimezone(tz).date()
            for name in hits:
                cell(c.user, c.wiki, name).add_edit(c, day)
    for u in uploads:
        if users is not None and u.user not in users:
            continue
        ts = _utc(u.timestamp)
        for name, start, end in bounds:
            if start <= ts < end:
                cell(u.user, u.wiki, name).uploads += 1
    return {key: acc.freeze() for key, acc in cells.items()}


# --- new vs experienced ----------------------------------------------------------------------


class Experience(StrEnum):
    """Whether a participant was new to editing when the event started."""

    NEW = "new"
    EXPERIENCED = "experienced"
    UNKNOWN = "unknown"


def classify(
    participant: Participant, event: EventConfig, *, edits_before: int, edits_since: int
) -> Experience:
    """New, experienced or unknown, from what the wiki said about the account.

    - No `UserInfo`, or the account does not exist: unknown.
    - Registered at or after `starts_at - stats.new_editor_days` (including during the event):
      new.
    - Otherwise the edits before the start are estimated as the larger of `edits_before` (the
      participant's fetched contributions before the start, all wikis) and `editcount -
      edits_since` (the count the wiki reported, minus fetched contributions since the start,
      all wikis). Both are lower bounds as long as the contributions since the start were fetched
      up to when the edit count was read. Fewer than `stats.new_editor_max_edits`: new;
      otherwise experienced.
    - No edit count and too few fetched edits to decide: unknown.
    """
    info = participant.user
    if info is None or not info.exists:
        return Experience.UNKNOWN
    cfg = event.stats
    if info.registration is not None:
        if _utc(info.registration) >= event.starts_at - timedelta(days=cfg.new_editor_days):
            return Experience.NEW
    estimate = edits_before
    if info.editcount is not None:
        estimate = max(estimate, info.editcount - edits_since)
    elif estimate < cfg.new_editor_max_edits:
        return Experience.UNKNOWN
    return Experience.NEW if estimate < cfg.new_editor_max_edits else Experience.EXPERIENCED


# --- retention -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Retention:
    """Retained at `days`: people with at least one edit (any wiki, any namespace) in days
    D+1..2D after the event, out of `denominator` non-withdrawn participants of `population`.

    While the window is open at `now`, the figure is `pending` and `retained` is None: a partial
    count would understate retention, and counting everyone would overstate it.
    """

    days: int
    retained: int | None
    denominator: int
    pending: bool
    population: str = "all"
    window: Window | None = None

    def __post_init__(self) -> None:
        if self.pending != (self.retained is None):
            raise ValueError("a pending retention has no number, and a closed one has one")

    @property
    def rate(self) -> float | None:
        """retained / denominator, or None when pending or nobody is counted."""
        if self.retained is None or self.denominator == 0:
            return None
        return self.retained / self.denominator

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "population": self.population,
            "retained": self.retained,
            "denominator": self.denominator,
            "pending": self.pending,
            "rate": self.rate,
            "window": self.window.as_dict() if self.window else None,
        }


def _days_of(window: Window) -> int:
    return int(window.name.rsplit("-", 1)[1])


def _retained_users(cells: Mapping[CellKey, Metrics]) -> dict[str, set[str]]:
    """Window name → users with at least one edit in it (any wiki)."""
    result: dict[str, set[str]] = defaultdict(set)
    for (user, _wiki, name), m in cells.items():
        if m.edits:
            result[name].add(user)
    return result


def _retention_for(
    members: Collection[str],
    rwindows: Sequence[Window],
    retained: Mapping[str, set[str]],
    now: datetime,
    population: str,
) -> tuple[Retention, ...]:
    result = []
    for w in rwindows:
        pending = w.is_open(now)
        count = None if pending else sum(1 for u in members if u in retained.get(w.name, ()))
        result.append(Retention(_days_of(w), count, len(members), pending, population, w))
    return tuple(result)


def retention(
    event: EventConfig,
    participants: Iterable[Participant],
    contribs: Iterable[Contribution],
    now: datetime,
    *,
    population: str = "all",
) -> tuple[Retention, ...]:
    """Retention of the given participants at each `stats.retention_days`; withdrawn
    participants are left out of the denominator. A window still open at `now` is pending."""
    _require_aware("now", now)
    members = {p.username for p in participants if p.active}
    rwindows = retention_windows(event)
    cells = metrics(contribs, (), rwindows, event.tz, users=members)
    return _retention_for(members, rwindows, _retained_users(cells), now, population)


# --- privacy ---------------------------------------------------------------------------------


def is_public(participant: Participant, opted_out: Container[str] = frozenset()) -> bool:
    """False when the participant opted out of being named: listed in `opted_out`, or a field
    `public` saying no/false/0/off (any case)."""
    if participant.username in opted_out:
        return False
    return participant.fields.get("public", "").strip().casefold() not in _PRIVATE_VALUES


@dataclass(frozen=True)
class OptionCount:
    """One answer to a demographic question; `count` is None when below the threshold."""

    value: str
    count: int | None

    @property
    def display(self) -> str:
        return FEW_ANSWERS_OPTION if self.count is None else str(self.count)

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "count": self.count, "display": self.display}


@dataclass(frozen=True)
class Aggregate:
    """The answers to one self-reported question, safe to publish.

    With fewer than `MIN_ANSWERS_PER_QUESTION` answers only `notice` is set. Otherwise options
    are listed alphabetically (so their order says nothing about suppressed counts), an option
    with fewer than `MIN_ANSWERS_PER_OPTION` answers has no count, and `no_answer` is the range
    (min, max) of participants who did not answer: exact when nothing is suppressed, a range
    otherwise, so suppressed counts cannot be worked out by subtraction. The exact number of
    answers is deliberately not exposed.
    """

    field: str
    participants: int
    options: tuple[OptionCount, ...] = ()
    no_answer: tuple[int, int] | None = None
    notice: str | None = None

    @property
    def shown(self) -> bool:
        return self.notice is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "participants": self.participants,
            "shown": self.shown,
            "notice": self.notice,
            "options": [o.as_dict() for o in self.options],
            "no_answer": list(self.no_answer) if self.no_answer else None,
        }


def demographics(participants: Iterable[Participant], field: str) -> Aggregate:
    """Thresholded counts of one self-reported field over non-withdrawn participants.

    Values are trimmed and compared case-insensitively (shown in their most common spelling);
    an empty value is no answer. Opted-out participants count here: this is a total.
    """
    people = [p for p in participants if p.active]
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for p in people:
        value = p.fields.get(field, "").strip()
        if value:
            spellings[value.casefold()][value] += 1
    answers = sum(sum(c.values()) for c in spellings.values())
    if answers < MIN_ANSWERS_PER_QUESTION:
        return Aggregate(field, len(people), notice=FEW_ANSWERS_NOTICE)
    options, known, suppressed = [], 0, 0
    for counter in spellings.values():
        label = min(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        n = sum(counter.values())
        if n < MIN_ANSWERS_PER_OPTION:
            options.append(OptionCount(label, None))
            suppressed += 1
        else:
            options.append(OptionCount(label, n))
            known += n
    options.sort(key=lambda o: (o.value.casefold(), o.value))
    most = len(people) - known
    least = max(most - (MIN_ANSWERS_PER_OPTION - 1) * suppressed, 0)
    return Aggregate(field, len(people), tuple(options), (least, most))


# --- report model ----------------------------------------------------------------------------


def _window_metrics_dict(
    by_window: Mapping[str, Metrics], open_windows: Container[str]
) -> dict[str, dict[str, Any]]:
    return {name: {**m.as_dict(), "partial": name in open_windows} for name, m in by_window.items()}


@dataclass(frozen=True)
class ParticipantStats:
    """One participant's activity: per wiki per window (only wikis with activity) and, in
    `total`, across wikis for every report window. `retained[D]` is None while pending."""

    username: str
    status: Status
    experience: Experience
    community: str | None
    by_wiki: Mapping[str, Mapping[str, Metrics]]
    total: Mapping[str, Metrics]
    retained: Mapping[int, bool | None]

    def get(self, window: str, wiki: str | None = None) -> Metrics:
        """Metrics in `window` on `wiki` (all wikis when None); `EMPTY` when there is none."""
        if wiki is None:
            return self.total.get(window, EMPTY)
        return self.by_wiki.get(wiki, {}).get(window, EMPTY)

    def as_dict(self, open_windows: Container[str] = frozenset()) -> dict[str, Any]:
        return {
            "username": self.username,
            "status": self.status.value,
            "experience": self.experience.value,
            "community": self.community,
            "total": _window_metrics_dict(self.total, open_windows),
            "by_wiki": {w: _window_metrics_dict(m, open_windows) for w, m in self.by_wiki.items()},
            "retained": {str(d): r for d, r in self.retained.items()},
        }


def public_rows(
    rows: Iterable[ParticipantStats],
    participants: Iterable[Participant],
    *,
    opted_out: Container[str] = frozenset(),
) -> tuple[ParticipantStats, ...]:
    """The per-participant rows that may be published, by username: rows of non-withdrawn
    participants who did not opt out (`is_public`). Rows of unknown users are dropped too."""
    allowed = {p.username for p in participants if p.active and is_public(p, opted_out)}
    return tuple(sorted((r for r in rows if r.username in allowed), key=lambda r: r.username))


@dataclass(frozen=True)
class GroupStats:
    """Participants sharing one value of a dimension (community, region, ...), withdrawn left
    out: how many, how many edited during the event, their activity during it, their retention."""

    dimension: str
    key: str
    participants: int
    active_during: int
    during: Metrics
    retention: tuple[Retention, ...]

    @property
    def edits_during(self) -> int:
        return self.during.edits

    def as_dict(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "key": self.key,
            "participants": self.participants,
            "active_during": self.active_during,
            "edits_during": self.edits_during,
            "during": self.during.as_dict(),
            "retention": [r.as_dict() for r in self.retention],
        }


@dataclass(frozen=True)
class EventStats:
    """Everything a report shows about an event's participation, computed at `now`.

    `participants` counts non-withdrawn participants and `withdrawn` the others; `rows` holds
    only publishable participants (`not_public` counts the others, who still count in totals,
    groups, retention and demographics). `open_windows` names the windows still open at `now`,
    whose figures are partial.
    """

    event_id: str
    now: datetime
    windows: tuple[Window, ...]
    open_windows: frozenset[str]
    participants: int
    withdrawn: int
    not_public: int
    rows: tuple[ParticipantStats, ...]
    totals: Mapping[str, Metrics]
    totals_by_wiki: Mapping[str, Mapping[str, Metrics]]
    groups: Mapping[str, tuple[GroupStats, ...]]
    retention: tuple[Retention, ...]
    demographics: tuple[Aggregate, ...]

    def group(self, dimension: str, key: str) -> GroupStats | None:
        """The group with `key` in `dimension`, if any participant is in it."""
        return next((g for g in self.groups.get(dimension, ()) if g.key == key), None)

    def as_dict(self) -> dict[str, Any]:
        """A plain JSON-serialisable dict (datetimes as ISO 8601 text)."""
        ow = self.open_windows
        return {
            "event": self.event_id,
            "now": self.now.isoformat(),
            "windows": [w.as_dict(self.now) for w in self.windows],
            "open_windows": sorted(ow),
            "participants": self.participants,
            "withdrawn": self.withdrawn,
            "not_public": self.not_public,
            "totals": _window_metrics_dict(self.totals, ow),
            "totals_by_wiki": {
                w: _window_metrics_dict(m, ow) for w, m in self.totals_by_wiki.items()
            },
            "groups": {d: [g.as_dict() for g in gs] for d, gs in self.groups.items()},
            "retention": [r.as_dict() for r in self.retention],
            "demographics": [a.as_dict() for a in self.demographics],
            "rows": [r.as_dict(ow) for r in self.rows],
            "definitions": definitions(),
        }


def _field_or_unknown(p: Participant, key: str) -> str:
    return p.fields.get(key, "").strip() or UNKNOWN


def _group_keys(experience: Mapping[str, Experience]) -> dict[str, Callable[[Participant], str]]:
    return {
        "community": lambda p: (p.community or "").strip() or UNKNOWN,
        "region": lambda p: _field_or_unknown(p, "region"),
        "affiliation": lambda p: _field_or_unknown(p, "affiliation"),
        "status": lambda p: p.status.value,
        "experience": lambda p: experience[p.username].value,
    }


def _sum_cells(
    cells: Mapping[CellKey, Metrics], names: Sequence[str], key: Callable[[CellKey], str]
) -> dict[str, dict[str, Metrics]]:
    """Cells of the report windows summed into outer key (from `key`) → window → Metrics."""
    wanted = set(names)
    buckets: dict[str, dict[str, list[Metrics]]] = defaultdict(lambda: defaultdict(list))
    for k, m in cells.items():
        if k[2] in wanted:
            buckets[key(k)][k[2]].append(m)
    return {
        outer: {n: combine(by_window.get(n, ())) for n in names}
        for outer, by_window in buckets.items()
    }


class _EditTally:
    """Counts each user's edits before and since `instant` as contributions stream past, so
    that the contributions are still read only once."""

    def __init__(self, users: Container[str], instant: datetime) -> None:
        self.users, self.instant = users, _utc(instant)
        self.before: Counter[str] = Counter()
        self.since: Counter[str] = Counter()

    def watch(self, contribs: Iterable[Contribution]) -> Iterator[Contribution]:
        for c in contribs:
            if c.user in self.users:
                counter = self.before if _utc(c.timestamp) < self.instant else self.since
                counter[c.user] += 1
            yield c


def compute(
    event: EventConfig,
    participants: Sequence[Participant],
    contribs: Iterable[Contribution],
    uploads: Iterable[Upload],
    now: datetime,
    *,
    opted_out: frozenset[str] = frozenset(),
    demographic_fields: Sequence[str] = DEFAULT_DEMOGRAPHIC_FIELDS,
) -> EventStats:
    """The participation statistics of an event at `now` (timezone-aware).

    Only non-withdrawn participants count; contributions and uploads by anyone else are
    ignored (usernames compare exactly). If a username appears twice, the first one is used.
    Contributions are read once.
    """
    _require_aware("now", now)
    people: dict[str, Participant] = {}
    for p in participants:
        if p.active:
            people.setdefault(p.username, p)
    withdrawn = len({p.username for p in participants if not p.active} - people.keys())

    report = windows(event)
    rwindows = retention_windows(event)
    tally = _EditTally(people, event.starts_at)
    cells = metrics(tally.watch(contribs), uploads, [*report, *rwindows], event.tz, users=people)

    names = [w.name for w in report]
    open_windows = frozenset(w.name for w in report if w.is_open(now))
    per_user = _sum_cells(cells, names, lambda k: k[0])
    per_user_wiki: dict[str, dict[str, dict[str, Metrics]]] = defaultdict(dict)
    for (user, wiki, name), m in cells.items():
        if name in names:
            per_user_wiki[user].setdefault(wiki, {})[name] = m

    experience = {
        u: classify(p, event, edits_before=tally.before[u], edits_since=tally.since[u])
        for u, p in people.items()
    }
    retained = _retained_users(cells)
    empty_total = {n: EMPTY for n in names}
    rows = [
        ParticipantStats(
            username=u,
            status=p.status,
            experience=experience[u],
            community=p.community,
            by_wiki=per_user_wiki.get(u, {}),
            total=per_user.get(u, empty_total),
            retained={
                _days_of(w): None if w.is_open(now) else u in retained.get(w.name, ())
                for w in rwindows
            },
        )
        for u, p in people.items()
    ]
    by_user = {r.username: r for r in rows}
    new_editors = [u for u in people if experience[u] is Experience.NEW]
    visible = public_rows(rows, people.values(), opted_out=opted_out)

    return EventStats(
        event_id=event.id,
        now=now,
        windows=tuple(report),
        open_windows=open_windows,
        participants=len(people),
        withdrawn=withdrawn,
        not_public=len(people) - len(visible),
        rows=visible,
        totals={n: combine(r.total[n] for r in rows) for n in names},
        totals_by_wiki=dict(sorted(_sum_cells(cells, names, lambda k: k[1]).items())),
        groups=_groups(people, by_user, experience, rwindows, retained, now),
        retention=(
            _retention_for(people.keys(), rwindows, retained, now, "all")
            + _retention_for(new_editors, rwindows, retained, now, Experience.NEW.value)
        ),
        demographics=tuple(demographics(people.values(), f) for f in demographic_fields),
    )


def _groups(
    people: Mapping[str, Participant],
    rows: Mapping[str, ParticipantStats],
    experience: Mapping[str, Experience],
    rwindows: Sequence[Window],
    retained: Mapping[str, set[str]],
    now: datetime,
) -> dict[str, tuple[GroupStats, ...]]:
    """Per dimension, one `GroupStats` per key, largest group first (ties by key)."""
    result: dict[str, tuple[GroupStats, ...]] = {}
    for dimension, key_of in _group_keys(experience).items():
        members: dict[str, list[str]] = defaultdict(list)
        for user, p in people.items():
            members[key_of(p)].append(user)
        groups = [
            GroupStats(
                dimension=dimension,
                key=key,
                participants=len(users),
                active_during=sum(1 for u in users if rows[u].get("during").edits),
                during=combine(rows[u].get("during") for u in users),
                retention=_retention_for(users, rwindows, retained, now, key),
            )
            for key, users in members.items()
        ]
        result[dimension] = tuple(sorted(groups, key=lambda g: (-g.participants, g.key)))
    return result


# --- definitions -----------------------------------------------------------------------------


def definitions() -> dict[str, str]:
    """Plain-language definitions of every figure, for the README and reports."""
    return {
        "windows": (
            "All periods are whole days in the event's timezone; a period includes its first "
            "moment and excludes its last, so an edit at midnight belongs to the day it starts."
        ),
        "baseline": "The days before the event starts (by default 90 days).",
        "during": "From the first day of the event to the end of its last day.",
        "after-N": (
            "The N days after the event's last day (by default 30, 90 and 180 days). The "
            "periods overlap: the 90 days after include the first 30."
        ),
        "partial": (
            "A period that has not ended yet; its figures are still growing and are marked "
            "partial."
        ),
        "edits": "Edits saved on any wiki, in any namespace.",
        "main_edits": "Edits to articles (the main namespace).",
        "pages_edited": (
            "Distinct pages edited. A page edited by several participants counts once in totals."
        ),
        "pages_created": "New articles started (main namespace), not counting redirects.",
        "bytes_added": "The sum of the size increases of the edits that made a page longer.",
        "bytes_removed": "The sum of the size decreases of the edits that made a page shorter.",
        "active_days": (
            "Days (in the event's timezone) with at least one edit. For a group, the days of "
            "each participant are added up (participant-days)."
        ),
        "uploads": "Files uploaded, on whichever wiki (usually Wikimedia Commons).",
        "participants": (
            "Everyone who signed up and did not withdraw. Withdrawn participants are not "
            "counted anywhere except in the number of withdrawals."
        ),
        "active_during": "Participants with at least one edit during the event.",
        "new_editor": (
            "An account registered at most 30 days (configurable) before the event started, or "
            "later; or one with fewer than 50 (configurable) edits before the start. Edits before "
            "the start are estimated as the larger of the edits found before the start and the "
            "account's edit count minus the edits found since the start, so accounts whose older "
            "edits are not visible lean towards 'new'. Accounts that could not be looked up are "
            "'unknown'."
        ),
        "retention": (
            "Retained at D days: participants with at least one edit on any wiki, in any "
            "namespace, between day D+1 and day 2D after the event's last day (by default D is "
            "30 and 90), out of all participants, or all new editors. Until that period has "
            "ended the figure is 'pending' and no number is given."
        ),
        "demographics": (
            "Self-reported answers (such as gender or age group) are shown only as totals: a "
            "question with fewer than 10 answers is not shown, and an answer given by fewer than "
            "5 people shows 'fewer than 5' (the thresholds used by the CampaignEvents extension)."
        ),
        "not_public": (
            "Participants who asked not to be named are left out of the per-participant table "
            "but counted in every total."
        ),
        "compared_with_outreach_dashboard": (
            "The Outreach Dashboard counts the edits enrolled participants make between a "
            "program's start and end dates on the wikis it tracks. Its figures are not directly "
            "comparable with the after-event periods and retention defined here."
        ),
        "compared_with_event_metrics": (
            "Event Metrics reported a '7 day retention' of new editors: an edit anywhere between "
            "7 days after the event and the time the report was run, and reports run before that "
            "period had closed have been reported to count everyone as retained. Here each "
            "retention period has a fixed end, and an unfinished one is shown as pending."
        ),
    }
