"""Eligibility screening of applications: rules from configuration, checked per applicant.

    applicants (compile_event) ─▶ edits per wiki (batched usercontribs) ─▶ screen (pure) ─▶ table

`screen` is pure: it takes what the wiki said about one applicant (`ApplicantCounts`: the
account and a compact list of their edits before the latest cut-off), their alumni history and
the rules, and returns a `Verdict` with every check (rule, required, found, passed). The edge
(`screen_applicants`) fetches the edits with `Farm.contributions`, one request per batch of
users per wiki, and `screening_wikitext` / `screening_csv` render the verdicts for the
selection committee.

Rules (the `screening:` key of a programme file, or a file of their own):

    screening:
      min_edits:
        - {namespaces: [0], count: 600, before: 2026-05-01}          # main namespace
        - {namespaces: [4, 5], count: 100, before: 2026-05-01, label: project edits}
      min_active_days: [{days: 30, before: 2026-05-01}]
      min_account_age: {days: 365, as_of: 2026-05-01}
      not_alumni_of: {events: [ttt-2023, ttt-2024]}                 # attended (by default)

Dates are days in the event's timezone: `before: 2026-05-01` counts edits up to midnight at
the start of 1 May there. Edits are counted on `wikis` (default: every wiki of the event).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import Path
from typing import Any, NamedTuple

from bot import escape
from bot.alumni import LoadedProgramme, PersonHistory, unknown_events
from bot.config import (
    ConfigError,
    ConfigIssue,
    EventConfig,
    WikiName,
    _Builder,
    read_yaml,
)
from bot.models import Participant, PastEvents, UserInfo

__all__ = [
    "ApplicantCounts",
    "Check",
    "Edit",
    "MinAccountAge",
    "MinActiveDays",
    "MinEdits",
    "NotAlumni",
    "ScreeningRules",
    "Verdict",
    "check_programme",
    "load_rules",
    "parse_rules",
    "screen",
    "screen_applicants",
    "screening_csv",
    "screening_wikitext",
]

log = logging.getLogger(__name__)

#: The section the screening table is written to.
SECTION = "screening"
#: The earliest edit counted: before any Wikimedia wiki existed. Account registration is not a
#: safe lower bound: very old accounts have none, and imported edits can predate it.
EPOCH = datetime(2001, 1, 1, tzinfo=UTC)

_NAMESPACE_NAMES = {0: "main", 1: "talk", 2: "user", 3: "user talk", 4: "project", 5: "project talk",
                    6: "file", 10: "template", 14: "category"}


# --- rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MinEdits:
    """At least `count` edits in `namespaces` (all when empty) before the day `before`."""

    count: int
    before: date
    namespaces: list[int] = field(default_factory=list)
    wikis: list[WikiName] = field(default_factory=list)
    label: str | None = None

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError(f"count: expected 0 or more, got {self.count}")

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        if not self.namespaces:
            return f"edits before {self.before}"
        spaces = "/".join(_NAMESPACE_NAMES.get(n, f"namespace {n}") for n in self.namespaces)
        return f"{spaces} edits before {self.before}"


@dataclass(frozen=True)
class MinActiveDays:
    """Edits on at least `days` different days (in the event's timezone) before `before`."""

    days: int
    before: date
    namespaces: list[int] = field(default_factory=list)
    wikis: list[WikiName] = field(default_factory=list)
    label: str | None = None

    @property
    def name(self) -> str:
        return self.label or f"active days before {self.before}"


@dataclass(frozen=True)
class MinAccountAge:
    """The account was registered at least `days` days before the day `as_of`."""

    days: int
    as_of: date

    @property
    def name(self) -> str:
        return f"account age on {self.as_of}"


@dataclass(frozen=True)
class NotAlumni(PastEvents):
    """Not a participant of these earlier iterations (with one of `statuses`)."""

    @property
    def name(self) -> str:
        return "earlier iterations"


@dataclass(frozen=True)
class ScreeningRules:
    """Every rule an applicant must pass. Blocked accounts fail unless `allow_blocked`."""

    min_edits: list[MinEdits] = field(default_factory=list)
    min_active_days: list[MinActiveDays] = field(default_factory=list)
    min_account_age: MinAccountAge | None = None
    not_alumni_of: NotAlumni | None = None
    allow_blocked: bool = False

    @property
    def edit_rules(self) -> list[MinEdits | MinActiveDays]:
        return [*self.min_edits, *self.min_active_days]


def parse_rules(data: Any, source: str) -> ScreeningRules:
    """Validate parsed rules; errors name the source, line and key (`min_edits[0].count`)."""
    builder = _Builder()
    rules = builder.build(ScreeningRules, data, "", getattr(data, "line", None))
    if builder.issues:
        raise ConfigError(source, builder.issues)
    assert isinstance(rules, ScreeningRules)
    return rules


def check_programme(rules: ScreeningRules, programme: LoadedProgramme | None, source: str) -> None:
    """Raise `ConfigError` (naming `source`, the rules' file) when `not_alumni_of` names
    earlier iterations but there is no programme, or ids the programme does not have: a typo
    would otherwise let every alumnus pass."""
    if rules.not_alumni_of is None:
        return
    if programme is None:
        raise ConfigError(source, [ConfigIssue(
            "not_alumni_of", "names earlier iterations, but no programme lists them: give "
                             "--programme or set 'programme:' in the event file")])
    missing = unknown_events(programme, rules.not_alumni_of.events)
    if missing:
        raise ConfigError(source, [ConfigIssue(
            "not_alumni_of.events", f"{', '.join(missing)}: not an event of the programme "
            f"{programme.config.id!r}; its events are {', '.join(e.id for e in programme.events)}")])


def load_rules(path: str | Path) -> ScreeningRules:
    """Rules from a YAML file: its `screening:` key when it has one (a programme file), else the
    whole file."""
    path = Path(path)
    source = str(path)
    data = read_yaml(path)
    if isinstance(data, Mapping) and "screening" in data:
        data = data["screening"]
    return parse_rules(data, source)


# --- the pure core ---------------------------------------------------------------------------


class Edit(NamedTuple):
    """What screening needs of one edit."""

    wiki: str
    namespace: int
    timestamp: datetime


@dataclass(frozen=True)
class ApplicantCounts:
    """What the wiki said about one applicant: the account (None: not looked up) and every edit
    on the screened wikis before the latest cut-off."""

    username: str
    user: UserInfo | None
    edits: tuple[Edit, ...] = ()


@dataclass(frozen=True)
class Check:
    """One rule applied to one applicant."""

    rule: str
    required: str
    found: str
    passed: bool

    def reason(self) -> str:
        return f"{self.rule}: {self.found} (needs {self.required})"


@dataclass(frozen=True)
class Verdict:
    """Whether an applicant is eligible, with every check; `reasons` are the failed ones."""

    username: str
    eligible: bool
    checks: tuple[Check, ...]
    history: str = ""

    @property
    def reasons(self) -> list[str]:
        return [c.reason() for c in self.checks if not c.passed]

    @property
    def counts(self) -> dict[str, str]:
        return {c.rule: c.found for c in self.checks}


def cutoff(day: date, tz: tzinfo) -> datetime:
    """The first moment of `day` in `tz`: edits strictly before it count."""
    return datetime.combine(day, time(0), tz)


def screen(applicant: ApplicantCounts, rules: ScreeningRules, tz: tzinfo, *,
           history: PersonHistory | None = None, default_wikis: Sequence[str] = ()) -> Verdict:
    """Check one applicant against every rule (pure).

    An account that does not exist fails with "account not found" and is checked no further.
    `default_wikis` are counted for rules without `wikis`.
    """
    user = applicant.user
    if user is None or not user.exists:
        found = "IP address or temporary account" if user is not None and (user.is_ip or user.is_temp) \
            else "not found"
        check = Check("account", "an existing account", found, False)
        return Verdict(applicant.username, False, (check,), _describe(history))
    checks: list[Check] = []
    if user.blocked and not rules.allow_blocked:
        checks.append(Check("account", "not blocked", "blocked", False))
    for rule in rules.edit_rules:
        wikis = set(rule.wikis or default_wikis)
        end = cutoff(rule.before, tz)
        edits = [e for e in applicant.edits
                 if e.timestamp < end and (not wikis or e.wiki in wikis)
                 and (not rule.namespaces or e.namespace in rule.namespaces)]
        if isinstance(rule, MinEdits):
            checks.append(Check(rule.name, str(rule.count), str(len(edits)), len(edits) >= rule.count))
        else:
            days = len({e.timestamp.astimezone(tz).date() for e in edits})
            checks.append(Check(rule.name, str(rule.days), str(days), days >= rule.days))
    if rules.min_account_age is not None:
        age_rule = rules.min_account_age
        if user.registration is None:
            checks.append(Check(age_rule.name, f"{age_rule.days} days", "unknown", False))
        else:
            age = (cutoff(age_rule.as_of, tz) - user.registration).days
            checks.append(Check(age_rule.name, f"{age_rule.days} days", f"{max(age, 0)} days",
                                age >= age_rule.days))
    if rules.not_alumni_of is not None:
        alumni = rules.not_alumni_of
        earlier = history.took_part(alumni.statuses, alumni.events) if history is not None else []
        statuses = "/".join(s.value for s in alumni.statuses)
        checks.append(Check(alumni.name, f"not {statuses} in {', '.join(alumni.events)}",
                            f"{statuses} in {', '.join(earlier)}" if earlier else "none", not earlier))
    return Verdict(applicant.username, all(c.passed for c in checks), tuple(checks), _describe(history))


def _describe(history: PersonHistory | None) -> str:
    return history.describe() if history is not None else ""


def rule_names(rules: ScreeningRules) -> list[str]:
    """The column names of a screening table, in rule order."""
    names = [r.name for r in rules.edit_rules]
    if rules.min_account_age is not None:
        names.append(rules.min_account_age.name)
    if rules.not_alumni_of is not None:
        names.append(rules.not_alumni_of.name)
    return names


# --- rendering --------------------------------------------------------------------------------


def screening_wikitext(verdicts: Sequence[Verdict], rules: ScreeningRules, *,
                       with_history: bool = True) -> str:
    """A sortable wikitable for the selection committee: applicant, eligible, one column per
    rule (what was found; failing values in bold), history and why not. Every value is escaped."""
    columns = rule_names(rules)
    eligible = sum(1 for v in verdicts if v.eligible)
    lines = [f"{len(verdicts)} applicant{'s' if len(verdicts) != 1 else ''} screened, {eligible} eligible.",
             "", '{| class="wikitable sortable"', "! Applicant !! Eligible"]
    lines[-1] += "".join(f" !! {escape.inert(name)}" for name in columns)
    lines[-1] += (" !! History" if with_history else "") + " !! Why not"
    for verdict in verdicts:
        by_rule = {c.rule: c for c in verdict.checks}
        cells = [_user(verdict.username), "yes" if verdict.eligible else "no"]
        for name in columns:
            check = by_rule.get(name)
            if check is None:
                cells.append("–")
            else:
                text = escape.inert(check.found)
                cells.append(text if check.passed else f"'''{text}'''")
        if with_history:
            cells.append(escape.inert(verdict.history))
        cells.append(escape.inert("; ".join(verdict.reasons)))
        lines += ["|-", "| " + " || ".join(cells)]
    lines.append("|}")
    return "\n".join(lines) + "\n"


def screening_csv(verdicts: Sequence[Verdict], rules: ScreeningRules) -> str:
    """The same table as CSV (unescaped), for the committee's spreadsheet."""
    columns = rule_names(rules)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["username", "eligible", *columns, "history", "why not"])
    for verdict in verdicts:
        by_rule = {c.rule: c.found for c in verdict.checks}
        writer.writerow([verdict.username, "yes" if verdict.eligible else "no",
                         *(by_rule.get(name, "") for name in columns), verdict.history,
                         "; ".join(verdict.reasons)])
    return out.getvalue()


def _user(username: str) -> str:
    try:
        return escape.user_link(username)
    except ValueError:  # not a valid username: shown as text
        return escape.inert(username)


# --- the edge ---------------------------------------------------------------------------------


def edit_counts(participants: Sequence[Participant], rules: ScreeningRules, event: EventConfig,
                farm: Any) -> list[ApplicantCounts]:
    """Each participant's edits before the latest cut-off on every screened wiki, fetched with
    batched `list=usercontribs` (one request per batch of users per wiki, plus continuations)."""
    existing = [p.username for p in participants if p.user is not None and p.user.exists]
    edits: dict[str, list[Edit]] = {p.username: [] for p in participants}
    rules_ = rules.edit_rules
    if existing and rules_:
        end = max(cutoff(r.before, event.tz) for r in rules_)
        wikis = dict.fromkeys(w for r in rules_ for w in (r.wikis or event.all_wikis))
        for wiki in wikis:
            for contribution in farm.contributions(wiki, existing, EPOCH, end):
                if contribution.user in edits:
                    edits[contribution.user].append(
                        Edit(contribution.wiki, contribution.namespace, contribution.timestamp))
            log.info("screening: edits of %d applicants read from %s", len(existing), wiki)
    return [ApplicantCounts(p.username, p.user, tuple(edits[p.username])) for p in participants]


def screen_applicants(event: EventConfig, farm: Any, rules: ScreeningRules, *,
                      history: Mapping[str, PersonHistory] | None = None,
                      participants: Sequence[Participant] | None = None) -> list[Verdict]:
    """Screen every applicant of `event` (withdrawn sign-ups left out), in list order.

    The applicants are compiled from the event's registration pages unless `participants`
    (already validated) are given; `history` is the alumni history (`alumni.load_history`).
    """
    if participants is None:
        from bot import pipeline

        compiled, _ = pipeline.compile_event(event, farm)
        participants = compiled.participants
    applicants = [p for p in participants if p.active]
    verdicts = [screen(counts, rules, event.tz, history=(history or {}).get(counts.username),
                       default_wikis=event.all_wikis)
                for counts in edit_counts(applicants, rules, event, farm)]
    log.info("screened %d applicants of %s: %d eligible", len(verdicts), event.id,
             sum(1 for v in verdicts if v.eligible))
    return verdicts


def write_screening(event: EventConfig, farm: Any, page: str, verdicts: Sequence[Verdict],
                    rules: ScreeningRules) -> Any:
    """Write the table to the bot-owned `screening` section of `page` on the event's wiki.
    Returns the `Outcome` (`Unchanged` when the section already says the same)."""
    eligible = sum(1 for v in verdicts if v.eligible)
    return farm.write_section(event.wiki, page, SECTION, screening_wikitext(verdicts, rules),
                              f"eventbot: eligibility screening of {event.title} "
                              f"({eligible} of {len(verdicts)} eligible)")
