"""837P (005010X222A1) objects over placed segments.

Values are read once from the segments; each object also keeps the segments it was
read from, so a fix edits those segments and the file re-emits with everything else
byte-identical. Names, addresses and birth dates of people are never read into these
objects: nothing downstream can persist what is not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from mohsedi.x12.segments import Segment


@dataclass(slots=True, frozen=True)
class Diagnosis:
    """Frozen: the reader shares one per distinct HI text (a batch repeats the same few codes)."""

    qualifier: str  # ABK/ABF (ICD-10) or BK/BF (ICD-9)
    code: str

    @property
    def principal(self) -> bool:
        return self.qualifier in ("ABK", "BK")

    @property
    def formatted(self) -> str:
        """ICD-10 with its dot (C441 -> C44.1, C4431 -> C44.31), for people to read."""
        code = self.code
        return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


@dataclass(slots=True)
class BillingProvider:
    """Loop 2000A/2010AA."""

    npi: str
    tax_id: str
    hl: Segment
    segments: list[Segment] = field(default_factory=list)


@dataclass(slots=True)
class Subscriber:
    """Loop 2000B: SBR and 2010BA (member id only) and 2010BB (payer)."""

    payer_responsibility: str  # SBR01
    claim_filing_indicator: str  # SBR09
    member_id: str  # 2010BA NM109; hashed before anything is stored
    payer_id: str  # 2010BB NM109
    payer_name: str  # 2010BB NM103 (an organization, not a person)
    hl: Segment
    segments: list[Segment] = field(default_factory=list)


@dataclass(slots=True)
class Patient:
    """Loop 2000C, present when the patient is not the subscriber."""

    relationship: str  # PAT01
    hl: Segment
    segments: list[Segment] = field(default_factory=list)


@dataclass(slots=True)
class ServiceLine:
    """Loop 2400 with its child loops (2410 drug, 2420A-H providers, 2430 COB, 2440 forms)."""

    number: int | None  # LX01
    qualifier: str  # SV101-1 (HC)
    procedure: str  # SV101-2
    modifiers: list[str]  # SV101-3..6
    charge: Decimal | None  # SV102
    unit_basis: str  # SV103 (UN, MJ)
    units: Decimal | None  # SV104
    place_of_service: str  # SV105 (blank: the claim's CLM05-1 applies)
    diagnosis_pointers: list[int]  # SV107-1..4
    diagnoses: list[str]  # the pointed-to codes, in pointer order
    date_from: date | None  # DTP*472
    date_to: date | None
    line_id: str | None  # REF*6R
    rendering_npi: str | None  # 2420A NM1*82 NM109
    lx: Segment
    sv1: Segment | None
    segments: list[Segment] = field(default_factory=list)

    @property
    def service_date(self) -> date | None:
        return self.date_from


@dataclass(slots=True)
class Claim:
    """Loop 2300 and everything under it, with the 2000A/B/C context it sits in."""

    patient_control_number: str  # CLM01
    total_charge: Decimal | None  # CLM02
    place_of_service: str  # CLM05-1
    facility_qualifier: str  # CLM05-2
    frequency: str  # CLM05-3 (1 original, 7 replacement, 8 void)
    diagnoses: list[Diagnosis]  # HI, in order
    prior_authorization: str | None  # REF*G1
    clia_number: str | None  # REF*X4
    payer_claim_control_number: str | None  # REF*F8 (on corrected claims)
    rendering_npi: str | None  # 2310B NM1*82 NM109
    lines: list[ServiceLine]
    billing_provider: BillingProvider | None
    subscriber: Subscriber | None
    patient: Patient | None
    patient_key: str  # identifies the patient within a batch without keeping who it is
    clm: Segment
    segments: list[Segment] = field(default_factory=list)  # 2300 and its children, lines included
    problems: list[str] = field(default_factory=list)  # values that could not be read

    @property
    def payer_id(self) -> str:
        return self.subscriber.payer_id if self.subscriber else ""

    @property
    def billing_npi(self) -> str:
        return self.billing_provider.npi if self.billing_provider else ""

    def rendering_npi_for(self, line: ServiceLine) -> str:
        """2420A on the line, else 2310B on the claim, else the billing provider (the guide's rule)."""
        return line.rendering_npi or self.rendering_npi or self.billing_npi

    @property
    def service_dates(self) -> list[date]:
        return sorted({ln.date_from for ln in self.lines if ln.date_from is not None})
