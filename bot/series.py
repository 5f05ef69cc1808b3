"""Workshop series: one page per month, announced, reminded and reported across the series.

A series (`SeriesConfig`, one YAML file such as `config/series/swt-workshops.yaml`) describes a
recurring workshop, e.g. monthly on `Small wiki toolkits/Workshops/{year}-{month:02}`. The pure
core turns it into plain values:

    months(series)                  ─▶ [Month(2026, 10, date, page title), ...]
    event_for_month(series, month)  ─▶ EventConfig (validated by `bot.config.parse_event`)
    attendance({month: Compiled})   ─▶ SeriesAttendance (unique, new, repeat, communities)
    series_report_wikitext(...)     ─▶ the report section

and the thin edge, `run_series`, does what is due at an explicit `now`:

1. **Create** each month's page from the preload page once its creation time has come
   (`create_days_before` days before the workshop, at 00:00 in the series' timezone). The
   preload's text is copied with `{{{year}}}`, `{{{month}}}` (two digits), `{{{month_name}}}`,
   `{{{date}}}` (YYYY-MM-DD), `{{{time}}}` (HH:MM), `{{{timezone}}}`, `{{{title}}}` (the page)
   and `{{{series}}}` replaced by plain string substitution (other text, including templates,
   is copied as written). The page is saved with `createonly`, so a page that exists (made by
   a person or an earlier run) is never overwritten: a second run makes no edit.
2. **Compile** each existing month page (its sign-up sections, by default `Participants`
   → registered and `Attended` → attended) exactly as an event's registration page.
3. **Announce** each month to the users linked from the subscribers page (campaign
   `SERIES-announce-YYYY-MM`) and **remind** that month's registrants (`SERIES-reminder-YYYY-MM`),
   through the follow-up machinery (`pipeline.run_followups`: ledger, exactly once, opt-outs,
   stop switches, delivery log on the report page). Campaign `when`s are relative to the
   workshop day (`start - 14d at 10:00`). Nothing is sent for a month whose page does not
   exist, nor once its workshop has begun (a late run does not announce a past workshop).
4. **Report** attendance across the series in the bot-owned section `series` of the report page.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot import pipeline, sections
from bot.campaigns import CampaignConfig
from bot.config import (
    ConfigError,
    ConfigIssue,
    DeliveryConfig,
    EventConfig,
    TemplateConfig,
    TimezoneName,
    WikiName,
    _Builder,
    parse_event,
    read_yaml,
)
from bot.delivery import CampaignReport
from bot.escape import inert, inert_target, user_link
from bot.models import Failed, Outcome, Participant, Problem, ProblemKind, SignUp, SignUpKind, Status
from bot.participants import Compiled, compile_participants
from bot.store import Store
from bot.usernames import InvalidUsername
from bot.wiki import Farm, PageText

__all__ = [
    "REPORT_SECTION",
    "Month",
    "MonthAttendance",
    "SeriesAttendance",
    "SeriesCampaign",
    "SeriesConfig",
    "SeriesRun",
    "announce_name",
    "attendance",
    "creation_time",
    "event_for_month",
    "fill_preload",
    "load_series",
    "months",
    "parse_series",
    "reminder_name",
    "run_series",
    "series_report_wikitext",
    "workshop_start",
]

log = logging.getLogger(__name__)

#: The bot-owned section of the report page that holds the series report.
REPORT_SECTION = "series"
#: Statuses that count as "registered" for a month (everyone who signed up and did not withdraw).
_ATTENDED = Status.ATTENDED
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
_PATTERN_FIELD = re.compile(r"\{([^{}:!]*)[^{}]*\}")


# --- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesCampaign:
    """A message sent once per month: `when` is relative to that month's workshop day."""

    when: str
    message: str
    title: str
    enabled: bool = True
    languages: list[str] | None = None


@dataclass(frozen=True)
class SeriesConfig:
    """A recurring (monthly) workshop. See the module docstring and README, "Workshop series".

    `page_pattern` names each month's page with `{year}` and `{month}` (format specs allowed:
    `{month:02}`). Either `months` (a count) or `last_month` (YYYY-MM) ends the series.
    `sections` maps headings of the month page to statuses (sign-ups are read as signed list
    items, plus the `template` when one is given).
    """

    id: str
    title: str
    page_pattern: str
    preload: str
    subscribers: str
    report: str
    first_month: str
    day_of_month: int
    timezone: TimezoneName
    wiki: WikiName = WikiName("metawiki")  # noqa: RUF009  # NewType: a plain str at runtime
    wikis: list[WikiName] = field(default_factory=list)
    time: str = "16:00"
    months: int | None = None
    last_month: str | None = None
    create_days_before: int = 28
    sections: dict[str, Status] = field(
        default_factory=lambda: {"Participants": Status.REGISTERED, "Attended": Status.ATTENDED})
    template: TemplateConfig | None = None
    announcement: SeriesCampaign | None = None
    reminder: SeriesCampaign | None = None
    optout: str | None = None
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not _ID.match(self.id) or len(self.id) > 40:
            problems.append(f"id: expected a short slug of a-z, 0-9 and single '-' (at most 40 "
                            f"characters) such as 'swt-workshops', got {self.id!r}")
        if not 1 <= self.day_of_month <= 31:
            problems.append(f"day_of_month: expected 1 to 31, got {self.day_of_month}")
        if not _month_ok(self.first_month):
            problems.append(f"first_month: expected a month written YYYY-MM, got {self.first_month!r}")
        if (self.months is None) == (self.last_month is None):
            problems.append("expected exactly one of 'months' (a count) or 'last_month' (YYYY-MM)")
        if self.months is not None and not 1 <= self.months <= 120:
            problems.append(f"months: expected 1 to 120, got {self.months}")
        if self.last_month is not None:
            if not _month_ok(self.last_month):
                problems.append(f"last_month: expected a month written YYYY-MM, got {self.last_month!r}")
            elif _month_ok(self.first_month) and self.last_month < self.first_month:
                problems.append(f"last_month: {self.last_month} is before first_month {self.first_month}")
        if _parse_hhmm(self.time) is None:
            problems.append(f"time: expected HH:MM (00:00 to 23:59), got {self.time!r}")
        if self.create_days_before < 0:
            problems.append(f"create_days_before: expected 0 or more, got {self.create_days_before}")
        names = {m.group(1) for m in _PATTERN_FIELD.finditer(self.page_pattern)}
        if "month" not in names or "year" not in names or names - {"year", "month"}:
            problems.append("page_pattern: expected {year} and {month} (and no other placeholder), as "
                            f"in 'Small wiki toolkits/Workshops/{{year}}-{{month:02}}', "
                            f"got {self.page_pattern!r}")
        else:
            try:
                self.page_pattern.format(year=2026, month=1)
            except (ValueError, IndexError, KeyError) as exc:
                problems.append(f"page_pattern: cannot be filled in: {exc}")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def starts_at(self) -> _dt.time:
        parsed = _parse_hhmm(self.time)
        assert parsed is not None  # validated in __post_init__
        return parsed


def _month_ok(text: str) -> bool:
    match = _MONTH.match(text)
    return match is not None and 1 <= int(match.group(2)) <= 12


def _parse_hhmm(text: str) -> time | None:
    match = _HHMM.match(text)
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        return None
    return time(int(match.group(1)), int(match.group(2)))


def parse_series(data: Any, source: str, default_id: str | None = None) -> SeriesConfig:
    """Validate an already-parsed mapping as a series; `ConfigError` lists every problem.

    The month events are built as well, so a campaign or registration problem is reported
    here (once, for the first month) rather than at the first run.
    """
    builder = _Builder()
    if isinstance(data, Mapping) and "id" not in data and default_id:
        data = {**data, "id": default_id}
    series = builder.build(SeriesConfig, data, "", None)
    if builder.issues:
        raise ConfigError(source, builder.issues)
    assert isinstance(series, SeriesConfig)
    first = months(series)[0]
    try:
        event_for_month(series, first)
    except ConfigError as exc:
        raise ConfigError(source, [ConfigIssue(f"(month {first.key}) {i.path}".strip(), i.message)
                                   for i in exc.issues]) from exc
    return series


def load_series(path: str | Path) -> SeriesConfig:
    """Read and validate a series file (errors name the file, the line and the key)."""
    return parse_series(read_yaml(path), str(path), default_id=Path(path).stem)


# --- months ---------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Month:
    """One workshop of the series: its month, its day and its page."""

    year: int
    month: int
    date: date
    page_title: str

    @property
    def key(self) -> str:
        """`YYYY-MM`, used in campaign names and report rows."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{calendar.month_name[self.month]} {self.year}"


def months(series: SeriesConfig) -> list[Month]:
    """Every month of the series, in order. A `day_of_month` past a month's end (31 in
    April) means that month's last day."""
    year, month = int(series.first_month[:4]), int(series.first_month[5:])
    if series.months is not None:
        count = series.months
    else:
        assert series.last_month is not None
        count = (int(series.last_month[:4]) - year) * 12 + int(series.last_month[5:]) - month + 1
    out: list[Month] = []
    for _ in range(count):
        day = min(series.day_of_month, calendar.monthrange(year, month)[1])
        out.append(Month(year, month, date(year, month, day),
                         series.page_pattern.format(year=year, month=month)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def workshop_start(series: SeriesConfig, month: Month) -> datetime:
    """The moment the month's workshop begins, aware, in the series' timezone."""
    return datetime.combine(month.date, series.starts_at, series.tz)


def creation_time(series: SeriesConfig, month: Month) -> datetime:
    """When the month's page is created: `create_days_before` days before the workshop, 00:00."""
    return datetime.combine(month.date - timedelta(days=series.create_days_before), time(0), series.tz)


def announce_name(series: SeriesConfig, month: Month) -> str:
    """The month's announcement campaign, `SERIES-announce-YYYY-MM`: unique across series, since
    talk-page markers are per campaign name."""
    return f"{series.id}-announce-{month.key}"


def reminder_name(series: SeriesConfig, month: Month) -> str:
    """The month's reminder campaign, `SERIES-reminder-YYYY-MM`."""
    return f"{series.id}-reminder-{month.key}"


def event_for_month(series: SeriesConfig, month: Month) -> EventConfig:
    """The month's workshop as an ordinary one-day event, validated by `parse_event`.

    Its registration source is the month page; its campaigns are the month's announcement and
    reminder (`announce-YYYY-MM`, `reminder-YYYY-MM`); delivery logs go to the report page.
    """
    source: dict[str, Any] = {"page": month.page_title,
                              "sections": {h: s.value for h, s in series.sections.items()}}
    if series.template is not None:
        source["formats"] = ["signatures", "template"]
        source["template"] = {"name": series.template.name, "aliases": list(series.template.aliases),
                              "fields": dict(series.template.fields)}
    params = {"page": month.page_title, "date": month.date.isoformat(), "time": series.time,
              "month": month.label}
    campaigns: list[dict[str, Any]] = []
    for name, spec, statuses in (
        (announce_name(series, month), series.announcement, ["registered"]),
        (reminder_name(series, month), series.reminder, ["registered", "selected", "waitlisted"]),
    ):
        if spec is None:
            continue
        campaign: dict[str, Any] = {"name": name, "when": spec.when, "message": spec.message,
                                    "title": spec.title, "enabled": spec.enabled, "params": params,
                                    "audience": {"statuses": statuses}}
        if spec.languages is not None:
            campaign["languages"] = list(spec.languages)
        campaigns.append(campaign)
    pages: dict[str, Any] = {"event": month.page_title, "participants": month.page_title,
                             "report": series.report, "delivery_log": series.report}
    if series.optout:
        pages["optout"] = series.optout
    data = {
        "id": f"{series.id}-{month.key}",
        "title": f"{series.title}: {month.label}",
        "start": month.date.isoformat(),
        "end": month.date.isoformat(),
        "timezone": series.timezone,
        "wiki": series.wiki,
        "wikis": list(series.wikis),
        "pages": pages,
        "registration": [source],
        "campaigns": campaigns,
        "delivery": {"edits_per_minute": series.delivery.edits_per_minute,
                     "run_page": series.delivery.run_page, "stop_file": series.delivery.stop_file,
                     "massmessage": series.delivery.massmessage},
    }
    return parse_event(data, f"{series.id} ({month.key})")


def fill_preload(series: SeriesConfig, month: Month, text: str) -> str:
    """The preload text with the month's placeholders filled (plain substitution)."""
    values = {
        "year": str(month.year), "month": f"{month.month:02d}",
        "month_name": calendar.month_name[month.month],
        "date": month.date.isoformat(), "time": series.time, "timezone": series.timezone,
        "title": month.page_title, "series": series.title,
    }
    for name, value in values.items():
        text = text.replace("{{{" + name + "}}}", value)
    return text


# --- attendance (pure) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthAttendance:
    """One month's figures. `new` attended for the first time in the series; `returning` had
    attended an earlier month; `change` is attended minus the previous month's (None first)."""

    month: Month
    registered: int
    attended: tuple[str, ...]
    new: tuple[str, ...]
    returning: tuple[str, ...]
    change: int | None


@dataclass(frozen=True)
class SeriesAttendance:
    """Attendance across the series. `repeat` attended two or more months; `communities` maps
    each community (the sign-up's community field, else the home wiki) to its attendees."""

    months: tuple[MonthAttendance, ...]
    attendees: Mapping[str, tuple[Month, ...]]
    repeat: tuple[str, ...]
    communities: Mapping[str, tuple[str, ...]]
    community_of: Mapping[str, str | None]

    @property
    def unique(self) -> int:
        return len(self.attendees)


def community(person: Participant) -> str | None:
    """A participant's community: the `community` field when given, else the home wiki."""
    value = (person.fields.get("community") or "").strip()
    return value or person.home_wiki or None


def attendance(compiled_by_month: Mapping[Month, Compiled]) -> SeriesAttendance:
    """Attendance across the series from each month's compiled sign-ups (months in order).

    Registered: everyone active on the month page. Attended: active participants signed in an
    `attended` section. Names are the compiled (normalised) usernames.
    """
    seen: dict[str, list[Month]] = {}
    community_of: dict[str, str | None] = {}
    rows: list[MonthAttendance] = []
    previous: int | None = None
    for month in sorted(compiled_by_month):
        people = [p for p in compiled_by_month[month].participants if p.active]
        came = [p for p in people if _ATTENDED in p.statuses]
        names = tuple(p.username for p in came)
        new = tuple(n for n in names if n not in seen)
        returning = tuple(n for n in names if n in seen)
        for person in came:
            seen.setdefault(person.username, []).append(month)
            found = community(person)
            if found or person.username not in community_of:
                community_of[person.username] = found or community_of.get(person.username)
        rows.append(MonthAttendance(month, len(people), names, new, returning,
                                    None if previous is None else len(names) - previous))
        previous = len(names)
    communities: dict[str, list[str]] = {}
    for name in seen:
        found = community_of.get(name)
        if found:
            communities.setdefault(found, []).append(name)
    return SeriesAttendance(
        months=tuple(rows),
        attendees={name: tuple(ms) for name, ms in seen.items()},
        repeat=tuple(name for name, ms in seen.items() if len(ms) >= 2),
        communities={c: tuple(sorted(ns, key=str.casefold))
                     for c, ns in sorted(communities.items(), key=lambda kv: kv[0].casefold())},
        community_of=community_of,
    )


def _signed(change: int | None) -> str:
    if change is None:
        return "—"
    return f"+{change}" if change > 0 else ("±0" if change == 0 else f"−{-change}")


def _user(name: str) -> str:
    try:
        return user_link(name)
    except (InvalidUsername, ValueError):
        return inert(name)


def series_report_wikitext(series: SeriesConfig, result: SeriesAttendance, now: datetime) -> str:
    """The series report section: totals, month by month, attendees and communities.

    Every participant-supplied string (names, communities) goes through `bot.escape`.
    """
    local = now.astimezone(series.tz)
    lines = [
        f"'''{inert(series.title)}''': {result.unique} unique attendee{'s' if result.unique != 1 else ''}, "
        f"{len(result.repeat)} repeat attendee{'s' if len(result.repeat) != 1 else ''} "
        f"(two or more workshops), {len(result.communities)} "
        f"communit{'ies' if len(result.communities) != 1 else 'y'} reached.",
        "",
        '{| class="wikitable sortable"',
        "! Month !! Workshop !! Registered !! Attended !! Change !! New !! Returning",
    ]
    for row in result.months:
        lines += ["|-", f"| data-sort-value=\"{row.month.key}\" | {row.month.label} "
                        f"|| [[{inert_target(row.month.page_title)}|{row.month.date.isoformat()}]] "
                        f"|| {row.registered} || {len(row.attended)} || {_signed(row.change)} "
                        f"|| {len(row.new)} || {len(row.returning)}"]
    lines += ["|}", "", '{| class="wikitable sortable"', "! Attendee !! Community !! Workshops !! Months"]
    for name, attended in sorted(result.attendees.items(), key=lambda kv: (-len(kv[1]), kv[0].casefold())):
        found = result.community_of.get(name)
        lines += ["|-", f"| {_user(name)} || {inert(found) if found else '—'} || {len(attended)} "
                        f"|| {', '.join(m.key for m in attended)}"]
    lines += ["|}", "", '{| class="wikitable sortable"', "! Community !! Attendees"]
    for name, people in result.communities.items():
        lines += ["|-", f"| {inert(name)} || {len(people)}"]
    lines += ["|}", sections.stamp(f"Last updated by eventbot: {local.day} {local:%B %Y, %H:%M} "
                                   f"({series.timezone}).")]
    return "\n".join(lines)


# --- the edge -------------------------------------------------------------------------------------


@dataclass
class SeriesRun:
    """What one run of the series job did."""

    created: dict[str, Outcome] = field(default_factory=dict)  # page title → outcome
    compiled: dict[Month, Compiled] = field(default_factory=dict)
    followups: list[CampaignReport] = field(default_factory=list)
    attendance: SeriesAttendance | None = None
    report: Outcome | None = None
    problems: list[Problem] = field(default_factory=list)


def run_series(series: SeriesConfig, farm: Farm, store: Store | None, now: datetime, *,
               create: bool = True, send: bool = True, write: bool = True) -> SeriesRun:
    """Do what is due at `now`: create month pages, send announcements and reminders (with a
    store), and write the series report. Safe to run as often as wanted."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"'now' must carry a timezone, got {now.isoformat()}")
    run = SeriesRun()
    all_months = months(series)
    pages = farm.read_pages(series.wiki, [m.page_title for m in all_months])
    existing = {m for m in all_months if pages.get(m.page_title) and pages[m.page_title].exists}
    due = [m for m in all_months if m not in existing and creation_time(series, m) <= now]
    if create and due:
        existing |= _create_pages(series, due, farm, run)
    subscribers: Compiled | None = None
    for month in all_months:
        if month not in existing:
            continue
        event = event_for_month(series, month)
        compiled, _ = pipeline.compile_event(event, farm)
        run.compiled[month] = compiled
        if not send or store is None or now >= workshop_start(series, month):
            continue
        for campaign in event.campaigns:
            if not _is_due(campaign, event, now):
                continue
            audience = compiled
            if campaign.name == announce_name(series, month):
                if subscribers is None:
                    subscribers = _subscribers(series, event, farm)
                audience = subscribers
            run.followups += pipeline.run_followups(event, audience, farm, store, now, only=campaign.name)
    run.attendance = attendance(run.compiled)
    if write:
        run.report = farm.write_section(
            series.wiki, series.report, REPORT_SECTION, series_report_wikitext(series, run.attendance, now),
            f"eventbot: attendance of {series.title} ({run.attendance.unique} unique attendees)")
    return run


def _is_due(campaign: CampaignConfig, event: EventConfig, now: datetime) -> bool:
    from bot.campaigns import is_due

    return is_due(campaign, event, now)


def _create_pages(series: SeriesConfig, due: Sequence[Month], farm: Farm, run: SeriesRun) -> set[Month]:
    """Create the due month pages from the preload; returns the months whose page now exists."""
    preload = farm.read_page(series.wiki, series.preload)
    if not preload.exists:
        run.problems.append(Problem(ProblemKind.SOURCE_ERROR, source=series.preload,
                                    message=f"the preload page [[{series.preload}]] does not exist on "
                                            f"{series.wiki}; no month page was created"))
        log.warning("preload page %s is missing; no month page created", series.preload)
        return set()
    made: set[Month] = set()
    for month in due:
        text = fill_preload(series, month, preload.text)
        outcome = farm.edit(series.wiki, month.page_title, text,
                            f"eventbot: {series.title}, {month.label} (from [[{series.preload}]])",
                            base=PageText(wiki=series.wiki, title=month.page_title, exists=False))
        run.created[month.page_title] = outcome
        if isinstance(outcome, Failed) and outcome.code != "articleexists":
            log.warning("could not create %s: %s", month.page_title, outcome.error)
            continue
        made.add(month)
    return made


def _subscribers(series: SeriesConfig, event: EventConfig, farm: Farm) -> Compiled:
    """The users linked from the subscribers page, as registered participants, checked against
    the wiki (so blocked or missing accounts are skipped like any participant)."""
    names = sorted(farm.linked_users(series.wiki, series.subscribers), key=str.casefold)
    found = [SignUp(username=name, source=series.subscribers, line=0, raw=f"[[User:{name}]]",
                    kind=SignUpKind.SIGNATURE, status=Status.REGISTERED) for name in names]
    return pipeline.validate(compile_participants(found), event, farm)
