"""Building edits on segments: what fixes are made of."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from mohsedi.claims.model import ServiceLine
from mohsedi.guide.compile import NODES
from mohsedi.rules.base import InsertAfter, SetElements
from mohsedi.x12.segments import Segment

MAX_MODIFIERS = 4  # SV101-3..6


def with_element(seg: Segment, index: int, value: str) -> SetElements:
    elements = list(seg.elements)
    while len(elements) <= index:
        elements.append("")
    elements[index] = value
    return SetElements(seg, tuple(elements))


def with_procedure(line: ServiceLine, code: str | None = None, modifiers: Sequence[str] | None = None) -> SetElements:
    """SV101 rebuilt with another code and/or modifiers (SV101-3..6, at most four, in the order given).

    What follows the modifiers (SV101-7, the description unlisted and NOC codes require) is kept
    as it was; the modifier slots before it are padded so it stays in its place.
    """
    assert line.sv1 is not None
    sv1 = line.sv1
    parts = sv1.components(1) or ["HC", ""]
    qualifier = parts[0]
    procedure = code if code is not None else (parts[1] if len(parts) > 1 else "")
    mods = list(modifiers) if modifiers is not None else [m for m in parts[2:6] if m]
    if len(mods) > MAX_MODIFIERS:
        raise ValueError(f"SV101 holds at most {MAX_MODIFIERS} modifiers, not {len(mods)}")
    rest = parts[6:]
    slots = [*mods, *[""] * (MAX_MODIFIERS - len(mods))] if any(rest) else mods
    composite = sv1.delimiters.component.join([qualifier, procedure, *slots, *rest]).rstrip(sv1.delimiters.component)
    return with_element(sv1, 1, composite)


def with_units(line: ServiceLine, units: Decimal, charge: Decimal | None = None) -> SetElements:
    assert line.sv1 is not None
    elements = list(line.sv1.elements)
    while len(elements) <= 4:
        elements.append("")
    elements[4] = format_number(units)
    if charge is not None:
        elements[2] = format_number(charge)
    return SetElements(line.sv1, tuple(elements))


def format_number(value: Decimal) -> str:
    """X12 R type: no exponent, no trailing zeros after the point, no needless point."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def insertion_anchor(segments: Sequence[Segment], loop: str, target_path_end: str) -> Segment | None:
    """The segment a new one goes after, by guide position: the last of ``loop`` at or before it.

    ``target_path_end`` names the new segment's node as the guide does (``REF[6R]``,
    ``REF[X4]``); its position among the loop's segments comes from the pyx12 map.
    """
    target_pos = None
    last = None
    for seg in segments:
        if seg.node < 0:
            continue
        node = NODES[seg.node]
        if node.loop != loop:
            if last is not None and target_pos is not None:
                break  # left the loop (child loops follow its own segments)
            continue
        if target_pos is None:
            parent = NODES[node.parent]
            for child in parent.children:
                c = NODES[child]
                if not c.is_loop and c.path.rsplit("/", 1)[-1] == target_path_end:
                    target_pos = c.pos
                    break
            if target_pos is None:
                return None
        if node.pos <= target_pos:
            last = seg
    return last


def insert_segment(anchor: Segment, *elements: str) -> InsertAfter:
    return InsertAfter(anchor, (tuple(elements),))
