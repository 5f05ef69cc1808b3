"""Alumni history on the sandbox farm: who took part in an earlier iteration decides who gets a
campaign (`alumni_of` / `not_alumni_of`), and shows in the participant list and the report.

The programme is made here: TTT 2024 (attended: Sailaja Vemuri, Kiran Hegde; applied: Ravi
Teja K) and this year's event, whose registration lists those three and Human Editor. So:
    alumni_of ttt-2024 (attended)      -> Sailaja Vemuri, Kiran Hegde
    not_alumni_of ttt-2024 (attended)  -> Ravi Teja K (only applied), Human Editor (new)
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import ConfigError, load_event
from bot.models import Posted

NOW = datetime.fromisoformat("2026-07-13T10:00+05:30")
FEEDBACK = "Train the Trainer 2026/Messages/Feedback"  # a seeded message page with /en and /te


def signed(name: str) -> str:
    return f"# [[User:{name}|{name}]] ([[User talk:{name}|talk]]) 10:00, 1 June 2026 (UTC)"


def write_programme(tmp_path: Path, prefix: str, campaigns: list[dict[str, Any]]) -> Path:
    """An event file naming a programme file (both relative, as an organiser writes them)."""
    tag = prefix.rsplit("/", 1)[1][:8]
    past = {"id": "ttt-2024", "title": "Train the Trainer 2024", "start": "2024-08-09", "end": "2024-08-11",
            "timezone": "Asia/Kolkata",
            "pages": {"participants": f"{prefix}/TTT 2024", "report": f"{prefix}/TTT 2024 report"},
            "registration": [{"page": f"{prefix}/TTT 2024",
                              "sections": {"Attended": "attended", "Applied": "registered"}}]}
    (tmp_path / "programmes").mkdir()
    (tmp_path / "events").mkdir()
    (tmp_path / "programmes" / "ttt.yaml").write_text(yaml.safe_dump({
        "id": "ttt", "title": "TTT",
        "events": [{"event": past, "label": "2024"}, {"file": "../events/now.yaml", "label": "2026"}],
    }), encoding="utf-8")
    event = {"id": f"alumni-{tag}", "title": "Train the Trainer 2026", "start": "2026-07-10",
             "end": "2026-07-12", "timezone": "Asia/Kolkata", "programme": "../programmes/ttt.yaml",
             "pages": {"participants": f"{prefix}/Participants", "report": f"{prefix}/Report"},
             "registration": [{"page": f"{prefix}/Registration", "sections": {"Participants": "registered"}}],
             "campaigns": campaigns, "delivery": {"edits_per_minute": 600}}
    path = tmp_path / "events" / "now.yaml"
    path.write_text(yaml.safe_dump(event, allow_unicode=True), encoding="utf-8")
    return path


def markers(farm: Any, user: str, campaign: str) -> int:
    page = farm.read_page("metawiki", f"User talk:{user}")
    return len(re.findall(rf"<!-- eventbot:{re.escape(campaign)}:", page.text)) if page.exists else 0


def test_alumni_filters_history_column_and_report(tmp_path: Path, farm: Any, human: Any, prefix: str) -> None:
    from bot import pipeline
    from bot.store import Store

    human.edit("metawiki", f"{prefix}/TTT 2024", "\n".join([
        "== Attended ==", signed("Sailaja Vemuri"), signed("Kiran Hegde"),
        "== Applied ==", signed("Ravi Teja K"), ""]), "test")
    human.edit("metawiki", f"{prefix}/Registration", "\n".join([
        "== Participants ==", *map(signed, ["Sailaja Vemuri", "Kiran Hegde", "Ravi Teja K", "Human Editor"]),
        ""]), "test")
    tag = prefix.rsplit("/", 1)[1][:8]
    back, first = f"welcome-back-{tag}", f"first-timers-{tag}"
    path = write_programme(tmp_path, prefix, [
        {"name": back, "when": "end + 1d at 10:00", "message": FEEDBACK, "title": "{event}: welcome back",
         "audience": {"alumni_of": {"events": ["ttt-2024"]}}},
        {"name": first, "when": "end + 1d at 10:00", "message": FEEDBACK, "title": "{event}: welcome",
         "audience": {"not_alumni_of": {"events": ["ttt-2024"]}}},
    ])
    event = load_event(path)
    assert event.programme == str(tmp_path / "events" / ".." / "programmes" / "ttt.yaml")
    store = Store(f"sqlite:///{tmp_path / 'state.sqlite'}")

    run = pipeline.run_event(event, farm, NOW, store=store, followups=True)
    sent = {r.campaign: sorted(x.username for x in r.results if isinstance(x.outcome, Posted))
            for r in run.followups}
    assert sent == {back: ["Kiran Hegde", "Sailaja Vemuri"], first: ["Human Editor", "Ravi Teja K"]}
    for user in ("Kiran Hegde", "Sailaja Vemuri"):
        assert (markers(farm, user, back), markers(farm, user, first)) == (1, 0), user
    for user in ("Human Editor", "Ravi Teja K"):
        assert (markers(farm, user, back), markers(farm, user, first)) == (0, 1), user

    listing = farm.read_page("metawiki", f"{prefix}/Participants").text
    assert "! Earlier iterations" in listing
    rows = {name: re.split(r"\n\|[-}]", listing.split(f"[[User:{name}|{name}]]", 1)[1], maxsplit=1)[0]
            for name in ("Sailaja Vemuri", "Ravi Teja K", "Human Editor")}
    assert rows["Sailaja Vemuri"].rstrip().endswith("| attended TTT 2024")
    assert rows["Ravi Teja K"].rstrip().endswith("| applied TTT 2024")
    assert rows["Human Editor"].rstrip().endswith("| first time")
    report = farm.read_page("metawiki", f"{prefix}/Report").text
    assert "! Returning from earlier iterations\n| 3 (2 attended one)" in report

    # A second run sends nothing more (the ledger), whatever the filters.
    again = pipeline.run_followups(event, run.compiled, farm, store, NOW)
    assert all(r.earlier for report in again for r in report.results)


def test_unknown_event_in_alumni_filter_stops_before_sending(tmp_path: Path, farm: Any, prefix: str) -> None:
    from bot import pipeline
    from bot.store import Store

    tag = prefix.rsplit("/", 1)[1][:8]
    path = write_programme(tmp_path, prefix, [
        {"name": f"typo-{tag}", "when": "end + 1d", "message": FEEDBACK, "title": "x",
         "audience": {"not_alumni_of": {"events": ["ttt-2042"]}}}])
    event = load_event(path)
    with pytest.raises(ConfigError) as caught:
        pipeline.run_followups(event, pipeline.compile_event(event, farm)[0], farm,
                               Store(f"sqlite:///{tmp_path / 's.sqlite'}"), NOW)
    message = str(caught.value)
    assert "campaigns[0].audience: 'ttt-2042' is not an event of the programme 'ttt'" in message
    assert "its events are ttt-2024, " in message
