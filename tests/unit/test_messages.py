"""Follow-up messages: markers, language choice, rendering of hostile input, {{bots}} and
talk-page prechecks."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
import textwrap
import unicodedata
from pathlib import Path
from typing import Any

import mwparserfromhell
import pytest

from bot.campaigns import CampaignConfig
from bot.escape import one_line
from bot.messages import (
    OPTOUT_CATEGORY,
    SUMMARY_LIMIT,
    TITLE_LIMIT,
    TalkPageInfo,
    bots_allow,
    find_markers,
    has_marker,
    language_code,
    language_for,
    marker,
    message_page,
    precheck,
    render_message,
    talk_page_title,
)
from bot.models import Participant, Status, UserInfo
from bot.usernames import InvalidUsername

BOT = "EventBot"
PAGE = "Train the Trainer 2026/Messages/Feedback"


def campaign(**overrides: Any) -> CampaignConfig:
    values: dict[str, Any] = {
        "name": "feedback",
        "when": "end + 1d",
        "message": PAGE,
        "title": "Feedback on {event}",
    }
    values.update(overrides)
    return CampaignConfig(**values)


def person(name: str = "Asha", *, home_wiki: str | None = None, **fields: str) -> Participant:
    return Participant(
        username=name,
        status=Status.ATTENDED,
        statuses=frozenset({Status.ATTENDED}),
        signups=(),
        home_wiki=home_wiki,
        fields=fields,
    )


# --- markers ----------------------------------------------------------------------------------


def test_marker_format() -> None:
    assert marker("feedback", "Asha") == "<!-- eventbot:feedback:Asha -->"
    assert marker("follow-up-30d", "asha_k") == "<!-- eventbot:follow-up-30d:Asha_k -->"
    assert marker("feedback", "Jean-Luc Picard") == "<!-- eventbot:feedback:Jean%2DLuc_Picard -->"
    assert marker("feedback", "A--B~&x") == "<!-- eventbot:feedback:A%2D%2DB%7E%26x -->"
    assert marker("feedback", "50% Man") == "<!-- eventbot:feedback:50%25_Man -->"
    assert marker("feedback", "తెలుగు వాడుకరి") == "<!-- eventbot:feedback:తెలుగు_వాడుకరి -->"


@pytest.mark.parametrize(
    "name",
    ["Jean-Luc Picard", "A--B", "X-", "-->Y", "a~~~~b", "50% Man", "శ్రీ\u200cనివాస్", "Ünal Ö"],
)
def test_marker_is_one_well_formed_comment(name: str) -> None:
    try:
        text = marker("feedback", name)
    except InvalidUsername:
        return  # '>' cannot be in a username at all
    inner = text.removeprefix("<!--").removesuffix("-->")
    assert "--" not in inner and ">" not in inner and "~" not in inner
    [comment] = mwparserfromhell.parse(f"a{text}b").filter_comments()
    assert str(comment) == text
    assert find_markers(text) == {("feedback", marker_name(name))}


def marker_name(name: str) -> str:
    from bot.usernames import normalise

    return normalise(name)


def test_marker_rejects_bad_campaigns_and_names() -> None:
    for bad in ["Feedback", "feed--back", "a:b", "", "x -->", "start", "end"]:
        with pytest.raises(ValueError, match="not a campaign name"):
            marker(bad, "Asha")
    with pytest.raises(InvalidUsername):
        marker("feedback", "A|B")


def test_has_marker_is_exact() -> None:
    page = "== Feedback ==\nHello\n~~~~ " + marker("feedback", "Anna") + "\n"
    assert has_marker(page, "feedback", "Anna")
    assert has_marker(page, "feedback", "anna")  # usernames: first letter case-insensitive
    assert not has_marker(page, "feedback", "Ann")
    assert not has_marker(page, "feedback", "Anna B")
    assert not has_marker(page, "feedback-2", "Anna")
    assert not has_marker(page, "feed", "Anna")
    other = marker("feedback-2", "Ann") + marker("feedback", "Ann B")
    assert not has_marker(other, "feedback", "Ann")
    assert has_marker(other, "feedback", "Ann_B")


def test_has_marker_tolerates_whitespace_in_the_comment() -> None:
    assert has_marker("<!--eventbot:feedback:Jean%2DLuc_Picard-->", "feedback", "Jean-Luc Picard")
    assert has_marker("<!--   eventbot:feedback:Asha\n-->", "feedback", "Asha")
    assert not has_marker("eventbot:feedback:Asha", "feedback", "Asha")  # not in a comment


def test_find_markers_on_a_busy_page() -> None:
    text = "\n".join(
        [
            marker("feedback", "Asha"),
            marker("pre-work", "Jean-Luc Picard"),
            "<!-- eventbot:start:participants -->",  # a bot-owned section marker, not a message
            "<!-- some other comment -->",
        ]
    )
    assert find_markers(text) == {("feedback", "Asha"), ("pre-work", "Jean-Luc Picard")}


# --- language -------------------------------------------------------------------------------

ODIA_PRECOMPOSED = "\u0b13\u0b5c\u0b3f\u0b06"  # ଓଡ଼ିଆ typed with U+0B5C
ODIA_DECOMPOSED = "\u0b13\u0b21\u0b3c\u0b3f\u0b06"  # the same with ଡ + nukta


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Telugu", "te"),
        ("తెలుగు", "te"),
        ("te", "te"),
        ("TE", "te"),
        ("Telugu Wikipedia community", "te"),
        ("tewiki", "te"),
        ("te.wikipedia.org", "te"),
        ("https://te.wikipedia.org/wiki/X", "te"),
        ("Bangla", "bn"),
        ("Bengali", "bn"),
        ("বাংলা", "bn"),
        ("bnwikisource", "bn"),
        ("Odia", "or"),
        ("Oriya", "or"),
        (ODIA_PRECOMPOSED, "or"),
        (ODIA_DECOMPOSED, "or"),
        ("Odia (or)", "or"),
        ("orwiki", "or"),
        ("Tajik", "tg"),
        ("тоҷикӣ", "tg"),
        ("Тоҷикӣ", "tg"),
        ("tgwiki", "tg"),
        ("Hindi", "hi"),
        ("हिन्दी", "hi"),
        ("Tamil", "ta"),
        ("Hi, I'm in the Telugu community", "te"),  # a name beats an English word that is a code
        ("English", "en"),
        ("enwiki", "en"),
        ("metawiki", None),
        ("commonswiki", None),
        ("Klingon", None),
        ("", None),
    ],
)
def test_language_code(text: str, code: str | None) -> None:
    assert language_code(text) == code


def test_odia_spellings_really_differ_before_normalisation() -> None:
    assert ODIA_PRECOMPOSED != ODIA_DECOMPOSED
    assert unicodedata.normalize("NFC", ODIA_PRECOMPOSED) == ODIA_DECOMPOSED


AVAILABLE = ["te", "bn", "or", "tg", "hi"]


@pytest.mark.parametrize(
    ("participant", "lang"),
    [
        (person(community="Telugu"), "te"),
        (person(community="బెంగాలీ", home_wiki="bnwiki"), "bn"),  # unknown name, home wiki
        (person(community="Bangla"), "bn"),
        (person(language="Odia"), "or"),
        (person(lang="тоҷикӣ"), "tg"),
        (person(home_wiki="tewiki"), "te"),
        (person(community="Tamil", home_wiki="orwiki"), "or"),  # no /ta subpage
        (person(community="Tamil"), "en"),
        (person(community="Klingon"), "en"),
        (person(), "en"),
        (person(home_wiki="metawiki"), "en"),
    ],
)
def test_language_for(participant: Participant, lang: str) -> None:
    assert language_for(participant, AVAILABLE) == lang


def test_language_for_needs_the_subpage() -> None:
    assert language_for(person(community="Telugu"), []) == "en"
    assert language_for(person(community="Telugu"), ["TE"]) == "te"


def test_message_page() -> None:
    assert message_page(campaign(), "te") == f"{PAGE}/te"
    assert message_page(campaign(), "en") == f"{PAGE}/en"


# --- rendering ------------------------------------------------------------------------------


def template_of(body: str) -> Any:
    code = mwparserfromhell.parse(body)
    templates = code.filter_templates(recursive=False)
    assert len(templates) == 1
    assert str(templates[0]) == body  # the call is the whole body
    return templates[0]


def params_of(body: str) -> dict[str, str]:
    template = template_of(body)
    return {str(param.name): str(param.value) for param in template.params}


def test_render_plain_message() -> None:
    rendered = render_message(
        campaign(), "Train the Trainer 2026", person("Asha_K", community="Telugu"), "te",
        bot_user=BOT, extra={},
    )  # fmt: skip
    assert rendered.page == f"{PAGE}/te"
    assert rendered.body == (
        "{{subst::Train the Trainer 2026/Messages/Feedback/te|username=Asha K"
        "|event=Train the Trainer 2026|campaign=feedback|lang=te|sender=EventBot"
        "|community=Telugu}}"
    )
    assert rendered.footer == "~~~~ <!-- eventbot:feedback:Asha_K -->"
    assert rendered.text == rendered.body + "\n" + rendered.footer
    assert rendered.title == "Feedback on Train the Trainer 2026"
    assert rendered.summary == "eventbot: feedback message for Train the Trainer 2026"
    assert has_marker(rendered.text, "feedback", "Asha K")


def test_render_without_subst_for_expanding_elsewhere() -> None:
    rendered = render_message(campaign(), "E", person(), "en", bot_user=BOT, subst=False)
    assert rendered.body.startswith("{{:Train the Trainer 2026/Messages/Feedback/en|")
    assert "subst" not in rendered.text


def test_render_page_title_in_any_namespace() -> None:
    rendered = render_message(
        campaign(message="Meta:TTT_2026/Thanks~"), "E", person(), "bn", bot_user=BOT
    )
    # A leading colon lets a main-namespace page be substituted; entities stop '~' and '_'
    # from being read as signatures or switches (MediaWiki decodes them in titles).
    assert rendered.body.startswith("{{subst::Meta:TTT&#95;2026/Thanks&#126;/bn|")


HOSTILE_EVENT = (
    "TTT | x=1 }} ]] ~~~~ {{subst:Evil}} [[Category:Spam]] __NOTOC__ <ref>r</ref>\n"
    "== Heading == {{{1}}} ''' [https://spam.example s] ~~~~~"
)
HOSTILE_FIELDS = {
    "community": "Telugu}}{{subst:Evil|x=1}}[[Category:X]]~~~~\n== Boo ==",
}


def test_hostile_values_stay_inside_their_parameters() -> None:
    participant = person("Jean-Luc Picard", **HOSTILE_FIELDS)
    extra = {"note": "a|b=c}}{{x}}[[y]]~~~~\n__NOTOC__", "form": "https://example.org/f?a=1&b=2"}
    rendered = render_message(
        campaign(params={"year": "2026 | ~~~ "}), HOSTILE_EVENT, participant, "te",
        bot_user=BOT, extra=extra,
    )  # fmt: skip
    params = params_of(rendered.body)
    assert list(params) == [
        "username", "event", "campaign", "lang", "sender", "community", "year", "note", "form",
    ]  # fmt: skip
    assert html.unescape(params["event"]) == one_line(HOSTILE_EVENT)
    assert html.unescape(params["community"]) == one_line(HOSTILE_FIELDS["community"])
    assert html.unescape(params["note"]) == one_line(extra["note"])
    assert html.unescape(params["year"]) == "2026 | ~~~ "
    assert params["username"] == "Jean-Luc Picard"
    assert params["form"] == "https://example.org/f?a=1&b=2"  # a plain URL stays usable

    body = rendered.body
    assert body.count("{{") == 1 and body.count("}}") == 1  # only our own call
    assert "[[" not in body and "]]" not in body
    assert "~" not in body
    assert "__" not in body and "<ref" not in body and "\n" not in body
    # The only signature is the bot's, once, in the footer.
    assert rendered.text.count("~~~~") == 1
    assert rendered.footer.startswith("~~~~ <!--")


def test_hostile_values_render_as_text_after_parsing() -> None:
    rendered = render_message(
        campaign(), HOSTILE_EVENT, person(**HOSTILE_FIELDS), "te", bot_user=BOT
    )
    template = template_of(rendered.body)
    for param in template.params:
        value = mwparserfromhell.parse(str(param.value))
        assert not value.filter_templates() and not value.filter_wikilinks()
        assert not value.filter_tags() and not value.filter_external_links()
        assert not value.filter_headings() and not value.filter_comments()


def test_title_is_one_line_inert_and_capped() -> None:
    rendered = render_message(campaign(), HOSTILE_EVENT, person(), "te", bot_user=BOT)
    assert "\n" not in rendered.title
    for markup in ["==", "[[", "]]", "{{", "}}", "~~~", "__", "<ref", "|"]:
        assert markup not in rendered.title
    shown = html.unescape(rendered.title)
    assert shown.startswith("Feedback on TTT | x=1 }} ]] ~~~~ {{subst:Evil}}")
    assert "\n" not in shown

    long_event = "Ж" * 300
    capped = render_message(campaign(), long_event, person(), "te", bot_user=BOT)
    assert len(capped.title) == TITLE_LIMIT
    assert capped.title.endswith("…")
    assert capped.title.startswith("Feedback on ЖЖЖ")


def test_title_placeholders_and_heading_markup() -> None:
    config = campaign(title="== {username}: {event} ({campaign}) ==")
    rendered = render_message(config, "TTT\n== 2026 ==", person("asha"), "te", bot_user=BOT)
    assert html.unescape(rendered.title) == "Asha: TTT == 2026 == (feedback)"
    assert "=" not in rendered.title


def test_summary_is_one_line_capped_and_cannot_link() -> None:
    config = campaign(summary="Sent {campaign} to {username} for {event} /* section */")
    rendered = render_message(
        config, "[[Category:Spam]] /* x */ {{X}}\nline two", person(), "te", bot_user=BOT
    )
    assert "\n" not in rendered.summary
    assert "[[" not in rendered.summary and "]]" not in rendered.summary
    assert rendered.summary.count("/*") == 1  # the organiser's own autocomment only
    assert rendered.summary.replace("\u2060", "") == (
        "Sent feedback to Asha for [[Category:Spam]] /* x */ {{X}} line two /* section */"
    )
    long = render_message(campaign(), "Ж" * 1000, person(), "te", bot_user=BOT)
    assert len(long.summary) == SUMMARY_LIMIT and long.summary.endswith("…")


def test_render_refuses_bad_parameter_names_and_languages() -> None:
    with pytest.raises(ValueError, match="'username' cannot be a message parameter"):
        render_message(campaign(), "E", person(), "te", bot_user=BOT, extra={"username": "x"})
    with pytest.raises(ValueError, match="cannot be a message parameter"):
        render_message(campaign(), "E", person(), "te", bot_user=BOT, extra={"a|b": "x"})
    with pytest.raises(ValueError, match="not a language code"):
        render_message(campaign(), "E", person(), "te|x", bot_user=BOT)


def test_extra_overrides_campaign_params() -> None:
    config = campaign(params={"form": "https://a.example/1"})
    rendered = render_message(
        config, "E", person(), "te", bot_user=BOT, extra={"form": "https://b.example/2"}
    )
    assert params_of(rendered.body)["form"] == "https://b.example/2"


def test_url_lookalikes_are_escaped() -> None:
    for value in ["https://x.example/__NOTOC__", "https://x.example/a b", "javascript:alert(1)",
                  "https://x.example/[[y]]", "https://x.example/~~~~"]:  # fmt: skip
        rendered = render_message(
            campaign(), "E", person(), "te", bot_user=BOT, extra={"form": value}
        )
        assert params_of(rendered.body)["form"] != value


# --- {{bots}} / {{nobots}} -----------------------------------------------------------------

# (text, allowed) for EventBot: the same answer as pywikibot's botMayEdit.
SAME_AS_PYWIKIBOT: list[tuple[str, bool]] = [
    ("", True),
    ("Hello, welcome!", True),
    ("{{nobots}}", False),
    ("{{Nobots}}", False),
    ("{{Template:Nobots}}", False),
    ("{{nobots|EventBot}}", False),
    ("{{nobots|1=EventBot}}", False),
    ("{{nobots|OtherBot}}", True),
    ("{{nobots|all}}", False),
    ("{{nobots|}}", True),
    ("{{nobots|deny=OtherBot}}", False),
    ("{{bots}}", True),
    ("{{Bots}}", True),
    ("{{bots|allow=all}}", True),
    ("{{bots|allow=none}}", False),
    ("{{bots|allow=EventBot}}", True),
    ("{{bots|allow=OtherBot, EventBot}}", True),
    ("{{bots|allow=OtherBot}}", False),
    ("{{bots|deny=all}}", False),
    ("{{bots|deny=none}}", True),
    ("{{bots|deny=EventBot}}", False),
    ("{{bots|deny= OtherBot ,EventBot }}", False),
    ("{{ bots | deny = EventBot }}", False),
    ("{{Bots|deny=EventBot}}", False),
    ("{{bots|deny=OtherBot}}", True),
    ("{{bots|allowscript=eventbot}}", True),
    ("{{bots|allowscript=archivebot}}", False),
    ("{{bots|denyscript=eventbot}}", False),
    ("{{bots|denyscript=archivebot}}", True),
    ("{{bots|EventBot}}", True),
    ("{{bots|allow=}}", True),
    ("{{bots|optout=nosource}}", True),
    ("<nowiki>{{nobots}}</nowiki>", True),
    ("<!-- {{nobots}} -->", True),
    ("<pre>{{nobots}}</pre>", True),
    ("{{talk header|{{nobots}}}}", False),
    ("{{bots|deny=OtherBot}}\n{{nobots|EventBot}}", False),
    ("{{bots|allow=EventBot}}\n{{bots|deny=all}}", False),
]
# Where eventbot is stricter than pywikibot (pywikibot would post; eventbot does not).
STRICTER: list[str] = [
    "{{bots|optout=all}}",
    "{{bots|optout=eventbot}}",
    "{{bots|optout=nosource, EventBot}}",
    "{{bots|allow=EventBot|deny=all}}",  # pywikibot reads only the first (sorted) parameter
    "{{bots|deny=eventbot}}",  # names compare case-insensitively
    "{{bots|deny=<!-- why -->EventBot}}",  # comments are not part of a name
    "{{NOBOTS}}",
    "{{No bots}}",
]
# Where eventbot posts and pywikibot would not: `allow=` names compare case-insensitively.
LOOSER: list[str] = ["{{bots|allow=eventbot}}", "{{bots|allow=EVENTBOT, OtherBot}}"]

_PYWIKIBOT_HARNESS = textwrap.dedent(
    """
    import json, sys
    from pywikibot import textlib
    from pywikibot.page import BasePage

    class Tpl:  # what templatesWithParams gives: a page whose title has no namespace
        def __init__(self, name):
            self.name = name
        def title(self, with_ns=True):
            name = self.name.strip().replace("_", " ")
            if name.lower().startswith("template:"):
                name = name[9:].strip()
            return name[:1].upper() + name[1:]

    class Site:
        def username(self):
            return "EventBot"
        def get_edit_restricted_templates(self):
            return ()
        def get_archived_page_templates(self):
            return ()

    class Page:  # the parts of pywikibot.Page that _check_bot_may_edit uses
        site = Site()
        def __init__(self, text):
            self.text = text
        def templatesWithParams(self):  # pywikibot.page.Page.templatesWithParams, offline
            result = []
            for name, args in textlib.extract_templates_and_params(self.text, strip=True):
                intkeys, named, positional = {}, {}, []
                for key in sorted(args):
                    try:
                        intkeys[int(key)] = args[key]
                    except ValueError:
                        named[key] = args[key]
                for i in range(1, len(intkeys) + 1):
                    if i in intkeys:
                        positional.append(intkeys[i])
                        continue
                    for k, v in intkeys.items():
                        if k < 1 or k >= i:
                            named[str(k)] = v
                    break
                positional += [f"{k}={v}" for k, v in named.items()]
                result.append((Tpl(name), positional))
            return result

    texts = json.load(sys.stdin)
    print(json.dumps([BasePage._check_bot_may_edit(Page(t), module="eventbot") for t in texts]))
    """
)


@pytest.fixture(scope="module")
def pywikibot_verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bool]:
    """pywikibot's own botMayEdit on every text, run offline in a separate process (so its
    configuration cannot leak into other tests)."""
    texts = [text for text, _ in SAME_AS_PYWIKIBOT] + STRICTER + LOOSER
    env = {**os.environ, "PYWIKIBOT_NO_USER_CONFIG": "2"}
    env.pop("PYWIKIBOT_DIR", None)
    cwd: Path = tmp_path_factory.mktemp("pywikibot")
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PYWIKIBOT_HARNESS],
            input=json.dumps(texts),
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=120,
            check=True,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"pywikibot could not run offline: {exc}")
    verdicts = json.loads(done.stdout.strip().splitlines()[-1])
    return dict(zip(texts, verdicts, strict=True))


@pytest.mark.parametrize(("text", "allowed"), SAME_AS_PYWIKIBOT)
def test_bots_rules_match_pywikibot(
    text: str, allowed: bool, pywikibot_verdicts: dict[str, bool]
) -> None:
    assert pywikibot_verdicts[text] is allowed  # the expectation is right ...
    ok, reason = bots_allow(text, BOT)
    assert ok is allowed  # ... and eventbot agrees
    assert (reason is None) is allowed


@pytest.mark.parametrize("text", STRICTER)
def test_bots_stricter_than_pywikibot(text: str, pywikibot_verdicts: dict[str, bool]) -> None:
    assert pywikibot_verdicts[text] is True
    ok, reason = bots_allow(text, BOT)
    assert not ok and reason


@pytest.mark.parametrize("text", LOOSER)
def test_bots_allow_names_case_insensitively(
    text: str, pywikibot_verdicts: dict[str, bool]
) -> None:
    assert pywikibot_verdicts[text] is False
    assert bots_allow(text, BOT) == (True, None)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{{nobots}}", "the talk page has {{nobots}}"),
        ("{{nobots|all}}", "the talk page has {{nobots|all}}"),
        ("{{nobots|EventBot}}", "the talk page has {{nobots}} naming this bot"),
        ("{{bots|deny=all}}", "the talk page has {{bots|deny=...}} naming this bot or all bots"),
        ("{{bots|allow=Other}}", "the talk page has {{bots|allow=...}} without this bot"),
        ("{{bots|optout=all}}", "the talk page opts out of bot messages ({{bots|optout=all}})"),
        (
            "{{bots|optout=nosource,eventbot}}",
            "the talk page opts out of bot messages ({{bots|optout=eventbot}})",
        ),
    ],
)
def test_bots_reasons(text: str, reason: str) -> None:
    assert bots_allow(text, BOT) == (False, reason)


def test_optout_kinds_are_configurable() -> None:
    text = "{{bots|optout=ttt-feedback}}"
    assert bots_allow(text, BOT) == (True, None)
    ok, _ = bots_allow(text, BOT, campaign_kinds=("eventbot", "ttt-feedback"))
    assert not ok


# --- prechecks ------------------------------------------------------------------------------

ASHA = UserInfo(name="Asha", exists=True, user_id=7, editcount=120)
RIGHTS = frozenset({"edit", "createtalk", "editsemiprotected", "bot"})


def check(
    info: TalkPageInfo | None = None,
    *,
    user: UserInfo | None = ASHA,
    rights: frozenset[str] = RIGHTS,
    opted_out: frozenset[str] = frozenset(),
    **kwargs: Any,
) -> str | None:
    page = info or TalkPageInfo(title="User talk:Asha", exists=True, text="Hi")
    return precheck(page, user=user, bot_user=BOT, bot_rights=rights, opted_out=opted_out, **kwargs)


def talk(**fields: Any) -> TalkPageInfo:
    values: dict[str, Any] = {"title": "User talk:Asha", "exists": True, "text": "Hi"}
    values.update(fields)
    return TalkPageInfo(**values)


def test_precheck_passes_an_ordinary_page() -> None:
    assert check() is None
    assert check(TalkPageInfo(title="User talk:Asha", exists=False)) is None  # new talk page
    assert check(talk(protection=(("move", "sysop"),))) is None
    assert check(talk(protection=(("edit", "autoconfirmed"),))) is None
    assert check(talk(categories=frozenset({"Category:Wikipedians in Telangana"}))) is None
    assert check(talk(templates=frozenset({"Template:Bots"}))) is None


@pytest.mark.parametrize(
    ("user", "reason"),
    [
        (None, "the account could not be looked up"),
        (UserInfo(name="Ghost", exists=False), "the account does not exist"),
        (UserInfo(name="192.0.2.1", exists=False, is_ip=True), "not a registered account"),
        (UserInfo(name="~2026-1234", exists=True, is_temp=True), "a temporary account"),
        (UserInfo(name="Asha", exists=True, blocked=True), "the account is blocked"),
        (
            UserInfo(name="Asha", exists=True, renamed_to="Asha K"),
            "the account was renamed to Asha K",
        ),
    ],
)
def test_precheck_account_reasons(user: UserInfo | None, reason: str) -> None:
    result = check(user=user)
    assert result is not None and result.startswith(reason)


def test_precheck_opt_out_list_and_category() -> None:
    assert check(opted_out=frozenset({"asha"})) == "opted out (on the opt-out list)"
    assert check(opted_out=frozenset({"Ashank"})) is None
    in_category = talk(categories=frozenset({"Category:Opted-out of message delivery"}))
    expected = "opted out (the talk page is in the category 'Opted-out of message delivery')"
    assert check(in_category) == expected
    assert check(talk(categories=frozenset({"Opted-out_of_message_delivery"}))) == expected
    # A wiki with a translated category name passes its own name.
    local = talk(categories=frozenset({"వర్గం:సందేశాల బట్వాడా వద్దు"}))
    assert check(local) is None
    assert check(local, optout_category="సందేశాల బట్వాడా వద్దు") is not None
    assert OPTOUT_CATEGORY == "Opted-out of message delivery"


def test_precheck_bots_templates() -> None:
    assert check(talk(text="{{nobots}}")) == "the talk page has {{nobots}}"
    assert check(talk(text="{{bots|deny=EventBot}}")) is not None
    assert check(talk(text="{{bots|optout=all}}")) == (
        "the talk page opts out of bot messages ({{bots|optout=all}})"
    )
    assert check(talk(text="{{bots|optout=ttt}}"), campaign_kinds=("eventbot", "ttt")) is not None
    # {{nobots}} coming through another template (the API lists it, the text does not show it).
    through = talk(text="{{User talk header}}", templates=frozenset({"Template:Nobots"}))
    assert check(through) == "the talk page uses {{nobots}} (through another template)"
    # ... but a {{nobots|OtherBot}} written on the page itself is already judged by its text.
    direct = talk(text="{{nobots|OtherBot}}", templates=frozenset({"Template:Nobots"}))
    assert check(direct) is None


def test_precheck_page_reasons() -> None:
    assert check(talk(content_model="flow-board")) == ("the talk page is a Flow board (flow-board)")
    assert check(talk(content_model="json")) == "the talk page is not a wikitext page (json)"
    assert check(talk(redirect_to="User talk:Asha K")) == (
        "the talk page redirects to User talk:Asha K"
    )
    assert check(talk(protection=(("edit", "sysop"),))) == (
        "the talk page is protected against editing (sysop) "
        "and the bot lacks the 'editprotected' right"
    )
    assert check(talk(protection=(("edit", "sysop"),)), rights=RIGHTS | {"editprotected"}) is None
    assert check(talk(protection=(("edit", "autoconfirmed"),)), rights=frozenset({"edit"})) == (
        "the talk page is protected against editing (autoconfirmed) "
        "and the bot lacks the 'editsemiprotected' right"
    )
    assert check(talk(protection=(("edit", "extendedconfirmed"),))) is not None
    missing = TalkPageInfo(title="User talk:Asha", exists=False, protection=(("create", "sysop"),))
    assert check(missing) == (
        "the talk page is protected against creation (sysop) "
        "and the bot lacks the 'editprotected' right"
    )
    assert check(talk(protection=(("create", "sysop"),))) is None  # exists: creation is moot


def test_precheck_order_puts_the_person_first() -> None:
    everything = talk(
        text="{{nobots}}",
        content_model="flow-board",
        categories=frozenset({"Category:Opted-out of message delivery"}),
        protection=(("edit", "sysop"),),
    )
    assert check(everything, user=UserInfo(name="Asha", exists=True, blocked=True)) == (
        "the account is blocked"
    )
    assert check(everything, opted_out=frozenset({"Asha"})) == "opted out (on the opt-out list)"
    assert check(everything).startswith("opted out (the talk page is in the category")  # type: ignore[union-attr]
    assert check(talk(text="{{nobots}}", content_model="flow-board")) == (
        "the talk page has {{nobots}}"
    )


def test_talk_page_title() -> None:
    assert talk_page_title("asha_k") == "User talk:Asha k"
    with pytest.raises(InvalidUsername):
        talk_page_title("A|B")
