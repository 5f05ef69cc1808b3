"""The state database (runs, contributions cache, fetch marks, delivery ledger, locks), the same
tests on SQLite and on a real MariaDB (ToolsDB is MariaDB).

`db_url` (tests/conftest.py) runs each test on both backends, each starting with no tables.
MariaDB's usual collations compare text case- and accent-insensitively and treat every emoji as
equal; usernames and titles are case-sensitive on a wiki, so the keys must compare exactly.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.models import Contribution
from bot.store import LockHeld, Store

IST = timezone(timedelta(hours=5, minutes=30))
WIKI = "tewiki"
T0 = datetime(2026, 7, 1, 3, 30, tzinfo=UTC)

#: Usernames that are all different on a wiki. Pairs differ only in letter case, only in an accent
#: or combining mark (Telugu virama, Bengali hasant), or only in an emoji (4 bytes in UTF-8).
USERS = [
    "శ్రీనివాస్ తెలుగు", "శ్రీనివాస తెలుగు",
    "সৌরভ দাস", "সৌরভ্ দাস",
    "Иван Петров", "Иван петров",
    "Nitesh Gill", "Nitesh gill",
    "José", "Jose",
    "Ravi 😀", "Ravi 😃",
]


def contribution(user: str, revid: int, when: datetime, *, wiki: str = WIKI, title: str = "Page",
                 **extra: object) -> Contribution:
    return Contribution(wiki=wiki, user=user, revid=revid, timestamp=when, namespace=0, title=title,
                        size_change=10, page_id=revid * 10, **extra)  # type: ignore[arg-type]


def assert_aware_utc(value: datetime) -> None:
    assert value.tzinfo is not None and value.utcoffset() == timedelta(0), value


# -- runs -----------------------------------------------------------------------------------------


def test_runs_round_trip(db_url: str) -> None:
    store = Store(db_url)
    run_id = store.start_run("ttt-2026", "run", T0.astimezone(IST))
    assert store.runs("ttt-2026")[0].status == "running"
    store.finish_run(run_id, "ok", {"posted": 2, "unchanged": 0})
    record = store.runs("ttt-2026")[0]
    assert record.id == run_id and record.status == "ok" and record.now == T0
    assert record.counts == {"posted": 2, "unchanged": 0}
    assert record.finished is not None and record.finished >= record.started
    for value in (record.now, record.started, record.finished):
        assert_aware_utc(value)
    assert store.runs("other") == []


def test_runs_newest_first_per_event(db_url: str) -> None:
    store = Store(db_url)
    ids = [store.start_run(event, "stats", T0) for event in ("a", "b", "a", "a")]
    store.finish_run(ids[0], "crashed", {}, detail="RuntimeError: తెలుగు 😀")
    assert [r.id for r in store.runs("a")] == [ids[3], ids[2], ids[0]]
    assert [r.id for r in store.runs("a", limit=2)] == [ids[3], ids[2]]
    assert [r.id for r in store.runs(limit=10)] == ids[::-1]
    assert store.runs("a")[-1].detail == "RuntimeError: తెలుగు 😀"


def test_tables_survive_a_second_store(db_url: str) -> None:
    Store(db_url).start_run("x", "run", T0)
    assert [r.event for r in Store(db_url).runs()] == ["x"]  # create_all leaves existing tables


# -- contributions ------------------------------------------------------------------------------


def test_save_contributions_is_idempotent(db_url: str) -> None:
    store = Store(db_url)
    first = [contribution("Alice", 1, T0), contribution("Alice", 2, T0 + timedelta(hours=1))]
    assert store.save_contributions(first) == 2
    assert store.save_contributions(first) == 0
    assert store.save_contributions([*first, contribution("Bob", 3, T0), first[0]]) == 1
    assert store.save_contributions([]) == 0
    # The same revision id on another wiki is another contribution.
    assert store.save_contributions([contribution("Alice", 1, T0, wiki="metawiki")]) == 1
    found = store.load_contributions(WIKI, ["Alice", "Bob"], T0, T0 + timedelta(days=1))
    assert sorted(c.revid for c in found) == [1, 2, 3]


def test_contributions_round_trip_every_field(db_url: str) -> None:
    store = Store(db_url)
    saved = [
        contribution("Alice", 2**40, T0, created=True, redirect=True),
        Contribution(wiki=WIKI, user="Alice", revid=7, timestamp=T0.astimezone(IST), namespace=118,
                     title="Draft:ఒక పేజీ", size_change=-12345, created=False, redirect=False,
                     page_id=2**35),
    ]
    store.save_contributions(saved)
    found = sorted(store.load_contributions(WIKI, ["Alice"], T0, T0 + timedelta(seconds=1)),
                   key=lambda c: c.revid)
    assert found == sorted([saved[0], replace(saved[1], timestamp=T0)], key=lambda c: c.revid)
    for c in found:
        assert_aware_utc(c.timestamp)
        assert type(c.created) is bool and type(c.redirect) is bool


def test_load_contributions_range_is_start_inclusive_end_exclusive(db_url: str) -> None:
    store = Store(db_url)
    start, end = T0, T0 + timedelta(days=7)
    second = timedelta(seconds=1)
    store.save_contributions([
        contribution("Alice", 1, start - second),  # before
        contribution("Alice", 2, start),  # first second in
        contribution("Alice", 3, end - second),  # last second in
        contribution("Alice", 4, end),  # after
        contribution("Bob", 5, start),  # someone else
        contribution("Alice", 6, start, wiki="metawiki"),  # another wiki
    ])
    found = store.load_contributions(WIKI, ["Alice"], start, end)
    assert sorted(c.revid for c in found) == [2, 3]
    # The same instants given in another time zone select the same rows.
    found = store.load_contributions(WIKI, ["Alice", "Bob"], start.astimezone(IST), end.astimezone(IST))
    assert sorted(c.revid for c in found) == [2, 3, 5]
    assert store.load_contributions(WIKI, [], start, end) == []


def test_many_users_and_contributions_in_chunks(db_url: str) -> None:
    store = Store(db_url)
    users = [f"User {i} తెలుగు" for i in range(1203)]
    items = [contribution(user, i + 1, T0 + timedelta(minutes=i)) for i, user in enumerate(users)]
    assert store.save_contributions(items) == len(items)
    assert store.save_contributions(items) == 0
    found = store.load_contributions(WIKI, users, T0, T0 + timedelta(days=2))
    assert sorted(c.revid for c in found) == list(range(1, 1204))
    store.set_fetch_marks(WIKI, users, T0, T0 + timedelta(days=1))
    assert set(store.fetch_marks(WIKI, users)) == set(users)


def test_long_titles(db_url: str) -> None:
    store = Store(db_url)
    telugu = ("తెలుగు" * 50)[:255]  # 255 characters, 765 bytes in UTF-8
    assert len(telugu) == 255 and len(telugu.encode()) == 765
    longest = "😀" * 512  # the column's full length, 2048 bytes in UTF-8
    store.save_contributions([contribution("Alice", 1, T0, title=telugu),
                              contribution("Alice", 2, T0, title=longest)])
    found = {c.revid: c.title for c in store.load_contributions(WIKI, ["Alice"], T0, T0 + timedelta(1))}
    assert found == {1: telugu, 2: longest}


# -- fetch marks --------------------------------------------------------------------------------


def test_fetch_marks_round_trip_and_replace(db_url: str) -> None:
    store = Store(db_url)
    assert store.fetch_marks(WIKI, ["Alice"]) == {}
    store.set_fetch_marks(WIKI, ["Alice", "Bob"], T0.astimezone(IST), T0 + timedelta(days=1))
    store.set_fetch_marks("metawiki", ["Alice"], T0, T0 + timedelta(days=9))
    marks = store.fetch_marks(WIKI, ["Alice", "Bob", "Carol"])
    assert set(marks) == {"Alice", "Bob"}
    assert marks["Alice"].fetched_from == T0 and marks["Alice"].fetched_until == T0 + timedelta(days=1)
    assert marks["Alice"].wiki == WIKI and marks["Alice"].user == "Alice"
    assert_aware_utc(marks["Alice"].fetched_from)
    assert_aware_utc(marks["Alice"].fetched_until)
    store.set_fetch_marks(WIKI, ["Bob"], T0, T0 + timedelta(days=2))  # Bob moves on, Alice stays
    marks = store.fetch_marks(WIKI, ["Alice", "Bob"])
    assert marks["Alice"].fetched_until == T0 + timedelta(days=1)
    assert marks["Bob"].fetched_until == T0 + timedelta(days=2)
    assert store.fetch_marks("metawiki", ["Alice"])["Alice"].fetched_until == T0 + timedelta(days=9)


def test_datetimes_keep_microseconds(db_url: str) -> None:
    """What goes in comes back: a fetch mark rounded to the second claims time it never fetched."""
    store = Store(db_url)
    precise = datetime(2026, 7, 1, 3, 30, 15, 654321, tzinfo=UTC)
    store.set_fetch_marks(WIKI, ["Alice"], precise, precise + timedelta(hours=1))
    mark = store.fetch_marks(WIKI, ["Alice"])["Alice"]
    assert (mark.fetched_from, mark.fetched_until) == (precise, precise + timedelta(hours=1))
    store.save_contributions([contribution("Alice", 1, precise)])
    assert [c.timestamp for c in store.load_contributions(WIKI, ["Alice"], precise, precise + timedelta(1))] \
        == [precise]
    run_id = store.start_run("ttt", "run", precise)
    assert [r.now for r in store.runs("ttt") if r.id == run_id] == [precise]


# -- delivery ledger and locks ------------------------------------------------------------------


def test_ledger_records_intent_then_result(db_url: str) -> None:
    store = Store(db_url)
    store.record_delivery("ttt-2026/feedback", "శ్రీనివాస్ తెలుగు", wiki="metawiki",
                          title="User talk:శ్రీనివాస్ తెలుగు", state="intent")
    assert store.deliveries("ttt-2026/feedback")["శ్రీనివాస్ తెలుగు"].state == "intent"
    store.record_delivery("ttt-2026/feedback", "శ్రీనివాస్ తెలుగు", wiki="metawiki",
                          title="User talk:శ్రీనివాస్ తెలుగు", state="posted", revid=42, language="te")
    row = store.deliveries("ttt-2026/feedback")["శ్రీనివాస్ తెలుగు"]
    assert (row.state, row.revid, row.language) == ("posted", 42, "te")
    assert row.title == "User talk:శ్రీనివాస్ తెలుగు"
    assert_aware_utc(row.updated)
    assert store.deliveries("other") == {}
    with pytest.raises(ValueError, match="unknown delivery state"):
        store.record_delivery("ttt-2026/feedback", "X", wiki="metawiki", title="User talk:X", state="sent")
    assert store.forget_deliveries("ttt-2026/feedback") == 1
    assert store.deliveries("ttt-2026/feedback") == {}


def test_ledger_rewriting_the_same_row_keeps_one_row(db_url: str) -> None:
    """An update that changes nothing still counts as found (MariaDB reports changed rows unless
    the client asks for found rows): it must not fall through to a duplicate insert."""
    store = Store(db_url)
    for _ in range(3):
        store.record_delivery("c", "Alice", wiki="metawiki", title="User talk:Alice", state="skipped",
                              detail="nobots")
    assert list(store.deliveries("c")) == ["Alice"]
    store.record_delivery("c", "Bob", wiki="metawiki", title="User talk:Bob", state="intent")
    assert store.forget_deliveries("c", ["Bob", "Nobody"]) == 1
    assert list(store.deliveries("c")) == ["Alice"]


def test_lock_one_holder_at_a_time(db_url: str) -> None:
    store = Store(db_url)
    store.acquire_lock("campaign:x", "host:1", timedelta(minutes=5))
    with pytest.raises(LockHeld, match="held by host:1"):
        store.acquire_lock("campaign:x", "host:2", timedelta(minutes=5))
    store.acquire_lock("campaign:y", "host:2", timedelta(minutes=5))  # another lock is free
    # A holder known to be dead (a killed process) is taken over at once.
    store.acquire_lock("campaign:x", "host:2", timedelta(minutes=5), is_dead=lambda owner: owner == "host:1")
    assert not store.refresh_lock("campaign:x", "host:1", timedelta(minutes=5))
    assert store.refresh_lock("campaign:x", "host:2", timedelta(minutes=5))
    assert store.refresh_lock("campaign:x", "host:2", timedelta(minutes=5))  # twice in a second
    store.release_lock("campaign:x", "host:2")
    store.acquire_lock("campaign:x", "host:3", timedelta(seconds=-1))  # expires at once
    store.acquire_lock("campaign:x", "host:4", timedelta(minutes=5))  # an expired lock is taken over
    with pytest.raises(LockHeld, match="held by host:4"):
        store.acquire_lock("campaign:x", "host:5", timedelta(minutes=5))


def test_lock_names_are_exact(db_url: str) -> None:
    store = Store(db_url)
    store.acquire_lock("campaign:Feedback", "host:1", timedelta(minutes=5))
    store.acquire_lock("campaign:feedback", "host:2", timedelta(minutes=5))
    store.acquire_lock("campaign:😀", "host:3", timedelta(minutes=5))
    store.acquire_lock("campaign:😃", "host:4", timedelta(minutes=5))


# -- Unicode usernames in keys ------------------------------------------------------------------


def test_unicode_usernames_come_back_exactly(db_url: str) -> None:
    store = Store(db_url)
    store.save_contributions([contribution(user, i + 1, T0) for i, user in enumerate(USERS)])
    found = store.load_contributions(WIKI, USERS, T0, T0 + timedelta(1))
    assert sorted(c.user for c in found) == sorted(USERS)
    store.set_fetch_marks(WIKI, USERS[::2], T0, T0 + timedelta(1))  # no two of them look alike
    assert {m.user for m in store.fetch_marks(WIKI, USERS).values()} == set(USERS[::2])


@pytest.mark.parametrize("pair", [USERS[i : i + 2] for i in range(0, len(USERS), 2)],
                         ids=["telugu-virama", "bengali-hasant", "cyrillic-case", "latin-case",
                              "latin-accent", "emoji"])
def test_usernames_that_differ_slightly_are_different_users(db_url: str, pair: list[str]) -> None:
    store = Store(db_url)
    one, other = pair
    store.save_contributions([contribution(one, 1, T0), contribution(other, 2, T0)])
    assert [c.revid for c in store.load_contributions(WIKI, [one], T0, T0 + timedelta(1))] == [1]
    assert [c.revid for c in store.load_contributions(WIKI, [other], T0, T0 + timedelta(1))] == [2]
    # Both in one unique key (wiki, user): two rows, not a duplicate-key error.
    store.set_fetch_marks(WIKI, [one, other], T0, T0 + timedelta(days=1))
    assert set(store.fetch_marks(WIKI, [one, other])) == {one, other}
    # Moving one's mark leaves the other's alone.
    store.set_fetch_marks(WIKI, [other], T0, T0 + timedelta(days=5))
    marks = store.fetch_marks(WIKI, [one, other])
    assert marks[one].fetched_until == T0 + timedelta(days=1)
    assert marks[other].fetched_until == T0 + timedelta(days=5)
    assert store.fetch_marks(WIKI, [one]) == {one: marks[one]}
    # The delivery ledger (key: campaign, user) keeps one row each: posting to one is not
    # posting to the other.
    store.record_delivery("c", one, wiki=WIKI, title=f"User talk:{one}", state="intent")
    store.record_delivery("c", other, wiki=WIKI, title=f"User talk:{other}", state="intent")
    store.record_delivery("c", one, wiki=WIKI, title=f"User talk:{one}", state="posted", revid=7)
    ledger = store.deliveries("c")
    assert {u: (d.state, d.title) for u, d in ledger.items()} == {
        one: ("posted", f"User talk:{one}"), other: ("intent", f"User talk:{other}")}
    assert store.forget_deliveries("c", [other]) == 1
    assert list(store.deliveries("c")) == [one]


def test_forget_fetch_marks_only_for_the_given_users(db_url: str) -> None:
    from datetime import UTC, datetime

    from bot.store import Store

    store = Store(db_url)
    start, until = datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 20, tzinfo=UTC)
    store.set_fetch_marks("metawiki", ["Ravi Teja K", "శ్రీనివాస్ తెలుగు"], start, until)
    store.set_fetch_marks("tewiki", ["Ravi Teja K"], start, until)
    assert store.forget_fetch_marks(["Ravi Teja K"]) == 2
    assert set(store.fetch_marks("metawiki", ["Ravi Teja K", "శ్రీనివాస్ తెలుగు"])) == {"శ్రీనివాస్ తెలుగు"}
    assert store.fetch_marks("tewiki", ["Ravi Teja K"]) == {}
