"""Participants' contributions, fetched incrementally from every wiki they edit.

The store remembers, per wiki and user, the span of time whose contributions are all stored
(`FetchMark`). A run asks the wiki only for what lies after that span, so an unchanged re-run
costs one request per batch of 50 users per wiki. Users whose spans end at the same moment
are fetched together, which keeps batches full.

Every run reports the requests it made next to the lower bound: per wiki, one request per
batch of users (or more when a batch's contributions need continuation pages), plus the
page-info checks for created pages.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.config import EventConfig
from bot.models import Contribution, Participant
from bot.store import Store
from bot.wiki import Farm

__all__ = ["CollectReport", "WikiCost", "collect", "fetch_range", "global_wikis", "plan_wikis"]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass
class WikiCost:
    """Requests one wiki cost, next to the least a perfect client would need."""

    wiki: str
    users: int
    requests: int = 0
    lower_bound: int = 0
    fetched: int = 0
    new: int = 0


@dataclass
class CollectReport:
    start: datetime
    end: datetime
    wikis: dict[str, WikiCost] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(w.requests for w in self.wikis.values())

    @property
    def lower_bound(self) -> int:
        return sum(w.lower_bound for w in self.wikis.values())


def fetch_range(event: EventConfig, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the contributions statistics need: from the baseline's start to the end
    of the last after-window or retention window, but never past `now`."""
    start = event.starts_at - timedelta(days=event.stats.baseline_days)
    longest = max([0, *event.stats.after_days, *(2 * d for d in event.stats.retention_days)])
    end = min(now, event.ends_at + timedelta(days=longest))
    return start, max(start, end)


def plan_wikis(event: EventConfig, participants: Sequence[Participant],
               global_wikis: Mapping[str, Sequence[str]] | None = None) -> dict[str, list[str]]:
    """Which users to ask each wiki about: everyone on the event's wikis, each participant on
    their home wiki, and (on Wikimedia) on every wiki where their global account has edits."""
    plan: dict[str, list[str]] = defaultdict(list)
    active = [p for p in participants if p.active]
    for wiki in event.all_wikis:
        plan[wiki].extend(p.username for p in active)
    for person in active:
        extra = [person.home_wiki] if person.home_wiki else []
        extra += list((global_wikis or {}).get(person.username, ()))
        for wiki in extra:
            if person.username not in plan[wiki]:
                plan[wiki].append(person.username)
    return {wiki: sorted(set(users)) for wiki, users in plan.items() if users}


def global_wikis(farm: Farm, store: Store, event: EventConfig, participants: Sequence[Participant],
                 now: datetime) -> dict[str, list[str]]:
    """On a wiki farm with global accounts (CentralAuth), the wikis each participant has edited,
    asked at most once a week per person (kept in the store); wikis the configured family does
    not know are dropped with a log line. Empty where there are no global accounts."""
    if not farm.has_extension(event.wiki, "CentralAuth"):
        return {}
    names = [p.username for p in participants if p.active]
    known = store.global_wikis(names, newer_than=now - timedelta(days=7))
    missing = [n for n in names if n not in known]
    if missing:
        fresh = farm.global_wikis(event.wiki, missing)
        store.save_global_wikis(fresh, now)
        known.update(fresh)
    usable: dict[str, list[str]] = {}
    for name, wikis in known.items():
        usable[name] = [w for w in wikis if farm.knows(w)]
        for wiki in sorted(set(wikis) - set(usable[name])):
            log.info("%s has edits on %s, which this wiki family does not include", name, wiki)
    return usable


def collect(event: EventConfig, participants: Sequence[Participant], farm: Farm, store: Store,
            now: datetime, *, accounts: Mapping[str, Sequence[str]] | None = None,
            progress: Progress | None = None) -> tuple[list[Contribution], CollectReport]:
    """Fetch what is new since the last run, store it, and return every stored contribution of
    the participants within the statistics range. `accounts` (user → wikis with edits) is
    looked up through `global_wikis` when not given."""
    start, end = fetch_range(event, now)
    report = CollectReport(start=start, end=end)
    if accounts is None:
        accounts = global_wikis(farm, store, event, participants, now)
    everything: list[Contribution] = []
    for wiki, users in plan_wikis(event, participants, accounts).items():
        cost = WikiCost(wiki=wiki, users=len(users))
        report.wikis[wiki] = cost
        before = farm.requests[wiki]
        marks = store.fetch_marks(wiki, users)
        groups: dict[datetime, list[str]] = defaultdict(list)
        origin: dict[str, datetime] = {}
        for user in users:
            mark = marks.get(user)
            if mark is not None and mark.fetched_from <= start and mark.fetched_until >= start:
                groups[mark.fetched_until].append(user)
                origin[user] = mark.fetched_from
            else:
                groups[start].append(user)
                origin[user] = start
        batch = farm.batch_size(wiki) if groups else 50
        limit = 5000 if batch > 50 else 500
        for since, group in sorted(groups.items()):
            if since >= end:
                continue  # already known up to the end of the range
            def report_batch(done: int, total: int, wiki: str = wiki) -> None:
                if progress is not None:
                    progress(wiki, done, total)
            fetched = farm.contributions(wiki, group, since, end, on_batch=report_batch)
            cost.fetched += len(fetched)
            cost.new += store.save_contributions(fetched)
            cost.lower_bound += _lower_bound(group, fetched, batch, limit)
            for first in sorted({origin[u] for u in group}):
                store.set_fetch_marks(wiki, [u for u in group if origin[u] == first], first, end)
        cost.requests = farm.requests[wiki] - before
        everything.extend(store.load_contributions(wiki, users, start, end))
        log.info("%s: %d users, %d contributions fetched (%d new), %d requests (lower bound %d)",
                 wiki, len(users), cost.fetched, cost.new, cost.requests, cost.lower_bound)
    return everything, report


def _lower_bound(users: Sequence[str], fetched: Sequence[Contribution], batch: int, limit: int) -> int:
    """Requests a perfect client needs: per batch of users, enough pages of `limit` rows for
    that batch's contributions (at least one), plus page-info checks for created pages."""
    per_user: dict[str, int] = defaultdict(int)
    for contribution in fetched:
        per_user[contribution.user] += 1
    needed = 0
    for offset in range(0, len(users), batch):
        rows = sum(per_user[u] for u in users[offset : offset + batch])
        needed += max(1, math.ceil(rows / limit))
    created = {c.page_id for c in fetched if c.created and c.namespace == 0 and c.page_id}
    return needed + math.ceil(len(created) / batch)
