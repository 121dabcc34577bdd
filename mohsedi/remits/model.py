"""835 (005010X221A1) objects over placed segments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from mohsedi.errors import X12Error
from mohsedi.x12.segments import Segment


@dataclass(slots=True, frozen=True)
class Adjustment:
    """One CAS triplet: group (CAS01), reason code (CARC), amount, quantity.

    Frozen: the reader shares one per distinct CAS text and level (a remittance repeats the same
    few adjustments), so none may be changed in place."""

    group: str
    carc: str
    amount: Decimal
    quantity: Decimal | None
    level: str  # "claim" or "line"


@dataclass(slots=True)
class ServicePayment:
    """Loop 2110: SVC with its dates, adjustments, line item control number and remarks."""

    qualifier: str  # SVC01-1
    procedure: str  # SVC01-2
    modifiers: list[str]  # SVC01-3..6
    charge: Decimal | None  # SVC02
    paid: Decimal | None  # SVC03
    units: Decimal | None  # SVC05 (blank means 1)
    original_procedure: str | None  # SVC06-2: the code billed, when the payer adjudicated another
    original_modifiers: list[str]  # SVC06-3..6
    date_from: date | None  # DTM*472, or DTM*150..151
    date_to: date | None
    line_id: str | None  # REF*6R
    adjustments: list[Adjustment]
    remarks: list[str]  # LQ*HE
    amounts: dict[str, Decimal]  # AMT by qualifier (B6 allowed)
    svc: Segment
    segments: list[Segment] = field(default_factory=list)

    @property
    def billed_procedure(self) -> str:
        """The code as billed (SVC06 when the payer adjudicated another one): what links to the claim."""
        return self.original_procedure or self.procedure

    @property
    def billed_modifiers(self) -> list[str]:
        return self.original_modifiers if self.original_procedure else self.modifiers


@dataclass(slots=True)
class ClaimPayment:
    """Loop 2100: CLP with claim-level adjustments, MOA/MIA remarks and dates."""

    patient_control_number: str  # CLP01
    status: str  # CLP02 (1,2,3 processed; 4 denied; 22 reversal; ...)
    charge: Decimal | None  # CLP03
    paid: Decimal | None  # CLP04
    patient_responsibility: Decimal | None  # CLP05
    filing_indicator: str  # CLP06
    payer_claim_control_number: str  # CLP07
    adjustments: list[Adjustment]
    remarks: list[str]  # MOA03-07 (and MIA remark elements)
    date_from: date | None  # DTM*232
    date_to: date | None  # DTM*233
    services: list[ServicePayment]
    clp: Segment
    segments: list[Segment] = field(default_factory=list)

    @property
    def is_reversal(self) -> bool:
        return self.status == "22"


@dataclass(slots=True)
class ProviderAdjustment:
    """PLB: one reason/reference/amount entry of a provider-level adjustment."""

    provider_id: str
    fiscal_date: date | None
    reason: str
    reference: str
    amount: Decimal


@dataclass(slots=True)
class Remittance:
    """One 835 transaction set: the payment and everything it pays or adjusts."""

    amount: Decimal | None  # BPR02
    credit_debit: str  # BPR03
    method: str  # BPR04 (ACH, CHK, NON)
    payment_date: date | None  # BPR16
    trace_number: str  # TRN02 (check or EFT number)
    trace_payer_id: str  # TRN03
    payer_name: str  # N1*PR N102
    payer_id: str  # N1*PR N104, else REF*2U, else TRN03
    payee_name: str  # N1*PE N102
    payee_npi: str  # N1*PE N104 when N103 = XX
    payee_id_qualifier: str
    payee_id: str
    claims: list[ClaimPayment]
    provider_adjustments: list[ProviderAdjustment]
    segments: list[Segment] = field(default_factory=list)
    # Claim payments left out because a segment in them was out of place: (CLP01, CLP04, problem).
    dropped: list[tuple[str, Decimal | None, X12Error]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.dropped
