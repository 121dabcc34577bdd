"""A generated store of N service lines (denials linked to rules), for timing the denial report."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.engine import Engine

from mohsedi.store import models as m
from mohsedi.store.db import bulk_insert, insert_returning_ids

DENIALS = [
    ("CO", "236", "M80", "MOHS011"),
    ("CO", "151", "N362", "NCCI003"),
    ("CO", "11", "M76", "MOHS005"),
    ("OA", "18", "N522", "MOHS004"),
    ("CO", "16", "MA120", "MOHS017"),
    ("CO", "197", "N54", None),
    ("CO", "4", "N519", "MOHS014"),
    ("CO", "B15", "N122", "MOHS001"),
    ("CO", "50", "N115", None),
]
PAYERS = ["SMEDC", "SYNBCBS", "SYNAETNA", "SYNUHC", "SYNCIGNA"]
CODES = ["17311", "17312", "17313", "17314", "17315", "13151", "14060", "11102", "99213"]


def build(engine: Engine, lines: int, seed: int = 11) -> int:
    """Insert about ``lines`` service payments with their claims, adjustments and remarks."""
    rng = random.Random(seed)
    start = date.today() - timedelta(days=364)
    per_claim = 3
    claims = lines // per_claim
    with engine.begin() as conn:
        file_id = insert_returning_ids(
            conn,
            m.StoredFile.__table__,
            [
                {
                    "kind": "835",
                    "name": "generated",
                    "sha256": "0" * 64,
                    "size": 0,
                    "interchange_control": None,
                    "group_controls": None,
                    "command": "bench",
                    "stored_at": datetime.now().replace(microsecond=0),
                }
            ],
        )[0]
        remits = insert_returning_ids(
            conn,
            m.Remittance.__table__,
            [
                {
                    "file_id": file_id,
                    "file_sha256": "0" * 64,
                    "payer_id": PAYERS[i % len(PAYERS)],
                    "payer_name": "P",
                    "payee_npi": "1306849450",
                    "payee_id": None,
                    "trace_number": f"T{i}",
                    "trace_payer_id": None,
                    "payment_key": f"bench-{i}",
                    "complete": True,
                    "amount": Decimal("0"),
                    "credit_debit": "C",
                    "method": "ACH",
                    "payment_date": start + timedelta(days=i * 364 // 200),
                }
                for i in range(200)
            ],
        )
        done = 0
        while done < claims:
            batch = min(20_000, claims - done)
            cp_ids = insert_returning_ids(
                conn,
                m.ClaimPayment.__table__,
                [
                    {
                        "remittance_id": remits[(done + k) % len(remits)],
                        "patient_control_number": f"G{done + k:09d}",
                        "status": "1",
                        "is_reversal": False,
                        "charge": Decimal("1500.00"),
                        "paid": Decimal("1100.00"),
                        "patient_responsibility": Decimal("0"),
                        "payer_claim_control_number": f"P{done + k}",
                        "claim_id": None,
                    }
                    for k in range(batch)
                ],
            )
            sp_rows = []
            for cp in cp_ids:
                for _ in range(per_claim):
                    sp_rows.append(
                        {
                            "claim_payment_id": cp,
                            "procedure": rng.choice(CODES),
                            "modifiers": "",
                            "charge": Decimal("500.00"),
                            "paid": Decimal("400.00"),
                            "units": Decimal(1),
                            "date_from": start,
                            "line_id": None,
                            "service_line_id": None,
                        }
                    )
            sp_ids = insert_returning_ids(conn, m.ServicePayment.__table__, sp_rows)
            adjustments, remarks = [], []
            for sp_id, row in zip(sp_ids, sp_rows, strict=True):
                cp = row["claim_payment_id"]
                if rng.random() < 0.05:
                    group, carc, rarc, rule = rng.choice(DENIALS)
                    basis = "fired" if rule and rng.random() < 0.7 else ("predicted" if rule else "unexplained")
                    adjustments.append(
                        {
                            "claim_payment_id": cp,
                            "service_payment_id": sp_id,
                            "level": "line",
                            "group_code": group,
                            "carc": carc,
                            "amount": Decimal("500.00"),
                            "quantity": None,
                            "is_denial": True,
                            "rule": rule,
                            "basis": basis,
                            "fixed": basis == "fired" and rng.random() < 0.2,
                            "linked_at": None,
                        }
                    )
                    remarks.append({"claim_payment_id": cp, "service_payment_id": sp_id, "source": "LQ", "code": rarc})
                else:
                    adjustments.append(
                        {
                            "claim_payment_id": cp,
                            "service_payment_id": sp_id,
                            "level": "line",
                            "group_code": "CO",
                            "carc": "45",
                            "amount": Decimal("100.00"),
                            "quantity": None,
                            "is_denial": False,
                            "rule": None,
                            "basis": None,
                            "fixed": None,
                            "linked_at": None,
                        }
                    )
            bulk_insert(conn, m.Adjustment.__table__, adjustments)
            bulk_insert(conn, m.Remark.__table__, remarks)
            done += batch
    return claims * per_claim
