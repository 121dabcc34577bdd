"""place_units remembers each transition it has worked out, keyed by what the segment holds; what
it remembers must never place a segment differently from a walker that starts fresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from mohsedi.guide import read_units
from mohsedi.guide import walker as walker_module
from mohsedi.x12.envelope import TransactionSet

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _placed(text: str) -> list[tuple[list[int], list[str]]]:
    return [
        ([s.node for s in unit.segments], [str(e) for e in unit.placement_errors])
        for unit in read_units([text])
        if isinstance(unit, TransactionSet)
    ]


def test_a_component_qualifier_is_read_with_the_interchanges_own_separator(monkeypatch: pytest.MonkeyPatch) -> None:
    """SVC01-1 qualifies SVC. The same SVC01 text under another component separator (ISA16) holds
    another qualifier: after reading a file with ':' the walker must not place "HC:17311" of a file
    whose separator is '>' as if it were read with ':'."""
    text = (SAMPLES / "01-mohs-paid.835").read_bytes().decode()
    assert text[104] == ":" and "SVC*HC:" in text
    other = text[:104] + ">" + text[105:]  # ISA16 '>', the SVC01 texts unchanged
    monkeypatch.setattr(walker_module, "_WALKERS", {})
    fresh = _placed(other)
    assert fresh[0][1], "with '>' as separator the SVC has no qualifier the guide knows"
    monkeypatch.setattr(walker_module, "_WALKERS", {})
    _placed(text)  # warm up with ':'
    assert _placed(other) == fresh
