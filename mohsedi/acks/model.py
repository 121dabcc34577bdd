"""999 (005010X231A1) and 277CA (005010X214) objects over placed segments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

IMPLEMENTATION_999 = "005010X231A1"
IMPLEMENTATION_277CA = "005010X214"

# IK501 / AK901: A accepted, E accepted with errors, R rejected; M, W, X are the 999's other
# rejections (authentication, assurance, content); P (AK9 only) partially accepted.
REJECTED_SET_CODES = frozenset({"R", "M", "W", "X"})
SET_STATUS = {
    "A": "accepted",
    "E": "accepted with errors",
    "R": "rejected",
    "M": "rejected, message authentication code failed",
    "W": "rejected, assurance failed validity tests",
    "X": "rejected, content after decryption could not be analyzed",
    "P": "partially accepted",
}

# STC01-1 categories of the 277CA guide (005010X214). A3, A6, A7 and A8 all mean rejected
# (X12 RFI 2203: "the code values which indicate a claim or service data issue (A3, A6, A7, &
# A8) all included in the description that it means rejected"); A1/A2 acknowledge receipt and
# acceptance into adjudication.
REJECTED_CATEGORIES = frozenset({"A3", "A6", "A7", "A8"})
CATEGORY_TEXT = {
    "A0": "acknowledgement: forwarded",
    "A1": "acknowledgement: receipt",
    "A2": "acknowledgement: accepted into adjudication",
    "A3": "acknowledgement: returned as unprocessable",
    "A4": "acknowledgement: not found",
    "A5": "acknowledgement: split claim",
    "A6": "acknowledgement: rejected for missing information",
    "A7": "acknowledgement: rejected for invalid information",
    "A8": "acknowledgement: rejected for relational field in error",
}


@dataclass(slots=True)
class ElementError:
    """IK4: an element in error (IK404, the bad value, is not kept: it may be a name or an id)."""

    position: str  # IK401 (element, or element:component)
    reference: str  # IK402 data element reference number
    code: str  # IK403 implementation element syntax error code


@dataclass(slots=True)
class SegmentError:
    """IK3 with its IK4s."""

    segment_id: str  # IK301
    position: str  # IK302: position of the segment in the set (ST = 1)
    loop: str  # IK303
    code: str  # IK304 implementation segment syntax error code
    elements: list[ElementError] = field(default_factory=list)


@dataclass(slots=True)
class SetAcknowledgment:
    """Loop 2000: AK2 and IK5 for one transaction set that was sent."""

    set_id: str  # AK201 (837)
    control_number: str  # AK202: the ST02 sent
    implementation: str  # AK203
    status: str  # IK501
    codes: list[str]  # IK502-IK506
    errors: list[SegmentError] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        return self.status in REJECTED_SET_CODES


@dataclass(slots=True)
class FunctionalAck:
    """One 999 transaction set: the group acknowledged (AK1) and each set in it."""

    functional_id: str  # AK101 (HC)
    group_control: str  # AK102: the GS06 sent
    version: str  # AK103
    group_status: str  # AK901
    sets: list[SetAcknowledgment]
    sender: str  # GS02 of the 999 (the clearinghouse)
    created: date | None  # GS04
    fingerprint: str = ""  # the set's content without envelope control numbers


@dataclass(slots=True)
class Status:
    """One STC01 (or STC10/STC11) composite: category, status code, entity."""

    category: str
    code: str
    entity: str

    @property
    def label(self) -> str:
        return f"{self.category}:{self.code}" if self.code else self.category


@dataclass(slots=True)
class LineStatus:
    """Loop 2220D: SVC with its STC and line item control number (REF*FJ, the 837's REF*6R)."""

    procedure: str
    modifiers: list[str]
    charge: Decimal | None
    line_id: str | None
    statuses: list[Status]
    status_date: date | None


@dataclass(slots=True)
class ClaimStatus:
    """Loop 2200D: a claim's TRN (its CLM01), STC statuses, payer claim control number (REF*1K)."""

    patient_control_number: str  # TRN02
    statuses: list[Status]
    status_date: date | None  # STC02
    charge: Decimal | None  # STC04
    payer_claim_control_number: str | None  # REF*1K
    provider_npi: str | None  # 2100C NM109 when NM108 = XX
    lines: list[LineStatus] = field(default_factory=list)


@dataclass(slots=True)
class ClaimAck:
    """One 277CA transaction set."""

    payer_name: str  # 2100A NM103
    payer_id: str  # 2100A NM109
    claims: list[ClaimStatus]
    sender: str  # GS02
    created: date | None  # BHT04
    fingerprint: str = ""
