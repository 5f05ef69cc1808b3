"""Follow-up delivery when the wiki misbehaves: every fault is injected with `responses` into
the bot's new-section edit POSTs (or, for MassMessage, the requests the sandbox cannot answer),
everything else goes to the real sandbox wiki.

Each fault must end in a resend (only when that cannot make a second copy), a pause (the
length the wiki asked for), a recorded failure, or a stopped run: never a duplicate message,
never a silent loss, never a prompt. After every run the talk pages are read back from the
wiki: 0 or 1 copies of the message, and the ledger agrees (posted ⇔ exactly one marker; failed
⇒ none, with the error's code). No real time passes: `time.sleep`, `pywikibot.sleep` and the
delivery's own sleep are recorded instead.
"""

from __future__ import annotations

import builtins
import email.utils
import getpass
import html
import io
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
import responses
from requests.adapters import HTTPAdapter

from bot import messages
from bot.config import EventConfig, parse_event
from bot.models import Failed, Participant, Posted, Status, UserInfo
from bot.store import Delivery, Store

#: The real transport, taken before `responses` patches it: a fault can still reach the wiki.
REAL_SEND = HTTPAdapter.send
_BASE = int(os.environ.get("EVENTBOT_SANDBOX_PORT", "8101"))
API = [f"http://127.0.0.1:{_BASE + i}/api.php" for i in (0, 1)]
NOW = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)
A, B, C = "Sailaja Vemuri", "శ్రీనివాస్ తెలుగు", "Farhana Akter"
DOCREF = ("See http://127.0.0.1:8101/api.php for API usage. Subscribe to the mediawiki-api-announce "
          "mailing list at &lt;https://lists.wikimedia.org/postorius/lists/mediawiki-api-announce."
          "lists.wikimedia.org/&gt; for notice of API deprecations and breaking changes.")

Answer = Callable[[requests.PreparedRequest], tuple[int, dict[str, str], str]]


# --- answers in MediaWiki's real shapes ------------------------------------------------------


def _json(body: dict[str, Any], status: int = 200,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    return status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, json.dumps(body)


def api_error(code: str, info: str, *, headers: dict[str, str] | None = None, **extra: Any) -> Answer:
    """`{"error": {...}}` as ApiMain sends it (HTTP 200, the MediaWiki-API-Error header)."""
    body = {"error": {"code": code, "info": info, **extra, "docref": DOCREF}, "servedby": "mw-sandbox"}
    return lambda _request: _json(body, headers={"MediaWiki-API-Error": code, **(headers or {})})


def edit_failure(**edit: Any) -> Answer:
    """An `action=edit` answer whose result is "Failure" (CAPTCHA, older AbuseFilter)."""
    return lambda _request: _json({"edit": {"result": "Failure", **edit}})


def http_page(status: int, title: str, **headers: str) -> Answer:
    """An HTML error page from the edge (Varnish/ATS), not MediaWiki."""
    html = (f"<!DOCTYPE html><html lang=\"en\"><meta charset=\"utf-8\"><title>Wikimedia Error</title>"
            f"<h1>Error</h1><p>{title}</p><p>If you report this error to the Wikimedia System "
            f"Administrators, please include the details below.</p></html>")
    return lambda _request: (status, {"Content-Type": "text/html; charset=utf-8", **headers}, html)


def timeout(_request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    """No answer, and the wiki never got the edit."""
    raise requests.exceptions.ReadTimeout("HTTPConnectionPool(host='127.0.0.1'): Read timed out.")


def timeout_after_saving(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    """The wiki saves the edit, but its answer is lost: the case that makes duplicates."""
    real = REAL_SEND(HTTPAdapter(), request, timeout=30)
    assert real.status_code == 200 and real.json()["edit"]["result"] == "Success", real.text
    raise requests.exceptions.ReadTimeout("HTTPConnectionPool(host='127.0.0.1'): Read timed out.")


def forward(request: requests.PreparedRequest, change: Callable[[dict[str, Any]], None]) -> tuple[
        int, dict[str, str], str]:
    """Ask the real wiki, then change its JSON answer (for what the sandbox cannot have)."""
    real = REAL_SEND(HTTPAdapter(), request, timeout=30)
    body = real.json()
    change(body)
    return _json(body, real.status_code)


MAXLAG = api_error("maxlag", "Waiting for 127.0.0.1: 7 seconds lagged.", host="127.0.0.1", lag=7,
                   type="db", headers={"Retry-After": "7", "X-Database-Lag": "7"})
RATELIMITED = api_error("ratelimited", "As an anti-abuse measure, you are limited from performing this "
                        "action too many times in a short space of time, and you have exceeded this "
                        "limit. Please try again in a few minutes.")
READONLY = api_error("readonly", "The wiki is currently in read-only mode.",
                     readonlyreason="Database maintenance, back in a few minutes")
BADTOKEN = api_error("badtoken", "Invalid CSRF token.")
ASSERTUSER = api_error("assertuserfailed", "You are no longer logged in, so the action could not be "
                       "completed.")
ASSERTNAMED = api_error("assertnameduserfailed", "You are no longer logged in as \"EventBot\", so the "
                        "action could not be completed.", user="EventBot")
EDITCONFLICT = api_error("editconflict", "Edit conflict.")
BLOCKINFO = {"blockid": 42, "blockedby": "Admin", "blockedbyid": 1, "blockreason": "Malfunctioning bot",
             "blockedtimestamp": "2026-08-01T11:00:00Z", "blockexpiry": "infinite", "blocknocreate": True,
             "blockanononly": False, "blockemail": False, "blockowntalk": False}
BLOCKED = api_error("blocked", "You have been blocked from editing.",
                    blockinfo={**BLOCKINFO, "blockpartial": False})
PARTIALLY_BLOCKED = api_error("blocked", "You have been blocked from editing this page.",
                              blockinfo={**BLOCKINFO, "blockpartial": True,
                                         "blockreason": "Please leave this user alone"})
ABUSEFILTER_WARNING = api_error(
    "abusefilter-warning",
    "<b>Warning:</b> This action has been automatically identified as harmful.\nIf you believe your "
    "action was constructive, please inform an administrator of what you were trying to do. A brief "
    "description of the abuse rule which your action matched is: Mass talk page messages",
    abusefilter={"id": 7, "description": "Mass talk page messages", "actions": ["warn"]})
ABUSEFILTER_WARNING_OLD = edit_failure(
    code="abusefilter-warning", info="Hit AbuseFilter: Mass talk page messages",
    warning="<b>Warning:</b> This action has been automatically identified as harmful.")
ABUSEFILTER_DISALLOWED = api_error(
    "abusefilter-disallowed",
    "This action has been automatically identified as harmful, and therefore disallowed. A brief "
    "description of the abuse rule which your action matched is: Links to a spam site",
    abusefilter={"id": 9, "description": "Links to a spam site", "actions": ["disallow"]})
CAPTCHA = edit_failure(captcha={"type": "image", "mime": "image/png", "id": "123",
                                "url": "/index.php?title=Special:Captcha/image&wpCaptchaId=123"})
TOO_MANY = http_page(429, "Too many requests", **{"Retry-After": "7"})
BAD_GATEWAY = http_page(503, "Service Temporarily Unavailable")
DB_ERROR = api_error("internal_api_error_DBQueryError", "[aZ3kQ2] Database query error.",
                     errorclass="Wikimedia\\Rdbms\\DBQueryError")


def too_many_for(seconds: float) -> Answer:
    """HTTP 429 whose Retry-After is an HTTP date `seconds` after the moment of the request."""
    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        moment = datetime.now(UTC) + timedelta(seconds=seconds)
        date = email.utils.format_datetime(moment, usegmt=True)
        return http_page(429, "Too many requests", **{"Retry-After": date})(request)
    return answer


# --- the fault-injecting layer ---------------------------------------------------------------


def _form(request: requests.PreparedRequest) -> dict[str, str]:
    body = request.body or ""
    text = body.decode() if isinstance(body, bytes) else str(body)
    return dict(parse_qsl(text, keep_blank_values=True))


class Faults:
    """Answers requests that `wanted` picks from a script (then `forever`, if given); every
    other request, and every picked one once the script is used up, goes to the sandbox."""

    def __init__(self, rsps: responses.RequestsMock, wanted: Callable[[dict[str, str]], bool],
                 *script: Answer, forever: Answer | None = None) -> None:
        self.wanted = wanted
        self.script = list(script)
        self.forever = forever
        self.sent: list[dict[str, str]] = []  # every picked request, answered here or by the wiki
        for url in API:
            rsps.add_callback(responses.POST, url, callback=self._answer, match=[self._match])

    def _match(self, request: requests.PreparedRequest) -> tuple[bool, str]:
        params = _form(request)
        if not self.wanted(params):
            return False, "not a request this fault is for"
        self.sent.append(params)
        return bool(self.script) or self.forever is not None, "the script is used up"

    def _answer(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        answer = self.script.pop(0) if self.script else self.forever
        assert answer is not None
        return answer(request)

    def to(self, title: str) -> list[dict[str, str]]:
        return [p for p in self.sent if p.get("title") == title]


def new_section(params: dict[str, str]) -> bool:
    return params.get("action") == "edit" and params.get("section") == "new"


# --- the delivery under test --------------------------------------------------------------------


@dataclass
class Run:
    farm: Any
    store: Store
    event: EventConfig
    people: dict[str, Participant]
    rsps: responses.RequestsMock
    pauses: list[float] = field(default_factory=list)  # the delivery's own sleeps
    waits: list[float] = field(default_factory=list)  # pywikibot's sleeps (maxlag, throttle)

    @property
    def campaign(self) -> Any:
        return self.event.campaigns[0]

    @property
    def key(self) -> str:
        return f"{self.event.id}/{self.campaign.name}"

    def faults(self, *script: Answer, forever: Answer | None = None,
               wanted: Callable[[dict[str, str]], bool] = new_section) -> Faults:
        return Faults(self.rsps, wanted, *script, forever=forever)

    def deliver(self, *names: str) -> Any:
        from bot import delivery

        return delivery.deliver(self.event, self.campaign, [self.people[n] for n in names], self.farm,
                                self.store, NOW, sleep=self.pauses.append)

    def ledger(self) -> dict[str, Delivery]:
        return self.store.deliveries(self.key)

    def copies(self, title: str, name: str) -> int:
        """How many copies of this campaign's message to `name` the talk page holds."""
        page = self.farm.read_page("metawiki", title)
        return page.text.count(messages.marker(self.campaign.name, name)) if page.exists else 0

    def title(self, name: str) -> str:
        return "User talk:Farhana A." if name == C else messages.talk_page_title(name)

    def result(self, report: Any, name: str) -> Any:
        (found,) = [r for r in report.results if r.username == name]
        return found

    def assert_posted_once(self, report: Any, name: str) -> None:
        assert self.copies(self.title(name), name) == 1
        row = self.ledger()[name]
        assert row.state == "posted", row
        assert isinstance(self.result(report, name).outcome, Posted)

    def assert_failed(self, report: Any, name: str, code: str, *words: str) -> Failed:
        assert self.copies(self.title(name), name) == 0
        row = self.ledger()[name]
        assert row.state == "failed" and (row.detail or "").startswith(f"{code}: "), row
        outcome = self.result(report, name).outcome
        assert isinstance(outcome, Failed) and outcome.code == code, outcome
        for word in words:
            assert word in outcome.error, (word, outcome.error)
        assert f"failed || {code}: " in html.unescape(self.log(report))  # what organisers read
        assert f"{name}: FAILED: {code}: " in self.cli(report)  # what the operator reads
        return outcome

    def assert_untouched(self, report: Any, *names: str) -> None:
        """Recipients a stopped run never reached: no ledger row, no message, no result."""
        ledger = self.ledger()
        for name in names:
            assert name not in ledger
            assert self.copies(self.title(name), name) == 0
            assert not [r for r in report.results if r.username == name]

    def log(self, report: Any) -> str:
        from bot import delivery

        return delivery.log_wikitext(self.event, report, lambda wiki, rev: f"[[Special:Diff/{rev}]]", NOW)

    def cli(self, report: Any) -> str:
        from bot import cli

        out = io.StringIO()
        cli._print_followups(out, self.event, NOW, [report])
        return out.getvalue()


def make_event(name: str, *, massmessage: bool = False) -> EventConfig:
    return parse_event({
        "id": "fault-test", "title": "Fault test 2026", "start": "2026-07-10", "end": "2026-07-12",
        "timezone": "Asia/Kolkata", "pages": {"participants": "Fault test/P", "report": "Fault test/R"},
        "registration": [{"page": "Fault test/Registration"}],
        "campaigns": [{"name": name, "when": "end + 1d", "title": "{event}: how did it go?",
                       "message": "Train the Trainer 2026/Messages/Feedback"}],
        "delivery": {"edits_per_minute": 60, "massmessage": massmessage},
    }, "test")


@pytest.fixture(scope="module")
def accounts(farm: Any) -> dict[str, UserInfo]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time, "sleep", lambda _seconds: None)  # pywikibot's throttle
        infos: dict[str, UserInfo] = farm.users("metawiki", [A, B, C])
    assert all(info.exists and not info.blocked for info in infos.values())
    return infos


@pytest.fixture()
def run(farm: Any, accounts: dict[str, UserInfo], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """A fresh campaign (its own markers), a fresh ledger, no real sleeping, no prompting."""
    import pywikibot

    people = {name: Participant(username=name, status=Status.REGISTERED,
                                statuses=frozenset({Status.REGISTERED}), signups=(), user=info)
              for name, info in accounts.items()}
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    monkeypatch.setattr(pywikibot, "sleep", waits.append)
    monkeypatch.setattr(pywikibot.config, "max_retries", 2)  # maxlag pauses before giving up
    monkeypatch.setattr(pywikibot.config, "retry_max", 120)

    def prompted(*args: Any, **kwargs: Any) -> str:
        raise AssertionError(f"the bot prompted for input: {args}")

    monkeypatch.setattr(builtins, "input", prompted)
    monkeypatch.setattr(getpass, "getpass", prompted)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        for url in API:
            rsps.add_passthru(url.rsplit("/", 1)[0])
        yield Run(farm, Store(f"sqlite:///{tmp_path / 'state.sqlite'}"),
                  make_event(f"fault-{uuid.uuid4().hex[:10]}"), people, rsps, waits=waits)
    # A Retry-After the last answer asked for must not make the next test really sleep.
    farm.site("metawiki").throttle.retry_after = 0


# --- faults that end with the message delivered once ------------------------------------------


def test_maxlag_a_few_times_waits_as_asked_then_delivers_once(run: Run) -> None:
    faults = run.faults(MAXLAG, MAXLAG)
    report = run.deliver(A)
    run.assert_posted_once(report, A)
    assert len(faults.to(run.title(A))) == 3
    assert faults.sent[0]["maxlag"] == "5"  # write_maxlag from the user-config
    # pywikibot paused for the Retry-After (7 s, less the time spent) before each resend, never
    # longer. How many sleep calls that takes is pywikibot's business: its throttle may honour
    # the stored Retry-After once more before the next request (seen on a clean clone).
    asked = [w for w in run.waits if 6.5 < w <= 7]
    assert 2 <= len(asked) <= 4 and all(w <= 7 for w in run.waits), run.waits


@pytest.mark.parametrize(("fault", "pause"), [
    (TOO_MANY, 7.0),
    (too_many_for(120), 120.0),
], ids=["retry-after-seconds", "retry-after-http-date"])
def test_http_429_with_html_waits_the_retry_after_then_delivers_once(run: Run, fault: Answer,
                                                                     pause: float) -> None:
    faults = run.faults(fault)
    report = run.deliver(A)
    run.assert_posted_once(report, A)
    assert len(faults.to(run.title(A))) == 2
    asked = [p for p in run.pauses if p > 2]  # not the 1 s pace between edits
    assert len(asked) == 1 and pause - 15 < asked[0] <= pause, run.pauses


@pytest.mark.parametrize(("script", "pauses"), [
    ([RATELIMITED], [30.0]),
    ([READONLY, READONLY], [30.0, 60.0]),
    ([EDITCONFLICT], [30.0]),
], ids=["ratelimited", "readonly-twice", "editconflict"])
def test_refusals_that_saved_nothing_pause_and_resend(run: Run, script: list[Answer],
                                                      pauses: list[float]) -> None:
    faults = run.faults(*script)
    report = run.deliver(A)
    run.assert_posted_once(report, A)
    assert len(faults.to(run.title(A))) == len(script) + 1
    assert [p for p in run.pauses if p > 2] == pauses  # backing off: nothing said how long


@pytest.mark.parametrize("fault", [BADTOKEN, ASSERTUSER], ids=["badtoken", "assertuserfailed"])
def test_pywikibot_repairs_the_session_once_and_resends(run: Run, fault: Answer) -> None:
    """A fresh token / a new login, then the same edit: safe, the wiki refused the first."""
    faults = run.faults(fault)
    report = run.deliver(A)
    run.assert_posted_once(report, A)
    assert len(faults.to(run.title(A))) == 2


def test_read_timeout_after_the_wiki_saved_is_found_by_its_marker(run: Run) -> None:
    faults = run.faults(timeout_after_saving)
    report = run.deliver(A)
    run.assert_posted_once(report, A)
    assert len(faults.to(run.title(A))) == 1  # never sent again
    assert 10.0 in run.pauses  # waited before looking for the marker
    # A second run finds it in the ledger and sends nothing.
    again = run.deliver(A)
    assert len(faults.to(run.title(A))) == 1 and run.copies(run.title(A), A) == 1
    assert again.results[0].earlier


@pytest.mark.parametrize("fault", [timeout, BAD_GATEWAY, DB_ERROR],
                         ids=["read-timeout", "http-503", "database-error"])
def test_unknown_result_that_did_not_arrive_is_sent_again(run: Run, fault: Answer) -> None:
    faults = run.faults(fault)
    report = run.deliver(A)
    run.assert_posted_once(report, A)
    assert len(faults.to(run.title(A))) == 2


# --- faults that end as a recorded failure (the run goes on) -----------------------------------


@pytest.mark.parametrize(("script", "sends", "code", "words"), [
    ([BADTOKEN, BADTOKEN], 2, "badtoken", ["Invalid CSRF token"]),
    ([ABUSEFILTER_WARNING], 1, "abusefilter-warning", ["abuse filter 7", "Mass talk page messages",
                                                       "identified as harmful"]),
    ([ABUSEFILTER_WARNING_OLD], 1, "abusefilter-warning", ["Hit AbuseFilter: Mass talk page messages",
                                                           "identified as harmful"]),
    ([ABUSEFILTER_DISALLOWED], 1, "abusefilter-disallowed", ["abuse filter 9", "Links to a spam site"]),
    ([CAPTCHA], 1, "captcha", ["CAPTCHA", "skipcaptcha"]),
    ([PARTIALLY_BLOCKED], 1, "blocked-partial", ["blocked from editing this page", "Admin",
                                                 "Please leave this user alone"]),
    ([EDITCONFLICT] * 4, 4, "editconflict", ["Edit conflict"]),
    ([timeout] * 3, 3, "uncertain", ["Read timed out"]),
], ids=["badtoken-twice", "abusefilter-warning", "abusefilter-warning-old-shape",
        "abusefilter-disallowed", "captcha", "partial-block", "editconflict-persisting",
        "timeouts-persisting"])
def test_recorded_failure_then_the_next_recipient(run: Run, script: list[Answer], sends: int, code: str,
                                                  words: list[str]) -> None:
    faults = run.faults(*script)
    report = run.deliver(A, B)
    run.assert_failed(report, A, code, *words)
    assert len(faults.to(run.title(A))) == sends  # no resubmission past a refusal
    assert report.stopped is None
    run.assert_posted_once(report, B)


# --- faults that stop the whole run at once -----------------------------------------------------


@pytest.mark.parametrize(("script", "forever", "sends", "code", "words"), [
    ([], MAXLAG, 3, "maxlag", ["Maximum retries attempted due to maxlag"]),
    ([], READONLY, 4, "readonly", ["read-only mode", "Database maintenance"]),
    ([], BLOCKED, 1, "blocked", ["You have been blocked from editing", "Admin", "Malfunctioning bot"]),
    ([], ASSERTUSER, 2, "assertuserfailed", ["no longer logged in"]),
    ([ASSERTNAMED], None, 1, "assertnameduserfailed", ["no longer logged in"]),
    ([too_many_for(3600)], None, 1, "http-429", ["429"]),
], ids=["maxlag-forever", "readonly-forever", "bot-blocked", "assertuserfailed-forever",
        "assertnameduserfailed", "retry-after-an-hour"])
def test_run_stops_with_later_recipients_untouched(run: Run, script: list[Answer], forever: Answer | None,
                                                   sends: int, code: str, words: list[str]) -> None:
    faults = run.faults(*script, forever=forever)
    report = run.deliver(A, B, C)
    outcome = run.assert_failed(report, A, code, *words)
    assert report.stopped is not None and code in report.stopped and outcome.error in report.stopped
    assert "'''Stopped:'''" in run.log(report) and "STOPPED: " in run.cli(report)
    assert len(faults.sent) == sends  # nothing was sent to anyone else
    run.assert_untouched(report, B, C)
    assert all(p <= 300 for p in run.pauses)


def test_a_stopped_run_resumes_and_sends_each_message_once(run: Run) -> None:
    faults = run.faults(forever=BLOCKED)
    stopped = run.deliver(A, B, C)
    assert stopped.stopped is not None
    faults.forever = None  # unblocked
    report = run.deliver(A, B, C)
    assert report.stopped is None
    for name in (A, B, C):
        run.assert_posted_once(report, name)


# --- the pieces, without the wiki ---------------------------------------------------------------


def test_retry_after_in_seconds_and_as_an_http_date(sandbox: Path) -> None:
    from bot.wiki import retry_after_seconds

    now = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(" 2.5 ") == 2.5
    assert retry_after_seconds("Sat, 01 Aug 2026 12:02:00 GMT", now) == 120.0
    assert retry_after_seconds("Sat, 01 Aug 2026 11:00:00 GMT", now) == 0.0  # already past
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None and retry_after_seconds("") is None


# --- MassMessage mode ----------------------------------------------------------------------------


def _mm_setup(run: Run, *, answer: Answer) -> Faults:
    """The sandbox has no MassMessage: its siteinfo gains the extension, the bot's userinfo the
    right, and `action=massmessage` is answered by `answer`."""

    def siteinfo(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        return forward(request, lambda body: body["query"]["extensions"].append({
            "type": "specialpage", "name": "MassMessage", "descriptionmsg": "massmessage-desc",
            "author": "Kunal Mehta, wctaiwan", "url": "https://www.mediawiki.org/wiki/Extension:MassMessage",
            "license-name": "GPL-2.0-or-later"}))

    def rights(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        return forward(request, lambda body: body["query"]["userinfo"]["rights"].append("massmessage"))

    run.faults(forever=siteinfo, wanted=lambda p: p.get("action") == "query"
               and "siteinfo" in p.get("meta", "").split("|") and "extensions" in p.get("siprop", ""))
    run.faults(forever=rights, wanted=lambda p: p.get("action") == "query"
               and "userinfo" in p.get("meta", "").split("|") and "rights" in p.get("uiprop", ""))
    return run.faults(forever=answer, wanted=lambda p: p.get("action") == "massmessage")


@pytest.fixture()
def mm_run(run: Run) -> Run:
    run.event = make_event(run.campaign.name, massmessage=True)
    return run


def test_massmessage_writes_the_list_and_queues_every_recipient_at_once(mm_run: Run) -> None:
    from bot.delivery import massmessage_list_title

    run = mm_run
    queued = _mm_setup(run, answer=lambda _r: _json({"massmessage": {"result": "success", "count": 3}}))
    edits = run.faults()  # counts new-section edits, answers none
    report = run.deliver(A, B, C)

    assert report.stopped is None and edits.sent == []  # no direct message at all
    (sent,) = queued.sent
    listing = massmessage_list_title(run.event, run.campaign, "en", "EventBot")
    assert sent["spamlist"] == listing and sent["token"] and sent["token"] != "+\\"
    assert html.unescape(sent["subject"]) == "Fault test 2026: how did it go?"  # escaped as a heading
    assert sent["message"].startswith("{{subst::Train the Trainer 2026/Messages/Feedback/en"
                                      "|username={{subst:ROOTPAGENAME}}|event=Fault test 2026|")
    assert "~~~~" not in sent["message"]  # MassMessage signs
    assert run.farm.read_page("metawiki", listing).text.splitlines() == [
        "{{#target:User talk:Sailaja Vemuri}}", "{{#target:User talk:శ్రీనివాస్ తెలుగు}}",
        "{{#target:User talk:Farhana Akter}}"]
    ledger = run.ledger()
    for name in (A, B, C):
        assert ledger[name].state == "posted"
        assert ledger[name].detail == f"queued by MassMessage via [[{listing}]]"
        assert isinstance(run.result(report, name).outcome, Posted)
    # Settled: a second run asks nothing of MassMessage.
    run.deliver(A, B, C)
    assert len(queued.sent) == 1


def test_massmessage_without_the_extension_sends_directly(mm_run: Run) -> None:
    run = mm_run
    report = run.deliver(A)  # the sandbox itself: no MassMessage
    run.assert_posted_once(report, A)


def test_massmessage_refused_falls_back_to_direct_messages(mm_run: Run) -> None:
    run = mm_run
    queued = _mm_setup(run, answer=api_error(
        "permissiondenied", "You don't have permission to send messages to lists of users."))
    report = run.deliver(A, B)
    assert len(queued.sent) == 1
    for name in (A, B):
        run.assert_posted_once(report, name)


def test_massmessage_without_an_answer_is_never_sent_twice(mm_run: Run) -> None:
    run = mm_run
    queued = _mm_setup(run, answer=timeout)
    edits = run.faults()
    for _ in range(2):
        report = run.deliver(A, B)
        for name in (A, B):
            outcome = run.result(report, name).outcome
            assert isinstance(outcome, Failed) and outcome.code == "massmessage-unknown"
            assert run.ledger()[name].state == "intent"
    assert len(queued.sent) == 1 and edits.sent == []
