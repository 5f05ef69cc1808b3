"""Participant list renderings: CSV, JSON, MassMessage lists and wikitext."""

from __future__ import annotations

import csv
import io
import json
import random

import mwparserfromhell
import pytest

from bot.alumni import HistoryEntry, PersonHistory
from bot.exports import (
    CSV_HEADER,
    problems_wikitext,
    to_csv,
    to_json,
    to_massmessage,
    to_wikitext,
)
from bot.models import (
    Participant,
    Problem,
    ProblemKind,
    SignUpKind,
    Status,
    UserInfo,
)
from bot.participants import Compiled, apply_user_info, compile_participants
from tests.unit.factories import su

REG = "Train the Trainer 2026/Registration"
CE = "campaignevents:42"
HOSTILE = "{{subst:X}} [[Category:X]] a|b ~~~~ __NOTOC__ <ref>x</ref>\n== H =="




def small() -> Compiled:
    return compile_participants(
        [
            su("Alice", 3, community="te", region="South Asia", affiliation="CIS-A2K"),
            su(
                "Bob",
                4,
                kind=SignUpKind.SIGNATURE,
                status=Status.WITHDRAWN,
                raw="# [[User:Bob]] ~~~~",
            ),
            su(
                "Alice",
                1,
                source=CE,
                kind=SignUpKind.CAMPAIGNEVENTS,
                status=Status.SELECTED,
                raw="",
            ),
        ]
    )


def hostile() -> Compiled:
    return compile_participants(
        [
            su(
                "Mallory",
                7,
                raw=HOSTILE,
                community=HOSTILE,
                region='=HYPERLINK("http://evil.example")',
                affiliation="+1 | -2 @SUM(A1)",
                note="'''bold''' {| class=x",
            ),
            su("Mallory", 8, community="something else"),  # a duplicate and a conflict
        ]
    )


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --- CSV -----------------------------------------------------------------------------------


def test_csv_header_and_rows() -> None:
    text = to_csv(small())
    assert text.splitlines()[0] == (
        "username,status,statuses,home_wiki,community,region,affiliation,fields,sources,problems"
    )
    assert tuple(text.splitlines()[0].split(",")) == CSV_HEADER
    alice, bob = parse_csv(text)
    assert alice == {
        "username": "Alice",
        "status": "selected",
        "statuses": "registered;selected",
        "home_wiki": "",
        "community": "te",
        "region": "South Asia",
        "affiliation": "CIS-A2K",
        "fields": '{"affiliation": "CIS-A2K", "community": "te", "region": "South Asia"}',
        "sources": f"{REG}:3;{CE}:1",
        "problems": "",
    }
    assert bob["status"] == "withdrawn"
    assert bob["problems"].startswith("withdrawn: Bob withdrew")
    assert text.endswith("\n")


def test_csv_defuses_formulas_and_keeps_line_breaks_inside_cells() -> None:
    (row,) = parse_csv(to_csv(hostile()))
    assert row["region"] == '\'=HYPERLINK("http://evil.example")'
    assert row["affiliation"] == "'+1 | -2 @SUM(A1)"
    assert row["community"] == HOSTILE  # kept exactly, newline included: CSV is data
    assert json.loads(row["fields"])["note"] == "'''bold''' {| class=x"
    assert "duplicate: " in row["problems"] and "conflict: " in row["problems"]


def test_csv_of_nobody_is_just_the_header() -> None:
    assert to_csv(Compiled([], [])) == ",".join(CSV_HEADER) + "\n"


# --- JSON ----------------------------------------------------------------------------------


def test_json_has_participants_and_problems() -> None:
    compiled = apply_user_info(small(), {"Alice": UserInfo(name="Alice", exists=True, user_id=7)})
    data = json.loads(to_json(compiled))
    assert list(data) == ["participants", "problems"]
    alice, bob = data["participants"]
    assert alice["username"] == "Alice"
    assert alice["statuses"] == ["registered", "selected"]
    assert alice["user"]["user_id"] == 7
    assert [s["source"] for s in alice["signups"]] == [REG, CE]
    assert bob["user"] is None
    assert data["problems"] == [
        {
            "kind": "withdrawn",
            "message": f"Bob withdrew ({REG} line 4); kept in the list, not counted.",
            "source": REG,
            "line": 4,
            "username": "Bob",
            "raw": "# [[User:Bob]] ~~~~",
        }
    ]


def test_json_keeps_unicode_readable_and_ends_with_a_newline() -> None:
    text = to_json(compile_participants([su("ఉదాహరణ", 1, community="తెలుగు")]))
    assert "తెలుగు" in text
    assert "\\u" not in text
    assert text.endswith("}\n")
    assert text.startswith('{\n  "participants": [')


# --- MassMessage ---------------------------------------------------------------------------


def test_massmessage_local_wiki_by_default() -> None:
    assert to_massmessage(small().participants) == "{{#target:User talk:Alice}}"


def test_massmessage_sites_from_home_wikis_and_default() -> None:
    compiled = compile_participants(
        [
            su("Alice", 1, home_wiki="tewiki"),
            su("Bob", 2, home_wiki="xxwiki"),
            su("Carol", 3),
            su("Dave", 4, home_wiki="tewiki", status=Status.WITHDRAWN),
        ]
    )
    sites = {"tewiki": "te.wikipedia.org"}
    text = to_massmessage(
        compiled.participants, default_site="meta.wikimedia.org", site_of=sites.get
    )
    assert text.splitlines() == [
        "{{#target:User talk:Alice|te.wikipedia.org}}",
        "{{#target:User talk:Bob|meta.wikimedia.org}}",
        "{{#target:User talk:Carol|meta.wikimedia.org}}",
    ]


def test_massmessage_without_default_leaves_unknown_sites_local() -> None:
    compiled = compile_participants([su("Alice", 1, home_wiki="tewiki"), su("Bob", 2)])
    text = to_massmessage(compiled.participants, site_of={"tewiki": "te.wikipedia.org"}.get)
    assert text == "{{#target:User talk:Alice|te.wikipedia.org}}\n{{#target:User talk:Bob}}"


def test_massmessage_escapes_signature_tildes_in_names() -> None:
    compiled = compile_participants([su("~2025-12345-67", 1), su("A~~~B", 2)])
    assert to_massmessage(compiled.participants).splitlines() == [
        "{{#target:User talk:A&#126;&#126;&#126;B}}",
        "{{#target:User talk:&#126;2025-12345-67}}",
    ]


@pytest.mark.parametrize("site", ["evil}}{{x", "a|b", "te.wikipedia.org]]", "", "UPPER.org"])
def test_massmessage_refuses_bad_sites(site: str) -> None:
    participants = compile_participants([su("Alice", 1)]).participants
    with pytest.raises(ValueError, match="domain"):
        to_massmessage(participants, default_site=site)


def test_massmessage_allows_a_local_sandbox_port() -> None:
    participants = compile_participants([su("Alice", 1)]).participants
    assert to_massmessage(participants, default_site="127.0.0.1:8081") == (
        "{{#target:User talk:Alice|127.0.0.1:8081}}"
    )


@pytest.mark.parametrize("name", ["a|b", "X}}{{Y", "[[Z]]"])
def test_massmessage_refuses_names_that_could_break_the_list(name: str) -> None:
    participant = Participant(
        username=name,
        status=Status.REGISTERED,
        statuses=frozenset({Status.REGISTERED}),
        signups=(),
    )
    with pytest.raises(ValueError, match="cannot deliver"):
        to_massmessage([participant])


def test_massmessage_of_nobody() -> None:
    assert to_massmessage([]) == ""


# --- wikitext ------------------------------------------------------------------------------

EXPECTED_SMALL = """\
'''1''' participant (1 withdrawn).

{| class="wikitable sortable"
|+ Participants
! data-sort-type="number" | #
! Participant
! Community
! Region
! Affiliation
! Status
! Signed up on
|-
| 1
| [[User:Alice|Alice]]
| te
| South Asia
| CIS-A2K
| selected
| [[:Train the Trainer 2026/Registration|Train the Trainer 2026/Registration]], line 3\
<br />CampaignEvents registration 42
|}

{| class="wikitable sortable" style="font-size: 90%;"
|+ Withdrawn
! data-sort-type="number" | #
! Participant
! Signed up on
|-
| 1
| [[User:Bob|Bob]]
| [[:Train the Trainer 2026/Registration|Train the Trainer 2026/Registration]], line 4
|}

{| class="wikitable sortable"
|+ Problems for organisers
! Kind
! Who
! Where
! What
|-
| withdrawn
| [[User:Bob|Bob]]
| [[:Train the Trainer 2026/Registration|Train the Trainer 2026/Registration]], line 4
| Bob withdrew (Train the Trainer 2026/Registration line 4); kept in the list, not counted.\
<br /><code>&#35; &#91;&#91;User&#58;Bob&#93;&#93; &#126;&#126;&#126;&#126;</code>
|}"""


def test_wikitext_exact() -> None:
    assert to_wikitext(small(), now_label="") == EXPECTED_SMALL


def test_wikitext_does_not_contain_the_time_label() -> None:
    # The caller adds its own stamp; a time in the body would make every run an edit.
    label = "Last updated by eventbot: 1 July 2026, 09:00 (Asia/Kolkata)."
    assert to_wikitext(small(), now_label=label) == EXPECTED_SMALL


def test_wikitext_without_label_withdrawals_or_problems() -> None:
    compiled = compile_participants([su("Alice", 3), su("Bob", 5), su("Bob", 2, source=CE)])
    text = to_wikitext(compiled, now_label="")
    assert text.startswith("'''2''' participants.\n\n{| class=\"wikitable sortable\"\n")
    assert "Withdrawn" not in text
    assert "Problems for organisers" not in text
    assert "| 2\n| [[User:Bob|Bob]]\n" in text
    assert f"| [[:{REG}|{REG}]], line 5<br />CampaignEvents registration 42\n" in text


def test_wikitext_groups_lines_of_one_source() -> None:
    compiled = compile_participants([su("Alice", 3), su("Alice", 9)])
    assert f"| [[:{REG}|{REG}]], lines 3, 9\n" in to_wikitext(compiled, now_label="")


def test_wikitext_of_nobody() -> None:
    assert (
        to_wikitext(Compiled([], []), now_label="")
        == "'''0''' participants.\n\nNo one has signed up yet."
    )


def test_wikitext_escapes_every_participant_string() -> None:
    text = to_wikitext(hostile(), now_label="")
    for raw in ("{{", "}}", "[[Category", "~~~", "__NOTOC__", "<ref", "a|b", "== H", "'''bold"):
        assert raw not in text
    assert "&#123;&#123;subst&#58;X&#125;&#125;" in text
    assert "&#91;&#91;Category&#58;X&#93;&#93;" in text
    code = mwparserfromhell.parse(text)
    assert code.filter_templates() == []
    assert code.filter_headings() == []
    assert code.filter_comments() == []
    assert code.filter_external_links() == []
    links = {str(link.title) for link in code.filter_wikilinks()}
    assert links == {"User:Mallory", f":{REG}"}
    tags = {str(tag.tag) for tag in code.filter_tags()}
    assert tags <= {"table", "caption", "tr", "th", "td", "br", "code", "b"}
    # One table row per line: the newline in the field did not break the table.
    assert text.count("\n|-\n") == 3  # one participant, two problems


def test_wikitext_is_deterministic() -> None:
    signups = [
        su("Alice", 3, community="te"),
        su("Bob", 4, status=Status.WITHDRAWN),
        su("Carol", 5, status=Status.SELECTED, affiliation="CIS-A2K"),
        su("dave", 6, region="South Asia"),
        su("Erin", 7),
        su("Erin", 8),
    ]
    first = compile_participants(signups)
    shuffled = list(signups)
    random.Random(4).shuffle(shuffled)
    # Shuffle people, but keep each person's own sign-ups in order (their order decides merges).
    order = {name: index for index, name in enumerate(s.username for s in shuffled)}
    second = compile_participants(sorted(signups, key=lambda s: order[s.username]))
    assert to_wikitext(first, now_label="x") == to_wikitext(first, now_label="x")
    assert to_wikitext(first, now_label="x") == to_wikitext(second, now_label="x")
    assert to_csv(first) == to_csv(second)
    assert to_json(first) == to_json(second)


# --- problems ------------------------------------------------------------------------------


def test_problems_wikitext_empty() -> None:
    assert problems_wikitext([]) == ""


def test_problems_wikitext_handles_problems_without_user_or_place() -> None:
    problems = [
        Problem(ProblemKind.SOURCE_ERROR, "Page [[X]] could not be read"),
        Problem(ProblemKind.INVALID_NAME, "bad name", REG, 12, username="a|b", raw="x" * 400),
        Problem(ProblemKind.UNPARSEABLE, "no user", CE, None),
    ]
    text = problems_wikitext(problems)
    rows = text.split("\n|-\n")[1:]
    assert rows[0] == "| source-error\n| —\n| —\n| Page &#91;&#91;X&#93;&#93; could not be read"
    assert rows[1].startswith(
        f"| invalid-name\n| a&#124;b\n| [[:{REG}|{REG}]], line 12\n| bad name"
    )
    assert "x" * 149 + "…</code>" in rows[1]
    assert "x" * 150 not in rows[1]
    assert rows[2] == "| unparseable\n| —\n| CampaignEvents registration 42\n| no user\n|}"


# --- alumni history ---------------------------------------------------------------------------


def past() -> dict[str, PersonHistory]:
    entries = (HistoryEntry("ttt-2023", "2023", Status.ATTENDED),
               HistoryEntry("ttt-2024", "2024", Status.REGISTERED))
    return {"Alice": PersonHistory("Alice", entries, "TTT"),
            "Mallory": PersonHistory("Mallory", (HistoryEntry("ttt-2024", "2024", Status.ATTENDED),),
                                     "[[Category:X]]")}


def test_history_column_in_every_format() -> None:
    compiled = compile_participants([su("Alice", 3), su("Carol", 4), su("Mallory", 5)])
    text = to_wikitext(compiled, now_label="", history=past())
    assert "! Signed up on\n! Earlier iterations\n" in text
    assert f"| [[:{REG}|{REG}]], line 3\n| attended TTT 2023, applied 2024\n" in text
    assert f"| [[:{REG}|{REG}]], line 4\n| first time\n" in text
    assert "[[Category:X]]" not in text  # the sentence is escaped like any other cell
    rows = parse_csv(to_csv(compiled, past()))
    assert [row["history"] for row in rows][:2] == ["attended TTT 2023, applied 2024", "first time"]
    data = json.loads(to_json(compiled, past()))
    assert data["participants"][0]["history"] == [
        {"event": "ttt-2023", "label": "2023", "status": "attended"},
        {"event": "ttt-2024", "label": "2024", "status": "registered"}]
    assert data["participants"][1]["history"] == []


def test_no_history_column_without_a_programme() -> None:
    compiled = compile_participants([su("Alice", 3)])
    assert "Earlier iterations" not in to_wikitext(compiled, now_label="")
    assert "history" not in to_csv(compiled).splitlines()[0]
    assert "history" not in json.loads(to_json(compiled))["participants"][0]
