"""What a rule sees: one claim, one day of one patient and provider, or the envelopes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from mohsedi.claims.model import Claim, ServiceLine
from mohsedi.claims.reader import ClaimSet
from mohsedi.codes.mohs import MOHS_CODES
from mohsedi.codes.ncci import EditData, PtpEdit, shipped_edits
from mohsedi.policy.caselog import CaseLog
from mohsedi.policy.payers import MEDICARE_DEFAULTS, PayerPolicy, PolicySet
from mohsedi.settings import current
from mohsedi.x12.envelope import Envelope


def no_original_claim_number(claim: Claim) -> str | None:
    """Without a store, the original's claim number is not known."""
    return None


@dataclass(frozen=True)
class RuleOptions:
    """Choices a rule cannot make from the claim alone; payer policy files fill these later."""

    distinct_lesion_modifier: str = "XS"  # XS unless the payer's policy says 59
    clia_number: str | None = None  # the practice's CLIA number, when configured
    today: date | None = None  # for rules about elapsed time; None means the real today
    payer_modifier: dict[str, str] = field(default_factory=dict)  # payer id -> 59 or XS
    edits: EditData | None = None  # NCCI releases loaded; None: the shipped default
    policy: PolicySet | None = None  # payer policies; None: Medicare defaults for every payer
    case_log: CaseLog | None = None  # the Mohs log of the claims checked, when given
    tr3: bool = False  # also run pyx12's implementation-guide validation (slow: opt-in)
    # The payer's claim control number (CLP07) of a claim's original, from the store (X12006).
    original_claim_number: Callable[[Claim], str | None] = no_original_claim_number

    def edit_data(self) -> EditData:
        return self.edits if self.edits is not None else shipped_edits()

    def modifier_for(self, payer_id: str) -> str:
        """The payer's own choice (policy file), else the one given for everyone (XS by default)."""
        if payer_id in self.payer_modifier:
            return self.payer_modifier[payer_id]
        if self.policy is not None and payer_id in self.policy.payers:
            return self.policy.payers[payer_id].distinct_modifier
        return self.distinct_lesion_modifier

    def payer_policy(self, payer_id: str) -> PayerPolicy:
        return self.policy.for_payer(payer_id) if self.policy is not None else MEDICARE_DEFAULTS

    def clia_for(self, billing_npi: str) -> str | None:
        """--clia for every claim, else the practice's number for this billing NPI in the policy file."""
        if self.clia_number:
            return self.clia_number
        return self.policy.clia_for(billing_npi) if self.policy is not None else None

    def current_date(self) -> date:
        """Today, or the date pinned by --today / $MOHSEDI_TODAY for reproducible runs."""
        if self.today is not None:
            return self.today
        return current().today or date.today()


# Named tuples rather than frozen dataclasses: as immutable, made once per claim and per dated
# line of every check, at a third of the cost.
class ClaimContext(NamedTuple):
    claim: Claim
    options: RuleOptions


class DayLine(NamedTuple):
    claim: Claim
    line: ServiceLine


class DayContext:
    """Every line of one patient, rendering provider and date of service in the batch, in file order.

    What several rules ask of the same day (its codes, its Mohs lines, its PTP pairs) is worked
    out once. Plain attributes rather than cached_property, whose lock costs more than the work
    on a small day.
    """

    __slots__ = (
        "patient_key",
        "rendering_npi",
        "day",
        "lines",
        "options",
        "by_code",
        "mohs_lines",
        "_mohs_diagnoses",
        "_ptp_pairs",
    )

    def __init__(
        self, patient_key: str, rendering_npi: str, day: date, lines: tuple[DayLine, ...], options: RuleOptions
    ) -> None:
        self.patient_key = patient_key
        self.rendering_npi = rendering_npi
        self.day = day
        self.lines = lines
        self.options = options
        by_code: dict[str, list[DayLine]] = {}
        mohs: list[DayLine] = []
        for dl in lines:
            code = dl.line.procedure
            by_code.setdefault(code, []).append(dl)
            if code in MOHS_CODES:
                mohs.append(dl)
        self.by_code = by_code
        self.mohs_lines = mohs
        self._mohs_diagnoses: set[str] | None = None
        self._ptp_pairs: list[tuple[DayLine, DayLine, PtpEdit]] | None = None

    def with_code(self, *codes: str) -> list[DayLine]:
        if len(codes) == 1:
            return self.by_code.get(codes[0], [])
        return [dl for dl in self.lines if dl.line.procedure in codes]

    def codes(self) -> set[str]:
        return set(self.by_code)

    @property
    def mohs_diagnoses(self) -> set[str]:
        if self._mohs_diagnoses is None:
            self._mohs_diagnoses = {dx for dl in self.mohs_lines for dx in dl.line.diagnoses}
        return self._mohs_diagnoses

    @property
    def ptp_pairs(self) -> list[tuple[DayLine, DayLine, PtpEdit]]:
        """(first column 1 line, column 2 line, edit) for every PTP pair billed that day."""
        if self._ptp_pairs is None:
            out: list[tuple[DayLine, DayLine, PtpEdit]] = []
            by_code = self.by_code
            if len(by_code) > 1:
                # The pairs of the day's codes with an edit, worked out once per list of codes.
                for c1, c2, edit in self.options.edit_data().pairs_among(tuple(by_code), self.day):
                    first = by_code[c1][0]
                    out.extend((first, second, edit) for second in by_code[c2])
            self._ptp_pairs = out
        return self._ptp_pairs


@dataclass(frozen=True, slots=True)
class EnvelopeContext:
    """A whole file's units, for envelope counts and control numbers."""

    units: tuple[Envelope | ClaimSet, ...]  # a streamed file's placeholders stand in for its sets
    options: RuleOptions
