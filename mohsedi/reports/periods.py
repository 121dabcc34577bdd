"""Report periods: calendar dates or relative spans counted back from today."""

from __future__ import annotations

import re
from datetime import date, timedelta

RELATIVE = re.compile(r"^(\d+)([dwmy])$")
DAYS_PER_UNIT = {"d": 1, "w": 7, "m": 30, "y": 365}


def parse_day(value: str | None, today: date | None = None) -> date | None:
    """'2026-10-01' or '90d' / '12w' / '6m' / '1y' (days back from today); None stays None."""
    if value is None or value == "":
        return None
    match = RELATIVE.match(value.strip().lower())
    if match:
        count, unit = int(match.group(1)), match.group(2)
        try:
            return (today or date.today()) - timedelta(days=count * DAYS_PER_UNIT[unit])
        except OverflowError:  # further back than the calendar goes (year 1)
            raise ValueError(f"{value!r} reaches back before the year 1") from None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD) or a span like 90d, 12w, 6m") from None
