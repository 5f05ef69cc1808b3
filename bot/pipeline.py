"""The main job, as a sequence of small steps over plain data, with the wiki at the edges.

    read registration pages  ─▶ parse (pure) ─▶ compile (pure) ─▶ validate accounts (batched)
                                                                  └▶ participants + report sections

Each step is a function a test or another command (stats, follow-ups) can call on its own.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot import (
    alumni,
    campaignevents,
    campaigns,
    collect,
    delivery,
    exports,
    participants,
    reports,
    sections,
    signups,
    stats,
)
from bot.alumni import PersonHistory
from bot.config import EventConfig, RegistrationSource
from bot.models import Contribution, Failed, Outcome, Problem, ProblemKind, SignUp, Upload
from bot.participants import Compiled
from bot.store import Store
from bot.wiki import Farm, WikiRequestError

__all__ = [
    "EventRun",
    "StatsRun",
    "alumni_history",
    "compile_event",
    "event_stats",
    "gather_signups",
    "run_event",
    "run_followups",
    "uploads_of",
    "validate",
]

log = logging.getLogger(__name__)

PARTICIPANTS_SECTION = "participants"
REPORT_SECTION = "summary"


@dataclass
class EventRun:
    """What one run of the main job found and did."""

    event: EventConfig
    compiled: Compiled
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    pages_read: int = 0
    stats: stats.EventStats | None = None
    cost: collect.CollectReport | None = None
    followups: list[delivery.CampaignReport] = field(default_factory=list)


def delivery_summary(event: EventConfig, store: Store | None) -> list[tuple[str, int, int, int]]:
    """(campaign, sent, skipped, failed) for every campaign with ledger entries."""
    if store is None:
        return []
    rows = []
    for campaign in event.campaigns:
        states = [d.state for d in store.deliveries(delivery.ledger_key(event, campaign)).values()]
        if states:
            rows.append((campaign.name, states.count("posted"), states.count("skipped"),
                         states.count("failed") + states.count("intent")))
    return rows


def gather_signups(event: EventConfig, farm: Farm) -> tuple[list[SignUp], list[Problem], int]:
    """Read every registration source and parse it. Returns sign-ups, problems, pages read.

    Pages are read in one batch per wiki. A source that cannot be read becomes a problem for
    the organisers; it never stops the other sources.
    """
    found: list[SignUp] = []
    problems: list[Problem] = []
    by_wiki: dict[str, list[RegistrationSource]] = defaultdict(list)
    for source in event.registration:
        by_wiki[source.wiki or event.wiki].append(source)
    pages_read = 0
    for wiki, wiki_sources in by_wiki.items():
        titles: list[str] = []
        for source in wiki_sources:
            if source.page:
                titles.append(source.page)
            elif source.prefix:
                titles.extend(farm.prefix_titles(wiki, source.prefix))
        texts = farm.read_pages(wiki, titles) if titles else {}
        pages_read += len(texts)
        for source in wiki_sources:
            if source.campaignevents is not None:
                try:
                    items = farm.campaignevents_participants(wiki, source.campaignevents)
                except WikiRequestError as exc:
                    problems.append(Problem(ProblemKind.SOURCE_ERROR, source=source.label,
                                            message=f"could not read the CampaignEvents registration: {exc}"))
                    continue
                ce_signups, ce_problems = campaignevents.to_signups(items, source.campaignevents)
                found.extend(ce_signups)
                problems.extend(ce_problems)
                continue
            wanted = [source.page] if source.page else [
                t for t in texts if source.prefix and t.startswith(source.prefix + "/")]
            for title in wanted:
                page = texts.get(title)
                if page is None or not page.exists:
                    problems.append(Problem(
                        ProblemKind.SOURCE_ERROR, source=title,
                        message=f"the registration page [[{title}]] does not exist on {wiki}"))
                    continue
                parse = signups.parse_page if source.page else signups.parse_application
                result = parse(page.text, source=page.title, wiki=wiki, config=source)
                found.extend(result.signups)
                problems.extend(result.problems)
    return found, problems, pages_read


def validate(compiled: Compiled, event: EventConfig, farm: Farm) -> Compiled:
    """Check every account against the wiki, in batches: each participant on their home wiki
    when the sign-up named one the event covers, otherwise on the event's wiki."""
    by_wiki: dict[str, list[str]] = defaultdict(list)
    covered = set(event.all_wikis)
    for person in compiled.participants:
        wiki = person.home_wiki if person.home_wiki in covered else event.wiki
        by_wiki[wiki].append(person.username)
    infos = {}
    for wiki, names in by_wiki.items():
        infos.update(farm.users(wiki, names))
    return participants.apply_user_info(compiled, infos)


def compile_event(event: EventConfig, farm: Farm) -> tuple[Compiled, int]:
    """Sign-ups from every source, merged into participants and validated against the wiki."""
    found, problems, pages_read = gather_signups(event, farm)
    compiled = participants.compile_participants(found, problems)
    return validate(compiled, event, farm), pages_read


def run_event(event: EventConfig, farm: Farm, now: datetime, *, store: Store | None = None,
              write: bool = True, followups: bool = False) -> EventRun:
    """The main job: compile the participant list, bring the statistics up to date (when a
    store is given), send the follow-ups that are due (with `followups`), and write the list
    and the report to the wiki. Follow-ups go first so the report counts what they did."""
    compiled, pages_read = compile_event(event, farm)
    run = EventRun(event=event, compiled=compiled, pages_read=pages_read)
    contribs: list[Contribution] = []
    if store is not None:
        contribs, run.cost = collect.collect(event, compiled.participants, farm, store, now)
        run.stats = stats.compute(event, compiled.participants, contribs, uploads_of(contribs), now)
    if followups and store is not None:
        run.followups = run_followups(event, compiled, farm, store, now, preview=farm.simulate)
    if not write:
        return run
    chart_files: list[tuple[str, str]] = []
    if event.report.charts and run.stats is not None:
        chart_files = upload_charts(event, compiled, run.stats, contribs, farm, run)
    history = alumni_history(event, farm, compiled)
    label = reports.stamp_label(event, now)
    body = exports.to_wikitext(compiled, now_label=label, history=history) + "\n" + sections.stamp(label)
    run.outcomes["participants"] = farm.write_section(
        event.wiki, event.pages.participants, PARTICIPANTS_SECTION, body,
        f"eventbot: participant list of {event.title} ({_count(compiled)})",
    )
    run.outcomes["report"] = farm.write_section(
        event.wiki, event.pages.report, REPORT_SECTION,
        reports.report_wikitext(event, compiled, run.stats, now, delivery_summary(event, store),
                                charts=chart_files, history=history),
        f"eventbot: participation summary of {event.title} ({_count(compiled)})",
    )
    return run


def _count(compiled: Compiled) -> str:
    active = sum(1 for p in compiled.participants if p.active)
    return f"{active} participant{'s' if active != 1 else ''}"


def outcome_counts(outcomes: Sequence[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for outcome in outcomes:
        counts[type(outcome).__name__.lower()] += 1
    return dict(counts)


def uploads_of(contribs: Sequence[Contribution]) -> list[Upload]:
    """File uploads, read off the contributions: an upload creates its File: page (namespace 6),
    so no extra request per user is needed."""
    return [Upload(wiki=c.wiki, user=c.user, timestamp=c.timestamp, title=c.title)
            for c in contribs if c.namespace == 6 and c.created]


@dataclass(frozen=True)
class StatsRun:
    """Statistics with what they were computed from (reports draw charts from `contribs`)."""

    stats: stats.EventStats
    cost: collect.CollectReport
    compiled: Compiled
    contribs: list[Contribution]


def event_stats(event: EventConfig, farm: Farm, store: Store, now: datetime, *,
                progress: collect.Progress | None = None) -> StatsRun:
    """Participation statistics: the participant list, their contributions (fetched
    incrementally), and the pure computation over both."""
    compiled, _ = compile_event(event, farm)
    contribs, cost = collect.collect(event, compiled.participants, farm, store, now, progress=progress)
    result = stats.compute(event, compiled.participants, contribs, uploads_of(contribs), now)
    return StatsRun(stats=result, cost=cost, compiled=compiled, contribs=contribs)


def _audience_data(event: EventConfig, compiled: Compiled, farm: Farm, store: Store, now: datetime,
                   needed: bool) -> tuple[dict[str, int] | None, frozenset[str] | None]:
    """Edits during the event and the new editors, computed only when a campaign filters on them."""
    if not needed:
        return None, None
    contribs, _ = collect.collect(event, compiled.participants, farm, store, now)
    result = stats.compute(event, compiled.participants, contribs, uploads_of(contribs), now)
    during = {row.username: row.get("during").edits for row in result.rows}
    for username in {c.user for c in contribs} - set(during):  # people not named in reports
        during[username] = sum(1 for c in contribs if c.user == username
                               and event.starts_at <= c.timestamp < event.ends_at)
    new = frozenset(row.username for row in result.rows if row.experience.value == "new")
    return during, new


def alumni_history(event: EventConfig, farm: Farm, compiled: Compiled | None = None, *,
                   only: Sequence[str] | None = None) -> dict[str, PersonHistory] | None:
    """Each person's part in the earlier iterations of the event's programme (`programme:`),
    by username; None when the event names no programme. `only` limits it to those event ids
    (an alumni filter's), else every event before this one counts. `compiled` (this event's
    list) is reused when the event itself is asked for, not compiled again."""
    programme = alumni.event_programme(event)
    if programme is None:
        return None
    wanted = list(only) if only is not None else alumni.earlier(programme, event.id)
    known = {event.id: compiled} if compiled is not None else None
    loaded = alumni.load_history(programme, farm, only=wanted, known=known)
    return loaded.people


def run_followups(event: EventConfig, compiled: Compiled, farm: Farm, store: Store, now: datetime, *,
                  only: str | None = None, preview: bool = False, force: bool = False,
                  checkpoint: Callable[[str], None] | None = None) -> list[delivery.CampaignReport]:
    """Deliver every due campaign (or just `only`) and log each on the wiki."""
    chosen = [event.campaign(only)] if only else list(event.campaigns)
    needed = any(c.audience.inactive_during_event or c.audience.new_editors_only for c in chosen)
    during, new = _audience_data(event, compiled, farm, store, now, needed)
    forced = force or (only is not None and preview)
    past = [event_id for c in chosen if campaigns.is_due(c, event, now) or (forced and c.enabled)
            for event_id in c.audience.alumni_events]
    history = alumni_history(event, farm, compiled, only=past) if past else None
    reports_out: list[delivery.CampaignReport] = []
    for campaign in chosen:
        report = delivery.deliver(event, campaign, compiled.participants, farm, store, now,
                                  during_edits=during, new_editors=new, history=history, preview=preview,
                                  force=forced, checkpoint=checkpoint)
        reports_out.append(report)
        if report.results and not preview and any(not r.earlier for r in report.results):
            page = event.pages.delivery_log or event.pages.report
            body = delivery.log_wikitext(event, report, _diff_link(event.wiki), now)
            farm.write_section(event.wiki, page, f"followup-{campaign.name}", body,
                               f"eventbot: delivery log of the {campaign.name} follow-up")
    return reports_out


def _diff_link(event_wiki: str) -> Callable[[str, int], str]:
    def link(wiki: str, revid: int) -> str:
        prefix = "" if wiki == event_wiki else f":{wiki}:"
        return f"[[{prefix}Special:Diff/{revid}|diff]]"
    return link


def upload_charts(event: EventConfig, compiled: Compiled, result: stats.EventStats,
                  contribs: Sequence[Contribution], farm: Farm, run: EventRun) -> list[tuple[str, str]]:
    """Upload the report's charts (only those whose image changed) and return (file name, alt
    text) pairs for the report section. A failed upload is recorded and leaves the chart out."""
    from bot import charts  # matplotlib is loaded only when charts are wanted

    active = {p.username for p in compiled.participants if p.active}
    drawn = charts.build_charts(event, result, charts.daily_edits(contribs, event.tz, active), fmt="png")
    prefix = event.report.chart_prefix or f"eventbot {event.id} "
    shown: list[tuple[str, str]] = []
    for name, chart in drawn.items():
        filename = f"{prefix}{name.replace('_', ' ')}.png"
        outcome = farm.upload(event.wiki, filename, chart.data, f"eventbot: {name} chart of {event.title}",
                              text=f"Chart of [[{event.pages.report}]], drawn by eventbot.\n\n"
                                   f"{chart.alt}")
        run.outcomes[f"chart {name}"] = outcome
        if not isinstance(outcome, Failed):
            shown.append((filename, chart.alt))
    return shown
