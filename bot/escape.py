"""Make participant-typed text inert in wikitext.

Anything a participant typed is data. Before it goes into a report, a participant list, a
message or a table it passes through `inert`, which replaces every character that wikitext
could read as markup with an HTML character reference. MediaWiki's preprocessor and parser
never treat a character reference as markup, and the browser shows it as the character, so the
text renders exactly as typed: no templates, links, categories, signatures, magic words, tags,
table syntax, headings, list markers, free URLs or bold/italic can come out of it.

Link targets are different: MediaWiki decodes character references in titles, so a target is
only made *safe* (no signatures, no double-underscore switches, no entity surprises) with
`inert_target`, and must already be a valid title.
"""

from __future__ import annotations

import re

from bot.usernames import normalise

__all__ = [
    "inert",
    "inert_target",
    "inert_title",
    "one_line",
    "user_link",
]

# Characters that are markup somewhere in wikitext, whatever their position.
#   & entities (escaped so typed "&lt;" stays literal)   < > tags, comments, <nowiki>
#   [ ] links, categories, external links                { } templates, parser functions, tables
#   | ! table cells and template parameters              = template parameters, headings
#   ~ signatures (~~~, ~~~~, ~~~~~)                      _ double-underscore switches (__NOTOC__)
#   ' bold and italic ('' ''')                            : free URLs (https://, mailto:), prefixes
#   " attribute values, should text ever land in one
_ALWAYS: dict[str, str] = {
    "&": "&amp;",
    "<": "&#60;",
    ">": "&#62;",
    "[": "&#91;",
    "]": "&#93;",
    "{": "&#123;",
    "}": "&#125;",
    "|": "&#124;",
    "!": "&#33;",
    "=": "&#61;",
    "~": "&#126;",
    "_": "&#95;",
    "'": "&#39;",
    ":": "&#58;",
    '"': "&#34;",
}
# Markup only at the start of a line: lists (* # ; :), preformatted text (space), rules (----).
# After `one_line` the only possible line start is the first character.
_LINE_START = frozenset("*#;: -")
# ISBN, RFC and PMID followed by a number become magic links; escaping the first letter of the
# keyword stops the match.
_MAGIC_LINK = re.compile(r"\b(?:ISBN|RFC|PMID)(?=[\s\u00a0])", re.IGNORECASE)
# A line break (with the whitespace around it) or a control character becomes one space.
_BREAK = re.compile(r"\s*[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]\s*|[\x00-\x08\x0e-\x1b\x1f\x7f]")
# A name that is safe in a link target still needs these escaped (MediaWiki decodes them back).
_TARGET: dict[str, str] = {"&": "&amp;", "~": "&#126;", "_": "&#95;"}
_NOT_IN_TITLES = re.compile(r"[<>\[\]{}|\x00-\x1f\x7f]")
_PREFIX_PART = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def one_line(text: str) -> str:
    """`text` with every line break (and the whitespace around it) and every control character
    turned into a single space. This is the text `inert` renders as."""
    return _BREAK.sub(" ", text)


def inert(text: str) -> str:
    """Escape `text` for a table cell or inline wikitext; the result renders as the literal text.

    The text is first collapsed to one line (see `one_line`), because a line break would end a
    table cell or start a new list item. `html.unescape(inert(x)) == one_line(x)`.
    """
    text = one_line(text)
    magic = {match.start() for match in _MAGIC_LINK.finditer(text)}
    out: list[str] = []
    for index, char in enumerate(text):
        escaped = _ALWAYS.get(char)
        if escaped is not None:
            out.append(escaped)
        elif (index == 0 and char in _LINE_START) or index in magic:
            out.append(f"&#{ord(char)};")
        else:
            out.append(char)
    return "".join(out)


def inert_title(text: str, limit: int = 200) -> str:
    """Escape `text` for use as a section title (`== TITLE ==`).

    The title is made one line, trimmed of whitespace and of `=` runs at either end (a pasted
    `== Foo ==` becomes `Foo`; `=` left inside is escaped and cannot change the heading level),
    capped to `limit` characters with a trailing '…', then passed through `inert`. A title that
    is nothing but `=` signs keeps them, escaped.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    collapsed = one_line(text).strip()
    title = collapsed.strip("= \t\u00a0")
    if not title:
        title = collapsed
    if len(title) > limit:
        title = title[: limit - 1].rstrip() + "…"
    return inert(title)


def inert_target(title: str) -> str:
    """Make a valid page title safe as a link target or `{{#target:...}}` argument.

    MediaWiki decodes character references in titles, so `~`, `_` and `&` are escaped (no
    signature or `__SWITCH__` can appear, and a literal `&amp;` in a name stays literal). A
    title with characters no MediaWiki title may contain raises `ValueError`.
    """
    bad = _NOT_IN_TITLES.search(title)
    if bad is not None:
        raise ValueError(f"{title!r} cannot be a page title: it contains {bad.group(0)!r}")
    if not title.strip():
        raise ValueError("an empty string cannot be a page title")
    return "".join(_TARGET.get(char, char) for char in title)


def user_link(username: str, *, site_prefix: str = "") -> str:
    """`[[User:NAME|NAME]]` for any valid username, safe to put anywhere in wikitext.

    The name is normalised first (`InvalidUsername` for names MediaWiki cannot hold). The
    display text goes through `inert`; the target through `inert_target`. `site_prefix` is an
    interwiki prefix such as `:te:` or `:m:` (`te` works too): the link always starts with a
    colon, so it is shown inline rather than becoming an interlanguage link.
    """
    name = normalise(username)
    prefix = ""
    if site_prefix:
        parts = site_prefix.strip(":").split(":")
        if not all(_PREFIX_PART.match(part) for part in parts):
            raise ValueError(f"{site_prefix!r} is not an interwiki prefix like ':te:'")
        prefix = ":" + "".join(part + ":" for part in parts)
    return f"[[{prefix}User:{inert_target(name)}|{inert(name)}]]"
