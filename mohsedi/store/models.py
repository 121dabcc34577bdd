"""The store's tables. Claims go out, remittances come in, each denial links to a line and a rule.

What is kept about people is the minimum: no names, addresses or birth dates; the member id
and the patient key only as keyed hashes (see mohsedi.store.privacy).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(14, 2)
# Claim.facts of a claim recorded with every fact prediction reads (revision 0006).
FACTS = 1
Quantity = Numeric(12, 3)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    # Every model maps one Table; typed so for insert/update/delete on Model.__table__
    # (DeclarativeBase types it as the wider FromClause).
    __table__: ClassVar[Table]


class StoredFile(Base):
    """A file mohsedi read: an 837P checked or fixed, or an 835 ingested."""

    __tablename__ = "stored_file"
    __table_args__ = (UniqueConstraint("kind", "sha256", name="uq_stored_file_kind_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # "837P" (as sent) or "835"
    name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    interchange_control: Mapped[str | None] = mapped_column(String(9))  # ISA13
    group_controls: Mapped[str | None] = mapped_column(String(200))  # GS06, comma-separated
    command: Mapped[str] = mapped_column(String(10))  # check, fix, ingest
    stored_at: Mapped[datetime] = mapped_column(DateTime)


class Claim(Base):
    """One claim (2300) as checked or as sent after fixing."""

    __tablename__ = "claim"
    __table_args__ = (
        UniqueConstraint("file_id", "ordinal", name="uq_claim_file_id_ordinal"),
        Index("ix_claim_pcn", "patient_control_number"),
        Index("ix_claim_day", "patient_key", "date_from"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)  # position in the file
    patient_control_number: Mapped[str] = mapped_column(String(38))  # CLM01
    payer_id: Mapped[str] = mapped_column(String(80))
    billing_npi: Mapped[str] = mapped_column(String(15))
    rendering_npi: Mapped[str | None] = mapped_column(String(15))
    member_hash: Mapped[str] = mapped_column(String(64))
    patient_key: Mapped[str] = mapped_column(String(64))  # keyed hash, joins a patient's claims
    date_from: Mapped[date | None] = mapped_column(Date)
    date_to: Mapped[date | None] = mapped_column(Date)
    total_charge: Mapped[Decimal | None] = mapped_column(Money)
    place_of_service: Mapped[str] = mapped_column(String(2))
    frequency: Mapped[str] = mapped_column(String(1))
    diagnoses: Mapped[str] = mapped_column(String(400))  # ICD-10 codes in HI order, comma-separated
    clia_number: Mapped[str | None] = mapped_column(String(30))
    prior_authorization: Mapped[str | None] = mapped_column(String(50))
    payer_claim_control_number: Mapped[str | None] = mapped_column(String(50))  # REF*F8
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id", ondelete="SET NULL"))
    checked_at: Mapped[datetime] = mapped_column(DateTime)
    # Which facts were kept (see FACTS): NULL for claims recorded before revision 0006, whose
    # lines lack their own place of service, rendering provider and CLIA number, and whose
    # diagnoses lack their qualifiers. A prediction on such a claim says so.
    facts: Mapped[int | None] = mapped_column(Integer)
    facility_qualifier: Mapped[str | None] = mapped_column(String(2))  # CLM05-2
    diagnosis_qualifiers: Mapped[str | None] = mapped_column(String(400))  # HI qualifiers, as diagnoses


class ServiceLine(Base):
    __tablename__ = "service_line"
    __table_args__ = (Index("ix_service_line_line_id", "line_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="CASCADE"), index=True)
    line_number: Mapped[int | None] = mapped_column(Integer)  # LX01
    line_id: Mapped[str | None] = mapped_column(String(50))  # REF*6R
    procedure: Mapped[str] = mapped_column(String(48))
    modifiers: Mapped[str] = mapped_column(String(20))  # comma-separated, in order
    units: Mapped[Decimal | None] = mapped_column(Quantity)
    charge: Mapped[Decimal | None] = mapped_column(Money)
    date_from: Mapped[date | None] = mapped_column(Date)
    date_to: Mapped[date | None] = mapped_column(Date)
    pointers: Mapped[str] = mapped_column(String(20))  # SV107, comma-separated
    diagnoses: Mapped[str] = mapped_column(String(100))  # the pointed-to codes
    # Since revision 0006 (NULL on lines recorded before it; see Claim.facts):
    qualifier: Mapped[str | None] = mapped_column(String(2))  # SV101-1
    unit_basis: Mapped[str | None] = mapped_column(String(2))  # SV103
    place_of_service: Mapped[str | None] = mapped_column(String(2))  # SV105 ('' : the claim's applies)
    rendering_npi: Mapped[str | None] = mapped_column(String(15))  # 2420A NM109
    clia_number: Mapped[str | None] = mapped_column(String(30))  # 2400 REF*X4


class StoredFinding(Base):
    """A rule's finding at check time, and whether the fix run applied its fix."""

    __tablename__ = "finding"
    __table_args__ = (Index("ix_finding_claim_rule", "claim_id", "rule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="CASCADE"))
    line_number: Mapped[int | None] = mapped_column(Integer)
    line_id: Mapped[str | None] = mapped_column(String(50))
    procedure: Mapped[str | None] = mapped_column(String(48))
    rule: Mapped[str] = mapped_column(String(10))
    severity: Mapped[str] = mapped_column(String(8))
    fix_safety: Mapped[str] = mapped_column(String(8))
    fixed: Mapped[bool] = mapped_column(Boolean, default=False)
    fix_description: Mapped[str | None] = mapped_column(String(300))
    message: Mapped[str] = mapped_column(Text)
    data_release: Mapped[str | None] = mapped_column(String(120))


class Remittance(Base):
    """One 835 transaction set: BPR, TRN, payer and payee."""

    __tablename__ = "remittance"
    # A payment is stored once: its key is the payer and trace (TRN02, TRN03) with the amount,
    # date and the set's position among the file's sets sharing that trace (see
    # mohsedi.remits.identity), never the file's bytes.
    __table_args__ = (
        UniqueConstraint("payment_key", name="uq_remittance_payment_key"),
        Index("ix_remittance_trace", "payer_id", "trace_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id", ondelete="CASCADE"), index=True)
    file_sha256: Mapped[str] = mapped_column(String(64))
    payer_id: Mapped[str] = mapped_column(String(80))
    payer_name: Mapped[str] = mapped_column(String(60))
    payee_npi: Mapped[str | None] = mapped_column(String(15))
    payee_id: Mapped[str | None] = mapped_column(String(80))
    trace_number: Mapped[str] = mapped_column(String(50))  # TRN02
    trace_payer_id: Mapped[str | None] = mapped_column(String(50))  # TRN03
    payment_key: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal | None] = mapped_column(Money)  # BPR02
    credit_debit: Mapped[str] = mapped_column(String(1))
    method: Mapped[str] = mapped_column(String(3))
    payment_date: Mapped[date | None] = mapped_column(Date)
    complete: Mapped[bool] = mapped_column(Boolean, default=True)  # False: claim payments were dropped


class ClaimPayment(Base):
    """Loop 2100 (CLP)."""

    __tablename__ = "claim_payment"
    __table_args__ = (Index("ix_claim_payment_pcn", "patient_control_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    remittance_id: Mapped[int] = mapped_column(Integer, index=True)  # checked per file (CHECKED_PER_FILE)
    patient_control_number: Mapped[str] = mapped_column(String(38))
    status: Mapped[str] = mapped_column(String(2))
    is_reversal: Mapped[bool] = mapped_column(Boolean)
    charge: Mapped[Decimal | None] = mapped_column(Money)
    paid: Mapped[Decimal | None] = mapped_column(Money)
    patient_responsibility: Mapped[Decimal | None] = mapped_column(Money)
    payer_claim_control_number: Mapped[str] = mapped_column(String(50))
    date_from: Mapped[date | None] = mapped_column(Date)  # DTM*232, else the earliest line date
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id", ondelete="SET NULL"), index=True)


class ServicePayment(Base):
    """Loop 2110 (SVC)."""

    __tablename__ = "service_payment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_payment_id: Mapped[int] = mapped_column(Integer, index=True)  # checked per file
    procedure: Mapped[str] = mapped_column(String(48))  # as billed: SVC06 when present, else SVC01
    modifiers: Mapped[str] = mapped_column(String(20))
    # What the payer adjudicated instead (SVC01) when SVC06 says another code was billed.
    adjudicated_procedure: Mapped[str | None] = mapped_column(String(48))
    adjudicated_modifiers: Mapped[str | None] = mapped_column(String(20))
    charge: Mapped[Decimal | None] = mapped_column(Money)
    paid: Mapped[Decimal | None] = mapped_column(Money)
    units: Mapped[Decimal | None] = mapped_column(Quantity)
    date_from: Mapped[date | None] = mapped_column(Date)
    line_id: Mapped[str | None] = mapped_column(String(50))
    service_line_id: Mapped[int | None] = mapped_column(ForeignKey("service_line.id", ondelete="SET NULL"), index=True)


class Adjustment(Base):
    """One CAS triplet, claim or line level; denials carry the rule and basis they were linked to."""

    __tablename__ = "adjustment"
    __table_args__ = (Index("ix_adjustment_denial", "is_denial", "basis"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_payment_id: Mapped[int] = mapped_column(Integer, index=True)  # checked per file
    service_payment_id: Mapped[int | None] = mapped_column(Integer, index=True)  # checked per file
    level: Mapped[str] = mapped_column(String(5))  # claim or line
    group_code: Mapped[str] = mapped_column(String(2))
    carc: Mapped[str] = mapped_column(String(5))
    amount: Mapped[Decimal] = mapped_column(Money)
    quantity: Mapped[Decimal | None] = mapped_column(Quantity)
    is_denial: Mapped[bool] = mapped_column(Boolean)
    rule: Mapped[str | None] = mapped_column(String(10))
    basis: Mapped[str | None] = mapped_column(String(12))  # fired, predicted, unexplained; None until linked
    fixed: Mapped[bool | None] = mapped_column(Boolean)  # for fired: the fix was applied and it still denied
    linked_at: Mapped[datetime | None] = mapped_column(DateTime)


class ProviderAdjustment(Base):
    """One PLB reason/reference/amount; a WO (overpayment recovery) links to the claim payment it names."""

    __tablename__ = "provider_adjustment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    remittance_id: Mapped[int] = mapped_column(ForeignKey("remittance.id", ondelete="CASCADE"), index=True)
    provider_id: Mapped[str] = mapped_column(String(50))  # PLB01
    fiscal_date: Mapped[date | None] = mapped_column(Date)  # PLB02
    reason: Mapped[str] = mapped_column(String(2))  # PLB03-1
    reference: Mapped[str] = mapped_column(String(50))  # PLB03-2
    amount: Mapped[Decimal] = mapped_column(Money)  # positive: taken from the payment
    claim_payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("claim_payment.id", ondelete="SET NULL"), index=True
    )


class RemitFinding(Base):
    """A balancing finding on an ingested 835 (ERA001-ERA003), stored with its remittance."""

    __tablename__ = "remit_finding"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    remittance_id: Mapped[int] = mapped_column(ForeignKey("remittance.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(10))
    severity: Mapped[str] = mapped_column(String(8))
    claim: Mapped[str | None] = mapped_column(String(38))  # CLP01
    line_id: Mapped[str | None] = mapped_column(String(50))  # REF*6R
    message: Mapped[str] = mapped_column(Text)


class Remark(Base):
    """A remark code: LQ*HE on a line, MOA/MIA on a claim."""

    __tablename__ = "remark"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_payment_id: Mapped[int] = mapped_column(Integer, index=True)  # checked per file
    service_payment_id: Mapped[int | None] = mapped_column(Integer, index=True)  # checked per file
    source: Mapped[str] = mapped_column(String(3))  # LQ, MOA, MIA
    code: Mapped[str] = mapped_column(String(10))


# The references inside a remittance's tree, (column, the table it points to). Ingest alone
# writes these rows, in one transaction with the rows they point to and with keys it drew for
# both; they are checked once per file, set-based, before it commits (RowWriter.verify), not
# by a foreign key per row: on PostgreSQL a key check is a trigger and a locking look-up per
# row, two thirds of the server's work storing an 835 (revision 0007). Links set later by
# UPDATE (a claim payment's claim, a service payment's line) keep their foreign keys.
CHECKED_PER_FILE: tuple[tuple[Column, Table], ...] = (
    (ClaimPayment.__table__.c.remittance_id, Remittance.__table__),
    (ServicePayment.__table__.c.claim_payment_id, ClaimPayment.__table__),
    (Adjustment.__table__.c.claim_payment_id, ClaimPayment.__table__),
    (Adjustment.__table__.c.service_payment_id, ServicePayment.__table__),
    (Remark.__table__.c.claim_payment_id, ClaimPayment.__table__),
    (Remark.__table__.c.service_payment_id, ServicePayment.__table__),
)


class DataRelease(Base):
    """An NCCI release (or code list) imported from the official files."""

    __tablename__ = "data_release"
    __table_args__ = (UniqueConstraint("kind", "name", name="uq_data_release_kind_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # ptp, mue, addon, carc, rarc
    name: Mapped[str] = mapped_column(String(120))
    effective: Mapped[date | None] = mapped_column(Date)
    source_files: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(DateTime)


class PtpEditRow(Base):
    __tablename__ = "ptp_edit"
    __table_args__ = (Index("ix_ptp_edit_pair", "column1", "column2"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("data_release.id", ondelete="CASCADE"), index=True)
    column1: Mapped[str] = mapped_column(String(5))
    column2: Mapped[str] = mapped_column(String(5))
    modifier_indicator: Mapped[str] = mapped_column(String(1))
    effective: Mapped[date] = mapped_column(Date)
    deletion: Mapped[date | None] = mapped_column(Date)
    rationale: Mapped[str] = mapped_column(String(200))


class MueEditRow(Base):
    __tablename__ = "mue_edit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("data_release.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(5), index=True)
    units: Mapped[int] = mapped_column(Integer)
    mai: Mapped[str] = mapped_column(String(1))
    rationale: Mapped[str] = mapped_column(String(200))


class AddOnEditRow(Base):
    __tablename__ = "addon_edit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("data_release.id", ondelete="CASCADE"), index=True)
    addon: Mapped[str] = mapped_column(String(5), index=True)
    primary_code: Mapped[str] = mapped_column(String(5))
    edit_type: Mapped[str] = mapped_column(String(1))
    effective: Mapped[date] = mapped_column(Date)
    deletion: Mapped[date | None] = mapped_column(Date)


class CodeText(Base):
    """The official CARC/RARC text, when a user imports the lists (not shipped: X12 owns it)."""

    __tablename__ = "code_text"
    __table_args__ = (UniqueConstraint("list_name", "code", name="uq_code_text_list_name_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_name: Mapped[str] = mapped_column(String(4))  # carc, rarc
    code: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12))
    description: Mapped[str] = mapped_column(Text)


class StoreMeta(Base):
    """Facts about the store itself, one row each: ``secret_fingerprint`` tells which installation
    secret the member and patient hashes were made with."""

    __tablename__ = "store_meta"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


# ---------------------------------------------------------------- acknowledgments (999, 277CA)


class SentSet(Base):
    """An 837P transaction set as sent: its GS06 and ST02, and which claims of the file it held,
    so that a 999 acknowledging that set links to it."""

    __tablename__ = "sent_set"
    __table_args__ = (Index("ix_sent_set_controls", "group_control", "set_control"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id", ondelete="CASCADE"), index=True)
    group_control: Mapped[str] = mapped_column(String(9))  # GS06
    set_control: Mapped[str] = mapped_column(String(9))  # ST02
    first_ordinal: Mapped[int] = mapped_column(Integer)  # claims first_ordinal .. first_ordinal + claims - 1
    claims: Mapped[int] = mapped_column(Integer)


class Acknowledgment(Base):
    """One 999 or 277CA transaction set received; stored once by what it says (ack_key)."""

    __tablename__ = "acknowledgment"
    __table_args__ = (UniqueConstraint("ack_key", name="uq_acknowledgment_ack_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(6))  # 999, 277CA
    ack_key: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(15))  # GS02
    payer_id: Mapped[str | None] = mapped_column(String(80))  # 277CA 2100A NM109
    payer_name: Mapped[str | None] = mapped_column(String(60))
    group_control: Mapped[str | None] = mapped_column(String(9))  # 999 AK102: the GS06 sent
    group_status: Mapped[str | None] = mapped_column(String(1))  # 999 AK901
    received: Mapped[date | None] = mapped_column(Date)  # GS04 (999) or BHT04 (277CA)


class SetStatus(Base):
    """999 loop 2000: one transaction set sent, its IK5 status, linked to the set as sent."""

    __tablename__ = "set_status"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    acknowledgment_id: Mapped[int] = mapped_column(ForeignKey("acknowledgment.id", ondelete="CASCADE"), index=True)
    set_control: Mapped[str] = mapped_column(String(9))  # AK202
    status: Mapped[str] = mapped_column(String(1))  # IK501
    codes: Mapped[str] = mapped_column(String(20))  # IK502-IK506, comma-separated
    rejected: Mapped[bool] = mapped_column(Boolean)
    sent_set_id: Mapped[int | None] = mapped_column(ForeignKey("sent_set.id", ondelete="SET NULL"), index=True)
    rule: Mapped[str | None] = mapped_column(String(10))
    basis: Mapped[str | None] = mapped_column(String(12))  # fired, predicted, unexplained (rejected sets)
    linked_at: Mapped[datetime | None] = mapped_column(DateTime)


class SetError(Base):
    """999 IK3 (segment error) with one of its IK4s (element error), or none."""

    __tablename__ = "set_error"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_status_id: Mapped[int] = mapped_column(ForeignKey("set_status.id", ondelete="CASCADE"), index=True)
    segment_id: Mapped[str] = mapped_column(String(3))  # IK301
    segment_position: Mapped[str] = mapped_column(String(10))  # IK302
    loop: Mapped[str | None] = mapped_column(String(6))  # IK303
    segment_code: Mapped[str] = mapped_column(String(3))  # IK304
    element_position: Mapped[str | None] = mapped_column(String(10))  # IK401
    element_reference: Mapped[str | None] = mapped_column(String(6))  # IK402
    element_code: Mapped[str | None] = mapped_column(String(3))  # IK403 (IK404, the bad value, is not kept)


class ClaimStatusRow(Base):
    """277CA: one STC of a claim (2200D) or of a line (2220D), linked to the stored claim and line."""

    __tablename__ = "claim_status"
    __table_args__ = (Index("ix_claim_status_pcn", "patient_control_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    acknowledgment_id: Mapped[int] = mapped_column(ForeignKey("acknowledgment.id", ondelete="CASCADE"), index=True)
    patient_control_number: Mapped[str] = mapped_column(String(38))  # 2200D TRN02 (CLM01)
    line_id: Mapped[str | None] = mapped_column(String(50))  # 2220D REF*FJ (the 837's REF*6R)
    procedure: Mapped[str | None] = mapped_column(String(48))  # 2220D SVC01-2
    provider_npi: Mapped[str | None] = mapped_column(String(15))
    category: Mapped[str] = mapped_column(String(3))  # STC01-1
    code: Mapped[str] = mapped_column(String(5))  # STC01-2
    entity: Mapped[str] = mapped_column(String(3))  # STC01-3
    status_date: Mapped[date | None] = mapped_column(Date)
    amount: Mapped[Decimal | None] = mapped_column(Money)  # STC04 (claim) or SVC02 (line)
    payer_claim_control_number: Mapped[str | None] = mapped_column(String(50))  # REF*1K
    rejected: Mapped[bool] = mapped_column(Boolean)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id", ondelete="SET NULL"), index=True)
    service_line_id: Mapped[int | None] = mapped_column(ForeignKey("service_line.id", ondelete="SET NULL"))
    rule: Mapped[str | None] = mapped_column(String(10))
    basis: Mapped[str | None] = mapped_column(String(12))
    linked_at: Mapped[datetime | None] = mapped_column(DateTime)
