"""Synthetic 837P and 835 files: for samples, tests and the benchmark.

Every person here is invented. The files follow 005010X222A1 / 005010X221A1 closely
enough that pyx12 validates them; tests check that.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from mohsedi.x12.delimiters import Delimiters

DEFAULT_DELIMITERS = Delimiters("*", ":", "^", "~")


@dataclass
class LineSpec:
    procedure: str
    charge: Decimal
    units: Decimal | int = 1
    modifiers: tuple[str, ...] = ()
    pointers: tuple[int, ...] = (1,)
    service_date: date | None = None  # defaults to the claim's date
    line_id: str | None = "auto"  # "auto": <CLM01>-<LX>; None: no REF*6R


@dataclass
class ClaimSpec:
    pcn: str
    diagnoses: tuple[str, ...]  # ICD-10 without the dot
    lines: list[LineSpec]
    service_date: date = date(2026, 10, 6)
    place_of_service: str = "11"
    frequency: str = "1"
    total: Decimal | None = None  # None: the sum of the lines
    clia: str | None = "05D0987654"
    prior_auth: str | None = None
    original_reference: str | None = None  # REF*F8 on a replacement claim
    member_id: str = "1EG4TE5MK72"
    last_name: str = "TESTPATIENT"
    first_name: str = "ALPHA"
    birth_date: str = "19480312"
    sex: str = "F"
    payer_id: str = "SMEDC"
    payer_name: str = "SYNTHETIC MEDICARE CONTRACTOR"
    filing_indicator: str = "MB"
    rendering_npi: str | None = "1588667638"


@dataclass
class Envelope837:
    sender: str = "MOHSEDISUBMIT"
    receiver: str = "SYNCLEARING"
    billing_npi: str = "1306849450"
    billing_name: str = "SYNTHETIC DERMATOLOGY AND MOHS PA"
    tax_id: str = "990000001"
    interchange_control: int = 1
    group_control: int = 1
    created: date = date(2026, 10, 8)
    delimiters: Delimiters = field(default_factory=lambda: DEFAULT_DELIMITERS)
    line_break: str = "\n"


def _fmt_money(value: Decimal) -> str:
    text = format(value.quantize(Decimal("0.01")), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _isa(env_sender: str, env_receiver: str, created: date, control: int, d: Delimiters) -> str:
    e = d.element
    return e.join(
        [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            env_sender.ljust(15)[:15],
            "ZZ",
            env_receiver.ljust(15)[:15],
            created.strftime("%y%m%d"),
            "1200",
            d.repetition or "U",
            "00501",
            f"{control:09d}",
            "0",
            "T",
            d.component,
        ]
    )


class _Writer:
    def __init__(self, d: Delimiters, line_break: str) -> None:
        self.d = d
        self.line_break = line_break
        self.parts: list[str] = []
        self.st_count = 0

    def seg(self, *elements: str) -> None:
        items = list(elements)
        while len(items) > 1 and items[-1] == "":
            items.pop()
        self.parts.append(self.d.element.join(items) + self.d.segment + self.line_break)
        self.st_count += 1

    def comp(self, *parts: str) -> str:
        items = list(parts)
        while len(items) > 1 and items[-1] == "":
            items.pop()
        return self.d.component.join(items)


def claim_837p_transaction(w: _Writer, env: Envelope837, claims: list[ClaimSpec], st_control: str) -> None:
    w.st_count = 0
    w.seg("ST", "837", st_control, "005010X222A1")
    w.seg("BHT", "0019", "00", f"B{st_control}", env.created.strftime("%Y%m%d"), "1200", "CH")
    w.seg("NM1", "41", "2", env.billing_name, "", "", "", "", "46", env.sender)
    w.seg("PER", "IC", "BILLING OFFICE", "TE", "5555550100")
    w.seg("NM1", "40", "2", "SYNTHETIC CLEARINGHOUSE", "", "", "", "", "46", env.receiver)
    w.seg("HL", "1", "", "20", "1")
    w.seg("NM1", "85", "2", env.billing_name, "", "", "", "", "XX", env.billing_npi)
    w.seg("N3", "100 EXAMPLE PLAZA")
    w.seg("N4", "SPRINGFIELD", "IL", "627010000")
    w.seg("REF", "EI", env.tax_id)
    hl = 1
    for claim in claims:
        hl += 1
        w.seg("HL", str(hl), "1", "22", "0")
        w.seg("SBR", "P", "18", "", "", "", "", "", "", claim.filing_indicator)
        w.seg("NM1", "IL", "1", claim.last_name, claim.first_name, "", "", "", "MI", claim.member_id)
        w.seg("N3", "1 SAMPLE STREET")
        w.seg("N4", "SPRINGFIELD", "IL", "627040000")
        w.seg("DMG", "D8", claim.birth_date, claim.sex)
        w.seg("NM1", "PR", "2", claim.payer_name, "", "", "", "", "PI", claim.payer_id)
        charges = [ln.charge for ln in claim.lines]
        total = claim.total if claim.total is not None else sum(charges, Decimal("0"))
        w.seg(
            "CLM",
            claim.pcn,
            _fmt_money(total),
            "",
            "",
            w.comp(claim.place_of_service, "B", claim.frequency),
            "Y",
            "A",
            "Y",
            "Y",
        )
        if claim.prior_auth:
            w.seg("REF", "G1", claim.prior_auth)
        if claim.original_reference:
            w.seg("REF", "F8", claim.original_reference)
        if claim.clia:
            w.seg("REF", "X4", claim.clia)
        hi = [w.comp("ABK" if i == 0 else "ABF", code) for i, code in enumerate(claim.diagnoses[:12])]
        w.seg("HI", *hi)
        if claim.rendering_npi:
            w.seg("NM1", "82", "1", "PROVIDER", "SYNTHETIC", "", "", "", "XX", claim.rendering_npi)
        for n, line in enumerate(claim.lines, start=1):
            w.seg("LX", str(n))
            proc = w.comp("HC", line.procedure, *line.modifiers)
            pointers = w.comp(*[str(p) for p in line.pointers[:4]])
            w.seg("SV1", proc, _fmt_money(line.charge), "UN", str(line.units), "", "", pointers)
            day = line.service_date or claim.service_date
            w.seg("DTP", "472", "D8", day.strftime("%Y%m%d"))
            line_id = f"{claim.pcn}-{n}" if line.line_id == "auto" else line.line_id
            if line_id:
                w.seg("REF", "6R", line_id)
    w.seg("SE", str(w.st_count + 1), st_control)


def build_837p(
    claims: list[ClaimSpec],
    env: Envelope837 | None = None,
    *,
    claims_per_transaction: int = 0,
) -> str:
    """An 837P file with the claims, split into transaction sets of at most N claims (0: one set)."""
    env = env or Envelope837()
    return "".join(iter_837p(claims, env, claims_per_transaction=claims_per_transaction))


def iter_837p(claims: Iterable[ClaimSpec], env: Envelope837, *, claims_per_transaction: int = 0) -> Iterator[str]:
    """Stream an 837P file as text chunks (the benchmark writes large files this way)."""
    d = env.delimiters
    w = _Writer(d, env.line_break)
    w.parts.append(_isa(env.sender, env.receiver, env.created, env.interchange_control, d) + d.segment + env.line_break)
    w.seg(
        "GS",
        "HC",
        env.sender,
        env.receiver,
        env.created.strftime("%Y%m%d"),
        "1200",
        str(env.group_control),
        "X",
        "005010X222A1",
    )
    yield "".join(w.parts)
    w.parts.clear()
    sets = 0
    batch: list[ClaimSpec] = []
    for claim in claims:
        batch.append(claim)
        if claims_per_transaction and len(batch) >= claims_per_transaction:
            sets += 1
            claim_837p_transaction(w, env, batch, f"{sets:04d}")
            yield "".join(w.parts)
            w.parts.clear()
            batch = []
    if batch or sets == 0:
        sets += 1
        claim_837p_transaction(w, env, batch, f"{sets:04d}")
    w.seg("GE", str(sets), str(env.group_control))
    w.seg("IEA", "1", f"{env.interchange_control:09d}")
    yield "".join(w.parts)


# ---------------------------------------------------------------- 835


@dataclass
class ServicePaymentSpec:
    procedure: str
    charge: Decimal
    paid: Decimal
    modifiers: tuple[str, ...] = ()
    units: int = 1
    service_date: date = date(2026, 10, 6)
    line_id: str | None = None
    adjustments: list[tuple[str, str, Decimal]] = field(default_factory=list)  # group, CARC, amount
    remarks: tuple[str, ...] = ()
    allowed: Decimal | None = None


@dataclass
class ClaimPaymentSpec:
    pcn: str
    status: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal = Decimal("0")
    payer_claim_number: str = "PCN0000000001"
    services: list[ServicePaymentSpec] = field(default_factory=list)
    adjustments: list[tuple[str, str, Decimal]] = field(default_factory=list)
    claim_remarks: tuple[str, ...] = ()
    filing_indicator: str = "MB"


@dataclass
class Envelope835:
    sender: str = "SYNMEDICARE"
    receiver: str = "MOHSEDISUBMIT"
    payer_name: str = "SYNTHETIC MEDICARE CONTRACTOR"
    payer_id: str = "SMEDC"
    payee_name: str = "SYNTHETIC DERMATOLOGY AND MOHS PA"
    payee_npi: str = "1306849450"
    trace_number: str = "EFT0000001"
    payment_date: date = date(2026, 10, 30)
    interchange_control: int = 1
    group_control: int = 1
    delimiters: Delimiters = field(default_factory=lambda: DEFAULT_DELIMITERS)
    line_break: str = "\n"


def _cas(w: _Writer, adjustments: list[tuple[str, str, Decimal]]) -> None:
    by_group: dict[str, list[tuple[str, Decimal]]] = {}
    for group, carc, amount in adjustments:
        by_group.setdefault(group, []).append((carc, amount))
    for group, items in by_group.items():
        for i in range(0, len(items), 6):
            elements = ["CAS", group]
            for carc, amount in items[i : i + 6]:
                elements += [carc, _fmt_money(amount), ""]
            w.seg(*elements)


def remittance_835_transaction(
    w: _Writer, env: Envelope835, claims: list[ClaimPaymentSpec], st_control: str, trace: str
) -> None:
    w.st_count = 0
    total = sum((c.paid for c in claims), Decimal("0"))
    w.seg("ST", "835", st_control)  # ST03 is not used in the 835 guide
    method = "ACH" if total > 0 else "NON"
    bpr = ["BPR", "I" if total > 0 else "H", _fmt_money(total), "C", method]
    if total > 0:
        bpr += ["CCP", "01", "999999992", "DA", "123456", "1512345678", "", "01", "999988880", "DA", "98765"]
    else:
        bpr += [""] * 11
    bpr.append(env.payment_date.strftime("%Y%m%d"))
    w.seg(*bpr)
    w.seg("TRN", "1", trace, "1512345678")
    w.seg("DTM", "405", env.payment_date.strftime("%Y%m%d"))
    w.seg("N1", "PR", env.payer_name, "XV", env.payer_id)
    w.seg("N3", "1 PAYER WAY")
    w.seg("N4", "SPRINGFIELD", "IL", "627010000")
    w.seg("PER", "BL", "PROVIDER SERVICES", "TE", "5555550199")
    w.seg("N1", "PE", env.payee_name, "XX", env.payee_npi)
    w.seg("REF", "TJ", "990000001")
    w.seg("LX", "1")
    for claim in claims:
        w.seg(
            "CLP",
            claim.pcn,
            claim.status,
            _fmt_money(claim.charge),
            _fmt_money(claim.paid),
            _fmt_money(claim.patient_responsibility) if claim.patient_responsibility else "",
            claim.filing_indicator,
            claim.payer_claim_number,
            "11",
            "1",
        )
        _cas(w, claim.adjustments)
        w.seg("NM1", "QC", "1", "TESTPATIENT", "ALPHA", "", "", "", "MI", "1EG4TE5MK72")
        if claim.claim_remarks:
            w.seg("MOA", "", "", *claim.claim_remarks[:5])
        for svc in claim.services:
            proc = w.comp("HC", svc.procedure, *svc.modifiers)
            w.seg("SVC", proc, _fmt_money(svc.charge), _fmt_money(svc.paid), "", str(svc.units))
            w.seg("DTM", "472", svc.service_date.strftime("%Y%m%d"))
            _cas(w, svc.adjustments)
            if svc.line_id:
                w.seg("REF", "6R", svc.line_id)
            if svc.allowed is not None:
                w.seg("AMT", "B6", _fmt_money(svc.allowed))
            for remark in svc.remarks:
                w.seg("LQ", "HE", remark)
    w.seg("SE", str(w.st_count + 1), st_control)


def build_835(
    claims: list[ClaimPaymentSpec], env: Envelope835 | None = None, *, claims_per_transaction: int = 0
) -> str:
    env = env or Envelope835()
    return "".join(iter_835(claims, env, claims_per_transaction=claims_per_transaction))


def iter_835(claims: Iterable[ClaimPaymentSpec], env: Envelope835, *, claims_per_transaction: int = 0) -> Iterator[str]:
    d = env.delimiters
    w = _Writer(d, env.line_break)
    created = env.payment_date
    w.parts.append(_isa(env.sender, env.receiver, created, env.interchange_control, d) + d.segment + env.line_break)
    w.seg(
        "GS",
        "HP",
        env.sender,
        env.receiver,
        created.strftime("%Y%m%d"),
        "1200",
        str(env.group_control),
        "X",
        "005010X221A1",
    )
    yield "".join(w.parts)
    w.parts.clear()
    sets = 0
    batch: list[ClaimPaymentSpec] = []
    for claim in claims:
        batch.append(claim)
        if claims_per_transaction and len(batch) >= claims_per_transaction:
            sets += 1
            remittance_835_transaction(w, env, batch, f"{sets:04d}", f"{env.trace_number}{sets:04d}")
            yield "".join(w.parts)
            w.parts.clear()
            batch = []
    if batch or sets == 0:
        sets += 1
        trace = env.trace_number if sets == 1 else f"{env.trace_number}{sets:04d}"
        remittance_835_transaction(w, env, batch, f"{sets:04d}", trace)
    w.seg("GE", str(sets), str(env.group_control))
    w.seg("IEA", "1", f"{env.interchange_control:09d}")
    yield "".join(w.parts)


# ---------------------------------------------------------------- random Mohs days

HEAD_DIAGNOSES = ("C44311", "C44319", "C44212", "C4441", "C4401", "D0439", "C44111")
TRUNK_LIMB_DIAGNOSES = ("C44519", "C44612", "C44712", "D045", "C44511")
FEE = {
    "17311": Decimal("742.80"),
    "17312": Decimal("401.16"),
    "17313": Decimal("667.45"),
    "17314": Decimal("378.02"),
    "17315": Decimal("114.90"),
    "13151": Decimal("512.00"),
    "14060": Decimal("1210.00"),
    "12032": Decimal("310.00"),
    "11102": Decimal("145.00"),
    "99213": Decimal("118.00"),
}


def random_mohs_claim(rng: random.Random, n: int) -> ClaimSpec:
    """One Mohs day for one invented patient: 1-2 tumors, stages, blocks, sometimes a repair."""
    lines: list[LineSpec] = []
    diagnoses: list[str] = []
    for tumor in range(rng.choice((1, 1, 1, 2))):
        head = rng.random() < 0.75
        dx = rng.choice(HEAD_DIAGNOSES if head else TRUNK_LIMB_DIAGNOSES)
        if dx in diagnoses:
            dx = rng.choice(HEAD_DIAGNOSES if head else TRUNK_LIMB_DIAGNOSES)
        diagnoses.append(dx)
        pointer = len(diagnoses)
        first, extra = ("17311", "17312") if head else ("17313", "17314")
        mods = ("XS",) if tumor else ()
        lines.append(LineSpec(first, FEE[first], 1, mods, (pointer,)))
        stages = rng.choice((1, 1, 2, 2, 3))
        if stages > 1:
            lines.append(LineSpec(extra, FEE[extra] * (stages - 1), stages - 1, (), (pointer,)))
        blocks_over = rng.choice((0, 0, 0, 1, 2))
        if blocks_over:
            lines.append(LineSpec("17315", FEE["17315"] * blocks_over, blocks_over, (), (pointer,)))
        if rng.random() < 0.4:
            repair = rng.choice(("13151", "14060", "12032"))
            lines.append(LineSpec(repair, FEE[repair], 1, (), (pointer,)))
    return ClaimSpec(
        pcn=f"MS{n:08d}",
        diagnoses=tuple(diagnoses),
        lines=lines,
        member_id=f"{rng.randrange(1, 9)}SY{n:07d}",
        last_name="SYNTHETIC",
        first_name=f"PATIENT{n % 1000}",
    )


def random_payment(rng: random.Random, claim: ClaimSpec) -> ClaimPaymentSpec:
    """Pays a generated claim at about 80 percent, now and then denying a line."""
    services = []
    paid_total = Decimal("0")
    charge_total = Decimal("0")
    for n, line in enumerate(claim.lines, start=1):
        charge = line.charge
        charge_total += charge
        if rng.random() < 0.05:
            adj = [("CO", "236", charge)]
            paid = Decimal("0")
            remarks: tuple[str, ...] = ("M80",)
        else:
            paid = (charge * Decimal("0.8")).quantize(Decimal("0.01"))
            adj = [("CO", "45", charge - paid)]
            remarks = ()
        paid_total += paid
        services.append(
            ServicePaymentSpec(
                line.procedure,
                charge,
                paid,
                line.modifiers,
                int(line.units),
                claim.service_date,
                f"{claim.pcn}-{n}",
                adj,
                remarks,
            )
        )
    return ClaimPaymentSpec(
        claim.pcn,
        "1",
        charge_total,
        paid_total,
        services=services,
        payer_claim_number=f"PC{claim.pcn}",
    )
