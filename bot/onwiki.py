"""On-wiki event configuration: `{{eventbot}}` templates on the event page (pure: no wiki).

An organiser opts an event in by placing `{{eventbot|start=...|end=...|timezone=...}}` on the
event page, with one `{{eventbot campaign|name=...|when=...|message=...|title=...}}` per
follow-up campaign. `parse_config_templates` turns the templates into the same nested mapping
an event YAML file gives, remembering the line and the text of every parameter;
`load_config` validates that mapping with `bot.config.parse_event` (same schema, same checks)
and translates each issue back to the parameter the organiser wrote, with what was given.

Trust: anyone can edit a wiki page, so a configuration's campaigns send messages only from a
revision saved by an approved organiser (`trusted`, `choose_revision`, `decide`). The
talk-page notice (`notice_wikitext`, `resolved_wikitext`) tells organisers what is wrong in
plain language; every piece of wiki-supplied text in it is made inert.
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import functools
import re
import types
import typing
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.campaigns import CampaignConfig
from bot.config import ConfigError, ConfigIssue, EventConfig, RegistrationSource, parse_event
from bot.escape import inert, inert_target, user_link
from bot.usernames import try_normalise
from bot.wikitext import mask_ignored

__all__ = [
    "CAMPAIGN_PARAMS",
    "DEFAULT_CAMPAIGN_TEMPLATE",
    "DEFAULT_TEMPLATE",
    "EVENT_PARAMS",
    "NOTICE_HEADING",
    "REGISTRATION_OPTIONS",
    "ConfigMapping",
    "Decision",
    "OnwikiSettings",
    "ParamIssue",
    "Revision",
    "TrustChoice",
    "choose_revision",
    "decide",
    "default_event_id",
    "is_resolved_notice",
    "load_config",
    "notice_wikitext",
    "parse_config_templates",
    "resolved_wikitext",
    "template_key",
    "trusted",
    "validate",
]

DEFAULT_TEMPLATE = "Eventbot"
DEFAULT_CAMPAIGN_TEMPLATE = "Eventbot campaign"
NOTICE_HEADING = "eventbot could not read the configuration"
_TRUST_HEADING = "eventbot is not using the latest change to the configuration"
_RESOLVED = "(resolved)"
_MAX_GIVEN = 200  # characters of a given value quoted back in a notice
_MAX_LISTED = 30  # issues listed in a notice; the rest are counted


@dataclass(frozen=True)
class OnwikiSettings:
    """How one wiki's on-wiki configurations are found and trusted.

    `allowlist_page` links the approved organisers (used only while it is protected so that
    only administrators can edit it); `required_group` is a user group whose members are
    approved too (Wikimedia's CampaignEvents organisers are `event-organizer`). Either may be
    None. `history_limit` is how many revisions back the last approved one is looked for.
    """

    wiki: str = "metawiki"
    template: str = DEFAULT_TEMPLATE
    campaign_template: str = DEFAULT_CAMPAIGN_TEMPLATE
    allowlist_page: str | None = "User:EventBot/Organisers"
    required_group: str | None = "event-organizer"
    notice_section: str = "config-notice"
    history_limit: int = 50


# --- issues -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParamIssue(ConfigIssue):
    """A configuration issue translated to the template parameter the organiser wrote.

    `path` reads like `when (campaign 2)`; `param` is the bare parameter name; `given` is the
    value as written (None when the parameter is missing); `message` says what was expected.
    """

    param: str = ""
    given: str | None = None
    label: str = ""  # "" for {{eventbot}}, "campaign 2" for the second campaign template


class ConfigMapping(dict[str, Any]):
    """The nested mapping for `parse_event`, plus where each key path came from.

    Like the YAML loader's mappings it carries `line` and `key_lines`, so `parse_event`'s own
    issues have lines; `origins` maps key paths (`registration[0].sections`) to parameters.
    """

    line: int | None = None
    key_lines: dict[str, int]
    origins: dict[str, _Origin]
    #: how many {{eventbot}} and {{eventbot campaign}} templates the page holds
    event_templates: int = 0
    campaign_templates: int = 0

    def __init__(self, *args: Any, line: int | None = None) -> None:
        super().__init__(*args)
        self.line = line
        self.key_lines = {}
        self.origins = {}
        #: key paths whose parameter was already reported as unreadable (parse_event's own
        #: issue about the same key would say it twice)
        self.reported: set[str] = set()


@dataclass(frozen=True)
class _Origin:
    """Where a key path came from: a parameter (or, with `param=None`, a whole template)."""

    kind: Literal["event", "campaign"]
    label: str  # "" for {{eventbot}}, "campaign 2" for the second campaign template
    param: str | None
    given: str | None
    line: int | None


# --- scanning templates -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Param:
    name: str  # as written, stripped
    value: str  # without comments, stripped
    line: int
    positional: bool


@dataclass(frozen=True)
class _Template:
    kind: Literal["event", "campaign"]
    line: int
    params: tuple[_Param, ...]


_TEMPLATE_PREFIX = re.compile(r"^\s*template\s*:\s*", re.IGNORECASE)
_SPACES = re.compile(r"[\s_]+")


def _mask(text: str) -> str:
    """Comments and nowiki/pre regions as spaces, so offsets and line numbers stay the page's."""
    return mask_ignored(text, keep_offsets=True)


def template_key(name: str) -> str:
    """Compare template names as MediaWiki does: `Template:` optional, underscores are spaces,
    whitespace folded, first letter case-insensitive."""
    text = _TEMPLATE_PREFIX.sub("", _SPACES.sub(" ", name)).strip()
    return text[:1].upper() + text[1:]


_BRACES = re.compile(r"\{\{|\}\}")
_NESTING = re.compile(r"\[\[|\]\]|\{\{|\}\}|\||=")
_MAX_NAME = 255


def _template_pairs(text: str) -> list[tuple[int, int]]:
    """(start, end) of every matched `{{...}}`, outermost ones first among equals; linear."""
    stack: list[int] = []
    pairs: list[tuple[int, int]] = []
    for m in _BRACES.finditer(text):
        if m.group(0) == "{{":
            stack.append(m.start())
        elif stack:
            pairs.append((stack.pop(), m.end()))
    pairs.sort()
    return pairs


def _split(inner: str) -> list[tuple[int, str, int | None]]:
    """A template's inside split on its own `|` (not those of nested links or templates):
    (offset, part, offset of the part's first own `=` or None)."""
    parts: list[tuple[int, str, int | None]] = []
    depth = 0
    start = 0
    equals: int | None = None
    for m in _NESTING.finditer(inner):
        token = m.group(0)
        if token in ("[[", "{{"):
            depth += 1
        elif token in ("]]", "}}"):
            depth = max(depth - 1, 0)
        elif depth == 0 and token == "=" and equals is None:
            equals = m.start() - start
        elif depth == 0 and token == "|":
            parts.append((start, inner[start : m.start()], equals))
            start, equals = m.end(), None
    parts.append((start, inner[start:], equals))
    return parts


def _scan(wikitext: str, event_names: frozenset[str], campaign_names: frozenset[str]) -> list[_Template]:
    """Every `{{eventbot}}` and `{{eventbot campaign}}` on the page, in page order.

    A small scanner rather than a full parser: the page is anyone's to write, and this stays
    linear in its length whatever it holds (unclosed tags, thousands of nested braces). A
    configuration template nested inside another one is ignored.
    """
    masked = _mask(wikitext)
    newlines = [m.start() for m in re.finditer("\n", masked)]

    def line_at(offset: int) -> int:
        return bisect.bisect_left(newlines, offset) + 1

    found: list[_Template] = []
    covered = 0
    for start, end in _template_pairs(masked):
        if start < covered:
            continue
        head = masked[start + 2 : min(end - 2, start + 2 + _MAX_NAME + 1)]
        name = re.split(r"[|{}\[\]<>]", head, maxsplit=1)[0]
        if len(name) > _MAX_NAME:
            continue
        key = template_key(name)
        kind: Literal["event", "campaign"]
        if key in event_names:
            kind = "event"
        elif key in campaign_names:
            kind = "campaign"
        else:
            continue
        covered = end
        inner = masked[start + 2 : end - 2]
        params: list[_Param] = []
        position = 0
        for offset, part, equals in _split(inner)[1:]:
            lead = len(part) - len(part.lstrip())
            line = line_at(start + 2 + offset + lead)
            if equals is None:
                position += 1
                params.append(_Param(str(position), part.strip(), line, positional=True))
            else:
                name, value = part[:equals].strip(), part[equals + 1 :].strip()
                params.append(_Param(name, value, line, positional=False))
        found.append(_Template(kind, line_at(start), tuple(params)))
    return found


# --- values -------------------------------------------------------------------------------------


class _BadValue(ValueError):
    """A parameter value that cannot be read; the message says what was expected."""


_LINK = re.compile(r"^\[\[\s*:?\s*([^\[\]|]+?)\s*(?:\|[^\[\]]*)?\]\]$")
_BULLET = re.compile(r"^[*#:;]+\s*")
_NOT_IN_TITLES = re.compile(r"[#<>\[\]{}|\x00-\x1f\x7f]")
_TRUE = frozenset({"yes", "y", "true", "1", "on"})
_FALSE = frozenset({"no", "n", "false", "0", "off"})


def _items(text: str, separators: str) -> list[str]:
    """Non-empty items of a list written across lines or separated by `separators`; a list
    item's bullet (`*`, `#`) is removed."""
    parts = re.split(f"[\n{re.escape(separators)}]", text)
    return [item for part in parts if (item := _BULLET.sub("", part).strip())]


def _page(text: str) -> str:
    """A page title from `Title` or `[[Title|label]]`; raises `_BadValue` for what no title can be."""
    match = _LINK.match(text.strip())
    title = _SPACES.sub(" ", match.group(1) if match else text).strip()
    bad = _NOT_IN_TITLES.search(title)
    if not title:
        raise _BadValue("expected a page title")
    if bad is not None:
        raise _BadValue("expected a page title or a [[link]] to one; "
                        f"a title cannot contain {bad.group(0)!r}")
    return title


def _pages(text: str) -> list[str]:
    """Page titles, one a line or separated by `;` (titles may contain commas)."""
    return [_page(item) for item in _items(text, ";")]


def _pairs(text: str) -> list[tuple[str, str]]:
    """`key: value` pairs, one a line or separated by `;` (`=` works in place of `:`)."""
    out: list[tuple[str, str]] = []
    for item in _items(text, ";"):
        sep = ":" if ":" in item else "="
        key, found, value = item.rpartition(sep)
        if not found or not key.strip() or not value.strip():
            raise _BadValue(f"expected 'name: value' pairs separated by ';' or new lines, such as "
                            f"'Participants: registered; Waitlist: waitlisted'; cannot read {item!r}")
        out.append((key.strip(), value.strip()))
    return out


def _unoptional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _coerce(tp: Any, text: str) -> Any:
    """Text → the value the schema wants at a key of type `tp`, where the text allows it.

    Text that is not a number (or yes/no) is passed on as it is, so `parse_event` says what
    was expected, exactly as for a YAML file.
    """
    tp = _unoptional(tp)
    origin = typing.get_origin(tp)
    if origin is list:
        (inner,) = typing.get_args(tp)
        return [_coerce(inner, item) for item in _items(text, ",;")]
    if origin is dict:
        inner = typing.get_args(tp)[1]
        return ConfigMapping({key: _coerce(inner, value) for key, value in _pairs(text)})
    if tp is bool:
        word = text.strip().casefold()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise _BadValue("expected yes or no")
    if tp is int and re.fullmatch(r"[+-]?\d+", text.strip()):
        return int(text)
    if tp is float:
        try:
            return float(text)
        except ValueError:
            return text
    return text


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _path_parts(path: str) -> list[str | int]:
    return [m.group(1) if m.group(1) is not None else int(m.group(2)) for m in _PATH_PART.finditer(path)]


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _type_at(root: type, path: str) -> Any:
    """The schema type at a key path (`stats.after_days`, `campaigns[0].audience`), or None."""
    tp: Any = root
    for part in _path_parts(path):
        tp = _unoptional(tp)
        origin = typing.get_origin(tp)
        if isinstance(part, int):
            if origin is not list:
                return None
            tp = typing.get_args(tp)[0]
        elif dataclasses.is_dataclass(tp) and isinstance(tp, type):
            hints = _hints(tp)
            if part not in hints:
                return None
            tp = hints[part]
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
    return tp


def _required(root: type, path: str) -> bool:
    """Whether the key at `path` (a dataclass field) has no default."""
    parent, _, name = path.rpartition(".")
    tp = _unoptional(_type_at(root, parent)) if parent else root
    if not (dataclasses.is_dataclass(tp) and isinstance(tp, type)):
        return False
    missing = dataclasses.MISSING
    return any(f.name == name and f.default is missing and f.default_factory is missing
               for f in dataclasses.fields(tp))


def _dotted_names(root: type, prefixes: Sequence[str], skip: frozenset[str]) -> list[str]:
    """Every `section.key` parameter under the given dataclass-valued keys."""
    names: list[str] = []
    for prefix in prefixes:
        tp = _unoptional(_type_at(root, prefix))
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            dotted = (f"{prefix}.{f.name}" for f in dataclasses.fields(tp))
            names.extend(name for name in dotted if name not in skip)
    return names


# --- parameter names ----------------------------------------------------------------------------

#: {{eventbot}} parameters and the key paths they fill.
EVENT_PARAMS: dict[str, str] = {
    "title": "title",
    "start": "start",
    "end": "end",
    "timezone": "timezone",
    "location": "location",
    "wikis": "wikis",
    "participants": "pages.participants",
    "report": "pages.report",
    "problems": "pages.problems",
    "optout": "pages.optout",
    "delivery_log": "pages.delivery_log",
}
#: Options of a group of registration pages (`registration`, `registration2`, ...).
REGISTRATION_OPTIONS: dict[str, str] = {
    "wiki": "wiki",
    "formats": "formats",
    "template": "template.name",
    "template_aliases": "template.aliases",
    "template_fields": "template.fields",
    "table": "table.user_column",
    "sections": "sections",
    "user_templates": "user_templates",
}
#: {{eventbot campaign}} parameters and the key paths they fill (`params.X` and `param_X` too).
CAMPAIGN_PARAMS: dict[str, str] = {
    "name": "name",
    "when": "when",
    "message": "message",
    "title": "title",
    "summary": "summary",
    "deliver_to": "deliver_to",
    "languages": "languages",
    "enabled": "enabled",
    "audience": "audience.statuses",
    "list": "audience.list_page",
    "new_editors_only": "audience.new_editors_only",
    "inactive_during_event": "audience.inactive_during_event",
}
#: Keys an on-wiki configuration may not set, and why.
_REFUSED: dict[str, str] = {
    "id": "the event's id comes from the page title and cannot be changed here",
    "wiki": "the event's wiki is the wiki this page is on; list other wikis in 'wikis'",
    "event": "the event page is this page",
    "pages.event": "the event page is this page",
    "delivery.stop_file": "a stop file is a setting of the bot's own computer, not of an event",
    "campaigns": "write each campaign as its own {{eventbot campaign|...}} template",
    "programme": "a programme (earlier iterations, for alumni history) is a file on the bot's own "
                 "computer; ask the bot's operator to add this event to one",
}
_REG_PARAM = re.compile(r"^(registration|sections)(\d*)(?:_(.+))?$")
_PARAM_NAME_FOLD = re.compile(r"[\s-]+")
_EVENT_DOTTED = _dotted_names(EventConfig, ["pages", "stats", "delivery"], frozenset(_REFUSED))
#: Campaign keys an on-wiki configuration may not set, and why.
_CAMPAIGN_REFUSED: dict[str, str] = {
    key: "alumni filters need the event's programme (earlier iterations), which only the bot's "
         "operator can set up; ask them, or use 'list' with a page linking the people"
    for key in ("audience.alumni_of", "audience.not_alumni_of", "alumni_of", "not_alumni_of")
}
_CAMPAIGN_DOTTED = _dotted_names(CampaignConfig, ["audience"], frozenset(_CAMPAIGN_REFUSED))


def _fold_param(name: str) -> str:
    return _PARAM_NAME_FOLD.sub("_", name.strip()).casefold()


def _known_event_params() -> list[str]:
    return [*EVENT_PARAMS, "registration", "sections", *(f"registration_{o}" for o in REGISTRATION_OPTIONS),
            "applications", "campaignevents", *_EVENT_DOTTED]


def _suggest(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


# --- the mapping --------------------------------------------------------------------------------


def default_event_id(page_title: str, wiki: str) -> str:
    """`metawiki-small-wiki-toolkits-workshops-2026-12`: the wiki and the page title as a slug
    (letters, marks and digits of any script kept, lower-cased; everything else a '-')."""
    chars = [c if unicodedata.category(c)[0] in "LMN" else "-" for c in page_title.casefold()]
    slug = re.sub(r"-+", "-", "".join(chars)).strip("-") or "event"
    return f"{wiki}-{slug}"


class _Builder:
    """Collects the mapping, the origins of its key paths and the template-level issues."""

    def __init__(self) -> None:
        self.mapping = ConfigMapping()
        self.issues: list[ConfigIssue] = []

    def issue(self, param: str, label: str, message: str, line: int | None, given: str | None) -> None:
        path = f"{param} ({label})" if label and param else (param or label)
        self.issues.append(ParamIssue(path, message, line, param=param, given=given, label=label))

    def unreadable(self, target: ConfigMapping, path: str, label: str, param: _Param, message: str,
                   root: type, full_path: str) -> None:
        """Report a value that cannot be read. A required key still gets the text as written,
        so the rest of its section is checked too (all problems at once); an optional key is
        left to its default."""
        self.issue(param.name, label, message, param.line, param.value)
        self.mapping.reported.add(full_path)
        if _required(root, path):
            self.put(target, path, param.value, param.line)

    def put(self, target: ConfigMapping, path: str, value: Any, line: int) -> None:
        parts = path.split(".")
        for part in parts[:-1]:
            inner = target.get(part)
            if not isinstance(inner, ConfigMapping):
                inner = ConfigMapping(line=line)
                target[part] = inner
                target.key_lines[part] = line
            target = inner
        target[parts[-1]] = value
        target.key_lines[parts[-1]] = line

    def origin(self, path: str, kind: Literal["event", "campaign"], label: str, param: _Param | None,
               line: int | None) -> None:
        given = param.value if param is not None else None
        self.mapping.origins[path] = _Origin(kind, label, param.name if param else None, given, line)


def _unique(params: Sequence[_Param], builder: _Builder, label: str) -> Iterator[tuple[str, _Param]]:
    """(folded name, param) for each named, non-empty parameter; duplicates and positional
    parameters are issues. An empty parameter counts as not given (as in most templates)."""
    seen: dict[str, _Param] = {}
    for param in params:
        if param.positional:
            if param.value:
                builder.issue("", label, "a parameter without a name; write it as 'name=value'",
                              param.line, param.value)
            continue
        name = _fold_param(param.name)
        if name in seen:
            builder.issue(param.name, label, f"given twice (lines {seen[name].line} and {param.line}); "
                          "keep one", param.line, param.value)
            continue
        seen[name] = param
        if param.value:
            yield name, param


def parse_config_templates(
    wikitext: str,
    *,
    page_title: str,
    wiki: str,
    template: str = DEFAULT_TEMPLATE,
    campaign_template: str = DEFAULT_CAMPAIGN_TEMPLATE,
    aliases: Sequence[str] = (),
    campaign_aliases: Sequence[str] = (),
) -> tuple[ConfigMapping, list[ConfigIssue]]:
    """The `{{eventbot}}` and `{{eventbot campaign}}` templates of a page, as the nested mapping
    `bot.config.parse_event` takes, plus issues found while reading them (unknown, repeated or
    unreadable parameters). `aliases` are other names of the templates (redirects).

    Defaults: `title` is the page title, `wiki` the page's wiki, the participant list and the
    report go to the `/Participants` and `/Report` subpages. The mapping's `origins` tell
    `load_config` which parameter each key path came from.
    """
    builder = _Builder()
    event_names = frozenset(template_key(n) for n in [template, *aliases])
    campaign_names = frozenset(template_key(n) for n in [campaign_template, *campaign_aliases])
    found = _scan(wikitext, event_names, campaign_names)
    events = [t for t in found if t.kind == "event"]
    mapping = builder.mapping
    mapping.event_templates = len(events)
    mapping.campaign_templates = len(found) - len(events)
    mapping.line = events[0].line if events else 1
    builder.origin("", "event", "", None, mapping.line)
    mapping.update({"title": page_title, "wiki": wiki,
                    "pages": ConfigMapping({"event": page_title, "participants": f"{page_title}/Participants",
                                            "report": f"{page_title}/Report"}, line=mapping.line)})
    if not events:
        builder.issue("", "", f"the page has no {{{{{template}}}}} template, so it configures no event",
                      1, None)
        return mapping, builder.issues
    for extra in events[1:]:
        builder.issue("", "", f"a page holds one {{{{{template}}}}} template; this is another one "
                      f"(the first is on line {events[0].line}); remove it", extra.line, None)
    _event_template(events[0], builder)
    campaigns: list[ConfigMapping] = []
    for number, found_campaign in enumerate((t for t in found if t.kind == "campaign"), start=1):
        campaigns.append(_campaign_template(found_campaign, number, len(campaigns), builder))
    if campaigns:
        mapping["campaigns"] = campaigns
        mapping.key_lines["campaigns"] = campaigns[0].line or mapping.line
    return mapping, builder.issues


def _event_template(found: _Template, builder: _Builder) -> None:
    mapping = builder.mapping
    groups: dict[int, dict[str, _Param]] = {}
    other: dict[str, _Param] = {}
    known = _known_event_params()
    for name, param in _unique(found.params, builder, ""):
        if name in _REFUSED:
            builder.issue(param.name, "", f"cannot be set on the wiki: {_REFUSED[name]}", param.line,
                          param.value)
            continue
        reg = _REG_PARAM.match(name)
        if reg is not None:
            kind, number, option = reg.groups()
            option = "sections" if kind == "sections" and option is None else option
            if ((kind == "sections" and option != "sections") or number.startswith("0")
                    or (option is not None and option not in REGISTRATION_OPTIONS)):
                builder.issue(param.name, "", f"unknown parameter{_suggest(name, known)}", param.line,
                              param.value)
                continue
            group = groups.setdefault(int(number or 1), {})
            earlier = group.get(option or "")
            if earlier is not None:
                builder.issue(param.name, "", f"says the same as '{earlier.name}' (line {earlier.line}); "
                              "keep one", param.line, param.value)
                continue
            group[option or ""] = param
            continue
        if name in ("applications", "campaignevents"):
            other[name] = param
            continue
        path = EVENT_PARAMS.get(name) or (name if name in _EVENT_DOTTED else None)
        if path is None:
            builder.issue(param.name, "", f"unknown parameter{_suggest(name, known)}", param.line,
                          param.value)
            continue
        try:
            value = _page(param.value) if path.startswith("pages.") else _coerce(_type_at(EventConfig, path),
                                                                                  param.value)
        except _BadValue as exc:
            builder.unreadable(mapping, path, "", param, str(exc), EventConfig, path)
            continue
        builder.put(mapping, path, value, param.line)
        builder.origin(path, "event", "", param, param.line)
    sources = _registration_sources(groups, other, builder)
    if sources is not None:
        mapping["registration"] = sources
        mapping.key_lines["registration"] = sources[0].line if sources and sources[0].line else found.line


def _registration_sources(groups: dict[int, dict[str, _Param]], other: dict[str, _Param],
                          builder: _Builder) -> list[ConfigMapping] | None:
    """Registration sources from `registration` (pages), its numbered groups and options,
    `applications` (subpage prefixes) and `campaignevents` (registration ids)."""
    sources: list[ConfigMapping] = []
    for number in sorted(groups):
        group = groups[number]
        pages_param = group.get("")
        suffix = "" if number == 1 else str(number)
        if pages_param is None:
            for param in group.values():
                builder.issue(param.name, "", f"'registration{suffix}' names no page for this option to "
                              "apply to", param.line, param.value)
            continue
        try:
            titles = _pages(pages_param.value)
        except _BadValue as exc:
            builder.issue(pages_param.name, "", str(exc), pages_param.line, pages_param.value)
            builder.mapping.reported.add("registration")
            continue
        options: list[tuple[str, Any, _Param]] = []
        for option, param in sorted(group.items()):
            if not option:
                continue
            path = REGISTRATION_OPTIONS[option]
            try:
                options.append((path, _coerce(_type_at(RegistrationSource, path), param.value), param))
            except _BadValue as exc:
                builder.issue(param.name, "", str(exc), param.line, param.value)
        for title in titles:
            index = len(sources)
            source = ConfigMapping({"page": title}, line=pages_param.line)
            source.key_lines["page"] = pages_param.line
            builder.origin(f"registration[{index}]", "event", "", pages_param, pages_param.line)
            builder.origin(f"registration[{index}].page", "event", "", pages_param, pages_param.line)
            for path, value, param in options:
                builder.put(source, path, value, param.line)
                builder.origin(f"registration[{index}].{path}", "event", "", param, param.line)
            sources.append(source)
    for key, param in other.items():
        try:
            values: list[Any] = (_pages(param.value) if key == "applications"
                                 else [_coerce(int, item) for item in _items(param.value, ",;")])
        except _BadValue as exc:
            builder.issue(param.name, "", str(exc), param.line, param.value)
            builder.mapping.reported.add("registration")
            continue
        for value in values:
            index = len(sources)
            name = "prefix" if key == "applications" else "campaignevents"
            source = ConfigMapping({name: value}, line=param.line)
            builder.origin(f"registration[{index}]", "event", "", param, param.line)
            builder.origin(f"registration[{index}].{name}", "event", "", param, param.line)
            sources.append(source)
    return sources if groups or other else None


def _campaign_template(found: _Template, number: int, index: int, builder: _Builder) -> ConfigMapping:
    label = f"campaign {number}"
    campaign = ConfigMapping(line=found.line)
    base = f"campaigns[{index}]"
    builder.origin(base, "campaign", label, None, found.line)
    known = [*CAMPAIGN_PARAMS, "params.NAME", *_CAMPAIGN_DOTTED]
    for name, param in _unique(found.params, builder, label):
        if name in _CAMPAIGN_REFUSED:
            builder.issue(param.name, label, f"cannot be set on the wiki: {_CAMPAIGN_REFUSED[name]}",
                          param.line, param.value)
            continue
        path = CAMPAIGN_PARAMS.get(name) or (name if name in _CAMPAIGN_DOTTED else None)
        if path is None and (name.startswith("params.") or name.startswith("param_")):
            path = "params." + param.name.strip().split(".", 1)[-1].removeprefix("param_")
        if path is None:
            builder.issue(param.name, label, f"unknown parameter{_suggest(name, known)}", param.line,
                          param.value)
            continue
        try:
            if path in ("message", "audience.list_page"):
                value: Any = _page(param.value)
            elif path.startswith("params."):
                value = param.value
            else:
                value = _coerce(_type_at(CampaignConfig, path), param.value)
        except _BadValue as exc:
            builder.unreadable(campaign, path, label, param, str(exc), CampaignConfig, f"{base}.{path}")
            continue
        builder.put(campaign, path, value, param.line)
        builder.origin(f"{base}.{path}", "campaign", label, param, param.line)
    return campaign


# --- validation and translation -----------------------------------------------------------------


def load_config(
    wikitext: str,
    *,
    page_title: str,
    wiki: str,
    template: str = DEFAULT_TEMPLATE,
    campaign_template: str = DEFAULT_CAMPAIGN_TEMPLATE,
    aliases: Sequence[str] = (),
    campaign_aliases: Sequence[str] = (),
) -> tuple[EventConfig | None, list[ConfigIssue]]:
    """The event a page configures (None when it has problems) and every problem, each
    translated to the parameter the organiser wrote (`ParamIssue`), in page order."""
    mapping, issues = parse_config_templates(
        wikitext, page_title=page_title, wiki=wiki, template=template, campaign_template=campaign_template,
        aliases=aliases, campaign_aliases=campaign_aliases)
    return validate(mapping, issues, page_title=page_title, wiki=wiki)


def validate(mapping: ConfigMapping, issues: Sequence[ConfigIssue], *, page_title: str,
             wiki: str) -> tuple[EventConfig | None, list[ConfigIssue]]:
    """`parse_event` over a mapping from `parse_config_templates`, its issues translated and
    added to the template-level `issues`; the event only when there are no issues at all."""
    issues = list(issues)
    if not mapping.event_templates:
        return None, issues
    try:
        event = parse_event(mapping, page_title, default_id=default_event_id(page_title, wiki))
    except ConfigError as exc:
        for issue in exc.issues:
            issues.extend(t for t in _translate(issue, mapping.origins, mapping.reported))
        event = None
    unique = list(dict.fromkeys(issues))
    unique.sort(key=lambda i: i.line or 0)
    return (event if not unique else None), unique


_SUBKEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)((?:\.[^\s:;]+|\[\d+\])*): ")
_MISSING = re.compile(r"^missing required key '([^']+)'$")


def _split_compound(issue: ConfigIssue) -> list[ConfigIssue]:
    """A dataclass's own check reports `key: problem; other: problem` at the dataclass's path;
    split it into one issue per key path."""
    tp = _unoptional(_type_at(EventConfig, issue.path)) if issue.path else EventConfig
    if not (dataclasses.is_dataclass(tp) and isinstance(tp, type)):
        return [issue]
    fields = {f.name for f in dataclasses.fields(tp)}
    starts = [m.start() for m in re.finditer(r"(?:^|(?<=; ))[A-Za-z_][A-Za-z0-9_]*(?:\.[^\s:;]+|\[\d+\])*: ",
                                                issue.message)
              if m.group(0).split(".")[0].split("[")[0].rstrip(": ") in fields]
    if not starts or starts[0] != 0:
        return [issue]
    out: list[ConfigIssue] = []
    for start, end in zip(starts, [*starts[1:], len(issue.message) + 2], strict=True):
        part = issue.message[start : end - 2]
        match = _SUBKEY.match(part)
        assert match is not None
        key = match.group(1) + match.group(2)
        path = f"{issue.path}.{key}" if issue.path else key
        out.append(ConfigIssue(path, part[match.end() :], issue.line))
    return out


def _prefixes(path: str) -> list[str]:
    """`a[0].b.c` → ['a[0].b.c', 'a[0].b', 'a[0]', 'a', '']."""
    cuts = [m.start() for m in re.finditer(r"[.\[]", path)]
    return [path, *(path[:cut] for cut in reversed(cuts)), ""]


def _param_for(kind: Literal["event", "campaign"], rest: str) -> tuple[str, str]:
    """(parameter name, what is left of the path) for a key path under a template."""
    table = {v: k for k, v in (EVENT_PARAMS if kind == "event" else CAMPAIGN_PARAMS).items()}
    for prefix in _prefixes(rest):
        if prefix and prefix in table:
            return table[prefix], rest[len(prefix) :].lstrip(".")
    first = _path_parts(rest)[:1]
    if kind == "event" and first == ["registration"]:
        return "registration", ""
    return rest, ""


def _translate(issue: ConfigIssue, origins: Mapping[str, _Origin], reported: set[str]) -> list[ConfigIssue]:
    out: list[ConfigIssue] = []
    for part in _split_compound(issue):
        if part.path in reported:
            continue
        origin = next((origins[p] for p in _prefixes(part.path) if p in origins), None)
        if origin is None:  # cannot happen: "" is always an origin
            out.append(part)
            continue
        matched = next(p for p in _prefixes(part.path) if p in origins)
        rest = part.path[len(matched) :].lstrip(".")
        message = part.message
        if origin.param is None:
            param, rest = _param_for(origin.kind, rest)
            given = None
            missing = _MISSING.match(message)
            if missing:
                message = "missing; this parameter is required"
        else:
            param, given = origin.param, origin.given
        if rest:
            message = f"{_describe_rest(rest)}: {message}"
        elif given is not None and message.endswith(f", got {given!r}"):
            message = message.removesuffix(f", got {given!r}")  # the notice shows what was given
        label = origin.label
        path = f"{param} ({label})" if label and param else (param or label)
        out.append(ParamIssue(path, message, origin.line, param=param, given=given, label=label))
    return out


def _describe_rest(rest: str) -> str:
    """`[0]` → `item 1`, `A` → `A`, `fields.user` → `fields.user`."""
    return re.sub(r"^\[(\d+)\]", lambda m: f"item {int(m.group(1)) + 1}", rest).lstrip(".")


# --- trust --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Revision:
    """One revision of a configuration page. `user` is empty when the name is hidden."""

    revid: int
    user: str
    timestamp: str = ""
    text: str | None = None


def trusted(
    latest_revision_user: str,
    *,
    allowlist: frozenset[str],
    user_groups: frozenset[str],
    required_group: str | None,
) -> tuple[bool, str]:
    """Whether a revision's author is an approved organiser, and why (plain language).

    Approved: named (after MediaWiki normalisation) on the organisers' allowlist, or a member
    of `required_group`. A hidden or invalid name is never approved.
    """
    name = try_normalise(latest_revision_user) if latest_revision_user else None
    if name is None:
        return False, "the editor's name is hidden or invalid"
    listed = {try_normalise(n) or n for n in allowlist}
    if name in listed:
        return True, f"{name} is on the list of approved organisers"
    if required_group and required_group in user_groups:
        return True, f"{name} is in the '{required_group}' user group"
    group = f" nor in the '{required_group}' user group" if required_group else ""
    return False, f"{name} is neither on the list of approved organisers{group}"


@dataclass(frozen=True)
class TrustChoice:
    """The latest revision, whether its author is approved (and why), and the newest revision
    by an approved author (the latest itself when approved; None when there is none)."""

    latest: Revision
    latest_trusted: bool
    reason: str
    trusted_revision: Revision | None


def choose_revision(history: Sequence[Revision], verdicts: Mapping[str, tuple[bool, str]]) -> TrustChoice:
    """Pick the revision whose configuration may send messages. `history` is newest first;
    `verdicts` maps each author to `trusted(...)`'s answer (a missing author is not approved)."""
    if not history:
        raise ValueError("a page without revisions has no configuration")
    latest = history[0]
    ok, reason = verdicts.get(latest.user, (False, "the editor is not known"))
    if ok:
        return TrustChoice(latest, True, reason, latest)
    earlier = next((r for r in history[1:] if verdicts.get(r.user, (False, ""))[0]), None)
    return TrustChoice(latest, False, reason, earlier)


@dataclass(frozen=True)
class Decision:
    """What a page's configuration may do. `event` runs the participant list and the report
    (None: nothing runs); its campaigns send messages only when `sends`. `used` is the revision
    it comes from; `note` explains a trust decision on the talk page (None: nothing to say)."""

    event: EventConfig | None
    sends: bool
    used: Revision | None
    note: str | None = None


def _title_key(title: str) -> str:
    text = _SPACES.sub(" ", title).strip()
    return text[:1].upper() + text[1:]


def _outside_pages(event: EventConfig, page_title: str) -> list[str]:
    """Pages the event writes that are neither the event page nor one of its subpages."""
    home = _title_key(page_title)
    pages = [event.pages.participants, event.pages.report, event.pages.problems, event.pages.delivery_log]
    return [p for p in pages if p and _title_key(p) != home and not _title_key(p).startswith(home + "/")]


def decide(
    page_title: str,
    choice: TrustChoice,
    latest_event: EventConfig | None,
    trusted_event: EventConfig | None,
    *,
    latest_campaigns: int,
    who: str = "on the list of approved organisers",
) -> Decision:
    """The trust rule.

    - Latest revision by an approved organiser: its configuration, campaigns included.
    - Otherwise, an earlier revision by an approved organiser: that revision's configuration
      (`trusted_event`, parsed from it), campaigns included; the latest change waits.
    - Otherwise (never approved): the latest configuration without its campaigns, and only when
      it writes to the event page and its subpages; nothing is ever sent.

    `latest_campaigns` counts the campaign templates of the latest revision (valid or not);
    `who` says in notes who is approved, e.g. "on [[User:EventBot/Organisers]] or in the
    'event-organizer' user group".
    """
    latest = choice.latest
    if choice.latest_trusted:
        return Decision(latest_event, True, latest)
    change = _change(latest)
    if choice.trusted_revision is not None:
        old = choice.trusted_revision
        note = (f"The latest change to the configuration ({change}) is not used: {inert(choice.reason)}. "
                f"A change takes effect only when an approved organiser ({who}) saves it. eventbot "
                f"keeps using {_revision_link(old)} by {_user(old.user)}. To approve the "
                "change, an approved organiser edits the page (any small change will do).")
        if trusted_event is None:
            note += " That revision has problems too, so eventbot does nothing for this event for now."
        return Decision(trusted_event, trusted_event is not None, old, note)
    notes: list[str] = []
    event = latest_event
    if latest_campaigns:
        notes.append(f"No approved organiser ({who}) has saved this configuration ({change}: "
                     f"{inert(choice.reason)}), so its campaigns send no messages. They start once an "
                     "approved organiser edits the page (any small change will do).")
    if event is not None:
        outside = _outside_pages(event, page_title)
        if outside:
            listed = ", ".join(f"[[{inert_target(p)}]]" for p in outside)
            notes.append(f"Until an approved organiser saves the configuration, eventbot writes only to "
                         f"this page and its subpages, so it does not write to {listed}.")
            event = None
        else:
            event = dataclasses.replace(event, campaigns=[])
    return Decision(event, False, latest if event is not None else None, " ".join(notes) or None)


def _revision_link(revision: Revision) -> str:
    return f"[[Special:PermanentLink/{revision.revid}|revision {revision.revid}]]"


def _change(revision: Revision) -> str:
    return f"[[Special:Diff/{revision.revid}|revision {revision.revid}]] by {_user(revision.user)}"


def _user(name: str) -> str:
    try:
        return user_link(name)
    except ValueError:
        return "an editor whose name is hidden"


# --- the talk-page notice -----------------------------------------------------------------------


def notice_wikitext(
    page_title: str,
    issues: Sequence[ConfigIssue],
    *,
    template: str = DEFAULT_TEMPLATE,
    note: str | None = None,
    stamp_label: str | None = None,
) -> str:
    """The talk-page notice: a heading, one line per issue (the parameter, what was given and
    what was expected) and the trust `note` (already wikitext). Deterministic: the same
    issues give the same text, so an unchanged problem makes no edit."""
    link = f"[[{inert_target(page_title)}]]"
    name = inert("{{" + template + "}}")
    lines = [f"== {NOTICE_HEADING if issues else _TRUST_HEADING} =="]
    if issues:
        count = f"{len(issues)} problem{'s' if len(issues) != 1 else ''}"
        them = "they are" if len(issues) != 1 else "it is"
        lines.append(f"eventbot found {count} in the <code>{name}</code> configuration on {link} "
                     f"and uses none of this version until {them} fixed:")
        lines.extend(f"* {_issue_line(issue)}" for issue in issues[:_MAX_LISTED])
        if len(issues) > _MAX_LISTED:
            lines.append(f"* … and {len(issues) - _MAX_LISTED} more; fix these first.")
    if note:
        lines.append(("" if not issues else "\n") + note)
    lines.append("\nThis notice is updated when the configuration changes and marked as resolved once "
                 "eventbot can use it.")
    if stamp_label:
        lines.append(f'<span class="eventbot-stamp">{inert(stamp_label)}</span>')
    return "\n".join(lines)


def _issue_line(issue: ConfigIssue) -> str:
    where = f" (line {issue.line})" if issue.line else ""
    if isinstance(issue, ParamIssue):
        param = f"<code>{inert(issue.param)}</code>" if issue.param else "the template"
        if issue.label:
            param += f" in {inert(issue.label)}"
        if issue.given is None:
            given = ""
        else:
            shown = issue.given if len(issue.given) <= _MAX_GIVEN else issue.given[: _MAX_GIVEN - 1] + "…"
            given = f" you wrote <code>{inert(shown)}</code>;"
        return f"{param}{where}:{given} {inert(issue.message)}"
    path = f"<code>{inert(issue.path)}</code>" if issue.path else "the configuration"
    return f"{path}{where}: {inert(issue.message)}"


def resolved_wikitext(page_title: str, *, template: str = DEFAULT_TEMPLATE,
                      stamp_label: str | None = None) -> str:
    """What the notice becomes once the configuration is fixed (then left alone)."""
    lines = [f"== {NOTICE_HEADING} {_RESOLVED} ==",
             f"The <code>{inert('{{' + template + '}}')}</code> configuration on "
             f"[[{inert_target(page_title)}]] now reads without problems and eventbot uses it. Thank you!"]
    if stamp_label:
        lines.append(f'<span class="eventbot-stamp">{inert(stamp_label)}</span>')
    return "\n".join(lines)


def is_resolved_notice(body: str | None) -> bool:
    """True when a notice section's body is the resolved note (its heading says so)."""
    if not body:
        return False
    first = body.strip().splitlines()[0]
    return first.startswith("==") and first.rstrip("= ").endswith(_RESOLVED)

