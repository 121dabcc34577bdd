"""Balancing an 835 (ERA001-ERA003, contract.md) and its payment's identity (ERA004).

The three balances of the 835 guide, computed on what was read:

- ERA001 a claim payment: CLP03 minus every CAS amount of the claim and its lines = CLP04;
- ERA002 a service line: SVC02 minus its CAS amounts = SVC03;
- ERA003 the transaction: BPR02 = sum of CLP04 minus the sum of PLB amounts (a PLB amount is
  what the payer takes back, so a negative one adds to the payment).

A remittance with claim payments dropped (a segment out of place) cannot be balanced; ERA003
says so instead of reporting a difference nobody can act on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from mohsedi.remits.model import Remittance

ZERO = Decimal("0")
CENT = Decimal("0.01")

# The balancing findings' catalog: code -> (severity, title). Stable codes, never reused.
BALANCING = {
    "ERA001": ("warning", "claim payment does not balance (CLP03 - CAS = CLP04)"),
    "ERA002": ("warning", "service line does not balance (SVC02 - CAS = SVC03)"),
    "ERA003": ("warning", "transaction does not balance (BPR02 = sum CLP04 - sum PLB)"),
    "ERA004": ("info", "payment already stored from another file (re-sent ERA)"),
    "ERA005": ("warning", "payment trace already stored with another amount or date"),
}


@dataclass(frozen=True, slots=True)
class BalanceFinding:
    rule: str
    claim: str | None
    line_id: str | None
    message: str

    @property
    def severity(self) -> str:
        return BALANCING[self.rule][0]

    def as_dict(self) -> dict[str, str | None]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "claim": self.claim,
            "line_id": self.line_id,
            "message": self.message,
        }


def _money(value: Decimal | None) -> str:
    return str((value or ZERO).quantize(CENT))


def balance(r: Remittance) -> list[BalanceFinding]:
    """Every ERA001-ERA003 finding of one remittance, in file order."""
    out: list[BalanceFinding] = []
    for c in r.claims:
        cas = sum((a.amount for a in c.adjustments), ZERO)
        for s in c.services:
            line_cas = sum((a.amount for a in s.adjustments), ZERO)
            cas += line_cas
            expected = (s.charge or ZERO) - line_cas
            if expected != (s.paid or ZERO):
                out.append(
                    BalanceFinding(
                        "ERA002",
                        c.patient_control_number,
                        s.line_id,
                        f"service {s.procedure or '?'} (segment {s.svc.number}): SVC02 {_money(s.charge)} minus "
                        f"adjustments {_money(line_cas)} is {_money(expected)}, but SVC03 paid {_money(s.paid)}",
                    )
                )
        expected = (c.charge or ZERO) - cas
        if expected != (c.paid or ZERO):
            out.append(
                BalanceFinding(
                    "ERA001",
                    c.patient_control_number,
                    None,
                    f"claim payment (segment {c.clp.number}): CLP03 {_money(c.charge)} minus adjustments "
                    f"{_money(cas)} is {_money(expected)}, but CLP04 paid {_money(c.paid)}",
                )
            )
    paid = sum((c.paid or ZERO for c in r.claims), ZERO)
    plb = sum((p.amount for p in r.provider_adjustments), ZERO)
    if r.dropped:
        names = ", ".join(pcn for pcn, _, _ in r.dropped)
        out.append(
            BalanceFinding(
                "ERA003",
                None,
                None,
                f"incomplete remittance: {len(r.dropped)} claim payment(s) dropped ({names}); "
                f"BPR02 {_money(r.amount)} cannot be balanced against the claim payments stored "
                f"({_money(paid)}, provider adjustments {_money(plb)})",
            )
        )
    elif (r.amount or ZERO) != paid - plb:
        out.append(
            BalanceFinding(
                "ERA003",
                None,
                None,
                f"trace {r.trace_number or '?'}: BPR02 {_money(r.amount)} differs from claim payments "
                f"{_money(paid)} minus provider adjustments {_money(plb)} = {_money(paid - plb)}",
            )
        )
    return out


def trace_key(r: Remittance) -> tuple[str, str, str]:
    """Who paid and which payment: payer id, TRN03, TRN02."""
    return (r.payer_id, r.trace_payer_id, r.trace_number)


def payment_key(r: Remittance, ordinal: int) -> str:
    """A payment's identity, the same whatever envelope, control numbers or line endings carry it:
    the payer and trace (TRN02, TRN03) with the amount, credit/debit and date (BPR02, BPR03, BPR16),
    and ``ordinal``, the set's place among the sets of one file sharing all of these (a payer
    splitting a payment sends several; each is its own remittance)."""
    parts = [
        *trace_key(r),
        _money(r.amount) if r.amount is not None else "",
        r.credit_debit,
        r.payment_date.isoformat() if r.payment_date else "",
        str(ordinal),
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", errors="surrogateescape")).hexdigest()
