"""What a rule sees: one claim, one day of one patient and provider, or the envelopes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from mohsedi.claims.model import Claim, ServiceLine
from mohsedi.codes.ncci import EditData, shipped_edits
from mohsedi.x12.envelope import Unit


@dataclass(frozen=True)
class RuleOptions:
    """Choices a rule cannot make from the claim alone; payer policy files fill these later."""

    distinct_lesion_modifier: str = "XS"  # XS unless the payer's policy says 59
    clia_number: str | None = None  # the practice's CLIA number, when configured
    today: date | None = None  # for rules about elapsed time; None means the real today
    payer_modifier: dict[str, str] = field(default_factory=dict)  # payer id -> 59 or XS
    edits: EditData | None = None  # NCCI releases loaded; None: the shipped default

    def edit_data(self) -> EditData:
        return self.edits if self.edits is not None else shipped_edits()

    def modifier_for(self, payer_id: str) -> str:
        return self.payer_modifier.get(payer_id, self.distinct_lesion_modifier)


@dataclass(frozen=True, slots=True)
class ClaimContext:
    claim: Claim
    options: RuleOptions


@dataclass(frozen=True, slots=True)
class DayLine:
    claim: Claim
    line: ServiceLine


@dataclass(frozen=True, slots=True)
class DayContext:
    """Every line of one patient, rendering provider and date of service in the batch, in file order."""

    patient_key: str
    rendering_npi: str
    day: date
    lines: tuple[DayLine, ...]
    options: RuleOptions

    def with_code(self, *codes: str) -> list[DayLine]:
        return [dl for dl in self.lines if dl.line.procedure in codes]

    def codes(self) -> set[str]:
        return {dl.line.procedure for dl in self.lines}


@dataclass(frozen=True, slots=True)
class EnvelopeContext:
    """A whole file's units, for envelope counts and control numbers."""

    units: tuple[Unit, ...]
    options: RuleOptions
