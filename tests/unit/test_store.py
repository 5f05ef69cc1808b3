"""The state database records runs (SQLite here; the same tests run on MariaDB later)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.store import Store


def test_runs_round_trip(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    now = datetime(2026, 7, 1, 3, 30, tzinfo=UTC)
    run_id = store.start_run("ttt-2026", "run", now)
    assert store.runs("ttt-2026")[0].status == "running"
    store.finish_run(run_id, "ok", {"posted": 2, "unchanged": 0})
    record = store.runs("ttt-2026")[0]
    assert record.id == run_id and record.status == "ok" and record.now == now
    assert record.counts == {"posted": 2, "unchanged": 0}
    assert record.finished is not None and record.finished >= record.started
    assert store.runs("other") == []


def test_default_url_uses_the_data_dir(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("EVENTBOT_DB_URL", raising=False)
    monkeypatch.setenv("EVENTBOT_DATA_DIR", str(tmp_path / "d"))
    store = Store()
    assert store.url == f"sqlite:///{tmp_path / 'd' / 'eventbot.sqlite'}"
    assert (tmp_path / "d").is_dir()


def test_ledger_records_intent_then_result(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    store.record_delivery("ttt-2026/feedback", "శ్రీనివాస్ తెలుగు", wiki="metawiki",
                          title="User talk:శ్రీనివాస్ తెలుగు", state="intent")
    assert store.deliveries("ttt-2026/feedback")["శ్రీనివాస్ తెలుగు"].state == "intent"
    store.record_delivery("ttt-2026/feedback", "శ్రీనివాస్ తెలుగు", wiki="metawiki",
                          title="User talk:శ్రీనివాస్ తెలుగు", state="posted", revid=42)
    row = store.deliveries("ttt-2026/feedback")["శ్రీనివాస్ తెలుగు"]
    assert (row.state, row.revid) == ("posted", 42)
    assert store.deliveries("other") == {}
    assert store.forget_deliveries("ttt-2026/feedback") == 1
    assert store.deliveries("ttt-2026/feedback") == {}


def test_lock_one_holder_at_a_time(tmp_path: Path) -> None:
    from datetime import timedelta

    import pytest

    from bot.store import LockHeld

    store = Store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    store.acquire_lock("campaign:x", "host:1", timedelta(minutes=5))
    with pytest.raises(LockHeld, match="held by host:1"):
        store.acquire_lock("campaign:x", "host:2", timedelta(minutes=5))
    # A holder known to be dead (a killed process) is taken over at once.
    store.acquire_lock("campaign:x", "host:2", timedelta(minutes=5), is_dead=lambda owner: owner == "host:1")
    assert not store.refresh_lock("campaign:x", "host:1", timedelta(minutes=5))
    assert store.refresh_lock("campaign:x", "host:2", timedelta(minutes=5))
    store.release_lock("campaign:x", "host:2")
    store.acquire_lock("campaign:x", "host:3", timedelta(seconds=-1))  # expires at once
    store.acquire_lock("campaign:x", "host:4", timedelta(minutes=5))  # an expired lock is taken over
