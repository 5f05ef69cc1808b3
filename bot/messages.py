"""Follow-up messages: language choice, rendering, markers and talk-page prechecks (pure).

A message is a wiki page with language subpages (`.../Feedback/te`, fallback `.../Feedback/en`).
The bot posts `{{subst::PAGE/LANG|username=...|event=...}}` in a new section so MediaWiki
expands it, followed by its signature and an invisible marker `<!-- eventbot:CAMPAIGN:USER -->`
that makes delivery checkable after a crash. Everything a participant or organiser typed that
reaches the message is escaped first. `precheck` decides, from what the wiki says about a talk
page and its owner, whether the bot should post there at all, and why not.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

import mwparserfromhell

from bot.campaigns import RESERVED_NAMES, RESERVED_PARAMS, CampaignConfig, fill_placeholders
from bot.escape import inert, inert_target, inert_title, one_line
from bot.models import Participant, UserInfo
from bot.namespaces import language_of
from bot.usernames import normalise, try_normalise

__all__ = [
    "FALLBACK_LANGUAGE",
    "OPTOUT_CATEGORY",
    "SUMMARY_LIMIT",
    "TITLE_LIMIT",
    "RenderedMessage",
    "TalkPageInfo",
    "bots_allow",
    "find_markers",
    "has_marker",
    "language_code",
    "language_for",
    "marker",
    "message_page",
    "precheck",
    "render_message",
    "talk_page_title",
]

FALLBACK_LANGUAGE = "en"
#: MassMessage's opt-out category (message `massmessage-optout-category`, English default).
OPTOUT_CATEGORY = "Opted-out of message delivery"
#: Section titles are cut to this many characters (before escaping). MediaWiki sets no limit,
#: but the title is repeated in the automatic `/* ... */` part of summaries and in anchors.
TITLE_LIMIT = 200
#: Edit summaries are cut to this many characters: MediaWiki's CommentStore limit (code
#: points, not bytes, since MediaWiki 1.30); past it MediaWiki would truncate silently.
SUMMARY_LIMIT = 500

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PARAM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


# --- markers --------------------------------------------------------------------------------

# Characters of a username that are escaped in a marker: '%' (the escape itself), '-' (so no
# '--' or '-->' can appear inside the comment), and '<', '>', '&', '~' for good measure. Spaces
# become '_' (usernames never contain '_', MediaWiki folds it to a space).
_MARKER_ESCAPE = frozenset("%-<>&~_")
_MARKER = re.compile(r"<!--\s*eventbot:([a-z0-9]+(?:-[a-z0-9]+)*):([^\s<>]+)\s*-->")


def _encode_name(username: str) -> str:
    out: list[str] = []
    for char in normalise(username):
        if char == " ":
            out.append("_")
        elif char in _MARKER_ESCAPE or not char.isprintable():
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8")))
        else:
            out.append(char)
    return "".join(out)


def _decode_name(encoded: str) -> str:
    return unquote(encoded.replace("_", " "))


def marker(campaign: str, username: str) -> str:
    """`<!-- eventbot:CAMPAIGN:USER -->` for a campaign slug and a (normalised) username.

    The username is encoded so the comment cannot end early and stays one token: spaces are
    `_`, and `%`, `-`, `<`, `>`, `&`, `~` and unprintable characters are percent-encoded
    (`Jean-Luc Picard` → `Jean%2DLuc_Picard`). Other characters, Indic scripts included, stay
    as they are. Raises `ValueError` for a campaign that is not a slug or an invalid username.
    """
    if not _SLUG.match(campaign) or campaign in RESERVED_NAMES:
        raise ValueError(f"{campaign!r} is not a campaign name (a slug such as 'feedback')")
    return f"<!-- eventbot:{campaign}:{_encode_name(username)} -->"


def has_marker(text: str, campaign: str, username: str) -> bool:
    """True when `text` holds this campaign's marker for exactly this user (whitespace inside
    the comment may vary; `Ann` does not match `Anna`'s marker, nor `feedback` `feedback-2`)."""
    wanted = (campaign, normalise(username))
    return wanted in find_markers(text)


def find_markers(text: str) -> set[tuple[str, str]]:
    """Every (campaign, username) whose marker appears in `text`. The bot-owned section markers
    (`<!-- eventbot:start:NAME -->`, `eventbot:end:`) are not message markers."""
    found: set[tuple[str, str]] = set()
    for match in _MARKER.finditer(text):
        name = try_normalise(_decode_name(match.group(2)))
        if name is not None and match.group(1) not in RESERVED_NAMES:
            found.add((match.group(1), name))
    return found


# --- language ---------------------------------------------------------------------------------

# Common English and native names (and a few romanisations) of languages eventbot's events
# see, keyed by `_fold`. Codes are MediaWiki language codes, as used for message subpages.
_NAMES: dict[str, tuple[str, ...]] = {
    "te": ("telugu", "తెలుగు"),
    "bn": ("bengali", "bangla", "বাংলা", "bangla bhasha"),
    "or": ("odia", "oriya", "ଓଡ଼ିଆ", "ଓଡିଆ"),
    "tg": ("tajik", "tajiki", "tojiki", "tojikī", "тоҷикӣ", "тоҷикй", "тоджикӣ", "таджикский"),
    "hi": ("hindi", "हिन्दी", "हिंदी"),
    "ta": ("tamil", "தமிழ்"),
    "kn": ("kannada", "ಕನ್ನಡ"),
    "ml": ("malayalam", "മലയാളം"),
    "mr": ("marathi", "मराठी"),
    "gu": ("gujarati", "ગુજરાતી"),
    "pa": ("punjabi", "panjabi", "eastern punjabi", "gurmukhi", "ਪੰਜਾਬੀ"),
    "pnb": ("western punjabi", "shahmukhi", "پنجابی"),
    "ur": ("urdu", "اردو"),
    "ne": ("nepali", "नेपाली"),
    "si": ("sinhala", "sinhalese", "සිංහල"),
    "as": ("assamese", "অসমীয়া"),
    "sa": ("sanskrit", "संस्कृतम्", "संस्कृत"),
    "sat": ("santali", "ᱥᱟᱱᱛᱟᱲᱤ"),
    "mai": ("maithili", "मैथिली"),
    "bho": ("bhojpuri", "भोजपुरी"),
    "gom": ("konkani", "कोंकणी", "कोंकणी"),
    "tcy": ("tulu", "ತುಳು"),
    "mni": ("manipuri", "meitei", "ꯃꯤꯇꯩꯂꯣꯟ"),
    "ks": ("kashmiri", "کٲشُر"),
    "sd": ("sindhi", "سنڌي"),
    "ps": ("pashto", "پښتو"),
    "dz": ("dzongkha", "རྫོང་ཁ"),
    "my": ("burmese", "myanmar", "မြန်မာ"),
    "ru": ("russian", "русский", "русский язык"),
    "uk": ("ukrainian", "українська"),
    "uz": ("uzbek", "oʻzbekcha", "o'zbekcha", "ўзбекча"),
    "kk": ("kazakh", "қазақша"),
    "ky": ("kyrgyz", "кыргызча"),
    "ar": ("arabic", "العربية"),
    "fa": ("persian", "farsi", "فارسی"),
    "he": ("hebrew", "עברית"),
    "tr": ("turkish", "türkçe"),
    "es": ("spanish", "español", "castellano"),
    "fr": ("french", "français"),
    "pt": ("portuguese", "português"),
    "de": ("german", "deutsch"),
    "it": ("italian", "italiano"),
    "id": ("indonesian", "bahasa indonesia"),
    "sw": ("swahili", "kiswahili"),
    "zh": ("chinese", "中文"),
    "ja": ("japanese", "日本語"),
    "en": ("english",),
}
# Words that often surround a language name in a "community" field ("Telugu Wikipedia").
_NOISE = frozenset(
    """wikipedia wikisource wiktionary wikibooks wikiquote wikivoyage wikinews wikiversity
    wikimedia wiki community communities language languages user group usergroup project
    the and of""".split()
)
_FAMILY_DOMAINS = (
    "wikipedia", "wiktionary", "wikibooks", "wikinews", "wikiquote", "wikisource",
    "wikiversity", "wikivoyage",
)  # fmt: skip
_DBNAME = re.compile(r"^[a-z][a-z0-9_]*(?:" + "|".join(_FAMILY_DOMAINS) + r"|wiki)$")
_DOMAIN = re.compile(
    r"^(?:https?://)?([a-z][a-z0-9-]*)\.(?:m\.)?(?:" + "|".join(_FAMILY_DOMAINS) + r")(?:\.org)?/?"
)
_CODE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{1,8})*$")
_SEPARATORS = re.compile(r"[\s,;/()\[\]|+&:.]+")


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


_BY_NAME: dict[str, str] = {_fold(name): code for code, names in _NAMES.items() for name in names}


def language_code(text: str) -> str | None:
    """The language code a community or home-wiki field means, or None.

    Understands language names in English or the language itself ("Telugu", "తెలుగు",
    "Bangla", "ଓଡ଼ିଆ", "тоҷикӣ"), codes ("te"), database names ("tewiki", "bnwikisource"),
    domains ("te.wikipedia.org") and names with noise around them ("Telugu Wikipedia
    community", "Odia (or)"). Multilingual wikis (metawiki, commonswiki) say nothing.
    """
    folded = _fold(text)
    if not folded:
        return None
    words = [word for word in _SEPARATORS.split(folded) if word]
    kept = [word for word in words if word not in _NOISE]
    # Whole phrases first, then single words by name, and single words as bare codes last:
    # "or", "as" and "hi" are language codes but also English words.
    for candidate in (folded, " ".join(kept)):
        code = _single_code(candidate, codes=True)
        if code is not None:
            return code
    domain = _DOMAIN.match(folded)
    if domain is not None:
        return _single_code(domain.group(1), codes=True)
    for codes in (False, True):
        for word in kept:
            code = _single_code(word, codes=codes)
            if code is not None:
                return code
    return None


def _single_code(candidate: str, *, codes: bool) -> str | None:
    if not candidate:
        return None
    if candidate in _BY_NAME:
        return _BY_NAME[candidate]
    if _DBNAME.match(candidate):
        code = language_of(candidate)
        if code != "en" or candidate.startswith(("en", "simple")):
            return code
        return None  # metawiki, commonswiki ...: no language
    if codes and _CODE.match(candidate):
        if language_of(candidate.replace("-", "_") + "wiki") == candidate:
            return candidate
    return None


def language_for(participant: Participant, available: Iterable[str]) -> str:
    """The message language for a participant: the first language, from their community or
    language field and then their home wiki, that has a subpage in `available`; else `en`."""
    have = {code.strip().lower() for code in available}
    sources = [participant.fields.get(key) for key in ("community", "language", "lang")]
    sources.append(participant.home_wiki)
    for source in sources:
        if not source:
            continue
        code = language_code(source)
        if code is not None and code in have:
            return code
    return FALLBACK_LANGUAGE


def message_page(campaign: CampaignConfig, lang: str) -> str:
    """The page holding the message text in `lang`: always a language subpage (`.../en` for
    the fallback), so the base page is free for documentation or the translation source."""
    return f"{campaign.message.strip()}/{lang}"


# --- rendering --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedMessage:
    """What to post: a new section titled `title` holding `text`, saved with `summary`.

    `text` is `body` (the template call), a line break, and `footer` (signature and marker).
    For a wiki other than the one holding the message page, `render_message(subst=False)`
    gives a transclusion `body` to expand there (`action=expandtemplates`) and post with
    `footer`. `page` is the message page used.
    """

    title: str
    text: str
    summary: str
    page: str
    body: str
    footer: str


# A URL an organiser put in `params` (a feedback form) is passed as is, so the message page
# can link it; anything else is escaped like participant data.
_PLAIN_URL = re.compile(r"^https?://[A-Za-z0-9\-._/?#%&=+:@,;!$*()]+$")


def _organiser_value(value: str) -> str:
    if _PLAIN_URL.match(value) and "__" not in value:
        return value
    return inert(value)


def _summary_value(value: str) -> str:
    """Text that cannot form a link (`[[...]]`) or an autocomment (`/* ... */`) in a summary.
    Summaries show entities literally, so this inserts word joiners (U+2060) instead."""
    text = one_line(value)
    text = text.replace("[", "[\u2060").replace("]", "\u2060]")
    return text.replace("/*", "/\u2060*").replace("*/", "*\u2060/")


def _cap(text: str, limit: int) -> str:
    text = one_line(text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render_message(
    campaign: CampaignConfig,
    event_title: str,
    participant: Participant,
    lang: str,
    *,
    bot_user: str,
    extra: Mapping[str, str] | None = None,
    subst: bool = True,
) -> RenderedMessage:
    """Build the section title, text and edit summary for one participant.

    Template parameters: `username`, `event`, `campaign`, `lang`, `sender` (the bot), the
    participant's `community` when known, then the campaign's `params` and `extra` (which
    override `params`; neither may use the names above). Every value is escaped with `inert`
    (so `|`, `=`, `}}`, `[[`, `~~~~`, `__NOTOC__`, tags and line breaks cannot escape the
    parameter); a plain http(s) URL from the campaign configuration is kept as a URL. The
    title is one line, at most `TITLE_LIMIT` characters; the summary one line, at most
    `SUMMARY_LIMIT`.
    """
    if not _CODE.match(lang):
        raise ValueError(f"{lang!r} is not a language code")
    username = normalise(participant.username)
    organiser = {**campaign.params, **(extra or {})}
    for name in organiser:
        if not _PARAM_NAME.match(name) or name in RESERVED_PARAMS:
            raise ValueError(f"{name!r} cannot be a message parameter name")
    values: dict[str, str] = {
        "username": inert(username),
        "event": inert(event_title),
        "campaign": campaign.name,
        "lang": inert(lang),
        "sender": inert(bot_user),
    }
    community = participant.community
    if community:
        values["community"] = inert(community)
    values.update({name: _organiser_value(value) for name, value in organiser.items()})

    page = message_page(campaign, lang)
    args = "".join(f"|{name}={value}" for name, value in values.items())
    body = f"{{{{{'subst:' if subst else ''}:{inert_target(page)}{args}}}}}"
    footer = f"~~~~ {marker(campaign.name, username)}"

    plain = {"event": event_title, "username": username, "campaign": campaign.name}
    title = inert_title(fill_placeholders(campaign.title, plain), limit=TITLE_LIMIT)
    in_summary = {key: _summary_value(value) for key, value in plain.items()}
    summary = _cap(fill_placeholders(campaign.summary, in_summary), SUMMARY_LIMIT)
    return RenderedMessage(
        title=title,
        text=f"{body}\n{footer}",
        summary=summary,
        page=page,
        body=body,
        footer=footer,
    )


# --- {{bots}} / {{nobots}} ---------------------------------------------------------------------


def _name_key(name: str) -> str:
    """Bot and script names compare case-insensitively, `_` as space."""
    return " ".join(name.replace("_", " ").split()).casefold()


def _template_kind(name: str) -> str | None:
    """'bots' or 'nobots' for `{{bots}}`, `{{Nobots}}`, `{{Template:Bots}}`, `{{NOBOTS}}`,
    `{{No bots}}`, a localised namespace prefix...; None for anything else. Generous on
    purpose: misreading a page as opting out only costs a skipped message."""
    text = name.strip()
    if ":" in text:
        prefix, _, rest = text.partition(":")
        if not prefix.strip() or prefix.strip().casefold() in {"subst", "safesubst", "msgnw"}:
            return None
        text = rest
    key = re.sub(r"[\s_]+", "", text).casefold()
    return key if key in {"bots", "nobots"} else None


def _value(node: object) -> str:
    """Text of a parameter name or value with comments removed."""
    code = mwparserfromhell.parse(str(node))
    for comment in code.filter_comments(recursive=True):
        code.remove(comment)
    return str(code).strip()


def bots_allow(
    text: str,
    bot_user: str,
    *,
    campaign_kinds: Iterable[str] = ("eventbot",),
    scripts: Iterable[str] = ("eventbot",),
) -> tuple[bool, str | None]:
    """Whether the bot-exclusion templates in `text` let `bot_user` post, and if not, why.

    pywikibot's `botMayEdit` rules: `{{nobots}}` denies; `{{nobots|A,B}}` denies the bots and
    scripts named (or `all`); `{{nobots|key=...}}` denies; `{{bots|allow=...}}` denies unless it
    names the bot or `all` (so `allow=none` denies); `{{bots|deny=...}}` denies when it names
    the bot or `all` (`deny=none` allows); `allowscript`/`denyscript` do the same with script
    names; a bare `{{bots}}` allows. Differences, all on the side of not posting: every
    parameter is checked, not just the first; names compare case-insensitively; template name
    variants (`{{NOBOTS}}`, `{{No bots}}`, any namespace prefix) count; and
    `{{bots|optout=all}}` or `optout=` naming one of `campaign_kinds` (which pywikibot ignores)
    denies, as the convention intends for message deliveries.
    """
    bot = _name_key(bot_user)
    kinds = {_name_key(kind) for kind in campaign_kinds}
    script_names = {_name_key(script) for script in scripts}
    code = mwparserfromhell.parse(text)
    for template in code.filter_templates(recursive=True):
        kind = _template_kind(_value(template.name))
        if kind is None:
            continue
        params: list[tuple[str, set[str]]] = []
        for param in template.params:
            key = "" if not param.showkey else _value(param.name).casefold()
            raw = _value(param.value)
            names = {_name_key(name) for name in raw.split(",")} - {""}
            params.append((key, names))
        reason = _denial(kind, params, bot, kinds, script_names)
        if reason is not None:
            return False, reason
    return True, None


def _denial(
    kind: str, params: list[tuple[str, set[str]]], bot: str, kinds: set[str], scripts: set[str]
) -> str | None:
    if kind == "nobots":
        if not params:
            return "the talk page has {{nobots}}"
        for key, names in params:
            if key and not key.isdigit():
                return f"the talk page has {{{{nobots|{key}=...}}}}, which bots must respect"
            if "all" in names:
                return "the talk page has {{nobots|all}}"
            if bot in names or names & scripts:
                return "the talk page has {{nobots}} naming this bot"
        return None
    for key, names in params:
        if not key or key.isdigit() or not names:
            continue  # {{bots|X}} and {{bots|allow=}} mean nothing (pywikibot ignores them)
        named = bot in names or "all" in names
        if key == "allow" and not named:
            return "the talk page has {{bots|allow=...}} without this bot"
        if key == "deny" and named:
            return "the talk page has {{bots|deny=...}} naming this bot or all bots"
        if key == "allowscript" and not ("all" in names or names & scripts):
            return "the talk page has {{bots|allowscript=...}} without this bot's script"
        if key == "denyscript" and ("all" in names or names & scripts):
            return "the talk page has {{bots|denyscript=...}} naming this bot's script"
        if key == "optout" and ("all" in names or names & kinds):
            which = "all" if "all" in names else ", ".join(sorted(names & kinds))
            return f"the talk page opts out of bot messages ({{{{bots|optout={which}}}}})"
    return None


# --- talk-page prechecks ----------------------------------------------------------------------


@dataclass(frozen=True)
class TalkPageInfo:
    """What the wiki says about the talk page a message would go to.

    `title` is the page that would be edited; `redirect_to` is set when it is a redirect the
    caller did not resolve. `protection` holds (type, level) pairs such as ("edit", "sysop");
    `categories` and `templates` are full titles ("Category:X", "Template:Nobots") or bare
    names; `text` is the current wikitext (None for a page that does not exist).
    """

    title: str
    exists: bool
    redirect_to: str | None = None
    content_model: str = "wikitext"
    protection: tuple[tuple[str, str], ...] = ()
    categories: frozenset[str] = frozenset()
    text: str | None = None
    templates: frozenset[str] = frozenset()
    redirect_from: str | None = None  # the title asked for, when a redirect was followed
    revid: int | None = None


# MediaWiki's PermissionManager: these two levels map to differently named rights; any other
# level is itself the right needed (extendedconfirmed, templateeditor ...).
_LEVEL_RIGHT = {"sysop": "editprotected", "autoconfirmed": "editsemiprotected"}
_CONTENT_MODEL_NAMES = {"flow-board": "a Flow board"}


def talk_page_title(username: str) -> str:
    """`User talk:NAME` (the canonical namespace name works on every wiki)."""
    return f"User talk:{normalise(username)}"


def _bare(title: str) -> str:
    """A category or template name without its namespace, first letter upper, `_` as space."""
    name = title.partition(":")[2] if ":" in title else title
    name = " ".join(name.replace("_", " ").split())
    return name[:1].upper() + name[1:]


def precheck(
    info: TalkPageInfo,
    *,
    user: UserInfo | None,
    bot_user: str,
    bot_rights: frozenset[str],
    opted_out: frozenset[str],
    optout_category: str = OPTOUT_CATEGORY,
    campaign_kinds: Iterable[str] = ("eventbot",),
) -> str | None:
    """Why the bot should not post on this talk page, in words for organisers; None to post.

    Checked in this order, first reason wins: the account (unknown, not a registered account,
    renamed, blocked); the person's opt-out (`opted_out` usernames, then `optout_category` on
    the page); `{{bots}}`/`{{nobots}}` (see `bots_allow`; also `{{nobots}}` transcluded through
    another template); then the page itself (a redirect, a content model other than wikitext,
    protection at a level the bot's `bot_rights` do not cover). `user` None means the account
    was not looked up, which is also a reason not to post.
    """
    if user is None:
        return "the account could not be looked up"
    if user.is_ip:
        return "not a registered account (an IP address)"
    if user.is_temp:
        return "a temporary account"
    if not user.exists:
        return "the account does not exist"
    if user.renamed_to and user.renamed_to != user.name:
        # The compiler re-keys renamed participants under their new name (user.name), so
        # only an account whose record still points elsewhere is skipped.
        return f"the account was renamed to {user.renamed_to}"
    if user.blocked:
        return "the account is blocked"

    name = try_normalise(user.name) or user.name
    if name in {try_normalise(entry) or entry for entry in opted_out}:
        return "opted out (on the opt-out list)"
    category = _bare(optout_category)
    if any(_bare(entry) == category for entry in info.categories):
        return f"opted out (the talk page is in the category {category!r})"

    kinds = tuple(campaign_kinds)
    allowed, reason = bots_allow(info.text or "", bot_user, campaign_kinds=kinds)
    if not allowed:
        return reason
    direct = any(
        _template_kind(_value(template.name)) == "nobots"
        for template in mwparserfromhell.parse(info.text or "").filter_templates(recursive=True)
    )
    if not direct and any(_template_kind(_bare(entry)) == "nobots" for entry in info.templates):
        return "the talk page uses {{nobots}} (through another template)"

    if info.redirect_to:
        return f"the talk page redirects to {info.redirect_to}"
    if info.content_model != "wikitext":
        what = _CONTENT_MODEL_NAMES.get(info.content_model, "not a wikitext page")
        return f"the talk page is {what} ({info.content_model})"
    for kind, level in info.protection:
        if kind == "edit" or (kind == "create" and not info.exists):
            right = _LEVEL_RIGHT.get(level, level)
            if right and right not in bot_rights:
                action = "editing" if kind == "edit" else "creation"
                return (
                    f"the talk page is protected against {action} ({level}) "
                    f"and the bot lacks the '{right}' right"
                )
    return None
