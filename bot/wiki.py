"""The one module that talks to wikis. Everything else in eventbot is pure.

It owns: turning database names (`metawiki`, `tewiki`) into pywikibot sites, batched queries
with continuation always followed, counting every request (so runs can report their cost
against the lower bound), edits based on the revision read (edit conflicts are retried on the
new text, never clobbered), and mapping every API error to an `Outcome` value with the raw
`code` and `info` kept. pywikibot itself handles login, tokens, maxlag (`write_maxlag`),
`Retry-After` and `-simulate`.
"""

from __future__ import annotations

import dataclasses
import email.utils
import hashlib
import logging
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pywikibot
import requests
from pywikibot.comms import http
from pywikibot.data import api
from pywikibot.exceptions import APIError, CaptchaError, MaxlagTimeoutError
from pywikibot.exceptions import Error as PywikibotError

from bot import sections, usernames
from bot.messages import TalkPageInfo
from bot.models import Contribution, Failed, Outcome, Posted, Skipped, Unchanged, UserInfo

__all__ = ["Farm", "PageText", "TryLater", "UnknownWiki", "WikiRequestError", "retry_after_seconds",
           "site_code"]

log = logging.getLogger(__name__)

#: Wikimedia database-name suffixes and the pywikibot family each belongs to.
_WIKIMEDIA_SUFFIXES = {
    "wiki": "wikipedia",
    "wiktionary": "wiktionary",
    "wikibooks": "wikibooks",
    "wikinews": "wikinews",
    "wikiquote": "wikiquote",
    "wikisource": "wikisource",
    "wikiversity": "wikiversity",
    "wikivoyage": "wikivoyage",
}
_WIKIMEDIA_SPECIAL = {
    "metawiki": ("meta", "meta"),
    "commonswiki": ("commons", "commons"),
    "wikidatawiki": ("wikidata", "wikidata"),
    "mediawikiwiki": ("mediawiki", "mediawiki"),
    "specieswiki": ("species", "species"),
    "incubatorwiki": ("incubator", "incubator"),
    "outreachwiki": ("outreach", "outreach"),
}
_EDIT_CONFLICT_RETRIES = 3


def site_code(dbname: str, family: str) -> tuple[str, str]:
    """(code, family) of a wiki given its database name.

    A family that lists database names as codes (the sandbox farm) is used as it is; from a
    Wikimedia family, Wikimedia's naming applies: `tewiki` → ('te', 'wikipedia'), `metawiki` →
    ('meta', 'meta'). Any other family never reaches a Wikimedia wiki: an unknown database name
    raises `UnknownWiki` (the sandbox must not turn `enwiki` into the real Wikipedia).
    """
    fam = pywikibot.family.Family.load(family)
    if dbname in fam.langs:
        return dbname, family
    if not isinstance(fam, pywikibot.family.WikimediaFamily):
        raise UnknownWiki(f"the wiki family {family!r} has no wiki {dbname!r}")
    if dbname in _WIKIMEDIA_SPECIAL:
        return _WIKIMEDIA_SPECIAL[dbname]
    for suffix in sorted(_WIKIMEDIA_SUFFIXES, key=len, reverse=True):
        if dbname.endswith(suffix):
            return dbname[: -len(suffix)].replace("_", "-"), _WIKIMEDIA_SUFFIXES[suffix]
    raise UnknownWiki(f"cannot tell which wiki the database name {dbname!r} is")


class UnknownWiki(ValueError):
    """A database name the configured wiki family has no site for."""


class WikiRequestError(RuntimeError):
    """A request outside the action API (REST) failed; the message has the status and reason."""


@dataclass(frozen=True)
class TryLater(Failed):
    """The wiki saved nothing and said "not now": maxlag, `ratelimited`, `readonly`, HTTP 429,
    an edit conflict. Sending again after a pause is safe; `retry_after` is the pause in
    seconds the wiki asked for (a `Retry-After` header or the rate limit), when it named one."""

    retry_after: float | None = None


@dataclass(frozen=True)
class PageText:
    """A page as read: its text and the revision the text belongs to (for conflict detection)."""

    wiki: str
    title: str
    exists: bool
    text: str = ""
    revid: int | None = None
    timestamp: str | None = None
    read_at: str | None = None


class Farm:
    """Access to every wiki an event touches, with one request counter per wiki."""

    def __init__(self, family: str | None = None, user: str | None = None,
                 batch: int | None = None) -> None:
        self.family = family or str(pywikibot.config.family)
        self.user = user
        self.batch = batch  # force a batch size (tests); None: 50, or 500 with apihighlimits
        self.requests: Counter[str] = Counter()
        #: requests per (wiki, kind), kind being the list/prop/meta module or the action
        self.calls: Counter[tuple[str, str]] = Counter()
        self._sites: dict[str, Any] = {}

    # -- sites and raw calls --------------------------------------------------------------

    def site(self, dbname: str) -> Any:
        """The logged-in pywikibot site for a database name (cached)."""
        if dbname not in self._sites:
            code, family = site_code(dbname, self.family)
            site = pywikibot.Site(code, family, user=self.user)
            self._sites[dbname] = site
        return self._sites[dbname]

    def knows(self, dbname: str) -> bool:
        """Whether the configured family has a site for this database name."""
        try:
            site_code(dbname, self.family)
        except UnknownWiki:
            return False
        return True

    def global_wikis(self, dbname: str, names: Sequence[str]) -> dict[str, list[str]]:
        """Per user, the database names of the wikis where their global account has edits
        (CentralAuth's `meta=globaluserinfo&guiprop=merged`; it takes one user a request)."""
        out: dict[str, list[str]] = {}
        for name in names:
            result = self.call(dbname, action="query", meta="globaluserinfo", guiuser=name,
                               guiprop="merged")
            info = result.get("query", {}).get("globaluserinfo", {})
            out[name] = sorted(str(m["wiki"]) for m in info.get("merged", [])
                               if int(m.get("editcount", 0)) > 0 and "wiki" in m)
        return out

    def upload(self, dbname: str, filename: str, data: bytes, comment: str, text: str) -> Outcome:
        """Upload `data` as File:`filename`, unless the wiki already has exactly these bytes
        there (compared by SHA-1, one request), so an unchanged chart is never uploaded again."""
        title = f"File:{filename}"
        digest = hashlib.sha1(data).hexdigest()
        for part in self.query(dbname, titles=title, prop="imageinfo", iiprop="sha1"):
            for page in part.get("pages", []):
                info = (page.get("imageinfo") or [{}])[0]
                if info.get("sha1") == digest:
                    return Unchanged(title=title, wiki=dbname)
        if self.simulate:
            log.info("SIMULATION: would upload [[%s]] on %s", title, dbname)
            return Posted(title=title, revid=0, wiki=dbname, simulated=True)
        site = self.site(dbname)
        with tempfile.NamedTemporaryFile(suffix="-" + filename) as handle:
            handle.write(data)
            handle.flush()
            self.requests[dbname] += 1
            self.calls[dbname, "upload"] += 1
            try:
                page = pywikibot.FilePage(site, title)
                site.upload(page, source_filename=handle.name, summary=comment, text=text,
                            ignore_warnings=True, report_success=False)
            except APIError as exc:
                return Failed(title=title, wiki=dbname, error=exc.info, code=exc.code)
            except PywikibotError as exc:
                return Failed(title=title, wiki=dbname, error=str(exc), code=type(exc).__name__)
        return Posted(title=title, wiki=dbname, revid=int(page.latest_revision_id or 0))

    def page_url(self, dbname: str, title: str) -> str:
        """The page's address for people (no request is made)."""
        site = self.site(dbname)
        path = quote(title.replace(" ", "_"), safe="/:~!$'()*,;@")
        return str(site.base_url(site.articlepath.format(path)))

    def login(self, dbname: str) -> None:
        self.site(dbname).login()

    @property
    def simulate(self) -> bool:
        return bool(pywikibot.config.simulate)

    def call(self, dbname: str, **params: Any) -> dict[str, Any]:
        """One API request, counted. Raises pywikibot's APIError with the raw code and info."""
        params.setdefault("formatversion", 2)
        self.requests[dbname] += 1
        kind = params.get("list") or params.get("prop") or params.get("meta") or params.get("action")
        self.calls[dbname, str(kind)] += 1
        request = api.Request(site=self.site(dbname), parameters=params)
        result: dict[str, Any] = request.submit()
        return result

    def query(self, dbname: str, **params: Any) -> Iterator[dict[str, Any]]:
        """The `query` part of every result page, following `continue` to the end."""
        for result in self.query_results(dbname, **params):
            yield result.get("query", {})

    def query_results(self, dbname: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every whole result of a query, following `continue` to the end (never stopping at
        the first page, which is how batch tools lose users)."""
        params = {"action": "query", **params}
        while True:
            result = self.call(dbname, **params)
            yield result
            cont = result.get("continue")
            if not cont:
                return
            params.update(cont)

    def batch_size(self, dbname: str) -> int:
        """How many titles or users one request may name: 500 with apihighlimits, else 50."""
        if self.batch is not None:
            return self.batch
        site = self.site(dbname)
        try:
            return 500 if site.has_right("apihighlimits") else 50
        except PywikibotError:
            return 50

    # -- pages ----------------------------------------------------------------------------

    def read_pages(self, dbname: str, titles: Sequence[str]) -> dict[str, PageText]:
        """Current text of many pages, in batches; keys are the titles as asked."""
        out: dict[str, PageText] = {}
        size = self.batch_size(dbname)
        for chunk in _chunks(list(dict.fromkeys(titles)), size):
            aliases: dict[str, str] = {t: t for t in chunk}
            for result in self.query_results(
                dbname, prop="revisions", rvprop="ids|timestamp|content", rvslots="main",
                titles="|".join(chunk), curtimestamp=1,
            ):
                part = result.get("query", {})
                for item in part.get("normalized", []):
                    aliases[item["to"]] = aliases.pop(item["from"], item["from"])
                for page in part.get("pages", []):
                    asked = aliases.get(page["title"], page["title"])
                    out[asked] = _page_text(dbname, page, result.get("curtimestamp"))
        return out

    def read_page(self, dbname: str, title: str) -> PageText:
        return self.read_pages(dbname, [title])[title]

    def prefix_titles(self, dbname: str, prefix: str) -> list[str]:
        """Titles of every subpage under `prefix/` (for application subpages)."""
        site = self.site(dbname)
        title = pywikibot.Page(site, prefix)
        ns = title.namespace().id
        base = title.title(with_ns=False)
        titles: list[str] = []
        for part in self.query(dbname, list="allpages", apnamespace=ns, apprefix=base + "/",
                               aplimit="max"):
            titles.extend(p["title"] for p in part.get("allpages", []))
        return titles

    def edit(self, dbname: str, title: str, text: str, summary: str, *,
             base: PageText | None = None, minor: bool = False) -> Outcome:
        """Save `text`, based on the revision in `base` so a concurrent edit is a conflict."""
        if self.simulate:
            log.info("SIMULATION: would edit [[%s]] on %s (%s)", title, dbname, summary)
            return Posted(title=title, revid=0, wiki=dbname, simulated=True)
        site = self.site(dbname)
        params: dict[str, Any] = {
            "action": "edit", "title": title, "text": text, "summary": summary, "bot": 1,
            "token": site.tokens["csrf"],
            # pywikibot keeps one cookie jar per host: never let a session that changed under
            # us save an edit as somebody else.
            "assertuser": site.username(),
        }
        params["minor" if minor else "notminor"] = 1
        if base is not None:
            if base.exists:
                # Only baserevid, never basetimestamp: MediaWiki suppresses a "conflict with
                # yourself" when no other user edited *after* basetimestamp (strictly), so a
                # person's edit in the same second as the bot's own base revision was silently
                # overwritten (caught by test_report_sandbox). baserevid names the exact revision.
                params["baserevid"] = base.revid
                params["nocreate"] = 1
            else:
                params["createonly"] = 1
            if base.read_at:
                params["starttimestamp"] = base.read_at
        try:
            result = self.call(dbname, **params)
        except APIError as exc:
            return _api_failure(dbname, title, exc)
        except PywikibotError as exc:
            return Failed(title=title, wiki=dbname, error=str(exc), code=type(exc).__name__)
        return _edit_outcome(dbname, title, result)

    def post_new_section(self, dbname: str, title: str, section_title: str, text: str,
                         summary: str) -> Outcome:
        """Add a new section to a talk page, sent exactly once by this call.

        pywikibot resends a POST after a read timeout, a 5xx, a non-JSON answer or a "try
        again" error, even when the wiki has already saved it, and `section=new` has no base
        revision to stop a second copy. So this request is never resent here (see
        `_OneShotRequest`): a send whose fate is unknown comes back as `Failed(code="uncertain")`
        and the caller looks for the message's marker before trying again; a refusal that
        proves nothing was saved and asks for a pause (maxlag after pywikibot's own pauses,
        `ratelimited`, `readonly`, HTTP 429, an edit conflict) comes back as `TryLater`, with
        the `Retry-After` the wiki named. Every other refusal is a `Failed` with the API's code.
        """
        if self.simulate:
            log.info("SIMULATION: would add section %r to [[%s]] on %s", section_title, title, dbname)
            return Posted(title=title, revid=0, wiki=dbname, simulated=True)
        site = self.site(dbname)
        answer = self._write_once(dbname, title, {
            "action": "edit", "title": title, "section": "new", "sectiontitle": section_title,
            "text": text, "summary": summary, "bot": 1, "notminor": 1,
            "token": site.tokens["csrf"], "assertuser": site.username(), "formatversion": 2,
        })
        return answer if isinstance(answer, Failed) else _edit_outcome(dbname, title, answer)

    def has_extension(self, dbname: str, name: str) -> bool:
        """Whether the wiki runs the extension `name` (one counted `meta=siteinfo` request; not
        pywikibot's siteinfo, which may come from a month-old disk cache)."""
        result = self.call(dbname, action="query", meta="siteinfo", siprop="extensions")
        extensions = result.get("query", {}).get("extensions", [])
        return any(ext.get("name") == name for ext in extensions)

    def massmessage(self, dbname: str, spamlist: str, subject: str, message: str) -> int | Failed:
        """Ask MassMessage to deliver `message` under the heading `subject` to every target of
        the delivery list page `spamlist`; the number of messages it queued, or why not.

        Sent once, like `post_new_section` (a second request would queue every message
        again): an unknown fate is `Failed(code="uncertain")` and is never retried blindly.
        """
        if self.simulate:
            log.info("SIMULATION: would send %r to the list [[%s]] on %s", subject, spamlist, dbname)
            return 0
        answer = self._write_once(dbname, spamlist, {
            "action": "massmessage", "spamlist": spamlist, "subject": subject, "message": message,
            "token": self.site(dbname).tokens["csrf"], "formatversion": 2,
        })
        if isinstance(answer, Failed):
            return answer
        queued = answer.get("massmessage", {})
        if queued.get("result") != "success":
            return Failed(title=spamlist, wiki=dbname, code="massmessage-failure", error=str(answer)[:300])
        return int(queued.get("count", 0))

    def _write_once(self, dbname: str, title: str, params: dict[str, Any]) -> dict[str, Any] | Failed:
        """Send one write request exactly once: its result, or a Failed / TryLater saying what
        happened (`uncertain` when the wiki may or may not have acted on it)."""
        self.requests[dbname] += 1
        self.calls[dbname, str(params["action"])] += 1
        request = _OneShotRequest(site=self.site(dbname), parameters=params, max_retries=0)
        try:
            result: dict[str, Any] = request.submit()
        except _NotSaved as exc:
            return TryLater(title=title, wiki=dbname, code=exc.code, error=exc.info,
                            retry_after=exc.retry_after)
        except MaxlagTimeoutError as exc:
            # pywikibot already paused `config.max_retries` times, as the wiki asked.
            return TryLater(title=title, wiki=dbname, code="maxlag", error=str(exc))
        except APIError as exc:
            return _api_failure(dbname, title, exc)
        except CaptchaError as exc:
            return Failed(title=title, wiki=dbname, code="captcha", error=f"{_CAPTCHA}: {exc}")
        except _FateUnknown as exc:
            # Timeout, connection reset, 5xx, a garbled answer: it may or may not have been saved.
            return Failed(title=title, wiki=dbname, error=str(exc), code="uncertain")
        except (PywikibotError, OSError) as exc:
            return Failed(title=title, wiki=dbname, error=f"{type(exc).__name__}: {exc}",
                          code="uncertain")
        if params["action"] not in result:  # an answer, but not to this request
            return Failed(title=title, wiki=dbname, code="uncertain",
                          error=f"the answer has no '{params['action']}' part: {str(result)[:200]}")
        return result

    def talk_pages(self, dbname: str, titles: Sequence[str],
                   optout_category: str = "Opted-out of message delivery") -> dict[str, TalkPageInfo]:
        """Everything a follow-up precheck needs about many talk pages, 50 (or 500) a request:
        text, content model, protection, the opt-out category and exclusion templates.

        A redirect to another user talk page on the same wiki is followed (renamed users) and
        the target is described, with `redirect_from` recording where it came from; any other
        redirect is left for the precheck to refuse.
        """
        out: dict[str, TalkPageInfo] = {}
        for chunk in _chunks(list(dict.fromkeys(titles)), self.batch_size(dbname)):
            normalized: dict[str, str] = {}
            redirects: dict[str, str] = {}
            pages: dict[str, dict[str, Any]] = {}
            for part in self.query(
                dbname, titles="|".join(chunk), redirects=1,
                prop="info|revisions|categories|templates", inprop="protection",
                rvprop="content|ids|timestamp", rvslots="main",
                clcategories=f"Category:{optout_category}", cllimit="max",
                tltemplates="Template:Bots|Template:Nobots", tllimit="max",
            ):
                normalized.update({n["from"]: n["to"] for n in part.get("normalized", [])})
                redirects.update({r["from"]: r["to"] for r in part.get("redirects", [])})
                for page in part.get("pages", []):
                    merged = pages.setdefault(page["title"], {})
                    for key, value in page.items():
                        if isinstance(value, list) and isinstance(merged.get(key), list):
                            merged[key] = merged[key] + value
                        else:
                            merged.setdefault(key, value)
            user_talk = self.site(dbname).namespaces[3]
            for asked in chunk:
                title = normalized.get(asked, asked)
                target = redirects.get(title)
                if target is not None and not _in_namespace(target, user_talk):
                    out[asked] = TalkPageInfo(title=title, exists=True, redirect_to=target)
                    continue
                page = pages.get(target or title, {"title": target or title, "missing": True})
                out[asked] = _talk_page_info(page, redirect_from=title if target else None)
        return out

    def linked_users(self, dbname: str, title: str) -> frozenset[str]:
        """Users whose user or user talk page is linked from a page (opt-out and audience lists)."""
        names: set[str] = set()
        for part in self.query(dbname, titles=title, prop="links", plnamespace="2|3", pllimit="max"):
            for page in part.get("pages", []):
                for link in page.get("links", []):
                    names.add(link["title"].split(":", 1)[1].split("/", 1)[0])
        return frozenset(names)

    def bot_status(self, dbname: str) -> tuple[bool, frozenset[str], str | None]:
        """(blocked, rights, block reason) of the account the bot runs as."""
        result = self.call(dbname, action="query", meta="userinfo", uiprop="blockinfo|rights")
        info = result.get("query", {}).get("userinfo", {})
        blocked = "blockid" in info
        return blocked, frozenset(info.get("rights", [])), info.get("blockreason") if blocked else None

    def parse_preview(self, dbname: str, title: str, wikitext: str) -> str:
        """The HTML MediaWiki makes of `wikitext` (with subst: applied, as a save would), for
        previews; nothing is saved."""
        result = self.call(dbname, action="parse", title=title, text=wikitext, pst=1,
                           prop="text", disablelimitreport=1, contentmodel="wikitext")
        return str(result.get("parse", {}).get("text", ""))

    def write_section(self, dbname: str, title: str, name: str, body: str, summary: str) -> Outcome:
        """Put `body` in the bot-owned section `name` of a page; nothing else on it changes.

        No edit when the section already says the same (stamps aside). An edit conflict (a
        person saved in between) is retried on the fresh text, up to three times.
        """
        for _attempt in range(_EDIT_CONFLICT_RETRIES):
            page = self.read_page(dbname, title)
            try:
                current = sections.extract(page.text, name, title)
                new_text = sections.replace(page.text, name, body, title)
            except sections.SectionError as exc:
                return Skipped(title=title, wiki=dbname, reason=str(exc))
            if sections.same_content(current, body):
                return Unchanged(title=title, wiki=dbname)
            outcome = self.edit(dbname, title, new_text, summary, base=page)
            if isinstance(outcome, Failed) and outcome.code == "editconflict":
                log.info("edit conflict on [[%s]]; reading it again", title)
                continue
            return outcome
        return Failed(title=title, wiki=dbname, code="editconflict",
                      error=f"still conflicting after {_EDIT_CONFLICT_RETRIES} tries")

    # -- REST API ---------------------------------------------------------------------------

    def rest_get(self, dbname: str, route: str, params: dict[str, str]) -> Any:
        """One counted GET from the wiki's REST API (`rest.php/<route>`), decoded from JSON.

        Raises `WikiRequestError` with the HTTP status and the body's message on failure.
        """
        site = self.site(dbname)
        url = f"{site.protocol()}://{site.hostname()}{site.scriptpath()}/rest.php/{route}"
        self.requests[dbname] += 1
        self.calls[dbname, "rest:" + route.split("/", 1)[0]] += 1
        try:
            response = http.fetch(url, params=params, headers={"Accept": "application/json"})
        except (PywikibotError, OSError) as exc:
            raise WikiRequestError(f"{url}: {exc}") from exc
        if response.status_code != 200:
            try:
                detail = response.json().get("messageTranslations", {}).get("en") or response.text
            except ValueError:
                detail = response.text
            raise WikiRequestError(f"{url}: HTTP {response.status_code}: {str(detail)[:300]}")
        return response.json()

    def campaignevents_participants(self, dbname: str, registration_id: int,
                                    *, include_private: bool = False) -> list[dict[str, Any]]:
        """Every participant of a CampaignEvents registration, following `last_participant_id`
        paging until an empty page. Private participants are listed only to organisers of the
        event (`include_private` needs that right)."""
        route = f"campaignevents/v0/event_registration/{registration_id}/participants"
        items: list[dict[str, Any]] = []
        params = {"include_private": "true" if include_private else "false"}
        while True:
            page = self.rest_get(dbname, route, params)
            if not isinstance(page, list):
                raise WikiRequestError(f"{route}: expected a JSON list, got {type(page).__name__}")
            if not page:
                return items
            items.extend(page)
            params["last_participant_id"] = str(page[-1]["participant_id"])

    # -- contributions --------------------------------------------------------------------

    def contributions(self, dbname: str, users: Sequence[str], start: datetime, end: datetime,
                      *, on_batch: Any = None) -> list[Contribution]:
        """Every edit by `users` on a wiki with start <= timestamp < end.

        One `list=usercontribs` request names up to 50 users (500 with apihighlimits) and asks
        for `uclimit=max`; continuation is always followed to the end, so heavy editors never
        push light ones out of a batch. Page creations in the main namespace are then checked
        for redirects in batches of page ids. `on_batch(done, total)` reports progress.
        """
        found: list[Contribution] = []
        names = list(dict.fromkeys(users))
        size = self.batch_size(dbname)
        total = -(-len(names) // size)
        for index, chunk in enumerate(_chunks(names, size), start=1):
            for part in self.query(
                dbname, list="usercontribs", ucuser="|".join(chunk), uclimit="max",
                ucstart=_api_time(end), ucend=_api_time(start), ucdir="older",
                ucprop="ids|title|timestamp|sizediff|flags",
            ):
                for item in part.get("usercontribs", []):
                    contribution = _contribution(dbname, item)
                    if start <= contribution.timestamp < end:  # ucstart/ucend are inclusive
                        found.append(contribution)
            if on_batch is not None:
                on_batch(index, total)
        return self._mark_redirects(dbname, found)

    def _mark_redirects(self, dbname: str, contribs: list[Contribution]) -> list[Contribution]:
        created = sorted({c.page_id for c in contribs if c.created and c.namespace == 0 and c.page_id})
        redirects: set[int] = set()
        for chunk in _chunks([str(i) for i in created], self.batch_size(dbname)):
            for part in self.query(dbname, prop="info", pageids="|".join(chunk)):
                redirects.update(int(p["pageid"]) for p in part.get("pages", []) if p.get("redirect"))
        if not redirects:
            return contribs
        return [dataclasses.replace(c, redirect=True) if c.page_id in redirects else c
                for c in contribs]

    # -- users ----------------------------------------------------------------------------

    def users(self, dbname: str, names: Iterable[str]) -> dict[str, UserInfo]:
        """What the wiki knows about each account, in batches of 50 (500 with apihighlimits).

        Accounts that do not exist are looked up in the rename log; a renamed account maps to
        the UserInfo of its new name with `renamed_to` set.
        """
        wanted = list(dict.fromkeys(names))
        infos = self._list_users(dbname, wanted)
        missing = [n for n in wanted if not infos[n].exists and not infos[n].is_ip]
        renames = {old: new for old in missing if (new := self._renamed_to(dbname, old))}
        if renames:
            renamed = self._list_users(dbname, list(dict.fromkeys(renames.values())))
            for old, new in renames.items():
                info = renamed[new]
                infos[old] = UserInfo(
                    name=info.name, exists=info.exists, user_id=info.user_id,
                    editcount=info.editcount, registration=info.registration, groups=info.groups,
                    blocked=info.blocked, renamed_to=new,
                )
        return infos

    def _list_users(self, dbname: str, names: list[str]) -> dict[str, UserInfo]:
        out: dict[str, UserInfo] = {}
        for chunk in _chunks(names, self.batch_size(dbname)):
            for part in self.query(dbname, list="users", ususers="|".join(chunk),
                                   usprop="blockinfo|editcount|registration|groups"):
                for user in part.get("users", []):
                    out[user["name"]] = _user_info(user)
        for name in names:
            out.setdefault(name, UserInfo(name=name, exists=False, is_ip=usernames.is_ip(name)))
        return out

    def _renamed_to(self, dbname: str, old: str) -> str | None:
        for part in self.query(dbname, list="logevents", letype="renameuser",
                               letitle=f"User:{old}", leprop="details|timestamp", lelimit=5):
            for event in part.get("logevents", []):
                new = event.get("params", {}).get("newuser")
                if new:
                    return str(new)
        return None


def _in_namespace(title: str, namespace: Any) -> bool:
    prefix = title.split(":", 1)[0] if ":" in title else ""
    return any(prefix.casefold() == str(name).casefold() for name in namespace)


def _talk_page_info(page: dict[str, Any], redirect_from: str | None) -> TalkPageInfo:
    if page.get("missing") or page.get("invalid"):
        return TalkPageInfo(title=page["title"], exists=False, redirect_from=redirect_from)
    revision = (page.get("revisions") or [{}])[0]
    return TalkPageInfo(
        title=page["title"], exists=True, redirect_from=redirect_from,
        content_model=page.get("contentmodel", "wikitext"),
        protection=tuple((p["type"], p["level"]) for p in page.get("protection", [])),
        categories=frozenset(c["title"] for c in page.get("categories", [])),
        templates=frozenset(t["title"] for t in page.get("templates", [])),
        text=revision.get("slots", {}).get("main", {}).get("content"),
        revid=revision.get("revid"),
    )


_CAPTCHA = ("the wiki asked for a CAPTCHA; the bot does not solve CAPTCHAs (give the account the "
            "'skipcaptcha' right, e.g. the bot flag)")
_TRY_LATER_CODES = frozenset({"editconflict"})  # API errors (not retried by pywikibot) that saved nothing
_BLOCK_CODES = ("blocked", "autoblocked")
_TAGS = re.compile(r"<[^>]*>")


def _edit_outcome(dbname: str, title: str, result: dict[str, Any]) -> Outcome:
    """Posted, Unchanged or Failed from an `action=edit` result. A result that is not
    "Success" (CAPTCHA, abuse filter warning, spam blacklist) keeps its details."""
    edit = result.get("edit", {})
    if edit.get("result") != "Success":
        if "captcha" in edit:
            return Failed(title=title, wiki=dbname, code="captcha", error=_CAPTCHA)
        if "spamblacklist" in edit:
            return Failed(title=title, wiki=dbname, code="spamblacklist",
                          error=f"the spam blacklist refused the link(s) {edit['spamblacklist']}")
        code = str(edit.get("code") or edit.get("result") or "failure")
        error = str(edit.get("info") or edit)
        if edit.get("warning"):  # older AbuseFilter: the filter's message, as HTML
            error = f"{error}: {_plain(str(edit['warning']))}"
        return Failed(title=title, wiki=dbname, code=code, error=error)
    if "nochange" in edit:
        return Unchanged(title=title, wiki=dbname)
    return Posted(title=title, revid=int(edit["newrevid"]), wiki=dbname)


def _api_failure(dbname: str, title: str, exc: APIError) -> Failed:
    """The Failed of an API error, keeping its code and adding what an organiser needs:
    who blocked the bot and why, which abuse filter refused and its message.

    A partial block (only some pages or namespaces) gets the code `blocked-partial`, so that
    only a block of the whole account stops a delivery run.
    """
    code, info, other = str(exc.code), str(exc.info), dict(exc.other)
    if code in _TRY_LATER_CODES:
        return TryLater(title=title, wiki=dbname, code=code, error=info)
    block = other.get("blockinfo")
    if (code in _BLOCK_CODES or code.startswith("globalblocking")) and isinstance(block, dict):
        expiry = block.get("blockexpiry", "?")
        info = (f"{_plain(info)} (blocked by {block.get('blockedby', '?')}: "
                f"{_plain(str(block.get('blockreason', '')))}; expires {expiry})")
        if block.get("blockpartial"):
            return Failed(title=title, wiki=dbname, code="blocked-partial", error=info)
    abusefilter = other.get("abusefilter")
    if code.startswith("abusefilter") and isinstance(abusefilter, dict):
        info = (f"abuse filter {abusefilter.get('id', '?')} "
                f"({_plain(str(abusefilter.get('description', '')))}): {_plain(info)}")
    return Failed(title=title, wiki=dbname, code=code, error=info)


def _plain(text: str) -> str:
    """Text without HTML tags and with whitespace folded (API messages may carry HTML)."""
    return " ".join(_TAGS.sub("", text).split())


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delay-seconds or an HTTP date (RFC 9110);
    None when absent or unreadable."""
    if not value or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class _NotSaved(Exception):
    """The wiki refused a one-shot request before saving anything and asked for a pause."""

    def __init__(self, code: str, info: str, retry_after: float | None) -> None:
        super().__init__(f"{code}: {info}")
        self.code = code
        self.info = info
        self.retry_after = retry_after


class _FateUnknown(Exception):
    """A one-shot request may have reached the wiki, but no answer came back."""


class _OneShotRequest(api.Request):  # type: ignore[misc]  # pywikibot is untyped
    """An API write that pywikibot sends exactly once.

    pywikibot answers a timeout, a 5xx, a non-JSON body and the "try again" API errors
    (`readonly`, `ratelimited`, database errors) by waiting and sending the same POST again.
    Here each of those becomes an exception instead: `_FateUnknown` when the request may have
    been acted on (a database error while saving counts as that), `_NotSaved` (with the pause
    the wiki asked for) when the wiki said it saved nothing. An HTTP 429 is `_NotSaved` too:
    it comes from in front of MediaWiki, so the request never reached it; its `Retry-After`
    may be seconds or an HTTP date (pywikibot only reads seconds). pywikibot keeps the resends
    that are safe because the wiki refused before saving: a fresh token after `badtoken`, a
    new login after `assertuserfailed` (each once: the same error twice is an APIError) and
    its maxlag pauses (`config.max_retries`, then MaxlagTimeoutError).
    """

    def _http_request(self, use_get: bool, uri: str, data: Any, headers: Any,
                      paramstring: str) -> tuple[requests.Response | None, bool]:
        seen: list[object] = []
        try:
            response = http.request(self.site, uri=uri, method="GET" if use_get else "POST",
                                    data=data, headers=headers, callbacks=[seen.append])
        except Exception as exc:
            got = next((r for r in seen if isinstance(r, requests.Response)), None)
            if got is None:  # no complete answer: timeout, reset, 5xx...
                raise _FateUnknown(f"{type(exc).__name__}: {exc}") from exc
            response = got  # answered; only its Retry-After was not in seconds
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        self.site.throttle.retry_after = int(wait or 0)
        if response.status_code == 429:
            raise _NotSaved("http-429", f"HTTP 429 {response.reason or 'Too Many Requests'}: the wiki "
                            "asked the bot to slow down", wait)
        return response, use_get

    def _json_loads(self, response: requests.Response) -> dict[str, Any]:
        try:
            result = response.json()
        except ValueError as exc:
            raise _FateUnknown(f"HTTP {response.status_code}: the answer was not JSON "
                               f"({_plain(response.text)[:200]!r})") from exc
        return result if isinstance(result, dict) else {}

    def wait(self, delay: float | None = None, **kwargs: Any) -> None:
        error = self.last_error or {}
        code = str(error.get("code") or "unknown")
        info = _plain(str(error.get("info") or code))
        if error.get("readonlyreason"):
            info = f"{info} ({_plain(str(error['readonlyreason']))})"
        if code.startswith("internal_api_error"):  # an exception while saving: maybe saved
            raise _FateUnknown(f"{code}: {info}")
        asked = self.site.throttle.retry_after or delay
        raise _NotSaved(code, info, float(asked) if asked else None)


def _page_text(dbname: str, page: dict[str, Any], read_at: str | None) -> PageText:
    if page.get("missing") or page.get("invalid"):
        return PageText(wiki=dbname, title=page["title"], exists=False, read_at=read_at)
    rev = page["revisions"][0]
    return PageText(
        wiki=dbname, title=page["title"], exists=True, text=rev["slots"]["main"]["content"],
        revid=int(rev["revid"]), timestamp=rev["timestamp"], read_at=read_at,
    )


def _user_info(user: dict[str, Any]) -> UserInfo:
    name = str(user["name"])
    if user.get("missing") or user.get("invalid"):
        return UserInfo(name=name, exists=False, is_ip=usernames.is_ip(name) or "invalid" in user,
                        is_temp=usernames.is_temporary(name))
    registration = user.get("registration")
    return UserInfo(
        name=name, exists=True, user_id=user.get("userid"), editcount=user.get("editcount"),
        registration=datetime.fromisoformat(registration.replace("Z", "+00:00")) if registration else None,
        groups=tuple(g for g in user.get("groups", []) if g not in ("*", "user", "autoconfirmed")),
        blocked="blockid" in user, is_temp=bool(user.get("temp")) or usernames.is_temporary(name),
    )


def _api_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _contribution(dbname: str, item: dict[str, Any]) -> Contribution:
    return Contribution(
        wiki=dbname, user=str(item["user"]), revid=int(item["revid"]),
        timestamp=datetime.fromisoformat(item["timestamp"].replace("Z", "+00:00")),
        namespace=int(item["ns"]), title=str(item["title"]), size_change=int(item.get("sizediff", 0)),
        created=bool(item.get("new")), page_id=int(item.get("pageid", 0)),
    )


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
