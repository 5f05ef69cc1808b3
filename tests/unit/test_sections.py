"""Bot-owned sections: the bot's text changes, the humans' text never does."""

from __future__ import annotations

import pytest

from bot import sections

HUMAN = "Intro by a human.\n\n== Notes ==\nKeep this [[exactly]] as it is.  \n"


def test_appends_markers_once_leaving_human_text_intact() -> None:
    text = sections.replace(HUMAN, "report", "Body")
    assert text.startswith(HUMAN)
    assert text.endswith("<!-- eventbot:start:report -->\nBody\n<!-- eventbot:end:report -->\n")
    again = sections.replace(text, "report", "New body")
    assert again.startswith(HUMAN)
    assert again.count("eventbot:start:report") == 1
    assert sections.extract(again, "report") == "New body"


def test_replaces_only_between_markers() -> None:
    text = ("Top\n<!-- eventbot:start:a -->\nold\n<!-- eventbot:end:a -->\nMiddle\n"
            "<!-- eventbot:start:b -->\nkeep b\n<!-- eventbot:end:b -->\nBottom")
    new = sections.replace(text, "a", "new")
    assert new == text.replace("\nold\n", "\nnew\n")


def test_empty_page() -> None:
    assert sections.replace("", "x", "y") == "<!-- eventbot:start:x -->\ny\n<!-- eventbot:end:x -->\n"


@pytest.mark.parametrize("text", [
    "<!-- eventbot:start:a -->\nno end",
    "no start\n<!-- eventbot:end:a -->",
    "<!-- eventbot:start:a -->x<!-- eventbot:end:a --><!-- eventbot:start:a -->",
    "<!-- eventbot:end:a -->x<!-- eventbot:start:a -->",
])
def test_broken_markers_are_never_guessed(text: str) -> None:
    with pytest.raises(sections.SectionError, match="Some page"):
        sections.replace(text, "a", "body", "Some page")


def test_stamp_differences_are_not_changes() -> None:
    old = "table\n" + sections.stamp("Last updated 1 July")
    new = "table\n" + sections.stamp("Last updated 2 July")
    assert sections.same_content(old, new)
    assert not sections.same_content(old, "other table\n" + sections.stamp("x"))
    assert not sections.same_content(None, new)


def test_section_names_are_restricted() -> None:
    with pytest.raises(ValueError):
        sections.replace("", "bad name -->", "x")
