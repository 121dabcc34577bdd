"""Loop membership of placed segments, shared by the 837P and 835 readers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from mohsedi.guide.compile import CHAINS


def loop_chain(node: int) -> tuple[str, ...]:
    """Loop ids from the ST loop down to the segment's own loop: ('2000A', '2000B', '2300', '2400')."""
    return CHAINS[node] if node >= 0 else ()


def to_decimal(value: str) -> Decimal | None:
    """X12 R/N numbers as Decimal (money is never a float); None when blank or not a number."""
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def to_date(value: str) -> date | None:
    """CCYYMMDD -> date; None when blank or not a real date."""
    if len(value) != 8 or not value.isdigit():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def date_or_range(fmt: str, value: str) -> tuple[date | None, date | None]:
    """DTP/DTM value with its format qualifier (D8 or RD8) as (start, end)."""
    if fmt == "RD8" and "-" in value:
        start, _, end = value.partition("-")
        return to_date(start), to_date(end)
    day = to_date(value)
    return day, day
