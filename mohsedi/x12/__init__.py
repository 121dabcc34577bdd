"""Syntax only: delimiters, segments with positions, envelopes, lossless emit."""

from mohsedi.x12.delimiters import Delimiters, sniff_delimiters
from mohsedi.x12.envelope import Envelope, TransactionSet, Unit, iter_units
from mohsedi.x12.segments import Segment, decode, emit, encode, iter_segments, read_chunks


def parse_segments(text: str, *, source: str | None = None) -> list[Segment]:
    """Every segment of a whole document held in memory."""
    return list(iter_segments([text], source=source))


__all__ = [
    "Delimiters",
    "Envelope",
    "Segment",
    "TransactionSet",
    "Unit",
    "decode",
    "emit",
    "encode",
    "iter_segments",
    "iter_units",
    "parse_segments",
    "read_chunks",
    "sniff_delimiters",
]
