"""The report section on the wiki: built from statistics, and never clobbering a person who
edits the page between the bot's read and its write."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import load_event
from bot.models import Posted

REPO = Path(__file__).resolve().parents[2]
NOW = datetime.fromisoformat("2026-07-20T09:00+05:30")


def test_concurrent_human_edit_is_retried_not_clobbered(farm: Any, human: Any, prefix: str,
                                                        monkeypatch: Any) -> None:
    """A person edits the page (inside and outside the bot's section) between the bot's read
    and its write: the wiki reports a conflict, the bot reads again and writes its section on
    the new text; the person's text outside the markers survives."""
    title = f"{prefix}/Report"
    assert isinstance(human.edit("metawiki", title, "Intro by the organisers.", "set-up"), Posted)
    assert isinstance(farm.write_section("metawiki", title, "summary", "Old figures.", "test"), Posted)
    real_read = farm.read_page
    reads = {"count": 0}

    def read_then_someone_edits(dbname: str, page: str) -> Any:
        result = real_read(dbname, page)
        reads["count"] += 1
        if reads["count"] == 1:  # between the bot's first read and its write
            changed = result.text.replace("Old figures.", "Old figures, corrected by hand.")
            changed = changed.replace("Intro by the organisers.", "Intro, rewritten by the organisers.")
            assert isinstance(human.edit("metawiki", title, changed + "\n\n== Thanks ==\nA note.",
                                         "a human edit in between", base=result), Posted)
        return result

    monkeypatch.setattr(farm, "read_page", read_then_someone_edits)
    outcome = farm.write_section("metawiki", title, "summary", "New figures.", "test")
    assert isinstance(outcome, Posted)
    assert reads["count"] == 2  # the conflict made the bot read the page again
    text = real_read("metawiki", title).text
    assert text.startswith("Intro, rewritten by the organisers.")
    assert "<!-- eventbot:start:summary -->\nNew figures.\n<!-- eventbot:end:summary -->" in text
    assert text.endswith("== Thanks ==\nA note.")


def test_report_section_has_statistics_and_definitions(farm: Any, prefix: str, tmp_path: Path) -> None:
    import yaml

    from bot import pipeline
    from bot.store import Store

    data = yaml.safe_load((REPO / "config/events/ttt-2026.yaml").read_text(encoding="utf-8"))

    data.pop("programme")  # relative to config/events; this copy lives elsewhere
    data["pages"]["report"] = f"{prefix}/Report"
    data["pages"]["participants"] = f"{prefix}/Participants"
    data["campaigns"] = []
    path = tmp_path / "event.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    event = load_event(path)
    run = pipeline.run_event(event, farm, NOW, store=Store(f"sqlite:///{tmp_path / 's.sqlite'}"))
    assert isinstance(run.outcomes["report"], Posted)
    text = farm.read_page("metawiki", f"{prefix}/Report").text
    for heading in ("=== Activity ===", "=== Retention ===", "=== By community ===", "=== Participants ===",
                    "=== Metric definitions ==="):
        assert heading in text
    # Retention windows that have not closed show "pending", never a number.
    assert "| all participants || 30 || pending (window closes 2026-09-11)" in text
    assert "Data fetched 20 July 2026, 09:00 (Asia/Kolkata)" in text


def test_charts_are_uploaded_embedded_and_not_uploaded_again(farm: Any, prefix: str, tmp_path: Path) -> None:
    import yaml

    from bot import pipeline
    from bot.models import Unchanged
    from bot.store import Store

    data = yaml.safe_load((REPO / "config/events/ttt-2026.yaml").read_text(encoding="utf-8"))

    data.pop("programme")  # relative to config/events; this copy lives elsewhere
    data["id"] = "charts-" + prefix.rsplit("/", 1)[1]
    data["pages"]["report"] = f"{prefix}/Report"
    data["pages"]["participants"] = f"{prefix}/Participants"
    data["campaigns"] = []
    data["report"] = {"charts": True, "chart_prefix": f"eventbot {data['id']} "}
    path = tmp_path / "event.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    event = load_event(path)
    store = Store(f"sqlite:///{tmp_path / 's.sqlite'}")

    first = pipeline.run_event(event, farm, NOW, store=store)
    uploads = {k: v for k, v in first.outcomes.items() if k.startswith("chart ")}
    assert len(uploads) == 3 and all(isinstance(o, Posted) for o in uploads.values()), uploads
    text = farm.read_page("metawiki", f"{prefix}/Report").text
    assert f"File:eventbot {data['id']} edits per day.png|" in text and '<gallery mode="packed"' in text
    info = farm.call("metawiki", action="query", prop="imageinfo", iiprop="size|mime",
                     titles=f"File:eventbot {data['id']} retention by cohort.png")
    (page,) = info["query"]["pages"]
    assert page["imageinfo"][0]["mime"] == "image/png"

    second = pipeline.run_event(event, farm, NOW, store=store)
    assert all(isinstance(o, Unchanged) for o in second.outcomes.values()), second.outcomes
