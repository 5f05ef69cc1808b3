"""Charts for the local report, drawn with matplotlib (pure: data in, image bytes out).

Every chart function returns a `Chart`: the image bytes (PNG by default, SVG on request), a
plain-text alt text that says what the chart shows in words, and its size in CSS pixels.

- No global state: figures are built with `matplotlib.figure.Figure` and rendered by the Agg
  canvas, never through `pyplot` or `matplotlib.use`; the style is applied with
  `matplotlib.style.context(["default", ...])`, so a user's `matplotlibrc` changes nothing.
- No work at import time: matplotlib is imported on first use, so `import bot.charts` is cheap.
- Deterministic: fixed figure sizes, DPI and fonts, no timestamps or software names in the
  files and a fixed SVG hash salt, so the same input gives the same bytes on one machine.
- Labels in any script: matplotlib >= 3.11 shapes text with libraqm (Telugu conjuncts, Arabic
  joining, right-to-left runs), and a fallback list of Noto fonts covers the scripts of the
  Wikimedia communities. Fonts that are not installed are left out of the list; a missing
  glyph then draws as a box, with no warning, and the alt text still has the real text.
"""

from __future__ import annotations

import io
import warnings
from collections import Counter
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from bot.config import EventConfig
from bot.models import Contribution
from bot.stats import EventStats, Retention, Window

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "CHART_NAMES",
    "Chart",
    "build_charts",
    "daily_edits",
    "edits_per_day",
    "participants_by_community",
    "retention_by_cohort",
    "window_label",
]

ImageFormat = Literal["png", "svg"]

#: Chart names in report order (the keys of `build_charts`).
CHART_NAMES: tuple[str, ...] = ("participants_by_community", "edits_per_day", "retention_by_cohort")

#: Rendering resolution: a chart is drawn at 2x its CSS size, so it stays sharp on HiDPI screens.
DPI = 200
#: CSS pixels per inch of figure size.
_CSS_DPI = 100
#: Community bars shown before the rest are summed into one "other" bar.
MAX_COMMUNITIES = 15
#: Longer labels are shortened with "…" (the tables have the full text).
MAX_LABEL = 32

# Wikimedia Codex colours.
BLUE = "#3366cc"
BLUE_LIGHT = "#a3bbe6"
GREEN = "#14866d"
GREY = "#72777d"
GREY_LIGHT = "#c8ccd1"
TEXT = "#202122"
_SPAN_COLOURS = {"baseline": "#eaecf0", "during": "#fce7a6"}
_AFTER_COLOURS = ("#d5ede7", "#e5f3ef", "#f1f8f6", "#f7fbfa")

_BASE_FONTS = ("Noto Sans", "DejaVu Sans")
# One font per script, for labels in the languages of Wikimedia communities.
_SCRIPT_FONTS = (
    "Noto Sans Telugu", "Noto Sans Bengali", "Noto Sans Oriya", "Noto Sans Devanagari",
    "Noto Sans Tamil", "Noto Sans Kannada", "Noto Sans Malayalam", "Noto Sans Gujarati",
    "Noto Sans Gurmukhi", "Noto Sans Sinhala", "Noto Sans Arabic", "Noto Sans Hebrew",
    "Noto Sans Syriac", "Noto Sans Thaana", "Noto Sans Thai", "Noto Sans Lao", "Noto Sans Khmer",
    "Noto Sans Myanmar", "Noto Sans Georgian", "Noto Sans Armenian", "Noto Sans Ethiopic",
    "Noto Sans Tifinagh", "Noto Sans Ol Chiki", "Noto Sans Javanese", "Noto Sans Balinese",
    "Noto Sans Tibetan", "Noto Sans Cherokee", "Noto Sans Canadian Aboriginal",
    "Noto Sans CJK JP", "Noto Sans CJK SC", "Droid Sans Fallback", "DejaVu Sans",
)


@dataclass(frozen=True)
class Chart:
    """A rendered chart: `data` in `mime` format, a plain-text `alt`, and its size in CSS
    pixels (the image itself has twice as many pixels in each direction)."""

    data: bytes
    alt: str
    mime: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return "svg" if self.mime == "image/svg+xml" else "png"


# --- data ------------------------------------------------------------------------------------


def daily_edits(
    contribs: Iterable[Contribution], tz: tzinfo, users: Container[str] | None = None
) -> dict[date, int]:
    """Edits per local date in `tz` (every wiki, every namespace), in date order.

    `users`, when given, keeps only those usernames (compared exactly), as `stats.compute`
    does; a naive timestamp is read as UTC. Days without edits are absent.
    """
    counts: Counter[date] = Counter()
    for c in contribs:
        if users is not None and c.user not in users:
            continue
        ts = c.timestamp if c.timestamp.tzinfo is not None else c.timestamp.replace(tzinfo=UTC)
        counts[ts.astimezone(tz).date()] += 1
    return dict(sorted(counts.items()))


def window_label(name: str) -> str:
    """A window name in words: 'baseline' → 'before the event', 'after-30' → '30 days after'."""
    if name == "baseline":
        return "before the event"
    if name == "during":
        return "during the event"
    if name.startswith("after-"):
        return f"{name.removeprefix('after-')} days after"
    return name


# --- rendering helpers ---------------------------------------------------------------------------


@cache
def _font_family() -> tuple[str, ...]:
    """The installed subset of the preferred fonts, base font first."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    chosen = [name for name in (*_BASE_FONTS, *_SCRIPT_FONTS) if name in installed]
    return tuple(dict.fromkeys(chosen)) or ("DejaVu Sans",)


def _style() -> dict[str, Any]:
    return {
        "font.family": list(_font_family()),
        "font.size": 11,
        "text.color": TEXT,
        "axes.labelcolor": TEXT,
        "axes.edgecolor": GREY_LIGHT,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.axisbelow": True,
        "axes.grid": False,
        "grid.color": "#eaecf0",
        "xtick.color": "#54595d",
        "ytick.color": "#54595d",
        "legend.frameon": False,
        "hatch.linewidth": 0.8,
        "svg.hashsalt": "eventbot",
        "svg.fonttype": "none",
        "path.simplify": True,
    }


@contextmanager
def _drawing() -> Iterator[None]:
    """Default style plus ours, for the duration of one chart; missing-glyph warnings muted."""
    import matplotlib.style

    with matplotlib.style.context(["default", _style()]), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from")
        warnings.filterwarnings("ignore", message=r"findfont: ")
        yield


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _render(fig: Figure, alt: str, fmt: ImageFormat) -> Chart:
    buffer = io.BytesIO()
    if fmt == "svg":
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
        mime = "image/svg+xml"
    elif fmt == "png":
        fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        mime = "image/png"
    else:
        raise ValueError(f"unknown image format {fmt!r}; use 'png' or 'svg'")
    width, height = fig.get_size_inches()
    return Chart(buffer.getvalue(), alt, mime, round(width * _CSS_DPI), round(height * _CSS_DPI))


def _shorten(text: str, limit: int = MAX_LABEL) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _message(ax: Axes, text: str) -> None:
    """An empty chart that says why it is empty."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", color=GREY, fontsize=12,
            transform=ax.transAxes)


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"



# --- participants by community -------------------------------------------------------------------


def participants_by_community(stats: EventStats, *, fmt: ImageFormat = "png") -> Chart:
    """Horizontal bars: participants per community, largest first, with the number who edited
    during the event drawn inside each bar. After `MAX_COMMUNITIES` bars the rest are summed
    into one 'other' bar; labels longer than `MAX_LABEL` are shortened (not in the alt text)."""
    groups = list(stats.groups.get("community", ()))
    rows = [(g.key, g.participants, g.active_during) for g in groups]
    if len(rows) > MAX_COMMUNITIES:
        rest = rows[MAX_COMMUNITIES - 1:]
        other = (f"{len(rest)} other communities", sum(r[1] for r in rest), sum(r[2] for r in rest))
        rows = [*rows[: MAX_COMMUNITIES - 1], other]
    alt = _community_alt(stats, rows)
    with _drawing():
        fig = _figure(9, 1.1 + 0.38 * max(len(rows), 2))
        ax = fig.add_subplot()
        if not rows:
            _message(ax, "No participants yet")
            return _render(fig, alt, fmt)
        positions = list(range(len(rows)))[::-1]  # largest at the top
        totals = [r[1] for r in rows]
        active = [r[2] for r in rows]
        ax.barh(positions, totals, height=0.7, color=BLUE_LIGHT, label="signed up")
        ax.barh(positions, active, height=0.7, color=BLUE, label="edited during the event")
        ax.set_yticks(positions, [_shorten(r[0]) for r in rows])
        ax.tick_params(axis="y", length=0)
        top = max(totals)
        for y, n, a in zip(positions, totals, active, strict=True):
            ax.text(n + top * 0.01, y, f"{n:,}  ({a:,} edited)", va="center", ha="left",
                    fontsize=10, color=TEXT)
        ax.set_xlim(0, top * 1.18)
        ax.set_xlabel("participants")
        ax.xaxis.grid(True)
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
        ax.legend(loc="lower right", ncols=2, bbox_to_anchor=(1, 1), fontsize=10)
        return _render(fig, alt, fmt)


def _community_alt(stats: EventStats, rows: Sequence[tuple[str, int, int]]) -> str:
    if not rows:
        return "Participants by community: no participants yet."
    parts = "; ".join(f"{key}: {total:,} ({active:,} edited during the event)"
                      for key, total, active in rows)
    return (f"Bar chart of participants by community, {_plural(stats.participants, 'participant')} "
            f"in all. {parts}.")


# --- edits per day ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    name: str
    start: date
    end: date  # exclusive
    label: str
    colour: str
    partial: bool


def _spans(windows: Sequence[Window], tz: tzinfo, now: datetime | None) -> list[_Span]:
    """Non-overlapping shaded spans: baseline, during, then the nested after-N windows cut
    into 'days 1–30 after', 'days 31–90 after', ...; names kept for other windows."""
    spans: list[_Span] = []
    after = sorted((w for w in windows if w.name.startswith("after-")), key=lambda w: w.end)
    for w in windows:
        if w.name in _SPAN_COLOURS:
            spans.append(_Span(w.name, w.start.astimezone(tz).date(), w.end.astimezone(tz).date(),
                               window_label(w.name), _SPAN_COLOURS[w.name],
                               now is not None and w.is_open(now)))
    previous: Window | None = None
    for index, w in enumerate(after):
        start = previous.end if previous is not None else w.start
        first = (start - w.start).days + 1
        last = (w.end - w.start).days
        label = f"days {first}–{last} after" if first > 1 else f"{last} days after"
        spans.append(_Span(w.name, start.astimezone(tz).date(), w.end.astimezone(tz).date(), label,
                           _AFTER_COLOURS[min(index, len(_AFTER_COLOURS) - 1)],
                           now is not None and w.is_open(now)))
        previous = w
    return sorted(spans, key=lambda s: s.start)


def edits_per_day(
    event: EventConfig,
    contribs_by_day: Mapping[date, int],
    windows: Sequence[Window],
    *,
    now: datetime | None = None,
    fmt: ImageFormat = "png",
) -> Chart:
    """Bars of edits per local day (see `daily_edits`) from the first window's start to the
    last window's end, over shaded, labelled windows (baseline, during, the after periods).

    With `now`, days from `now`'s local date on are cut off (they have no data yet), and
    windows still open at `now` are labelled partial. Edits outside the windows are not drawn.
    """
    tz = event.tz
    if not windows:
        raise ValueError("edits_per_day needs at least one window")
    first = min(w.start for w in windows).astimezone(tz).date()
    last = max(w.end for w in windows).astimezone(tz).date()  # exclusive
    if now is not None:
        last = max(first, min(last, now.astimezone(tz).date() + timedelta(days=1)))
    days = [first + timedelta(days=i) for i in range((last - first).days)]
    counts = [contribs_by_day.get(d, 0) for d in days]
    spans = [s for s in _spans(windows, tz, now) if s.start < last]
    alt = _edits_alt(event, days, counts, spans)
    with _drawing():
        fig = _figure(9, 3.4)
        ax = fig.add_subplot()
        if not days:
            _message(ax, "The first period has not started yet")
            return _render(fig, alt, fmt)
        from matplotlib.patches import Patch
        from matplotlib.ticker import MaxNLocator

        def x(d: date) -> int:
            return (d - first).days

        handles = []
        for span in spans:
            ax.axvspan(x(span.start), x(min(span.end, last)), color=span.colour, linewidth=0,
                       zorder=0)
            label = span.label + (" (partial)" if span.partial else "")
            handles.append(Patch(facecolor=span.colour, label=label))
            if span.name == "during":
                for edge in (span.start, span.end):
                    if edge <= last:
                        ax.axvline(x(edge), color="#ac6600", linewidth=0.8, zorder=1)
        ax.bar([x(d) for d in days], counts, width=1.0, align="edge", color=BLUE, linewidth=0,
               zorder=2)
        ax.set_xlim(0, x(last))
        if not any(counts):
            ax.set_ylim(0, 1)
            ax.text(0.5, 0.55, "No edits in these periods yet", ha="center", va="center",
                    color=GREY, fontsize=12, transform=ax.transAxes)
        ticks = _date_ticks(first, last)
        ax.set_xticks([x(d) for d, _ in ticks], [label for _, label in ticks])
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
        ax.yaxis.grid(True)
        ax.set_ylabel("edits per day")
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1), ncols=min(len(handles), 5),
                  fontsize=10, handlelength=1.2, columnspacing=1.2)
        return _render(fig, alt, fmt)


def _date_ticks(first: date, last: date) -> list[tuple[date, str]]:
    """Tick dates and labels for `[first, last)`: month starts for long ranges (the year under
    the first tick and every January), Mondays for ranges up to about two months."""
    if (last - first).days <= 62:
        day = first + timedelta(days=(7 - first.weekday()) % 7)
        ticks = []
        while day <= last:
            ticks.append((day, f"{day.day} {day:%b}"))
            day += timedelta(days=7)
        return ticks
    months = []
    day = first.replace(day=1)
    while day <= last:
        if day >= first:
            months.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    step = max(1, -(-len(months) // 12))  # at most 12 labels
    shown = months[::step]
    return [(d, f"{d:%b}\n{d.year}" if i == 0 or d.month == 1 else f"{d:%b}")
            for i, d in enumerate(shown)]


def _edits_alt(event: EventConfig, days: Sequence[date], counts: Sequence[int],
               spans: Sequence[_Span]) -> str:
    if not days:
        return "Edits per day: no days to show yet."
    head = (f"Bar chart of edits per day by participants, {_day(days[0])} to {_day(days[-1])} "
            f"({event.timezone}).")
    by_day = dict(zip(days, counts, strict=True))
    parts = []
    for span in spans:
        inside = [n for d, n in by_day.items() if span.start <= d < span.end]
        partial = ", so far" if span.partial else ""
        parts.append(f"{span.label}: {_plural(sum(inside), 'edit')} over "
                     f"{_plural(len(inside), 'day')}{partial}")
    busiest = max(range(len(days)), key=lambda i: (counts[i], -i))
    peak = (f" Busiest day: {_day(days[busiest])} with {_plural(counts[busiest], 'edit')}."
            if counts[busiest] else " No edits yet.")
    return f"{head} " + "; ".join(parts) + "." + peak


def _day(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


# --- retention -----------------------------------------------------------------------------------

_POPULATION_LABELS = {"all": "all participants", "new": "new editors"}
_POPULATION_COLOURS = {"all": BLUE, "new": GREEN}


def retention_by_cohort(stats: EventStats, *, fmt: ImageFormat = "png") -> Chart:
    """Grouped bars of retention (percent retained) per period, one bar per cohort (all
    participants, new editors). A pending period is an empty hatched box with the word
    'pending' and no number; a cohort with nobody in it says 'nobody'."""
    items = [r for r in stats.retention if r.population in _POPULATION_LABELS]
    periods = sorted({r.days for r in items})
    cohorts = [p for p in _POPULATION_LABELS if any(r.population == p for r in items)]
    alt = _retention_alt(items, periods, cohorts)
    with _drawing():
        fig = _figure(9, 3.6)
        ax = fig.add_subplot()
        if not items:
            _message(ax, "No retention periods configured")
            return _render(fig, alt, fmt)
        width = 0.8 / len(cohorts)
        handles = []
        from matplotlib.patches import Patch
        from matplotlib.ticker import PercentFormatter

        for ci, cohort in enumerate(cohorts):
            colour = _POPULATION_COLOURS[cohort]
            handles.append(Patch(facecolor=colour, label=_POPULATION_LABELS[cohort]))
            for pi, d in enumerate(periods):
                item = next((r for r in items if r.population == cohort and r.days == d), None)
                if item is None:
                    continue
                x = pi + (ci - (len(cohorts) - 1) / 2) * width
                _retention_bar(ax, x, width * 0.92, item, colour)
        handles.append(Patch(facecolor="white", edgecolor=GREY, hatch="///", label="pending"))
        ax.set_xticks(range(len(periods)),
                      [f"retained at {d} days\n(an edit on days {d + 1}–{2 * d} after)" for d in periods])
        ax.tick_params(axis="x", length=0)
        ax.set_xlim(-0.6, len(periods) - 0.4)
        ax.set_ylim(0, 118)
        ax.set_yticks(range(0, 101, 25))
        ax.yaxis.set_major_formatter(PercentFormatter(100))
        ax.yaxis.grid(True)
        ax.set_ylabel("participants retained")
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1), ncols=len(handles),
                  fontsize=10)
        return _render(fig, alt, fmt)


def _retention_bar(ax: Axes, x: float, width: float, item: Retention, colour: str) -> None:
    rate = item.rate
    if item.pending or item.retained is None:
        ax.bar(x, 100, width=width, color="none", edgecolor=GREY_LIGHT, hatch="///", linewidth=0.8)
        closes = (f"\ncloses\n{_day(_last_day(item.window))}" if item.window is not None else "")
        ax.text(x, 50, "pending" + closes, ha="center", va="center", fontsize=10, color=GREY,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 2})
        return
    if item.denominator == 0 or rate is None:
        ax.text(x, 4, "nobody\nin cohort", ha="center", va="bottom", fontsize=10, color=GREY)
        return
    ax.bar(x, rate * 100, width=width, color=colour, linewidth=0)
    ax.text(x, rate * 100 + 2, f"{rate:.0%}\n{item.retained:,} of {item.denominator:,}",
            ha="center", va="bottom", fontsize=10, color=TEXT)


def _last_day(window: Window) -> date:
    """The last whole day of a window, in the window's own timezone."""
    return (window.end - timedelta(seconds=1)).date()


def _retention_alt(items: Sequence[Retention], periods: Sequence[int], cohorts: Sequence[str]) -> str:
    if not items:
        return "Retention: no retention periods configured."
    parts = []
    for d in periods:
        bits = []
        for cohort in cohorts:
            item = next((r for r in items if r.population == cohort and r.days == d), None)
            if item is None:
                continue
            label = _POPULATION_LABELS[cohort]
            if item.pending or item.retained is None:
                closes = (f", closes {_day(_last_day(item.window))}"
                          if item.window is not None else "")
                bits.append(f"{label} pending ({_plural(item.denominator, 'person', 'people')} "
                            f"in the cohort{closes})")
            elif item.denominator == 0:
                bits.append(f"{label}: nobody in the cohort")
            else:
                bits.append(f"{label} {item.retained:,} of {item.denominator:,} "
                            f"({(item.rate or 0):.0%})")
        parts.append(f"at {d} days (an edit on days {d + 1}–{2 * d} after): " + ", ".join(bits))
    return "Bar chart of retention by cohort: " + "; ".join(parts) + "."


# --- all together --------------------------------------------------------------------------------


def build_charts(
    event: EventConfig,
    stats: EventStats,
    contribs_by_day: Mapping[date, int],
    *,
    fmt: ImageFormat = "png",
) -> dict[str, Chart]:
    """Every report chart, keyed by `CHART_NAMES`, for data computed at `stats.now`."""
    return {
        "participants_by_community": participants_by_community(stats, fmt=fmt),
        "edits_per_day": edits_per_day(event, contribs_by_day, stats.windows, now=stats.now, fmt=fmt),
        "retention_by_cohort": retention_by_cohort(stats, fmt=fmt),
    }
