"""Small wikitext utilities shared by the parsers (pure).

Pages are anyone's to write, so everything here is linear (or n log n) in the text: no
regular expression may backtrack over a whole page.
"""

from __future__ import annotations

import bisect
import re

__all__ = ["mask_ignored"]

_IGNORED_OPEN = re.compile(
    r"<!--|<(nowiki|pre|syntaxhighlight|source)(?![\w-])[^<>]{0,500}?(/?)>", re.IGNORECASE
)
_IGNORED_CLOSE = re.compile(r"</(nowiki|pre|syntaxhighlight|source)\s*>", re.IGNORECASE)
_NOT_NEWLINE = re.compile(r"[^\n]")


def mask_ignored(text: str, *, keep_offsets: bool = False) -> str:
    """Blank out HTML comments and nowiki/pre/syntaxhighlight/source regions.

    Newlines inside them are kept, so line numbers stay those of the page; with
    `keep_offsets` every other character becomes a space too, so character offsets stay the
    same. An unclosed comment hides the rest of the page (as in MediaWiki); an unclosed
    `<nowiki>` or `<pre>` is literal text and hides nothing; `<nowiki/>` is removed.
    Runs in O(n log n) whatever the input.
    """
    if "<" not in text:
        return text
    closes: dict[str, list[int]] = {}
    for m in _IGNORED_CLOSE.finditer(text):
        closes.setdefault(m.group(1).lower(), []).append(m.start())
    parts: list[str] = []
    pos = 0
    for m in _IGNORED_OPEN.finditer(text):
        if m.start() < pos:
            continue
        if m.group(0) == "<!--":
            found = text.find("-->", m.end())
            end = len(text) if found < 0 else found + 3
        elif m.group(2):  # self-closing <nowiki/>
            end = m.end()
        else:
            starts = closes.get(m.group(1).lower(), [])
            index = bisect.bisect_left(starts, m.end())
            if index == len(starts):
                continue
            close = _IGNORED_CLOSE.match(text, starts[index])
            assert close is not None
            end = close.end()
        parts.append(text[pos : m.start()])
        region = text[m.start() : end]
        parts.append(_NOT_NEWLINE.sub(" ", region) if keep_offsets else "\n" * region.count("\n"))
        pos = end
    parts.append(text[pos:])
    return "".join(parts)
