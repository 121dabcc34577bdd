"""What a rule is, what it returns, and the edits a fix is made of.

A rule is one unit with a stable code, declared data (severity, fix safety, the denial
codes it predicts, its sources and documentation) and one pure check function. Findings
are values; a fix is a tuple of edits on segments, applied by the engine, never by the rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from mohsedi.x12.segments import Segment

if TYPE_CHECKING:
    from mohsedi.claims.model import Claim, ServiceLine
    from mohsedi.rules.context import ClaimContext, DayContext, EnvelopeContext

CODE_PATTERN = re.compile(r"^(X12|MOHS|NCCI|PAY|DOC|TR3|CODE)\d{3}$")

# Elements a fix rewrites that the engine follows: when a fix changed only these in a claim,
# the rules that declare they do not read them (``Rule.reads``) keep what they found on the
# claim before the fix, and its days keep theirs. None of them may be one that decides which
# rules run on a claim (procedure codes, CLM05-3).
TRACKED_ELEMENTS = frozenset({"CLM02"})


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class FixSafety(StrEnum):
    SAFE = "safe"  # changes only representation, or what the claim itself already proves
    UNSAFE = "unsafe"  # changes what is billed as the claim or case log determines; opt-in
    MANUAL = "manual"  # needs clinical documentation: shown, never applied
    NONE = "none"  # nothing to offer


class Status(StrEnum):
    """Where a rule is in its life; a code is never reused (a retired one redirects, registry.REDIRECTS)."""

    STABLE = "stable"
    PREVIEW = "preview"  # new: its findings and fix may still change
    DEPRECATED = "deprecated"  # still runs; to be retired


class Scope(StrEnum):
    ENVELOPE = "envelope"  # a whole file: envelopes, counts, line ids unique in the file
    CLAIM = "claim"  # one claim and its lines
    DAY = "day"  # every line of one patient, rendering provider and date of service in the batch


@dataclass(frozen=True, slots=True)
class Prediction:
    """A denial a payer sends when the rule's problem goes out: CAS group, CARCs, RARCs."""

    group: str
    carcs: tuple[str, ...]
    rarcs: tuple[str, ...] = ()

    def as_json(self) -> list[dict[str, Any]]:
        return [{"group": self.group, "carc": carc, "rarc": list(self.rarcs)} for carc in self.carcs]

    def matches(self, group: str, carc: str, rarcs: Iterable[str]) -> bool:
        """Same group and CARC, and one of the RARCs when the rule names any."""
        if group != self.group or carc not in self.carcs:
            return False
        return not self.rarcs or bool(set(self.rarcs) & set(rarcs))


@dataclass(frozen=True, slots=True)
class Source:
    title: str
    reference: str  # where: a document, a section, a data file
    verified: bool  # confirmed in a primary source ([C] or [D] in the spec), or only probable


@dataclass(frozen=True, slots=True)
class Docs:
    """A rule's documentation in fixed fields, held to a contract by tests/rules/test_docs_contract.py
    and rendered in this order by `rules explain` and docs/rules.md.

    ``what``: what the rule checks. ``why``: why it matters (the denial or rejection it prevents).
    ``example``: an input that trips it. ``fix``: opens with the declared fix safety
    ("safe: ...", "unsafe: ...", "manual: ...", "none: ..."). ``case``: the name of the rule
    case in tests/rules/cases/<CODE>.toml that holds the example (a fail or fix case).
    """

    what: str
    why: str
    example: str
    fix: str
    case: str = ""


# ---------------------------------------------------------------- edits


@dataclass(frozen=True, slots=True)
class SetElements:
    """Replace a segment's elements (element 0, the id, included)."""

    segment: Segment
    elements: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class InsertAfter:
    """New segments after ``anchor``, laid out like it."""

    anchor: Segment
    elements: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Delete:
    segment: Segment


Edit = SetElements | InsertAfter | Delete


@dataclass(frozen=True, slots=True)
class Fix:
    description: str
    edits: tuple[Edit, ...]
    justification: str | None = None  # e.g. the case log row an unsafe fix relied on


# ---------------------------------------------------------------- findings


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    fix_safety: FixSafety
    claim: str | None = None  # CLM01
    line: int | None = None  # LX number in the file as read
    line_id: str | None = None  # REF*6R
    fix: Fix | None = None  # the edits on offer (None for manual and none)
    related_lines: tuple[int, ...] = ()  # the other line(s) of a pair, for suppression
    source: str | None = None  # file
    segment: int | None = None  # segment number in the file
    data_release: str | None = None  # which edit data judged it (NCCI rules)
    claim_key: tuple[int, int] | None = field(default=None, compare=False)  # internal locator

    def as_json(self, predicts: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "severity": self.severity.value,
            "claim": self.claim,
            "line": self.line,
            "line_id": self.line_id,
            "message": self.message,
            "fix": self.fix_safety.value,
            "fix_description": self.fix.description if self.fix else None,
            "predicts": predicts,
            "segment": self.segment,
        }
        if self.data_release:
            out["data_release"] = self.data_release
        return out


class _Making:
    """The file whose findings are being made. The engine sets it around the rules it runs on
    one file, so a finding is made with its source once rather than made and then copied with
    it (the copy was a twentieth of a finding-heavy check's rule time). None outside the
    engine's checks: a rule called directly makes findings with no source, as it always did."""

    __slots__ = ("source",)

    def __init__(self) -> None:
        self.source: str | None = None


MAKING = _Making()


CheckFunction = Callable[["Rule", Any], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    title: str
    severity: Severity
    fix_safety: FixSafety
    scope: Scope
    predicts: tuple[Prediction, ...]
    sources: tuple[Source, ...]
    docs: Docs
    check: CheckFunction
    # Rules this one covers: when both report the same pair of lines, those stay silent.
    suppresses: tuple[str, ...] = ()
    # Code sets that must all meet the claim's (or day's) procedure codes for the rule to be
    # able to fire; the engine skips it otherwise. Empty: always run.
    requires: tuple[frozenset[str], ...] = ()
    # RuleOptions the rule finds nothing without (``case_log``, ``tr3``): the engine skips it,
    # once per check, when any is not given (None, or a switch that is off), rather than asking
    # it about every claim.
    needs: tuple[str, ...] = ()
    # Of TRACKED_ELEMENTS, those the rule's findings depend on (value, message, or a fix built
    # from them). None: any of them, so the rule runs again on every claim a fix changed, and a
    # fix that rewrites one is never judged without applying it (``check_as_fix_would``).
    reads: frozenset[str] | None = None
    status: Status = Status.STABLE
    since: str = "0.1.0"  # the release that added the rule under this code
    # Front-end rejections the problem draws, beside the denials in ``predicts``: "999" (the
    # transaction set is rejected), or a 277CA claim status "A6" (any code of that category)
    # or "A7:562" (category and status code).
    rejects: tuple[str, ...] = ()

    def predicts_rejection(self, kind: str, category: str = "", code: str = "") -> bool:
        """Whether this rule declares the rejection: a 999 set rejection, or a 277CA status."""
        for declared in self.rejects:
            if kind == "999":
                if declared == "999":
                    return True
                continue
            want_category, _, want_code = declared.partition(":")
            if want_category == category and (not want_code or want_code == code):
                return True
        return False

    def can_fire(self, codes: set[str] | frozenset[str] | dict[str, object]) -> bool:
        return all(not needed.isdisjoint(codes) for needed in self.requires)

    def finding(
        self,
        message: str,
        *,
        claim: str | None = None,
        line: int | None = None,
        line_id: str | None = None,
        fix: Fix | None = None,
        safety: FixSafety | None = None,
        related_lines: tuple[int, ...] = (),
        segment: int | None = None,
        data_release: str | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        """A finding of this rule; ``safety`` overrides the declared one when the fix on offer differs.

        A safe or unsafe rule with no fix on offer here (e.g. no free modifier slot) reports the
        finding as manual: a finding never claims a fix it does not carry."""
        chosen = safety or self.fix_safety
        if fix is None and chosen in (FixSafety.SAFE, FixSafety.UNSAFE):
            chosen = FixSafety.MANUAL  # nothing to apply (no free modifier slot, no anchor): say so
        return Finding(  # positionally, in the order of its fields: a third cheaper than by name
            self.code,
            severity or self.severity,
            message,
            chosen,
            claim,
            line,
            line_id,
            fix if chosen in (FixSafety.SAFE, FixSafety.UNSAFE) else None,
            related_lines,
            MAKING.source,
            segment,
            data_release,
        )

    def on(self, claim: Claim, line: ServiceLine | None, message: str, **kw: Any) -> Finding:
        """A finding on a service line (its SV1, else its LX), or on the claim when ``line`` is None."""
        if line is None:
            return self.finding(message, claim=claim.patient_control_number, segment=claim.clm.number, **kw)
        anchor = line.sv1 if line.sv1 is not None else line.lx
        return self.finding(
            message,
            claim=claim.patient_control_number,
            line=line.number,
            line_id=line.line_id,
            segment=anchor.number,
            **kw,
        )

    @property
    def verified(self) -> bool:
        return all(s.verified for s in self.sources)

    def predictions_json(self) -> list[dict[str, Any]]:
        return [item for p in self.predicts for item in p.as_json()]


ClaimCheck = Callable[["Rule", "ClaimContext"], Iterable[Finding]]
DayCheck = Callable[["Rule", "DayContext"], Iterable[Finding]]
EnvelopeCheck = Callable[["Rule", "EnvelopeContext"], Iterable[Finding]]
