"""The fix loop's guards: a fix that would break the guide is withheld, and fixes that undo each
other are withdrawn; either way the finding stays, as manual, with the reason (issue: a safe fix
must never make a valid claim invalid, and the fix loop must end)."""

from __future__ import annotations

from collections.abc import Iterator

from mohsedi.rules.base import Docs, Finding, Fix, FixSafety, Rule, Scope, Severity
from mohsedi.rules.context import ClaimContext, RuleOptions
from mohsedi.rules.edits import insert_segment, insertion_anchor, with_element, with_procedure
from mohsedi.rules.engine import fix_documents, load_document
from mohsedi.rules.registry import all_rules
from tests.rules.harness import wrap

DOCS = Docs(what="test", why="test", example="test", fix="safe: test")


def make_rule(code: str, check) -> Rule:
    return Rule(
        code=code,
        name=code.lower(),
        title=code,
        severity=Severity.ERROR,
        fix_safety=FixSafety.SAFE,
        scope=Scope.CLAIM,
        predicts=(),
        sources=(),
        docs=DOCS,
        check=check,
    )


def one_claim() -> str:
    return wrap([{"dx": ["C44311"], "lines": ["17311 @1"]}])


def test_a_fix_writing_an_over_long_value_is_withheld() -> None:
    # REF02 of REF*6R holds at most 50 characters (005010X222A1, 2400 REF*6R).
    def long_line_id(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
        line = ctx.claim.lines[0]
        ref = next(s for s in line.segments if s.id == "REF" and s.element(1) == "6R")
        if ref.element(2) != "X" * 51:
            yield this.on(ctx.claim, line, "line id", fix=Fix("set a long id", (with_element(ref, 2, "X" * 51),)))

    rule = make_rule("X12901", long_line_id)
    doc = load_document("case.837", one_claim())
    before = doc.emit()
    outcome = fix_documents([doc], [rule], RuleOptions())
    assert doc.emit() == before
    assert outcome.applied == []
    [left] = [loc.finding for loc in outcome.remaining]
    assert left.fix_safety == FixSafety.MANUAL
    assert left.fix is None
    assert "not fixed: the edit would break the implementation guide" in left.message
    assert "longer than 50" in left.message


def test_a_fix_repeating_a_segment_beyond_its_max_use_is_withheld() -> None:
    # 2300 REF*X4 (CLIA) may appear once.
    def second_clia(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
        anchor = insertion_anchor(ctx.claim.segments, "2300", "REF[X4]")
        assert anchor is not None
        yield this.on(
            ctx.claim, None, "clia", fix=Fix("add a CLIA", (insert_segment(anchor, "REF", "X4", "05D1111111"),))
        )

    rule = make_rule("X12902", second_clia)
    doc = load_document("case.837", one_claim())
    before = doc.emit()
    outcome = fix_documents([doc], [rule], RuleOptions())
    assert doc.emit() == before
    [left] = [loc.finding for loc in outcome.remaining]
    assert left.fix_safety == FixSafety.MANUAL
    assert "appears 2 times, the guide allows 1" in left.message


def test_fixes_that_undo_each_other_are_withdrawn_and_the_claim_kept_as_before() -> None:
    def add_xs(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
        line = ctx.claim.lines[0]
        if "XS" not in line.modifiers:
            yield this.on(ctx.claim, line, "wants XS", fix=Fix("add XS", (with_procedure(line, modifiers=["XS"]),)))

    def drop_xs(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
        line = ctx.claim.lines[0]
        if "XS" in line.modifiers:
            yield this.on(ctx.claim, line, "no XS", fix=Fix("drop XS", (with_procedure(line, modifiers=[]),)))

    rules = [make_rule("X12903", add_xs), make_rule("X12904", drop_xs)]
    doc = load_document("case.837", one_claim())
    before = doc.emit()
    outcome = fix_documents([doc], rules, RuleOptions())
    assert doc.emit() == before  # the state the cycle started from
    assert outcome.applied == []
    assert outcome.passes < 8
    [left] = [loc.finding for loc in outcome.remaining]
    assert left.rule == "X12903"
    assert left.fix_safety == FixSafety.MANUAL
    assert "X12903 and X12904 undo each other" in left.message


def test_with_procedure_keeps_the_description_in_sv101_7() -> None:
    text = one_claim().replace("SV1*HC:17311*", "SV1*HC:17999:::::Unlisted skin proc*")
    doc = load_document("case.837", text)
    [line] = doc.claims()[0].lines
    edit = with_procedure(line, modifiers=["XS"])
    assert edit.elements[1] == "HC:17999:XS::::Unlisted skin proc"


def test_a_claim_whose_safe_fix_would_leave_a_new_finding_is_not_fixed() -> None:
    def add_xs(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
        line = ctx.claim.lines[0]
        if "XS" not in line.modifiers:
            yield this.on(ctx.claim, line, "wants XS", fix=Fix("add XS", (with_procedure(line, modifiers=["XS"]),)))

    def dislikes_xs(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
        line = ctx.claim.lines[0]
        if "XS" in line.modifiers:
            yield this.on(ctx.claim, line, "XS needs a note", safety=FixSafety.MANUAL)

    rules = [make_rule("X12905", add_xs), make_rule("X12906", dislikes_xs)]
    doc = load_document("case.837", one_claim())
    before = doc.emit()
    outcome = fix_documents([doc], rules, RuleOptions())
    assert doc.emit() == before
    assert outcome.applied == []
    [left] = [loc.finding for loc in outcome.remaining]
    assert left.rule == "X12905"
    assert left.fix_safety == FixSafety.MANUAL
    assert "would leave a new X12906 finding" in left.message


def test_one_refused_fix_leaves_the_other_fixes_of_the_set_applied() -> None:
    # Ten claims lack REF*6R (X12004 inserts one each); one claim's lines add up to a total too
    # long for CLM02 (18 digits at most): only that fix is withheld, and nothing is reported
    # applied that was not written.
    claims = [{"lines": ["17311 noref"]} for _ in range(10)]
    claims.append({"total": "1", "lines": ["17311 $999999999999999999", "17312 $999999999999999999"]})
    doc = load_document("case.837", wrap(claims))
    outcome = fix_documents([doc], all_rules(), RuleOptions())
    applied = sorted((a.rule, a.claim) for a in outcome.applied if a.rule != "X12001")  # SE01 recounted
    assert applied == sorted([("X12004", f"C{i}") for i in range(1, 11)])
    text = doc.emit()
    assert text.count("REF*6R*") == 12
    assert "CLM*C11*1*" in text  # the refused total is not written by the final recount either
    [left] = [loc.finding for loc in outcome.remaining if loc.finding.rule == "X12002"]
    assert left.fix_safety == FixSafety.MANUAL and "CLM02" in left.message and "longer than 18" in left.message


def test_a_file_cut_short_is_never_written_out_as_whole(tmp_path) -> None:
    from tests.engine import fix_files

    for cut in ("SE", "GE", "IEA"):
        path = tmp_path / f"cut-{cut}.837"
        path.write_text(wrap([{"lines": ["17311 noref"]}], {"cut": cut}), newline="")
        target = tmp_path / "out" / path.name
        [report] = fix_files([str(path)], all_rules(), RuleOptions(), out=tmp_path / "out")
        assert any(f.rule == "X12007" for f in report.findings)
        assert report.output is None and not target.exists()
        assert "cut short" in report.notices[-1]


def test_check_offers_a_fix_only_when_fix_would_apply_it(tmp_path) -> None:
    from tests.engine import check_files

    path = tmp_path / "total.837"
    claims = [{"total": "1", "lines": ["17311 $999999999999999999", "17312 $999999999999999999"]}]
    path.write_text(wrap(claims), newline="")
    before = path.read_bytes()
    [report] = check_files([str(path)], all_rules(), RuleOptions())
    [total] = [f for f in report.findings if f.rule == "X12002"]
    assert total.fix_safety == FixSafety.MANUAL and "not fixed" in total.message
    assert path.read_bytes() == before and b"CLM*C1*1*" in before  # check changed nothing
