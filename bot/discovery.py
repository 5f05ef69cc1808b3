"""On-wiki configurations at the wiki's edge: find event pages, load and trust them, tell organisers.

    embeddedin Template:Eventbot ─▶ latest revisions (batched) ─▶ parse + validate (bot.onwiki)
        ─▶ authors' groups + the organisers' allowlist ─▶ trust rule (last approved revision)
        ─▶ one notice on the event's talk page ─▶ participant list / report / campaigns

The wiki is reached only through `bot.wiki.Farm` (`query`, `call`, `users`, `read_page`,
`write_section`); the decisions are pure functions in `bot.onwiki`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot import onwiki, pipeline, sections
from bot.config import ConfigIssue, EventConfig
from bot.delivery import CampaignReport
from bot.escape import inert_target
from bot.models import Failed, Outcome, Skipped, Unchanged
from bot.onwiki import Decision, OnwikiSettings, Revision, TrustChoice
from bot.store import Store
from bot.wiki import Farm

__all__ = [
    "EventPage",
    "OnwikiEvent",
    "OnwikiRun",
    "Organisers",
    "discover",
    "load_onwiki_events",
    "publish_notice",
    "read_organisers",
    "run_onwiki",
    "template_redirects",
]

log = logging.getLogger(__name__)

#: Namespaces never read as event pages: MediaWiki, Template, Module (documentation and examples
#: of the template live there); talk namespaces (odd numbers) are skipped too.
_NOT_EVENTS = frozenset({8, 10, 828})
#: Protection levels that mean "only administrators can edit".
_ADMIN_LEVELS = frozenset({"sysop", "editprotected"})
_CHUNK = 50


@dataclass(frozen=True)
class EventPage:
    """A page that transcludes the configuration template."""

    wiki: str
    title: str
    pageid: int
    ns: int = 0


def discover(farm: Farm, wiki: str, *, template: str = onwiki.DEFAULT_TEMPLATE) -> list[EventPage]:
    """Every page of `wiki` that transcludes `Template:<template>` (continuation followed),
    except template, module and MediaWiki pages and talk pages; in page-id order."""
    found: dict[int, EventPage] = {}
    for part in farm.query(wiki, list="embeddedin", eititle=f"Template:{template}", eilimit="max"):
        for item in part.get("embeddedin", []):
            ns = int(item["ns"])
            if ns in _NOT_EVENTS or ns % 2 == 1:
                continue
            found[int(item["pageid"])] = EventPage(wiki, str(item["title"]), int(item["pageid"]), ns)
    return [found[key] for key in sorted(found)]


def template_redirects(farm: Farm, wiki: str, template: str) -> list[str]:
    """Other names of a template: the redirects to it, without their namespace."""
    names: list[str] = []
    for part in farm.query(wiki, prop="redirects", titles=f"Template:{template}", rdlimit="max",
                           rdnamespace=10):
        for page in part.get("pages", []):
            names.extend(str(r["title"]).split(":", 1)[-1] for r in page.get("redirects", []))
    return names


@dataclass(frozen=True)
class Organisers:
    """The approved organisers linked from the allowlist page; `problem` says why the page is
    not used (missing, or not protected so that only administrators can edit it)."""

    page: str | None
    names: frozenset[str] = frozenset()
    problem: str | None = None


def read_organisers(farm: Farm, wiki: str, page: str | None) -> Organisers:
    """Users linked from the allowlist page (user and user talk links), provided the page is
    protected with edit=sysop: an allowlist anyone can edit would approve anyone."""
    if not page:
        return Organisers(page=None)
    names: set[str] = set()
    exists = protected = False
    for part in farm.query(wiki, titles=page, prop="info|links", inprop="protection",
                           plnamespace="2|3", pllimit="max"):
        for item in part.get("pages", []):
            if item.get("missing") or item.get("invalid"):
                continue
            exists = True
            protected = protected or any(p.get("type") == "edit" and p.get("level") in _ADMIN_LEVELS
                                         for p in item.get("protection", []))
            for link in item.get("links", []):
                names.add(str(link["title"]).split(":", 1)[1].split("/", 1)[0])
    if not exists:
        return Organisers(page, problem=f"the organisers' list [[{page}]] does not exist")
    if not protected:
        return Organisers(page, problem=f"the organisers' list [[{page}]] is not protected so that only "
                                        "administrators can edit it, so eventbot does not use it")
    return Organisers(page, frozenset(names))


@dataclass(frozen=True)
class OnwikiEvent:
    """One event page as loaded: the problems of its latest revision, the trust decision, and
    the configuration that takes effect (`decision.event`; campaigns only when `sends`)."""

    page: EventPage
    talk: str
    latest: Revision
    issues: list[ConfigIssue]
    choice: TrustChoice
    decision: Decision

    @property
    def event(self) -> EventConfig | None:
        return self.decision.event

    @property
    def sends(self) -> bool:
        return self.decision.sends


def _merged_pages(farm: Farm, wiki: str, **params: Any) -> list[dict[str, Any]]:
    """The `pages` of a query, merged across continuation results (a page may come in parts)."""
    merged: dict[int | str, dict[str, Any]] = {}
    for part in farm.query(wiki, **params):
        for page in part.get("pages", []):
            into = merged.setdefault(page.get("pageid", page.get("title")), {})
            for key, value in page.items():
                if isinstance(value, list) and isinstance(into.get(key), list):
                    into[key] = into[key] + value
                else:
                    into.setdefault(key, value)
    return list(merged.values())


def _revision(item: dict[str, Any]) -> Revision:
    text = item.get("slots", {}).get("main", {}).get("content")
    user = "" if item.get("userhidden") else str(item.get("user", ""))
    return Revision(revid=int(item["revid"]), user=user, timestamp=str(item.get("timestamp", "")),
                    text=text if isinstance(text, str) else None)


def _latest(farm: Farm, wiki: str, pages: Sequence[EventPage]) -> dict[int, tuple[str, Revision]]:
    """(talk page title, latest revision with text) of each page, in batches."""
    out: dict[int, tuple[str, Revision]] = {}
    for start in range(0, len(pages), _CHUNK):
        chunk = pages[start : start + _CHUNK]
        for page in _merged_pages(farm, wiki, pageids="|".join(str(p.pageid) for p in chunk),
                                  prop="info|revisions", inprop="associatedpage",
                                  rvprop="ids|timestamp|user|content", rvslots="main"):
            revisions = page.get("revisions") or []
            if page.get("missing") or not revisions:
                continue
            out[int(page["pageid"])] = (str(page.get("associatedpage", "")), _revision(revisions[0]))
    return out


def _history(farm: Farm, wiki: str, pageid: int, limit: int) -> list[Revision]:
    """The page's last `limit` revisions (newest first), without text; one request."""
    result = farm.call(wiki, action="query", prop="revisions", pageids=str(pageid),
                       rvprop="ids|timestamp|user", rvlimit=limit)
    pages = result.get("query", {}).get("pages", [])
    return [_revision(item) for page in pages for item in page.get("revisions", [])]


def _texts(farm: Farm, wiki: str, revids: Iterable[int]) -> dict[int, Revision]:
    """Revisions with their text, by id, in batches."""
    wanted = sorted(set(revids))
    out: dict[int, Revision] = {}
    for start in range(0, len(wanted), _CHUNK):
        ids = "|".join(str(r) for r in wanted[start : start + _CHUNK])
        for page in _merged_pages(farm, wiki, revids=ids, prop="revisions",
                                  rvprop="ids|timestamp|user|content", rvslots="main"):
            for item in page.get("revisions", []):
                revision = _revision(item)
                out[revision.revid] = revision
    return out


def _verdicts(farm: Farm, wiki: str, users: Iterable[str], organisers: Organisers,
              settings: OnwikiSettings) -> dict[str, tuple[bool, str]]:
    """`onwiki.trusted` for each author, with their groups read in batches."""
    names = sorted({u for u in users if u})
    infos = farm.users(wiki, names) if names and settings.required_group else {}
    out: dict[str, tuple[bool, str]] = {"": onwiki.trusted("", allowlist=frozenset(), user_groups=frozenset(),
                                                           required_group=None)}
    for name in names:
        info = infos.get(name)
        groups = frozenset(info.groups) if info is not None and info.exists else frozenset()
        out[name] = onwiki.trusted(name, allowlist=organisers.names, user_groups=groups,
                                   required_group=settings.required_group)
    return out


def _who(settings: OnwikiSettings, organisers: Organisers) -> str:
    """Who is approved, for notes: the allowlist page (when used) and the group."""
    routes = []
    if organisers.page and organisers.problem is None:
        routes.append(f"listed on [[{inert_target(organisers.page)}]]")
    if settings.required_group:
        routes.append(f"in the '{settings.required_group}' user group")
    return " or ".join(routes) or "no route is configured, so nobody is approved"


def load_onwiki_events(farm: Farm, pages: Sequence[EventPage], settings: OnwikiSettings, *,
                       organisers: Organisers | None = None,
                       aliases: Sequence[str] = (),
                       campaign_aliases: Sequence[str] = ()) -> list[OnwikiEvent]:
    """Read, validate and trust-check every page's configuration.

    Requests: the latest revisions in batches of 50 pages, the authors' groups in batches, and
    for a page whose latest author is not approved, its recent history (one request) and the
    text of its last approved revision (batched). A page without a direct `{{eventbot}}`
    (it only transcludes a page that does) is not an event and is left out.
    """
    wiki = settings.wiki
    if organisers is None:
        organisers = read_organisers(farm, wiki, settings.allowlist_page)
    if organisers.problem:
        log.warning("%s: %s", wiki, organisers.problem)

    def load(revision: Revision, title: str) -> tuple[EventConfig | None, list[ConfigIssue], int, int]:
        """(event, issues, {{eventbot}} templates, campaign templates) of a revision."""
        mapping, found = onwiki.parse_config_templates(
            revision.text or "", page_title=title, wiki=wiki, template=settings.template,
            campaign_template=settings.campaign_template, aliases=aliases, campaign_aliases=campaign_aliases)
        event, issues = onwiki.validate(mapping, found, page_title=title, wiki=wiki)
        return event, issues, mapping.event_templates, mapping.campaign_templates

    latest = _latest(farm, wiki, [p for p in pages if p.wiki == wiki])
    parsed: dict[int, tuple[EventConfig | None, list[ConfigIssue], int, int]] = {}
    for page in pages:
        if page.pageid not in latest:
            continue
        result = load(latest[page.pageid][1], page.title)
        if result[2]:
            parsed[page.pageid] = result
        else:
            log.info("%s: [[%s]] has no {{%s}} of its own; not an event", wiki, page.title, settings.template)
    verdicts = _verdicts(farm, wiki, (latest[p][1].user for p in parsed), organisers, settings)

    histories: dict[int, list[Revision]] = {}
    for pageid in parsed:
        revision = latest[pageid][1]
        if not verdicts.get(revision.user, (False, ""))[0]:
            # The latest revision as parsed, then the older ones (an edit saved since is not seen).
            older = _history(farm, wiki, pageid, settings.history_limit)
            histories[pageid] = [revision, *(r for r in older if r.revid < revision.revid)]
    more = {r.user for history in histories.values() for r in history} - set(verdicts)
    verdicts.update(_verdicts(farm, wiki, more, organisers, settings) if more else {})
    choices = {pageid: onwiki.choose_revision(histories.get(pageid) or [latest[pageid][1]], verdicts)
               for pageid in parsed}
    approved = [c.trusted_revision.revid for c in choices.values()
                if c.trusted_revision is not None and not c.latest_trusted]
    texts = _texts(farm, wiki, approved) if approved else {}

    who = _who(settings, organisers)
    out: list[OnwikiEvent] = []
    for page in pages:
        if page.pageid not in parsed:
            continue
        talk, revision = latest[page.pageid]
        event, issues, _, campaigns = parsed[page.pageid]
        choice = choices[page.pageid]
        trusted_event: EventConfig | None = None
        if choice.trusted_revision is not None and not choice.latest_trusted:
            old = texts.get(choice.trusted_revision.revid)
            if old is not None and old.text is not None:
                trusted_event = load(old, page.title)[0]
        decision = onwiki.decide(page.title, choice, event, trusted_event, latest_campaigns=campaigns,
                                 who=who)
        out.append(OnwikiEvent(page, talk, revision, issues, choice, decision))
    return out


def _stamp(now: datetime) -> str:
    moment = now.astimezone(UTC)
    return f"eventbot, {moment.day} {moment:%B %Y, %H:%M} (UTC)"


def publish_notice(farm: Farm, loaded: OnwikiEvent, settings: OnwikiSettings, now: datetime) -> Outcome:
    """Keep ONE notice about the configuration on the event's talk page, in the bot-owned
    section `settings.notice_section`.

    Problems (or a trust note): the notice lists them; the same problems again make no edit.
    No problems: a notice still open becomes a short "resolved" note; a resolved note, or no
    notice at all, is left alone (no edit, and no talk page is created).
    """
    wiki, talk, name = loaded.page.wiki, loaded.talk, settings.notice_section
    if not talk:
        return Skipped(title=loaded.page.title, wiki=wiki, reason="the page has no talk page")
    note = loaded.decision.note
    if loaded.issues or note:
        body = onwiki.notice_wikitext(loaded.page.title, loaded.issues, template=settings.template, note=note,
                                      stamp_label=_stamp(now))
        count = len(loaded.issues)
        what = f"{count} problem{'s' if count != 1 else ''}" if count else "a change waits for approval"
        return farm.write_section(wiki, talk, name, body, f"eventbot: the event configuration ({what})")
    page = farm.read_page(wiki, talk)
    try:
        current = sections.extract(page.text, name, talk) if page.exists else None
    except sections.SectionError as exc:
        return Skipped(title=talk, wiki=wiki, reason=str(exc))
    if current is None or onwiki.is_resolved_notice(current):
        return Unchanged(title=talk, wiki=wiki)
    body = onwiki.resolved_wikitext(loaded.page.title, template=settings.template, stamp_label=_stamp(now))
    return farm.write_section(wiki, talk, name, body,
                              "eventbot: the event configuration problems are resolved")


@dataclass
class OnwikiRun:
    """What one run did for one event page."""

    loaded: OnwikiEvent
    notice: Outcome | None = None
    run: pipeline.EventRun | None = None
    followups: list[CampaignReport] = field(default_factory=list)
    error: str | None = None
    finished: bool = False  # every statistics window had closed: nothing was run


def run_onwiki(farm: Farm, settings: OnwikiSettings, now: datetime, *, store: Store | None = None,
               write: bool = True, send: bool = False, only: Sequence[str] | None = None) -> list[OnwikiRun]:
    """The main job for every on-wiki configuration of `settings.wiki`: discover, load, keep the
    talk-page notices, then run each event that has a usable configuration (participant list
    and report), and, with `send` and a `store`, its due campaigns when the trust rule allows.

    An event whose last statistics window has closed (`EventConfig.stats_end`) is not run any more.
    `only` limits the run to these page titles (after discovery). One event's failure is
    recorded in its `OnwikiRun.error` and does not stop the others.
    """
    organisers = read_organisers(farm, settings.wiki, settings.allowlist_page)
    pages = discover(farm, settings.wiki, template=settings.template)
    if only is not None:
        wanted = set(only)
        pages = [p for p in pages if p.title in wanted]
    aliases = template_redirects(farm, settings.wiki, settings.template)
    campaign_aliases = template_redirects(farm, settings.wiki, settings.campaign_template)
    runs: list[OnwikiRun] = []
    for loaded in load_onwiki_events(farm, pages, settings, organisers=organisers, aliases=aliases,
                                     campaign_aliases=campaign_aliases):
        result = OnwikiRun(loaded)
        runs.append(result)
        try:
            if write:
                result.notice = publish_notice(farm, loaded, settings, now)
                if isinstance(result.notice, Failed):
                    log.warning("notice on [[%s]]: %s", loaded.talk, result.notice.error)
            event = loaded.event
            if event is None:
                continue
            if now.astimezone(event.tz).date() > event.stats_end:
                # Its list and report are final: running it hourly for ever would only cost requests.
                result.finished = True
                log.info("[[%s]]: finished on %s (its last statistics window has closed); not run",
                         loaded.page.title, event.stats_end)
                continue
            result.run = pipeline.run_event(event, farm, now, store=store, write=write)
            if send and loaded.sends and store is not None and event.campaigns:
                result.followups = pipeline.run_followups(event, result.run.compiled, farm, store, now)
        except Exception as exc:  # one event's failure must not stop the others
            log.exception("on-wiki event [[%s]] failed", loaded.page.title)
            result.error = f"{type(exc).__name__}: {exc}"
    return runs
