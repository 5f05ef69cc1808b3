"""The state database's defaults. What it stores is tested on SQLite and MariaDB in tests/db."""

from __future__ import annotations

from pathlib import Path

from bot.store import Store


def test_default_url_uses_the_data_dir(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("EVENTBOT_DB_URL", raising=False)
    monkeypatch.setenv("EVENTBOT_DATA_DIR", str(tmp_path / "d"))
    store = Store()
    assert store.url == f"sqlite:///{tmp_path / 'd' / 'eventbot.sqlite'}"
    assert (tmp_path / "d").is_dir()
