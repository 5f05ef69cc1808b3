"""Read sign-ups from registration wikitext (pure: no wiki access, no I/O).

`parse_page` reads a registration page in the formats its `RegistrationSource` names:

* **signatures** - top-level `#`/`*` list items signed with `~~~~`. The signer is the user
  of the item's *last* signature (a user, user talk or contributions link, or a user
  template, followed by a timestamp); users named earlier ("encouraged by [[User:X]]") are
  not signers. An item without a timestamp is signed by its first user link. Replies and
  nested items (`#:`, `*:`, `:`, `##`, `#*`, `**` ...) are conversation, not sign-ups.
* **template** - a configurable sign-up template (`{{TTT participant|username=X|...}}`);
  its parameters become fields, the `username` field names the user.
* **table** - wikitables whose header has the configured user column; the other columns
  become fields keyed by their lowercased header text.

`parse_application` reads one application subpage. Links may use any localised or
interwiki form (`[[:te:వాడుకరి:X]]`, `[[Участница:X]]`, `[[विशेष:योगदान/X]]`), see
`bot.namespaces`. Comments, `<nowiki>`, `<pre>`, `<syntaxhighlight>` and `<source>` are
ignored; struck-out entries are kept with status WITHDRAWN. Anything in a sign-up area
that cannot be read becomes a `Problem` with its line, never silently dropped.

Lines are 1-based lines of the original text and `raw` is that original line, stripped.
The parser works line by line with linear-time scanners, so hostile input (unclosed
markup, megabyte lines, deep nesting, NUL bytes) cannot make it crash or hang.

Choices on ambiguous wikitext:

* Only `#`/`*` items count as signature sign-ups; empty items (also items whose only
  content was a comment or nowiki) are skipped, not reported.
* Strike-outs: if the signer's own link is struck, the entry is withdrawn. A struck
  signature followed by an unstruck, signed note (`<s>~~~~</s> withdrawn ~~~~`) is the
  struck user's withdrawal. Struck words without a signature leave the signer registered,
  so `<s>[[User:X]]</s> coming after all ~~~~` is registered again, but a struck *signed*
  entry cannot be revived on the same line: sign again on a new line. An unclosed
  `<s>`/`<strike>` strikes the following lines until it is closed or a heading comes (as
  browsers render it); an unclosed `<del>` ends with its line.
* A sign-up template in a signed list item is one sign-up (the template's); a template
  without a username is signed by the signature beside it.
* Under a sub-heading the status is inherited but `section` is the sub-heading's text.
* Local links give `home_wiki=None`; only interwiki links name a home wiki.
"""

from __future__ import annotations

import bisect
import html
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mwparserfromhell

from bot.config import DEFAULT_USER_TEMPLATES, RegistrationSource, TableConfig, TemplateConfig
from bot.models import Problem, ProblemKind, SignUp, SignUpKind, Status
from bot.namespaces import UserLinkNames, all_names, interwiki_target, name_key, names_for
from bot.usernames import InvalidUsername, normalise
from bot.wikitext import mask_ignored

__all__ = ["ParseResult", "parse_application", "parse_page", "signups_json"]

log = logging.getLogger(__name__)

#: Sign-up templates longer than this are reported instead of parsed.
MAX_TEMPLATE_CHARS = 100_000
#: Limits that keep hostile tables cheap: cells beyond this column are ignored, spans are
#: clamped (no sign-up table is that wide).
_MAX_COLUMNS = 200
_MAX_ROWSPAN = 10_000
#: User templates longer than this are not user templates.
_MAX_USER_TEMPLATE_CHARS = 1000

#: Templates whose first parameter is struck out.
_STRIKE_TEMPLATES = frozenset({"S", "Strike", "Strikethrough", "Strike through", "Del"})


@dataclass(frozen=True)
class ParseResult:
    """What one page gave: sign-ups and problems, each in page order."""

    signups: list[SignUp]
    problems: list[Problem]


# --- entry points ------------------------------------------------------------------------


def parse_page(
    text: str, *, source: str, wiki: str, config: RegistrationSource | None = None
) -> ParseResult:
    """Read every sign-up on a registration page.

    `wiki` is the database name of the page's wiki (it chooses the localised namespace
    names); `config=None` reads signature lists only, the whole page counting as
    `registered`. With `config.sections`, only entries under the configured headings (and
    their sub-headings) count, each with its heading's status.
    """
    ctx = _Context.build(wiki, source, config)
    page = _Page.build(text)
    out = _Output()
    formats = set(config.formats) if config is not None else {"signatures"}
    table_config = config.table if config is not None and "table" in formats else None
    template = config.template if config is not None and "template" in formats else None
    tables = _signup_tables(page, table_config) if table_config is not None else []
    claimed = {i for table, _ in tables for i in range(table.first, table.last + 1)}
    templates: list[_TemplateSpan] = []
    if template is not None:
        templates = _find_signup_templates(page, _template_keys(template), claimed)
        for span in templates:
            if span.end is not None:
                claimed.update(range(span.first_line, span.last_line + 1))
    scan = _scan_lines(page, ctx.sections, claimed)
    for span in templates:
        area = scan.areas[span.first_line]
        if area.status is not None:
            _read_template(span, page, scan, ctx, area, SignUpKind.TEMPLATE, out)
    for table, columns in tables:
        assert table_config is not None
        _read_table(table, columns, table_config, page, scan, ctx, out)
    if "signatures" in formats:
        for index in range(len(page.lines)):
            if index not in claimed and scan.areas[index].status is not None:
                _read_item(index, page, scan, ctx, out)
    result = out.result()
    log.debug("%s: %d sign-up table(s), %d sign-up template(s), %d sign-up(s), %d problem(s)",
              source, len(tables), len(templates), len(result.signups), len(result.problems))
    return result


def parse_application(
    text: str, *, source: str, wiki: str, config: RegistrationSource | None = None
) -> ParseResult:
    """Read one application subpage: who applied, with the fields of their template.

    The applicant is, in this order: the username of the first sign-up template
    (`config.template`) that gives one; the subpage's last path component when it is a
    valid username and the page either mentions that user or has no signature at all; the
    first signature on the page; the first user link. Otherwise an UNPARSEABLE problem.
    A name taken from the title is reported at line 1 with no section. Headings are not
    filtered by `config.sections` (an application page's headings are its questions); the
    status is `registered`, or `withdrawn` when the applicant's entry is struck out.
    """
    ctx = _Context.build(wiki, source, config, applications=True)
    page = _Page.build(text)
    scan = _scan_lines(page, {}, set())
    out = _Output()
    if config is not None and config.template is not None:
        spans = _find_signup_templates(page, _template_keys(config.template), set())
        for span in spans:
            found = _Output()
            _read_template(span, page, scan, ctx, scan.areas[span.first_line],
                           SignUpKind.APPLICATION, found)
            out.problems.extend(found.problems)
            if found.signups:
                out.signups.append(found.signups[0])
                return out.result()
    if not _applicant_without_template(page, scan, ctx, out):
        out.problem(ProblemKind.UNPARSEABLE, "cannot tell who applied: no sign-up template, "
                    "no signature and no username in the page title", ctx, 1, page.raw(0))
    return out.result()


def signups_json(result: ParseResult) -> dict[str, list[dict[str, Any]]]:
    """A JSON-ready view of a result: `{"signups": [...], "problems": [...]}`.

    Sign-ups carry username, home_wiki, status, section, fields, line, raw, kind and
    source; problems carry kind, message, line, username, raw and source. Enums become
    their string values.
    """
    return {
        "signups": [
            {
                "username": s.username,
                "home_wiki": s.home_wiki,
                "status": s.status.value,
                "section": s.section,
                "fields": dict(s.fields),
                "line": s.line,
                "raw": s.raw,
                "kind": s.kind.value,
                "source": s.source,
            }
            for s in result.signups
        ],
        "problems": [
            {
                "kind": p.kind.value,
                "message": p.message,
                "line": p.line,
                "username": p.username,
                "raw": p.raw,
                "source": p.source,
            }
            for p in result.problems
        ],
    }


# --- shared state ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """Everything about the page's wiki and configuration that the readers need."""

    wiki: str
    source: str
    local: UserLinkNames
    anywhere: UserLinkNames
    user_templates: frozenset[str]
    sections: Mapping[str, Status]
    template_fields: Mapping[str, str]

    @classmethod
    def build(cls, wiki: str, source: str, config: RegistrationSource | None,
              applications: bool = False) -> _Context:
        templates = config.user_templates if config is not None else DEFAULT_USER_TEMPLATES
        sections: dict[str, Status] = {}
        if config is not None and not applications:
            sections = {_section_key(k): v for k, v in config.sections.items()}
        return cls(
            wiki=wiki,
            source=source,
            local=names_for(wiki),
            anywhere=all_names(),
            user_templates=frozenset(_template_key(t) for t in templates),
            sections=sections,
            template_fields=dict(config.template.fields)
            if config is not None and config.template is not None
            else {"1": "username"},
        )


@dataclass
class _Output:
    """Collects sign-ups and problems; `result()` returns them in page order."""

    signups: list[SignUp] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def problem(self, kind: ProblemKind, message: str, ctx: _Context, line: int, raw: str,
                username: str | None = None) -> None:
        self.problems.append(Problem(kind, message, ctx.source, line, username, raw))

    def result(self) -> ParseResult:
        return ParseResult(
            sorted(self.signups, key=lambda s: s.line),
            sorted(self.problems, key=lambda p: p.line or 0),
        )


@dataclass(frozen=True)
class _Page:
    """The original lines, and the same lines with ignored regions blanked out.

    `lines[i]` is what the parser reads; `raw_lines[i]` is what `raw` reports. Ignored
    regions are replaced by the newlines they held, so both lists have the same length.
    """

    raw_lines: list[str]
    lines: list[str]
    text: str
    offsets: list[int]

    @classmethod
    def build(cls, text: str) -> _Page:
        text = text.replace("\r\n", "\n").replace("\x00", "\ufffd")
        masked = _mask_ignored(text)
        lines = masked.split("\n")
        offsets = [0]
        for line in lines[:-1]:
            offsets.append(offsets[-1] + len(line) + 1)
        return cls(text.split("\n"), lines, masked, offsets)

    def raw(self, index: int) -> str:
        """The original line `index` (0-based), stripped."""
        return self.raw_lines[index].strip()

    def line_of(self, pos: int) -> int:
        """0-based index of the line holding offset `pos` of the masked text."""
        return bisect.bisect_right(self.offsets, pos) - 1


# --- ignored regions -----------------------------------------------------------------------

def _mask_ignored(text: str) -> str:
    """Comments and nowiki/pre/syntaxhighlight/source regions blanked, newlines kept."""
    return mask_ignored(text)


# --- headings, areas and strike-outs across lines --------------------------------------------


@dataclass(frozen=True)
class _Area:
    """Where a line stands: its status (None: outside every sign-up area) and section."""

    status: Status | None
    section: str | None


@dataclass(frozen=True)
class _Scan:
    """Per-line facts from one pass over the page."""

    areas: list[_Area]
    strike_in: list[int]  # <s>/<strike> tags still open when each line starts


def _scan_lines(page: _Page, sections: Mapping[str, Status], claimed: set[int]) -> _Scan:
    """Walk the headings and the strike-out tags that stay open across lines.

    With `sections`, a configured heading opens an area with its status; deeper headings
    inherit it; a same-or-higher-level heading that is not configured closes it. Without
    `sections` every line is `registered` and its section is the nearest heading. An
    unclosed `<s>`/`<strike>` strikes following lines too (as browsers render it) until it
    is closed or a heading comes; lines claimed by tables do not change that state.
    """
    stack: list[tuple[int, str | None, Status | None]] = []
    areas: list[_Area] = []
    strike_in: list[int] = []
    default = Status.REGISTERED if not sections else None
    area = _Area(default, None)
    open_strikes = 0
    for index, line in enumerate(page.lines):
        heading = _heading(line)
        if heading is not None:
            level, title = heading
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title, sections.get(_section_key(title or ""))))
            status = next((s for _, _, s in reversed(stack) if s is not None), default)
            area = _Area(status, title)
            open_strikes = 0
        areas.append(area)
        strike_in.append(open_strikes)
        if index not in claimed and heading is None and "<" in line:
            open_strikes = _strikes(line, open_strikes, ())[1]
    return _Scan(areas, strike_in)


def _heading(line: str) -> tuple[int, str | None] | None:
    """(level, plain text) of a `== Heading ==` line, or None.

    The level is the smaller of the two runs of `=` (at most 6), as in MediaWiki; extra
    `=` on one side belong to the text. The text is stripped of markup (None if empty).
    """
    if not line.startswith("="):
        return None
    s = line.rstrip()
    left = len(s) - len(s.lstrip("="))
    right = len(s) - len(s.rstrip("="))
    if left == len(s):
        level = min((len(s) - 1) // 2, 6)
    else:
        level = min(left, right, 6)
    if level < 1:
        return None
    title = _plain(s[level : len(s) - level])
    return level, title or None


def _section_key(title: str) -> str:
    """Headings and configured section names compare case-insensitively, spaces folded."""
    return " ".join(title.split()).casefold()


_STRIKE_TAG = re.compile(r"<(/?)(s|strike|del)(?![\w-])([^<>]{0,300})>", re.IGNORECASE)


def _strikes(
    text: str, open_in: int, template_spans: Sequence[tuple[int, int]]
) -> tuple[list[tuple[int, int]], int]:
    """Struck ranges of `text` and the `<s>`/`<strike>` tags still open at its end.

    `open_in` tags are open when the text starts. An unclosed `<del>` ends with the text
    (it is not a formatting element); `template_spans` (`{{s|...}}`) are struck whole.
    """
    ranges: list[tuple[int, int]] = list(template_spans)
    carried = min(open_in, 100)
    local = 0
    start = 0
    for m in _STRIKE_TAG.finditer(text):
        if m.group(3).rstrip().endswith("/"):
            continue
        before = carried + local
        is_del = m.group(2).lower() == "del"
        if m.group(1):
            if is_del and local:
                local -= 1
            elif not is_del and carried:
                carried -= 1
        elif is_del:
            local += 1
        else:
            carried = min(carried + 1, 100)
        after = carried + local
        if not before and after:
            start = m.start()
        elif before and not after:
            ranges.append((start, m.end()))
    if carried + local:
        ranges.append((start, len(text)))
    return ranges, carried


def _inside(ranges: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    return any(a <= start and end <= b for a, b in ranges)


# --- brackets and braces ----------------------------------------------------------------------

_LINK_TOKENS = re.compile(r"\[\[|\]\]")
_BRACE_TOKENS = re.compile(r"\{\{|\}\}")


def _pairs(text: str, tokens: re.Pattern[str]) -> tuple[list[tuple[int, int]], list[int]]:
    """Matched `[[...]]` (or `{{...}}`) spans as (start, end), and unmatched openings.

    Innermost pairs come first; a stray closer is ignored. Linear in the text.
    """
    stack: list[int] = []
    pairs: list[tuple[int, int]] = []
    for m in tokens.finditer(text):
        if m.group(0)[0] in "[{":
            stack.append(m.start())
        elif stack:
            pairs.append((stack.pop(), m.end()))
    return pairs, stack


_SPLIT_TOKENS = re.compile(r"\[\[|\]\]|\{\{|\}\}|\|")


def _split_params(inner: str) -> list[str]:
    """Split template text on the `|` that are not inside nested links or templates."""
    parts: list[str] = []
    depth = 0
    start = 0
    for m in _SPLIT_TOKENS.finditer(inner):
        token = m.group(0)
        if token in ("[[", "{{"):
            depth += 1
        elif token in ("]]", "}}"):
            depth = max(depth - 1, 0)
        elif depth == 0:
            parts.append(inner[start : m.start()])
            start = m.end()
    parts.append(inner[start:])
    return parts


_TEMPLATE_PREFIX = re.compile(r"^template\s*:\s*", re.IGNORECASE)
_SPACES = re.compile(r"[\s_]+")


def _template_key(name: str) -> str:
    """Compare template names as MediaWiki does: `Template:` optional, underscores are
    spaces, whitespace folded, first letter case-insensitive."""
    text = _TEMPLATE_PREFIX.sub("", _SPACES.sub(" ", name).strip())
    first = text[:1].upper()
    return (first if len(first) == 1 else text[:1]) + text[1:]


def _template_keys(template: TemplateConfig) -> frozenset[str]:
    return frozenset(_template_key(n) for n in [template.name, *template.aliases])


def _head(text: str, start: int, end: int, limit: int) -> str:
    """The inside of the `[[...]]`/`{{...}}` pair at (start, end), cut at `limit` chars."""
    return text[start + 2 : min(end - 2, start + 2 + limit)]


def _template_name(inner: str) -> str | None:
    """The name part of a template's inner text (before the first `|`), if plausible."""
    name = inner.split("|", 1)[0]
    if len(name) > 255 or any(c in name for c in "{}[]<>"):
        return None
    return _template_key(name)


# --- user mentions and timestamps ---------------------------------------------------------------


@dataclass(frozen=True)
class _Mention:
    """A user named in wikitext: a user link or a user template. `name` is as written."""

    start: int
    end: int
    name: str
    home_wiki: str | None


_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u200b\u2060\ufeff]")


def _user_of_target(target: str, ctx: _Context) -> tuple[str, str | None] | None:
    """(name as written, home wiki) if a link target points at a user, else None.

    Accepts User:, User talk: (with subpages) and Special:Contributions/ in any case,
    localised or aliased, with a leading colon and spaces around colons; entities are
    decoded before a `#fragment` is cut off, as MediaWiki does; interwiki
    prefixes (`:te:`, `w:bn:`, `m:`) are resolved with `interwiki_target` and their
    namespace names looked up in every language.
    """
    text = _BIDI.sub("", html.unescape(target)).strip().lstrip(":")
    text = text.split("#", 1)[0]
    parts = text.split(":")
    if len(parts) < 2:
        return None
    namespace, rest = parts[-2], parts[-1]
    home: str | None = None
    names = ctx.local
    if len(parts) > 2:
        home = interwiki_target(parts[:-2], ctx.wiki)
        if home is None:
            return None
        names = ctx.anywhere
    key = name_key(namespace)
    if key in names.user or key in names.user_talk:
        return rest.split("/", 1)[0], home
    if key in names.special:
        page, slash, sub = rest.partition("/")
        if slash and name_key(page) in names.contributions:
            return sub.split("/", 1)[0], home
    return None


def _mentions(text: str, ctx: _Context) -> list[_Mention]:
    """Every user link and user template in `text`, in order of position."""
    found: list[_Mention] = []
    if "[[" in text:
        for start, end in _pairs(text, _LINK_TOKENS)[0]:
            target = _head(text, start, end, 512).split("|", 1)[0]
            if "[" in target or "]" in target or ":" not in target:
                continue
            user = _user_of_target(target, ctx)
            if user is not None:
                found.append(_Mention(start, end, user[0], user[1]))
    if "{{" in text:
        for start, end in _pairs(text, _BRACE_TOKENS)[0]:
            if end - start > _MAX_USER_TEMPLATE_CHARS:
                continue
            name = _user_template_param(text[start + 2 : end - 2], ctx)
            if name is not None:
                found.append(_Mention(start, end, name, None))
    found.sort(key=lambda m: m.start)
    return found


def _user_template_param(inner: str, ctx: _Context) -> str | None:
    """The user named by `{{u|X}}`-style template text (first positional or `1=`)."""
    if len(inner) > _MAX_USER_TEMPLATE_CHARS or "|" not in inner:
        return None
    if _template_name(inner) not in ctx.user_templates:
        return None
    for param in _split_params(inner)[1:]:
        key, eq, value = param.partition("=")
        if not eq:
            return param.strip() or None
        if key.strip() == "1":
            return value.strip() or None
    return None


def _strike_template_spans(text: str) -> list[tuple[int, int]]:
    """Spans of `{{strike|...}}` / `{{s|...}}` templates in `text`."""
    if "{{" not in text:
        return []
    return [
        (start, end)
        for start, end in _pairs(text, _BRACE_TOKENS)[0]
        if _template_name(_head(text, start, end, 300)) in _STRIKE_TEMPLATES
    ]


_TIMESTAMP = re.compile(
    r"(?<!\d)\d{1,2}:\d{2}(?!\d)(?:[^()\[\]{}\n|]{0,80}?\([^()\[\]{}\n|]{1,30}\)"
    r"|,? \d{1,2}\.? \w+ \d{4})"
    r"|(?<!\d)\d{4}-\d{1,2}-\d{1,2}[ T,]+\d{1,2}:\d{2}(?!\d)"
)


def _timestamps(text: str) -> list[int]:
    """Start offsets of signature timestamps, detected loosely in any script.

    A time `HH:MM` (any Unicode digits) followed on the same line by a short parenthesised
    zone (`(UTC)`, `(ইউটিসি)`), or by `, 5 July 2026`; or an ISO-like `2026-07-05 10:32`.
    """
    if ":" not in text:
        return []
    return [m.start() for m in _TIMESTAMP.finditer(text)]


def _signer(mentions: Sequence[_Mention], stamps: Sequence[int]) -> _Mention | None:
    """The user of the last signature: the last mention before the last timestamp that
    has one before it; without such a timestamp, the first mention."""
    for stamp in reversed(stamps):
        before = [m for m in mentions if m.end <= stamp]
        if before:
            return before[-1]
    return mentions[0] if mentions else None


@dataclass(frozen=True)
class _Signed:
    """Who signed a piece of wikitext, and whether that signature is struck out."""

    mention: _Mention
    struck: bool


def _who_signed(text: str, ctx: _Context, open_strikes: int) -> _Signed | None:
    """The signer of `text` (see `_signer`), with strike-outs taken into account.

    If the signer's own mention is struck, the entry is withdrawn. If the signer is not
    struck but a struck part holds a whole signature (`<s>[[User:X]] 10:32 (UTC)</s>
    withdrawn ~~~~`), the struck signature is the sign-up, withdrawn, and the rest is a
    note about it. A struck "encouraged by" or struck words leave the signer active.
    """
    mentions = _mentions(text, ctx)
    if not mentions:
        return None
    stamps = _timestamps(text)
    signer = _signer(mentions, stamps)
    assert signer is not None
    ranges: list[tuple[int, int]] = []
    if open_strikes or "<" in text or "{{" in text:
        ranges = _strikes(text, open_strikes, _strike_template_spans(text))[0]
    if not ranges:
        return _Signed(signer, False)
    if _inside(ranges, signer.start, signer.end):
        return _Signed(signer, True)
    struck = [m for m in mentions if _inside(ranges, m.start, m.end)]
    struck_stamps = [s for s in stamps if _inside(ranges, s, s + 1)]
    for stamp in reversed(struck_stamps):
        before = [m for m in struck if m.end <= stamp]
        if before:
            return _Signed(before[-1], True)
    return _Signed(signer, False)


# --- signature lists ----------------------------------------------------------------------------

_LIST_PREFIX = re.compile(r"[*#:;]+")


def _read_item(index: int, page: _Page, scan: _Scan, ctx: _Context, out: _Output) -> None:
    """Read line `index` if it is a top-level `#`/`*` list item with some content.

    Items that name no user become UNPARSEABLE problems; a signer whose name MediaWiki
    cannot hold becomes INVALID_NAME. Empty items (also those whose only content was a
    comment or nowiki) are skipped.
    """
    line = page.lines[index]
    if not line or line[0] not in "#*":
        return
    prefix = _LIST_PREFIX.match(line)
    assert prefix is not None
    if prefix.end() != 1:
        return  # a reply or nested item: conversation
    content = line[1:]
    if not content.strip():
        return
    area = scan.areas[index]
    signed = _who_signed(content, ctx, scan.strike_in[index])
    if signed is None:
        out.problem(ProblemKind.UNPARSEABLE, "this list item names no user: no user link, "
                    "user template or signature was found", ctx, index + 1, page.raw(index))
        return
    _add(out, ctx, page, index, signed.mention.name, signed.mention.home_wiki,
         SignUpKind.SIGNATURE, _status(area, signed.struck), area.section, {})


def _status(area: _Area, struck: bool) -> Status:
    if struck:
        return Status.WITHDRAWN
    assert area.status is not None
    return area.status


def _add(out: _Output, ctx: _Context, page: _Page, index: int, name: str,
         home_wiki: str | None, kind: SignUpKind, status: Status, section: str | None,
         fields: dict[str, str]) -> None:
    """Record a sign-up, or an INVALID_NAME problem if `name` cannot be a username.

    U+FFFD (what NUL bytes and undecodable text become) is refused too: no real account
    name holds it.
    """
    try:
        username = normalise(name)
        if "\ufffd" in username:
            raise InvalidUsername(name, "it contains a NUL byte or an undecodable character")
    except InvalidUsername as exc:
        out.problem(ProblemKind.INVALID_NAME, str(exc), ctx, index + 1, page.raw(index),
                    name.strip() or None)
        return
    out.signups.append(SignUp(
        username=username, source=ctx.source, line=index + 1, raw=page.raw(index), kind=kind,
        status=status, section=section, home_wiki=home_wiki, fields=fields,
    ))


# --- sign-up templates ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _TemplateSpan:
    """A sign-up template in the masked text; `end` is None when it is never closed."""

    start: int
    end: int | None
    name: str
    first_line: int
    last_line: int


def _find_signup_templates(page: _Page, keys: frozenset[str],
                           claimed: set[int]) -> list[_TemplateSpan]:
    """Outermost sign-up templates (by name or alias) outside `claimed` lines, in order."""
    text = page.text
    starts = [m.start() for m in _names_pattern(keys).finditer(text)] if "{{" in text else []
    if not starts:
        return []
    pairs, _ = _pairs(text, _BRACE_TOKENS)
    ends = dict(pairs)
    spans: list[_TemplateSpan] = []
    covered = -1
    for start in starts:
        if start < covered:
            continue
        end = ends.get(start)
        first = page.line_of(start)
        if first in claimed:
            continue
        last = page.line_of(end - 1) if end is not None else first
        name = _head(text, start, end or len(text), 300).split("|", 1)[0].split("}}", 1)[0]
        spans.append(_TemplateSpan(start, end, " ".join(name.split()), first, last))
        covered = end if end is not None else start + 2
    return spans


def _names_pattern(keys: frozenset[str]) -> re.Pattern[str]:
    """A regex finding `{{Name|`, `{{name}}`, `{{Template:Name_x|` ... for template keys."""
    names = []
    for key in sorted(keys, key=len, reverse=True):
        first = key[:1]
        lower = first.lower()
        head = f"[{re.escape(first)}{re.escape(lower)}]" if len(lower) == 1 and lower != first \
            else re.escape(first)
        names.append(head + "".join(r"[\s_]+" if c == " " else re.escape(c) for c in key[1:]))
    return re.compile(
        r"\{\{\s*(?:(?i:template)\s*:\s*)?(?:" + "|".join(names) + r")\s*(?=\||\}\}|$)",
        re.MULTILINE,
    )


def _read_template(span: _TemplateSpan, page: _Page, scan: _Scan, ctx: _Context,
                   area: _Area, kind: SignUpKind, out: _Output) -> None:
    """Turn one sign-up template into a sign-up (fields from its parameters) or a problem.

    A template without a username takes the signer of the text around it (before it on
    its first line, after it on its last: `# {{TTT participant|community=Telugu}} ~~~~`);
    failing that it is UNPARSEABLE. A template inside a strike-out is withdrawn.
    """
    index = span.first_line
    raw = page.raw(index)
    if span.end is None:
        out.problem(ProblemKind.UNPARSEABLE, f"the sign-up template {{{{{span.name}}}}} is "
                    "not closed (a '}}' is missing)", ctx, index + 1, raw)
        return
    if span.end - span.start > MAX_TEMPLATE_CHARS:
        out.problem(ProblemKind.UNPARSEABLE, f"the sign-up template {{{{{span.name}}}}} is "
                    f"longer than {MAX_TEMPLATE_CHARS} characters", ctx, index + 1, raw)
        return
    name_value, fields = _template_fields(page.text[span.start : span.end], ctx)
    line = page.lines[index]
    column = span.start - page.offsets[index]
    struck = _inside(_strikes(line, scan.strike_in[index], _strike_template_spans(line))[0],
                     column, column + 2)
    user = _username_from_value(name_value, ctx) if name_value else None
    if user is None:
        after = span.end - page.offsets[span.last_line]
        around = line[:column] + " " + page.lines[span.last_line][after:]
        signed = _who_signed(around, ctx, scan.strike_in[index])
        if signed is None:
            out.problem(ProblemKind.UNPARSEABLE, f"the sign-up template {{{{{span.name}}}}} "
                        "gives no username", ctx, index + 1, raw)
            return
        user = (signed.mention.name, signed.mention.home_wiki)
        struck = struck or signed.struck
    _add(out, ctx, page, index, user[0], user[1], kind, _status(area, struck), area.section,
         fields)


def _template_fields(wikitext: str, ctx: _Context) -> tuple[str | None, dict[str, str]]:
    """(raw username value, other fields) of a sign-up template's wikitext.

    Parameters map to fields through `TemplateConfig.fields` (kept under their own name
    otherwise); values become plain text; empty values are dropped; a later parameter
    for the same field wins, as in MediaWiki.
    """
    mapping = ctx.template_fields
    code = mwparserfromhell.parse(wikitext, skip_style_tags=True)
    found = code.filter_templates(recursive=False)
    if not found:
        return None, {}
    username: str | None = None
    fields: dict[str, str] = {}
    for param in found[0].params:
        key = str(param.name).strip()
        target = mapping.get(key, key)
        raw_value = str(param.value)
        if target == "username":
            if raw_value.strip():
                username = raw_value
            continue
        value = _plain(raw_value)
        if value:
            fields[target] = value
    return username, fields


def _username_from_value(value: str, ctx: _Context) -> tuple[str, str | None] | None:
    """(name, home wiki) from a username parameter or table cell.

    A link or user template (or a whole signature) gives its user; otherwise the plain
    text is the name, with a `User:` prefix (any localised or interwiki form) removed.
    """
    mentions = _mentions(value, ctx)
    if mentions:
        signer = _signer(mentions, _timestamps(value))
        assert signer is not None
        return signer.name, signer.home_wiki
    text = _plain(value)
    if not text:
        return None
    if ":" in text:
        user = _user_of_target(text, ctx)
        if user is not None:
            return user
    return text, None


# --- tables ---------------------------------------------------------------------------------


@dataclass
class _Cell:
    """One table cell: header or data, its content lines (0-based index, text) and spans."""

    header: bool
    parts: list[tuple[int, str]]
    rowspan: int = 1
    colspan: int = 1

    @property
    def text(self) -> str:
        return "\n".join(text for _, text in self.parts)

    @property
    def line(self) -> int:
        """The first line with content (the cell's own line if it is empty)."""
        for index, text in self.parts:
            if text.strip():
                return index
        return self.parts[0][0]


@dataclass
class _Table:
    """A wikitable between lines `first` and `last` (0-based, inclusive)."""

    first: int
    last: int = -1
    rows: list[list[_Cell]] = field(default_factory=list)
    current: _Cell | None = None

    def new_row(self) -> list[_Cell]:
        self.rows.append([])
        self.current = None
        return self.rows[-1]

    def add_cells(self, index: int, text: str, header: bool) -> None:
        row = self.rows[-1] if self.rows else self.new_row()
        separators = ("||", "!!") if header else ("||",)
        for chunk in _split_cells(text, separators):
            attrs, content = _cell_attributes(chunk)
            cell = _Cell(header, [(index, content)], _span(attrs, "rowspan", _MAX_ROWSPAN),
                         _span(attrs, "colspan", _MAX_COLUMNS))
            row.append(cell)
            self.current = cell


def _signup_tables(page: _Page, config: TableConfig) -> list[tuple[_Table, _Columns]]:
    """The page's tables that have the configured user column, with their columns."""
    found = []
    for table in _find_tables(page.lines):
        columns = _user_column(table, config)
        if columns is None:
            log.debug("table at line %d has no %r column: not a sign-up table",
                      table.first + 1, config.user_column)
        else:
            found.append((table, columns))
    return found


def _find_tables(lines: Sequence[str]) -> list[_Table]:
    """Every wikitable (nested ones too, each on its own), read line by line as MediaWiki's
    doTableStuff does: `{|`, `|-`, `|+`, `|`/`||` cells, `!`/`!!` headers, `|}`; other
    lines continue the current cell. An unclosed table ends with the page."""
    tables: list[_Table] = []
    stack: list[_Table] = []
    for index, line in enumerate(lines):
        s = line.strip()
        if s.startswith(":"):
            s = s.lstrip(":").lstrip()
        if s.startswith("{|"):
            stack.append(_Table(index))
            continue
        if not stack:
            continue
        table = stack[-1]
        if s.startswith("|}"):
            table.last = index
            tables.append(stack.pop())
        elif s.startswith("|-"):
            table.new_row()
        elif s.startswith("|+"):
            table.current = None
        elif s.startswith("|"):
            table.add_cells(index, s[1:], header=False)
        elif s.startswith("!"):
            table.add_cells(index, s[1:], header=True)
        elif table.current is not None:
            table.current.parts.append((index, line))
    for table in stack:
        table.last = len(lines) - 1
        tables.append(table)
    tables.sort(key=lambda t: t.first)
    return tables


_CELL_TOKENS = re.compile(r"\[\[|\]\]|\{\{|\}\}|\|\||!!")


def _split_cells(text: str, separators: tuple[str, ...]) -> list[str]:
    """Split a row line on `||` (and `!!` for headers) outside links and templates."""
    if not any(sep in text for sep in separators):
        return [text]
    cells: list[str] = []
    depth = 0
    start = 0
    for m in _CELL_TOKENS.finditer(text):
        token = m.group(0)
        if token in ("[[", "{{"):
            depth += 1
        elif token in ("]]", "}}"):
            depth = max(depth - 1, 0)
        elif depth == 0 and token in separators:
            cells.append(text[start : m.start()])
            start = m.end()
    cells.append(text[start:])
    return cells


def _cell_attributes(cell: str) -> tuple[str, str]:
    """(attributes, content) of a cell: split at the first `|` outside links/templates,
    unless the part before it holds a link or template (then it is all content)."""
    if "|" not in cell:
        return "", cell
    parts = _split_params(cell)
    if len(parts) == 1 or "[[" in parts[0] or "{{" in parts[0]:
        return "", cell
    return parts[0], cell[len(parts[0]) + 1 :]


def _span(attrs: str, name: str, limit: int) -> int:
    """The `rowspan`/`colspan` number in a cell's attributes, clamped to [1, limit]."""
    if "span" not in attrs.lower():
        return 1
    m = re.search(name + r"\s*=\s*[\"']?\s*(\d{1,7})", attrs, re.IGNORECASE)
    return max(1, min(int(m.group(1)), limit)) if m else 1


_Slot = tuple[_Cell, bool]  # the cell filling a grid slot, and whether it starts there


def _grid(rows: Sequence[Sequence[_Cell]]) -> list[dict[int, _Slot]]:
    """Lay rows out on a grid, honouring rowspan and colspan like an HTML table."""
    pending: dict[int, tuple[_Cell, int]] = {}
    grid: list[dict[int, _Slot]] = []
    for row in rows:
        slots: dict[int, _Slot] = {}
        for column, (cell, left) in list(pending.items()):
            slots[column] = (cell, False)
            if left <= 1:
                del pending[column]
            else:
                pending[column] = (cell, left - 1)
        column = 0
        for cell in row:
            while column in slots:
                column += 1
            if column >= _MAX_COLUMNS:
                break
            for k in range(min(cell.colspan, _MAX_COLUMNS - column)):
                slots.setdefault(column + k, (cell, k == 0))
                if cell.rowspan > 1:
                    pending[column + k] = (cell, cell.rowspan - 1)
            column += cell.colspan
        grid.append(slots)
    return grid


@dataclass(frozen=True)
class _Columns:
    """The header of a sign-up table: the user column and the field key of the others."""

    user: int
    keys: dict[int, str]
    header_rows: int


def _user_column(table: _Table, config: TableConfig) -> _Columns | None:
    """Find the header rows (the leading rows made only of `!` cells) and the column whose
    header text matches `config.user_column`; None if the table has no such column.
    Columns under a colspan header share its text: the second is keyed `text 2` etc."""
    rows = [r for r in table.rows if r]
    header_rows = 0
    for row in rows:
        if not all(cell.header for cell in row):
            break
        header_rows += 1
    if not header_rows:
        return None
    grid = _grid(rows[:header_rows])
    texts: dict[int, str] = {}
    seen: dict[str, int] = {}
    wanted = _section_key(config.user_column)
    user: int | None = None
    for slots in grid[:header_rows]:
        for column, (cell, _) in slots.items():
            text = _plain(cell.text)
            if text:
                texts[column] = text
            if user is None and text and _section_key(text) == wanted:
                user = column
    if user is None:
        return None
    keys: dict[int, str] = {}
    for column in sorted(texts):
        base = texts[column].lower()
        seen[base] = seen.get(base, 0) + 1
        keys[column] = base if seen[base] == 1 else f"{base} {seen[base]}"
    return _Columns(user, keys, header_rows)


def _read_table(table: _Table, columns: _Columns, config: TableConfig, page: _Page,
                scan: _Scan, ctx: _Context, out: _Output) -> None:
    """Turn each data row of a sign-up table into a sign-up.

    Rows made only of header cells (sub-headings), rows whose user cell is carried down
    by a rowspan (the same person again) or spans several columns (a divider), and rows
    that are empty except for numbers are skipped. A row with content but no user is
    UNPARSEABLE. A struck-out user cell gives a withdrawn sign-up.
    """
    rows = [r for r in table.rows if r]
    grid = _grid(rows)
    for row, slots in zip(rows[columns.header_rows :], grid[columns.header_rows :], strict=True):
        if all(cell.header for cell in row):
            continue
        slot = slots.get(columns.user)
        if slot is not None and (not slot[1] or slot[0].colspan > 1):
            continue
        fields = _row_fields(slots, columns)
        index = slot[0].line if slot is not None else row[0].line
        area = scan.areas[index]
        if area.status is None:
            continue
        text = slot[0].text if slot is not None else ""
        signed = _who_signed(text, ctx, 0)
        if signed is not None:
            user: tuple[str, str | None] | None = (signed.mention.name, signed.mention.home_wiki)
            struck = signed.struck
        else:
            user = _username_from_value(text, ctx)
            struck = _all_struck(text)
        if user is None:
            if any(not v.replace(".", "").isdigit() for v in fields.values()):
                out.problem(ProblemKind.UNPARSEABLE, "this table row has no user in the "
                            f"'{config.user_column}' column", ctx, index + 1, page.raw(index))
            continue
        _add(out, ctx, page, index, user[0], user[1], SignUpKind.TABLE,
             _status(area, struck), area.section, fields)


def _row_fields(slots: Mapping[int, _Slot], columns: _Columns) -> dict[str, str]:
    """Plain-text values of a row's non-user columns, keyed by header; empties dropped."""
    fields: dict[str, str] = {}
    for column, (cell, starts) in sorted(slots.items()):
        if column == columns.user or column not in columns.keys:
            continue
        if not starts and cell.colspan > 1 and cell.rowspan == 1:
            continue
        value = _plain(cell.text)
        if value:
            fields[columns.keys[column]] = value
    return fields


def _all_struck(text: str) -> bool:
    """True when every visible character of a cell is inside a strike-out."""
    ranges = _strikes(text, 0, _strike_template_spans(text))[0]
    if not ranges:
        return False
    marks = [False] * len(text)
    for a, b in ranges:
        for i in range(a, min(b, len(text))):
            marks[i] = True
    outside = "".join(c for c, m in zip(text, marks, strict=True) if not m)
    return not outside.strip()


# --- applications ------------------------------------------------------------------------------


def _applicant_without_template(page: _Page, scan: _Scan, ctx: _Context, out: _Output) -> bool:
    """Record the applicant of a page without a usable template (see `parse_application`).

    Returns False when the page names nobody at all. An applicant taken from a signature or
    link whose name MediaWiki cannot hold becomes an INVALID_NAME problem.
    """
    first_signature: tuple[int, _Signed] | None = None
    first_mention: tuple[int, _Mention] | None = None
    by_name: dict[str, _Mention] = {}
    for index, line in enumerate(page.lines):
        if "[[" not in line and "{{" not in line:
            continue
        mentions = _mentions(line, ctx)
        for mention in mentions:
            name = _try_normalise(mention.name)
            if name is not None:
                by_name.setdefault(name, mention)
        if mentions and first_mention is None:
            first_mention = (index, mentions[0])
        if first_signature is None and mentions:
            signed = _first_signature(line, mentions, ctx, scan.strike_in[index])
            if signed is not None:
                first_signature = (index, signed)
    path_name = _try_normalise(ctx.source.rsplit("/", 1)[-1]) if "/" in ctx.source else None
    if path_name is not None and (path_name in by_name or first_signature is None):
        home = by_name[path_name].home_wiki if path_name in by_name else None
        _add(out, ctx, page, 0, path_name, home, SignUpKind.APPLICATION, Status.REGISTERED,
             None, {})
    elif first_signature is not None:
        index, signed = first_signature
        _add(out, ctx, page, index, signed.mention.name, signed.mention.home_wiki,
             SignUpKind.APPLICATION, Status.WITHDRAWN if signed.struck else Status.REGISTERED,
             scan.areas[index].section, {})
    elif first_mention is not None:
        index, mention = first_mention
        _add(out, ctx, page, index, mention.name, mention.home_wiki, SignUpKind.APPLICATION,
             Status.REGISTERED, scan.areas[index].section, {})
    else:
        return False
    return True


def _first_signature(line: str, mentions: Sequence[_Mention], ctx: _Context,
                     open_strikes: int) -> _Signed | None:
    """The first signature on a line: the last mention before its first timestamp."""
    for stamp in _TIMESTAMP.finditer(line):
        if any(m.end <= stamp.start() for m in mentions):
            return _who_signed(line[: stamp.end()], ctx, open_strikes)
    return None


def _try_normalise(name: str) -> str | None:
    try:
        return normalise(name)
    except InvalidUsername:
        return None


# --- plain text -----------------------------------------------------------------------------

_WHITESPACE = re.compile(r"\s+")
_BREAK = re.compile(r"<br\s*/?\s*>", re.IGNORECASE)


def _plain(wikitext: str) -> str:
    """Visible text of a piece of wikitext, on one line.

    Templates, comments and tags' markup go (`<br>` becomes a space); links keep their
    text (or their target, without a leading colon); bold/italic quotes go; entities are
    decoded; whitespace is folded and trimmed.
    """
    if not any(c in wikitext for c in "[{<'&"):
        return _WHITESPACE.sub(" ", wikitext).strip()
    code = mwparserfromhell.parse(_BREAK.sub(" ", wikitext), skip_style_tags=True)
    for link in code.filter_wikilinks(recursive=True):
        if link.text is None:
            link.text = str(link.title).strip().lstrip(":")
    text = code.strip_code(normalize=True, collapse=True)
    text = text.replace("'''", "").replace("''", "")
    return _WHITESPACE.sub(" ", text).strip()
