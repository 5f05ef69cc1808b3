"""Event configuration: typed dataclasses loaded from YAML with errors an organiser can act on.

Every error names the file, the line, the key path (`registration[0].template.name`) and what
was expected; an unknown key suggests the closest valid one. All problems in a file are reported
at once, so an organiser fixes them in one pass. The same schema is used for on-wiki
configuration later: `parse_event` takes an already-parsed mapping and a source name.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal, NewType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.campaigns import CampaignConfig
from bot.models import Status

__all__ = [
    "DEFAULT_USER_TEMPLATES",
    "ConfigError",
    "ConfigIssue",
    "DeliveryConfig",
    "EventConfig",
    "PagesConfig",
    "RegistrationSource",
    "ReportConfig",
    "StatsConfig",
    "TableConfig",
    "TemplateConfig",
    "load_event",
    "parse_event",
    "read_yaml",
]

SignUpFormat = Literal["signatures", "template", "table", "application"]
#: An IANA timezone name such as "Asia/Kolkata"; validated where it is read.
TimezoneName = NewType("TimezoneName", str)
#: A wiki's database name such as "metawiki" or "tewiki"; validated where it is read.
WikiName = NewType("WikiName", str)

#: User-link templates recognised in signature lists unless an event says otherwise.
DEFAULT_USER_TEMPLATES: tuple[str, ...] = ("u", "user", "noping", "ping", "user2", "user0")

_DBNAME = re.compile(r"^[a-z][a-z0-9_]*$")


# --- errors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigIssue:
    """One thing wrong with a configuration, located by key path and (for YAML) line."""

    path: str
    message: str
    line: int | None = None

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        key = f" {self.path}:" if self.path else ""
        return f"{where}:{key} {self.message}"


class ConfigError(ValueError):
    """A configuration that cannot be used. `str()` lists every issue, one per line."""

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        self.issues = issues
        super().__init__("\n".join(issue.render(source) for issue in issues))


# --- schema -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateConfig:
    """A sign-up template such as `{{TTT participant|username=...|community=...}}`.

    `fields` maps template parameters (names, or "1", "2" for positional ones) to field names;
    parameters not listed are kept under their own names. The field `username` names the user.
    """

    name: str
    aliases: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=lambda: {"1": "username"})


@dataclass(frozen=True)
class TableConfig:
    """A wikitable of sign-ups; `user_column` is matched against the header text."""

    user_column: str = "Username"


@dataclass(frozen=True)
class RegistrationSource:
    """Where sign-ups are read from: a page, a prefix of application subpages, or a
    CampaignEvents registration id."""

    page: str | None = None
    prefix: str | None = None
    campaignevents: int | None = None
    wiki: WikiName | None = None
    formats: list[SignUpFormat] = field(default_factory=list)
    template: TemplateConfig | None = None
    table: TableConfig | None = None
    sections: dict[str, Status] = field(default_factory=dict)
    user_templates: list[str] = field(default_factory=lambda: list(DEFAULT_USER_TEMPLATES))

    def __post_init__(self) -> None:
        # Without explicit formats: signed lines, plus whatever the source configures.
        if not self.formats:
            auto: list[SignUpFormat] = ["application"] if self.prefix else ["signatures"]
            if self.template is not None and not self.prefix:
                auto.append("template")
            if self.table is not None:
                auto.append("table")
            object.__setattr__(self, "formats", auto)

    @property
    def label(self) -> str:
        if self.page:
            return self.page
        if self.prefix:
            return f"{self.prefix}/*"
        return f"campaignevents:{self.campaignevents}"


@dataclass(frozen=True)
class PagesConfig:
    """Pages the bot reads or writes, on the event's wiki."""

    participants: str
    report: str
    event: str | None = None
    problems: str | None = None
    optout: str | None = None  # a list of users who asked for no messages
    delivery_log: str | None = None  # where follow-up deliveries are logged (default: report)


@dataclass(frozen=True)
class StatsConfig:
    """Statistics windows and definitions (see README, "Metrics")."""

    baseline_days: int = 90
    after_days: list[int] = field(default_factory=lambda: [30, 90, 180])
    retention_days: list[int] = field(default_factory=lambda: [30, 90])
    new_editor_days: int = 30
    new_editor_max_edits: int = 50


@dataclass(frozen=True)
class DeliveryConfig:
    """How follow-up messages are sent. `run_page` must say "yes" for the bot to send (the
    on-wiki emergency stop); `{bot}` is the bot's user name. `stop_file` is a local switch."""

    edits_per_minute: float = 6.0
    run_page: str = "User:{bot}/Run"
    stop_file: str | None = None
    massmessage: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.edits_per_minute <= 600:
            raise ValueError(f"edits_per_minute: expected a number above 0 and at most 600, "
                             f"got {self.edits_per_minute}")


@dataclass(frozen=True)
class ReportConfig:
    """What the report section on the wiki shows. With `charts`, the charts of the local report
    are uploaded (as `File:<chart_prefix><chart>.png`) and shown in the section; they are
    uploaded again only when they change."""

    charts: bool = False
    chart_prefix: str | None = None  # default: "eventbot <event id> "


@dataclass(frozen=True)
class EventConfig:
    """One event: when and where it happens, where people sign up, where results go."""

    id: str
    title: str
    start: date
    end: date
    timezone: TimezoneName
    pages: PagesConfig
    registration: list[RegistrationSource]
    wiki: WikiName = WikiName("metawiki")
    wikis: list[WikiName] = field(default_factory=list)
    location: str | None = None
    stats: StatsConfig = field(default_factory=StatsConfig)
    campaigns: list[CampaignConfig] = field(default_factory=list)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    #: A programme file (`bot.alumni`; relative to this file) whose earlier iterations give each
    #: participant's history: a column of the participant list, and campaign audiences
    #: `alumni_of` / `not_alumni_of`.
    programme: str | None = None

    def campaign(self, name: str) -> CampaignConfig:
        for campaign in self.campaigns:
            if campaign.name == name:
                return campaign
        known = ", ".join(c.name for c in self.campaigns) or "none"
        raise KeyError(f"{self.id} has no campaign {name!r} (campaigns: {known})")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def starts_at(self) -> datetime:
        """The first moment of the event: its start date at midnight in its timezone."""
        return datetime.combine(self.start, time(0), self.tz)

    @property
    def ends_at(self) -> datetime:
        """The end of the event's last whole day (exclusive), in its timezone."""
        return datetime.combine(self.end + timedelta(days=1), time(0), self.tz)

    @property
    def stats_end(self) -> date:
        """The local date on which the last statistics window (after-N, retention) has closed;
        the same span `collect.fetch_range` reads. After it the event's figures are final."""
        longest = max([0, *self.stats.after_days, *(2 * d for d in self.stats.retention_days)])
        return (self.ends_at + timedelta(days=longest)).date()

    @property
    def all_wikis(self) -> list[str]:
        """The event's own wiki followed by every other wiki it names, without repeats."""
        seen = dict.fromkeys([self.wiki, *self.wikis])
        for source in self.registration:
            if source.wiki:
                seen.setdefault(source.wiki)
        return list(seen)


# --- loading -------------------------------------------------------------------------------


class _Lined(dict[str, Any]):
    """A YAML mapping that remembers the line of each key."""

    line: int | None = None
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _Lined:
    mapping = _Lined()
    mapping.key_lines = {}
    mapping.line = node.start_mark.line + 1
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        mapping[str(key)] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[str(key)] = key_node.start_mark.line + 1
    return mapping


def _construct_timestamp_as_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    # Keep dates as text so that an impossible date (2026-07-32) is reported by the schema
    # with its key and line, instead of crashing inside the YAML parser.
    return str(loader.construct_scalar(node))


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp_as_text)


def read_yaml(path: str | Path) -> Any:
    """A YAML file's data, with every mapping remembering its keys' lines (for located errors).

    Raises `ConfigError` naming the file (and the line, for invalid YAML). Every configuration
    file (events, series, programmes, screening rules) is read through this.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(source, [ConfigIssue("", f"cannot read the file: {exc.strerror}")]) from exc
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, [ConfigIssue("", f"not valid YAML: {problem}", line)]) from exc


def load_event(path: str | Path) -> EventConfig:
    """Read and validate an event file. Raises `ConfigError` naming the file and each problem.
    A relative `programme:` path is made relative to the event file's folder."""
    event = parse_event(read_yaml(path), str(path), default_id=Path(path).stem)
    if event.programme is not None and not Path(event.programme).is_absolute():
        event = dataclasses.replace(event, programme=str(Path(path).parent / event.programme))
    return event


def parse_event(data: Any, source: str, default_id: str | None = None) -> EventConfig:
    """Validate an already-parsed mapping as an event configuration."""
    builder = _Builder()
    if isinstance(data, Mapping) and "id" not in data and default_id:
        data = _with_default(data, "id", default_id)
    event = builder.build(EventConfig, data, "", None)
    if isinstance(event, EventConfig):
        _check_event(event, data, builder)
    if builder.issues:
        raise ConfigError(source, builder.issues)
    assert isinstance(event, EventConfig)
    return event


def _with_default(data: Mapping[str, Any], key: str, value: Any) -> Mapping[str, Any]:
    copy = _Lined(data)
    copy.line = getattr(data, "line", None)
    copy.key_lines = dict(getattr(data, "key_lines", {}))
    copy[key] = value
    return copy


def _check_event(event: EventConfig, data: Any, builder: _Builder) -> None:
    """Rules that involve more than one key."""
    line = _line_of(data, "end")
    if event.end < event.start:
        builder.add("end", f"the event ends ({event.end}) before it starts ({event.start})", line)
    if not event.registration:
        builder.add("registration", "expected at least one registration source",
                    _line_of(data, "registration"))
    raw_sources = data.get("registration") if isinstance(data, Mapping) else None
    for index, src in enumerate(event.registration):
        raw = raw_sources[index] if isinstance(raw_sources, list) and index < len(raw_sources) else None
        path = f"registration[{index}]"
        given = [k for k in ("page", "prefix", "campaignevents") if getattr(src, k) is not None]
        if len(given) != 1:
            builder.add(path, "expected exactly one of 'page', 'prefix' (application subpages) or "
                              f"'campaignevents' (a registration id), got {len(given)}", _line_of(raw, None))
        if "template" in src.formats and src.template is None and src.page is not None:
            builder.add(f"{path}.template", "the 'template' format needs a 'template:' with at least a name",
                        _line_of(raw, "formats"))
        if "table" in src.formats and src.table is None:
            builder.add(f"{path}.table", "the 'table' format needs a 'table:' with a 'user_column'",
                        _line_of(raw, "formats"))
    seen: set[str] = set()
    for index, campaign in enumerate(event.campaigns):
        if campaign.name in seen:
            builder.add(f"campaigns[{index}].name", f"another campaign is already called "
                                                    f"{campaign.name!r}; names must be unique", None)
        seen.add(campaign.name)
        if campaign.audience.alumni_events and event.programme is None:
            builder.add(f"campaigns[{index}].audience",
                        "alumni_of / not_alumni_of name earlier events of a programme, but the event has "
                        "no 'programme:' (the programme file that lists them)", _line_of(data, "campaigns"))
    for key in ("participants", "report"):
        if isinstance(event.pages, PagesConfig) and not getattr(event.pages, key).strip():
            builder.add(f"pages.{key}", "expected a page title, got an empty string", None)


def _line_of(data: Any, key: str | None) -> int | None:
    if key is not None and isinstance(data, _Lined):
        return data.key_lines.get(key, data.line)
    return getattr(data, "line", None)


class _Missing:
    pass


_MISSING = _Missing()


class _Builder:
    """Turns plain data into the schema's dataclasses, collecting every issue on the way."""

    def __init__(self) -> None:
        self.issues: list[ConfigIssue] = []

    def add(self, path: str, message: str, line: int | None) -> None:
        self.issues.append(ConfigIssue(path, message, line))

    def build(self, tp: Any, value: Any, path: str, line: int | None) -> Any:
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            if value is None and type(None) in args:
                return None
            (inner,) = [a for a in args if a is not type(None)]
            return self.build(inner, value, path, line)
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            return self._dataclass(tp, value, path, line)
        if origin is list:
            if not isinstance(value, list):
                return self._wrong(path, "a list", value, line)
            return [self.build(args[0], item, f"{path}[{i}]", line) for i, item in enumerate(value)]
        if origin is dict:
            if not isinstance(value, Mapping):
                return self._wrong(path, "a mapping of key: value", value, line)
            lines = getattr(value, "key_lines", {})
            return {
                str(k): self.build(args[1], v, _join(path, str(k)), lines.get(str(k), line))
                for k, v in value.items()
            }
        if origin is Literal:
            if value not in args:
                return self._wrong(path, "one of " + ", ".join(map(str, args)), value, line)
            return value
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            choices = [m.value for m in tp]
            if value not in choices:
                return self._wrong(path, "one of " + ", ".join(choices), value, line)
            return tp(value)
        return self._scalar(tp, value, path, line)

    def _scalar(self, tp: Any, value: Any, path: str, line: int | None) -> Any:
        if tp is TimezoneName:
            if isinstance(value, str) and _is_timezone(value):
                return TimezoneName(value)
            if isinstance(value, str):
                self.add(path, f"unknown timezone {value!r}; expected an IANA name such as "
                               "'Asia/Kolkata'", line)
                return _MISSING
            return self._wrong(path, "an IANA timezone name such as 'Asia/Kolkata'", value, line)
        if tp is WikiName:
            if isinstance(value, str) and _DBNAME.match(value):
                return WikiName(value)
            return self._wrong(path, "a wiki database name such as 'metawiki' or 'tewiki'", value, line)
        if tp is str:
            if isinstance(value, str):
                return value
            if isinstance(value, int | float) and not isinstance(value, bool):
                return str(value)  # e.g. a page called "2026"
            return self._wrong(path, "text", value, line)
        if tp is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            return self._wrong(path, "a whole number", value, line)
        if tp is float:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
            return self._wrong(path, "a number", value, line)
        if tp is bool:
            if isinstance(value, bool):
                return value
            return self._wrong(path, "true or false", value, line)
        if tp is date:
            if isinstance(value, datetime):
                return value.date()
            if isinstance(value, date):
                return value
            if isinstance(value, str):
                try:
                    return date.fromisoformat(value.strip())
                except ValueError:
                    pass
            return self._wrong(path, "a date written YYYY-MM-DD", value, line)
        raise TypeError(f"unsupported config type {tp!r}")  # a programming error, not user input

    def _dataclass(self, cls: type, value: Any, path: str, line: int | None) -> Any:
        if not isinstance(value, Mapping):
            return self._wrong(path, f"a mapping with keys {', '.join(_field_names(cls))}", value, line)
        hints = typing.get_type_hints(cls)
        names = _field_names(cls)
        lines = getattr(value, "key_lines", {})
        own_line = getattr(value, "line", line)
        for key in value:
            if key not in names:
                close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else f"; expected one of {', '.join(names)}"
                self.add(_join(path, str(key)), f"unknown key{hint}", lines.get(key, own_line))
        kwargs: dict[str, Any] = {}
        failed = False
        for f in dataclasses.fields(cls):
            key_path = _join(path, f.name)
            if f.name not in value:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    self.add(key_path, f"missing required key '{f.name}'", own_line)
                    failed = True
                continue
            before = len(self.issues)
            kwargs[f.name] = self.build(hints[f.name], value[f.name], key_path, lines.get(f.name, own_line))
            failed = failed or len(self.issues) > before
        if failed:
            return _MISSING
        try:
            return cls(**kwargs)
        except ValueError as exc:  # a dataclass's own validation (__post_init__)
            self.add(path, str(exc), own_line)
            return _MISSING

    def _wrong(self, path: str, expected: str, value: Any, line: int | None) -> _Missing:
        self.add(path, f"expected {expected}, got {_describe(value)}", line)
        return _MISSING


def _is_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, datetime | date):
        return f"the date {value}"
    return repr(str(value))
