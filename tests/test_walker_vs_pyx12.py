"""The oracle: pyx12's own X12ContextReader must place every segment where our walker does."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import pyx12.error_handler
import pyx12.params
import pyx12.x12context

from mohsedi import synth
from mohsedi.guide import node_path, read_units
from mohsedi.x12.segments import read_chunks
from tests.conftest import x12_params


def pyx12_paths(path: Path) -> list[str]:
    reader = pyx12.x12context.X12ContextReader(pyx12.params.params(), pyx12.error_handler.errh_null(), str(path))
    try:
        return [node.x12_map_node.get_path() for node in reader.iter_segments()]
    finally:
        reader.close()


def our_paths(path: Path) -> list[str | None]:
    units = read_units(read_chunks(str(path)), source=str(path))
    return [node_path(s) for u in units for s in u.segments]


@pytest.mark.parametrize("path", x12_params())
def test_every_segment_lands_in_the_same_loop_as_pyx12(path: Path) -> None:
    theirs = pyx12_paths(path)
    ours = our_paths(path)
    assert len(ours) == len(theirs)
    mismatches = [(i + 1, t, o) for i, (t, o) in enumerate(zip(theirs, ours, strict=False)) if t != o]
    assert mismatches == []


@pytest.mark.parametrize("seed", [1, 2])
def test_generated_mohs_files_agree_with_pyx12(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    claims = [synth.random_mohs_claim(rng, n) for n in range(40)]
    path = tmp_path / "gen.837"
    path.write_text(synth.build_837p(claims, claims_per_transaction=15))
    remit = tmp_path / "gen.835"
    remit.write_text(synth.build_835([synth.random_payment(rng, c) for c in claims]))
    for p in (path, remit):
        assert our_paths(p) == pyx12_paths(p)
