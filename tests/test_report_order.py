"""A report's grouped rows come out in one order whatever order the database returned them in:
PostgreSQL's hash aggregation returns groups in an order that varies from run to run, and a
report run twice over the same store must read the same."""

from __future__ import annotations

from mohsedi.reports.denials import largest_first

ROWS = [
    {"rarc": "N122", "title": "", "count": 1, "amount": "40.00"},
    {"rarc": "M80", "title": "", "count": 2, "amount": "40.00"},
    {"rarc": "N20", "title": "", "count": 1, "amount": "90.00"},
    {"rarc": "MA130", "title": "", "count": 3, "amount": "40.00"},
]


def test_ties_come_out_in_one_order_whatever_the_database_returned() -> None:
    first = largest_first(list(ROWS))
    assert [r["rarc"] for r in first] == ["N20", "M80", "MA130", "N122"]
    assert largest_first(list(reversed(ROWS))) == first
