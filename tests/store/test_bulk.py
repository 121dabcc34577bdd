"""Bulk rows (COPY on PostgreSQL, executemany on SQLite) store exactly what they were given, keys in
the order of the rows, and nothing when the transaction does not commit."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mohsedi.store import models as m
from mohsedi.store.db import bulk_insert, insert_returning_ids, open_store, write_transaction

FILE = {
    "kind": "835",
    "name": "bulk.835",
    "sha256": "c" * 64,
    "size": 1,
    "interchange_control": None,
    "group_controls": "",
    "command": "ingest",
    "stored_at": datetime(2026, 11, 30, 3, 0, 0),
}

# Text COPY must escape: tabs, line breaks, backslashes, its own \N, quotes, non-ASCII; a byte a
# file could not decode (a surrogate) is stored as U+FFFD, as on every path.
AWKWARD = ["TAB\tHERE", "LINE\nBREAK\r", "BACK\\SLASH", "\\N", "QUOTE'\"", "CAFÉ", "BAD\udcff"]
STORED = ["TAB\tHERE", "LINE\nBREAK\r", "BACK\\SLASH", "\\N", "QUOTE'\"", "CAFÉ", "BAD\ufffd"]


def _remittance(file_id: int, n: int, trace: str) -> dict:
    return {
        "file_id": file_id,
        "file_sha256": "c" * 64,
        "payer_id": f"P{n}",
        "payer_name": trace,
        "payee_npi": None,
        "payee_id": None,
        "trace_number": f"T{n}",
        "trace_payer_id": None,
        "payment_key": f"key-{n}",
        "amount": Decimal("1234.56") if n % 2 else None,
        "credit_debit": "C",
        "method": "ACH",
        "payment_date": date(2026, 11, n + 1),
        "complete": bool(n % 2),
    }


def test_bulk_rows_round_trip_in_order(store_url: str) -> None:
    engine = open_store(store_url)
    table = m.Remittance.__table__
    with write_transaction(engine) as conn:
        file_id = insert_returning_ids(conn, m.StoredFile.__table__, [FILE])[0]
        rows = [_remittance(file_id, n, text) for n, text in enumerate(AWKWARD)]
        ids = insert_returning_ids(conn, table, rows)
        bulk_insert(
            conn,
            m.RemitFinding.__table__,
            [
                {
                    "remittance_id": i,
                    "rule": "ERA001",
                    "severity": "error",
                    "claim": None,
                    "line_id": None,
                    "message": t,
                }
                for i, t in zip(ids, AWKWARD, strict=True)
            ],
        )
    with engine.connect() as conn:
        stored = conn.execute(sa.select(table).order_by(table.c.id)).all()
        messages = conn.execute(
            sa.select(m.RemitFinding.remittance_id, m.RemitFinding.message).order_by(m.RemitFinding.id)
        ).all()
    engine.dispose()
    assert len(set(ids)) == len(ids) == len(AWKWARD)
    assert [r.id for r in stored] == sorted(ids)
    by_id = {r.id: r for r in stored}
    for n, (i, text) in enumerate(zip(ids, STORED, strict=True)):
        row = by_id[i]
        assert (row.payer_id, row.payer_name, row.payment_key) == (f"P{n}", text, f"key-{n}")
        assert row.amount == (Decimal("1234.56") if n % 2 else None)
        assert (row.payment_date, bool(row.complete)) == (date(2026, 11, n + 1), bool(n % 2))
    assert [(i, t) for i, t in messages] == list(zip(ids, STORED, strict=True))


def test_bulk_rows_are_not_kept_when_the_transaction_fails(store_url: str) -> None:
    engine = open_store(store_url)
    with pytest.raises(RuntimeError), write_transaction(engine) as conn:
        file_id = insert_returning_ids(conn, m.StoredFile.__table__, [FILE])[0]
        insert_returning_ids(conn, m.Remittance.__table__, [_remittance(file_id, n, "X") for n in range(3)])
        raise RuntimeError("the file is cut short")
    with engine.connect() as conn:
        counts = [
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in (m.StoredFile, m.Remittance)
        ]
    engine.dispose()
    assert counts == [0, 0]


def test_a_key_taken_is_an_integrity_error(store_url: str) -> None:
    """Ingest answers IntegrityError (another process stored the payment first) by reading the
    file again: COPY's driver error must reach it as that, like an INSERT's."""
    engine = open_store(store_url)
    with write_transaction(engine) as conn:
        file_id = insert_returning_ids(conn, m.StoredFile.__table__, [FILE])[0]
        insert_returning_ids(conn, m.Remittance.__table__, [_remittance(file_id, n, "X") for n in range(2)])
    with pytest.raises(sa.exc.IntegrityError), write_transaction(engine) as conn:
        rows = [_remittance(file_id, n, "X") for n in range(1, 3)]  # key-1 is taken
        insert_returning_ids(conn, m.Remittance.__table__, rows)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(m.Remittance)).scalar() == 2
    engine.dispose()


def test_a_nul_byte_is_stored_as_a_replacement_character(store_url: str, tmp_path) -> None:
    """PostgreSQL refuses NUL in text; a CLM01 holding one (a damaged file) is stored, in both
    databases alike, with U+FFFD in its place, and the rest of the file with it."""
    from mohsedi.pipeline import run_record
    from tests.conftest import SAMPLES

    odd = tmp_path / "odd.837"
    odd.write_bytes((SAMPLES / "01-mohs-clean.837").read_bytes().replace(b"CLM*MOHS-0001*", b"CLM*M\x00S-3*", 1))
    [report] = run_record([str(odd)], store_url)
    assert report.error is None and report.claims > 1
    engine = sa.create_engine(store_url)
    with engine.connect() as conn:
        pcns = [row[0] for row in conn.exec_driver_sql("SELECT patient_control_number FROM claim ORDER BY id")]
    engine.dispose()
    assert pcns[0] == "M\ufffdS-3" and len(pcns) == report.claims
