"""The sign-up parser: data-driven cases (tests/unit/signups_cases/) plus focused tests.

Each `NAME.case` holds a small YAML header (wiki, source, optional config) and a page of
wikitext; `NAME.expected.json` lists the sign-ups and problems it must give. See the
README in that folder for the format.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import RegistrationSource, TemplateConfig, parse_event
from bot.models import ProblemKind, SignUpKind, Status
from bot.signups import ParseResult, parse_application, parse_page, signups_json

CASES_DIR = Path(__file__).parent / "signups_cases"
CASES = sorted(CASES_DIR.glob("*.case"))

SIGNUP_DEFAULTS: dict[str, Any] = {
    "status": "registered",
    "section": None,
    "home_wiki": None,
    "fields": {},
    "kind": "signature",
}
PROBLEM_DEFAULTS: dict[str, Any] = {"username": None}
SIGNUP_KEYS = {"username", "line", "raw", *SIGNUP_DEFAULTS}
PROBLEM_KEYS = {"kind", "line", "raw", "message", *PROBLEM_DEFAULTS}


# --- the case files ---------------------------------------------------------------------------


def load_case(path: Path) -> tuple[dict[str, Any], str]:
    """(header, wikitext) of a case file: YAML up to the first `---` line, then the page."""
    text = path.read_text(encoding="utf-8")
    header, sep, page = text.partition("\n---\n")
    assert sep, f"{path.name}: no '---' line between the header and the wikitext"
    data = yaml.safe_load(header) or {}
    assert isinstance(data, dict), f"{path.name}: the header must be a YAML mapping"
    unknown = set(data) - {"description", "wiki", "source", "parse", "config"}
    assert not unknown, f"{path.name}: unknown header keys {sorted(unknown)}"
    assert data.get("description"), f"{path.name}: every case needs a description"
    return data, page


def registration(config: Mapping[str, Any], source: str, application: bool) -> RegistrationSource:
    """Validate a case's `config:` as a registration source of a minimal event."""
    where = {"prefix": source.rsplit("/", 1)[0]} if application else {"page": source}
    event = {
        "id": "case",
        "title": "Case",
        "start": "2026-07-10",
        "end": "2026-07-12",
        "timezone": "UTC",
        "pages": {"participants": "Case/Participants", "report": "Case/Report"},
        "registration": [{**where, **config}],
    }
    return parse_event(event, "case").registration[0]


def run_case(path: Path) -> ParseResult:
    header, page = load_case(path)
    source = header.get("source", "Test event/Registration")
    application = header.get("parse", "page") == "application"
    config = None
    if "config" in header:
        config = registration(header["config"], source, application)
    parse = parse_application if application else parse_page
    return parse(page, source=source, wiki=header.get("wiki", "metawiki"), config=config)


def expected_of(path: Path) -> dict[str, list[dict[str, Any]]]:
    expected_path = path.with_suffix(".expected.json")
    data = json.loads(expected_path.read_text(encoding="utf-8"))
    assert set(data) <= {"signups", "problems"}, f"{expected_path.name}: unknown keys"
    for entry in data.get("signups", []):
        assert {"username", "line"} <= set(entry) <= SIGNUP_KEYS, f"{expected_path.name}: {entry}"
    for entry in data.get("problems", []):
        assert {"kind", "line"} <= set(entry) <= PROBLEM_KEYS, f"{expected_path.name}: {entry}"
    return {
        "signups": [{**SIGNUP_DEFAULTS, **s} for s in data.get("signups", [])],
        "problems": [{**PROBLEM_DEFAULTS, **p} for p in data.get("problems", [])],
    }


def project(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`got` cut down to the keys of the expected entry at the same place, so that `raw` and
    `message` are checked only where a case gives them; an expected `message` is matched as
    a fragment. Entries beyond the expected ones are kept whole (they show in the diff)."""
    out = []
    for index, entry in enumerate(got):
        wanted = want[index] if index < len(want) else entry
        cut = {key: entry.get(key) for key in wanted}
        if "message" in wanted and wanted["message"] in (entry.get("message") or ""):
            cut["message"] = wanted["message"]
        out.append(cut)
    return out


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path) -> None:
    result = signups_json(run_case(path))
    want = expected_of(path)
    assert project(result["signups"], want["signups"]) == want["signups"]
    assert project(result["problems"], want["problems"]) == want["problems"]


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 40
    for path in CASES:
        assert path.with_suffix(".expected.json").exists(), f"{path.name} has no expected file"


# --- focused tests ---------------------------------------------------------------------------


def page(text: str, wiki: str = "metawiki", **config: Any) -> ParseResult:
    source = RegistrationSource(page="P", **config) if config else None
    return parse_page(text, source="P", wiki=wiki, config=source)


def names(result: ParseResult) -> list[str]:
    return [s.username for s in result.signups]


def test_signup_records_source_raw_and_kind() -> None:
    result = page("intro\n# [[User:Alice_smith|Alice]] 10:32, 5 July 2026 (UTC)  \n")
    (signup,) = result.signups
    assert signup.username == "Alice smith"
    assert signup.source == "P"
    assert signup.line == 2
    assert signup.raw == "# [[User:Alice_smith|Alice]] 10:32, 5 July 2026 (UTC)"
    assert signup.kind is SignUpKind.SIGNATURE
    assert signup.status is Status.REGISTERED
    assert signup.section is None
    assert result.problems == []


def test_problems_carry_source_line_and_raw() -> None:
    result = page("== Sign up ==\n# I will come!\n")
    (problem,) = result.problems
    assert problem.kind is ProblemKind.UNPARSEABLE
    assert (problem.source, problem.line, problem.raw) == ("P", 2, "# I will come!")


def test_crlf_and_nul_bytes_keep_line_numbers() -> None:
    result = page("a\r\n# [[User:A\x00]]\r\n\x00\r\n# [[User:B]] {{u|C\ufffd}}\r\n")
    assert [(s.username, s.line) for s in result.signups] == [("B", 4)]
    assert [(p.kind, p.line) for p in result.problems] == [(ProblemKind.INVALID_NAME, 2)]
    assert "NUL byte" in result.problems[0].message


def test_comment_spanning_lines_keeps_line_numbers() -> None:
    text = "<!--\n# [[User:Hidden]]\n\n-->\n# [[User:Shown]]\n"
    assert [(s.username, s.line) for s in page(text).signups] == [("Shown", 5)]


def test_unknown_wiki_uses_english_names() -> None:
    assert names(page("# [[User:X]]\n# [[వాడుకరి:Y]]", wiki="nosuchwiki")) == ["X"]


def test_template_field_mapping_and_later_parameter_wins() -> None:
    template = TemplateConfig("Join", fields={"1": "username", "lang": "community"})
    result = page("* {{join|A|lang=te|lang=Telugu|note=|extra= x  y }}",
                  formats=["template"], template=template)
    (signup,) = result.signups
    assert signup.fields == {"community": "Telugu", "extra": "x y"}
    assert signup.kind is SignUpKind.TEMPLATE


def test_template_format_off_means_signature() -> None:
    template = TemplateConfig("Join")
    result = page("# {{Join|A}} [[User:B]] 10:00 (UTC)", formats=["signatures"],
                  template=template)
    assert names(result) == ["B"]


def test_signups_json_shape() -> None:
    result = page("== S ==\n# [[:te:User:A]] 10:00 (UTC)\n# nobody\n")
    data = signups_json(result)
    assert data["signups"] == [{
        "username": "A", "home_wiki": "tewiki", "status": "registered", "section": "S",
        "fields": {}, "line": 2, "raw": "# [[:te:User:A]] 10:00 (UTC)", "kind": "signature",
        "source": "P",
    }]
    (problem,) = data["problems"]
    assert problem["kind"] == "unparseable"
    assert (problem["line"], problem["raw"], problem["username"]) == (3, "# nobody", None)
    assert "names no user" in problem["message"]
    json.dumps(data)  # JSON-ready


def test_application_prefers_template_over_path_and_signature() -> None:
    config = RegistrationSource(prefix="E/Applications", formats=["application"],
                                template=TemplateConfig("Apply", fields={"1": "username"}))
    text = "{{Apply|Chosen|why=Because}}\n[[User:Other]] 10:00 (UTC)\n"
    result = parse_application(text, source="E/Applications/Pathname", wiki="metawiki",
                               config=config)
    (signup,) = result.signups
    assert (signup.username, signup.kind, signup.line) == ("Chosen", SignUpKind.APPLICATION, 1)
    assert signup.fields == {"why": "Because"}


@pytest.mark.parametrize("text", [
    "{{" * 300_000,
    "# " + "[[User:X|" * 100_000,
    "# " + "{{u|" * 100_000 + "X" + "}}" * 100_000,
    "{{Join|" * 50_000 + "}}" * 50_000,
    "{|\n" * 50_000 + "! Username\n" + "| colspan=99999 rowspan=99999 | x\n" * 2000,
    "<!--" + "x" * 1_000_000,
    "<pre>" * 100_000,
    "# " + "<s>" * 100_000 + "[[User:X]]",
    "=" * 1_000_000,
    "# " + "1:11 (" * 100_000,
    "\x00" * 1_000_000,
])
def test_hostile_input_neither_crashes_nor_hangs(text: str) -> None:
    config = RegistrationSource(page="P", formats=["signatures", "template", "table"],
                                template=TemplateConfig("Join"))
    started = time.perf_counter()
    parse_page(text, source="P", wiki="tewiki", config=config)
    parse_application(text, source="P/X", wiki="tewiki", config=config)
    # A generous bound: a hang or quadratic blow-up takes minutes, not seconds.
    assert time.perf_counter() - started < 30
