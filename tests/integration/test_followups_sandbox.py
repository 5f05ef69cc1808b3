"""Follow-up campaigns against the sandbox farm: the right message, at the right time, in the
right language, exactly once, and never where it is not wanted."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bot.config import EventConfig, load_event
from bot.models import Posted, Skipped

REPO = Path(__file__).resolve().parents[2]
IST = "+05:30"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + IST)


def ttt_event(tmp_path: Path, prefix: str, *, registration: str | None = None,
              campaigns: list[dict[str, Any]] | None = None) -> tuple[EventConfig, Path]:
    """The TTT 2026 example with this test's own campaign names and log page, so tests and the
    demo never see each other's messages."""
    data = yaml.safe_load((REPO / "config/events/ttt-2026.yaml").read_text(encoding="utf-8"))
    data.pop("programme")  # relative to config/events; this copy lives elsewhere
    tag = prefix.rsplit("/", 1)[1][:8]
    data["id"] = f"test-{tag}"
    data["pages"]["report"] = f"{prefix}/Report"
    data["pages"]["participants"] = f"{prefix}/Participants"
    if registration:
        data["registration"] = [{"page": registration, "sections": {"Participants": "registered"}}]
        data["pages"].pop("optout")
    for campaign in data["campaigns"]:
        campaign["name"] = f"{campaign['name']}-{tag}"
    if campaigns is not None:
        data["campaigns"] = campaigns
    data["delivery"] = {"edits_per_minute": 600}
    path = tmp_path / "event.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_event(path), path


def markers(farm: Any, title: str, campaign: str) -> int:
    page = farm.read_page("metawiki", title)
    return len(re.findall(rf"<!-- eventbot:{re.escape(campaign)}:", page.text)) if page.exists else 0


def test_campaign_timeline_languages_and_skips(tmp_path: Path, farm: Any, prefix: str) -> None:
    from bot import pipeline
    from bot.store import Store

    event, _ = ttt_event(tmp_path, prefix)
    store = Store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    compiled, _ = pipeline.compile_event(event, farm)
    prework, feedback, followup = (c.name for c in event.campaigns)

    # The day before the reminder is due: nothing is sent.
    early = pipeline.run_followups(event, compiled, farm, store, at("2026-07-03T08:59"))
    assert all(not r.results for r in early)

    due = pipeline.run_followups(event, compiled, farm, store, at("2026-07-03T09:00"))
    reports = {r.campaign: r for r in due}
    results = {r.username: r for r in reports[prework].results}
    sent = {u: r.language for u, r in results.items() if isinstance(r.outcome, Posted)}
    assert sent == {"Sailaja Vemuri": "te", "శ్రీనివాస్ తెలుగు": "te", "Farhana Akter": "en"}
    reasons = {u: r.outcome.reason for u, r in results.items() if isinstance(r.outcome, Skipped)}
    assert reasons["Ravi Teja K"] == "opted out (on the opt-out list)"
    assert "Opted-out of message delivery" in reasons["Lipika Das"]
    assert reasons["Pranab Mohanty"] == "the talk page has {{nobots}}"
    assert "not a wikitext page" in reasons["Dilshod Rahimov"]
    assert "protected" in reasons["Renamed Trainer"]
    assert reasons["Blocked Trainee"] == "the account is blocked"
    assert reasons["Kiran Hegde"] == "withdrew from the event"
    assert "redirect" in (results["Farhana Akter"].note or "")
    assert not reports[feedback].results and not reports[followup].results

    # Telugu for the Telugu participants, English for the others; the redirect was followed.
    sailaja = farm.read_page("metawiki", "User talk:Sailaja Vemuri").text
    assert "నమస్కారం Sailaja Vemuri!" in sailaja
    assert "finish the pre-work" in farm.read_page("metawiki", "User talk:Farhana A.").text
    assert markers(farm, "User talk:Farhana A.", prework) == 1
    assert "#REDIRECT" in farm.read_page("metawiki", "User talk:Farhana Akter").text

    # Feedback the day after the event, the 30-day follow-up a month later; each exactly once.
    pipeline.run_followups(event, compiled, farm, store, at("2026-07-13T10:00"))
    pipeline.run_followups(event, compiled, farm, store, at("2026-08-11T09:00"))
    again = pipeline.run_followups(event, compiled, farm, store, at("2026-08-12T09:00"))
    for name in (prework, feedback, followup):
        for title in ("User talk:Sailaja Vemuri", "User talk:శ్రీనివాస్ తెలుగు", "User talk:Farhana A."):
            assert markers(farm, title, name) == 1, (name, title)
    assert all(r.earlier for report in again for r in report.results if isinstance(r.outcome, Posted))
    assert "మీ అభిప్రాయాన్ని" in farm.read_page("metawiki", "User talk:శ్రీనివాస్ తెలుగు").text

    log = farm.read_page("metawiki", f"{prefix}/Report").text
    assert f"<!-- eventbot:start:followup-{prework} -->" in log
    assert "the talk page has &#123;&#123;nobots&#125;&#125;" in log  # reasons shown, inert


def test_emergency_stop_page_stops_delivery(tmp_path: Path, farm: Any, human: Any, prefix: str) -> None:
    from bot import pipeline
    from bot.store import Store

    event, _ = ttt_event(tmp_path, prefix)
    event = EventConfig(**{**event.__dict__, "delivery": type(event.delivery)(
        edits_per_minute=600, run_page=f"{prefix}/Run")})
    human.edit("metawiki", f"{prefix}/Run", "no — paused while we fix the message", "stop the bot")
    compiled, _ = pipeline.compile_event(event, farm)
    (report, *_) = pipeline.run_followups(event, compiled, farm, Store(f"sqlite:///{tmp_path}/s.sqlite"),
                                          at("2026-07-03T09:30"))
    assert report.stopped is not None and "must say 'yes'" in report.stopped
    assert markers(farm, "User talk:Sailaja Vemuri", report.campaign) == 0


def run_cli(sandbox: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    log = open(Path(env["EVENTBOT_DATA_DIR"]).parent / "sender.log", "ab")
    return subprocess.Popen([sys.executable, "-m", "bot.cli", f"-dir:{sandbox}", *args], cwd=REPO, env=env,
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL)


def test_sigkill_at_random_points_never_loses_or_doubles(tmp_path: Path, farm: Any, human: Any,
                                                         prefix: str, sandbox: Path) -> None:
    """Kill the sender with SIGKILL at 50+ points (protocol checkpoints and random moments,
    including mid-request), restart it each time, and check every recipient ends with exactly
    one message."""
    receivers = ["Sailaja Vemuri", "శ్రీనివాస్ తెలుగు", "Kiran Hegde", "Asha Organiser", "Human Editor",
                 "Admin", "Ravi Teja K"]
    lines = ["== Participants =="] + [
        f"# [[User:{n}|{n}]] ([[User talk:{n}|talk]]) 10:00, 1 June 2026 (UTC)" for n in receivers]
    human.edit("metawiki", f"{prefix}/Registration", "\n".join(lines), "test")
    seed = int(os.environ.get("EVENTBOT_KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    env = {k: v for k, v in os.environ.items() if k != "PYWIKIBOT_DIR"}
    env["EVENTBOT_DATA_DIR"] = str(tmp_path / "data")
    kills = rounds = 0
    checkpoints = ["before-intent", "after-intent", "after-send", "after-record"]
    wanted = int(os.environ.get("EVENTBOT_KILLS", "50"))
    while kills < wanted:
        rounds += 1
        name = f"kill-{uuid.uuid4().hex[:8]}"
        _, path = ttt_event(tmp_path, prefix, registration=f"{prefix}/Registration", campaigns=[
            {"name": name, "when": "end + 1d", "message": "Train the Trainer 2026/Messages/Feedback",
             "title": "{event}: how did it go?"}])
        args = ["followups", "--event", str(path), "--now", "2026-07-20T09:00+05:30"]
        for _attempt in range(12):
            if rng.random() < 0.6:  # at a protocol checkpoint
                env["EVENTBOT_KILL_AT"] = f"{rng.choice(checkpoints)}:{rng.randint(1, 3)}"
                proc = run_cli(sandbox, env, *args)
                code = proc.wait(timeout=120)
            else:  # at a random moment, possibly in the middle of an HTTP request
                env.pop("EVENTBOT_KILL_AT", None)
                proc = run_cli(sandbox, env, *args)
                time.sleep(rng.uniform(0.3, 4.0))
                proc.send_signal(signal.SIGKILL)
                code = proc.wait(timeout=60)
            if code == -signal.SIGKILL:
                kills += 1
            else:
                assert code == 0, f"seed {seed}: the sender failed with exit code {code}"
                break
        env.pop("EVENTBOT_KILL_AT", None)
        final = run_cli(sandbox, env, *args)
        assert final.wait(timeout=120) == 0, f"seed {seed}"
        for user in receivers:
            assert markers(farm, f"User talk:{user}", name) == 1, (seed, name, user)
    assert kills >= wanted and rounds >= 2


def test_preview_renders_messages_and_touches_no_talk_page(tmp_path: Path, farm: Any, prefix: str,
                                                           sandbox: Path) -> None:
    event, path = ttt_event(tmp_path, prefix)
    env = {k: v for k, v in os.environ.items() if k != "PYWIKIBOT_DIR"}
    env["EVENTBOT_DATA_DIR"] = str(tmp_path / "data")
    out = tmp_path / "preview.html"
    proc = subprocess.run([sys.executable, "-m", "bot.cli", f"-dir:{sandbox}", "followups", "--event",
                           str(path), "--now", "2026-07-03T09:30+05:30", "--preview", "--out", str(out),
                           "--preview-page", f"{prefix}/Preview"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "would send in te" in proc.stdout and "preview written to" in proc.stdout
    html = out.read_text(encoding="utf-8")
    # MediaWiki expanded the message (subst applied): the Telugu text with the name filled in.
    assert "నమస్కారం Sailaja Vemuri!" in html and "{{subst:" not in html
    assert "the talk page has {{nobots}}" in html  # skipped recipients are listed with reasons
    assert markers(farm, "User talk:Sailaja Vemuri", event.campaigns[0].name) == 0
    # The one preview page on the wiki: the messages as MediaWiki expanded them, no markers.
    page = farm.read_page("metawiki", f"{prefix}/Preview").text
    assert "నమస్కారం Sailaja Vemuri!" in page and "{{subst:" not in page
    assert "<!-- eventbot:prework" not in page and "the talk page has &#123;&#123;nobots" in page
