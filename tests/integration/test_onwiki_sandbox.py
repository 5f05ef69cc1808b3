"""On-wiki configuration against the sandbox farm: discovery through transclusion, one talk-page
notice per broken configuration (updated, resolved, never repeated), and the trust rule."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot import onwiki  # pure; bot.discovery (pywikibot) is imported once PYWIKIBOT_DIR is set
from bot.models import Posted, Unchanged
from bot.onwiki import OnwikiSettings

if TYPE_CHECKING:
    from bot import discovery

WIKI = "metawiki"
NOW = datetime.fromisoformat("2026-07-20T09:00+05:30")
SETTINGS = OnwikiSettings(wiki=WIKI)  # allowlist User:EventBot/Organisers (Asha), group event-organizer
FEEDBACK = "Train the Trainer 2026/Messages/Feedback"  # a seeded message page with /en and /te


def editor(human: Any, sandbox: Path, name: str) -> Any:
    """Another account editing by hand, built like the `human` fixture (its own session)."""
    creds = json.loads((sandbox.parent / "credentials.json").read_text())
    return type(human)(name, creds[name]["botpassword"])


@pytest.fixture(scope="module")
def asha(human: Any, sandbox: Path) -> Any:
    """Asha Organiser: a sysop linked from the protected allowlist User:EventBot/Organisers."""
    return editor(human, sandbox, "Asha Organiser")


def save(who: Any, title: str, text: str) -> int:
    outcome = who.edit(WIKI, title, text, "eventbot test")
    assert isinstance(outcome, Posted), outcome
    return outcome.revid


def wait_for(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """MediaWiki updates template links after the save (deferred), so poll briefly."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def discovered(farm: Any, title: str) -> discovery.EventPage:
    from bot import discovery

    return wait_for(lambda: next((p for p in discovery.discover(farm, WIKI) if p.title == title), None),
                    f"{title} to be listed as transcluding Template:Eventbot")


def load(farm: Any, title: str, settings: OnwikiSettings = SETTINGS) -> discovery.OnwikiEvent:
    from bot import discovery

    (loaded,) = discovery.load_onwiki_events(farm, [discovered(farm, title)], settings)
    return loaded


def signed(names: list[str]) -> str:
    return "== Participants ==\n" + "\n".join(
        f"# [[User:{n}|{n}]] ([[User talk:{n}|talk]]) 10:00, 1 June 2026 (UTC)" for n in names)


def config(registration: str, *extra: str, campaign: str = "") -> str:
    """An event page: {{eventbot}} with `extra` parameter lines, then an optional campaign."""
    lines = ["{{eventbot", "| start = 2026-07-10", "| end = 2026-07-12", "| timezone = Asia/Kolkata",
             f"| registration = {registration}", "| sections = Participants: registered", *extra, "}}"]
    if campaign:
        lines.append("{{eventbot campaign|" + campaign + "}}")
    return "\n".join(lines) + "\nAn event page used by the eventbot tests.\n"


def revid(farm: Any, title: str) -> int | None:
    return farm.read_page(WIKI, title).revid


def markers(farm: Any, users: list[str], campaign: str) -> dict[str, int]:
    pages = farm.read_pages(WIKI, [f"User talk:{u}" for u in users])
    return {u: len(re.findall(rf"<!-- eventbot:{re.escape(campaign)}:", pages[f"User talk:{u}"].text))
            for u in users}


# --- discovery ---------------------------------------------------------------------------------


def test_discovery_through_transclusion(farm: Any, human: Any, prefix: str) -> None:
    from bot import discovery

    event_title = f"{prefix}/Event"
    save(human, f"{prefix}/Registration", signed(["Sailaja Vemuri", "Kiran Hegde"]))
    save(human, event_title, config(f"[[{prefix}/Registration]]", "| title = Discovery test"))
    # Transcluding the event page transcludes the template too, but configures nothing; a template's
    # documentation page that shows the template is not an event either.
    save(human, f"{prefix}/Overview", f"{{{{:{event_title}}}}}")
    save(human, f"Template:{prefix}/Example", config("Example/Registration"))

    page = discovered(farm, event_title)
    assert page.wiki == WIKI and page.ns == 0
    overview = discovered(farm, f"{prefix}/Overview")
    found = {p.title for p in discovery.discover(farm, WIKI)}
    assert f"Template:{prefix}/Example" not in found
    assert "Small wiki toolkits/Workshops/2026-12" in found  # the seeded example

    loaded = discovery.load_onwiki_events(farm, [page, overview], SETTINGS)
    assert [item.page.title for item in loaded] == [event_title]
    (item,) = loaded
    assert item.talk == f"Talk:{event_title}" and item.issues == []
    assert item.event is not None and item.event.title == "Discovery test"
    assert item.event.id == onwiki.default_event_id(event_title, WIKI)
    assert item.event.registration[0].page == f"{prefix}/Registration"
    assert not item.sends  # Human Editor is not approved, but there is no campaign to send

    (run,) = discovery.run_onwiki(farm, SETTINGS, NOW, only=[event_title])
    assert run.error is None and isinstance(run.notice, Unchanged)  # no problems, no talk page
    assert run.run is not None and isinstance(run.run.outcomes["participants"], Posted)
    listed = farm.read_page(WIKI, f"{event_title}/Participants").text
    assert "Sailaja Vemuri" in listed and "Kiran Hegde" in listed
    assert not farm.read_page(WIKI, f"Talk:{event_title}").exists


def test_the_seeded_example_compiles(farm: Any) -> None:
    loaded = load(farm, "Small wiki toolkits/Workshops/2026-12")
    assert loaded.issues == [] and loaded.event is not None
    assert loaded.event.title == "Small wiki toolkits workshop, December 2026"
    page = farm.read_page(WIKI, loaded.event.registration[0].page)
    assert page.exists


# --- the talk-page notice ----------------------------------------------------------------------


def test_broken_configuration_gets_one_notice_updated_then_resolved(farm: Any, human: Any,
                                                                    prefix: str) -> None:
    from bot import discovery

    title, talk = f"{prefix}/Event", f"Talk:{prefix}/Event"
    save(human, f"{prefix}/Registration", signed(["Sailaja Vemuri"]))
    save(human, title, config(f"{prefix}/Registration").replace("2026-07-10", "2026-07-32"))
    discovered(farm, title)

    def run() -> discovery.OnwikiRun:
        (result,) = discovery.run_onwiki(farm, SETTINGS, NOW, only=[title])
        assert result.error is None
        return result

    first = run()
    assert first.run is None and isinstance(first.notice, Posted)  # nothing runs from a broken config
    text = farm.read_page(WIKI, talk).text
    assert text.count("<!-- eventbot:start:config-notice -->") == 1
    assert f"== {onwiki.NOTICE_HEADING} ==" in text
    assert ("<code>start</code> (line 2): you wrote <code>2026-07-32</code>; expected a date written "
            "YYYY-MM-DD") in text

    # The same problem again: no edit at all.
    before = revid(farm, talk)
    again = run()
    assert isinstance(again.notice, Unchanged) and revid(farm, talk) == before

    # Somebody replies under the notice; then the problem changes: the notice is updated in place.
    page = farm.read_page(WIKI, talk)
    save(human, talk, page.text + "\n:Looking into it. ~~~~\n")
    save(human, title, config(f"{prefix}/Registration").replace("Asia/Kolkata", "Asia/Kolkatta"))
    changed = run()
    assert isinstance(changed.notice, Posted)
    text = farm.read_page(WIKI, talk).text
    assert text.count("<!-- eventbot:start:config-notice -->") == 1 and text.count(onwiki.NOTICE_HEADING) == 1
    assert "2026-07-32" not in text and "<code>timezone</code> (line 4)" in text
    assert "Looking into it." in text

    # Fixed: the notice says so, the event runs, and later runs leave the talk page alone.
    save(human, title, config(f"{prefix}/Registration"))
    fixed = run()
    assert isinstance(fixed.notice, Posted) and fixed.run is not None
    text = farm.read_page(WIKI, talk).text
    assert f"== {onwiki.NOTICE_HEADING} (resolved) ==" in text
    assert "timezone" not in text and "Looking into it." in text
    assert text.count("<!-- eventbot:start:config-notice -->") == 1
    resolved_at = revid(farm, talk)
    later = run()
    assert isinstance(later.notice, Unchanged) and revid(farm, talk) == resolved_at


# --- the trust rule ----------------------------------------------------------------------------


def test_ordinary_user_cannot_make_a_configuration_message_500_users(
        farm: Any, human: Any, asha: Any, prefix: str, tmp_path: Path) -> None:
    from bot import discovery
    from bot.delivery import ledger_key
    from bot.store import Store

    tag = prefix.rsplit("/", 1)[1][:8]
    campaign = f"thanks-{tag}"
    title, talk = f"{prefix}/Event", f"Talk:{prefix}/Event"
    invited = ["Sailaja Vemuri", "Kiran Hegde"]
    save(asha, f"{prefix}/Registration", signed(invited))
    trusted_rev = save(asha, title, config(
        f"{prefix}/Registration", "| delivery.edits_per_minute = 600",
        campaign=f"name={campaign}|when=end + 1d|message={FEEDBACK}|title={{event}}: thank you"))

    # An ordinary account lists 500 people (real accounts among them) and points the campaign at them.
    bystanders = ["Admin", "Human Editor", "Asha Organiser", "Ravi Teja K", "Farhana A.", "Old Trainer Name"]
    strangers = [f"Trust test user {i}" for i in range(500 - len(invited) - len(bystanders))]
    everyone = invited + bystanders + strangers
    save(human, f"{prefix}/Everyone", signed(everyone))
    vandal_rev = save(human, title, config(
        f"{prefix}/Everyone", "| delivery.edits_per_minute = 600",
        campaign=f"name={campaign}|when=start - 30d|message={FEEDBACK}|title={{event}}: hello!"))

    loaded = load(farm, title)
    assert loaded.latest.revid == vandal_rev and loaded.latest.user == "Human Editor"
    assert not loaded.choice.latest_trusted
    assert loaded.choice.reason == ("Human Editor is neither on the list of approved organisers nor in the "
                                    "'event-organizer' user group")
    assert loaded.decision.used is not None and loaded.decision.used.revid == trusted_rev
    assert loaded.decision.used.user == "Asha Organiser"
    event = loaded.event
    assert event is not None and loaded.sends
    assert [s.page for s in event.registration] == [f"{prefix}/Registration"]
    assert event.campaign(campaign).when == "end + 1d"

    store = Store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    (result,) = discovery.run_onwiki(farm, SETTINGS, NOW, store=store, send=True, only=[title])
    assert result.error is None
    (report,) = result.followups
    sent = sorted(r.username for r in report.results if isinstance(r.outcome, Posted))
    assert sent == sorted(invited)
    assert markers(farm, bystanders, campaign) == dict.fromkeys(bystanders, 0)
    assert markers(farm, invited, campaign) == dict.fromkeys(invited, 1)
    assert set(store.deliveries(ledger_key(event, event.campaign(campaign)))) == set(invited)

    # The talk page says why the change is not used, by whom, and what is used instead.
    text = farm.read_page(WIKI, talk).text
    assert "== eventbot is not using the latest change to the configuration ==" in text
    diff = f"[[Special:Diff/{vandal_rev}|revision {vandal_rev}]]"
    assert f"{diff} by [[User:Human Editor|Human Editor]]" in text
    assert f"[[Special:PermanentLink/{trusted_rev}|revision {trusted_rev}]] by [[User:Asha Organiser" in text
    assert "[[User:EventBot/Organisers]]" in text

    # Running again sends nothing more and does not touch the notice.
    notice_rev = revid(farm, talk)
    (again,) = discovery.run_onwiki(farm, SETTINGS, NOW, store=store, send=True, only=[title])
    assert all(r.earlier for r in again.followups[0].results)
    assert revid(farm, talk) == notice_rev
    assert markers(farm, invited + bystanders, campaign) == {**dict.fromkeys(bystanders, 0),
                                                             **dict.fromkeys(invited, 1)}

    # An approved organiser approves the change by saving the page: now it is the configuration.
    page = farm.read_page(WIKI, title)
    approved_rev = save(asha, title, page.text + "\nReviewed. ~~~~\n")
    approved = load(farm, title)
    assert approved.choice.latest_trusted and approved.decision.used is not None
    assert approved.decision.used.revid == approved_rev
    assert approved.event is not None and approved.event.registration[0].page == f"{prefix}/Everyone"
    assert isinstance(discovery.publish_notice(farm, approved, SETTINGS, NOW), Posted)
    assert "(resolved) ==" in farm.read_page(WIKI, talk).text


def test_a_configuration_nobody_approved_runs_lists_but_sends_nothing(
        farm: Any, human: Any, prefix: str, tmp_path: Path) -> None:
    from bot import discovery
    from bot.store import Store

    campaign = f"hello-{prefix.rsplit('/', 1)[1][:8]}"
    title, talk = f"{prefix}/Event", f"Talk:{prefix}/Event"
    people = ["Sailaja Vemuri", "Kiran Hegde", "Admin"]
    save(human, f"{prefix}/Registration", signed(people))
    save(human, title, config(f"{prefix}/Registration",
                              campaign=f"name={campaign}|when=end + 1d|message={FEEDBACK}|title=Hello"))
    loaded = load(farm, title)
    assert loaded.choice.trusted_revision is None and not loaded.sends
    assert loaded.event is not None and loaded.event.campaigns == []

    (result,) = discovery.run_onwiki(farm, SETTINGS, NOW, store=Store(f"sqlite:///{tmp_path}/s.sqlite"),
                                     send=True, only=[title])
    assert result.error is None and result.followups == []
    assert result.run is not None and isinstance(result.run.outcomes["participants"], Posted)
    assert markers(farm, people, campaign) == dict.fromkeys(people, 0)
    text = farm.read_page(WIKI, talk).text
    assert "its campaigns send no messages" in text and "Human Editor" in text

    # Pointing the report at a page outside the event's own pages stops the whole run.
    save(human, title, config(f"{prefix}/Registration", f"| report = {prefix}-elsewhere/Report"))
    (outside,) = discovery.run_onwiki(farm, SETTINGS, NOW, only=[title])
    assert outside.run is None
    assert not farm.read_page(WIKI, f"{prefix}-elsewhere/Report").exists
    assert f"it does not write to [[{prefix}-elsewhere/Report]]" in farm.read_page(WIKI, talk).text


def test_group_membership_approves_and_the_allowlist_must_be_protected(
        farm: Any, human: Any, sandbox: Path, prefix: str) -> None:
    from bot import discovery

    admin = editor(human, sandbox, "Admin")
    title = f"{prefix}/Event"
    save(admin, title, config("Somewhere/Registration"))
    by_group = load(farm, title, OnwikiSettings(wiki=WIKI, allowlist_page=None, required_group="sysop"))
    assert by_group.choice.latest_trusted and by_group.choice.reason == "Admin is in the 'sysop' user group"
    by_default = load(farm, title)
    assert not by_default.choice.latest_trusted  # sysop is not event-organizer, and Admin is not listed

    # An allowlist anyone can edit approves nobody, even the people it links.
    save(human, f"{prefix}/Organisers", "* [[User:Human Editor]]\n* [[User:Admin]]\n")
    organisers = discovery.read_organisers(farm, WIKI, f"{prefix}/Organisers")
    assert organisers.names == frozenset() and organisers.problem is not None
    assert "not protected" in organisers.problem
    open_list = OnwikiSettings(wiki=WIKI, allowlist_page=f"{prefix}/Organisers", required_group=None)
    assert not load(farm, title, open_list).choice.latest_trusted
    seeded = discovery.read_organisers(farm, WIKI, SETTINGS.allowlist_page)
    assert seeded.problem is None and seeded.names == frozenset({"Asha Organiser"})
