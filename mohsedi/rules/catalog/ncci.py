"""NCCI family: PTP pairs, MUE limits and add-on codes, judged by the release in force on the date.

All four look at every line of one patient, rendering provider and date in the batch (across
claims). A MOHS rule that covers the same line silences them (MOHS009-013 for PTP pairs,
MOHS001/MOHS002 for Mohs add-ons).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from mohsedi.codes import mohs as vocab
from mohsedi.codes.ncci import PtpEdit
from mohsedi.rules.base import Docs, Finding, FixSafety, Prediction, Rule, Scope, Severity, Source
from mohsedi.rules.context import DayContext, DayLine
from mohsedi.rules.registry import rule

PTP = Source("CMS NCCI practitioner PTP edits (quarterly release in force on the date of service)", "CMS NCCI", True)
MUE = Source("CMS NCCI practitioner MUE table (quarterly release in force on the date of service)", "CMS NCCI", True)
AOC = Source(
    "Add-on codes and their primaries: the shipped table from CPT's instructions (cited per row in "
    "mohsedi/data/ncci/addons.csv), or an imported CMS NCCI AOC file",
    "CPT / CMS NCCI AOC",
    True,
)


def _bypassed(first: DayLine, second: DayLine) -> bool:
    return vocab.pair_bypassed(first.line.procedure, first.line.modifiers, second.line.procedure, second.line.modifiers)


def _pairs(ctx: DayContext, indicator: str) -> Iterator[tuple[DayLine, DayLine, PtpEdit]]:
    """(column 1 line, column 2 line, edit) for pairs billed that day with this modifier indicator."""
    return (p for p in ctx.ptp_pairs if p[2].modifier_indicator == indicator)


@rule(
    "NCCI001",
    "ptp-pair-without-modifier",
    "A PTP pair (modifier indicator 1) with no modifier that bypasses that pair",
    severity=Severity.ERROR,
    fix=FixSafety.MANUAL,
    scope=Scope.DAY,
    reads=(),
    predicts=(Prediction("CO", ("236",), ("M80", "N20")),),
    sources=(PTP,),
    docs=Docs(
        what="Two codes billed for one patient, provider and date (across lines and claims of the "
        "batch) form a practitioner PTP edit with modifier indicator 1, and no modifier bypasses "
        "that pair: 59, XE/XS/XP/XU, 91, 27 or 24/58/78/79 on either line; 25 or 57 on the E/M "
        "line of the pair (not on a procedure); anatomic modifiers only when the two lines carry "
        "different ones (RT and LT, F1 and F2).",
        why="The column 2 code is bundled into column 1 and denied (CO-236, M80/N20) unless a "
        "modifier shows the services were distinct.",
        example="11402 (excision) and 12032 (repair) of the same site on one date, no modifier.",
        fix="manual: append a modifier only when the services really were distinct (different "
        "site, lesion or encounter); otherwise remove the column 2 line.",
        case="biopsy and repair without modifier",
    ),
)
def ptp_pair_without_modifier(this: Rule, ctx: DayContext) -> Iterator[Finding]:
    seen: set[int] = set()
    for first, second, edit in _pairs(ctx, "1"):
        if id(second.line) in seen or _bypassed(first, second):
            continue
        seen.add(id(second.line))
        yield this.on(
            second.claim,
            second.line,
            f"{edit.column2} is bundled into {edit.column1} on {ctx.day} (PTP, modifier indicator 1; "
            f"{edit.rationale}) and no modifier on either line bypasses this pair",
            related_lines=(first.line.number or 0,),
            data_release=str(edit.release),
        )


@rule(
    "NCCI002",
    "ptp-pair-never-bypassable",
    "A PTP pair with modifier indicator 0",
    severity=Severity.ERROR,
    fix=FixSafety.MANUAL,
    scope=Scope.DAY,
    reads=(),
    predicts=(Prediction("CO", ("236",), ("M80",)),),
    sources=(PTP,),
    docs=Docs(
        what="Two codes billed for one patient, provider and date form a PTP edit with modifier indicator 0.",
        why="No modifier bypasses the edit: the column 2 code is not payable with column 1 (CO-236, M80).",
        example="17311 and 0213T on one date.",
        fix="manual: remove the column 2 line.",
        case="punch and tangential biopsy on one date",
    ),
)
def ptp_pair_never_bypassable(this: Rule, ctx: DayContext) -> Iterator[Finding]:
    seen: set[int] = set()
    for first, second, edit in _pairs(ctx, "0"):
        if id(second.line) in seen:
            continue
        seen.add(id(second.line))
        yield this.on(
            second.claim,
            second.line,
            f"{edit.column2} is never payable with {edit.column1} (PTP, modifier indicator 0; {edit.rationale})",
            related_lines=(first.line.number or 0,),
            data_release=str(edit.release),
        )


@rule(
    "NCCI003",
    "mue-exceeded",
    "Units exceed the MUE (per line for MAI 1; per patient, provider and date for MAI 2 and 3)",
    severity=Severity.ERROR,
    fix=FixSafety.MANUAL,
    scope=Scope.DAY,
    reads=(),
    predicts=(Prediction("CO", ("151", "96"), ("N362",)),),
    sources=(MUE,),
    docs=Docs(
        what="A code's units exceed its Medically Unlikely Edit: on one line for adjudication "
        "indicator 1, or summed over every line and claim of the patient, provider and date for "
        "indicators 2 (policy) and 3 (clinical). A per-date excess is reported on the line whose "
        "units take the running total over the limit.",
        why="Units over the MUE deny as provider liability (CO-151 or 96, N362).",
        example="Five lines of 17313 on one date: the MUE is 3 (MAI 3).",
        fix="manual: check the units against the documentation; MAI 3 limits can be appealed with it.",
        case="five trunk tumors: the fourth line crosses the MUE",
    ),
)
def mue_exceeded(this: Rule, ctx: DayContext) -> Iterator[Finding]:
    data = ctx.options.edit_data()
    running: dict[str, Decimal] = {}
    reported: set[str] = set()
    for dl in ctx.lines:
        code, units = dl.line.procedure, dl.line.units
        if units is None:
            continue
        edit = data.mue_for(code, ctx.day)
        if edit is None:
            continue
        if edit.mai == "1":
            if units > edit.units:
                yield this.on(
                    dl.claim,
                    dl.line,
                    f"{code} has {units.normalize():f} units on one line; the MUE is {edit.units} per line",
                    data_release=str(edit.release),
                )
            continue
        running[code] = running.get(code, Decimal(0)) + units
        if running[code] > edit.units and code not in reported:
            reported.add(code)
            yield this.on(
                dl.claim,
                dl.line,
                f"{code} reaches {running[code].normalize():f} units on {ctx.day} for this patient and "
                f"provider; the MUE is {edit.units} per date (MAI {edit.mai})",
                data_release=str(edit.release),
            )


@rule(
    "NCCI004",
    "add-on-without-eligible-primary",
    "An add-on code from the loaded add-on table without an eligible primary that date",
    severity=Severity.ERROR,
    fix=FixSafety.MANUAL,
    scope=Scope.DAY,
    reads=(),
    predicts=(Prediction("CO", ("B15",), ("N122",)),),
    sources=(AOC,),
    docs=Docs(
        what="A code listed as an add-on (AOC types 1 and 3, with their primaries) billed without "
        "any of its primaries for the same patient, provider and date.",
        why="An add-on is rarely payable alone: it denies for lack of its primary (CO-B15, N122).",
        example="11103 (additional biopsy) with no 11102 that day.",
        fix="manual: add the primary procedure performed, or remove the add-on.",
        case="add-on alone",
    ),
)
def add_on_without_eligible_primary(this: Rule, ctx: DayContext) -> Iterator[Finding]:
    data = ctx.options.edit_data()
    codes = ctx.codes()
    for dl in ctx.lines:
        edits = data.primaries_for(dl.line.procedure, ctx.day)
        if not edits:
            continue
        listed = {e.primary for e in edits if e.edit_type in ("1", "3")}
        if listed and not codes & listed:
            yield this.on(
                dl.claim,
                dl.line,
                f"{dl.line.procedure} is an add-on; none of its primaries ({', '.join(sorted(listed)[:6])}) "
                f"is billed on {ctx.day}",
                data_release=str(edits[0].release),
            )
