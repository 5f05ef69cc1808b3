"""The local report: one self-contained HTML page with charts, plus CSV and JSON (pure rendering).

`render_html` turns an `EventStats` and its charts into a single HTML file with the charts
inlined as `data:` URIs, so it can be sent by e-mail or opened from a USB stick; it has no
scripts and loads nothing from the network. `write_report` writes the chosen formats to a
folder and is the only function here that touches the file system.

Every participant-supplied string (names, communities, regions, affiliations, answers) is
HTML-escaped and isolated with `<bdi dir="auto">`, so `<script>` shows as text and a
right-to-left name does not reorder the text around it. Per-person figures only come from
`stats.rows`, which already leaves out everyone who opted out of being named; demographics only
as the thresholded `Aggregate`s.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections.abc import Container, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from bot import charts as charts_mod
from bot.charts import Chart, window_label
from bot.config import EventConfig
from bot.escape import one_line
from bot.models import Contribution
from bot.reports import stats_csv
from bot.stats import (
    DIMENSIONS,
    EMPTY,
    Aggregate,
    EventStats,
    GroupStats,
    Metrics,
    Retention,
    Window,
    definitions,
)

__all__ = ["CHART_TITLES", "FORMATS", "groups_csv", "render_html", "windows_csv", "write_report"]

#: The formats `write_report` knows.
FORMATS = frozenset({"html", "csv", "json"})

#: Headings and captions of the known charts, in report order.
CHART_TITLES: dict[str, tuple[str, str]] = {
    "participants_by_community": (
        "Participants by community",
        "Everyone who signed up and did not withdraw; the darker part edited during the event.",
    ),
    "edits_per_day": (
        "Edits per day",
        "Edits by participants on every wiki, per day in the event's timezone, before, during "
        "and after the event.",
    ),
    "retention_by_cohort": (
        "Retention",
        "Share of participants (and of new editors) who edited again in the period after the "
        "event. A period that has not ended yet is pending and has no number.",
    ),
}

_METRIC_COLUMNS: tuple[tuple[str, str], ...] = (
    ("edits", "Edits"),
    ("main_edits", "Main edits"),
    ("pages_edited", "Pages edited"),
    ("pages_created", "Pages created"),
    ("bytes_added", "Bytes added"),
    ("bytes_removed", "Bytes removed"),
    ("active_days", "Active days"),
    ("uploads", "Uploads"),
)
_DIMENSION_TITLES = {
    "community": "By community",
    "region": "By region",
    "affiliation": "By affiliation",
    "status": "By status",
    "experience": "By editing experience",
}


# --- small helpers -------------------------------------------------------------------------------


def _esc(text: str) -> str:
    """Text for an element or attribute: one line, every markup character escaped."""
    return html.escape(one_line(text), quote=True)


def _user(text: str) -> str:
    """Participant-supplied text: escaped and isolated, in its own direction."""
    return f'<bdi dir="auto">{_esc(text)}</bdi>'


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _n(value: int) -> str:
    return f"{value:,}"


def _day(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


def _short_day(d: date) -> str:
    return f'<span class="nowrap">{d.day} {d:%b %Y}</span>'


def _moment(event: EventConfig, when: datetime) -> str:
    local = when.astimezone(event.tz)
    return f"{_day(local.date())}, {local:%H:%M} ({event.timezone})"


def _last_day(window: Window, event: EventConfig) -> date:
    return (window.end - timedelta(seconds=1)).astimezone(event.tz).date()


def _editors(m: Metrics) -> int:
    """People with at least one edit in the cell (active days are (user, day) pairs)."""
    return len({user for user, _ in m.day_keys})


def _state(window: Window, now: datetime) -> str:
    return {"closed": "complete", "open": "partial", "not-started": "not started"}[window.state(now)]


def _tag(text: str, kind: str) -> str:
    return f'<span class="tag tag-{kind}">{html.escape(text)}</span>'


def _retention_cell(item: Retention, event: EventConfig, *, until: bool = True) -> str:
    """'3 of 10 (30%)', 'nobody', or a pending tag (with its last day when `until`)."""
    if item.pending or item.retained is None:
        if not until or item.window is None:
            return _tag("pending", "pending")
        closes = f" until {_short_day(_last_day(item.window, event))}"
        return f'{_tag("pending", "pending")}<span class="muted">{closes}</span>'
    if item.denominator == 0:
        return '<span class="muted">nobody</span>'
    rate = f" ({item.rate:.0%})" if item.rate is not None else ""
    return f"{_n(item.retained)} of {_n(item.denominator)}{rate}"


def _table(caption: str, head: Sequence[str], rows: Iterable[Sequence[str]], *,
           numeric_from: int = 1, cls: str = "",
           spans: Sequence[tuple[str, int]] | None = None) -> str:
    """A table with column headers and a row header per row; cells are already HTML.

    `spans`, when given, adds a header row above `head`: (label, number of columns) per group;
    a group of one column with an empty label makes that column's header span both rows."""
    def th(i: int, text: str, extra: str = "") -> str:
        num = " class=num" if i >= numeric_from else ""
        return f'<th scope="col"{num}{extra}>{text}</th>'

    if spans is None:
        thead = f"<tr>{''.join(th(i, h) for i, h in enumerate(head))}</tr>"
    else:
        top, below, i = [], [], 0
        for label, width in spans:
            if width == 1 and not label:
                top.append(th(i, head[i], ' rowspan="2"'))
            else:
                top.append(f'<th scope="colgroup" colspan="{width}" class="group">{label}</th>')
                below += [th(j, head[j]) for j in range(i, i + width)]
            i += width
        thead = f"<tr>{''.join(top)}</tr><tr>{''.join(below)}</tr>"
    body = []
    for row in rows:
        cells = [f'<th scope="row">{row[0]}</th>']
        cells += [f'<td{" class=num" if i >= numeric_from else ""}>{c}</td>'
                  for i, c in enumerate(row[1:], start=1)]
        body.append(f"<tr>{''.join(cells)}</tr>")
    class_attr = f' class="{cls}"' if cls else ""
    return (f'<div class="scroll"><table{class_attr}><caption>{caption}</caption>'
            f"<thead>{thead}</thead><tbody>{''.join(body)}</tbody></table></div>")


# --- sections ------------------------------------------------------------------------------------


def _header(event: EventConfig, stats: EventStats) -> str:
    dates = (_day(event.start) if event.start == event.end
             else f"{_day(event.start)} – {_day(event.end)}")
    facts = [dates, _esc(event.timezone)]
    if event.location:
        facts.append(_user(event.location))
    wikis = ", ".join(_esc(w) for w in event.all_wikis)
    facts.append(f"wikis: {wikis}")
    return (
        '<header class="top">'
        '<p class="kicker">Participation report</p>'
        f'<h1 dir="auto">{_esc(event.title)}</h1>'
        f'<p class="facts">{" · ".join(facts)}</p>'
        f'<p class="asof">Figures as of <time datetime="{stats.now.isoformat()}">'
        f"{_moment(event, stats.now)}</time></p>"
        "</header>"
    )


def _notice(event: EventConfig, stats: EventStats) -> str:
    open_windows = [w for w in stats.windows if w.name in stats.open_windows]
    pending = [r for r in stats.retention if r.pending and r.population == "all"]
    if not open_windows and not pending:
        return ""
    parts = []
    if open_windows:
        names = ", ".join(window_label(w.name) for w in open_windows)
        parts.append(f"Some periods have not ended yet ({names}): their figures are partial and "
                     "will still grow.")
    for item in pending:
        if item.window is not None:
            parts.append(f"Retention at {item.days} days is pending until "
                         f"{_day(_last_day(item.window, event))}.")
    return f'<aside class="notice" role="note"><p>{" ".join(parts)}</p></aside>'


def _cards(event: EventConfig, stats: EventStats) -> str:
    during = stats.totals.get("during", EMPTY)
    partial = "during" in stats.open_windows
    cards: list[tuple[str, str, str]] = [
        (_n(stats.participants), "participants",
         f"{_n(stats.withdrawn)} withdrew" if stats.withdrawn else "none withdrew"),
        (_n(_editors(during)), "edited during the event",
         f"{_editors(during) / stats.participants:.0%} of participants" if stats.participants else ""),
        (_n(during.edits), "edits during the event", f"on {_n(during.pages_edited)} pages"),
        (_n(during.pages_created), "pages created", "articles, not counting redirects"),
        (_n(during.bytes_added), "bytes added", f"{_n(during.bytes_removed)} removed"),
    ]
    if during.uploads:
        cards.append((_n(during.uploads), "files uploaded", "during the event"))
    for item in stats.retention:
        if item.population != "all":
            continue
        if item.pending or item.retained is None:
            until = (f"until {_day(_last_day(item.window, event))}" if item.window is not None
                     else "period not over yet")
            cards.append(("pending", f"retained at {item.days} days", until))
        elif item.rate is not None:
            cards.append((f"{item.rate:.0%}", f"retained at {item.days} days",
                           f"{_n(item.retained)} of {_n(item.denominator)}"))
    items = "".join(
        f'<li class="card"><span class="big{" pending" if big == "pending" else ""}">{big}</span>'
        f'<span class="what">{what}</span><span class="sub">{sub}</span></li>'
        for big, what, sub in cards
    )
    note = ('<p class="muted">Figures during the event are partial: it has not ended yet.</p>'
            if partial else "")
    return ('<section aria-labelledby="summary"><h2 id="summary">Summary</h2>'
            f'<ul class="cards">{items}</ul>{note}</section>')


def _chart_section(charts: Mapping[str, Chart]) -> str:
    if not charts:
        return ""
    names = [n for n in CHART_TITLES if n in charts] + [n for n in charts if n not in CHART_TITLES]
    figures = []
    for name in names:
        chart = charts[name]
        title, caption = CHART_TITLES.get(name, (name.replace("_", " ").capitalize(), ""))
        data = base64.b64encode(chart.data).decode("ascii")
        figures.append(
            f'<figure id="chart-{_esc(name)}"><h3>{_esc(title)}</h3>'
            f'<img src="data:{_esc(chart.mime)};base64,{data}" alt="{_esc(chart.alt)}" '
            f'width="{chart.width}" height="{chart.height}">'
            f"<figcaption>{_esc(caption)}</figcaption></figure>"
        )
    return f'<section aria-labelledby="charts"><h2 id="charts">Charts</h2>{"".join(figures)}</section>'


def _windows_section(event: EventConfig, stats: EventStats) -> str:
    head = ["Period", "From", "To", "State", "People who edited",
            *(label for _, label in _METRIC_COLUMNS)]
    rows = []
    for w in stats.windows:
        m = stats.totals.get(w.name, EMPTY)
        state = _state(w, stats.now)
        rows.append([
            f"{window_label(w.name).capitalize()} <code>{_esc(w.name)}</code>",
            _short_day(w.start.astimezone(event.tz).date()),
            _short_day(_last_day(w, event)),
            _tag(state, "partial" if state != "complete" else "done"),
            _n(_editors(m)),
            *(_n(m.as_dict()[key]) for key, _ in _METRIC_COLUMNS),
        ])
    table = _table("All participants, all wikis, per period", head, rows, numeric_from=4)
    wiki_head = ["Wiki", *(f"{window_label(w.name).capitalize()}" for w in stats.windows)]
    wiki_rows = [
        [_esc(wiki), *(_n(by_window.get(w.name, EMPTY).edits) for w in stats.windows)]
        for wiki, by_window in stats.totals_by_wiki.items()
    ]
    wikis = (_table("Edits per wiki and period",
                    wiki_head, wiki_rows) if wiki_rows else "")
    return ('<section aria-labelledby="periods"><h2 id="periods">Activity per period</h2>'
            f"{table}{wikis}</section>")


def _retention_section(event: EventConfig, stats: EventStats) -> str:
    if not stats.retention:
        return ""
    labels = {"all": "All participants", "new": "New editors"}
    rows = []
    for item in sorted(stats.retention, key=lambda r: (r.days, r.population != "all", r.population)):
        period = (f"At {item.days} days <span class=muted>(an edit on days {item.days + 1}–"
                  f"{2 * item.days} after)</span>")
        rows.append([period, _esc(labels.get(item.population, item.population)),
                     _n(item.denominator), _retention_cell(item, event)])
    table = _table("Participants who edited again after the event", ["Period", "Cohort", "People",
                   "Retained"], rows, numeric_from=2)
    return ('<section aria-labelledby="retention"><h2 id="retention">Retention</h2>'
            f"{table}</section>")


def _group_table(event: EventConfig, dimension: str, groups: Sequence[GroupStats]) -> str:
    days = sorted({r.days for g in groups for r in g.retention})
    head = [_esc(dimension.capitalize()), "Participants", "Edited during", "Edits during",
            "Pages created during", *(f"Retained at {d} days" for d in days)]
    rows = []
    for g in groups:
        by_days = {r.days: r for r in g.retention}
        rows.append([
            _user(g.key), _n(g.participants), _n(g.active_during), _n(g.edits_during),
            _n(g.during.pages_created),
            *(_retention_cell(by_days[d], event, until=False) if d in by_days else "" for d in days),
        ])
    return _table(_DIMENSION_TITLES.get(dimension, f"By {_esc(dimension)}"), head, rows)


def _groups_section(event: EventConfig, stats: EventStats) -> str:
    parts = []
    for dimension in [*DIMENSIONS, *sorted(set(stats.groups) - set(DIMENSIONS))]:
        groups = stats.groups.get(dimension, ())
        if not groups:
            continue
        if all(g.key == "unknown" for g in groups):
            parts.append(f'<p class="muted">{_DIMENSION_TITLES.get(dimension, _esc(dimension))}: '
                         "not recorded for any participant.</p>")
            continue
        parts.append(_group_table(event, dimension, groups))
    if not parts:
        return ""
    return ('<section aria-labelledby="groups"><h2 id="groups">Groups</h2>'
            f"{''.join(parts)}</section>")


def _demographics_section(aggregates: Sequence[Aggregate]) -> str:
    if not aggregates:
        return ""
    parts = []
    for agg in aggregates:
        title = _esc(agg.field.replace("_", " ").capitalize())
        if agg.notice is not None:
            parts.append(f'<p><strong>{title}:</strong> <span class="muted">{_esc(agg.notice)}.</span></p>')
            continue
        rows = [[_user(o.value), _esc(o.display)] for o in agg.options]
        if agg.no_answer is not None:
            least, most = agg.no_answer
            no_answer = _n(most) if least == most else f"{_n(least)} to {_n(most)}"
            rows.append(['<span class="muted">no answer</span>', no_answer])
        parts.append(_table(f"{title} (self-reported, {_n(agg.participants)} participants)",
                            ["Answer", "Participants"], rows))
    return ('<section aria-labelledby="demographics"><h2 id="demographics">Demographics</h2>'
            f"{''.join(parts)}</section>")


def _participants_section(stats: EventStats) -> str:
    days = sorted({d for r in stats.rows for d in r.retained})
    head = ["Participant", "Community", "Status", "Experience"]
    for w in stats.windows:
        partial = "<br>" + _tag("partial", "partial") if w.name in stats.open_windows else ""
        head.append(f"{window_label(w.name).removesuffix(' the event').capitalize()}{partial}")
    head += ["Pages created", "Bytes added", *(f"{d} days" for d in days)]
    spans = [("", 1)] * 4 + [("Edits", len(stats.windows)), ("During the event", 2)]
    if days:
        spans.append(("Retained at", len(days)))
    rows = []
    for r in stats.rows:
        retained = []
        for d in days:
            value = r.retained.get(d)
            retained.append(_tag("pending", "pending") if value is None else ("yes" if value else "no"))
        rows.append([
            _user(r.username), _user(r.community) if r.community else "",
            _esc(r.status.value), _esc(r.experience.value),
            *(_n(r.get(w.name).edits) for w in stats.windows),
            _n(r.get("during").pages_created), _n(r.get("during").bytes_added), *retained,
        ])
    hidden = (f'<p class="muted">{_n(stats.not_public)} participant'
              f'{" asked" if stats.not_public == 1 else "s asked"} not to be named; they are '
              "counted in every total and group but not listed here.</p>"
              if stats.not_public else "")
    table = (_table("Named participants, all wikis", head, rows, numeric_from=4, cls="people",
                    spans=spans)
             if rows else '<p class="muted">No participant to list.</p>')
    return ('<section aria-labelledby="participants"><h2 id="participants">Participants</h2>'
            f"{hidden}{table}</section>")


def _definitions_section() -> str:
    items = "".join(
        f"<div><dt>{_esc(_sentence(key.replace('_', ' ')))}</dt><dd>{_esc(text)}</dd></div>"
        for key, text in definitions().items()
    )
    return ('<section aria-labelledby="definitions"><h2 id="definitions">How the figures are '
            f'counted</h2><dl class="defs">{items}</dl></section>')


_NAV = (
    ("summary", "Summary"), ("charts", "Charts"), ("periods", "Periods"), ("retention", "Retention"),
    ("groups", "Groups"), ("demographics", "Demographics"), ("participants", "Participants"),
    ("definitions", "Definitions"),
)

_CSS = """
:root { color-scheme: light; --text: #202122; --muted: #54595d; --line: #c8ccd1;
  --soft: #f8f9fa; --blue: #3366cc; --green: #14866d; --amber: #ac6600; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--text); background: #fff; line-height: 1.5;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans", Roboto, "Helvetica Neue",
  Arial, sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 0 24px 48px; }
header.top { border-bottom: 4px solid var(--blue); padding: 32px 0 16px; margin-bottom: 8px; }
.kicker { margin: 0; color: var(--blue); font-weight: 700; text-transform: uppercase;
  letter-spacing: .08em; font-size: 13px; }
h1 { margin: 4px 0 8px; font-size: 32px; line-height: 1.2; overflow-wrap: anywhere; }
h2 { margin: 40px 0 12px; font-size: 24px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { margin: 24px 0 8px; font-size: 18px; }
.facts, .asof { margin: 0; color: var(--muted); }
nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 16px; padding: 0; margin: 12px 0; }
nav a { color: var(--blue); text-decoration: none; font-size: 15px; }
nav a:hover { text-decoration: underline; }
.notice { background: #fef6e7; border: 1px solid #fc3; border-radius: 2px; padding: 8px 16px;
  margin: 16px 0; }
.notice p { margin: 0; }
.cards { list-style: none; padding: 0; margin: 0; display: grid; gap: 12px;
  grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); }
.card { border: 1px solid var(--line); border-top: 4px solid var(--blue); border-radius: 2px;
  padding: 12px 14px; background: #fff; display: flex; flex-direction: column; }
.card .big { font-size: 30px; font-weight: 700; line-height: 1.1; font-variant-numeric: tabular-nums; }
.card .big.pending { font-size: 22px; color: var(--muted); font-weight: 600; }
.card .what { font-weight: 600; margin-top: 4px; }
.card .sub, .muted { color: var(--muted); font-size: 14px; }
figure { margin: 16px 0 24px; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 14px; margin-top: 4px; }
.scroll { overflow-x: auto; margin: 12px 0 20px; }
table { border-collapse: collapse; font-size: 14px; font-variant-numeric: tabular-nums; min-width: 50%; }
caption { text-align: start; font-weight: 600; padding: 0 0 6px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: start; vertical-align: top; }
thead th { background: #eaecf0; font-weight: 600; vertical-align: bottom; }
tbody th { font-weight: 400; background: var(--soft); }
tbody tr:nth-child(even) td { background: #fbfbfc; }
.num { text-align: end; white-space: nowrap; }
.nowrap { white-space: nowrap; }
th.group { text-align: center; }
thead th.num { white-space: normal; }
code { white-space: nowrap; font-size: 12px; color: var(--muted); background: var(--soft);
  padding: 0 3px; border-radius: 2px; }
.tag { display: inline-block; font-size: 12px; font-weight: 600; padding: 0 6px; border-radius: 2px;
  line-height: 1.6; white-space: nowrap; }
.tag-partial, .tag-pending { background: #fef6e7; color: var(--amber); border: 1px solid #fc3; }
.tag-done { background: #d5fdf4; color: var(--green); border: 1px solid #14866d55; }
table.people { font-size: 13px; }
.defs { margin: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 8px; }
.defs div { padding: 8px 12px; background: var(--soft); border-left: 3px solid var(--line); }
.defs dt { font-weight: 600; }
.defs dd { margin: 2px 0 0; }
footer { margin-top: 48px; padding-top: 12px; border-top: 1px solid var(--line); color: var(--muted);
  font-size: 14px; }
@media (max-width: 600px) { main { padding: 0 12px 32px; } h1 { font-size: 26px; } }
@media print {
  @page { margin: 14mm; }
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  nav { display: none; }
  h2 { break-after: avoid; }
  figure, .card, tr, .defs div { break-inside: avoid; }
  thead { display: table-header-group; }
  .scroll { overflow: visible; }
  a { color: inherit; text-decoration: none; }
}
"""


def render_html(
    event: EventConfig,
    stats: EventStats,
    charts: Mapping[str, Chart],
    *,
    generated_at: datetime,
) -> str:
    """The whole report as one self-contained HTML document (charts inlined, no scripts).

    `charts` maps chart names (see `bot.charts.CHART_NAMES`) to rendered charts; known charts
    come first in report order, others after them; an empty mapping leaves the charts out.
    Times are shown in the event's timezone; `generated_at` must be timezone-aware.
    """
    if generated_at.tzinfo is None or generated_at.utcoffset() is None:
        raise ValueError("generated_at must be timezone-aware")
    nav = "".join(f'<li><a href="#{anchor}">{label}</a></li>' for anchor, label in _NAV
                  if anchor != "charts" or charts)
    body = "".join([
        _header(event, stats),
        f'<nav aria-label="Sections"><ul>{nav}</ul></nav>',
        _notice(event, stats),
        _cards(event, stats),
        _chart_section(charts),
        _windows_section(event, stats),
        _retention_section(event, stats),
        _groups_section(event, stats),
        _demographics_section(stats.demographics),
        _participants_section(stats),
        _definitions_section(),
        '<footer><p>Generated by eventbot on '
        f'<time datetime="{generated_at.isoformat()}">{_moment(event, generated_at)}</time> '
        f"from the wikis' public contribution records, fetched up to {_moment(event, stats.now)}. "
        f"Event id <code>{_esc(event.id)}</code>.</p></footer>",
    ])
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en" dir="ltr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="eventbot">\n'
        f"<title>Participation report: {_esc(event.title)}</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n<main>{body}</main>\n</body>\n</html>\n"
    )


# --- CSV and files -------------------------------------------------------------------------------


def _csv_safe(text: str) -> str:
    """Keep spreadsheets from running a participant's text as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def groups_csv(stats: EventStats) -> str:
    """One row per group (dimension, key): counts during the event and retention per period."""
    days = sorted({r.days for gs in stats.groups.values() for g in gs for r in g.retention})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["dimension", "key", "participants", "active_during", "partial",
                     *(key for key, _ in _METRIC_COLUMNS),
                     *(f"retained_{d}" for d in days), *(f"retention_{d}_pending" for d in days)])
    partial = "during" in stats.open_windows
    for dimension, groups in stats.groups.items():
        for g in groups:
            by_days = {r.days: r for r in g.retention}
            writer.writerow([
                dimension, _csv_safe(g.key), g.participants, g.active_during, partial,
                *(g.during.as_dict()[key] for key, _ in _METRIC_COLUMNS),
                *("" if d not in by_days or by_days[d].retained is None else by_days[d].retained
                  for d in days),
                *(d in by_days and by_days[d].pending for d in days),
            ])
    return buffer.getvalue()


def windows_csv(stats: EventStats) -> str:
    """One row per period and wiki ('all' for every wiki together), for spreadsheets."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["window", "wiki", "start", "end", "partial", "active_users",
                     *(key for key, _ in _METRIC_COLUMNS)])
    scopes: list[tuple[str, Mapping[str, Metrics]]] = [("all", stats.totals),
                                                        *stats.totals_by_wiki.items()]
    for w in stats.windows:
        for wiki, by_window in scopes:
            m = by_window.get(w.name, EMPTY)
            writer.writerow([w.name, wiki, w.start.isoformat(), w.end.isoformat(),
                             w.name in stats.open_windows, _editors(m),
                             *(m.as_dict()[key] for key, _ in _METRIC_COLUMNS)])
    return buffer.getvalue()


def write_report(
    out_dir: Path | str,
    event: EventConfig,
    stats: EventStats,
    contribs: Iterable[Contribution],
    *,
    formats: Iterable[str],
    generated_at: datetime,
    users: Container[str] | None = None,
) -> list[Path]:
    """Write the report in `formats` (a subset of `FORMATS`) to `out_dir` and return the paths.

    - html: `report.html`, self-contained (charts inlined).
    - csv: `participants.csv` (named participants per period), `groups.csv`, `windows.csv`.
    - json: `stats.json`, `stats.as_dict()` plus `generated_at`.

    `contribs` are the participants' contributions (read once, only for the edits-per-day
    chart); `users`, when given, keeps only those usernames, as `stats.compute` does: pass the
    non-withdrawn participants' names. Files are written whole (to a temporary name, then
    renamed), in UTF-8; the folder is created if needed.
    """
    wanted = set(formats)
    unknown = wanted - FORMATS
    if unknown:
        raise ValueError(f"unknown report format(s) {sorted(unknown)}; use {sorted(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if "html" in wanted:
        by_day = charts_mod.daily_edits(contribs, event.tz, users)
        charts = charts_mod.build_charts(event, stats, by_day)
        page = render_html(event, stats, charts, generated_at=generated_at)
        written.append(_write(out / "report.html", page))
    if "csv" in wanted:
        written.append(_write(out / "participants.csv", stats_csv(stats)))
        written.append(_write(out / "groups.csv", groups_csv(stats)))
        written.append(_write(out / "windows.csv", windows_csv(stats)))
    if "json" in wanted:
        data = {**stats.as_dict(), "generated_at": generated_at.isoformat()}
        written.append(_write(out / "stats.json",
                              json.dumps(data, ensure_ascii=False, indent=2) + "\n"))
    return written


def _write(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(text.encode("utf-8"))
    tmp.replace(path)
    return path
