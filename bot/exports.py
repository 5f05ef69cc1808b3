"""Participant lists as CSV, JSON, a MassMessage delivery list and wikitext (pure).

Every rendering is deterministic: the same `Compiled` gives byte-identical text, so a bot-owned
section that has not changed is not edited again. In wikitext, every string a participant
typed goes through `bot.escape`; in CSV, cells that a spreadsheet would run as a formula are
defused. File formats (CSV, JSON) end with a newline; wikitext fragments do not.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.escape import inert, inert_target, user_link
from bot.models import Participant, Problem, SignUp, Status, UserInfo
from bot.participants import Compiled, summary
from bot.usernames import InvalidUsername, normalise

if TYPE_CHECKING:
    from bot.alumni import PersonHistory

#: Shown for someone who took part in none of the programme's earlier iterations.
FIRST_TIME = "first time"

__all__ = [
    "CSV_HEADER",
    "FIRST_TIME",
    "problems_wikitext",
    "to_csv",
    "to_json",
    "to_massmessage",
    "to_wikitext",
]

CSV_HEADER: tuple[str, ...] = (
    "username",
    "status",
    "statuses",
    "home_wiki",
    "community",
    "region",
    "affiliation",
    "fields",
    "sources",
    "problems",
)

# Spreadsheets run a cell starting with one of these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_DOMAIN = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*(?::\d{{1,5}})?$")
_CAMPAIGNEVENTS = re.compile(r"^campaignevents:(\d+)$")
_RAW_LIMIT = 150
_STATUS_ORDER = {status: index for index, status in enumerate(Status)}


# --- files --------------------------------------------------------------------------------


def to_csv(compiled: Compiled, history: Mapping[str, PersonHistory] | None = None) -> str:
    """One row per participant with the columns of `CSV_HEADER` (and `history`, the person's
    earlier iterations of the programme in words, when a `history` is given).

    `statuses` and `sources` are `;`-separated, `fields` is a JSON object with sorted keys,
    `problems` lists the problems naming the participant as `kind: message`. A cell that starts
    with `= + - @` (or a tab or line break) gets a leading `'` so a spreadsheet shows it
    instead of evaluating it.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*CSV_HEADER, *(["history"] if history is not None else [])])
    problems = _problems_by_user(compiled.problems)
    for participant in compiled.participants:
        row = [
            participant.username,
            participant.status.value,
            ";".join(status.value for status in _statuses(participant)),
            participant.home_wiki or "",
            participant.community or "",
            participant.fields.get("region", ""),
            participant.fields.get("affiliation", ""),
            json.dumps(dict(participant.fields), ensure_ascii=False, sort_keys=True),
            ";".join(f"{signup.source}:{signup.line}" for signup in participant.signups),
            "; ".join(
                f"{problem.kind.value}: {problem.message}"
                for problem in problems.get(participant.username, [])
            ),
        ]
        if history is not None:
            row.append(_history_text(history, participant.username))
        writer.writerow([_defuse(cell) for cell in row])
    return buffer.getvalue()


def to_json(compiled: Compiled, history: Mapping[str, PersonHistory] | None = None) -> str:
    """`{"participants": [...], "problems": [...]}` with every sign-up and account detail (and,
    with a `history`, each participant's earlier iterations as `{event, label, status}`)."""
    data = {
        "participants": [_participant_json(participant, history) for participant in compiled.participants],
        "problems": [_problem_json(problem) for problem in compiled.problems],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


# --- MassMessage --------------------------------------------------------------------------


def to_massmessage(
    participants: Iterable[Participant],
    *,
    default_site: str | None = None,
    site_of: Callable[[str], str | None] | None = None,
) -> str:
    """A MassMessage delivery list: `{{#target:User talk:NAME|SITE}}` per active participant.

    SITE is `site_of(home_wiki)` when that gives a domain (delivering to home wikis), else
    `default_site`; with neither the site is left out and MassMessage uses the local wiki.
    Withdrawn participants are left out. A name or site that could break the list raises
    `ValueError` rather than producing a list that delivers to the wrong place.
    """
    lines: list[str] = []
    for participant in participants:
        if not participant.active:
            continue
        try:
            name = normalise(participant.username)
        except InvalidUsername as exc:
            raise ValueError(f"cannot deliver to {participant.username!r}: {exc.reason}") from exc
        target = inert_target(f"User talk:{name}")
        site = None
        if site_of is not None and participant.home_wiki:
            site = site_of(participant.home_wiki)
        site = site or default_site
        if site is None:
            lines.append(f"{{{{#target:{target}}}}}")
            continue
        if not _DOMAIN.match(site):
            raise ValueError(f"{site!r} is not a wiki domain like meta.wikimedia.org")
        lines.append(f"{{{{#target:{target}|{site}}}}}")
    return "\n".join(lines)


# --- wikitext -----------------------------------------------------------------------------


def to_wikitext(compiled: Compiled, *, now_label: str,
                history: Mapping[str, PersonHistory] | None = None) -> str:
    """The body of the bot-owned participants section.

    A count line, a sortable table of active participants (with a column of earlier iterations
    of the programme when a `history` is given), a smaller table of withdrawn ones,
    then the problems table (when there are problems). `now_label` is accepted for the caller
    but deliberately not rendered: the caller appends its own "last updated" stamp, which the
    section comparison ignores, so unchanged data gives byte-identical text and no edit.
    """
    del now_label  # see the docstring: a timestamp in the body would make every run an edit
    counts = summary(compiled)
    active = [participant for participant in compiled.participants if participant.active]
    withdrawn = [participant for participant in compiled.participants if not participant.active]
    line = f"'''{counts['active']}''' {'participant' if counts['active'] == 1 else 'participants'}"
    if withdrawn:
        line += f" ({len(withdrawn)} withdrawn)"
    parts = [line + "."]

    if active:
        rows = [
            [
                str(number),
                _user(participant),
                _cell(participant.community),
                _cell(participant.fields.get("region")),
                _cell(participant.fields.get("affiliation")),
                participant.status.value,
                _signed_up_on(participant.signups),
                *([inert(_history_text(history, participant.username))] if history is not None else []),
            ]
            for number, participant in enumerate(active, 1)
        ]
        headers = [
            "Participant",
            "Community",
            "Region",
            "Affiliation",
            "Status",
            "Signed up on",
            *(["Earlier iterations"] if history is not None else []),
        ]
        parts.append(_table("Participants", headers, rows, numbered=True))
    else:
        parts.append("No one has signed up yet.")

    if withdrawn:
        rows = [
            [str(number), _user(participant), _signed_up_on(participant.signups)]
            for number, participant in enumerate(withdrawn, 1)
        ]
        parts.append(
            _table(
                "Withdrawn",
                ["Participant", "Signed up on"],
                rows,
                numbered=True,
                style="font-size: 90%;",
            )
        )

    problems = problems_wikitext(compiled.problems)
    if problems:
        parts.append(problems)
    return "\n\n".join(parts)


def problems_wikitext(problems: Sequence[Problem]) -> str:
    """A table of problems for organisers (kind, who, where, what), or "" when there are none.

    The message and the offending source line are participant data and are escaped; a long
    source line is cut to 150 characters.
    """
    if not problems:
        return ""
    rows = []
    for problem in problems:
        what = inert(problem.message)
        if problem.raw:
            what += f"<br /><code>{inert(_clip(problem.raw.strip(), _RAW_LIMIT))}</code>"
        rows.append(
            [
                problem.kind.value,
                _user_or_text(problem.username) if problem.username else "—",
                _where(problem.source, problem.line) if problem.source else "—",
                what,
            ]
        )
    return _table("Problems for organisers", ["Kind", "Who", "Where", "What"], rows)


# --- helpers ------------------------------------------------------------------------------


def _table(
    caption: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    numbered: bool = False,
    style: str = "",
) -> str:
    """A sortable wikitable; every cell must already be safe wikitext."""
    attributes = 'class="wikitable sortable"' + (f' style="{style}"' if style else "")
    lines = [f"{{| {attributes}", f"|+ {caption}"]
    head = [f"! {header}" for header in headers]
    if numbered:
        head.insert(0, '! data-sort-type="number" | #')
    lines.extend(head)
    for row in rows:
        lines.append("|-")
        lines.extend(f"| {cell}" for cell in row)
    lines.append("|}")
    return "\n".join(lines)


def _cell(value: str | None) -> str:
    return inert(value) if value else ""


def _user(participant: Participant) -> str:
    return _user_or_text(participant.username)


def _user_or_text(name: str) -> str:
    """A user link, or the escaped name when it is not a valid username (an unparseable entry)."""
    try:
        return user_link(name)
    except ValueError:  # InvalidUsername included
        return inert(name)


def _signed_up_on(signups: Sequence[SignUp]) -> str:
    """Each source once, in order of first appearance, with its lines (`[[:P|P]], lines 3, 9`)."""
    lines: dict[str, list[int]] = {}
    for signup in signups:
        seen = lines.setdefault(signup.source, [])
        if signup.line not in seen:
            seen.append(signup.line)
    return "<br />".join(_where(source, *numbers) for source, numbers in lines.items())


def _where(source: str, *lines: int | None) -> str:
    """A link to the source page (or a CampaignEvents label) and the line number(s)."""
    numbers = [str(line) for line in lines if line is not None]
    at = f", {'line' if len(numbers) == 1 else 'lines'} {', '.join(numbers)}" if numbers else ""
    match = _CAMPAIGNEVENTS.match(source)
    if match:
        return f"CampaignEvents registration {match.group(1)}"
    try:
        return f"[[:{inert_target(source)}|{inert(source)}]]{at}"
    except ValueError:
        return inert(source) + at


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _defuse(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _statuses(participant: Participant) -> list[Status]:
    return sorted(participant.statuses, key=_STATUS_ORDER.__getitem__)


def _problems_by_user(problems: Iterable[Problem]) -> dict[str, list[Problem]]:
    grouped: dict[str, list[Problem]] = {}
    for problem in problems:
        if problem.username:
            grouped.setdefault(problem.username, []).append(problem)
    return grouped


def _history_text(history: Mapping[str, PersonHistory], username: str) -> str:
    person = history.get(username)
    return (person.describe() if person is not None else "") or FIRST_TIME


def _participant_json(participant: Participant,
                      history: Mapping[str, PersonHistory] | None = None) -> dict[str, Any]:
    data = {
        "username": participant.username,
        "status": participant.status.value,
        "statuses": [status.value for status in _statuses(participant)],
        "home_wiki": participant.home_wiki,
        "community": participant.community,
        "fields": dict(sorted(participant.fields.items())),
        "user": _user_json(participant.user) if participant.user else None,
        "signups": [_signup_json(signup) for signup in participant.signups],
    }
    if history is not None:
        person = history.get(participant.username)
        data["history"] = [{"event": e.event_id, "label": e.label, "status": e.status.value}
                           for e in (person.entries if person is not None else ())]
    return data


def _signup_json(signup: SignUp) -> dict[str, Any]:
    return {
        "source": signup.source,
        "line": signup.line,
        "kind": signup.kind.value,
        "status": signup.status.value,
        "section": signup.section,
        "home_wiki": signup.home_wiki,
        "fields": dict(sorted(signup.fields.items())),
        "raw": signup.raw,
    }


def _user_json(info: UserInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "exists": info.exists,
        "user_id": info.user_id,
        "editcount": info.editcount,
        "registration": info.registration.isoformat() if info.registration else None,
        "groups": list(info.groups),
        "blocked": info.blocked,
        "renamed_to": info.renamed_to,
        "is_ip": info.is_ip,
        "is_temp": info.is_temp,
    }


def _problem_json(problem: Problem) -> dict[str, Any]:
    return {
        "kind": problem.kind.value,
        "message": problem.message,
        "source": problem.source,
        "line": problem.line,
        "username": problem.username,
        "raw": problem.raw,
    }
