"""Delimiters, sniffed from the fixed-width ISA segment."""

from __future__ import annotations

from dataclasses import dataclass, field

from mohsedi.errors import X12Error

ISA_LENGTH = 106  # 105 characters of ISA plus the segment terminator
# Positions of the 16 element separators inside a fixed-width ISA.
ISA_SEPARATOR_POSITIONS = (3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103)


@dataclass(frozen=True, slots=True)
class Delimiters:
    element: str = "*"
    component: str = ":"
    repetition: str | None = "^"
    segment: str = "~"
    # Segment texts already split with these delimiters -> their elements (see Segment.__init__).
    splits: dict[str, tuple[str, ...]] = field(default_factory=dict, init=False, compare=False, hash=False, repr=False)

    @property
    def trailer_whitespace(self) -> frozenset[str]:
        """Characters that may follow a terminator as layout (line breaks, blanks), never data."""
        used = {self.element, self.component, self.segment, self.repetition}
        return frozenset(" \t\r\n") - used


def sniff_delimiters(isa: str, *, source: str | None = None, offset: int | None = None) -> Delimiters:
    """Read the delimiters from the first 106 characters of an interchange.

    The ISA is fixed width, so the separators sit at known positions; anything else
    means a truncated or hand-edited header, and guessing would misread the whole file.
    """
    if not isa.startswith("ISA"):
        raise X12Error(f"expected an ISA segment, found {isa[:20]!r}", source=source, offset=offset)
    if len(isa) < ISA_LENGTH:
        raise X12Error(
            f"ISA is truncated: {len(isa)} characters, a fixed-width ISA needs {ISA_LENGTH}",
            source=source,
            offset=offset,
            segment_id="ISA",
        )
    element = isa[3]
    for position in ISA_SEPARATOR_POSITIONS:
        if isa[position] != element:
            raise X12Error(
                f"ISA is not fixed width: expected the element separator {element!r} at "
                f"position {position}, found {isa[position]!r}",
                source=source,
                offset=offset,
                segment_id="ISA",
            )
    version = isa[84:89]
    repetition_field = isa[82]
    # ISA11 is a repetition separator from 00402 on; in 00401 it is a standards id ("U").
    repetition = repetition_field if version >= "00402" and not repetition_field.isalnum() else None
    component = isa[104]
    segment = isa[105]
    chosen = [c for c in (element, component, segment, repetition) if c is not None]
    if len(set(chosen)) != len(chosen):
        raise X12Error(
            f"ISA delimiters are not distinct: element {element!r}, component {component!r}, "
            f"repetition {repetition!r}, segment {segment!r}",
            source=source,
            offset=offset,
            segment_id="ISA",
        )
    if any(c.isalnum() for c in chosen):
        raise X12Error(
            f"ISA delimiters must not be letters or digits: element {element!r}, "
            f"component {component!r}, segment terminator {segment!r}",
            source=source,
            offset=offset,
            segment_id="ISA",
        )
    return Delimiters(element=element, component=component, repetition=repetition, segment=segment)
