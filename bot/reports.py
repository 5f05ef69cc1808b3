"""Report bodies for the wiki, rendered from plain data (pure).

Every participant-supplied string goes through `bot.escape.inert`, so a community called
`[[Category:X]]` shows as that text and categorises nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import sections
from bot.config import EventConfig
from bot.escape import inert, user_link
from bot.models import Status
from bot.participants import Compiled, by_community
from bot.stats import EventStats, Metrics, Retention
from bot.stats import definitions as stats_definitions

if TYPE_CHECKING:
    from bot.alumni import PersonHistory

__all__ = ["report_wikitext", "stamp_label", "stats_csv", "stats_table", "summary_wikitext"]

_STATUS_ORDER = [Status.ATTENDED, Status.SELECTED, Status.REGISTERED, Status.WAITLISTED,
                 Status.WITHDRAWN]


def stamp_label(event: EventConfig, now: datetime) -> str:
    """'Last updated' text in the event's own timezone, e.g. '1 July 2026, 09:00 (Asia/Kolkata)'."""
    local = now.astimezone(event.tz)
    return f"Last updated by eventbot: {local.day} {local:%B %Y, %H:%M} ({event.timezone})."


def summary_wikitext(event: EventConfig, compiled: Compiled, now: datetime,
                     history: Mapping[str, PersonHistory] | None = None) -> str:
    """The report section: participants in total, by status and by community, and a stamp;
    with a `history`, how many took part in an earlier iteration of the programme."""
    active = [p for p in compiled.participants if p.active]
    counts = {status: 0 for status in _STATUS_ORDER}
    for participant in compiled.participants:
        counts[participant.status] += 1
    communities = by_community(compiled.participants)
    lines = [
        f"=== Participants of {inert(event.title)} ===",
        '{| class="wikitable"',
        f"! Participants\n| {len(active)}",
    ]
    for status in _STATUS_ORDER:
        if counts[status]:
            lines += ["|-", f"! {status.value.capitalize()}\n| {counts[status]}"]
    if history is not None:
        returning = [history[p.username] for p in active if p.username in history
                     and history[p.username].entries]
        attended = sum(1 for person in returning if person.attended())
        lines += ["|-", f"! Returning from earlier iterations\n| {len(returning)} ({attended} attended one)"]
    lines += ["|-", f"! Communities\n| {len([c for c in communities if c[0] != '(not given)'])}",
              "|-", f"! Problems for organisers\n| {len(compiled.problems)}", "|}", ""]
    lines += ['{| class="wikitable sortable"', "! Community !! Participants"]
    for community, number in communities:
        lines += ["|-", f"| {inert(community)} || {number}"]
    lines += ["|}", "", sections.stamp(stamp_label(event, now))]
    return "\n".join(lines)


# --- statistics ------------------------------------------------------------------------------


def _active_users(metrics: Metrics) -> int:
    """Participants with at least one edit in the cell (active days are (user, day) pairs)."""
    return len({key[0] for key in metrics.day_keys})


def _retention_text(item: Retention) -> str:
    if item.pending or item.retained is None:
        closes = f", closes {item.window.end:%Y-%m-%d}" if item.window is not None else ""
        return f"pending (window not closed{closes}; {item.denominator} participants)"
    rate = f" ({item.rate:.0%})" if item.rate is not None else ""
    return f"{item.retained} of {item.denominator}{rate}"


def stats_table(event: EventConfig, result: EventStats, costs: Sequence[tuple[str, int, int]]) -> str:
    """A plain-text summary for the terminal: windows, retention, groups and the API cost.

    `costs` holds (wiki, requests made, lower bound) per wiki.
    """
    local = result.now.astimezone(event.tz)
    lines = [
        f"{event.title}: participation as of {local:%Y-%m-%d %H:%M} ({event.timezone})",
        f"participants {result.participants}, withdrawn {result.withdrawn}, "
        f"not named in reports {result.not_public}",
        "",
        f"{'window':11} {'from':10} {'to':10} {'active':>6} {'edits':>7} {'pages':>6} "
        f"{'created':>7} {'bytes+':>9} {'bytes-':>8} {'days':>5} {'uploads':>7}",
    ]
    for window in result.windows:
        m = result.totals.get(window.name, Metrics())
        last = (window.end - timedelta(seconds=1)).astimezone(event.tz)
        flag = "  (open: partial)" if window.name in result.open_windows else ""
        lines.append(
            f"{window.name:11} {window.start.astimezone(event.tz):%Y-%m-%d} {last:%Y-%m-%d} "
            f"{_active_users(m):>6} {m.edits:>7} {m.pages_edited:>6} {m.pages_created:>7} "
            f"{m.bytes_added:>9} {m.bytes_removed:>8} {m.active_days:>5} {m.uploads:>7}{flag}"
        )
    lines += ["", "retention (at least one edit in days D+1..2D after the end):"]
    for item in result.retention:
        lines.append(f"  {item.population:11} {item.days:>3} days: {_retention_text(item)}")
    for dimension in ("community", "status", "experience"):
        groups = result.groups.get(dimension, ())
        if groups:
            parts = ", ".join(f"{g.key} {g.participants} ({g.active_during} active during)"
                              for g in groups)
            lines.append(f"by {dimension}: {parts}")
    if costs:
        lines.append("")
        lines.append("API requests for contributions: " + ", ".join(
            f"{wiki} {made} (lower bound {bound})" for wiki, made, bound in costs))
    return "\n".join(lines) + "\n"


def stats_csv(result: EventStats) -> str:
    """One row per named participant and window (all wikis together), for spreadsheets."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["username", "status", "experience", "community", "window", "partial", "edits",
                     "main_edits", "pages_edited", "pages_created", "bytes_added", "bytes_removed",
                     "active_days", "uploads"])
    for row in result.rows:
        for window in result.windows:
            m = row.get(window.name)
            writer.writerow([
                _csv_safe(row.username), row.status.value, row.experience.value,
                _csv_safe(row.community or ""), window.name, window.name in result.open_windows,
                m.edits, m.main_edits, m.pages_edited, m.pages_created, m.bytes_added,
                m.bytes_removed, m.active_days, m.uploads,
            ])
    return buffer.getvalue()


def _csv_safe(text: str) -> str:
    """Keep spreadsheets from running a participant's text as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# --- the report section on the wiki --------------------------------------------------------------


def _retention_cell(item: Retention) -> str:
    if item.pending or item.retained is None:
        closes = f" (window closes {item.window.end:%Y-%m-%d})" if item.window is not None else ""
        return f"pending{closes}; {item.denominator} participants"
    rate = f" ({item.rate:.0%})" if item.rate is not None else ""
    return f"{item.retained} of {item.denominator}{rate}"


def _metric_row(label: str, m: Metrics, partial: bool) -> str:
    flag = " ''(partial)''" if partial else ""
    return (f"|-\n| {label}{flag} || {_active_users(m)} || {m.edits} || {m.main_edits} || "
            f"{m.pages_edited} || {m.pages_created} || {m.bytes_added} || {m.bytes_removed} || "
            f"{m.active_days} || {m.uploads}")


def report_wikitext(event: EventConfig, compiled: Compiled, result: EventStats | None, now: datetime,
                    deliveries: Sequence[tuple[str, int, int, int]] = (),
                    charts: Sequence[tuple[str, str]] = (),
                    history: Mapping[str, PersonHistory] | None = None) -> str:
    """The whole report section: the participant summary, then (once statistics exist) the
    activity per period, retention with denominators or "pending", breakdowns by community
    and region, a per-participant table (only those who may be named), the follow-up
    deliveries (campaign, sent, skipped, failed) and the metric definitions."""
    lines = [summary_wikitext(event, compiled, now, history).rsplit("\n", 1)[0]]  # without its stamp
    if charts:
        lines += ["", "=== Charts ===", '<gallery mode="packed" heights="220">']
        lines += [f"File:{filename}|{inert(alt)}" for filename, alt in charts]
        lines.append("</gallery>")
    if result is not None:
        lines += _stats_wikitext(event, result)
    if deliveries:
        lines += ["", "=== Follow-up messages ===", '{| class="wikitable sortable"',
                  "! Message !! Sent !! Skipped !! Failed"]
        for name, sent, skipped, failed in deliveries:
            lines += ["|-", f"| {inert(name)} || {sent} || {skipped} || {failed}"]
        lines.append("|}")
    lines += ["", "=== Metric definitions ===", '<div class="mw-collapsible mw-collapsed">',
              "How each figure is counted:"]
    lines += [f"; {inert(key)}\n: {inert(text)}" for key, text in stats_definitions().items()]
    local = now.astimezone(event.tz)
    lines += ["</div>", "", sections.stamp(
        f"Data fetched {local.day} {local:%B %Y, %H:%M} ({event.timezone}) by eventbot.")]
    return "\n".join(lines)


def _stats_wikitext(event: EventConfig, result: EventStats) -> list[str]:
    lines = ["", "=== Activity ===",
             "Edits by participants on every wiki they edit, per period "
             "([[#Metric definitions|how each figure is counted]]).",
             '{| class="wikitable sortable"',
             "! Period !! Participants who edited !! Edits !! Article edits !! Pages edited !! "
             "Articles created !! Bytes added !! Bytes removed !! Active days !! Uploads"]
    for window in result.windows:
        lines.append(_metric_row(window.name, result.totals.get(window.name, Metrics()),
                                 window.name in result.open_windows))
    lines += ["|}", "", "=== Retention ===",
              "Participants with at least one edit in days D+1 to 2D after the event.",
              '{| class="wikitable"', "! Who !! Days !! Retained"]
    for item in result.retention:
        who = "all participants" if item.population == "all" else "new editors"
        lines += ["|-", f"| {who} || {item.days} || {_retention_cell(item)}"]
    lines.append("|}")
    for dimension in ("community", "region"):
        groups = result.groups.get(dimension, ())
        if not groups:
            continue
        lines += ["", f"=== By {dimension} ===", '{| class="wikitable sortable"',
                  f"! {dimension.capitalize()} !! Participants !! Edited during the event !! "
                  "Edits during the event"]
        for group in groups:
            lines += ["|-", f"| {inert(group.key)} || {group.participants} || {group.active_during} || "
                            f"{group.during.edits}"]
        lines.append("|}")
    lines += ["", "=== Participants ===",
              f"Participants who asked not to be named are counted above but not listed "
              f"({result.not_public}).",
              '{| class="wikitable sortable"',
              "! Participant !! Community !! Status !! Experience !! Edits during !! Edits in the "
              f"{min(event.stats.after_days, default=0)} days after !! Articles created !! " + " !! ".join(
                  f"Retained at {d} days" for d in event.stats.retention_days)]
    first_after = f"after-{min(event.stats.after_days)}" if event.stats.after_days else None
    for row in result.rows:
        created = sum(row.get(w.name).pages_created for w in result.windows
                      if w.name in ("baseline", "during", f"after-{max(event.stats.after_days, default=0)}"))
        retained = " || ".join(
            "pending" if row.retained.get(d) is None else ("yes" if row.retained.get(d) else "no")
            for d in event.stats.retention_days)
        lines += ["|-", f"| {user_link(row.username)} || {inert(row.community or '')} || "
                        f"{row.status.value} || {row.experience.value} || {row.get('during').edits} || "
                        f"{row.get(first_after).edits if first_after else 0} || {created} || {retained}"]
    lines.append("|}")
    return lines
