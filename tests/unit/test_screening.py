"""Eligibility screening: each rule against hand-worked answers, and the rendered table."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot import screening
from bot.alumni import HistoryEntry, PersonHistory
from bot.config import ConfigError
from bot.models import Status, UserInfo
from bot.screening import (
    ApplicantCounts,
    Edit,
    MinAccountAge,
    MinActiveDays,
    MinEdits,
    NotAlumni,
    ScreeningRules,
)

IST = ZoneInfo("Asia/Kolkata")
LONG_AGO = datetime(2024, 1, 1, tzinfo=UTC)


def user(name: str, registration: datetime = LONG_AGO, blocked: bool = False) -> UserInfo:
    return UserInfo(name=name, exists=True, user_id=1, registration=registration, blocked=blocked)


def edits(wiki: str, ns: int, *stamps: str) -> tuple[Edit, ...]:
    return tuple(Edit(wiki, ns, datetime.fromisoformat(s.replace("Z", "+00:00"))) for s in stamps)


RULES = ScreeningRules(
    min_edits=[MinEdits(count=2, before=date(2026, 5, 1), namespaces=[0]),
               MinEdits(count=1, before=date(2026, 5, 1), namespaces=[4, 5], label="project edits")],
    min_active_days=[MinActiveDays(days=2, before=date(2026, 5, 1))],
    min_account_age=MinAccountAge(days=365, as_of=date(2026, 5, 1)),
    not_alumni_of=NotAlumni(events=["ttt-2023", "ttt-2024"]),
)


def test_an_applicant_passing_every_rule() -> None:
    counts = ApplicantCounts("Ravi", user("Ravi"), edits("metawiki", 0, "2026-04-01T00:00:00Z")
                             + edits("tewiki", 0, "2026-04-30T18:29:59Z")  # 23:59:59 IST on 30 April
                             + edits("metawiki", 4, "2026-04-02T00:00:00Z"))
    verdict = screening.screen(counts, RULES, IST, default_wikis=["metawiki", "tewiki"])
    assert verdict.eligible and verdict.reasons == []
    assert verdict.counts == {"main edits before 2026-05-01": "2", "project edits": "1",
                              "active days before 2026-05-01": "3", "account age on 2026-05-01": "850 days",
                              "earlier iterations": "none"}


def test_cutoffs_are_midnight_in_the_event_timezone() -> None:
    # 18:30Z on 30 April is midnight on 1 May in India: not before the cut-off.
    counts = ApplicantCounts("Ravi", user("Ravi"), edits("metawiki", 0, "2026-04-01T00:00:00Z",
                                                         "2026-04-30T18:30:00Z"))
    verdict = screening.screen(counts, ScreeningRules(min_edits=RULES.min_edits[:1]), IST)
    assert not verdict.eligible
    assert verdict.reasons == ["main edits before 2026-05-01: 1 (needs 2)"]


def test_account_age_is_counted_in_whole_days_to_the_as_of_date() -> None:
    rules = ScreeningRules(min_account_age=MinAccountAge(days=365, as_of=date(2026, 5, 1)))
    # Registered 20:00Z on 30 April 2025. 1 May 2026 starts at 18:30Z on 30 April in India: 364
    # days and 22.5 hours later; in UTC it starts at 00:00Z on 1 May: 365 days and 4 hours later.
    late = user("A", datetime(2025, 4, 30, 20, tzinfo=UTC))
    assert screening.screen(ApplicantCounts("A", late), rules, IST).reasons == [
        "account age on 2026-05-01: 364 days (needs 365 days)"]
    assert screening.screen(ApplicantCounts("A", late), rules, UTC).eligible
    unknown = UserInfo(name="B", exists=True, registration=None)
    assert screening.screen(ApplicantCounts("B", unknown), rules, UTC).reasons == [
        "account age on 2026-05-01: unknown (needs 365 days)"]


def test_rules_only_count_their_wikis_and_namespaces() -> None:
    rule = MinEdits(count=2, before=date(2026, 5, 1), namespaces=[0], wikis=["tewiki"])  # type: ignore[list-item]
    counts = ApplicantCounts("R", user("R"), edits("metawiki", 0, "2026-01-01T00:00:00Z")
                             + edits("tewiki", 0, "2026-01-01T00:00:00Z")
                             + edits("tewiki", 1, "2026-01-02T00:00:00Z"))
    verdict = screening.screen(counts, ScreeningRules(min_edits=[rule]), UTC, default_wikis=["metawiki"])
    assert verdict.counts == {"main edits before 2026-05-01": "1"}
    anywhere = ScreeningRules(min_edits=[MinEdits(count=2, before=date(2026, 5, 1))])
    both = screening.screen(counts, anywhere, UTC)
    assert both.counts == {"edits before 2026-05-01": "3"} and both.eligible


def test_active_days_count_distinct_local_days() -> None:
    counts = ApplicantCounts("R", user("R"), edits("metawiki", 0, "2026-01-01T10:00:00Z",
                                                   "2026-01-01T12:00:00Z",
                                                   "2026-01-01T19:00:00Z"))  # 00:30 on 2 January in India
    rules = ScreeningRules(min_active_days=[MinActiveDays(days=2, before=date(2026, 5, 1))])
    assert screening.screen(counts, rules, IST).eligible
    assert screening.screen(counts, rules, UTC).reasons == ["active days before 2026-05-01: 1 (needs 2)"]


def test_alumni_of_earlier_iterations_are_not_eligible() -> None:
    history = PersonHistory("K", (HistoryEntry("ttt-2023", "2023", Status.ATTENDED),
                                  HistoryEntry("ttt-2024", "2024", Status.REGISTERED),
                                  HistoryEntry("ttt-2026", "2026", Status.REGISTERED)), "TTT")
    rules = ScreeningRules(not_alumni_of=NotAlumni(events=["ttt-2023", "ttt-2024"]))
    verdict = screening.screen(ApplicantCounts("K", user("K")), rules, UTC, history=history)
    assert not verdict.eligible
    assert verdict.reasons == [
        "earlier iterations: attended in ttt-2023 (needs not attended in ttt-2023, ttt-2024)"]
    assert verdict.history == "attended TTT 2023, applied 2024 and 2026"
    # Applying without attending is no bar; nor is having no history at all.
    only_applied = PersonHistory("K", history.entries[1:], "TTT")
    assert screening.screen(ApplicantCounts("K", user("K")), rules, UTC, history=only_applied).eligible
    assert screening.screen(ApplicantCounts("K", user("K")), rules, UTC).eligible


def test_missing_blocked_and_ip_accounts() -> None:
    missing = screening.screen(ApplicantCounts("Ghost", UserInfo(name="Ghost", exists=False)), RULES, UTC)
    assert not missing.eligible and missing.reasons == ["account: not found (needs an existing account)"]
    assert screening.screen(ApplicantCounts("Ghost", None), RULES, UTC).reasons == missing.reasons
    ip = screening.screen(ApplicantCounts("192.0.2.1", UserInfo(name="192.0.2.1", exists=False, is_ip=True)),
                          RULES, UTC)
    assert ip.reasons == ["account: IP address or temporary account (needs an existing account)"]
    blocked = screening.screen(ApplicantCounts("B", user("B", blocked=True)), ScreeningRules(), UTC)
    assert blocked.reasons == ["account: blocked (needs not blocked)"]
    assert screening.screen(ApplicantCounts("B", user("B", blocked=True)),
                            ScreeningRules(allow_blocked=True), UTC).eligible


def test_table_and_csv() -> None:
    rules = ScreeningRules(min_edits=[MinEdits(count=1, before=date(2026, 5, 1))])
    asha = ApplicantCounts("Asha", user("Asha"), edits("metawiki", 0, "2026-01-01T00:00:00Z"))
    good = screening.screen(asha, rules, UTC)
    bad = screening.screen(ApplicantCounts("Ka'''ran", user("Ka'''ran")), rules, UTC)
    text = screening.screening_wikitext([good, bad], rules)
    assert text == (
        "2 applicants screened, 1 eligible.\n\n"
        '{| class="wikitable sortable"\n'
        "! Applicant !! Eligible !! edits before 2026-05-01 !! History !! Why not\n"
        "|-\n| [[User:Asha|Asha]] || yes || 1 ||  || \n"
        "|-\n| [[User:Ka'''ran|Ka&#39;&#39;&#39;ran]] || no || '''0''' ||  || "
        "edits before 2026-05-01&#58; 0 (needs 1)\n"
        "|}\n")
    rows = list(csv.reader(io.StringIO(screening.screening_csv([good, bad], rules))))
    assert rows == [["username", "eligible", "edits before 2026-05-01", "history", "why not"],
                    ["Asha", "yes", "1", "", ""],
                    ["Ka'''ran", "no", "0", "", "edits before 2026-05-01: 0 (needs 1)"]]


def test_rules_errors_name_the_key() -> None:
    with pytest.raises(ConfigError) as err:
        screening.parse_rules({"min_edits": [{"count": -1, "before": "2026-05-01"}, {"cout": 5}],
                               "not_alumni_of": {"events": ["x"], "statuses": ["alumni"]}}, "rules.yaml")
    text = str(err.value)
    assert "min_edits[0]: count: expected 0 or more, got -1" in text
    assert "min_edits[1].cout: unknown key; did you mean 'count'?" in text
    assert "not_alumni_of.statuses[0]: expected one of registered" in text
