"""The command line: pywikibot's options pass through; offline commands need no wiki."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot import cli

REPO = Path(__file__).resolve().parents[2]


def test_split_global_args() -> None:
    pwb, ours = cli.split_global_args(
        ["-simulate", "run", "--event", "e.yaml", "-dir:/x", "--now", "2026-07-01", "-user:Bot"])
    assert pwb == ["-simulate", "-dir:/x", "-user:Bot"]
    assert ours == ["run", "--event", "e.yaml", "--now", "2026-07-01"]


def test_parse_now() -> None:
    assert cli.parse_now("2026-07-01T09:00+05:30") == datetime(
        2026, 7, 1, 9, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert cli.parse_now("2026-07-01T09:00") == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    with pytest.raises(SystemExit, match="not a date-time"):
        cli.parse_now("yesterday")


def test_check_config(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["check-config", str(REPO / "config/events/ttt-2026.yaml")]) == 0
    assert "ok: Train the Trainer 2026, 2026-07-10 to 2026-07-12 (Asia/Kolkata)" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\n")
    assert cli.main(["check-config", str(bad)]) == 2
    assert f"{bad}:1: start: missing required key 'start'" in capsys.readouterr().err


def test_no_pywikibot_configuration_means_no_wiki_at_all(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a user-config.py pywikibot would use its defaults: Wikimedia's real wikis."""
    monkeypatch.setenv("PYWIKIBOT_DIR", str(tmp_path))
    monkeypatch.delenv("PYWIKIBOT_NO_USER_CONFIG", raising=False)
    event = str(REPO / "config/events/ttt-2026.yaml")
    with pytest.raises(SystemExit, match=r"no pywikibot configuration: .*user-config.py does not exist"):
        cli.main(["participants", "--event", event])
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    with pytest.raises(SystemExit, match=f"{empty}/user-config.py does not exist"):
        cli.main([f"-dir:{empty}", "participants", "--event", event])
    monkeypatch.delenv("PYWIKIBOT_DIR")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "user-config.py").write_text("")
    assert cli.pywikibot_dir() == tmp_path


@pytest.mark.parametrize("jobs_file", ["jobs.yaml", "jobs-cron.yaml"])
def test_toolforge_job_commands_are_valid(jobs_file: str) -> None:
    """Every eventbot command in the Toolforge job files parses with today's options."""
    import shlex

    import yaml

    jobs = yaml.safe_load((REPO / jobs_file).read_text(encoding="utf-8"))
    commands = [shlex.split(job["command"].replace("$HOME", "/home/tool")) for job in jobs
                if "/bin/eventbot" in job["command"]]
    assert commands, jobs_file
    for argv in commands:
        _, ours = cli.split_global_args(argv[1:])
        args = cli.build_parser().parse_args(ours)
        assert args.command in ("scheduler", "run-due")
        assert args.series == Path("/home/tool/series") and args.onwiki == ["metawiki"]
