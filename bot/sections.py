"""Bot-owned sections: the only parts of a human page eventbot ever changes.

A bot-owned section sits between two invisible markers:

    <!-- eventbot:start:participants -->
    ...written by the bot...
    <!-- eventbot:end:participants -->

Text outside the markers belongs to people and is returned byte for byte. A page without the
markers gets them appended at its end. A page with a lone or repeated marker is not touched at
all: guessing where a human meant the section to end could destroy their text.

A section may carry a "last updated" stamp (`stamp()`); two bodies that differ only in their
stamp are the same content, so an unchanged re-run makes no edit.
"""

from __future__ import annotations

import re

__all__ = [
    "SectionError",
    "extract",
    "replace",
    "same_content",
    "stamp",
    "strip_stamp",
]

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_STAMP = re.compile(r'<span class="eventbot-stamp">.*?</span>', re.S)


class SectionError(ValueError):
    """The page's markers are broken; the message tells an organiser how to repair them."""


def _markers(name: str) -> tuple[str, str]:
    if not _NAME.match(name):
        raise ValueError(f"invalid section name {name!r}")
    return f"<!-- eventbot:start:{name} -->", f"<!-- eventbot:end:{name} -->"


def _find(text: str, name: str, title: str) -> tuple[int, int] | None:
    """Return (body start, body end) offsets, None when there are no markers at all."""
    start, end = _markers(name)
    starts, ends = text.count(start), text.count(end)
    if starts == 0 and ends == 0:
        return None
    if starts != 1 or ends != 1:
        raise SectionError(
            f"{title}: expected one '{start}' and one '{end}', found {starts} and {ends}; "
            "remove the extra or lone marker and the bot will write its section again"
        )
    body_start = text.index(start) + len(start)
    body_end = text.index(end)
    if body_end < body_start:
        raise SectionError(f"{title}: '{end}' comes before '{start}'; swap them back")
    return body_start, body_end


def extract(text: str, name: str, title: str = "the page") -> str | None:
    """The current body of section `name` (without the markers), or None if it is absent."""
    span = _find(text, name, title)
    if span is None:
        return None
    return text[span[0] : span[1]].strip("\n")


def replace(text: str, name: str, body: str, title: str = "the page") -> str:
    """Return `text` with section `name` holding `body`; everything else is unchanged."""
    start, end = _markers(name)
    span = _find(text, name, title)
    inner = "\n" + body.strip("\n") + "\n"
    if span is None:
        # Leave exactly one blank line between the humans' text and the new section.
        if not text or text.endswith("\n\n"):
            separator = ""
        elif text.endswith("\n"):
            separator = "\n"
        else:
            separator = "\n\n"
        return f"{text}{separator}{start}{inner}{end}\n"
    return text[: span[0]] + inner + text[span[1] :]


def stamp(label: str) -> str:
    """A "last updated" line that `same_content` ignores."""
    return f'<span class="eventbot-stamp">{label}</span>'


def strip_stamp(body: str) -> str:
    return _STAMP.sub("", body)


def same_content(old_body: str | None, new_body: str) -> bool:
    """True when the bodies differ at most in their stamps and surrounding blank lines."""
    if old_body is None:
        return False
    return strip_stamp(old_body).strip() == strip_stamp(new_body).strip()
