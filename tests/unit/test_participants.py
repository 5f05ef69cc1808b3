"""Merging sign-ups into participants, and validating them against account data."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

from bot.models import (
    Participant,
    Problem,
    ProblemKind,
    SignUpKind,
    Status,
    UserInfo,
)
from bot.participants import (
    NOT_GIVEN,
    Compiled,
    apply_user_info,
    by_community,
    compile_participants,
    summary,
)
from tests.unit.factories import su

REG = "Train the Trainer 2026/Registration"
CE = "campaignevents:42"




def kinds(problems: list[Problem]) -> list[ProblemKind]:
    return [problem.kind for problem in problems]


def only(compiled: Compiled) -> Participant:
    assert len(compiled.participants) == 1
    return compiled.participants[0]


# --- compile ---------------------------------------------------------------------------------


def test_one_person_in_two_sources_is_one_participant_without_problems() -> None:
    page = su("Alice", 3, community="te")
    campaign = su("Alice", 1, source=CE, kind=SignUpKind.CAMPAIGNEVENTS)
    compiled = compile_participants([page, campaign])
    alice = only(compiled)
    assert alice.username == "Alice"
    assert alice.signups == (page, campaign)
    assert alice.fields == {"community": "te"}
    assert compiled.problems == []


def test_usernames_are_normalised_again_before_grouping() -> None:
    compiled = compile_participants([su("alice_smith", 1), su("Alice smith", 2, source=CE)])
    assert only(compiled).username == "Alice smith"


def test_participants_are_sorted_case_insensitively_and_deterministically() -> None:
    names = ["Zed", "bob", "Alice", "AB", "Ab", "Émile"]
    compiled = compile_participants(su(name, i) for i, name in enumerate(names))
    assert [p.username for p in compiled.participants] == [
        "AB",
        "Ab",
        "Alice",
        "Bob",
        "Zed",
        "Émile",
    ]
    reverse = compile_participants(su(name, i) for i, name in enumerate(reversed(names)))
    assert [p.username for p in reverse.participants] == [p.username for p in compiled.participants]


def test_status_is_the_strongest_and_statuses_keeps_all() -> None:
    compiled = compile_participants(
        [
            su("Alice", 1, section="Participants"),
            su("Alice", 9, section="Waitlist", status=Status.WAITLISTED),
            su("Alice", 5, section="Selected participants", status=Status.SELECTED),
        ]
    )
    alice = only(compiled)
    assert alice.status is Status.SELECTED
    assert alice.statuses == {Status.REGISTERED, Status.WAITLISTED, Status.SELECTED}
    assert compiled.problems == []  # different sections of one page are not duplicates


def test_attended_beats_everything() -> None:
    compiled = compile_participants(
        [su("Alice", 1, status=Status.SELECTED), su("Alice", 1, source=CE, status=Status.ATTENDED)]
    )
    assert only(compiled).status is Status.ATTENDED


def test_withdrawn_everywhere_is_withdrawn_with_an_informational_problem() -> None:
    compiled = compile_participants(
        [
            su("Alice", 4, status=Status.WITHDRAWN),
            su("Alice", 2, source=CE, status=Status.WITHDRAWN),
        ]
    )
    alice = only(compiled)
    assert alice.status is Status.WITHDRAWN
    assert not alice.active
    assert kinds(compiled.problems) == [ProblemKind.WITHDRAWN]
    problem = compiled.problems[0]
    assert problem.username == "Alice"
    assert (problem.source, problem.line) == (REG, 4)
    assert "not counted" in problem.message


def test_struck_then_signed_again_on_the_same_page_counts_and_is_no_problem() -> None:
    compiled = compile_participants(
        [su("Alice", 3, status=Status.WITHDRAWN), su("Alice", 10, status=Status.REGISTERED)]
    )
    alice = only(compiled)
    assert alice.status is Status.REGISTERED
    assert alice.statuses == {Status.WITHDRAWN, Status.REGISTERED}
    assert compiled.problems == []


def test_withdrawn_in_one_source_but_signed_up_in_another_is_flagged() -> None:
    compiled = compile_participants(
        [su("Alice", 3, status=Status.WITHDRAWN), su("Alice", 1, source=CE, status=Status.SELECTED)]
    )
    assert only(compiled).status is Status.SELECTED
    assert kinds(compiled.problems) == [ProblemKind.WITHDRAWN]
    message = compiled.problems[0].message
    assert f"{REG} line 3" in message
    assert f"{CE} line 1" in message
    assert "counted as selected" in message


def test_fields_first_non_empty_value_wins() -> None:
    compiled = compile_participants(
        [
            su("Alice", 1, community="", region="South Asia"),
            su("Alice", 2, source=CE, community="te", affiliation="CIS-A2K"),
        ]
    )
    assert only(compiled).fields == {
        "community": "te",
        "region": "South Asia",
        "affiliation": "CIS-A2K",
    }


def test_values_equal_after_folding_case_and_spaces_do_not_conflict() -> None:
    compiled = compile_participants(
        [
            su("Alice", 1, community="Telugu  Wikipedia"),
            su("Alice", 2, source=CE, community=" telugu wikipedia"),
        ]
    )
    assert only(compiled).fields["community"] == "Telugu  Wikipedia"
    assert compiled.problems == []


def test_conflicting_values_are_reported_with_both_values_and_places() -> None:
    compiled = compile_participants(
        [su("Alice", 3, community="Telugu"), su("Alice", 1, source=CE, community="Tamil")]
    )
    assert only(compiled).fields["community"] == "Telugu"
    assert kinds(compiled.problems) == [ProblemKind.CONFLICT]
    problem = compiled.problems[0]
    assert problem.username == "Alice"
    assert (problem.source, problem.line) == (CE, 1)
    for part in ("community", "'Telugu'", "'Tamil'", f"{REG} line 3", f"{CE} line 1"):
        assert part in problem.message


def test_each_conflicting_value_is_reported_once() -> None:
    compiled = compile_participants(
        [
            su("Alice", 1, community="Telugu"),
            su("Alice", 2, source=CE, community="Tamil"),
            su("Alice", 3, source="Other page", community="tamil"),
        ]
    )
    assert kinds(compiled.problems) == [ProblemKind.CONFLICT]


def test_withdrawn_sign_ups_neither_win_nor_conflict() -> None:
    # Struck out with an old value, then signed again with the corrected one.
    compiled = compile_participants(
        [
            su("Alice", 3, status=Status.WITHDRAWN, community="Tamil", region="South"),
            su("Alice", 10, community="Telugu"),
        ]
    )
    alice = only(compiled)
    assert alice.fields == {"community": "Telugu", "region": "South"}  # gaps are still filled
    assert compiled.problems == []


def test_home_wiki_first_given_wins_and_conflicts_are_reported() -> None:
    compiled = compile_participants(
        [
            su("Alice", 1),
            su("Alice", 2, source=CE, home_wiki="tewiki"),
            su("Alice", 3, source="Other", home_wiki="TEWIKI"),
            su("Alice", 4, source="Third", home_wiki="tawiki"),
        ]
    )
    assert only(compiled).home_wiki == "tewiki"
    assert kinds(compiled.problems) == [ProblemKind.CONFLICT]
    assert "'tewiki'" in compiled.problems[0].message
    assert "'tawiki'" in compiled.problems[0].message


def test_signing_twice_in_one_place_is_a_duplicate_naming_both_lines() -> None:
    first = su("Alice", 3)
    second = su("Alice", 9)
    compiled = compile_participants([first, second])
    alice = only(compiled)
    assert alice.signups == (first, second)
    assert kinds(compiled.problems) == [ProblemKind.DUPLICATE]
    problem = compiled.problems[0]
    assert (problem.source, problem.line, problem.username) == (REG, 9, "Alice")
    assert "lines 3 and 9" in problem.message


def test_same_line_read_by_two_formats_is_not_a_duplicate() -> None:
    template = su("Alice", 3, kind=SignUpKind.TEMPLATE)
    signature = su("Alice", 3, kind=SignUpKind.SIGNATURE)
    compiled = compile_participants([template, signature])
    assert compiled.problems == []
    assert only(compiled).signups == (template, signature)


def test_signing_in_two_sources_is_not_a_duplicate() -> None:
    compiled = compile_participants(
        [su("Alice", 3), su("Alice", 3, source=CE, kind=SignUpKind.CAMPAIGNEVENTS)]
    )
    assert compiled.problems == []


def test_three_sign_ups_in_one_place_give_two_duplicates() -> None:
    compiled = compile_participants([su("Alice", 1), su("Alice", 2), su("Alice", 3)])
    assert kinds(compiled.problems) == [ProblemKind.DUPLICATE, ProblemKind.DUPLICATE]
    assert "lines 1 and 2" in compiled.problems[0].message
    assert "lines 1 and 3" in compiled.problems[1].message


def test_input_problems_pass_through_first() -> None:
    parse_problem = Problem(ProblemKind.UNPARSEABLE, "no user on this line", REG, 7, raw="# hello")
    compiled = compile_participants([su("Alice", 1), su("Alice", 2)], [parse_problem])
    assert compiled.problems[0] is parse_problem
    assert kinds(compiled.problems) == [ProblemKind.UNPARSEABLE, ProblemKind.DUPLICATE]


def test_nobody_is_lost() -> None:
    signups = [
        su(name, line, source=source, status=status)
        for line, (name, source, status) in enumerate(
            [
                ("Alice", REG, Status.REGISTERED),
                ("bob", REG, Status.WITHDRAWN),
                ("Bob", CE, Status.WITHDRAWN),
                ("Carol", REG, Status.SELECTED),
                ("alice", CE, Status.ATTENDED),
                ("Dave", "Other", Status.WAITLISTED),
                ("Carol", REG, Status.REGISTERED),
            ]
        )
    ]
    compiled = compile_participants(signups)
    seen = Counter(id(signup) for p in compiled.participants for signup in p.signups)
    assert sorted(seen) == sorted(id(signup) for signup in signups)
    assert set(seen.values()) == {1}
    assert [p.username for p in compiled.participants] == ["Alice", "Bob", "Carol", "Dave"]


def test_empty_input() -> None:
    assert compile_participants([]) == Compiled([], [])


# --- apply_user_info -------------------------------------------------------------------------


def info(name: str, **changes: Any) -> UserInfo:
    return replace(UserInfo(name=name, exists=True, user_id=1, editcount=10), **changes)


def test_user_info_is_attached_and_missing_users_stay_unvalidated() -> None:
    compiled = compile_participants([su("Alice", 1), su("Bob", 2)])
    alice_info = info("Alice")
    result = apply_user_info(compiled, {"Alice": alice_info})
    alice, bob = result.participants
    assert alice.user == alice_info
    assert bob.user is None
    assert result.problems == []


def test_renamed_account_is_listed_under_the_new_name() -> None:
    compiled = compile_participants([su("Old name", 4, community="te")])
    # As the wiki client reports it: the old name maps to the new account.
    new_info = info("New name", renamed_to="New name")
    result = apply_user_info(compiled, {"Old name": new_info})
    participant = only(result)
    assert participant.username == "New name"
    assert participant.user == new_info
    assert participant.fields == {"community": "te"}
    assert kinds(result.problems) == [ProblemKind.RENAMED]
    problem = result.problems[0]
    assert problem.username == "New name"
    assert "Old name was renamed to New name" in problem.message
    assert (problem.source, problem.line) == (REG, 4)


def test_new_name_looked_up_itself_is_preferred() -> None:
    compiled = compile_participants([su("Old", 1)])
    old_info = UserInfo(name="Old", exists=False, renamed_to="New")
    new_info = info("New", editcount=99)
    result = apply_user_info(compiled, {"Old": old_info, "New": new_info})
    assert only(result).user == new_info
    assert kinds(result.problems) == [ProblemKind.RENAMED]  # not UNKNOWN_USER


def test_rename_merges_into_an_existing_participant() -> None:
    old_line = su("Old", 2, community="te", region="South Asia")
    old_again = su("Old", 5)  # a duplicate under the old name
    new_entry = su(
        "New",
        1,
        source=CE,
        kind=SignUpKind.CAMPAIGNEVENTS,
        status=Status.SELECTED,
        community="Telugu",
    )
    compiled = compile_participants([old_line, old_again, new_entry, su("Carol", 3)])
    assert [p.username for p in compiled.participants] == ["Carol", "New", "Old"]
    assert kinds(compiled.problems) == [ProblemKind.DUPLICATE]

    new_info = info("New")
    users = {"Old": info("New", renamed_to="New"), "New": new_info, "Carol": info("Carol")}
    result = apply_user_info(compiled, users)

    assert [p.username for p in result.participants] == ["Carol", "New"]
    merged = result.participants[1]
    # The person already holding the name comes first, so their values win.
    assert merged.signups == (new_entry, old_line, old_again)
    assert merged.status is Status.SELECTED
    assert merged.statuses == {Status.SELECTED, Status.REGISTERED}
    assert merged.fields == {"community": "Telugu", "region": "South Asia"}
    assert merged.user == new_info
    # Sign-up problems are rebuilt under the new name; nothing still names the old one.
    assert kinds(result.problems) == [
        ProblemKind.DUPLICATE,
        ProblemKind.CONFLICT,
        ProblemKind.RENAMED,
    ]
    assert all(problem.username == "New" for problem in result.problems)
    assert "lines 2 and 5" in result.problems[0].message
    assert "'Telugu'" in result.problems[1].message and "'te'" in result.problems[1].message
    assert "merged with the sign-up(s) already under New" in result.problems[2].message


def test_rename_keeps_unrelated_input_problems() -> None:
    parse_problem = Problem(ProblemKind.UNPARSEABLE, "no user", REG, 9)
    compiled = compile_participants([su("Old", 1)], [parse_problem])
    result = apply_user_info(compiled, {"Old": info("New", renamed_to="New")})
    assert result.problems[0] is parse_problem
    assert kinds(result.problems) == [ProblemKind.UNPARSEABLE, ProblemKind.RENAMED]


def test_rename_chains_are_followed() -> None:
    compiled = compile_participants([su("A", 1), su("C", 2, source=CE)])
    users = {
        "A": UserInfo(name="A", exists=False, renamed_to="B"),
        "B": UserInfo(name="B", exists=False, renamed_to="c"),
        "C": info("C"),
    }
    result = apply_user_info(compiled, users)
    participant = only(result)
    assert participant.username == "C"
    assert kinds(result.problems) == [ProblemKind.RENAMED]
    assert "A was renamed to C (via B)" in result.problems[0].message


def test_rename_cycles_do_not_hang() -> None:
    compiled = compile_participants([su("A", 1)])
    users = {
        "A": UserInfo(name="A", exists=False, renamed_to="B"),
        "B": UserInfo(name="B", exists=False, renamed_to="A"),
    }
    result = apply_user_info(compiled, users)
    assert only(result).username == "B"


def test_two_old_names_renamed_to_one_new_name_merge() -> None:
    compiled = compile_participants([su("Old one", 1), su("Old two", 2, source=CE)])
    users = {
        "Old one": info("New", renamed_to="New"),
        "Old two": info("New", renamed_to="New"),
    }
    result = apply_user_info(compiled, users)
    assert only(result).username == "New"
    assert len(only(result).signups) == 2
    assert kinds(result.problems) == [ProblemKind.RENAMED, ProblemKind.RENAMED]
    assert "merged" not in result.problems[0].message


def test_unknown_user() -> None:
    compiled = compile_participants([su("Nobody", 6)])
    result = apply_user_info(compiled, {"Nobody": UserInfo(name="Nobody", exists=False)})
    assert only(result).user is not None
    assert kinds(result.problems) == [ProblemKind.UNKNOWN_USER]
    assert (result.problems[0].source, result.problems[0].line) == (REG, 6)
    assert result.problems[0].username == "Nobody"


def test_ip_address_is_reported_as_such_not_as_unknown() -> None:
    compiled = compile_participants([su("192.0.2.1", 1)])
    users = {"192.0.2.1": UserInfo(name="192.0.2.1", exists=False, is_ip=True)}
    result = apply_user_info(compiled, users)
    assert kinds(result.problems) == [ProblemKind.IP_ADDRESS]
    assert "IP address" in result.problems[0].message


def test_temporary_account() -> None:
    compiled = compile_participants([su("~2025-12345-67", 1)])
    users = {"~2025-12345-67": info("~2025-12345-67", is_temp=True)}
    result = apply_user_info(compiled, users)
    assert kinds(result.problems) == [ProblemKind.IP_ADDRESS]
    assert "temporary account" in result.problems[0].message


def test_blocked_and_bot_accounts_stay_listed_with_problems() -> None:
    compiled = compile_participants([su("Blocked", 1), su("Helper bot", 2), su("Fine", 3)])
    users = {
        "Blocked": info("Blocked", blocked=True),
        "Helper bot": info("Helper bot", groups=("bot",)),
        "Fine": info("Fine", groups=("sysop",)),
    }
    result = apply_user_info(compiled, users)
    assert [p.username for p in result.participants] == ["Blocked", "Fine", "Helper bot"]
    assert [(p.kind, p.username) for p in result.problems] == [
        (ProblemKind.BLOCKED, "Blocked"),
        (ProblemKind.BOT_ACCOUNT, "Helper bot"),
    ]


def test_validation_problems_follow_sign_up_problems() -> None:
    compiled = compile_participants([su("Alice", 1), su("Alice", 2)])
    result = apply_user_info(compiled, {"Alice": info("Alice", blocked=True)})
    assert kinds(result.problems) == [ProblemKind.DUPLICATE, ProblemKind.BLOCKED]


# --- summary and communities -----------------------------------------------------------------


def test_summary_counts_every_status() -> None:
    compiled = compile_participants(
        [
            su("A", 1),
            su("B", 2, status=Status.SELECTED),
            su("C", 3, status=Status.SELECTED),
            su("D", 4, status=Status.WITHDRAWN),
        ]
    )
    assert summary(compiled) == {
        "registered": 1,
        "waitlisted": 0,
        "selected": 2,
        "attended": 0,
        "withdrawn": 1,
        "active": 3,
        "total": 4,
        "problems": 1,
    }


def test_by_community_counts_active_participants_only() -> None:
    compiled = compile_participants(
        [
            su("A", 1, community="Telugu"),
            su("B", 2, community="telugu "),
            su("C", 3, community="Odia"),
            su("D", 4, home_wiki="orwiki"),
            su("E", 5, community="Bengali"),
            su("F", 6),
            su("G", 7, community="Odia"),
            su("H", 8, community="Tamil", status=Status.WITHDRAWN),
        ]
    )
    assert by_community(compiled.participants) == [
        ("Odia", 2),
        ("Telugu", 2),
        (NOT_GIVEN, 1),
        ("Bengali", 1),
        ("orwiki", 1),
    ]


def test_by_community_uses_the_most_common_spelling() -> None:
    compiled = compile_participants(
        [su("A", 1, community="odia"), su("B", 2, community="Odia"), su("C", 3, community="Odia")]
    )
    assert by_community(compiled.participants) == [("Odia", 3)]


def test_by_community_of_nobody() -> None:
    assert by_community([]) == []
