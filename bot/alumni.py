"""Alumni history: what each person did across the iterations of a programme (pure core, thin edge).

A programme (Train the Trainer, say) is a list of events in order: TTT 2023, 2024, 2025 and the
current one. `history` turns the compiled participant list of each event into one
`PersonHistory` per person, so reports, audience filters and eligibility rules can ask
"did this person attend TTT 2024?" or show "attended TTT 2023 and 2024, applied 2026".

Renamed accounts need no extra work: `pipeline.compile_event` already lists a renamed account
under its new name, so sign-ups made under an old name in 2023 and a new one in 2026 meet here.

A programme file looks like this (`config/programmes/ttt.yaml`):

    id: ttt
    title: TTT
    events:                       # oldest first; a path (relative to this file) or a mapping
      - file: ../events/ttt-2023.yaml
        label: "2023"
      - event: {id: ttt-2024, title: ..., ...}   # an inline event, same schema as event files
    current: ttt-2026             # optional; default: the last event

The `screening:` key of the same file is read by `bot.screening.load_rules`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import (
    ConfigError,
    ConfigIssue,
    EventConfig,
    _Builder,
    _Lined,
    load_event,
    read_yaml,
)
from bot.models import ProblemKind, Status
from bot.participants import Compiled

__all__ = [
    "HistoryEntry",
    "LoadedProgramme",
    "PersonHistory",
    "ProgrammeConfig",
    "ProgrammeEvent",
    "earlier",
    "event_programme",
    "history",
    "load_history",
    "load_programme",
    "parse_programme",
    "programme_from_events",
]

log = logging.getLogger(__name__)

#: How each status reads in a sentence, in the order groups are shown.
_VERBS: tuple[tuple[Status, str], ...] = (
    (Status.ATTENDED, "attended"),
    (Status.SELECTED, "selected for"),
    (Status.WAITLISTED, "waitlisted for"),
    (Status.REGISTERED, "applied"),
    (Status.WITHDRAWN, "withdrew from"),
)

#: Keys of a programme file read by other modules (ignored here).
_OTHER_KEYS = ("screening",)


# --- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgrammeEvent:
    """One iteration: an event file (`file`, relative to the programme file) or an inline
    `event` mapping, and the short `label` used in sentences (default: the start year)."""

    file: str | None = None
    event: EventConfig | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        if (self.file is None) == (self.event is None):
            raise ValueError("expected exactly one of 'file' (an event file) or 'event' (an inline event)")


@dataclass(frozen=True)
class ProgrammeConfig:
    """A programme: its iterations in order (oldest first) and which one is current."""

    id: str
    title: str
    events: list[ProgrammeEvent]
    current: str | None = None


@dataclass(frozen=True)
class LoadedProgramme:
    """A programme with every event file read: events in order, and their labels by id."""

    config: ProgrammeConfig
    events: list[EventConfig]
    labels: dict[str, str]

    @property
    def current(self) -> EventConfig:
        """The current event (`current:`, or the last one)."""
        wanted = self.config.current
        for event in self.events:
            if event.id == wanted:
                return event
        return self.events[-1]

    @property
    def past(self) -> list[EventConfig]:
        """Every event before the current one."""
        current = self.current
        return [e for e in self.events if e.id != current.id]


def parse_programme(data: Any, source: str) -> ProgrammeConfig:
    """Validate a parsed programme mapping. A plain string in `events` is a file path."""
    if isinstance(data, Mapping):
        data = _normalised(data)
    builder = _Builder()
    programme = builder.build(ProgrammeConfig, data, "", getattr(data, "line", None))
    if isinstance(programme, ProgrammeConfig) and not programme.events:
        builder.add("events", "expected at least one event", None)
    if builder.issues:
        raise ConfigError(source, builder.issues)
    assert isinstance(programme, ProgrammeConfig)
    return programme


def _normalised(data: Mapping[str, Any]) -> Mapping[str, Any]:
    copy = _Lined({k: v for k, v in data.items() if k not in _OTHER_KEYS})
    copy.line = getattr(data, "line", None)
    copy.key_lines = dict(getattr(data, "key_lines", {}))
    events = copy.get("events")
    if isinstance(events, list):
        copy["events"] = [{"file": item} if isinstance(item, str) else item for item in events]
    return copy


def load_programme(path: str | Path) -> LoadedProgramme:
    """Read a programme file and every event it names (paths relative to the programme file).

    Raises `ConfigError` (naming the file, line and key) for a bad programme or event file.
    """
    path = Path(path)
    source = str(path)
    data = read_yaml(path)
    config = parse_programme(data, source)
    events: list[EventConfig] = []
    for item in config.events:
        if item.file is not None:
            events.append(load_event(path.parent / item.file))
        else:
            assert item.event is not None
            events.append(item.event)
    return _loaded(config, events, source)


def programme_from_events(config: ProgrammeConfig, events: Sequence[EventConfig]) -> LoadedProgramme:
    """A programme whose events are already loaded (as `load_programme` would), in order."""
    return _loaded(config, list(events), config.id)


def _loaded(config: ProgrammeConfig, events: list[EventConfig], source: str) -> LoadedProgramme:
    ids = [e.id for e in events]
    issues: list[ConfigIssue] = []
    if len(set(ids)) != len(ids):
        issues.append(ConfigIssue("events", f"event ids must be unique, got {', '.join(ids)}"))
    if config.current is not None and config.current not in ids:
        issues.append(ConfigIssue("current", f"no event {config.current!r} in events ({', '.join(ids)})"))
    if issues:
        raise ConfigError(source, issues)
    labels = {event.id: item.label or str(event.start.year) for item, event in zip(config.events, events,
                                                                                     strict=True)}
    return LoadedProgramme(config=config, events=events, labels=labels)


# --- the pure core ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """One person in one event: the event's id, its short label and the person's status."""

    event_id: str
    label: str
    status: Status


@dataclass(frozen=True)
class PersonHistory:
    """One person's part in each iteration they signed up for, oldest first."""

    username: str
    entries: tuple[HistoryEntry, ...] = ()
    programme: str = ""

    def status(self, event_id: str) -> Status | None:
        """The person's status in `event_id`, or None when they never signed up for it."""
        for entry in self.entries:
            if entry.event_id == event_id:
                return entry.status
        return None

    def attended(self, event_id: str | None = None) -> bool:
        """True if they attended `event_id` (any event when None)."""
        return self._has({Status.ATTENDED}, event_id)

    def applied(self, event_id: str | None = None) -> bool:
        """True if they signed up for `event_id` at all (withdrawn sign-ups included)."""
        return any(event_id is None or e.event_id == event_id for e in self.entries)

    def took_part(self, statuses: Iterable[Status], events: Iterable[str]) -> list[str]:
        """The ids among `events` where the person's status is one of `statuses`."""
        wanted = set(statuses)
        chosen = set(events)
        return [e.event_id for e in self.entries if e.event_id in chosen and e.status in wanted]

    def _has(self, statuses: set[Status], event_id: str | None) -> bool:
        return any(e.status in statuses and (event_id is None or e.event_id == event_id)
                   for e in self.entries)

    def describe(self) -> str:
        """A sentence such as "attended TTT 2023 and 2024, applied 2026" (empty if no entries).

        Events are grouped by status (attended first, withdrawn last); the programme's title is
        named once, in front of the first group.
        """
        parts: list[str] = []
        for status, verb in _VERBS:
            labels = [e.label for e in self.entries if e.status is status]
            if not labels:
                continue
            title = f"{self.programme} " if self.programme and not parts else ""
            parts.append(f"{verb} {title}{_and(labels)}")
        return ", ".join(parts)


def history(compiled_by_event: Mapping[str, Compiled], *, labels: Mapping[str, str] | None = None,
            programme: str = "") -> dict[str, PersonHistory]:
    """Each person's history across events, keyed by username (sorted like participant lists).

    `compiled_by_event` maps event ids to compiled (and validated) participant lists, in
    programme order; `labels` gives each event's short label (default: the id).
    """
    entries: dict[str, list[HistoryEntry]] = {}
    for event_id, compiled in compiled_by_event.items():
        label = (labels or {}).get(event_id, event_id)
        for person in compiled.participants:
            entries.setdefault(person.username, []).append(HistoryEntry(event_id, label, person.status))
    return {name: PersonHistory(name, tuple(items), programme) for name, items in sorted(entries.items())}


def _and(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --- the edge -------------------------------------------------------------------------------


@dataclass
class ProgrammeHistory:
    """Alumni history with what it was built from."""

    people: dict[str, PersonHistory]
    compiled: dict[str, Compiled] = field(default_factory=dict)


def load_history(programme: LoadedProgramme, farm: Any, *, include_current: bool = True,
                 only: Iterable[str] | None = None,
                 known: Mapping[str, Compiled] | None = None) -> ProgrammeHistory:
    """Compile every event of the programme from the wiki (`pipeline.compile_event`) and merge
    the lists into each person's history. Without `include_current`, only past events count;
    `only` limits it to these event ids; an event in `known` (already compiled, such as the
    event being run) is not compiled again."""
    from bot import pipeline

    chosen = programme.events if include_current else programme.past
    if only is not None:
        wanted = set(only)
        chosen = [e for e in chosen if e.id in wanted]
    compiled: dict[str, Compiled] = {}
    for event in chosen:
        if known is not None and event.id in known:
            compiled[event.id] = known[event.id]
            continue
        compiled[event.id], pages = pipeline.compile_event(event, farm)
        log.info("%s: %d people from %d pages", event.id, len(compiled[event.id].participants), pages)
        for problem in compiled[event.id].problems:
            if problem.kind is ProblemKind.SOURCE_ERROR:  # a missing page would make everyone "new"
                log.warning("%s (an earlier iteration): %s", event.id, problem.message)
    people = history(compiled, labels=programme.labels, programme=programme.config.title)
    return ProgrammeHistory(people=people, compiled=compiled)


def unknown_events(programme: LoadedProgramme, ids: Iterable[str]) -> list[str]:
    """The ids among `ids` that are not events of the programme."""
    known = {event.id for event in programme.events}
    return [event_id for event_id in dict.fromkeys(ids) if event_id not in known]


def earlier(programme: LoadedProgramme, event_id: str) -> list[str]:
    """The ids of the programme's events before `event_id` (all of them when it is not one)."""
    ids = [event.id for event in programme.events]
    return ids[: ids.index(event_id)] if event_id in ids else ids


def event_programme(event: EventConfig) -> LoadedProgramme | None:
    """The programme an event names (`programme:`), checked against the event's campaigns:
    an alumni filter naming an event the programme does not have is an error (a typo would
    otherwise silently match nobody). None when the event names no programme.

    Raises `ConfigError` for an unreadable programme or an unknown event id.
    """
    if event.programme is None:
        return None
    programme = load_programme(event.programme)
    known = ", ".join(e.id for e in programme.events)
    issues = [
        ConfigIssue(f"campaigns[{index}].audience",
                    f"{event_id!r} is not an event of the programme {programme.config.id!r} "
                    f"({event.programme}); its events are {known}")
        for index, campaign in enumerate(event.campaigns)
        for event_id in unknown_events(programme, campaign.audience.alumni_events)
    ]
    if issues:
        raise ConfigError(f"event {event.id}", issues)
    return programme
