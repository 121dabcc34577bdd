"""The denial report's numbers against a hand count of the samples; HTML that renders; audit."""

from __future__ import annotations

import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import html as lxml_html

from mohsedi.cli.main import cli
from mohsedi.pipeline import run_audit, run_check, run_denial_report, run_ingest
from mohsedi.reports.denials import Period
from mohsedi.reports.html import render_html
from mohsedi.reports.periods import parse_day
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.registry import all_rules
from tests.conftest import SAMPLES

# Hand count of samples/10-mohs-denials.835 (see samples/README.md): every denied line and its amount.
HAND_DENIALS = {
    "MOHS-0101": [Decimal("667.45"), Decimal("378.02")],
    "MOHS-0102": [Decimal("401.16")],
    "MOHS-0103": [Decimal("378.02")],
    "MOHS-0104": [Decimal("1485.60")],
    "MOHS-0105": [Decimal("742.80")],
    "MOHS-0106": [Decimal("742.80")],
    "MOHS-0107": [Decimal("742.80")],
    "MOHS-0108": [Decimal("150.00")],
    "MOHS-0201": [Decimal("145.00")],
    "MOHS-0202": [Decimal("300.00")],
    "MOHS-0203": [Decimal("118.00")],
    "MOHS-0204": [Decimal("150.00")],
    "MOHS-0205": [Decimal("150.00")],
    "MOHS-0301": [Decimal("742.80")],
    "MOHS-0302": [Decimal("401.16")],
    "MOHS-0303": [Decimal("742.80")],
    "MOHS-0401": [Decimal("667.45"), Decimal("667.45")],
}


@pytest.fixture
def stored(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'reports.db'}"
    run_check([str(p) for p in sorted(SAMPLES.glob("*.837"))], all_rules(), RuleOptions(), db_url=url)
    run_ingest([str(p) for p in sorted(SAMPLES.glob("*.835"))], url)
    return url


def test_numbers_match_a_hand_count(stored: str) -> None:
    report = run_denial_report(stored, Period(None, None))
    hand_total = sum((a for amounts in HAND_DENIALS.values() for a in amounts), Decimal(0))
    totals = report["totals"]
    assert Decimal(totals["denied"]) == hand_total == Decimal("9773.31")
    assert totals["denials"] == sum(len(v) for v in HAND_DENIALS.values()) == 19
    by_claim: dict[str, list[Decimal]] = {}
    for d in report["denials"]:
        by_claim.setdefault(d["claim"], []).append(Decimal(d["amount"]))
    assert {k: sorted(v) for k, v in by_claim.items()} == {k: sorted(v) for k, v in HAND_DENIALS.items()}
    assert sum(Decimal(r["amount"]) for r in report["by_rule"]) == hand_total
    assert sum(Decimal(r["amount"]) for r in report["by_procedure"]) == hand_total
    assert sum(Decimal(r["amount"]) for r in report["by_carc"]) == hand_total
    by_rule = {r["rule"]: r for r in report["by_rule"]}
    assert by_rule["unexplained"] == {
        "rule": "unexplained",
        "title": "no rule predicts this denial yet",
        "count": 1,
        "amount": "742.80",
    }
    assert report["unexplained"][0]["carc"] == "197"
    # The reversal of MOHS-0001 and its corrected payment: paid counts it once.
    paid_hand = Decimal("13631.79")
    assert Decimal(totals["paid"]) == paid_hand
    assert report["fixed_still_denied"] == []  # checked, not fixed
    assert sum(r["count"] for r in report["fired_sent_anyway"]) == 18


def test_period_and_payer_filters(stored: str) -> None:
    assert run_denial_report(stored, Period(parse_day("2026-11-07"), None))["denials"] == []
    assert len(run_denial_report(stored, Period(parse_day("2026-11-06"), None))["denials"]) == 19
    assert run_denial_report(stored, Period(None, None), "OTHERPAYER")["denials"] == []
    week = run_denial_report(stored, Period(None, None))["weekly"]
    assert {w["week"] for w in week} == {"2026-11-02"}  # Monday of the 2026-11-06 payment


def test_html_is_self_contained_with_charts(stored: str, tmp_path: Path) -> None:
    page = render_html(run_denial_report(stored, Period(None, None)))
    tree = lxml_html.fromstring(page)
    assert tree.findtext(".//h1") == "Denial root causes"
    assert len(tree.xpath("//svg")) >= 3, "denials by rule, weekly trend, by payer"
    assert len(tree.xpath("//table")) >= 8
    for attr in ("src", "href"):
        assert not [e for e in tree.xpath(f"//*[@{attr}]") if "://" in e.get(attr)], "nothing fetched"
    assert "<script" not in page
    assert "MOHS005" in page and "@media print" in page


@pytest.fixture
def stored_weeks(stored: str, tmp_path: Path) -> str:
    """The samples plus two synthetic payments four and two weeks later (a gap week between)."""
    from tests.store.era import clp, interchange, svc, transaction

    def denied(pcn: str, trace: str, day: str, st: str) -> list[str]:
        return transaction(
            trace, "300", day, clp(pcn, "1", "500", "300", svc("17311", "500", "300", "CO*45*100", "CO*50*100")), st=st
        )

    path = tmp_path / "later.835"
    path.write_text(interchange(denied("LATE-1", "W1", "20261120", "0001"), denied("LATE-2", "W2", "20261204", "0002")))
    [report] = run_ingest([str(path)], stored)
    assert report.status == "stored"
    return stored


def test_html_weekly_chart_has_rule_titles_and_a_date_axis(stored_weeks: str) -> None:
    data = run_denial_report(stored_weeks, Period(None, None))
    assert [w["week"] for w in data["weekly"] if w["rule"] == "unexplained"] == [
        "2026-11-02",
        "2026-11-16",
        "2026-11-30",
    ]
    tree = lxml_html.fromstring(render_html(data))
    heading = next(h for h in tree.xpath("//h2") if h.text_content() == "Weekly trend")
    svg = heading.getnext().xpath(".//svg")[0]
    texts = " ".join(t.text_content() for t in svg.xpath(".//*[local-name()='text']"))
    assert "None" not in texts
    assert "Nov" in texts and "Dec" in texts and "2026" in texts, texts  # month ticks of a date axis
    assert "unexplained: no rule predicts this denial yet" in texts
    assert "MOHS003: A first-stage line (17311/17313)" in texts
    rule_chart = tree.xpath("//h2[.='Denials by rule']")[0].getnext().xpath(".//svg")[0]
    assert "MOHS005: A head, neck or genital diagnosis" in rule_chart.text_content()
    page = lxml_html.tostring(tree, encoding="unicode")
    assert "SYNTHETIC MEDICARE CONTRACTOR" in page and "EFT2611060002" in page and "2026-10-06" in page


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.mark.skipif(chromium() is None, reason="Chromium is not installed (.ci/run installs it)")
@pytest.mark.slow
def test_html_opens_in_headless_chromium(stored_weeks: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = CliRunner().invoke(
        cli, ["report", "denials", "--db", stored_weeks, "--format", "html", "-o", str(page), "-q"]
    )
    assert result.exit_code == 0 and result.output == ""
    shot = Path(os.environ.get("MOHSEDI_SCREENSHOT_DIR", tmp_path)) / "denial-report.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--hide-scrollbars",
            "--window-size=1200,2400",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 20_000, "a blank page would be much smaller"
    from PIL import Image

    with Image.open(shot) as image:
        colors = image.convert("RGB").resize((120, 240)).getcolors(maxcolors=100_000)
    assert colors and len(colors) > 20, "the screenshot shows charts and tables, not a blank page"
    print(f"screenshot: {shot}")


def test_audit_finds_the_seeded_errors(stored: str) -> None:
    from datetime import date

    from mohsedi.reports.audit import audit
    from mohsedi.store.db import open_store

    result = audit(open_store(stored), 90, today=date(2026, 11, 22))
    rules = {r["rule"] for r in result["by_rule"]}
    assert {"MOHS001", "MOHS003", "MOHS004", "MOHS005", "MOHS011", "MOHS017", "NCCI003"} <= rules
    # Every sample claim but MOHS-0602, dated 2026-03-02: 34, and 16-two-sets.837's two (issue 18).
    assert result["claims"] == 36
    stale = audit(open_store(stored), 10, today=date(2027, 6, 1))
    assert stale["claims"] == 0 and stale["by_rule"] == []
    assert run_audit(stored, 3660)["claims"] == 37


def test_report_commands_for_cron(stored: str, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "weekly.html"
    result = runner.invoke(
        cli, ["report", "denials", "--db", stored, "--since", "3660d", "--format", "html", "-o", str(out), "--quiet"]
    )
    assert result.exit_code == 0 and result.output == "" and out.stat().st_size > 10_000
    result = runner.invoke(cli, ["ingest", *map(str, sorted(SAMPLES.glob("*.835"))), "--db", stored, "-q"])
    assert result.exit_code == 0 and result.output == ""
    result = runner.invoke(cli, ["report", "denials", "--db", stored, "--since", "yesterday"])
    assert result.exit_code == 2
