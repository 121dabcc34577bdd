"""Synthetic 999 and 277CA files for what a sample 837P sent (samples and tests; no real data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from mohsedi.acks.model import IMPLEMENTATION_277CA, IMPLEMENTATION_999, REJECTED_CATEGORIES
from mohsedi.synth import DEFAULT_DELIMITERS, _fmt_money, _isa, _Writer


@dataclass
class SetAckSpec:
    """One AK2 loop: the ST02 acknowledged, IK5 status, and (segment id, position, IK304,
    [(IK401, IK402, IK403)]) errors."""

    control_number: str
    status: str = "A"
    errors: list[tuple[str, int, str, list[tuple[str, str, str]]]] = field(default_factory=list)


@dataclass
class AckEnvelope:
    sender: str = "SYNCLEARING"
    receiver: str = "MOHSEDISUBMIT"
    interchange_control: int = 201
    group_control: int = 201
    created: date = date(2026, 10, 9)
    line_break: str = "\n"


def _open(w: _Writer, env: AckEnvelope, functional_id: str, version: str) -> None:
    d = w.d
    w.parts.append(_isa(env.sender, env.receiver, env.created, env.interchange_control, d) + d.segment + env.line_break)
    w.seg(
        "GS",
        functional_id,
        env.sender,
        env.receiver,
        env.created.strftime("%Y%m%d"),
        "1300",
        str(env.group_control),
        "X",
        version,
    )


def _close(w: _Writer, env: AckEnvelope) -> None:
    w.seg("GE", "1", str(env.group_control))
    w.seg("IEA", "1", f"{env.interchange_control:09d}")


def build_999(group_control: str, sets: list[SetAckSpec], env: AckEnvelope | None = None) -> str:
    """A 999 for one 837P group (GS06 ``group_control``) and its sets."""
    env = env or AckEnvelope()
    w = _Writer(DEFAULT_DELIMITERS, env.line_break)
    _open(w, env, "FA", IMPLEMENTATION_999)
    w.st_count = 0
    w.seg("ST", "999", "0001", IMPLEMENTATION_999)
    w.seg("AK1", "HC", group_control, "005010X222A1")
    for s in sets:
        w.seg("AK2", "837", s.control_number, "005010X222A1")
        for segment_id, position, code, elements in s.errors:
            w.seg("IK3", segment_id, str(position), "", code)
            for pos, ref, ecode in elements:
                w.seg("IK4", pos, ref, ecode)
        w.seg("IK5", s.status, *(["5"] if s.status in ("R", "E") and s.errors else []))
    accepted = sum(1 for s in sets if s.status in ("A", "E"))
    group = "A" if accepted == len(sets) else "R" if accepted == 0 else "P"
    w.seg("AK9", group, str(len(sets)), str(len(sets)), str(accepted))
    w.seg("SE", str(w.st_count + 1), "0001")
    _close(w, env)
    return "".join(w.parts)


@dataclass
class LineAckSpec:
    procedure: str
    charge: Decimal
    line_id: str
    status: str  # "A7:562:85" category:code[:entity]
    service_date: date = date(2026, 10, 6)


@dataclass
class ClaimAckSpec:
    pcn: str
    charge: Decimal
    status: str  # "A2:20" accepted, "A7:562:85" rejected ...
    payer_claim_control_number: str | None = None
    lines: list[LineAckSpec] = field(default_factory=list)
    service_date: date = date(2026, 10, 6)


def build_277ca(
    claims: list[ClaimAckSpec],
    env: AckEnvelope | None = None,
    *,
    payer_name: str = "SYNTHETIC MEDICARE",
    payer_id: str = "SYNMCR01",
    billing_npi: str = "1306849450",
    billing_name: str = "SYNTHETIC DERMATOLOGY AND MOHS PA",
) -> str:
    """A 277CA answering one batch: payer, submitter, billing provider, one patient per claim."""
    env = env or AckEnvelope()
    w = _Writer(DEFAULT_DELIMITERS, env.line_break)
    _open(w, env, "HN", IMPLEMENTATION_277CA)
    day = env.created.strftime("%Y%m%d")
    w.st_count = 0
    w.seg("ST", "277", "0001", IMPLEMENTATION_277CA)
    w.seg("BHT", "0085", "08", f"ACK{env.interchange_control}", day, "1300", "TH")
    w.seg("HL", "1", "", "20", "1")
    w.seg("NM1", "PR", "2", payer_name, "", "", "", "", "PI", payer_id)
    w.seg("TRN", "1", f"RCV{env.interchange_control}")
    w.seg("DTP", "050", "D8", day)
    w.seg("DTP", "009", "D8", day)
    w.seg("HL", "2", "1", "21", "1")
    w.seg("NM1", "41", "2", "SYNTHETIC SUBMITTER", "", "", "", "", "46", "MOHSEDISUBMIT")
    w.seg("TRN", "2", f"BATCH{env.interchange_control}")
    rejected = [c for c in claims if c.status.split(":")[0] in REJECTED_CATEGORIES]
    accepted = [c for c in claims if c not in rejected]
    w.seg("STC", "A1:19:PR", day, "WQ", _fmt_money(sum((c.charge for c in claims), Decimal("0"))))
    if accepted:
        w.seg("QTY", "90", str(len(accepted)))
    if rejected:
        w.seg("QTY", "AA", str(len(rejected)))
    if accepted:
        w.seg("AMT", "YU", _fmt_money(sum((c.charge for c in accepted), Decimal("0"))))
    if rejected:
        w.seg("AMT", "YY", _fmt_money(sum((c.charge for c in rejected), Decimal("0"))))
    w.seg("HL", "3", "2", "19", "1")
    w.seg("NM1", "85", "2", billing_name, "", "", "", "", "XX", billing_npi)
    w.seg("TRN", "1", f"PRV{env.interchange_control}")
    w.seg("STC", "A1:19:PR", "", "WQ", _fmt_money(sum((c.charge for c in claims), Decimal("0"))))
    hl = 3
    for n, c in enumerate(claims, start=1):
        hl += 1
        w.seg("HL", str(hl), "3", "PT")
        w.seg("NM1", "QC", "1", "PATIENT", f"SYNTH{n}", "", "", "", "MI", f"SYNMEMBER{n:03d}")
        w.seg("TRN", "2", c.pcn)
        w.seg("STC", c.status, day, "WQ" if c not in rejected else "U", _fmt_money(c.charge))
        if c.payer_claim_control_number:
            w.seg("REF", "1K", c.payer_claim_control_number)
        w.seg("DTP", "472", "D8", c.service_date.strftime("%Y%m%d"))
        for ln in c.lines:
            w.seg("SVC", f"HC:{ln.procedure}", _fmt_money(ln.charge), "", "", "", "", "1")
            # 2220D STC03 allows U (reject) only: a line is reported when it is rejected (X12 RFI 2203).
            w.seg("STC", ln.status, day, "U")
            w.seg("REF", "FJ", ln.line_id)
            w.seg("DTP", "472", "D8", ln.service_date.strftime("%Y%m%d"))
    w.seg("SE", str(w.st_count + 1), "0001")
    _close(w, env)
    return "".join(w.parts)
