"""The `eventbot` command.

    eventbot [pywikibot options] COMMAND [options]

pywikibot's global options work as organisers know them from pywikibot scripts: `-simulate`
(no edits, show what would change), `-dir:PATH` (the folder with user-config.py),
`-user:NAME`, `-family:NAME`. Offline commands (`signups`, `check-config`) never load
pywikibot, so they work without any wiki account.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.config import ConfigError, EventConfig, load_event
from bot.models import Failed, Posted, Skipped, Unchanged

if TYPE_CHECKING:
    from datetime import time

    from bot.wiki import Farm

__all__ = ["main"]

log = logging.getLogger("eventbot")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def split_global_args(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Separate pywikibot's `-option[:value]` arguments from eventbot's `--options`."""
    pwb: list[str] = []
    ours: list[str] = []
    for arg in argv:
        if arg.startswith("-") and not arg.startswith("--") and len(arg) > 2 and not arg[1].isdigit():
            pwb.append(arg)
        else:
            ours.append(arg)
    return pwb, ours


def parse_now(text: str | None) -> datetime:
    """`--now` as an aware datetime; without a timezone it is UTC; default: the real time."""
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SystemExit(f"eventbot: error: --now {text!r} is not a date-time like "
                         f"2026-07-01T09:00+05:30") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eventbot",
        description="Sign-ups, participant lists, statistics, follow-ups and reports for "
                    "Wikimedia events. pywikibot's global options (-simulate, -dir:, -user:) work.",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="compile the participant list and update the wiki pages")
    run.add_argument("--event", required=True, type=Path, help="the event's YAML file")
    run.add_argument("--now", help="the time to act as (ISO 8601); default: now")
    run.add_argument("--db", help="state database URL (default: $EVENTBOT_DB_URL or data/)")

    sg = sub.add_parser("signups", help="parse a sign-up page offline and print what was found")
    sg.add_argument("--wikitext", required=True, type=Path, help="a file with the page's wikitext")
    sg.add_argument("--wiki", required=True, help="database name of its wiki, e.g. metawiki, tewiki")
    sg.add_argument("--config", type=Path, help="an event YAML whose registration settings apply")
    sg.add_argument("--page", help="which registration page of --config (default: the first)")
    sg.add_argument("--json", action="store_true", help="print JSON (the default is a summary)")

    pt = sub.add_parser("participants", help="print the compiled, validated participant list")
    pt.add_argument("--event", required=True, type=Path)
    pt.add_argument("--format", choices=["csv", "json", "wikitext", "massmessage"], default="csv")
    pt.add_argument("--out", type=Path, help="write to this file instead of standard output")

    st = sub.add_parser("stats", help="participation statistics across the wikis participants edit")
    st.add_argument("--event", required=True, type=Path)
    st.add_argument("--now", help="the time to compute as of (ISO 8601); default: now")
    st.add_argument("--format", choices=["table", "json", "csv"], default="table")
    st.add_argument("--out", type=Path, help="write to this file instead of standard output")
    st.add_argument("--db", help="state database URL (default: $EVENTBOT_DB_URL or data/)")
    st.add_argument("--refetch", action="store_true",
                    help="fetch every participant's whole range again (after imports or undeletions)")

    fu = sub.add_parser("followups", help="send the follow-up messages that are due")
    fu.add_argument("--event", required=True, type=Path)
    fu.add_argument("--campaign", help="only this campaign (by name)")
    fu.add_argument("--now", help="the time to act as (ISO 8601); default: now")
    fu.add_argument("--preview", action="store_true",
                    help="render every message as the wiki would, into a local HTML file; post nothing")
    fu.add_argument("--out", type=Path, default=Path("followup-preview.html"),
                    help="where --preview writes its HTML (default: followup-preview.html)")
    fu.add_argument("--preview-page", metavar="TITLE",
                    help="with --preview, also write the messages to this one wiki page (a bot-owned "
                         "section), as MediaWiki expands them; no talk page is touched")
    fu.add_argument("--db", help="state database URL (default: $EVENTBOT_DB_URL or data/)")

    rp = sub.add_parser("report", help="write a local report: HTML with charts, CSV and JSON")
    rp.add_argument("--event", required=True, type=Path)
    rp.add_argument("--now", help="the time to compute as of (ISO 8601); default: now")
    rp.add_argument("--format", action="append", choices=["html", "csv", "json"],
                    help="html, csv or json; repeat for several (default: all three)")
    rp.add_argument("--out", type=Path, default=Path("report"), help="folder to write into")
    rp.add_argument("--db", help="state database URL (default: $EVENTBOT_DB_URL or data/)")

    ow = sub.add_parser("onwiki", help="run every event configured with {{eventbot}} on a wiki")
    ow.add_argument("--wiki", default="metawiki", help="database name of the wiki (default metawiki)")
    ow.add_argument("--template", default="Eventbot", help="the configuration template's name")
    ow.add_argument("--allowlist", default="User:EventBot/Organisers",
                    help="page linking the approved organisers ('' for none)")
    ow.add_argument("--group", default="event-organizer",
                    help="user group of approved organisers ('' for none)")
    ow.add_argument("--page", action="append", help="only this event page (repeatable)")
    ow.add_argument("--send", action="store_true",
                    help="also send due campaigns (approved configurations only)")
    ow.add_argument("--now", help="the time to act as (ISO 8601); default: now")
    ow.add_argument("--db", help="state database URL (default: $EVENTBOT_DB_URL or data/)")

    se = sub.add_parser("series",
                        help="run a workshop series: create month pages, announce, remind, report")
    se.add_argument("--series", required=True, type=Path, help="the series' YAML file")
    se.add_argument("--now", help="the time to act as (ISO 8601); default: now")
    se.add_argument("--no-create", action="store_true", help="do not create month pages")
    se.add_argument("--no-send", action="store_true", help="send no announcements or reminders")
    se.add_argument("--db", help="state database URL (default: $EVENTBOT_DB_URL or data/)")

    sc = sub.add_parser("screen", help="screen applicants against eligibility rules for the committee")
    sc.add_argument("--event", required=True, type=Path, help="the event whose sign-ups are the applicants")
    sc.add_argument("--rules", type=Path,
                    help="YAML with the rules (or a `screening:` key); default: the event's programme file")
    sc.add_argument("--programme", type=Path,
                    help="programme file: past iterations, for alumni rules "
                         "(default: the event's 'programme:')")
    sc.add_argument("--page", help="page for the screening table (default: the event's report page)")
    sc.add_argument("--csv", type=Path, help="also write the table as CSV to this file")

    cc = sub.add_parser("check-config", help="validate event files and explain any problem")
    cc.add_argument("files", nargs="+", type=Path)

    rn = sub.add_parser("runs", help="list recent runs recorded in the state database")
    rn.add_argument("--event", help="only runs of this event id")
    rn.add_argument("--db", help="state database URL")

    sc = sub.add_parser("scheduler", help="run continuously: every event's tasks at their times")
    _schedule_options(sc)
    rd = sub.add_parser("run-due", help="do every task that is due now, once (for cron jobs)")
    _schedule_options(rd)
    rd.add_argument("--now", help="the time to act as (ISO 8601); default: now")
    sh = sub.add_parser("schedule", help="show the upcoming runs of every event")
    sh.add_argument("--list", action="store_true", help="list the upcoming runs per event (the default)")
    sh.add_argument("--events", type=Path, default=Path("config/events"), help="folder of event files")
    sh.add_argument("--now", help="as of this time (ISO 8601); default: now")
    sh.add_argument("--refresh-at", default="06:00", help="local time of the daily tasks (default 06:00)")
    _unit_options(sh)
    return parser


def _unit_options(parser: argparse.ArgumentParser) -> None:
    """What the scheduler runs besides event files: workshop series and on-wiki configurations."""
    parser.add_argument("--series", type=Path, metavar="DIR",
                        help="folder of workshop series files (each run at its months' moments)")
    parser.add_argument("--onwiki", action="append", default=[], metavar="WIKI",
                        help="also run the {{eventbot}} configurations of this wiki (repeatable)")
    parser.add_argument("--onwiki-every", default="1h", help="how often to run them (default 1h)")
    parser.add_argument("--onwiki-template", default="Eventbot", help="the configuration template's name")
    parser.add_argument("--onwiki-allowlist", default="User:EventBot/Organisers",
                        help="page linking the approved organisers ('' for none)")
    parser.add_argument("--onwiki-group", default="event-organizer",
                        help="user group of approved organisers ('' for none)")
    parser.add_argument("--onwiki-no-send", action="store_true",
                        help="keep lists, reports and notices up to date but send no campaigns")


def _schedule_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by `scheduler` and `run-due`."""
    parser.add_argument("--events", type=Path, default=Path("config/events"),
                        help="folder of event files (default: config/events)")
    parser.add_argument("--db", help="state database URL (default: $EVENTBOT_DB_URL or data/)")
    parser.add_argument("--reports", type=Path, default=Path("reports"),
                        help="where the report task writes each event's files (default: reports/)")
    parser.add_argument("--misfire-grace", default="12h",
                        help="how late a task may still run after downtime, e.g. 30m, 12h (default 12h)")
    parser.add_argument("--refresh-at", default="06:00", help="local time of the daily tasks (default 06:00)")
    _unit_options(parser)


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    pwb_args, our_args = split_global_args(args_in)
    args = build_parser().parse_args(our_args)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr,
    )
    try:
        handler = _COMMANDS[args.command]
        return handler(args, pwb_args)
    except ConfigError as exc:
        print(f"eventbot: the configuration has problems:\n{exc}", file=sys.stderr)
        return EXIT_USAGE


# --- wiki set-up ---------------------------------------------------------------------------


def pywikibot_dir() -> Path:
    """The folder pywikibot will read `user-config.py` from, found as pywikibot does: `-dir:`
    or PYWIKIBOT_DIR, else the current folder when it has a user-config.py, else ~/.pywikibot."""
    if os.environ.get("PYWIKIBOT_DIR"):
        return Path(os.environ["PYWIKIBOT_DIR"]).expanduser()
    if (Path.cwd() / "user-config.py").is_file():
        return Path.cwd()
    return Path.home() / ".pywikibot"


def _require_user_config() -> None:
    """Refuse to start without a pywikibot configuration: pywikibot would fall back to its
    defaults, which are Wikimedia's real wikis (`metawiki` would be meta.wikimedia.org)."""
    folder = pywikibot_dir()
    if (folder / "user-config.py").is_file() or os.environ.get("PYWIKIBOT_NO_USER_CONFIG"):
        return
    raise SystemExit(
        f"eventbot: error: no pywikibot configuration: {folder / 'user-config.py'} does not exist.\n"
        "  For the local sandbox wikis: export PYWIKIBOT_DIR=$PWD/.sandbox/pywikibot (after make demo).\n"
        "  For your bot: -dir:FOLDER or PYWIKIBOT_DIR=FOLDER, with the user-config.py made from "
        "user-config.py.sample (README, 'Your bot account and pywikibot settings').")


def _open_farm(pwb_args: list[str]) -> Farm:
    """Apply pywikibot's global options, then import the wiki layer (and pywikibot)."""
    user = None
    for arg in pwb_args:
        if arg.startswith("-dir:"):
            os.environ["PYWIKIBOT_DIR"] = str(Path(arg[5:]).expanduser().resolve())
        if arg.startswith("-user:"):
            user = arg[6:]
    _require_user_config()
    import pywikibot

    from bot.wiki import Farm

    # handle_args() falls back to sys.argv when given nothing, so only call it with options.
    rest = pywikibot.handle_args(pwb_args) if pwb_args else []
    if rest:
        raise SystemExit(f"eventbot: error: unknown pywikibot option(s): {' '.join(rest)}")
    return Farm(user=user)


# --- commands ------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace, pwb_args: list[str]) -> int:
    from bot import pipeline
    from bot.store import Store

    event = load_event(args.event)
    now = parse_now(args.now)
    farm = _open_farm(pwb_args)
    store = Store(args.db)
    run_id = store.start_run(event.id, "run", now)
    try:
        result = pipeline.run_event(event, farm, now, store=store, followups=True)
    except Exception as exc:
        store.finish_run(run_id, "crashed", {}, detail=f"{type(exc).__name__}: {exc}")
        raise
    followups = result.followups
    counts = pipeline.outcome_counts(list(result.outcomes.values()))
    counts.update(sent=sum(r.count(Posted) for r in followups if not farm.simulate),
                  skipped_messages=sum(r.count(Skipped) for r in followups))
    failed = any(isinstance(o, Failed) for o in result.outcomes.values()) or any(
        r.stopped or r.count(Failed) for r in followups)
    store.finish_run(run_id, "failed" if failed else "ok", {
        **counts, "participants": sum(1 for p in result.compiled.participants if p.active),
        "problems": len(result.compiled.problems), "requests": sum(farm.requests.values()),
    })
    _print_run(sys.stdout, event, now, result, farm)
    if event.campaigns:
        _print_followups(sys.stdout, event, now, followups)
    return EXIT_FAILED if failed else EXIT_OK


def _print_run(out: TextIO, event: EventConfig, now: datetime, result: Any, farm: Farm) -> None:
    from bot.participants import by_community

    compiled = result.compiled
    local = now.astimezone(event.tz)
    active = [p for p in compiled.participants if p.active]
    out.write(f"{event.title} ({event.id}), run as of {local:%Y-%m-%d %H:%M} {event.timezone}\n")
    out.write(f"  read {result.pages_read} registration page(s) on {', '.join(event.all_wikis)}\n")
    statuses: dict[str, int] = {}
    for p in compiled.participants:
        statuses[p.status.value] = statuses.get(p.status.value, 0) + 1
    detail = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    out.write(f"  participants: {len(active)} ({detail})\n")
    communities = ", ".join(f"{c} {n}" for c, n in by_community(compiled.participants))
    out.write(f"  by community: {communities or '-'}\n")
    stats = getattr(result, "stats", None)
    if stats is not None and now >= event.starts_at:
        during = stats.totals.get("during")
        if during is not None:
            edited = len({key[0] for key in during.day_keys})
            flag = " so far" if "during" in stats.open_windows else ""
            out.write(f"  during the event{flag}: {during.edits} edits by {edited} of "
                      f"{stats.participants} participants, {during.pages_created} new articles\n")
    if compiled.problems:
        out.write(f"  problems for organisers ({len(compiled.problems)}):\n")
        for problem in compiled.problems:
            where = f"{problem.source}, line {problem.line}" if problem.line else (problem.source or "")
            suffix = f" ({where})" if where and (problem.source or "") not in problem.message else ""
            out.write(f"    - [{problem.kind.value}] {problem.message}{suffix}\n")
    out.write("  pages:\n")
    for key, outcome in result.outcomes.items():
        url = farm.page_url(outcome.wiki, outcome.title)
        if isinstance(outcome, Posted):
            what = ("would be edited (simulation)" if outcome.simulated
                    else f"edited (revision {outcome.revid})")
        elif isinstance(outcome, Unchanged):
            what = "unchanged (no edit needed)"
        elif isinstance(outcome, Skipped):
            what = f"skipped: {outcome.reason}"
        else:
            what = f"FAILED: {outcome.code}: {outcome.error}"
        out.write(f"    {key:13} {what}\n                  {url}\n")
    requests = ", ".join(f"{w} {n}" for w, n in sorted(farm.requests.items()))
    out.write(f"  API requests: {requests}\n")


def cmd_signups(args: argparse.Namespace, pwb_args: list[str]) -> int:
    from bot import signups

    source = None
    if args.config:
        event = load_event(args.config)
        pages = [s for s in event.registration if s.page is not None or s.prefix is not None]
        if args.page:
            pages = [s for s in pages if s.page == args.page or s.prefix == args.page]
        if not pages:
            raise SystemExit(f"eventbot: error: {args.config} has no registration page "
                             f"{args.page or ''}".rstrip())
        source = pages[0]
    try:
        text = args.wikitext.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SystemExit(f"eventbot: error: cannot read {args.wikitext}: {exc}") from exc
    result = signups.parse_page(text, source=str(args.wikitext), wiki=args.wiki, config=source)
    if args.json:
        json.dump(signups.signups_json(result), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        for s in result.signups:
            home = f" [{s.home_wiki}]" if s.home_wiki else ""
            sys.stdout.write(f"{s.line:5}  {s.status.value:10} {s.username}{home}\n")
        for p in result.problems:
            sys.stdout.write(f"{p.line or '':5}  PROBLEM    {p.kind.value}: {p.message}\n")
        sys.stdout.write(f"{len(result.signups)} sign-up(s), {len(result.problems)} problem(s)\n")
    return EXIT_OK


def cmd_participants(args: argparse.Namespace, pwb_args: list[str]) -> int:
    from bot import exports, pipeline

    event = load_event(args.event)
    farm = _open_farm(pwb_args)
    compiled, _ = pipeline.compile_event(event, farm)
    history = pipeline.alumni_history(event, farm, compiled) if args.format != "massmessage" else None
    if args.format == "csv":
        text = exports.to_csv(compiled, history)
    elif args.format == "json":
        text = exports.to_json(compiled, history)
    elif args.format == "wikitext":
        text = exports.to_wikitext(compiled, now_label="", history=history)
    else:
        text = exports.to_massmessage(compiled.participants)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        log.info("wrote %s", args.out)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


def cmd_stats(args: argparse.Namespace, pwb_args: list[str]) -> int:
    from bot import pipeline, reports
    from bot.store import Store

    event = load_event(args.event)
    now = parse_now(args.now)
    farm = _open_farm(pwb_args)
    store = Store(args.db)
    run_id = store.start_run(event.id, "stats", now)
    if args.refetch:
        compiled, _ = pipeline.compile_event(event, farm)
        forgotten = store.forget_fetch_marks([p.username for p in compiled.participants])
        log.info("forgot %d fetch mark(s); fetching the whole range again", forgotten)
    try:
        computed = pipeline.event_stats(event, farm, store, now, progress=_progress)
        result, cost = computed.stats, computed.cost
    except Exception as exc:
        store.finish_run(run_id, "crashed", {}, detail=f"{type(exc).__name__}: {exc}")
        raise
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    store.finish_run(run_id, "ok", {
        "participants": result.participants, "requests": sum(farm.requests.values()),
        "contribution_requests": cost.requests, "lower_bound": cost.lower_bound,
        "fetched": sum(w.fetched for w in cost.wikis.values()),
    })
    # The cost of fetching contributions, next to its lower bound (reading the sign-up pages
    # and checking accounts is the same for every method and is left out of the comparison).
    costs = [(wiki, c.requests, c.lower_bound) for wiki, c in sorted(cost.wikis.items())]
    if args.format == "json":
        data = result.as_dict()
        data["requests"] = {wiki: {"made": made, "lower_bound": bound} for wiki, made, bound in costs}
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    elif args.format == "csv":
        text = reports.stats_csv(result)
    else:
        text = reports.stats_table(event, result, costs)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        log.info("wrote %s", args.out)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_report(args: argparse.Namespace, pwb_args: list[str]) -> int:
    from bot import htmlreport, pipeline
    from bot.store import Store

    event = load_event(args.event)
    now = parse_now(args.now)
    farm = _open_farm(pwb_args)
    computed = pipeline.event_stats(event, farm, Store(args.db), now, progress=_progress)
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    active = {p.username for p in computed.compiled.participants if p.active}
    written = htmlreport.write_report(args.out, event, computed.stats, computed.contribs,
                                      formats=set(args.format or ["html", "csv", "json"]),
                                      generated_at=datetime.now(UTC), users=active)
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK


def cmd_followups(args: argparse.Namespace, pwb_args: list[str]) -> int:
    from bot import pipeline
    from bot.store import Store

    event = load_event(args.event)
    if args.campaign:
        try:
            event.campaign(args.campaign)
        except KeyError as exc:
            raise SystemExit(f"eventbot: error: {exc.args[0]}") from exc
    now = parse_now(args.now)
    farm = _open_farm(pwb_args)
    store = Store(args.db)
    preview = args.preview or farm.simulate
    run_id = store.start_run(event.id, "followups", now)
    compiled, _ = pipeline.compile_event(event, farm)
    try:
        results = pipeline.run_followups(event, compiled, farm, store, now, only=args.campaign,
                                         preview=preview, checkpoint=_checkpoint_from_env())
    except Exception as exc:
        store.finish_run(run_id, "crashed", {}, detail=f"{type(exc).__name__}: {exc}")
        raise
    stopped = [r for r in results if r.stopped]
    store.finish_run(run_id, "stopped" if stopped else "ok", {
        "sent": sum(r.count(Posted) for r in results), "skipped": sum(r.count(Skipped) for r in results),
        "failed": sum(r.count(Failed) for r in results)})
    _print_followups(sys.stdout, event, now, results)
    if preview:
        _write_preview(farm, event, results, args.out)
        print(f"  preview written to {args.out} (nothing was posted)")
        if args.preview_page and not farm.simulate:
            outcome = farm.write_section(event.wiki, args.preview_page, "followup-preview",
                                         _preview_wikitext(results),
                                         f"eventbot: preview of the follow-ups of {event.title}")
            print(f"  preview page: {farm.page_url(event.wiki, args.preview_page)} "
                  f"({type(outcome).__name__.lower()})")
    return EXIT_FAILED if stopped or any(r.count(Failed) for r in results) else EXIT_OK


def _checkpoint_from_env() -> Any:
    """Test hook: EVENTBOT_KILL_AT=NAME:N kills this process with SIGKILL at the Nth time the
    delivery protocol reaches checkpoint NAME (used by the crash-safety test)."""
    spec = os.environ.get("EVENTBOT_KILL_AT")
    if not spec:
        return None
    name, _, nth = spec.partition(":")
    seen = {"count": 0}

    def checkpoint(reached: str) -> None:
        if reached == name:
            seen["count"] += 1
            if seen["count"] == int(nth or 1):
                import signal

                os.kill(os.getpid(), signal.SIGKILL)
    return checkpoint


def _print_followups(out: TextIO, event: EventConfig, now: datetime, results: Any) -> None:
    local = now.astimezone(event.tz)
    out.write(f"{event.title}: follow-ups as of {local:%Y-%m-%d %H:%M} {event.timezone}\n")
    for report in results:
        due = report.due_at.astimezone(event.tz)
        if not report.results and not report.stopped:
            state = "due, nobody to send to" if due <= local else "not due yet"
            out.write(f"  {report.campaign:14} {state} (due {due:%Y-%m-%d %H:%M})\n")
            continue
        out.write(f"  {report.campaign:14} due {due:%Y-%m-%d %H:%M}: sent {report.count(Posted)}, "
                  f"skipped {report.count(Skipped)}, failed {report.count(Failed)}\n")
        for result in report.results:
            outcome = result.outcome
            if isinstance(outcome, Posted):
                what = ("would send" if outcome.simulated else
                        "sent earlier" if result.earlier else f"sent (revision {outcome.revid})")
                what += f" in {result.language}" if result.language else ""
            elif isinstance(outcome, Skipped):
                what = f"skipped: {outcome.reason}"
            elif isinstance(outcome, Failed):
                what = f"FAILED: {outcome.code}: {outcome.error}"
            else:
                what = "unchanged"
            note = f" ({result.note})" if result.note else ""
            out.write(f"      {result.username}: {what}{note}\n")
        if report.stopped:
            out.write(f"    STOPPED: {report.stopped}\n")


def _preview_wikitext(results: Any) -> str:
    """Every message as it would be posted (MediaWiki expands its subst: on save), with the
    skipped recipients and why; the markers are left out so the page never counts as a delivery."""
    from bot.escape import inert, user_link

    lines: list[str] = []
    for report in results:
        lines.append(f"== Preview: {inert(report.campaign)} ==")
        for user, title, text in report.previews:
            body = re.sub(r"<!-- eventbot:[^>]*-->", "", text)
            lines += [f"=== To {user_link(user)}: {title} ===", body, ""]
        skipped = [r for r in report.results if isinstance(r.outcome, Skipped)]
        if skipped:
            lines.append("=== Skipped ===")
            lines += [f"* {user_link(r.username)}: {inert(r.outcome.reason)}" for r in skipped
                      if isinstance(r.outcome, Skipped)]
    return "\n".join(lines)


def _write_preview(farm: Farm, event: EventConfig, results: Any, path: Path) -> None:
    """Every message as MediaWiki renders it (subst applied through action=parse)."""
    import html as html_lib

    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Preview: "
             f"{html_lib.escape(event.title)}</title></head><body>",
             f"<h1>Follow-up preview: {html_lib.escape(event.title)}</h1>"]
    for report in results:
        parts.append(f"<h2>{html_lib.escape(report.campaign)}</h2>")
        for user, title, text in report.previews:
            rendered = farm.parse_preview(event.wiki, f"User talk:{user}", f"== {title} ==\n{text}")
            parts.append(f"<section><h3 dir='auto'>To {html_lib.escape(user)}</h3>{rendered}</section>")
        skipped = [(r.username, r.outcome.reason) for r in report.results if isinstance(r.outcome, Skipped)]
        if skipped:
            parts.append("<h3>Skipped</h3><ul>" + "".join(
                f"<li dir='auto'>{html_lib.escape(u)}: {html_lib.escape(why)}</li>" for u, why in skipped)
                + "</ul>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")


def _progress(wiki: str, done: int, total: int) -> None:
    """Per-batch progress: a live line on a terminal, a log line in jobs."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\r{wiki}: contributions, batch {done}/{total}   ")
        sys.stderr.flush()
    else:
        log.info("%s: contributions, batch %d/%d", wiki, done, total)


def cmd_onwiki(args: argparse.Namespace, pwb_args: list[str]) -> int:
    from bot import discovery
    from bot.onwiki import OnwikiSettings
    from bot.store import Store

    farm = _open_farm(pwb_args)
    settings = OnwikiSettings(wiki=args.wiki, template=args.template,
                              allowlist_page=args.allowlist or None, required_group=args.group or None)
    failed = False
    for result in discovery.run_onwiki(farm, settings, parse_now(args.now), store=Store(args.db),
                                       send=args.send, only=args.page):
        loaded = result.loaded
        used = (f"uses revision {loaded.decision.used.revid}" if loaded.decision.used is not None
                else "does nothing")
        sends = "" if loaded.sends else ", sends nothing"
        sends += ", finished (its last statistics window has closed)" if result.finished else ""
        error = f"; ERROR {result.error}" if result.error else ""
        failed = failed or bool(result.error)
        print(f"{loaded.page.title}: {len(loaded.issues)} problem(s); {used}{sends}{error}")
    return EXIT_FAILED if failed else EXIT_OK


def cmd_series(args: argparse.Namespace, pwb_args: list[str]) -> int:
    from bot import series
    from bot.store import Store

    config = series.load_series(args.series)
    now = parse_now(args.now)
    farm = _open_farm(pwb_args)
    store = Store(args.db)
    run_id = store.start_run(config.id, "series", now)
    result = series.run_series(config, farm, store, now, create=not args.no_create,
                               send=not args.no_send, write=not farm.simulate)
    failed = [t for t, o in result.created.items() if isinstance(o, Failed)]
    print(f"{config.title}: as of {now.astimezone(config.tz):%Y-%m-%d %H:%M} {config.timezone}")
    for title, outcome in result.created.items():
        print(f"  created {title}: {type(outcome).__name__.lower()}")
    for report in result.followups:
        if report.results:
            print(f"  {report.campaign}: sent {report.count(Posted)}, skipped {report.count(Skipped)}, "
                  f"failed {report.count(Failed)}")
    if result.attendance is not None:
        att = result.attendance
        print(f"  attendance: {att.unique} unique, {len(att.repeat)} repeat, "
              f"{len(att.communities)} communities")
    for problem in result.problems:
        print(f"  problem: {problem.message}")
    store.finish_run(run_id, "failed" if failed else "ok", {"created": len(result.created)})
    return EXIT_FAILED if failed else EXIT_OK


def cmd_screen(args: argparse.Namespace, pwb_args: list[str]) -> int:
    from bot import alumni, screening

    event = load_event(args.event)
    programme_path = args.programme or (Path(event.programme) if event.programme else None)
    rules_path = args.rules or programme_path
    if rules_path is None:
        raise SystemExit("eventbot: error: give --rules (or a programme with a 'screening:' key, by "
                         "--programme or the event's 'programme:')")
    rules = screening.load_rules(rules_path)
    programme = alumni.load_programme(programme_path) if programme_path else None
    screening.check_programme(rules, programme, str(rules_path))
    farm = _open_farm(pwb_args)
    history = alumni.load_history(programme, farm).people if programme is not None else None
    verdicts = screening.screen_applicants(event, farm, rules, history=history)
    page = args.page or event.pages.report
    outcome = screening.write_screening(event, farm, page, verdicts, rules)
    eligible = sum(1 for v in verdicts if v.eligible)
    print(f"{event.title}: {len(verdicts)} applicant(s) screened, {eligible} eligible")
    for verdict in verdicts:
        why = "; ".join(verdict.reasons) if not verdict.eligible else "eligible"
        print(f"  {verdict.username}: {why}")
    print(f"  table: {farm.page_url(event.wiki, page)} ({type(outcome).__name__.lower()})")
    if args.csv:
        args.csv.write_text(screening.screening_csv(verdicts, rules), encoding="utf-8")
        print(f"  wrote {args.csv}")
    return EXIT_FAILED if isinstance(outcome, Failed) else EXIT_OK


def cmd_check_config(args: argparse.Namespace, pwb_args: list[str]) -> int:
    from bot import alumni

    status = EXIT_OK
    for path in args.files:
        try:
            event = load_event(path)
            programme = alumni.event_programme(event)
        except ConfigError as exc:
            print(str(exc), file=sys.stderr)
            status = EXIT_USAGE
            continue
        part = f", iteration of {programme.config.title}" if programme is not None else ""
        print(f"{path}: ok: {event.title}, {event.start} to {event.end} ({event.timezone}), "
              f"{len(event.registration)} registration source(s), wikis {', '.join(event.all_wikis)}{part}")
    return status


def cmd_runs(args: argparse.Namespace, pwb_args: list[str]) -> int:
    from bot.store import Store

    for record in Store(args.db).runs(args.event):
        counts = ", ".join(f"{k} {v}" for k, v in sorted(record.counts.items()))
        print(f"#{record.id} {record.started:%Y-%m-%d %H:%M} UTC {record.event} {record.command} "
              f"{record.status}: {counts}")
    return EXIT_OK


def _schedule_settings(args: argparse.Namespace) -> tuple[timedelta, time]:
    """(misfire grace, local time of the daily tasks) from the options, or a usage error."""
    from bot import schedule

    if not args.events.is_dir():
        raise SystemExit(f"eventbot: error: --events {args.events} is not a folder of event files")
    if args.series is not None and not args.series.is_dir():
        raise SystemExit(f"eventbot: error: --series {args.series} is not a folder of series files")
    try:
        grace = schedule.parse_duration(getattr(args, "misfire_grace", "12h"))
        return grace, schedule.parse_time_of_day(args.refresh_at)
    except ValueError as exc:
        raise SystemExit(f"eventbot: error: {exc}") from exc


def _onwiki_jobs(args: argparse.Namespace) -> list[Any]:
    """The `--onwiki WIKI` jobs, or a usage error."""
    from bot import schedule

    try:
        every = schedule.parse_duration(args.onwiki_every)
    except ValueError as exc:
        raise SystemExit(f"eventbot: error: --onwiki-every: {exc}") from exc
    if every < timedelta(minutes=5):
        raise SystemExit("eventbot: error: --onwiki-every: at least 5m (each run reads every configuration)")
    return [schedule.OnwikiJob(wiki=wiki, template=args.onwiki_template,
                               allowlist=args.onwiki_allowlist or None, group=args.onwiki_group or None,
                               every=every, send=not args.onwiki_no_send)
            for wiki in dict.fromkeys(args.onwiki)]


def cmd_scheduler(args: argparse.Namespace, pwb_args: list[str]) -> int:
    from bot import schedule
    from bot.store import default_url

    grace, at = _schedule_settings(args)
    runner = schedule.PipelineRunner(lambda: _open_farm(pwb_args), args.reports)
    scheduler = schedule.build_scheduler(args.events, args.db or default_url(), runner,
                                         misfire_grace=grace, at=at, series_dir=args.series,
                                         onwiki=_onwiki_jobs(args))
    schedule.serve(scheduler)
    return EXIT_OK


def cmd_run_due(args: argparse.Namespace, pwb_args: list[str]) -> int:
    from bot import schedule
    from bot.store import Store

    grace, at = _schedule_settings(args)
    now = parse_now(args.now)
    runner = schedule.PipelineRunner(lambda: _open_farm(pwb_args), args.reports)
    restore = schedule.install_stop_handlers(lambda: None)
    try:
        results = schedule.run_due(args.events, Store(args.db), runner, now, grace=grace, at=at,
                                   series_dir=args.series, onwiki=_onwiki_jobs(args))
    finally:
        restore()
    for task, result in results:
        print(f"{task.key}: {result.status if result else 'not run (already done, or running elsewhere)'}")
    failed = any(r is not None and r.status in ("failed", "crashed") for _, r in results)
    return EXIT_FAILED if failed else EXIT_OK


def cmd_schedule(args: argparse.Namespace, pwb_args: list[str]) -> int:
    from bot import schedule

    _, at = _schedule_settings(args)
    files, series_files = schedule.config_files(args.events, args.series)
    events, broken = schedule.load_events(files, series_files=series_files, onwiki=_onwiki_jobs(args))
    sys.stdout.write(schedule.format_schedule(list(events.values()), parse_now(args.now), at=at))
    return EXIT_USAGE if broken else EXIT_OK


_COMMANDS = {
    "run": cmd_run,
    "signups": cmd_signups,
    "participants": cmd_participants,
    "stats": cmd_stats,
    "followups": cmd_followups,
    "report": cmd_report,
    "onwiki": cmd_onwiki,
    "series": cmd_series,
    "screen": cmd_screen,
    "check-config": cmd_check_config,
    "runs": cmd_runs,
    "scheduler": cmd_scheduler,
    "run-due": cmd_run_due,
    "schedule": cmd_schedule,
}


if __name__ == "__main__":
    sys.exit(main())
