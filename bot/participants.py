"""Merge sign-ups into participants and check them against what the wiki says (pure).

`compile_participants` turns every `SignUp` of one event (from any number of pages, formats and
CampaignEvents) into one `Participant` per person; `apply_user_info` attaches the wiki's account
data, follows renames and reports accounts an organiser should look at. Nothing is dropped:
every sign-up ends up in exactly one participant, and every oddity becomes a `Problem`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from bot.models import Participant, Problem, ProblemKind, SignUp, Status, UserInfo
from bot.usernames import try_normalise

__all__ = [
    "NOT_GIVEN",
    "Compiled",
    "apply_user_info",
    "by_community",
    "compile_participants",
    "summary",
]

#: The community label of participants who gave none.
NOT_GIVEN = "(not given)"

# Strongest first. WITHDRAWN is not ranked: it only wins when it is all there is.
_RANK: tuple[Status, ...] = (
    Status.ATTENDED,
    Status.SELECTED,
    Status.WAITLISTED,
    Status.REGISTERED,
)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Compiled:
    """Participants sorted by username (case-folded), and every problem found so far."""

    participants: list[Participant]
    problems: list[Problem]


def compile_participants(signups: Iterable[SignUp], problems: Iterable[Problem] = ()) -> Compiled:
    """Merge sign-ups into one participant per person; `problems` (from parsing) pass through.

    Sign-ups are grouped by normalised username, in input order. See `_build` for how one
    person's sign-ups become a participant and which problems that reports.
    """
    groups: dict[str, list[SignUp]] = {}
    for signup in signups:
        groups.setdefault(_key(signup.username), []).append(signup)
    participants: list[Participant] = []
    found: list[Problem] = list(problems)
    for name in sorted(groups, key=_sort_key):
        participant, own = _build(name, groups[name])
        participants.append(participant)
        found.extend(own)
    return Compiled(participants, found)


def apply_user_info(compiled: Compiled, users: Mapping[str, UserInfo]) -> Compiled:
    """Attach account data from the wiki and report accounts that need an organiser's look.

    `users` maps normalised usernames to `UserInfo`. A renamed account is listed under its new
    name (following chains of renames) and merged with anyone already listed under that name;
    merging rebuilds the person's sign-up problems under the new name. Unknown accounts, IP
    addresses and temporary accounts, blocked accounts and bots stay in the list with a problem
    each. Participants missing from `users` are left as they are (`user=None`). Call it once
    per compilation: it adds problems, it does not replace them.
    """
    # Resolve every participant to the name it is listed under from now on.
    targets: dict[str, list[tuple[Participant, list[str]]]] = {}
    for participant in compiled.participants:
        chain = _rename_chain(participant.username, users)
        targets.setdefault(chain[-1], []).append((participant, chain))

    problems = list(compiled.problems)
    rebuilt: list[Problem] = []
    validation: list[Problem] = []
    participants: list[Participant] = []
    for name, members in targets.items():
        # Whoever already holds the name comes first, so their fields win a merge.
        holders = [member for member in members if member[0].username == name]
        movers = [member for member in members if member[0].username != name]
        if not movers:
            merged = holders[0][0]
        else:
            for participant, _chain in members:
                for old in _build(participant.username, participant.signups)[1]:
                    if old in problems:
                        problems.remove(old)
            signups = [s for participant, _ in holders + movers for s in participant.signups]
            merged, own = _build(name, signups)
            rebuilt.extend(own)
        info = users.get(name)
        if info is None and movers:
            # The new name was not looked up itself: use what was said about the old name, which
            # (as `Farm.users` does it) describes the account under its new name.
            info = users.get(movers[0][1][-2])
        if info is not None:
            merged = replace(merged, user=info)
        participants.append(merged)
        for participant, chain in movers:
            validation.append(_renamed(participant, chain, merged_with_holder=bool(holders)))
        validation.extend(_account_problems(merged))

    participants.sort(key=lambda participant: _sort_key(participant.username))
    return Compiled(participants, problems + rebuilt + validation)


def summary(compiled: Compiled) -> dict[str, int]:
    """Counts for a report: one key per status value (zero included), then `active` (everyone
    not withdrawn), `total` and `problems`."""
    counts = Counter(participant.status for participant in compiled.participants)
    result = {status.value: counts.get(status, 0) for status in Status}
    result["active"] = sum(1 for participant in compiled.participants if participant.active)
    result["total"] = len(compiled.participants)
    result["problems"] = len(compiled.problems)
    return result


def by_community(participants: Iterable[Participant]) -> list[tuple[str, int]]:
    """Active participants per community, most first, then by name.

    Labels that differ only in case or spacing count as one community, shown in the spelling
    most participants used (the first seen on a tie). Participants who gave no community are
    counted under `NOT_GIVEN`.
    """
    counts: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    for participant in participants:
        if not participant.active:
            continue
        label = _SPACES.sub(" ", participant.community or "").strip() or NOT_GIVEN
        key = _fold(label)
        counts[key] += 1
        spellings.setdefault(key, Counter())[label] += 1
    rows = [(spellings[key].most_common(1)[0][0], count) for key, count in counts.items()]
    return sorted(rows, key=lambda row: (-row[1], row[0].casefold(), row[0]))


# --- building one participant -------------------------------------------------------------


def _build(name: str, signups: Sequence[SignUp]) -> tuple[Participant, list[Problem]]:
    """One person's sign-ups → their participant record and the problems they show.

    - status: the strongest status of the sign-ups that are not withdrawn; WITHDRAWN only when
      every sign-up is (so striking a line and signing again counts as signed up).
    - fields and home wiki: first non-empty value wins, taking sign-ups that are not withdrawn
      first; withdrawn sign-ups only fill gaps. Two values that differ after folding case and
      whitespace are a CONFLICT, but only between sign-ups that still count (a person who
      struck an entry and re-signed with corrected details has no conflict).
    - signing twice in one place (same source, kind and section, different lines, neither
      withdrawn) is a DUPLICATE; the same person in two sources, or in two sections of one page
      (e.g. "Participants" and "Selected participants"), is normal.
    - a withdrawn participant gets an informational WITHDRAWN problem; so does one who withdrew
      in one source but is still signed up in another.
    """
    statuses = frozenset(signup.status for signup in signups)
    status = next((rank for rank in _RANK if rank in statuses), Status.WITHDRAWN)
    counting = [signup for signup in signups if signup.status is not Status.WITHDRAWN]
    withdrawn = [signup for signup in signups if signup.status is Status.WITHDRAWN]
    problems: list[Problem] = []

    fields: dict[str, str] = {}
    field_origin: dict[str, SignUp] = {}
    home_wiki: str | None = None
    home_origin: SignUp | None = None
    reported: set[tuple[str, str]] = set()
    reported_wikis: set[str] = set()
    for signup in [*counting, *withdrawn]:
        checked = not counting or signup.status is not Status.WITHDRAWN
        for field_name, raw_value in signup.fields.items():
            value = raw_value.strip()
            if not value:
                continue
            if field_name not in fields:
                fields[field_name] = value
                field_origin[field_name] = signup
            elif checked and _fold(value) != _fold(fields[field_name]):
                key = (field_name, _fold(value))
                if key not in reported:
                    reported.add(key)
                    first = field_origin[field_name]
                    problems.append(
                        _conflict(name, field_name, fields[field_name], first, value, signup)
                    )
        wiki = (signup.home_wiki or "").strip()
        if not wiki:
            continue
        if home_wiki is None or home_origin is None:
            home_wiki, home_origin = wiki, signup
        elif checked and _fold(wiki) != _fold(home_wiki):
            if _fold(wiki) not in reported_wikis:
                reported_wikis.add(_fold(wiki))
                problems.append(_conflict(name, "home wiki", home_wiki, home_origin, wiki, signup))

    problems[:0] = _duplicates(name, counting)
    if not counting:
        first = signups[0]
        problems.append(
            Problem(
                ProblemKind.WITHDRAWN,
                f"{name} withdrew ({_places(withdrawn)}); kept in the list, not counted.",
                first.source,
                first.line,
                name,
                first.raw,
            )
        )
    else:
        active_sources = {signup.source for signup in counting}
        elsewhere = [signup for signup in withdrawn if signup.source not in active_sources]
        if elsewhere:
            first = elsewhere[0]
            problems.append(
                Problem(
                    ProblemKind.WITHDRAWN,
                    f"{name} withdrew ({_places(elsewhere)}) but is still signed up "
                    f"({_places(counting)}); counted as {status.value}.",
                    first.source,
                    first.line,
                    name,
                    first.raw,
                )
            )

    participant = Participant(
        username=name,
        status=status,
        statuses=statuses,
        signups=tuple(signups),
        home_wiki=home_wiki,
        fields=fields,
    )
    return participant, problems


def _duplicates(name: str, counting: Sequence[SignUp]) -> list[Problem]:
    first_in_place: dict[tuple[str, str, str | None], SignUp] = {}
    problems: list[Problem] = []
    for signup in counting:
        place = (signup.source, signup.kind.value, signup.section)
        first = first_in_place.setdefault(place, signup)
        if first is signup or first.line == signup.line:
            continue
        section = f", section {signup.section!r}" if signup.section else ""
        problems.append(
            Problem(
                ProblemKind.DUPLICATE,
                f"{name} signed up more than once on {signup.source}{section} "
                f"(lines {first.line} and {signup.line}); counted once.",
                signup.source,
                signup.line,
                name,
                signup.raw,
            )
        )
    return problems


def _conflict(
    name: str, field_name: str, kept: str, first: SignUp, other: str, second: SignUp
) -> Problem:
    return Problem(
        ProblemKind.CONFLICT,
        f"{name} gave two values for {field_name}: {kept!r} ({_place(first)}) and {other!r} "
        f"({_place(second)}); keeping {kept!r}.",
        second.source,
        second.line,
        name,
        second.raw,
    )


# --- validation against the wiki ------------------------------------------------------------


def _rename_chain(name: str, users: Mapping[str, UserInfo]) -> list[str]:
    """`[name, renamed, renamed again, ...]` following `renamed_to`, stopping at a cycle."""
    chain = [name]
    info = users.get(name)
    while info is not None and info.renamed_to:
        new = _key(info.renamed_to)
        if new in chain:
            break
        chain.append(new)
        info = users.get(new)
    return chain


def _renamed(old: Participant, chain: list[str], *, merged_with_holder: bool) -> Problem:
    first = old.signups[0]
    via = f" (via {', '.join(chain[1:-1])})" if len(chain) > 2 else ""
    also = f"; merged with the sign-up(s) already under {chain[-1]}" if merged_with_holder else ""
    return Problem(
        ProblemKind.RENAMED,
        f"{chain[0]} was renamed to {chain[-1]}{via}; listed as {chain[-1]}{also}.",
        first.source,
        first.line,
        chain[-1],
        first.raw,
    )


def _account_problems(participant: Participant) -> list[Problem]:
    info = participant.user
    if info is None:
        return []
    first = participant.signups[0]
    name = participant.username

    def problem(kind: ProblemKind, message: str) -> Problem:
        return Problem(kind, message, first.source, first.line, name, first.raw)

    problems: list[Problem] = []
    if info.is_ip or info.is_temp:
        what = "an IP address" if info.is_ip else "a temporary account"
        problems.append(
            problem(ProblemKind.IP_ADDRESS, f"{name} is {what}, not a registered user.")
        )
    elif not info.exists and not info.renamed_to:
        problems.append(problem(ProblemKind.UNKNOWN_USER, f"There is no account named {name}."))
    if info.blocked:
        problems.append(problem(ProblemKind.BLOCKED, f"{name} is blocked."))
    if info.is_bot:
        problems.append(problem(ProblemKind.BOT_ACCOUNT, f"{name} is a bot account."))
    return problems


# --- helpers ---------------------------------------------------------------------------------


def _key(username: str) -> str:
    """The name a person is grouped under: normalised again, in case a parser did not."""
    return try_normalise(username) or username


def _sort_key(name: str) -> tuple[str, str]:
    return (name.casefold(), name)


def _fold(value: str) -> str:
    return _SPACES.sub(" ", value).strip().casefold()


def _place(signup: SignUp) -> str:
    return f"{signup.source} line {signup.line}"


def _places(signups: Sequence[SignUp]) -> str:
    return ", ".join(_place(signup) for signup in signups)
