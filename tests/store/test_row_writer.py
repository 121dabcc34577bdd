"""RowWriter, how ingest stores a file's rows: on PostgreSQL sent by COPY from a thread while the
file is read on, on SQLite at once. Whatever the database: keys drawn in increasing order and
never twice, rows stored as given, a key taken by another file raised as IntegrityError with
nothing stored, and a row pointing to no row refused before the file commits."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from mohsedi.pipeline import run_ingest
from mohsedi.store import ingest as ingest_module
from mohsedi.store import models as m
from mohsedi.store.db import RowWriter, copy_data, in_list, insert_returning_ids, open_store, write_transaction
from tests.store.era import clp, interchange, svc, transaction

REM, CP = m.Remittance.__table__, m.ClaimPayment.__table__
SP, ADJ = m.ServicePayment.__table__, m.Adjustment.__table__
FILE = {
    "kind": "835",
    "name": "writer.835",
    "sha256": "d" * 64,
    "size": 1,
    "interchange_control": None,
    "group_controls": "",
    "command": "ingest",
    "stored_at": datetime(2026, 11, 30, 6, 0, 0),
}


def _remittance(rid: int, file_id: int, key: str) -> dict:
    return {
        "id": rid,
        "file_id": file_id,
        "file_sha256": "",
        "payer_id": "P",
        "payer_name": "PAYER",
        "payee_npi": None,
        "payee_id": None,
        "trace_number": key,
        "trace_payer_id": None,
        "payment_key": key,
        "amount": Decimal("10.00"),
        "credit_debit": "C",
        "method": "ACH",
        "payment_date": date(2026, 11, 1),
        "complete": True,
    }


def _claim_payment(cp_id: int, rid: int, pcn: str) -> dict:
    return {
        "id": cp_id,
        "remittance_id": rid,
        "patient_control_number": pcn,
        "status": "1",
        "is_reversal": False,
        "charge": Decimal("10.00"),
        "paid": Decimal("10.00"),
        "patient_responsibility": None,
        "payer_claim_control_number": "",
        "date_from": None,
        "claim_id": None,
    }


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def test_rows_given_over_several_batches_are_stored_with_the_keys_drawn(store_url: str) -> None:
    engine = open_store(store_url)
    with write_transaction(engine) as conn:
        file_id = insert_returning_ids(conn, m.StoredFile.__table__, [FILE])[0]
        with RowWriter(conn) as rows:
            drawn = rows.draw({REM: 2, CP: 0})
            assert drawn[CP] == []
            rids = drawn[REM]
            rows.insert(REM, [_remittance(r, file_id, f"k{r}") for r in rids])
            cps: list[int] = []
            for batch in range(3):  # more rows than one COPY batch, over several inserts
                ids = rows.draw({CP: RowWriter.BATCH_ROWS // 2})[CP]
                rows.insert(CP, [_claim_payment(i, rids[batch % 2], f"PCN{i}") for i in ids])
                cps += ids
            rows.flush()
            assert rows.verify(m.CHECKED_PER_FILE) == []
    assert len(set(cps)) == len(cps) == 3 * (RowWriter.BATCH_ROWS // 2) and cps == sorted(cps)
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.select(CP.c.id, CP.c.patient_control_number)).all())
        keys = dict(conn.execute(sa.select(REM.c.id, REM.c.payment_key)).all())
    engine.dispose()
    assert stored == {i: f"PCN{i}" for i in cps}
    assert keys == {r: f"k{r}" for r in rids}


def test_keys_drawn_while_another_writer_draws_are_still_each_used_once(store_url: str) -> None:
    """On PostgreSQL a block of keys comes back as a range only when it is one; a sequence that
    steps by 2 (as when another writer draws in between) gives the list itself."""
    engine = open_store(store_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER SEQUENCE claim_payment_id_seq INCREMENT BY 2")
    with write_transaction(engine) as conn:
        file_id = insert_returning_ids(conn, m.StoredFile.__table__, [FILE])[0]
        with RowWriter(conn) as rows:
            [rid] = rows.draw({REM: 1})[REM]
            rows.insert(REM, [_remittance(rid, file_id, "k")])
            ids = rows.draw({CP: 5})[CP]
            rows.insert(CP, [_claim_payment(i, rid, f"PCN{i}") for i in ids])
            rows.flush()
    with engine.connect() as conn:
        stored = sorted(row[0] for row in conn.execute(sa.select(CP.c.id)))
    engine.dispose()
    assert stored == ids and len(set(ids)) == 5
    if engine.dialect.name == "postgresql":
        assert [b - a for a, b in zip(ids, ids[1:], strict=False)] == [2, 2, 2, 2]


def test_a_key_drawn_but_not_written_is_found(store_url: str) -> None:
    """The check counts on every key drawn having its row (so that a reference inside the
    drawn keys is a row): one left out is reported."""
    engine = open_store(store_url)
    with write_transaction(engine) as conn:
        file_id = insert_returning_ids(conn, m.StoredFile.__table__, [FILE])[0]
        with RowWriter(conn) as rows:
            rids = rows.draw({REM: 3})[REM]
            rows.insert(REM, [_remittance(r, file_id, f"k{r}") for r in rids[:2]])
            [cp] = rows.draw({CP: 1})[CP]
            rows.insert(CP, [_claim_payment(cp, rids[0], "P")])
            rows.flush()
            problems = rows.verify(m.CHECKED_PER_FILE)
    engine.dispose()
    assert problems == ["1 of the 3 remittance ids drawn have no row"]


@pytest.mark.parametrize("rows_drawn", [5, RowWriter.MAX_BLOCKS + 6])
def test_rows_pointing_nowhere_are_found_among_keys_drawn_in_many_blocks(store_url: str, rows_drawn: int) -> None:
    """Keys that come in many blocks (another writer drawing in between; here a sequence that
    steps by 2) are checked by counts over the blocks, or, past MAX_BLOCKS, by looking each
    row's target up: either way a row pointing to no row is found, and only that one."""
    engine = open_store(store_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for seq in ("remittance_id_seq", "claim_payment_id_seq"):
                conn.exec_driver_sql(f"ALTER SEQUENCE {seq} INCREMENT BY 2")
    with write_transaction(engine) as conn:
        file_id = insert_returning_ids(conn, m.StoredFile.__table__, [FILE])[0]
        with RowWriter(conn) as rows:
            rids = rows.draw({REM: rows_drawn})[REM]
            rows.insert(REM, [_remittance(r, file_id, f"k{r}") for r in rids])
            cps = rows.draw({CP: rows_drawn})[CP]
            targets = [*rids[:-1], rids[-1] + 10_000]  # the last one points nowhere
            rows.insert(CP, [_claim_payment(c, r, "P") for c, r in zip(cps, targets, strict=True)])
            rows.flush()
            problems = rows.verify(m.CHECKED_PER_FILE)
    engine.dispose()
    assert problems == ["1 claim_payment row(s) whose remittance_id is no remittance of this file"]


def test_a_key_taken_in_a_queued_batch_is_an_integrity_error_and_stores_nothing(store_url: str) -> None:
    engine = open_store(store_url)
    with write_transaction(engine) as conn:
        file_id = insert_returning_ids(conn, m.StoredFile.__table__, [FILE])[0]
        with RowWriter(conn) as rows:
            [rid] = rows.draw({REM: 1})[REM]
            rows.insert(REM, [_remittance(rid, file_id, "taken")])
            rows.flush()
    with pytest.raises(sa.exc.IntegrityError), write_transaction(engine) as conn, RowWriter(conn) as rows:
        ids = rows.draw({REM: 2})[REM]
        rows.insert(REM, [_remittance(ids[0], file_id, "new"), _remittance(ids[1], file_id, "taken")])
        [cp] = rows.draw({CP: 1})[CP]
        rows.insert(CP, [_claim_payment(cp, ids[0], "P")])
        rows.flush()
    assert (_count(engine, REM), _count(engine, CP)) == (1, 0)
    engine.dispose()


def test_a_row_pointing_to_no_row_is_found_before_commit(store_url: str) -> None:
    engine = open_store(store_url)
    with write_transaction(engine) as conn:
        file_id = insert_returning_ids(conn, m.StoredFile.__table__, [FILE])[0]
        with RowWriter(conn) as rows:
            [rid] = rows.draw({REM: 1})[REM]
            rows.insert(REM, [_remittance(rid, file_id, "k")])
            cps = rows.draw({CP: 2})[CP]
            rows.insert(CP, [_claim_payment(cps[0], rid, "A"), _claim_payment(cps[1], rid + 1000, "B")])
            rows.flush()
            problems = rows.verify(m.CHECKED_PER_FILE)
    engine.dispose()
    assert problems == ["1 claim_payment row(s) whose remittance_id is no remittance of this file"]


def test_ingest_refuses_a_file_whose_rows_would_point_nowhere(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a foreign key per row guaranteed, the check per file guarantees: an adjustment
    naming a claim payment that is not there (here made so by a broken row builder) refuses
    the file, and nothing of it is stored."""
    real = ingest_module._adjustment

    def broken(cp_id, sp_id, a, payment):
        return real(cp_id + 10_000, sp_id, a, payment)

    monkeypatch.setattr(ingest_module, "_adjustment", broken)
    text = interchange(
        transaction("T1", "400", "20261106", clp("P1", "1", "500", "400", svc("17311", "500", "400", "CO*45*100")))
    )
    path = tmp_path / "broken.835"
    path.write_text(text)
    [report] = run_ingest([str(path)], store_url)
    assert report.status == "refused"
    assert "1 adjustment row(s) whose claim_payment_id is no claim_payment of this file" in report.error.describe()
    engine = open_store(store_url)
    counts = [_count(engine, t) for t in (m.StoredFile.__table__, REM, CP, SP, ADJ)]
    engine.dispose()
    assert counts == [0, 0, 0, 0, 0]


def test_a_batch_that_starts_inside_a_remittance_sends_parents_first(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch boundary falls anywhere; the next batch then starts with a remittance's children,
    and the PLB rows of the remittances after it (whose table keeps its foreign key) came before
    their remittance rows: PostgreSQL refused the whole file. Batches of 7 rows put boundaries
    inside every remittance here."""
    monkeypatch.setattr(RowWriter, "BATCH_ROWS", 7)
    sets = [
        transaction(
            f"T{k}", "400", "20261106", clp(f"P{k}", "1", "500", "400", svc("17311", "500", "400", "CO*45*100")),
            plb=("L6*0.00",), st=f"{k:04d}",
        )
        for k in range(1, 21)
    ]  # fmt: skip
    path = tmp_path / "plb.835"
    path.write_text(interchange(*sets))

    [report] = run_ingest([str(path)], store_url)

    assert report.status == "stored", report.error and report.error.describe()
    engine = open_store(store_url)
    counts = [_count(engine, t) for t in (REM, CP, SP, ADJ, m.ProviderAdjustment.__table__)]
    engine.dispose()
    assert counts == [20, 20, 20, 20, 20]


# ---------------------------------------------------------------- COPY's text format, from its spec

_UNESCAPE = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}


def _read_copy_text(data: bytes) -> list[list[str | None]]:
    """PostgreSQL's COPY text format as its documentation states it: rows end with a line feed,
    columns are separated by tabs, \\N is NULL, and a backslash escapes \\, t, n, r."""
    text = data.decode()
    assert text.endswith("\n")
    out: list[list[str | None]] = []
    for line in text[:-1].split("\n"):
        fields = line.split("\t")
        out.append([None if f == "\\N" else re.sub(r"\\[\\tnr]", lambda mt: _UNESCAPE[mt.group(0)], f) for f in fields])
    return out


_values = st.one_of(
    st.none(),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
    st.sampled_from(["\\N", "a\tb", "x\\", "line\nbreak\r", "\\\\t", "N"]),
    st.integers(-(2**31), 2**31 - 1),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**9), max_value=10**9),
    st.dates(),
    st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_values, _values, _values), min_size=1, max_size=20))
def test_copy_data_reads_back_as_the_values_given(rows: list[tuple]) -> None:
    table = sa.Table("t", sa.MetaData(), sa.Column("a"), sa.Column("b"), sa.Column("c"))
    sql, data = copy_data(table, [{"a": a, "b": b, "c": c} for a, b, c in rows])
    assert sql == 'COPY "t" ("a", "b", "c") FROM STDIN'
    expected = [[None if v is None else v if isinstance(v, str) else str(v) for v in row] for row in rows]
    assert _read_copy_text(data) == expected


@pytest.mark.parametrize("wanted", [[3, 4, 5, 6], [6, 4, 5, 3], [3, 5, 6, 9], [4, 4, 5, 6], [2, 3]])
def test_in_list_selects_exactly_the_values_given(store_url: str, wanted: list[int]) -> None:
    """A gapless run of keys is asked for as a range: the same rows as the list itself."""
    engine = open_store(store_url)
    with write_transaction(engine) as conn:
        file_id = insert_returning_ids(conn, m.StoredFile.__table__, [FILE])[0]
        insert_returning_ids(conn, REM, [{**_remittance(0, file_id, f"k{n}"), "id": n} for n in range(1, 12)])
    with engine.connect() as conn:
        got = sorted(row[0] for row in conn.execute(sa.select(REM.c.id).where(in_list(conn, REM.c.id, wanted))))
    engine.dispose()
    assert got == sorted(set(wanted))
