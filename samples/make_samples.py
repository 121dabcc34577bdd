"""Regenerate the sample files: `python samples/make_samples.py`.

Every person, provider and payer here is invented. Each claim seeds at most one kind
of error so a check finding can be traced to the claim built to show it.
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

from mohsedi.acks.synth import (
    AckEnvelope,
    ClaimAckSpec,
    LineAckSpec,
    SetAckSpec,
    build_277ca,
    build_999,
)
from mohsedi.synth import (
    FEE,
    ClaimPaymentSpec,
    ClaimSpec,
    Envelope835,
    Envelope837,
    LineSpec,
    ServicePaymentSpec,
    build_835,
    build_837p,
)

HERE = Path(__file__).parent
DAY = date(2026, 10, 6)

# ICD-10-CM codes (without the dot) used below.
NOSE_BCC = "C44311"  # basal cell carcinoma of skin of nose
SCALP_SCC = "C4442"  # squamous cell carcinoma of skin of scalp and neck
EAR_BCC = "C44212"  # basal cell carcinoma of skin of right ear
BACK_BCC = "C44519"  # basal cell carcinoma of skin of other part of trunk
ARM_SCC = "C44622"  # squamous cell carcinoma of skin of right upper limb
LEG_BCC = "C44712"  # basal cell carcinoma of skin of right lower limb
ACTINIC = "L570"  # actinic keratosis
NEOPLASM_UNCERTAIN = "D485"  # neoplasm of uncertain behavior of skin
SEB_KERATOSIS = "L821"  # other seborrheic keratosis


def line(code: str, units: int = 1, mods: tuple[str, ...] = (), ptr: tuple[int, ...] = (1,), **kw) -> LineSpec:
    fee = FEE.get(code, Decimal("150.00"))
    return LineSpec(code, fee * units, units, mods, ptr, **kw)


def patient(n: int, **kw) -> dict:
    return {"member_id": f"9SY{n:07d}", "last_name": "SAMPLE", "first_name": f"PATIENT{n}", **kw}


CLEAN = [
    # One tumor on the nose, three stages, layered repair.
    ClaimSpec("MOHS-0001", (NOSE_BCC,), [line("17311"), line("17312", 2), line("13151")], **patient(1)),
    # Stages with 7, 3 and 6 blocks on the nose: 17311 x1, 17312 x2, 17315 x3.
    ClaimSpec("MOHS-0002", (NOSE_BCC,), [line("17311"), line("17312", 2), line("17315", 3)], **patient(2)),
    # Two tumors: nose and back; the second first stage carries XS; a flap needs no modifier.
    ClaimSpec(
        "MOHS-0003",
        (NOSE_BCC, BACK_BCC),
        [
            line("17311", ptr=(1,)),
            line("17312", 1, ptr=(1,)),
            line("17313", mods=("XS",), ptr=(2,)),
            line("17314", 1, ptr=(2,)),
            line("14060", ptr=(1,)),
        ],
        **patient(3),
    ),
    # Scalp is head: 17311 is right. Same-day E/M with 25 for another problem,
    # and a biopsy of a different lesion with XS.
    ClaimSpec(
        "MOHS-0004",
        (SCALP_SCC, ACTINIC, NEOPLASM_UNCERTAIN),
        [
            line("99213", mods=("25",), ptr=(2,)),
            line("17311", ptr=(1,)),
            line("11102", mods=("XS",), ptr=(3,)),
        ],
        **patient(4),
    ),
]

MOHS_ERRORS = [
    # MOHS005: 17313 (trunk/arms/legs) billed for a scalp tumor.
    ClaimSpec("MOHS-0101", (SCALP_SCC,), [line("17313"), line("17314", 1)], **patient(101)),
    # MOHS001: additional stage with no first stage that day.
    ClaimSpec("MOHS-0102", (NOSE_BCC,), [line("17312", 1)], **patient(102)),
    # MOHS002: 17314 (trunk add-on) after a 17311 (head first stage).
    ClaimSpec("MOHS-0103", (EAR_BCC,), [line("17311"), line("17314", 1)], **patient(103)),
    # MOHS003: two units on a first-stage line (two tumors on one line).
    ClaimSpec("MOHS-0104", (NOSE_BCC, EAR_BCC), [line("17311", 2, ptr=(1, 2))], **patient(104)),
    # MOHS004: second tumor's first stage without a distinct-lesion modifier.
    ClaimSpec(
        "MOHS-0105",
        (NOSE_BCC, EAR_BCC),
        [line("17311", ptr=(1,)), line("17311", ptr=(2,))],
        **patient(105),
    ),
    # MOHS006: head/neck code on a trunk diagnosis (valid only with deep structures documented).
    ClaimSpec("MOHS-0106", (BACK_BCC,), [line("17311")], **patient(106)),
    # MOHS008: Mohs pointing to a diagnosis Mohs is not covered for.
    ClaimSpec("MOHS-0107", (SEB_KERATOSIS,), [line("17311")], **patient(107)),
    # MOHS016: a stage-banded code deleted in 2007.
    ClaimSpec("MOHS-0108", (NOSE_BCC,), [line("17304")], **patient(108)),
]

SAME_DAY_ERRORS = [
    # MOHS011: same-day biopsy with no modifier (NCCI001 stays silent: the specific rule covers it).
    ClaimSpec(
        "MOHS-0201",
        (NOSE_BCC, NEOPLASM_UNCERTAIN),
        [line("17311", ptr=(1,)), line("11102", ptr=(2,))],
        **patient(201),
    ),
    # MOHS009: surgical pathology billed for the Mohs layers.
    ClaimSpec("MOHS-0202", (NOSE_BCC,), [line("17311"), line("88305", 2)], **patient(202)),
    # MOHS013: same-day E/M without 25.
    ClaimSpec(
        "MOHS-0203",
        (EAR_BCC, ACTINIC),
        [line("99213", ptr=(2,)), line("17311", ptr=(1,))],
        **patient(203),
    ),
    # MOHS012: excision of a different lesion the same day without XS/59.
    ClaimSpec(
        "MOHS-0204",
        (NOSE_BCC, ARM_SCC),
        [line("17311", ptr=(1,)), line("11602", ptr=(2,))],
        **patient(204),
    ),
    # MOHS010: special stain without 59.
    ClaimSpec("MOHS-0205", (NOSE_BCC,), [line("17311"), line("88314")], **patient(205)),
    # MOHS015: a blanket 59 on the repair (no NCCI pair needs it: compliance risk).
    ClaimSpec("MOHS-0206", (NOSE_BCC,), [line("17311"), line("13151", mods=("59",))], **patient(206)),
]

MODIFIER_X12_ERRORS = [
    # MOHS014: 59 together with XS on one line.
    ClaimSpec(
        "MOHS-0301",
        (NOSE_BCC, EAR_BCC),
        [line("17311", ptr=(1,)), line("17311", mods=("59", "XS"), ptr=(2,))],
        **patient(301),
    ),
    # MOHS018: modifier 51 on an add-on.
    ClaimSpec("MOHS-0302", (NOSE_BCC,), [line("17311"), line("17312", 1, mods=("51",))], **patient(302)),
    # MOHS017: no CLIA number (REF*X4) on a claim with Mohs codes.
    ClaimSpec("MOHS-0303", (NOSE_BCC,), [line("17311")], clia=None, **patient(303)),
    # X12002: CLM02 does not add up; X12004: no REF*6R on the lines; X12005: lower-case modifier.
    ClaimSpec(
        "MOHS-0304",
        (NOSE_BCC, EAR_BCC),
        [
            line("17311", ptr=(1,), line_id=None),
            line("17311", mods=("xs",), ptr=(2,), line_id=None),
        ],
        total=Decimal("1400.00"),
        **patient(304),
    ),
]

CASE_LOG_ERRORS = [
    # DOC001: the log has three stages; one additional stage billed.
    ClaimSpec("MOHS-0501", (NOSE_BCC,), [line("17311"), line("17312", 1)], **patient(501)),
    # DOC002: stages of 8 and 4 blocks give 17315 x3; one billed.
    ClaimSpec("MOHS-0502", (EAR_BCC,), [line("17311"), line("17312", 1), line("17315", 1)], **patient(502)),
    # DOC003: two tumors in the log, one first stage billed.
    ClaimSpec("MOHS-0503", (NOSE_BCC, EAR_BCC), [line("17311", ptr=(1,))], **patient(503)),
    # DOC004: the log says hand; billed as trunk/arm (the ICD-10 code cannot tell).
    ClaimSpec("MOHS-0504", (ARM_SCC,), [line("17313"), line("17314", 1)], **patient(504)),
    # DOC005: 88314 billed, the log shows only H&E.
    ClaimSpec("MOHS-0505", (NOSE_BCC,), [line("17311"), line("88314", mods=("59",))], **patient(505)),
    # DOC006: stage 2 has no map.
    ClaimSpec("MOHS-0506", (NOSE_BCC,), [line("17311"), line("17312", 1)], **patient(506)),
    # MOHS010 with the log: a PAS stain (non-routine, histochemical) justifies XS (an unsafe fix).
    ClaimSpec("MOHS-0507", (NOSE_BCC,), [line("17311"), line("88314")], **patient(507)),
]

COMMERCIAL = {"payer_id": "SYNCOMM", "payer_name": "SYNTHETIC COMMERCIAL HEALTH PLAN", "filing_indicator": "CI"}
PAYER_POLICY_ERRORS = [
    # PAY001: the commercial payer needs prior authorization for 17311; no REF*G1.
    ClaimSpec("MOHS-0601", (NOSE_BCC,), [line("17311")], **COMMERCIAL, **patient(601)),
    # PAY002: dated 2026-03-02, past the payer's 180 days on 2026-11-22.
    ClaimSpec(
        "MOHS-0602",
        (NOSE_BCC,),
        [line("17311")],
        service_date=date(2026, 3, 2),
        prior_auth="PA26030201",
        **COMMERCIAL,
        **patient(602),
    ),
    # MOHS004 for a payer that wants 59: the fix appends 59, not XS.
    ClaimSpec(
        "MOHS-0603",
        (NOSE_BCC, EAR_BCC),
        [line("17311", ptr=(1,)), line("17311", ptr=(2,))],
        prior_auth="PA26100603",
        **COMMERCIAL,
        **patient(603),
    ),
    # MOHS017 with the practice's CLIA number in the policy: a safe fix inserts it.
    ClaimSpec(
        "MOHS-0604", (NOSE_BCC,), [line("17311")], clia=None, prior_auth="PA26100604", **COMMERCIAL, **patient(604)
    ),
    # Consistent: this payer asks for a modifier on repairs, so 13151-59 is right (no MOHS015).
    ClaimSpec(
        "MOHS-0605",
        (NOSE_BCC,),
        [line("17311"), line("13151", mods=("59",))],
        prior_auth="PA26100605",
        **COMMERCIAL,
        **patient(605),
    ),
]

# One row per stage: (claim, tumor, site, diagnosis, stage, blocks, stains, map, margins, deep).
CASE_LOG = [
    ("MOHS-0001", "A", "nose", "C44.311", 1, 3, "H&E", "yes", "positive", "no"),
    ("MOHS-0001", "A", "nose", "C44.311", 2, 2, "H&E", "yes", "positive", "no"),
    ("MOHS-0001", "A", "nose", "C44.311", 3, 1, "H&E", "yes", "clear", "no"),
    ("MOHS-0002", "A", "nose", "C44.311", 1, 7, "H&E", "yes", "positive", "no"),
    ("MOHS-0002", "A", "nose", "C44.311", 2, 3, "H&E", "yes", "positive", "no"),
    ("MOHS-0002", "A", "nose", "C44.311", 3, 6, "H&E", "yes", "clear", "no"),
    ("MOHS-0003", "A", "nose", "C44.311", 1, 4, "H&E", "yes", "positive", "no"),
    ("MOHS-0003", "A", "nose", "C44.311", 2, 2, "H&E", "yes", "clear", "no"),
    ("MOHS-0003", "B", "back", "C44.519", 1, 3, "H&E", "yes", "positive", "no"),
    ("MOHS-0003", "B", "back", "C44.519", 2, 2, "H&E", "yes", "clear", "no"),
    ("MOHS-0004", "A", "scalp", "C44.42", 1, 4, "H&E", "yes", "clear", "no"),
    ("MOHS-0501", "A", "nose", "C44.311", 1, 4, "H&E", "yes", "positive", "no"),
    ("MOHS-0501", "A", "nose", "C44.311", 2, 3, "H&E", "yes", "positive", "no"),
    ("MOHS-0501", "A", "nose", "C44.311", 3, 2, "H&E", "yes", "clear", "no"),
    ("MOHS-0502", "A", "ear", "C44.212", 1, 8, "H&E", "yes", "positive", "no"),
    ("MOHS-0502", "A", "ear", "C44.212", 2, 4, "H&E", "yes", "clear", "no"),
    ("MOHS-0503", "A", "nose", "C44.311", 1, 3, "H&E", "yes", "clear", "no"),
    ("MOHS-0503", "B", "ear", "C44.212", 1, 2, "H&E", "yes", "clear", "no"),
    ("MOHS-0504", "A", "hand", "C44.622", 1, 3, "H&E", "yes", "positive", "no"),
    ("MOHS-0504", "A", "hand", "C44.622", 2, 2, "H&E", "yes", "clear", "no"),
    ("MOHS-0505", "A", "nose", "C44.311", 1, 3, "H&E", "yes", "clear", "no"),
    ("MOHS-0506", "A", "nose", "C44.311", 1, 3, "H&E", "yes", "positive", "no"),
    ("MOHS-0506", "A", "nose", "C44.311", 2, 2, "H&E", "no", "clear", "no"),
    ("MOHS-0507", "A", "nose", "C44.311", 1, 3, "H&E;PAS", "yes", "clear", "no"),
    # A malformed row: the site is not in the vocabulary. It is reported with its line and skipped.
    ("MOHS-9999", "A", "elbow-ish", "C44.622", 1, 3, "H&E", "yes", "clear", "no"),
]

POLICY = """# Payer policies for the sample practice (schema: ../schemas/payer-policy.schema.json).
# Payers not listed here get Medicare's: XS, no prior authorization, 365 days, no repair modifier.

[[practice]]
clia = "05D0987654"
billing_npi = ["1306849450"]

[groups.commercial]
distinct_modifier = "59"
prior_auth = ["17311", "17313"]
timely_filing_days = 180
repair_modifier = true

[payers.SMEDC]
name = "Synthetic Medicare contractor"

[payers.SYNCOMM]
name = "Synthetic commercial health plan"
group = "commercial"
"""

MUE_ERRORS = [
    # NCCI003: five first stages of 17313 on one date (MUE 3, date of service edit).
    ClaimSpec(
        "MOHS-0401",
        (BACK_BCC, ARM_SCC, LEG_BCC, "C44619", "C44712"),
        [line("17313", ptr=(i,), mods=() if i == 1 else ("XS",)) for i in range(1, 6)],
        **patient(401),
    ),
]


def svc(claim: ClaimSpec, n: int, paid: Decimal | None = None, adj=None, remarks=()) -> ServicePaymentSpec:
    spec = claim.lines[n - 1]
    charge = spec.charge
    if paid is None:
        paid = (charge * Decimal("0.8")).quantize(Decimal("0.01"))
        adj = [("CO", "45", (charge - paid) * Decimal("0.75")), ("PR", "2", (charge - paid) * Decimal("0.25"))]
    return ServicePaymentSpec(
        spec.procedure,
        charge,
        paid,
        tuple(m.upper() for m in spec.modifiers),
        int(spec.units),
        DAY,
        f"{claim.pcn}-{n}" if spec.line_id == "auto" else None,
        [(g, c, a.quantize(Decimal("0.01"))) for g, c, a in (adj or [])],
        tuple(remarks),
    )


def deny(claim: ClaimSpec, n: int, group: str, carc: str, *remarks: str) -> ServicePaymentSpec:
    charge = claim.lines[n - 1].charge
    return svc(claim, n, Decimal("0"), [(group, carc, charge)], remarks)


def payment(claim: ClaimSpec, services: list[ServicePaymentSpec], status: str = "1", **kw) -> ClaimPaymentSpec:
    charge = sum((s.charge for s in services), Decimal("0"))
    paid = sum((s.paid for s in services), Decimal("0"))
    pr = sum((a for s in services for g, _, a in s.adjustments if g == "PR"), Decimal("0"))
    if status == "1" and paid == 0:
        status = "4"
    return ClaimPaymentSpec(claim.pcn, status, charge, paid, pr, f"PCN{claim.pcn[-4:]}", services, **kw)


def all_paid(claim: ClaimSpec) -> ClaimPaymentSpec:
    return payment(claim, [svc(claim, n) for n in range(1, len(claim.lines) + 1)])


def by_pcn(claims: list[ClaimSpec]) -> dict[str, ClaimSpec]:
    return {c.pcn: c for c in claims}


def remits() -> tuple[list[ClaimPaymentSpec], list[ClaimPaymentSpec]]:
    paid = [all_paid(c) for c in CLEAN]
    m = by_pcn(MOHS_ERRORS + SAME_DAY_ERRORS + MODIFIER_X12_ERRORS + MUE_ERRORS)
    denials = [
        payment(
            m["MOHS-0101"], [deny(m["MOHS-0101"], 1, "CO", "11", "M76"), deny(m["MOHS-0101"], 2, "CO", "11", "M76")]
        ),
        payment(m["MOHS-0102"], [deny(m["MOHS-0102"], 1, "CO", "B15", "N122")]),
        payment(m["MOHS-0103"], [svc(m["MOHS-0103"], 1), deny(m["MOHS-0103"], 2, "CO", "B15", "N122")]),
        payment(m["MOHS-0104"], [deny(m["MOHS-0104"], 1, "CO", "151", "N362")]),
        payment(m["MOHS-0105"], [svc(m["MOHS-0105"], 1), deny(m["MOHS-0105"], 2, "OA", "18", "N522")]),
        payment(m["MOHS-0107"], [deny(m["MOHS-0107"], 1, "CO", "50", "N115")]),
        payment(m["MOHS-0108"], [deny(m["MOHS-0108"], 1, "CO", "181", "M51")]),
        payment(m["MOHS-0201"], [svc(m["MOHS-0201"], 1), deny(m["MOHS-0201"], 2, "CO", "236", "M80")]),
        payment(m["MOHS-0202"], [svc(m["MOHS-0202"], 1), deny(m["MOHS-0202"], 2, "CO", "236", "M80")]),
        payment(m["MOHS-0203"], [deny(m["MOHS-0203"], 1, "CO", "236", "M80"), svc(m["MOHS-0203"], 2)]),
        payment(m["MOHS-0204"], [svc(m["MOHS-0204"], 1), deny(m["MOHS-0204"], 2, "CO", "236", "M80")]),
        payment(m["MOHS-0205"], [svc(m["MOHS-0205"], 1), deny(m["MOHS-0205"], 2, "CO", "236", "M80")]),
        payment(m["MOHS-0301"], [svc(m["MOHS-0301"], 1), deny(m["MOHS-0301"], 2, "CO", "4", "N519")]),
        payment(m["MOHS-0302"], [svc(m["MOHS-0302"], 1), deny(m["MOHS-0302"], 2, "CO", "4", "N519")]),
        payment(m["MOHS-0303"], [deny(m["MOHS-0303"], 1, "CO", "16", "MA120")], claim_remarks=("MA120",)),
        payment(
            m["MOHS-0401"],
            [svc(m["MOHS-0401"], n) for n in (1, 2, 3)]
            + [deny(m["MOHS-0401"], n, "CO", "151", "N362") for n in (4, 5)],
        ),
        # Denied for prior authorization: no rule predicts it without a payer policy (unexplained).
        payment(m["MOHS-0106"], [deny(m["MOHS-0106"], 1, "CO", "197", "N54")]),
    ]
    # A payer's take-back of an earlier payment, then the corrected payment (CLP02 = 22).
    reversed_claim = CLEAN[0]
    reversal = all_paid(reversed_claim)
    reversal.status = "22"
    reversal.paid = -reversal.paid
    reversal.charge = -reversal.charge
    reversal.patient_responsibility = -reversal.patient_responsibility
    for s in reversal.services:
        s.charge, s.paid = -s.charge, -s.paid
        s.adjustments = [(g, c, -a) for g, c, a in s.adjustments]
    return paid, denials + [reversal, all_paid(reversed_claim)]


# Two transaction sets in one file, one claim each; the second's CLM02 does not add up (X12002),
# and the clearinghouse's 999 rejects that set (21-two-sets.999).
TWO_SETS = [
    ClaimSpec("MOHS-0701", (NOSE_BCC,), [line("17311"), line("17312", 1)], **patient(701)),
    ClaimSpec("MOHS-0702", (EAR_BCC,), [line("17311")], total=Decimal("900.00"), **patient(702)),
]
TWO_SETS_GROUP = 8


def position_in_set(text: str, set_control: str, segment_id: str) -> int:
    """Where a segment sits in a transaction set (ST = 1), as IK302 counts."""
    position = 0
    for raw in text.split("~"):
        seg = raw.strip()
        if seg.startswith("ST*"):
            position = 1 if seg.split("*")[2] == set_control else 0
        elif position:
            position += 1
            if seg.split("*")[0] == segment_id:
                return position
    raise ValueError(f"no {segment_id} in set {set_control}")


def acknowledgments(files: dict[str, str]) -> dict[str, str]:
    """The clearinghouse's 999s and the payer's 277CA for what the samples sent.

    - 20-accepted.999: 12-modifier-and-x12-errors.837 (group 4) accepted;
    - 21-two-sets.999: 16-two-sets.837, set 0001 accepted, set 0002 rejected at its CLM
      (CLM02 is not the sum of the lines): the group partially accepted;
    - 22-mohs-x12-errors.277: the payer accepts MOHS-0301/0302 and rejects MOHS-0303 (no CLIA
      number: missing information, A6, on the claim and its Mohs line) and MOHS-0304 (its total
      does not add up: invalid information, A7).
    """
    out = {}
    env = AckEnvelope(interchange_control=201, group_control=201)
    out["20-accepted.999"] = build_999("4", [SetAckSpec("0001", "A")], env)
    clm = position_in_set(files["16-two-sets.837"], "0002", "CLM")
    env = AckEnvelope(interchange_control=202, group_control=202)
    out["21-two-sets.999"] = build_999(
        str(TWO_SETS_GROUP),
        [SetAckSpec("0001", "A"), SetAckSpec("0002", "R", [("CLM", clm, "8", [("2", "782", "I12")])])],
        env,
    )
    claims = by_pcn(MODIFIER_X12_ERRORS)

    def charge(pcn: str) -> Decimal:
        c = claims[pcn]
        return c.total if c.total is not None else sum((ln.charge for ln in c.lines), Decimal("0"))

    env = AckEnvelope(interchange_control=203, group_control=203, created=date(2026, 10, 10))
    out["22-mohs-x12-errors.277"] = build_277ca(
        [
            ClaimAckSpec("MOHS-0301", charge("MOHS-0301"), "A2:20:PR", "SYNCCN0301"),
            ClaimAckSpec("MOHS-0302", charge("MOHS-0302"), "A2:20:PR", "SYNCCN0302"),
            ClaimAckSpec(
                "MOHS-0303",
                charge("MOHS-0303"),
                "A6:21:85",
                lines=[LineAckSpec("17311", claims["MOHS-0303"].lines[0].charge, "MOHS-0303-1", "A6:21:85")],
            ),
            ClaimAckSpec("MOHS-0304", charge("MOHS-0304"), "A7:400:85"),
        ],
        env,
    )
    return out


def main() -> None:
    files = {
        "01-mohs-clean.837": CLEAN,
        "10-mohs-coding-errors.837": MOHS_ERRORS,
        "11-same-day-errors.837": SAME_DAY_ERRORS,
        "12-modifier-and-x12-errors.837": MODIFIER_X12_ERRORS,
        "13-mue-errors.837": MUE_ERRORS,
        "14-case-log-errors.837": CASE_LOG_ERRORS,
        "15-payer-policy-errors.837": PAYER_POLICY_ERRORS,
    }
    written = {}
    for n, (name, claims) in enumerate(files.items(), start=1):
        env = Envelope837(interchange_control=n, group_control=n)
        written[name] = build_837p(claims, env)
        (HERE / name).write_text(written[name], newline="")
    env = Envelope837(interchange_control=TWO_SETS_GROUP, group_control=TWO_SETS_GROUP)
    written["16-two-sets.837"] = build_837p(TWO_SETS, env, claims_per_transaction=1)
    (HERE / "16-two-sets.837").write_text(written["16-two-sets.837"], newline="")
    for name, text in acknowledgments(written).items():
        (HERE / name).write_text(text, newline="")
    with open(HERE / "case-log.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["claim", "tumor", "site", "diagnosis", "stage", "blocks", "stains", "map", "margins", "deep"])
        writer.writerows(CASE_LOG)
    (HERE / "policy.toml").write_text(POLICY)
    paid, denials = remits()
    env = Envelope835(trace_number="EFT2610300001", interchange_control=101, group_control=101)
    (HERE / "01-mohs-paid.835").write_text(build_835(paid, env), newline="")
    env = Envelope835(
        trace_number="EFT2611060002", payment_date=date(2026, 11, 6), interchange_control=102, group_control=102
    )
    (HERE / "10-mohs-denials.835").write_text(build_835(denials, env), newline="")


if __name__ == "__main__":
    main()
