"""Usernames normalised and checked the way MediaWiki does it.

`nitesh_gill` and `Nitesh gill` are one account; `Nitesh Gill` is another (only the first
letter is case-folded). Everything that compares or stores usernames goes through `normalise`.
"""

from __future__ import annotations

import html
import ipaddress
import re
import unicodedata
from urllib.parse import unquote

__all__ = [
    "MAX_NAME_LENGTH",
    "InvalidUsername",
    "is_ip",
    "is_temporary",
    "normalise",
    "try_normalise",
]

#: MediaWiki's $wgMaxNameChars.
MAX_NAME_LENGTH = 255

# MediaWikiTitleCodec strips these bidi controls; we also drop zero-width spaces, word joiners
# and byte-order marks that copy-paste brings along. ZWJ/ZWNJ (U+200C/U+200D) are kept: they
# are meaningful in Indic scripts (Telugu, Bengali, Odia) and MediaWiki keeps them too.
_INVISIBLE = re.compile("[\u200e\u200f\u202a-\u202e\u200b\u2060\ufeff\u00ad]")
# Whitespace MediaWiki folds into one space in titles (MediaWikiTitleCodec::splitTitleString).
_WHITESPACE = re.compile("[ _\t\n\r\u00a0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")
# `@` is refused for new accounts but old ones still carry it, so it is not refused here.
_FORBIDDEN = re.compile(r"[#<>\[\]|{}/:\x00-\x1f\x7f]")
_TEMPORARY = re.compile(r"^~\d{4}-")


class InvalidUsername(ValueError):
    """A string that cannot be a MediaWiki username; the message says why."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name!r} is not a valid username: {reason}")
        self.name = name
        self.reason = reason


def _ucfirst(text: str) -> str:
    first = text[:1]
    upper = first.upper()
    # ß → SS and similar expansions are not applied to titles; keep the character.
    if len(upper) != 1:
        upper = first
    return upper + text[1:]


def normalise(raw: str) -> str:
    """Return the canonical form of a username, or raise `InvalidUsername`.

    Decodes HTML entities and percent escapes, applies Unicode NFC, removes bidi and zero-width
    marks, turns underscores into spaces, folds runs of whitespace, trims, and uppercases only
    the first letter. IP addresses are canonicalised (upper-case IPv6) and accepted.
    """
    text = html.unescape(raw)
    if "%" in text:
        text = unquote(text, errors="strict") if _is_percent_encoded(text) else text
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = _WHITESPACE.sub(" ", text).strip()
    if not text:
        raise InvalidUsername(raw, "it is empty")
    if is_ip(text):
        return text.upper() if ":" in text else text
    bad = _FORBIDDEN.search(text)
    if bad:
        char = bad.group(0)
        what = "a subpage ('/')" if char == "/" else f"the character {char!r}"
        raise InvalidUsername(raw, f"it contains {what}")
    if len(text.encode("utf-8")) > MAX_NAME_LENGTH:
        raise InvalidUsername(raw, f"it is longer than {MAX_NAME_LENGTH} bytes")
    return _ucfirst(text)


def try_normalise(raw: str) -> str | None:
    """`normalise`, or None for a string that cannot be a username."""
    try:
        return normalise(raw)
    except InvalidUsername:
        return None


def _is_percent_encoded(text: str) -> bool:
    return re.search(r"%[0-9A-Fa-f]{2}", text) is not None


def is_ip(name: str) -> bool:
    """True for an IPv4 or IPv6 address (edits by logged-out users are signed with these)."""
    try:
        ipaddress.ip_address(name.strip())
    except ValueError:
        return False
    return True


def is_temporary(name: str) -> bool:
    """True for a MediaWiki temporary account name (`~2025-12345-67`)."""
    return _TEMPORARY.match(name) is not None
