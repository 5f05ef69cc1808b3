"""Follow-up delivery: each recipient gets a campaign's message exactly once.

The protocol (see DESIGN.md, "Exactly-once follow-ups"):

1. One sender per campaign: a lock in the state DB (a killed sender's lock is taken over).
2. The ledger says who is done. A recipient with an `intent` but no result (a crash between
   the two) is resolved by looking for the message's marker on the talk page.
3. Talk pages are read in batches right before their recipients are sent to, so the marker
   and `{{nobots}}` are checked on fresh text, not on a cached copy.
4. `intent` is committed, then the edit is sent once (never resent by pywikibot); when its
   fate is unknown (timeout, 5xx) the page is read again and the marker decides.
5. The result (revision id, skip reason or error) is committed.

Every recipient ends as a `DeliveryResult` whose outcome is `Posted`, `Skipped(reason)` or
`Failed(error)`; the delivery log on the wiki is built from those values.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from bot import campaigns, messages, sections
from bot.campaigns import CampaignConfig
from bot.config import EventConfig
from bot.escape import inert
from bot.models import Failed, Outcome, Participant, Posted, Skipped
from bot.store import Delivery, Store
from bot.wiki import Farm

__all__ = ["CampaignReport", "DeliveryResult", "DeliveryStopped", "deliver", "log_wikitext"]

log = logging.getLogger(__name__)

#: API error codes after which no further edit may be attempted in this run.
_FATAL = {"assertuserfailed", "assertnameduserfailed", "assertbotfailed", "readonly-stuck",
          "notloggedin", "permissiondenied-bot"}
_UNCERTAIN_RETRIES = 3
_LOCK_TTL = timedelta(minutes=10)
_RUN_PAGE_EVERY = 60.0  # seconds between re-reads of the on-wiki run page


class DeliveryStopped(RuntimeError):
    """Delivery must stop now (emergency stop, bot blocked, lock lost); the message says why."""


@dataclass(frozen=True)
class DeliveryResult:
    """What happened for one recipient. `note` says e.g. which redirect was followed."""

    username: str
    outcome: Outcome
    language: str | None = None
    note: str | None = None
    earlier: bool = False  # settled by an earlier run (from the ledger)


@dataclass
class CampaignReport:
    campaign: str
    due_at: datetime
    results: list[DeliveryResult] = field(default_factory=list)
    stopped: str | None = None
    previews: list[tuple[str, str, str]] = field(default_factory=list)  # (user, title, text)

    def count(self, kind: type) -> int:
        return sum(1 for r in self.results if isinstance(r.outcome, kind))


@dataclass
class _Safety:
    """The stop switches: the on-wiki run page, a local stop file, and the bot's own block."""

    farm: Farm
    wiki: str
    run_page: str
    stop_file: Path | None
    clock: Callable[[], float]
    last_check: float = float("-inf")

    def check(self) -> None:
        if self.stop_file is not None and self.stop_file.exists():
            raise DeliveryStopped(f"the stop file {self.stop_file} exists; delete it to resume")
        if self.clock() - self.last_check < _RUN_PAGE_EVERY:
            return
        page = self.farm.read_page(self.wiki, self.run_page)
        answer = page.text.strip().casefold() if page.exists else ""
        if answer not in ("yes", "true", "run"):
            shown = repr(page.text.strip()[:40]) if page.exists else "nothing (the page does not exist)"
            raise DeliveryStopped(f"[[{self.run_page}]] says {shown}; it must say 'yes' for the bot to "
                                  "send messages")
        blocked, _rights, reason = self.farm.bot_status(self.wiki)
        if blocked:
            raise DeliveryStopped(f"the bot's account is blocked on {self.wiki}: {reason}")
        self.last_check = self.clock()


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead_on_this_host(owner: str) -> bool:
    """True when `owner` is a process on this host that no longer runs (e.g. killed)."""
    host, _, rest = owner.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def ledger_key(event: EventConfig, campaign: CampaignConfig) -> str:
    return f"{event.id}/{campaign.name}"


def deliver(event: EventConfig, campaign: CampaignConfig, participants: Sequence[Participant],
            farm: Farm, store: Store, now: datetime, *,
            during_edits: Mapping[str, int] | None = None,
            new_editors: frozenset[str] | None = None,
            preview: bool = False, force: bool = False,
            sleep: Callable[[float], None] = time.sleep,
            clock: Callable[[], float] = time.monotonic,
            checkpoint: Callable[[str], None] | None = None) -> CampaignReport:
    """Send one campaign's message to its audience, if it is due (or `force`).

    `checkpoint(name)` is called at each step of the protocol; tests use it to kill the
    process at chosen points. With `preview`, messages are rendered but nothing is saved.
    """
    due = campaigns.due_at(campaign.schedule, event)
    report = CampaignReport(campaign=campaign.name, due_at=due)
    if not campaign.enabled or (now < due and not force):
        return report
    key = ledger_key(event, campaign)
    owner = _owner()
    lock = f"campaign:{key}"
    if not preview:
        store.acquire_lock(lock, owner, _LOCK_TTL, is_dead=_dead_on_this_host)
    try:
        _deliver_locked(event, campaign, participants, farm, store, report,
                        during_edits=during_edits, new_editors=new_editors, preview=preview,
                        sleep=sleep, clock=clock, checkpoint=checkpoint or (lambda _name: None),
                        lock=lock, owner=owner)
    except DeliveryStopped as exc:
        report.stopped = str(exc)
        log.warning("delivery of %s stopped: %s", key, exc)
    finally:
        if not preview:
            store.release_lock(lock, owner)
    return report


def _deliver_locked(event: EventConfig, campaign: CampaignConfig, participants: Sequence[Participant],
                    farm: Farm, store: Store, report: CampaignReport, *,
                    during_edits: Mapping[str, int] | None, new_editors: frozenset[str] | None,
                    preview: bool, sleep: Callable[[float], None], clock: Callable[[], float],
                    checkpoint: Callable[[str], None], lock: str, owner: str) -> None:
    key = ledger_key(event, campaign)
    bot_user = str(farm.site(event.wiki).username())
    safety = _Safety(farm, event.wiki, event.delivery.run_page.format(bot=bot_user),
                     Path(event.delivery.stop_file) if event.delivery.stop_file else None, clock)
    if not preview:
        safety.check()
    list_members = (farm.linked_users(event.wiki, campaign.audience.list_page)
                    if campaign.audience.list_page else None)
    recipients, skipped = campaigns.select_audience(
        campaign, participants, during_edits=during_edits, new_editors=new_editors,
        list_members=list_members)
    opted_out = farm.linked_users(event.wiki, event.pages.optout) if event.pages.optout else frozenset()
    ledger = store.deliveries(key)
    for person, reason in skipped:
        report.results.append(DeliveryResult(person.username, Skipped(
            title=messages.talk_page_title(person.username), wiki=event.wiki, reason=reason)))
    by_wiki: dict[str, list[Participant]] = {}
    for person in recipients:
        by_wiki.setdefault(campaigns.target_wiki(campaign, event, person), []).append(person)
    _, rights, _ = farm.bot_status(event.wiki)
    interval = 60.0 / event.delivery.edits_per_minute
    last_edit = [float("-inf")]
    for wiki, people in by_wiki.items():
        available = _available_languages(farm, event.wiki, campaign)
        for chunk in _chunks(people, farm.batch_size(wiki)):
            todo = [p for p in chunk if _settled(ledger.get(p.username)) is None]
            for person in chunk:
                row = ledger.get(person.username)
                done = _settled(row)
                if done is not None:
                    report.results.append(DeliveryResult(person.username, done, earlier=True,
                                                         language=row.language if row else None))
            if not todo:
                continue
            titles = {p.username: messages.talk_page_title(p.username) for p in todo}
            pages = farm.talk_pages(wiki, list(titles.values()))
            for person in todo:
                if not preview:
                    safety.check()
                    if not store.refresh_lock(lock, owner, _LOCK_TTL):
                        raise DeliveryStopped("another sender took over this campaign's lock")
                result = _deliver_one(
                    event, campaign, person, wiki, pages[titles[person.username]], farm, store, key,
                    ledger.get(person.username) is not None, bot_user=bot_user, rights=rights,
                    opted_out=opted_out, available=available, preview=preview, report=report,
                    pace=lambda: _pace(last_edit, interval, sleep, clock), checkpoint=checkpoint)
                report.results.append(result)


def _settled(row: Delivery | None) -> Outcome | None:
    """The outcome an earlier run recorded, or None when the recipient still needs work."""
    if row is None:
        return None
    if row.state == "posted":
        return Posted(title=row.title, wiki=row.wiki, revid=row.revid or 0)
    # A skip is checked again next time ({{nobots}} removed, protection lifted); an intent is
    # resolved by the marker; a failure is retried.
    return None


def _pace(last_edit: list[float], interval: float, sleep: Callable[[float], None],
          clock: Callable[[], float]) -> None:
    wait = last_edit[0] + interval - clock()
    if wait > 0:
        sleep(wait)
    last_edit[0] = clock()


def _available_languages(farm: Farm, wiki: str, campaign: CampaignConfig) -> list[str]:
    """Languages whose message subpage exists (one batched read). `/en` must exist."""
    codes = ["en", *[c for c in campaign.languages if c != "en"]]
    pages = farm.read_pages(wiki, [messages.message_page(campaign, c) for c in codes])
    available = [c for c in codes if pages[messages.message_page(campaign, c)].exists]
    if "en" not in available:
        raise DeliveryStopped(f"the message page [[{messages.message_page(campaign, 'en')}]] does not "
                              f"exist on {wiki}; every campaign needs its English (fallback) text")
    return available


def _deliver_one(event: EventConfig, campaign: CampaignConfig, person: Participant, wiki: str,
                 info: messages.TalkPageInfo, farm: Farm, store: Store, key: str, had_intent: bool, *,
                 bot_user: str, rights: frozenset[str], opted_out: frozenset[str],
                 available: Sequence[str], preview: bool, report: CampaignReport,
                 pace: Callable[[], None], checkpoint: Callable[[str], None]) -> DeliveryResult:
    note = (f"followed the redirect from [[{info.redirect_from}]] to [[{info.title}]]"
            if info.redirect_from else None)
    if info.text is not None and messages.has_marker(info.text, campaign.name, person.username):
        # Already there: an earlier run's edit was saved but not recorded (or resent).
        store.record_delivery(key, person.username, wiki=wiki, title=info.title, state="posted",
                              revid=info.revid, detail="found the message's marker on the page")
        return DeliveryResult(person.username, Posted(title=info.title, wiki=wiki, revid=info.revid or 0),
                              note="already on the talk page (found its marker)")
    if had_intent:
        log.info("%s: an earlier run meant to post but left no marker; sending now", person.username)
    reason = messages.precheck(info, user=person.user, bot_user=bot_user, bot_rights=rights,
                               opted_out=opted_out)
    if reason is not None:
        if not preview:
            store.record_delivery(key, person.username, wiki=wiki, title=info.title, state="skipped",
                                  detail=reason)
        return DeliveryResult(person.username, Skipped(title=info.title, wiki=wiki, reason=reason),
                              note=note)
    lang = messages.language_for(person, available)
    rendered = messages.render_message(campaign, event.title, person, lang, bot_user=bot_user)
    if preview:
        report.previews.append((person.username, rendered.title, rendered.text))
        return DeliveryResult(person.username, Posted(title=info.title, wiki=wiki, revid=0, simulated=True),
                              language=lang, note=note)
    checkpoint("before-intent")
    store.record_delivery(key, person.username, wiki=wiki, title=info.title, state="intent",
                          language=lang)
    checkpoint("after-intent")
    pace()
    outcome = _send(farm, wiki, info.title, rendered, campaign.name, person.username, checkpoint)
    checkpoint("after-send")
    if isinstance(outcome, Posted):
        store.record_delivery(key, person.username, wiki=wiki, title=info.title, state="posted",
                              revid=outcome.revid, detail=note, language=lang)
    elif isinstance(outcome, Failed):
        store.record_delivery(key, person.username, wiki=wiki, title=info.title, state="failed",
                              detail=f"{outcome.code}: {outcome.error}")
        if outcome.code in _FATAL or (outcome.code == "blocked" and "blocked" in outcome.error
                                      and bot_user in outcome.error):
            raise DeliveryStopped(f"the wiki refused the bot ({outcome.code}: {outcome.error})")
    checkpoint("after-record")
    return DeliveryResult(person.username, outcome, language=lang, note=note)


def _send(farm: Farm, wiki: str, title: str, rendered: messages.RenderedMessage, campaign: str,
          username: str, checkpoint: Callable[[str], None]) -> Outcome:
    """Post once; when the result is unknown, the page's marker says whether it arrived."""
    for attempt in range(1, _UNCERTAIN_RETRIES + 1):
        outcome = farm.post_new_section(wiki, title, rendered.title, rendered.text, rendered.summary)
        if not (isinstance(outcome, Failed) and outcome.code == "uncertain"):
            return outcome
        checkpoint("uncertain")
        fresh = farm.talk_pages(wiki, [title])[title]
        if fresh.text is not None and messages.has_marker(fresh.text, campaign, username):
            return Posted(title=title, wiki=wiki, revid=fresh.revid or 0)
        log.warning("%s: send %d of %d had an unknown result and did not arrive; retrying",
                    title, attempt, _UNCERTAIN_RETRIES)
    return outcome


def _chunks(items: Sequence[Participant], size: int) -> Iterator[Sequence[Participant]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- the delivery log -------------------------------------------------------------------------


def log_wikitext(event: EventConfig, report: CampaignReport, diff_link: Callable[[str, int], str],
                 now: datetime) -> str:
    """The delivery log section: sent (with diff links), skipped (with the reason) and failed
    (with the error), every participant-supplied or wiki-supplied string made inert."""
    local = report.due_at.astimezone(event.tz)
    lines = [f"=== Follow-up: {inert(report.campaign)} ===",
             f"Due {local:%Y-%m-%d %H:%M} ({event.timezone}). Sent {report.count(Posted)}, "
             f"skipped {report.count(Skipped)}, failed {report.count(Failed)}."]
    if report.stopped:
        lines.append(f"'''Stopped:''' {inert(report.stopped)}")
    lines += ['{| class="wikitable sortable"', "! Participant !! Result !! Details"]
    for result in sorted(report.results, key=lambda r: r.username.casefold()):
        outcome = result.outcome
        if isinstance(outcome, Posted):
            link = diff_link(outcome.wiki, outcome.revid) if outcome.revid else "(found on the page)"
            what, detail = "sent", f"{link} ({result.language})" if result.language else link
        elif isinstance(outcome, Skipped):
            what, detail = "skipped", inert(outcome.reason)
        elif isinstance(outcome, Failed):
            what, detail = "failed", inert(f"{outcome.code}: {outcome.error}")
        else:
            what, detail = "unchanged", ""
        if result.note:
            detail += f" — {inert(result.note)}"
        lines += ["|-", f"| {inert(result.username)} || {what} || {detail}"]
    lines += ["|}", sections.stamp(f"Last updated by eventbot: {now.astimezone(event.tz):%Y-%m-%d %H:%M}.")]
    return "\n".join(lines)
