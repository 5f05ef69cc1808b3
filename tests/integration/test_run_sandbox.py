"""The main job end to end against the sandbox farm: read, compile, write, and do no harm."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from bot.config import EventConfig, load_event
from bot.models import Posted, Unchanged

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "config" / "sandbox" / "pages" / "metawiki" / "ttt-2026-registration.wiki"
NOW = datetime(2026, 7, 1, 9, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))
HUMAN_TEXT = "Notes by the organisers.\n\n== Travel ==\nGrants are confirmed by e-mail. ~~~~"


def make_event(tmp_path: Path, prefix: str, farm: Any, human: Any) -> tuple[EventConfig, Path]:
    """An event whose pages live under `prefix`: a copy of the TTT registration page and a
    participants page a human already wrote on."""
    registration = SEED.read_text(encoding="utf-8").partition("\n---\n")[2]
    assert isinstance(human.edit("metawiki", f"{prefix}/Registration", registration, "test set-up"), Posted)
    assert isinstance(human.edit("metawiki", f"{prefix}/Participants", HUMAN_TEXT, "test set-up"), Posted)
    data = yaml.safe_load((REPO / "config/events/ttt-2026.yaml").read_text(encoding="utf-8"))
    data.pop("programme")  # relative to config/events; this copy lives elsewhere
    data["id"] = "test-" + prefix.rsplit("/", 1)[1]
    data["pages"] = {"participants": f"{prefix}/Participants", "report": f"{prefix}/Report"}
    data["registration"][0]["page"] = f"{prefix}/Registration"
    data["registration"] = data["registration"][:1]
    path = tmp_path / "event.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_event(path), path


def test_run_writes_sections_and_second_run_makes_no_edit(tmp_path: Path, farm: Any, human: Any,
                                                          prefix: str) -> None:
    from bot import pipeline

    event, _ = make_event(tmp_path, prefix, farm, human)
    first = pipeline.run_event(event, farm, NOW)
    assert isinstance(first.outcomes["participants"], Posted)
    assert isinstance(first.outcomes["report"], Posted)

    page = farm.read_page("metawiki", f"{prefix}/Participants")
    # The human's text is still there, byte for byte (the signature was expanded on save).
    assert page.text.startswith(
        "Notes by the organisers.\n\n== Travel ==\nGrants are confirmed by e-mail. [[User:Human Editor|")
    assert "<!-- eventbot:start:participants -->" in page.text
    for name in ("Ravi Teja K", "Pranab Mohanty", "Farhana Akter", "Sailaja Vemuri", "Dilshod Rahimov"):
        assert name in page.text
    report = farm.read_page("metawiki", f"{prefix}/Report")
    assert "<!-- eventbot:start:summary -->" in report.text and "Data fetched 1 July 2026" in report.text

    names = {p.username for p in first.compiled.participants}
    assert "Asha Organiser" not in names  # mentioned ("encouraged by"), not a signer
    assert "Renamed Trainer" in names  # signed up under the old name, renamed since

    revisions = {key: farm.read_page("metawiki", f"{prefix}/{key.capitalize()}").revid
                 for key in ("participants", "report")}
    second = pipeline.run_event(event, farm, NOW + timedelta(hours=6))
    assert all(isinstance(o, Unchanged) for o in second.outcomes.values()), second.outcomes
    assert revisions == {key: farm.read_page("metawiki", f"{prefix}/{key.capitalize()}").revid
                         for key in ("participants", "report")}


def test_human_edits_outside_markers_survive_an_update(tmp_path: Path, farm: Any, human: Any,
                                                       prefix: str) -> None:
    from bot import pipeline

    event, _ = make_event(tmp_path, prefix, farm, human)
    pipeline.run_event(event, farm, NOW)
    page = farm.read_page("metawiki", f"{prefix}/Participants")
    edited = "A new first line by a person.\n" + page.text + "\n\n[[Category:Human category]]"
    assert isinstance(human.edit("metawiki", page.title, edited, "human edit", base=page), Posted)
    registration = farm.read_page("metawiki", f"{prefix}/Registration")
    extra = registration.text.replace(
        "== Waitlist ==",
        "# [[User:Kiran Hegde|Kiran Hegde]] ([[User talk:Kiran Hegde|talk]]) "
        "10:00, 20 June 2026 (UTC)\n\n== Waitlist ==")
    human.edit("metawiki", registration.title, extra, "re-sign", base=registration)

    update = pipeline.run_event(event, farm, NOW + timedelta(days=1))
    assert isinstance(update.outcomes["participants"], Posted)
    after = farm.read_page("metawiki", f"{prefix}/Participants").text
    assert after.startswith("A new first line by a person.\nNotes by the organisers.")
    assert after.endswith("[[Category:Human category]]")
    before_markers, _, rest = after.partition("<!-- eventbot:start:participants -->")
    _, _, after_markers = rest.partition("<!-- eventbot:end:participants -->")
    assert before_markers + after_markers == (
        edited.partition("<!-- eventbot:start:participants -->")[0]
        + edited.partition("<!-- eventbot:end:participants -->")[2])


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=300)


def test_cli_run_with_pywikibot_global_options(tmp_path: Path, farm: Any, human: Any, prefix: str,
                                               sandbox: Path) -> None:
    _, path = make_event(tmp_path, prefix, farm, human)
    env = {k: v for k, v in os.environ.items() if k != "PYWIKIBOT_DIR"}
    env["EVENTBOT_DATA_DIR"] = str(tmp_path / "data")
    before = farm.read_page("metawiki", f"{prefix}/Participants").revid

    # -simulate: everything is read and compiled, nothing is saved.
    simulated = run_cli("-simulate", f"-dir:{sandbox}", "run", "--event", str(path),
                        "--now", "2026-07-01T09:00+05:30", env=env)
    assert simulated.returncode == 0, simulated.stderr
    assert "would be edited (simulation)" in simulated.stdout
    assert farm.read_page("metawiki", f"{prefix}/Participants").revid == before

    # -dir: finds the configuration without PYWIKIBOT_DIR; -user: picks the account.
    real = run_cli(f"-dir:{sandbox}", "-user:EventBot", "run", "--event", str(path),
                   "--now", "2026-07-01T09:00+05:30", env=env)
    assert real.returncode == 0, real.stderr
    assert "edited (revision" in real.stdout and "participants: 9" in real.stdout
    assert farm.read_page("metawiki", f"{prefix}/Participants").revid != before

    runs = run_cli("runs", env=env)
    assert " run ok: " in runs.stdout and "participants 9" in runs.stdout


def test_whole_main_job_twice_makes_no_edit_the_second_time(tmp_path: Path, farm: Any, human: Any,
                                                            prefix: str, sandbox: Path) -> None:
    """The full `eventbot run` (list, statistics, charts, report, due follow-ups with their logs):
    a second run at the same moment changes nothing on any wiki."""
    data = yaml.safe_load((REPO / "config/events/ttt-2026.yaml").read_text(encoding="utf-8"))
    data.pop("programme")  # relative to config/events; this copy lives elsewhere
    data["id"] = "twice-" + prefix.rsplit("/", 1)[1]
    data["pages"]["report"] = f"{prefix}/Report"
    data["pages"]["participants"] = f"{prefix}/Participants"
    data["report"]["chart_prefix"] = f"eventbot {data['id']} "
    for campaign in data["campaigns"]:
        campaign["name"] = f"{campaign['name']}-{data['id'][-6:]}"
    data["delivery"] = {"edits_per_minute": 600}
    path = tmp_path / "event.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYWIKIBOT_DIR"}
    env["EVENTBOT_DATA_DIR"] = str(tmp_path / "data")
    args = (f"-dir:{sandbox}", "run", "--event", str(path), "--now", "2026-07-13T10:30+05:30")
    first = run_cli(*args, env=env)
    assert first.returncode == 0, first.stderr
    assert "sent (revision" in first.stdout and "report        edited" in first.stdout
    second = run_cli(*args, env=env)
    assert second.returncode == 0, second.stderr
    assert "edited (revision" not in second.stdout and "sent (revision" not in second.stdout, second.stdout
    assert second.stdout.count("unchanged (no edit needed)") == 5  # 3 charts, the list, the report
