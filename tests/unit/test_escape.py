"""Participant-typed text must render literally and never act as wikitext markup."""

from __future__ import annotations

import html

import mwparserfromhell
import pytest
from mwparserfromhell.nodes import HTMLEntity, Text

from bot.escape import inert, inert_target, inert_title, one_line, user_link
from bot.usernames import InvalidUsername

HOSTILE = [
    "a|b",
    "a || b",
    "! header !! cell",
    "{| class=wikitable",
    "|}",
    "|-",
    "key=value",
    "}}",
    "]]",
    "~~~~",
    "~~~~~",
    "{{subst:X}}",
    "{{subst:X|y=1}}",
    "{{#if:1|boom}}",
    "{{{1}}}",
    "[[Category:X]]",
    "[[:Category:X]]",
    "[[File:Evil.jpg|thumb]]",
    "[https://spam.example click]",
    "https://spam.example/free-link",
    "mailto:someone@example.org",
    "__NOTOC__",
    "__NOINDEX__ and __TOC__",
    "<ref>x</ref>",
    "<nowiki>",
    "</nowiki>{{X}}<nowiki>",
    "<!-- hidden -->",
    "<span style='color:red'>red</span>",
    "<script>alert(1)</script>",
    "'''bold''' and ''italic''",
    "== Heading ==",
    "line one\nline two",
    "a\r\nb\rc\n\n\nd",
    "* item",
    "# item",
    "; term : definition",
    ": indented",
    " preformatted",
    "----",
    "-{zh-hans:简;zh-hant:繁}-",
    "ISBN 9780000000000",
    "RFC 1234 and PMID 5678",
    "&lt;ref&gt; already escaped &#91;&#91;",
    "&amp; &nbsp;",
    'say "hi"',
    "తెలుగు వికీపీడియా",
    "ویکی‌پدیای فارسی",
    "العربية | עברית",
    "\u202eevil bidi\u202c",
    "{{subst:X}}\n== Foo ==\n[[Category:Y]] ~~~~",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_inert_round_trips_to_the_one_line_text(text: str) -> None:
    assert html.unescape(inert(text)) == one_line(text)


@pytest.mark.parametrize("text", HOSTILE)
def test_inert_leaves_no_markup_characters(text: str) -> None:
    escaped = inert(text)
    for sequence in ("[[", "]]", "{{", "}}", "[", "]", "{", "}", "|", "<", ">", "~~~", "~"):
        assert sequence not in escaped
    for sequence in ("__", "_", "=", "''", "!", "\n", "\r", "://", "-{"):
        assert sequence not in escaped


@pytest.mark.parametrize("text", HOSTILE)
def test_inert_parses_as_plain_text_only(text: str) -> None:
    # A wikitext parser sees nothing but text and character references.
    nodes = mwparserfromhell.parse(inert(text)).nodes
    assert all(isinstance(node, Text | HTMLEntity) for node in nodes)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a|b", "a&#124;b"),
        ("{{subst:X}}", "&#123;&#123;subst&#58;X&#125;&#125;"),
        ("[[Category:X]]", "&#91;&#91;Category&#58;X&#93;&#93;"),
        ("~~~~", "&#126;&#126;&#126;&#126;"),
        ("__NOTOC__", "&#95;&#95;NOTOC&#95;&#95;"),
        ("<ref>x</ref>", "&#60;ref&#62;x&#60;/ref&#62;"),
        ("a=b", "a&#61;b"),
        ("&lt;", "&amp;lt;"),
        ("''x''", "&#39;&#39;x&#39;&#39;"),
        ("plain text, 42.", "plain text, 42."),
        ("తెలుగు", "తెలుగు"),
    ],
)
def test_inert_exact(text: str, expected: str) -> None:
    assert inert(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("* item", "&#42; item"),
        ("# item", "&#35; item"),
        ("; term", "&#59; term"),
        (": x", "&#58; x"),
        (" pre", "&#32;pre"),
        ("----", "&#45;---"),
        ("a * b # c ; d - e", "a * b # c ; d - e"),  # only the line start matters
    ],
)
def test_inert_escapes_line_start_markup(text: str, expected: str) -> None:
    assert inert(text) == expected


def test_inert_collapses_line_breaks_with_their_whitespace() -> None:
    assert inert("line one\nline two") == "line one line two"
    assert inert("a  \r\n\n  b\rc") == "a b c"
    assert inert("a\u2028b") == "a b"
    assert inert("\n* item") == "&#32;* item"  # the escaped space already ends the line start


def test_inert_stops_magic_links_and_free_urls() -> None:
    assert inert("ISBN 9780000000000").startswith("&#73;SBN ")
    assert "RFC 1" not in inert("see RFC 1234")
    assert "PMID 5" not in inert("PMID 5678")
    assert inert("https://x.example") == "https&#58;//x.example"


def test_inert_keeps_rtl_text_and_joiners() -> None:
    persian = "ویکی\u200cپدیای فارسی"  # with a zero-width non-joiner
    assert inert(persian) == persian


def test_one_line() -> None:
    assert one_line("a\n\n b\t\x00c") == "a b\t c"


def test_title_strips_heading_markup_and_newlines() -> None:
    assert inert_title("== Foo ==") == "Foo"
    assert inert_title("Foo\n== Bar ==") == "Foo &#61;&#61; Bar"
    assert inert_title("=Foo=Bar=") == "Foo&#61;Bar"
    assert inert_title("  Plain title  ") == "Plain title"


def test_title_of_only_equals_signs_keeps_them_escaped() -> None:
    assert inert_title("===") == "&#61;&#61;&#61;"
    assert inert_title("") == ""


def test_title_with_hostile_content() -> None:
    title = inert_title("{{subst:X}} [[Category:X]] ~~~~ __NOTOC__ <ref>x</ref>")
    assert html.unescape(title) == "{{subst:X}} [[Category:X]] ~~~~ __NOTOC__ <ref>x</ref>"
    assert not any(char in title for char in "[]{}|<>~_=")


def test_title_is_capped_with_an_ellipsis() -> None:
    title = inert_title("x" * 300)
    assert html.unescape(title) == "x" * 199 + "…"
    assert inert_title("x" * 200) == "x" * 200
    assert html.unescape(inert_title("ab cd", limit=4)) == "ab…"


def test_title_cap_counts_characters_not_escapes() -> None:
    title = inert_title("|" * 300, limit=10)
    assert html.unescape(title) == "|" * 9 + "…"


def test_title_rtl() -> None:
    assert inert_title("== العربية ==") == "العربية"


def test_title_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="limit"):
        inert_title("x", limit=0)


def test_user_link_plain() -> None:
    assert user_link("Nitesh Gill") == "[[User:Nitesh Gill|Nitesh Gill]]"


def test_user_link_normalises_the_name() -> None:
    assert user_link("nitesh_gill") == "[[User:Nitesh gill|Nitesh gill]]"


def test_user_link_site_prefix() -> None:
    assert user_link("Foo", site_prefix=":te:") == "[[:te:User:Foo|Foo]]"
    assert user_link("Foo", site_prefix="te") == "[[:te:User:Foo|Foo]]"
    assert user_link("Foo", site_prefix=":w:te:") == "[[:w:te:User:Foo|Foo]]"


@pytest.mark.parametrize("prefix", [":te|x:", "[[", ":te:]]", "{{x}}", ":1x:"])
def test_user_link_rejects_bad_prefixes(prefix: str) -> None:
    with pytest.raises(ValueError, match="interwiki prefix"):
        user_link("Foo", site_prefix=prefix)


@pytest.mark.parametrize("name", ["a|b", "x]]", "{{X}}", "A/B", "<b>", ""])
def test_user_link_rejects_invalid_names(name: str) -> None:
    with pytest.raises(InvalidUsername):
        user_link(name)


def test_user_link_escapes_what_a_valid_name_may_still_hold() -> None:
    link = user_link("A~~~~B's = 'x'")
    tildes = "&#126;" * 4
    assert link == f"[[User:A{tildes}B's = 'x'|A{tildes}B&#39;s &#61; &#39;x&#39;]]"
    assert "~~~" not in link


def test_user_link_rtl_and_indic_names() -> None:
    assert user_link("مثال") == "[[User:مثال|مثال]]"
    assert user_link("ఉదాహరణ") == "[[User:ఉదాహరణ|ఉదాహరణ]]"


def test_user_link_ip_and_temporary_accounts() -> None:
    assert user_link("192.0.2.1") == "[[User:192.0.2.1|192.0.2.1]]"
    assert user_link("~2025-12345-67") == "[[User:&#126;2025-12345-67|&#126;2025-12345-67]]"


def test_inert_target() -> None:
    assert inert_target("Train the Trainer 2026/Registration") == (
        "Train the Trainer 2026/Registration"
    )
    assert inert_target("A &amp; B ~~~") == "A &amp;amp; B &#126;&#126;&#126;"
    for bad in ("a|b", "[[x]]", "{{x}}", "<x>", "a\nb", "  "):
        with pytest.raises(ValueError):
            inert_target(bad)
