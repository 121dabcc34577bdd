"""Hypothesis strategies for generated Mohs claims: structure is drawn, so failures shrink.

A claim is one Mohs day for one invented patient, as synth.random_mohs_claim builds it, but
every choice (tumors, site family, diagnosis, stages, blocks, repair, modifiers, pointers,
seeded errors) is a hypothesis draw instead of a call on a seeded random.Random.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from mohsedi import synth

REPAIRS = ("13151", "14060", "12032")

# Seeded errors a claim may carry (the rule each one trips is in its comment in `mutate`).
MUTATIONS = (
    "none",
    "no_line_id",
    "lower_modifier",
    "add_51",
    "59_and_xs",
    "wrong_total",
    "wrong_family",
    "first_stage_units",
    "biopsy",
    "second_first_stage",
    "no_clia",
    "repair_59",
    "em_59",
)


@st.composite
def tumor_lines(draw, pointer: int, first_tumor: bool) -> tuple[str, list[synth.LineSpec]]:
    """One tumor: its diagnosis, and its stage, block and (sometimes) repair lines."""
    head = draw(st.booleans())
    dx = draw(st.sampled_from(synth.HEAD_DIAGNOSES if head else synth.TRUNK_LIMB_DIAGNOSES))
    first, extra = ("17311", "17312") if head else ("17313", "17314")
    mods = () if first_tumor else ("XS",)
    lines = [synth.LineSpec(first, synth.FEE[first], 1, mods, (pointer,))]
    stages = draw(st.integers(1, 3))
    if stages > 1:
        lines.append(synth.LineSpec(extra, synth.FEE[extra] * (stages - 1), stages - 1, (), (pointer,)))
    blocks_over = draw(st.integers(0, 2))
    if blocks_over:
        lines.append(synth.LineSpec("17315", synth.FEE["17315"] * blocks_over, blocks_over, (), (pointer,)))
    repair = draw(st.none() | st.sampled_from(REPAIRS))
    if repair:
        lines.append(synth.LineSpec(repair, synth.FEE[repair], 1, (), (pointer,)))
    return dx, lines


@st.composite
def mohs_claim(draw, n: int) -> synth.ClaimSpec:
    lines: list[synth.LineSpec] = []
    diagnoses: list[str] = []
    for tumor in range(draw(st.integers(1, 2))):
        dx, more = draw(tumor_lines(len(diagnoses) + 1, tumor == 0))
        if dx in diagnoses:  # the same diagnosis again: the second tumor points to the first's
            more = [
                synth.LineSpec(ln.procedure, ln.charge, ln.units, ln.modifiers, (diagnoses.index(dx) + 1,))
                for ln in more
            ]
        else:
            diagnoses.append(dx)
        lines += more
    return synth.ClaimSpec(
        pcn=f"MS{n:08d}",
        diagnoses=tuple(diagnoses),
        lines=lines,
        member_id=f"{draw(st.integers(1, 8))}SY{n:07d}",
        last_name="SYNTHETIC",
        first_name=f"PATIENT{n % 1000}",
    )


@st.composite
def mutated_claim(draw, n: int, kind: str) -> synth.ClaimSpec:
    """A generated claim with one seeded error of ``kind``."""
    claim = draw(mohs_claim(n))
    lines = claim.lines
    if kind == "no_line_id":  # X12004
        lines[draw(st.integers(0, len(lines) - 1))].line_id = None
    elif kind == "lower_modifier":  # X12005
        lines[0].modifiers = ("xs",)
    elif kind == "add_51":  # MOHS018
        for ln in lines:
            if ln.procedure in ("17312", "17314", "17315"):
                ln.modifiers = (*ln.modifiers, "51")
    elif kind == "59_and_xs":  # MOHS014
        lines[0].modifiers = ("59", "XS")
    elif kind == "wrong_total":  # X12002
        claim.total = sum((ln.charge for ln in lines), Decimal("0")) + Decimal("10")
    elif kind == "wrong_family":  # MOHS002
        for ln in lines:
            if ln.procedure == "17312":
                ln.procedure = "17314"
    elif kind == "first_stage_units":  # MOHS003
        first = lines[0]
        first.units = 2
        first.charge = first.charge * 2
        first.pointers = (1, 1)
    elif kind == "biopsy":  # MOHS011
        claim.diagnoses = (*claim.diagnoses, "D485")
        lines.append(synth.LineSpec("11102", Decimal("145"), 1, (), (len(claim.diagnoses),)))
    elif kind == "second_first_stage":  # MOHS004
        lines.append(synth.LineSpec("17311", Decimal("742.80"), 1, (), (1,)))
    elif kind == "no_clia":  # MOHS017
        claim.clia = None
    elif kind == "repair_59":  # MOHS015
        lines.append(synth.LineSpec("13151", Decimal("512"), 1, ("59",), (1,)))
    elif kind == "em_59":  # MOHS013
        claim.diagnoses = (*claim.diagnoses, "L570")
        lines.insert(0, synth.LineSpec("99213", Decimal("118"), 1, ("59",), (len(claim.diagnoses),)))
    return claim


@st.composite
def claim_lists(draw, min_size: int = 1, max_size: int = 6, first: str | None = None) -> list[synth.ClaimSpec]:
    """Claims MS00000000.. each with a drawn seeded error (``first`` fixes the first one's)."""
    count = draw(st.integers(min_size, max_size))
    kinds = [draw(st.sampled_from(MUTATIONS)) for _ in range(count)]
    if first is not None:
        kinds[0] = first
    return [draw(mutated_claim(n, kind)) for n, kind in enumerate(kinds)]


def claims_per_transaction(*choices: int) -> st.SearchStrategy[int]:
    return st.sampled_from(choices)
