"""On-wiki configuration: data-driven template cases (tests/unit/onwiki_cases/), the trust rule,
and the talk-page notice."""

from __future__ import annotations

import dataclasses
import enum
import html
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import onwiki
from bot.config import ConfigIssue, EventConfig
from bot.onwiki import (
    ConfigMapping,
    ParamIssue,
    Revision,
    TrustChoice,
    choose_revision,
    decide,
    default_event_id,
    is_resolved_notice,
    load_config,
    notice_wikitext,
    parse_config_templates,
    resolved_wikitext,
    trusted,
)

CASES_DIR = Path(__file__).parent / "onwiki_cases"
CASES = sorted(CASES_DIR.glob("*.case"))
TITLE = "Small wiki toolkits/Workshops/2026-12"


# --- the case files ---------------------------------------------------------------------------


def load_case(path: Path) -> tuple[dict[str, Any], str]:
    text = path.read_text(encoding="utf-8")
    header, sep, page = text.partition("\n---\n")
    assert sep, f"{path.name}: no '---' line between the header and the wikitext"
    data = yaml.safe_load(header) or {}
    unknown = set(data) - {"description", "title", "wiki"}
    assert not unknown, f"{path.name}: unknown header keys {sorted(unknown)}"
    assert data.get("description") and data.get("title"), f"{path.name}: description and title are required"
    return data, page


def plain(value: Any) -> Any:
    """ConfigMapping → dict, recursively (YAML-comparable)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def attribute(obj: Any, path: str) -> Any:
    """`registration[0].sections.Waitlist` on an EventConfig; enums by value, dates as text."""
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        if index:
            obj = obj[int(index)]
        elif isinstance(obj, dict):
            obj = obj[name]
        else:
            obj = getattr(obj, name)
    return comparable(obj)


def comparable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [comparable(v) for v in value]
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return comparable(dataclasses.asdict(value))
    return value


def issue_dict(issue: ConfigIssue) -> dict[str, Any]:
    assert isinstance(issue, ParamIssue), issue
    return {"line": issue.line, "param": issue.param, "label": issue.label, "given": issue.given,
            "message": issue.message}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path) -> None:
    header, page = load_case(path)
    expected = yaml.safe_load(path.with_suffix(".expected.yaml").read_text(encoding="utf-8"))
    unknown = set(expected) - {"mapping", "issues", "event"}
    assert not unknown, f"{path.name}: unknown keys {sorted(unknown)} in the expected file"
    wiki = header.get("wiki", "metawiki")
    if "mapping" in expected:
        mapping, _ = parse_config_templates(page, page_title=header["title"], wiki=wiki)
        assert plain(mapping) == expected["mapping"]
    event, issues = load_config(page, page_title=header["title"], wiki=wiki)
    wanted = [{"label": "", "given": None, **item} for item in expected["issues"]]
    assert [issue_dict(i) for i in issues] == wanted
    assert (event is None) == bool(wanted)
    for key, value in (expected.get("event") or {}).items():
        assert attribute(event, key) == value, key


def test_every_case_has_an_expected_file() -> None:
    assert CASES, "no cases found"
    for path in CASES:
        assert path.with_suffix(".expected.yaml").exists(), path.name
    stray = {p.name.removesuffix(".expected.yaml") for p in CASES_DIR.glob("*.expected.yaml")}
    assert stray == {p.stem for p in CASES}


# --- focused parser checks ----------------------------------------------------------------------


def test_mapping_keeps_lines_for_parse_event() -> None:
    text = "intro\n{{eventbot\n|start=2026-12-05\n|sections=A: registered\n|registration=R\n}}"
    mapping, issues = parse_config_templates(text, page_title=TITLE, wiki="metawiki")
    assert not issues
    assert isinstance(mapping, ConfigMapping)
    assert mapping.line == 2 and mapping.key_lines["start"] == 3
    assert mapping["registration"][0].key_lines["sections"] == 4
    assert mapping.origins["registration[0].sections"].param == "sections"


def test_aliases_and_template_name_are_configurable() -> None:
    text = ("{{Event bot|start=2026-12-05|end=2026-12-05|timezone=UTC|registration=R}}\n"
            "{{Event bot message|x=1}}")
    event, issues = load_config(text, page_title=TITLE, wiki="metawiki", aliases=["Event bot"],
                                campaign_aliases=["Event bot message"])
    assert event is None
    assert [(i.line, i.path, i.message) for i in issues] == [
        (2, "x (campaign 1)", "unknown parameter"),
        (2, "name (campaign 1)", "missing; this parameter is required"),
        (2, "when (campaign 1)", "missing; this parameter is required"),
        (2, "message (campaign 1)", "missing; this parameter is required"),
        (2, "title (campaign 1)", "missing; this parameter is required"),
    ]
    mapping, _ = parse_config_templates("{{Config|start=x}}", page_title=TITLE, wiki="metawiki",
                                        template="Config")
    assert mapping.event_templates == 1 and mapping["start"] == "x"


def test_default_event_id_keeps_every_script() -> None:
    assert default_event_id("Small wiki toolkits/Workshops/2026-12", "metawiki") == \
        "metawiki-small-wiki-toolkits-workshops-2026-12"
    assert default_event_id("వికీపీడియా:శిక్షకులకు శిక్షణ 2026", "tewiki") == "tewiki-వికీపీడియా-శిక్షకులకు-శిక్షణ-2026"
    assert default_event_id("!!!", "metawiki") == "metawiki-event"


VALID = "{{eventbot|start=2026-12-05|end=2026-12-05|timezone=UTC|registration=R}}\n"


@pytest.mark.parametrize("text", [
    "\n".join(f"# [[User:U{i}]] 10:00, 1 June 2026 (UTC) {{{{u|U{i}}}}}" for i in range(5000)) + "\n" + VALID,
    "<pre>" * 50000 + VALID,
    "<!--" * 50000,
    "</nowiki>" * 50000 + VALID,
    "{{" * 50000 + "[[" * 50000,
    "{{eventbot|" * 20000 + "}}" * 20000,
    "{{eventbot|" + "|" * 100000 + "=" * 100000 + "}}",
    VALID[:-3] + "|x=" + "{{" * 30000 + "}}" * 30000 + "}}",
    "{{eventbot campaign|name=x}}\n" * 2000 + VALID,
    "x" * 2_000_000 + VALID,
], ids=["5000 sign-ups", "unclosed pre", "unclosed comments", "stray closers", "open braces",
        "nested templates", "pipes and equals", "deep value", "2000 campaigns", "2 MB"])
def test_any_page_is_read_quickly(text: str) -> None:
    """The page is anyone's to write: nothing on it may make reading it slow."""
    import time

    started = time.monotonic()
    load_config(text, page_title=TITLE, wiki="metawiki")
    assert time.monotonic() - started < 3


def test_a_notice_lists_at_most_30_problems() -> None:
    issues = issues_of("{{eventbot campaign|name=x}}\n" * 20 + VALID)
    assert len(issues) == 60
    body = notice_wikitext(TITLE, issues)
    assert body.count("\n* ") == 31 and "* … and 30 more; fix these first." in body


# --- trust ------------------------------------------------------------------------------------


ALLOW = frozenset({"Asha Organiser"})


@pytest.mark.parametrize(("user", "groups", "group", "ok", "reason"), [
    ("Asha Organiser", frozenset(), "event-organizer", True,
     "Asha Organiser is on the list of approved organisers"),
    ("asha_Organiser", frozenset(), None, True, "Asha Organiser is on the list of approved organisers"),
    ("Admin", frozenset({"sysop"}), "sysop", True, "Admin is in the 'sysop' user group"),
    ("Admin", frozenset({"sysop"}), "event-organizer", False,
     "Admin is neither on the list of approved organisers nor in the 'event-organizer' user group"),
    ("Human Editor", frozenset(), None, False, "Human Editor is neither on the list of approved organisers"),
    ("", frozenset(), "sysop", False, "the editor's name is hidden or invalid"),
    ("Bad[name]", frozenset({"sysop"}), "sysop", False, "the editor's name is hidden or invalid"),
])
def test_trusted(user: str, groups: frozenset[str], group: str | None, ok: bool, reason: str) -> None:
    assert trusted(user, allowlist=ALLOW, user_groups=groups, required_group=group) == (ok, reason)


VERDICTS = {"Asha Organiser": (True, "Asha Organiser is on the list"),
            "Human Editor": (False, "Human Editor is not"), "": (False, "hidden")}


def test_choose_revision_takes_the_latest_when_approved() -> None:
    history = [Revision(3, "Asha Organiser"), Revision(2, "Human Editor")]
    choice = choose_revision(history, VERDICTS)
    assert choice.latest_trusted and choice.trusted_revision == history[0]


def test_choose_revision_falls_back_to_the_last_approved() -> None:
    history = [Revision(5, "Human Editor"), Revision(4, ""), Revision(3, "Asha Organiser"),
               Revision(1, "Asha Organiser")]
    choice = choose_revision(history, VERDICTS)
    assert not choice.latest_trusted and choice.reason == "Human Editor is not"
    assert choice.trusted_revision == history[2]
    assert choose_revision([Revision(5, "Stranger")], VERDICTS).trusted_revision is None
    with pytest.raises(ValueError):
        choose_revision([], VERDICTS)


def event_of(text: str, title: str = TITLE) -> EventConfig:
    event, issues = load_config(text, page_title=title, wiki="metawiki")
    assert event is not None, issues
    return event


BASE = "{{eventbot|start=2026-12-05|end=2026-12-05|timezone=Asia/Kolkata|registration=R%s}}"
CAMPAIGN = "{{eventbot campaign|name=thanks|when=end + 1d|message=M|title=Thanks}}"


def test_decide_uses_an_approved_latest_revision_entirely() -> None:
    event = event_of(BASE % "" + CAMPAIGN)
    latest = Revision(7, "Asha Organiser")
    decision = decide(TITLE, TrustChoice(latest, True, "ok", latest), event, None, latest_campaigns=1)
    assert decision.event is event and decision.sends and decision.used == latest and decision.note is None


def test_decide_keeps_the_last_approved_revision_for_an_unapproved_change() -> None:
    mine = event_of(BASE % "" + CAMPAIGN)
    theirs = event_of(BASE % "|registration2=Everyone" + CAMPAIGN.replace("end + 1d", "start - 300d"))
    latest, old = Revision(9, "Human Editor"), Revision(7, "Asha Organiser")
    choice = TrustChoice(latest, False, "Human Editor is neither on the list", old)
    decision = decide(TITLE, choice, theirs, mine, latest_campaigns=1,
                      who="listed on [[User:EventBot/Organisers]]")
    assert decision.event is mine and decision.sends and decision.used == old
    assert decision.note is not None
    assert "[[Special:Diff/9|revision 9]] by [[User:Human Editor|Human Editor]]" in decision.note
    assert "[[Special:PermanentLink/7|revision 7]] by [[User:Asha Organiser|Asha Organiser]]" in decision.note
    assert "listed on [[User:EventBot/Organisers]]" in decision.note
    broken = decide(TITLE, choice, theirs, None, latest_campaigns=1)
    assert broken.event is None and not broken.sends
    assert broken.note is not None and "has problems too" in broken.note


def test_decide_never_sends_from_a_configuration_nobody_approved() -> None:
    latest = Revision(9, "Human Editor")
    choice = TrustChoice(latest, False, "Human Editor is neither on the list", None)
    event = event_of(BASE % "" + CAMPAIGN)
    decision = decide(TITLE, choice, event, None, latest_campaigns=1)
    assert not decision.sends and decision.event is not None and decision.event.campaigns == []
    assert decision.note is not None and "send no messages" in decision.note
    # Without campaigns there is nothing to approve: lists and reports run, nothing is said.
    quiet = decide(TITLE, choice, event_of(BASE % ""), None, latest_campaigns=0)
    assert quiet.event is not None and quiet.note is None and not quiet.sends
    # ... but only onto the event page and its subpages.
    elsewhere = event_of(BASE % ("|report=Main Page|participants=[[" + TITLE + "/List]]"))
    refused = decide(TITLE, choice, elsewhere, None, latest_campaigns=0)
    assert refused.event is None and refused.note is not None and "[[Main Page]]" in refused.note
    assert "/List" not in refused.note
    broken = decide(TITLE, choice, None, None, latest_campaigns=2)
    assert broken.event is None and broken.note is not None


# --- the notice -------------------------------------------------------------------------------


def issues_of(text: str) -> list[ConfigIssue]:
    event, issues = load_config(text, page_title=TITLE, wiki="metawiki")
    assert event is None
    return issues


def test_notice_names_parameter_given_and_expected() -> None:
    issues = issues_of("{{eventbot\n|start=2026-12-32\n|end=2026-12-05\n|timezone=Asia/Kolkata\n"
                       "|registration=R\n}}")
    body = notice_wikitext(TITLE, issues, stamp_label="eventbot, 1 December 2026")
    assert body.startswith(f"== {onwiki.NOTICE_HEADING} ==\n")
    assert ("* <code>start</code> (line 2): you wrote <code>2026-12-32</code>; expected a date written "
            "YYYY-MM-DD") in body
    name = "<code>&#123;&#123;Eventbot&#125;&#125;</code>"
    assert f"1 problem in the {name} configuration on [[{TITLE}]]" in body
    assert body.endswith('<span class="eventbot-stamp">eventbot, 1 December 2026</span>')


def test_notice_is_inert_whatever_the_page_says() -> None:
    nasty = "{{subst:Foo}} [[Category:Spam]] ~~~~ <script>x</script> __NOTOC__ == H =="
    issues = issues_of("{{eventbot\n|start=" + nasty + "\n|timezone=" + nasty + "\n}}")
    body = notice_wikitext(TITLE, issues)
    lines = body.splitlines()[2:]
    text = "\n".join(lines)
    for bad in ("{{", "[[Category", "~~~", "<script", "__NOTOC__", "=="):
        assert bad not in text, bad
    assert "&#123;&#123;subst&#58;Foo&#125;&#125;" in text
    assert sum(nasty in html.unescape(line) for line in lines) == 2


def test_notice_is_deterministic_and_changes_with_the_issues() -> None:
    first = issues_of("{{eventbot|start=x|end=2026-12-05|timezone=UTC|registration=R}}")
    again = issues_of("{{eventbot|start=x|end=2026-12-05|timezone=UTC|registration=R}}")
    other = issues_of("{{eventbot|start=y|end=2026-12-05|timezone=UTC|registration=R}}")
    assert notice_wikitext(TITLE, first) == notice_wikitext(TITLE, again)
    assert notice_wikitext(TITLE, first) != notice_wikitext(TITLE, other)


def test_notice_with_only_a_trust_note() -> None:
    body = notice_wikitext(TITLE, [], note="The latest change is not used.")
    assert body.splitlines()[0] == "== eventbot is not using the latest change to the configuration =="
    assert "The latest change is not used." in body and "problem" not in body


def test_plain_config_issues_render_too() -> None:
    body = notice_wikitext(TITLE, [ConfigIssue("pages.report", "expected text", 3)])
    assert "* <code>pages.report</code> (line 3): expected text" in body


def test_resolved_note() -> None:
    body = resolved_wikitext(TITLE, stamp_label="x")
    assert body.splitlines()[0] == f"== {onwiki.NOTICE_HEADING} (resolved) =="
    assert is_resolved_notice(body) and is_resolved_notice("\n" + body)
    assert not is_resolved_notice(notice_wikitext(TITLE, issues_of("{{eventbot}}")))
    assert not is_resolved_notice(None) and not is_resolved_notice("")
