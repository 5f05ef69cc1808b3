"""The local HTML report, opened in headless Chromium: the page renders and its charts decode.

No wiki is needed: the statistics come from `bot.stats.compute` over hand-made participants
and contributions (a seeded random month of editing around a three-day event). Chromium is
Debian's `chromium` package; without it the tests are skipped, saying so (or fail, when
EVENTBOT_REQUIRE_CHROMIUM is set, as CI should).
The screenshot is kept in pytest's temporary folder and copied to /tmp/eventbot-report.png.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import parse_event
from bot.htmlreport import write_report
from bot.models import Contribution, Participant, Status, UserInfo

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT_COPY = Path("/tmp/eventbot-report.png")
BLUE = (0x33, 0x66, 0xCC)  # the bars of every chart (bot.charts.BLUE)

REQUIRE_CHROMIUM = "EVENTBOT_REQUIRE_CHROMIUM"


@pytest.fixture(autouse=True)
def _needs_chromium() -> None:
    """Skip without Chromium, saying why; fail instead when EVENTBOT_REQUIRE_CHROMIUM is set (CI)."""
    if CHROMIUM is None:
        reason = "headless Chromium is not installed (Debian: apt-get install chromium fonts-noto-core)"
        if os.environ.get(REQUIRE_CHROMIUM):
            pytest.fail(f"{reason}, and {REQUIRE_CHROMIUM} is set", pytrace=False)
        pytest.skip(reason)

EVENT = parse_event({
    "id": "ttt-2026",
    "title": "Train the Trainer 2026 — తెలుగు & ଓଡ଼ିଆ",
    "start": "2026-07-10",
    "end": "2026-07-12",
    "timezone": "Asia/Kolkata",
    "location": "Hyderabad",
    "wikis": ["tewiki", "orwiki"],
    "pages": {"participants": "TTT/Participants", "report": "TTT/Report"},
    "registration": [{"page": "TTT/Registration", "formats": ["signatures"]}],
}, "test")
NOW = datetime(2026, 9, 20, 6, 0, tzinfo=UTC)
COMMUNITIES = ["తెలుగు", "ଓଡ଼ିଆ", "বাংলা", "العربية", "עברית", "English",
               "Wikimedians of a Very Long Community Name Region", "<script>alert(1)</script>"]

# The load event waits for every image; then each one is either decoded (naturalWidth > 0) or
# broken. The count goes on <html>, where --dump-dom shows it.
PROBE = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const good = images.filter((i) => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0);
  document.documentElement.setAttribute("data-images", good.length + "/" + images.length);
});
</script>"""


def synthetic() -> tuple[list[Participant], list[Contribution]]:
    """40 participants in 8 communities, a few RTL names, one opted out, one withdrawn."""
    rng = random.Random(2026)
    people: list[Participant] = []
    contribs: list[Contribution] = []
    revid = 0
    old = datetime(2015, 1, 1, tzinfo=UTC)
    for i in range(40):
        community = COMMUNITIES[min(int(rng.expovariate(0.5)), len(COMMUNITIES) - 1)]
        name = f"مستخدم {i}" if i % 7 == 0 else f"Participant {i:02}"
        new = i % 3 == 0
        fields = {"community": community, "region": rng.choice(["South", "East", ""]),
                  "gender": rng.choice(["woman", "man", "woman", "non-binary", ""])}
        if i == 5:
            fields["public"] = "no"
        registration = datetime(2026, 6, 20, tzinfo=UTC) if new else old
        people.append(Participant(name, Status.ATTENDED, frozenset({Status.ATTENDED}), (),
                                  fields=fields, user=UserInfo(name, True, i, 10 if new else 2000,
                                                               registration)))
        bursts: Sequence[tuple[datetime, float, int]] = (
            (datetime(2026, 4, 11, tzinfo=UTC), 90 * 24, rng.randint(0, 25)),  # baseline
            (datetime(2026, 7, 9, 19, tzinfo=UTC), 70, rng.choice([0, rng.randint(1, 25)])),
            (datetime(2026, 7, 13, tzinfo=UTC), 69 * 24, rng.randint(0, 12)),  # after
        )
        for start, hours, count in bursts:
            for _ in range(count):
                revid += 1
                when = start + timedelta(hours=rng.uniform(0, hours))
                contribs.append(Contribution(rng.choice(["tewiki", "orwiki"]), name, revid, when, 0,
                                             f"Page {revid}", rng.randint(-50, 900),
                                             created=rng.random() < 0.15))
    people.append(Participant("Gone", Status.WITHDRAWN, frozenset({Status.WITHDRAWN}), ()))
    return people, [c for c in contribs if c.timestamp < NOW]


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", f"--user-data-dir={profile}", *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bot.stats import compute

    people, contribs = synthetic()
    stats = compute(EVENT, people, contribs, [], NOW)
    out = tmp_path_factory.mktemp("report")
    write_report(out, EVENT, stats, contribs, formats={"html"}, generated_at=NOW,
                 users={p.username for p in people if p.active})
    return out / "report.html"


def test_charts_load_and_decode_in_chromium(report: Path, tmp_path: Path) -> None:
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                     encoding="utf-8")
    result = chromium("--virtual-time-budget=10000", "--dump-dom", probe.as_uri(),
                      profile=tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'data-images="3/3"' in result.stdout, result.stdout[:500]
    # The hostile community name came through as text, not as an element.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in result.stdout


def test_screenshot_shows_the_report_with_its_charts(report: Path, tmp_path: Path) -> None:
    from PIL import Image

    shot = tmp_path / "report.png"
    result = chromium(f"--screenshot={shot}", "--window-size=1200,2400",
                      "--virtual-time-budget=10000", report.as_uri(), profile=tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 50_000
    shutil.copyfile(shot, SCREENSHOT_COPY)
    with Image.open(shot) as image:
        assert image.size == (1200, 2400)
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20) or []
        assert len(colours) > 200  # text, tables and anti-aliased charts, not a blank page
        # The chart bars are drawn in the report's blue: thousands of such pixels means the
        # images were decoded and painted, not just laid out as empty boxes.
        blue = sum(n for n, c in colours if isinstance(c, tuple)
                   and all(abs(a - b) <= 6 for a, b in zip(c, BLUE, strict=True)))
        assert blue > 20_000, blue
