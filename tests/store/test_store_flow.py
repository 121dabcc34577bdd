"""Claims out, remittances in, denials linked: on SQLite and on PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from mohsedi.pipeline import run_check, run_denial_report, run_fix, run_ingest, run_link
from mohsedi.reports.denials import Period
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.registry import all_rules
from mohsedi.store import ingest as ingest_module
from mohsedi.store import models as m
from mohsedi.store.db import open_store
from tests.conftest import SAMPLES

CLAIMS = sorted(str(p) for p in SAMPLES.glob("*.837"))
REMITS = sorted(str(p) for p in SAMPLES.glob("*.835"))
ALL = Period(None, None)

# What the samples were built to show: (claim, line id) -> (rule, basis), for the claims as
# checked (not fixed). MOHS-0106's CO-197 has no rule without a payer policy.
EXPECTED = {
    ("MOHS-0101", "MOHS-0101-1"): ("MOHS005", "fired"),
    ("MOHS-0101", "MOHS-0101-2"): ("MOHS005", "fired"),
    ("MOHS-0102", "MOHS-0102-1"): ("MOHS001", "fired"),
    ("MOHS-0103", "MOHS-0103-2"): ("MOHS002", "fired"),
    ("MOHS-0104", "MOHS-0104-1"): ("MOHS003", "fired"),
    ("MOHS-0105", "MOHS-0105-2"): ("MOHS004", "fired"),
    ("MOHS-0106", "MOHS-0106-1"): (None, "unexplained"),
    ("MOHS-0107", "MOHS-0107-1"): ("MOHS008", "fired"),
    ("MOHS-0108", "MOHS-0108-1"): ("MOHS016", "fired"),
    ("MOHS-0201", "MOHS-0201-2"): ("MOHS011", "fired"),
    ("MOHS-0202", "MOHS-0202-2"): ("MOHS009", "fired"),
    ("MOHS-0203", "MOHS-0203-1"): ("MOHS013", "fired"),
    ("MOHS-0204", "MOHS-0204-2"): ("MOHS012", "fired"),
    ("MOHS-0205", "MOHS-0205-2"): ("MOHS010", "fired"),
    ("MOHS-0301", "MOHS-0301-2"): ("MOHS014", "fired"),
    ("MOHS-0302", "MOHS-0302-2"): ("MOHS018", "fired"),
    ("MOHS-0303", "MOHS-0303-1"): ("MOHS017", "fired"),
    ("MOHS-0401", "MOHS-0401-4"): ("NCCI003", "fired"),
    ("MOHS-0401", "MOHS-0401-5"): ("NCCI003", "fired"),
}


def explained(report: dict) -> dict:
    return {(d["claim"], d["line_id"]): (d["rule"], d["basis"]) for d in report["denials"]}


def test_every_sample_denial_gets_its_rule_and_basis(store_url: str) -> None:
    run_check(CLAIMS, all_rules(), RuleOptions(), db_url=store_url)
    reports = run_ingest(REMITS, store_url)
    assert all(r.error is None and not r.quarantined for r in reports)
    report = run_denial_report(store_url, ALL)
    assert explained(report) == EXPECTED
    denial = next(d for d in report["denials"] if d["claim"] == "MOHS-0201")
    assert denial == {
        **denial,
        "payer": "SMEDC",
        "procedure": "11102",
        "group": "CO",
        "carc": "236",
        "rarc": ["M80"],
        "amount": "145.00",
    }
    by_rule = {e["rule"]: e for e in report["by_rule"]}
    assert by_rule["MOHS005"]["count"] == 2 and by_rule["MOHS005"]["amount"] == "1045.47"
    assert by_rule["unexplained"]["count"] == 1
    assert by_rule["NCCI003"]["count"] == 2


def test_ingesting_twice_changes_nothing(store_url: str) -> None:
    run_check(CLAIMS, all_rules(), RuleOptions(), db_url=store_url)
    run_ingest(REMITS, store_url)
    first = run_denial_report(store_url, ALL)
    again = run_ingest(REMITS, store_url)
    assert all(r.already_stored for r in again)
    assert run_denial_report(store_url, ALL) == first
    engine = open_store(store_url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(m.Remittance)).scalar() == 2
    engine.dispose()


def test_remit_before_claims_is_linked_when_they_arrive(store_url: str) -> None:
    run_ingest(REMITS, store_url)
    before = run_denial_report(store_url, ALL)
    assert {d["basis"] for d in before["denials"]} == {"unexplained"}
    run_check(CLAIMS, all_rules(), RuleOptions(), db_url=store_url)
    assert explained(run_denial_report(store_url, ALL)) == EXPECTED
    links, explanations = link_state(store_url)
    report = run_denial_report(store_url, ALL)
    unexplained = sum(1 for d in report["denials"] if d["basis"] == "unexplained")
    # Linking everything again only retries the unexplained denials, and explains them the same way.
    assert run_link(store_url) == unexplained == 1
    assert link_state(store_url) == (links, explanations)
    assert run_denial_report(store_url, ALL) == report


def link_state(store_url: str) -> tuple[list[tuple], list[tuple]]:
    """Every payment's claim or line, and every adjustment's rule, basis and fixed flag."""
    engine = open_store(store_url)
    cp, sp, adj = m.ClaimPayment.__table__, m.ServicePayment.__table__, m.Adjustment.__table__
    with engine.connect() as conn:
        links = [tuple(r) for r in conn.execute(sa.select(cp.c.id, cp.c.claim_id).order_by(cp.c.id))]
        links += [tuple(r) for r in conn.execute(sa.select(sp.c.id, sp.c.service_line_id).order_by(sp.c.id))]
        explanations = [
            tuple(r)
            for r in conn.execute(
                sa.select(adj.c.id, adj.c.is_denial, adj.c.rule, adj.c.basis, adj.c.fixed).order_by(adj.c.id)
            )
        ]
    engine.dispose()
    assert explanations and any(e[2] for e in explanations)  # there is something to keep
    return links, explanations


def test_fixed_claims_that_still_deny_say_so(store_url: str, tmp_path: Path) -> None:
    run_fix(CLAIMS, all_rules(), RuleOptions(), db_url=store_url, targets={p: tmp_path / Path(p).name for p in CLAIMS})
    run_ingest(REMITS, store_url)
    report = run_denial_report(store_url, ALL)
    fixed = {(d["claim"], d["rule"]) for d in report["denials"] if d["fixed"]}
    assert ("MOHS-0105", "MOHS004") in fixed and ("MOHS-0301", "MOHS014") in fixed
    unfixed = {(d["claim"], d["rule"]) for d in report["denials"] if d["basis"] == "fired" and not d["fixed"]}
    assert ("MOHS-0201", "MOHS011") in unfixed  # unsafe fix, not applied by default


def test_predicted_when_the_rule_did_not_run_at_check_time(store_url: str) -> None:
    run_check(CLAIMS, all_rules(), RuleOptions(), db_url=store_url)
    engine = open_store(store_url)
    with engine.begin() as conn:
        conn.execute(sa.delete(m.StoredFinding).where(m.StoredFinding.rule == "MOHS011"))
    engine.dispose()
    run_ingest(REMITS, store_url)
    got = explained(run_denial_report(store_url, ALL))
    assert got[("MOHS-0201", "MOHS-0201-2")] == ("MOHS011", "predicted")


def test_reversal_nets_out(store_url: str) -> None:
    run_check(CLAIMS, all_rules(), RuleOptions(), db_url=store_url)
    run_ingest(REMITS, store_url)
    engine = open_store(store_url)
    with engine.connect() as conn:
        statuses = conn.execute(
            sa.select(m.ClaimPayment.status, m.ClaimPayment.paid).where(
                m.ClaimPayment.patient_control_number == "MOHS-0001"
            )
        ).all()
    engine.dispose()
    assert sorted(s for s, _ in statuses) == ["1", "1", "22"]
    assert sum(p for _, p in statuses) == max(p for _, p in statuses)  # reversal cancels one payment


def test_a_file_that_fails_half_way_leaves_nothing(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real = ingest_module._store_remittance

    def failing(*args, **kwargs):
        calls["n"] += 1
        real(*args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest_module, "_store_remittance", failing)
    with pytest.raises(RuntimeError):
        run_ingest([REMITS[1]], store_url)
    engine = open_store(store_url)
    with engine.connect() as conn:
        for table in (m.StoredFile, m.Remittance, m.ClaimPayment, m.ServicePayment, m.Adjustment, m.Remark):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0, table
    engine.dispose()


def test_no_names_addresses_birth_dates_or_member_ids_are_stored(store_url: str, tmp_path: Path) -> None:
    run_check(CLAIMS, all_rules(), RuleOptions(), db_url=store_url)
    run_ingest(REMITS, store_url)
    forbidden = ["SAMPLE", "PATIENT", "TESTPATIENT", "SAMPLE STREET", "19480312", "9SY0000001", "1EG4TE5MK72"]
    engine = open_store(store_url)
    with engine.connect() as conn:
        for table in m.Base.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                text = " ".join(str(v) for v in row if v is not None)
                for word in forbidden:
                    assert word not in text, f"{word} stored in {table.name}"
    engine.dispose()


def test_recording_the_same_file_twice_keeps_one_copy(store_url: str, tmp_path: Path) -> None:
    copy = tmp_path / "again.837"
    shutil.copy(CLAIMS[1], copy)
    run_check([CLAIMS[1]], all_rules(), RuleOptions(), db_url=store_url)
    run_check([str(copy)], all_rules(), RuleOptions(), db_url=store_url)
    engine = open_store(store_url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(m.StoredFile)).scalar() == 1
    engine.dispose()


def test_undecodable_bytes_are_stored_without_failing(store_url: str, tmp_path: Path) -> None:
    raw = (SAMPLES / "01-mohs-clean.837").read_bytes().replace(b"CLM*MOHS-0001", b"CLM*MOHS-\xe90001", 1)
    path = tmp_path / "latin1.837"
    path.write_bytes(raw)
    run_check([str(path)], all_rules(), RuleOptions(), db_url=store_url)
    engine = open_store(store_url)
    with engine.connect() as conn:
        pcns = [r[0] for r in conn.execute(sa.select(m.Claim.patient_control_number))]
    engine.dispose()
    assert "MOHS-\ufffd0001" in pcns


def test_a_payer_splitting_one_trace_over_two_sets_stores_both(store_url: str, tmp_path: Path) -> None:
    """Issue 14: two sets sharing payer and trace inside one file are both stored (this used to
    be refused as a duplicate); the same file again stores nothing."""
    text = (SAMPLES / "01-mohs-paid.835").read_text()
    start, end = text.index("ST*835*"), text.index("\nGE*") + 1
    body = text[start:end]
    second = body.replace("ST*835*0001", "ST*835*0002").replace("*0001~", "*0002~")  # ST02 and SE02
    assert second.count("0002~") == 2
    twice = text[:end] + second + text[end:].replace("GE*1*", "GE*2*", 1)
    path = tmp_path / "twice.835"
    path.write_text(twice)
    [report] = run_ingest([str(path)], store_url)
    assert report.error is None and report.status == "stored" and report.remittances == 2
    [again] = run_ingest([str(path)], store_url)
    assert again.status == "already_stored" and [f.rule for f in again.findings] == ["ERA004", "ERA004"]
    engine = open_store(store_url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(m.Remittance)).scalar() == 2
    engine.dispose()
