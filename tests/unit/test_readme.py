"""The README states the same metric definitions the reports use, word for word."""

from __future__ import annotations

from pathlib import Path

from bot.stats import definitions

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_metric_definition_is_in_the_readme() -> None:
    for key, text in definitions().items():
        if key.startswith("compared"):
            assert text in README, key
        else:
            assert f"| {key.replace('_', ' ')} | {text} |" in README, key


def test_the_benchmark_table_is_written_by_make_bench() -> None:
    assert "<!-- bench:start -->" in README and "<!-- bench:end -->" in README


def test_no_placeholder_is_left_where_real_output_belongs() -> None:
    import re

    assert not re.findall(r"^[A-Z][A-Z_]*_OUTPUT$", README, re.MULTILINE)
