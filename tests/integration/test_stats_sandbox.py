"""Statistics from the real sandbox wikis, against expectations worked out by hand from
config/sandbox/history.json (the edits imported into the sandbox with their timestamps).

The event runs 10-12 July 2026 in Asia/Kolkata (UTC+5:30): it starts at 2026-07-09T18:30Z and
its last day ends at 2026-07-12T18:30Z.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bot.config import EventConfig, load_event

REPO = Path(__file__).resolve().parents[2]


def event_for(tmp_path: Path) -> EventConfig:
    data = yaml.safe_load((REPO / "config/events/ttt-2026.yaml").read_text(encoding="utf-8"))
    data.pop("programme")  # relative to config/events; this copy lives elsewhere
    data["campaigns"] = []
    path = tmp_path / "event.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_event(path)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_statistics_match_the_imported_history(tmp_path: Path, farm: Any) -> None:
    from bot import pipeline
    from bot.store import Store

    event = event_for(tmp_path)
    run = pipeline.event_stats(event, farm, Store(f"sqlite:///{tmp_path / 's.sqlite'}"),
                               when("2027-02-15T00:00+05:30"))
    stats = run.stats
    assert stats.participants == 9 and stats.withdrawn == 1 and not stats.open_windows

    # Ravi's edit at 18:29:59Z is the last second before the event (baseline); the one at
    # 18:30:00Z is its first second (during). Farhana's 18:29:59Z edit on 12 July is the last
    # second of the event; her 18:30:00Z edit is the first second after it.
    ravi = next(r for r in stats.rows if r.username == "Ravi Teja K")
    assert ravi.get("baseline").edits == 1 and ravi.get("during").edits == 2
    assert ravi.get("during", "metawiki").edits == 1 and ravi.get("during", "tewiki").edits == 1
    farhana = next(r for r in stats.rows if r.username == "Farhana Akter")
    assert (farhana.get("baseline").edits, farhana.get("during").edits,
            farhana.get("after-30").edits) == (1, 1, 1)

    during = stats.totals["during"]
    assert during.edits == 9  # Ravi 2, Sailaja 3, Renamed Trainer 1, Farhana 1, Srinivas 2
    # New articles during the event: Ravi's హైదరాబాదు, Sailaja's session notes, the Odia
    # workshop page, Srinivas's శిక్షకుల శిక్షణ; Sailaja's redirect "TTT notes" does not count.
    assert during.pages_created == 4
    sailaja = next(r for r in stats.rows if r.username == "Sailaja Vemuri").get("during")
    assert (sailaja.edits, sailaja.pages_created, sailaja.bytes_added, sailaja.bytes_removed) == (
        3, 1, 2036, 300)
    assert stats.totals["baseline"].edits == 2 and stats.totals["after-30"].edits == 1

    # The renamed participant signed up under the old name; the edits are under the new one.
    renamed = next(r for r in stats.rows if r.username == "Renamed Trainer")
    assert renamed.get("during").edits == 1

    # Retained at 30 days = an edit from 11 August 18:30Z to 10 September 18:30Z:
    # Ravi (25 Aug), Renamed Trainer (20 Aug), Srinivas (1 Sep). At 90 days: Ravi (20 Oct).
    (all30, all90) = [r for r in stats.retention if r.population == "all"]
    assert (all30.retained, all30.denominator) == (3, 9)
    assert (all90.retained, all90.denominator) == (1, 9)


def test_pending_retention_and_incremental_fetching(tmp_path: Path, farm: Any) -> None:
    from bot import pipeline
    from bot.store import Store

    event = event_for(tmp_path)
    store = Store(f"sqlite:///{tmp_path / 's.sqlite'}")

    first = pipeline.event_stats(event, farm, store, when("2026-07-20T00:00+05:30"))
    assert {w: c.fetched for w, c in first.cost.wikis.items()} == {"metawiki": 9, "tewiki": 3}
    # One usercontribs request per wiki (9 users, one batch) and one page-info request for the
    # pages created in the main namespace (redirect check): exactly the lower bound.
    assert {w: (c.requests, c.lower_bound) for w, c in first.cost.wikis.items()} == {
        "metawiki": (2, 2), "tewiki": (2, 2)}
    assert all(r.pending for r in first.stats.retention)  # no retention window has closed
    assert first.stats.retention[0].retained is None

    # Five minutes later nothing changed: one request per wiki, nothing new.
    again = pipeline.event_stats(event, farm, store, when("2026-07-20T00:05+05:30"))
    assert {w: (c.requests, c.new) for w, c in again.cost.wikis.items()} == {
        "metawiki": (1, 0), "tewiki": (1, 0)}

    # Months later only what is newer than the last fetch is asked for and found.
    later = pipeline.event_stats(event, farm, store, when("2026-09-20T00:00+05:30"))
    assert {w: c.fetched for w, c in later.cost.wikis.items()} == {"metawiki": 2, "tewiki": 1}
    thirty = next(r for r in later.stats.retention if r.population == "all" and r.days == 30)
    # Closed on 10 September: Renamed Trainer (20 Aug), Ravi (25 Aug), Srinivas (1 Sep).
    assert not thirty.pending and thirty.retained == 3
    ninety = next(r for r in later.stats.retention if r.population == "all" and r.days == 90)
    assert ninety.pending and ninety.retained is None


def test_run_summary_states_the_activity_during_the_event(tmp_path: Path, sandbox: Path) -> None:
    import os
    import subprocess
    import sys

    data = yaml.safe_load((REPO / "config/events/ttt-2026.yaml").read_text(encoding="utf-8"))

    data.pop("programme")  # relative to config/events; this copy lives elsewhere
    data["campaigns"] = []
    path = tmp_path / "event.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "EVENTBOT_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "-simulate", "run", "--event", str(path),
                           "--now", "2026-07-13T10:30+05:30"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "during the event: 9 edits by 5 of 9 participants, 4 new articles" in proc.stdout
