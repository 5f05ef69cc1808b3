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
