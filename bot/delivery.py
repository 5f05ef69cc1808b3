"""Follow-up delivery: each recipient gets a campaign's message exactly once.

The protocol (see DESIGN.md, "Exactly-once follow-ups"):

1. One sender per campaign: a lock in the state DB (a killed sender's lock is taken over).
2. The ledger says who is done. A recipient with an `intent` but no result (a crash between
   the two) is resolved by looking for the message's marker on the talk page.
3. Talk pages are read in batches right before their recipients are sent to, so the marker
   and `{{nobots}}` are checked on fresh text, not on a cached copy.
4. `intent` is committed, then the edit is sent once (never resent by pywikibot); when its
   fate is unknown (timeout, 5xx) the page is read again, after a pause, and the marker
   decides. A refusal that saved nothing and asks for a pause (maxlag, rate limit, read-only,
   HTTP 429 with its `Retry-After`) is sent again after that pause, a few times at most.
5. The result (revision id, skip reason or error) is committed.
6. Some failures stop the whole run at once: the bot's account blocked or logged out, and a
   wiki that keeps refusing every edit (still read-only or lagged after the retries).
   Nothing ever prompts: a CAPTCHA or an abuse filter is a recorded failure, never resubmitted.

MassMessage mode (`delivery.massmessage`): where the wiki runs MassMessage and the bot has
the `massmessage` right, the checked recipients of each language are written to a delivery
list page in the bot's user space and one `action=massmessage` request queues them all; the
ledger records each as posted ("queued by MassMessage"). Otherwise delivery is direct.

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

from bot import campaigns, exports, messages, sections
from bot.alumni import PersonHistory
from bot.campaigns import CampaignConfig
from bot.config import EventConfig
from bot.escape import inert
from bot.models import Failed, Outcome, Participant, Posted, Skipped, Status
from bot.store import Delivery, Store
from bot.wiki import Farm, TryLater

__all__ = ["CampaignReport", "DeliveryResult", "DeliveryStopped", "deliver", "log_wikitext"]

log = logging.getLogger(__name__)

#: API error codes after which no further edit may be attempted in this run. `blocked` is the
#: bot's own account (a partial block is `blocked-partial`, a failure for that page only).
_FATAL = {"assertuserfailed", "assertnameduserfailed", "assertbotfailed", "readonly-stuck",
          "notloggedin", "permissiondenied-bot", "blocked", "autoblocked"}
#: "Not now" refusals about the whole wiki rather than one page: when they outlast the retries
#: the run stops (the next run resumes) instead of meeting them again at every recipient.
_WIKI_WIDE = {"maxlag", "readonly", "ratelimited", "http-429"}
_UNCERTAIN_RETRIES = 3
_TRY_LATER_RETRIES = 3
_BACKOFF = 30.0  # seconds before the first resend when the wiki named no pause; then doubled
#: The longest pause waited out (a longer Retry-After stops the run): well under the lock's TTL.
_MAX_PAUSE = 300.0
#: Seconds between an unknown result and reading the page for the marker: a slow save may
#: still be finishing, and the read may come from a lagged replica.
_UNCERTAIN_PAUSE = 10.0
#: Ledger detail of recipients handed to MassMessage whose answer never came.
_MM_PENDING = "handed to MassMessage with the list "
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
            history: Mapping[str, PersonHistory] | None = None,
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
                        during_edits=during_edits, new_editors=new_editors, history=history,
                        preview=preview, sleep=sleep, clock=clock,
                        checkpoint=checkpoint or (lambda _name: None), lock=lock, owner=owner)
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
                    history: Mapping[str, PersonHistory] | None, preview: bool,
                    sleep: Callable[[float], None], clock: Callable[[], float],
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
        list_members=list_members, history=history)
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

    def pause(seconds: float) -> None:
        """Wait before sending again; the stop switches and the lock still hold afterwards."""
        sleep(seconds)
        safety.check()
        if not store.refresh_lock(lock, owner, _LOCK_TTL):
            raise DeliveryStopped("another sender took over this campaign's lock")

    for wiki, people in by_wiki.items():
        available = _available_languages(farm, event.wiki, campaign)
        queue: list[_Queued] | None = (
            [] if not preview and _massmessage_ready(event, campaign, farm, wiki) else None)

        def one(person: Participant, info: messages.TalkPageInfo, queue: list[_Queued] | None,
                wiki: str = wiki, available: Sequence[str] = available) -> DeliveryResult | None:
            return _deliver_one(
                event, campaign, person, wiki, info, farm, store, key,
                ledger.get(person.username) is not None, bot_user=bot_user, rights=rights,
                opted_out=opted_out, available=available, preview=preview, report=report,
                pace=lambda: _pace(last_edit, interval, sleep, clock), pause=pause,
                checkpoint=checkpoint, queue=queue)

        for chunk in _chunks(people, farm.batch_size(wiki)):
            todo = [p for p in chunk if _settled(ledger.get(p.username)) is None]
            for person in chunk:
                row = ledger.get(person.username)
                done = _settled(row)
                if done is not None:
                    # The ledger's note (a redirect followed, a marker found) is shown again, so
                    # the delivery log reads the same on every run.
                    report.results.append(DeliveryResult(
                        person.username, done, earlier=True, language=row.language if row else None,
                        note=row.detail if row else None))
            if not todo:
                continue
            titles = {p.username: messages.talk_page_title(p.username) for p in todo}
            pages = farm.talk_pages(wiki, list(titles.values()))
            for person in todo:
                if not preview:
                    safety.check()
                    if not store.refresh_lock(lock, owner, _LOCK_TTL):
                        raise DeliveryStopped("another sender took over this campaign's lock")
                result = one(person, pages[titles[person.username]], queue)
                if result is not None:
                    report.results.append(result)
        if queue:
            _send_massmessage(event, campaign, queue, farm, store, key, wiki, bot_user, report,
                              direct=lambda item: one(item.person, item.info, None))


def _settled(row: Delivery | None) -> Outcome | None:
    """The outcome an earlier run recorded, or None when the recipient still needs work."""
    if row is None:
        return None
    if row.state == "posted":
        return Posted(title=row.title, wiki=row.wiki, revid=row.revid or 0)
    if row.state == "intent" and (row.detail or "").startswith(_MM_PENDING):
        # MassMessage may have queued it: no marker can tell, so only a person may resend.
        return Failed(title=row.title, wiki=row.wiki, code="massmessage-unknown",
                      error=f"{row.detail}, but its answer never came; check the talk page, then "
                            "remove this ledger entry to send again")
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
                 pace: Callable[[], None], pause: Callable[[float], None],
                 checkpoint: Callable[[str], None],
                 queue: list[_Queued] | None = None) -> DeliveryResult | None:
    """Deliver to one recipient, or (MassMessage mode) put them in `queue` and return None."""
    note = (f"followed the redirect from [[{info.redirect_from}]] to [[{info.title}]]"
            if info.redirect_from else None)
    if info.text is not None and messages.has_marker(info.text, campaign.name, person.username):
        # Already there: an earlier run's edit was saved but not recorded (or resent).
        found = "already on the talk page (found its marker)"
        store.record_delivery(key, person.username, wiki=wiki, title=info.title, state="posted",
                              revid=info.revid, detail=found)
        return DeliveryResult(person.username, Posted(title=info.title, wiki=wiki, revid=info.revid or 0),
                              note=found)
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
    if queue is not None:
        queue.append(_Queued(person, info, lang))
        return None
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
    outcome = _send(farm, wiki, info.title, rendered, campaign.name, person.username, checkpoint,
                    pause)
    checkpoint("after-send")
    result = DeliveryResult(person.username, outcome, language=lang, note=note)
    if isinstance(outcome, Posted):
        store.record_delivery(key, person.username, wiki=wiki, title=info.title, state="posted",
                              revid=outcome.revid, detail=note, language=lang)
    elif isinstance(outcome, Failed):
        store.record_delivery(key, person.username, wiki=wiki, title=info.title, state="failed",
                              detail=f"{outcome.code}: {outcome.error}")
        stop = _stop_reason(outcome)
        if stop is not None:
            report.results.append(result)
            raise DeliveryStopped(stop)
    checkpoint("after-record")
    return result


def _stop_reason(outcome: Failed) -> str | None:
    """Why a failure must stop the whole run, or None when only this recipient failed."""
    code = outcome.code or ""
    if code in _FATAL or code.startswith("globalblocking"):
        return f"the wiki refused the bot ({code}: {outcome.error})"
    if isinstance(outcome, TryLater) and code in _WIKI_WIDE:
        return (f"{outcome.wiki} keeps refusing edits for now ({code}: {outcome.error}); "
                "the next run continues from here")
    return None


def _send(farm: Farm, wiki: str, title: str, rendered: messages.RenderedMessage, campaign: str,
          username: str, checkpoint: Callable[[str], None], pause: Callable[[float], None]) -> Outcome:
    """Post once, and again only when that cannot make a second copy.

    `TryLater` (nothing was saved; the wiki asked for a pause): wait as long as it asked (else
    30 s, doubling) and send again, at most `_TRY_LATER_RETRIES` times; maxlag is not retried
    here, pywikibot has already paused `config.max_retries` times, and a pause over
    `_MAX_PAUSE` is not waited out. `uncertain` (no answer): wait, read the page; its marker
    says whether the message arrived; if not, send again (at most `_UNCERTAIN_RETRIES` sends).
    """
    later = unknown = 0
    while True:
        outcome = farm.post_new_section(wiki, title, rendered.title, rendered.text, rendered.summary)
        if isinstance(outcome, TryLater):
            wait = outcome.retry_after if outcome.retry_after is not None else _BACKOFF * 2 ** later
            if outcome.code == "maxlag" or later >= _TRY_LATER_RETRIES or wait > _MAX_PAUSE:
                return outcome
            later += 1
            log.warning("%s: %s (%s); sending again in %.0f s", title, outcome.code, outcome.error, wait)
            pause(wait)
            continue
        if not (isinstance(outcome, Failed) and outcome.code == "uncertain"):
            return outcome
        unknown += 1
        checkpoint("uncertain")
        pause(_UNCERTAIN_PAUSE)
        fresh = farm.talk_pages(wiki, [title])[title]
        if fresh.text is not None and messages.has_marker(fresh.text, campaign, username):
            return Posted(title=title, wiki=wiki, revid=fresh.revid or 0)
        if unknown >= _UNCERTAIN_RETRIES:
            return outcome
        log.warning("%s: send %d of %d had an unknown result and did not arrive; retrying",
                    title, unknown, _UNCERTAIN_RETRIES)


# --- MassMessage mode -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Queued:
    """A checked recipient waiting for the MassMessage request of their language."""

    person: Participant
    info: messages.TalkPageInfo
    lang: str


def _massmessage_ready(event: EventConfig, campaign: CampaignConfig, farm: Farm, wiki: str) -> bool:
    """MassMessage mode applies: configured, installed on `wiki`, and the bot may use it."""
    if not event.delivery.massmessage:
        return False
    if "{username}" in campaign.title:
        log.info("%s: the title names each recipient, which MassMessage cannot; sending directly",
                 campaign.name)
        return False
    if not farm.has_extension(wiki, "MassMessage"):
        log.info("%s has no MassMessage; sending directly", wiki)
        return False
    _blocked, rights, _reason = farm.bot_status(wiki)
    if "massmessage" not in rights:
        log.info("the bot lacks the 'massmessage' right on %s; sending directly", wiki)
        return False
    return True


def massmessage_list_title(event: EventConfig, campaign: CampaignConfig, lang: str, bot_user: str) -> str:
    """The delivery list page of one campaign and language: the bot's own page, whole."""
    return f"User:{bot_user}/Delivery lists/{event.id}/{campaign.name}/{lang}"


def _massmessage_text(event: EventConfig, campaign: CampaignConfig, lang: str,
                      bot_user: str) -> tuple[str, str]:
    """(subject, message) for MassMessage: the same `{{subst:...}}` as a direct message, the
    username taken from each target page (`{{subst:ROOTPAGENAME}}`) as MassMessage saves it.
    No signature (MassMessage signs) and no marker (the text is the same for everyone)."""
    stand_in = Participant(username="Eventbot recipient", status=Status.REGISTERED,
                           statuses=frozenset({Status.REGISTERED}), signups=())
    rendered = messages.render_message(campaign, event.title, stand_in, lang, bot_user=bot_user)
    body = rendered.body.replace("|username=Eventbot recipient|", "|username={{subst:ROOTPAGENAME}}|", 1)
    return rendered.title, body


def _send_massmessage(event: EventConfig, campaign: CampaignConfig, queue: Sequence[_Queued], farm: Farm,
                      store: Store, key: str, wiki: str, bot_user: str, report: CampaignReport, *,
                      direct: Callable[[_Queued], DeliveryResult | None]) -> None:
    """One delivery list and one `action=massmessage` per language; each recipient ends posted
    ("queued by MassMessage"). When the wiki refuses (nothing was queued) they are sent
    directly; when the answer never comes they stay pending for a person to check."""
    by_lang: dict[str, list[_Queued]] = {}
    for item in queue:
        by_lang.setdefault(item.lang, []).append(item)
    for lang, items in by_lang.items():
        page = massmessage_list_title(event, campaign, lang, bot_user)
        listing = exports.to_massmessage([item.person for item in items])
        written = farm.edit(wiki, page, listing + "\n",
                            f"eventbot: delivery list of the {campaign.name} follow-up ({lang})",
                            base=farm.read_page(wiki, page))
        if isinstance(written, Failed):
            answer: int | Failed = written
        else:
            pending = f"{_MM_PENDING}[[{page}]]"
            for item in items:
                store.record_delivery(key, item.person.username, wiki=wiki, title=item.info.title,
                                      state="intent", detail=pending, language=lang)
            subject, message = _massmessage_text(event, campaign, lang, bot_user)
            answer = farm.massmessage(wiki, page, subject, message)
        if isinstance(answer, int):
            if answer != len(items):
                log.warning("MassMessage queued %d messages for the %d targets of [[%s]]",
                            answer, len(items), page)
            for item in items:
                detail = f"queued by MassMessage via [[{page}]]"
                store.record_delivery(key, item.person.username, wiki=wiki, title=item.info.title,
                                      state="posted", detail=detail, language=lang)
                report.results.append(DeliveryResult(
                    item.person.username, Posted(title=item.info.title, wiki=wiki, revid=0),
                    language=lang, note=detail))
        elif answer.code == "uncertain":
            for item in items:  # their ledger rows stay "intent" with the list: never resent blindly
                report.results.append(DeliveryResult(item.person.username, Failed(
                    title=item.info.title, wiki=wiki, code="massmessage-unknown",
                    error=f"{_MM_PENDING}[[{page}]], but its answer never came ({answer.error})"),
                    language=lang))
        else:
            log.warning("MassMessage did not take [[%s]] (%s: %s); sending directly",
                        page, answer.code, answer.error)
            for item in items:
                result = direct(item)
                if result is not None:
                    report.results.append(result)


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
