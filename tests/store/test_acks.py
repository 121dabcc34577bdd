"""999 and 277CA acknowledgments in the store: linked to the sets and claims sent and to the rule
that explains each rejection; stored once, whole or not at all. On SQLite and on PostgreSQL.

Expectations come from what the samples were built to show (samples/make_samples.py): the
277CA rejects MOHS-0303 (no CLIA number, MOHS017) and MOHS-0304 (CLM02 does not add up, X12002)
of 12-modifier-and-x12-errors.837; the 999 rejects set 0002 of 16-two-sets.837 (MOHS-0702,
whose CLM02 does not add up either) and accepts set 0001.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from mohsedi.acks.synth import AckEnvelope, ClaimAckSpec, build_277ca
from mohsedi.cli.main import cli
from mohsedi.guide.validate import validate_text
from mohsedi.pipeline import run_check, run_denial_report, run_ingest, run_rejection_report
from mohsedi.reports.denials import Period
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.registry import all_rules
from mohsedi.store import models as m
from mohsedi.store.db import open_store
from tests.conftest import SAMPLES

BATCH_12 = str(SAMPLES / "12-modifier-and-x12-errors.837")
TWO_SETS = str(SAMPLES / "16-two-sets.837")
ACK_277 = str(SAMPLES / "22-mohs-x12-errors.277")
ACK_999 = str(SAMPLES / "21-two-sets.999")
ACCEPTED_999 = str(SAMPLES / "20-accepted.999")
ALL = Period(None, None)
ACK_TABLES = (m.Acknowledgment, m.SetStatus, m.SetError, m.ClaimStatusRow)


def counts(url: str) -> dict[str, int]:
    with open_store(url).connect() as conn:
        return {t.__tablename__: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in ACK_TABLES}


def current_claim(conn, pcn: str) -> int:
    return conn.execute(
        sa.select(m.Claim.id).where(m.Claim.patient_control_number == pcn, m.Claim.superseded_by_id.is_(None))
    ).scalar_one()


def test_277ca_rejecting_two_claims_links_both_to_their_claims_and_the_rules_that_fired(store_url: str) -> None:
    run_check([BATCH_12], all_rules(), RuleOptions(), db_url=store_url)
    (report,) = run_ingest([ACK_277], store_url)
    assert (report.kind, report.status, report.error) == ("277CA", "stored", None)
    assert (report.acknowledged, report.rejected) == (4, 2)
    with open_store(store_url).connect() as conn:
        cs = m.ClaimStatusRow.__table__
        rows = {(r.patient_control_number, r.line_id): r for r in conn.execute(sa.select(cs).order_by(cs.c.id))}
        assert set(rows) == {
            ("MOHS-0301", None),
            ("MOHS-0302", None),
            ("MOHS-0303", None),
            ("MOHS-0303", "MOHS-0303-1"),
            ("MOHS-0304", None),
        }
        rejected = {k: (r.category, r.code, r.rule, r.basis) for k, r in rows.items() if r.rejected}
        assert rejected == {
            ("MOHS-0303", None): ("A6", "21", "MOHS017", "fired"),
            ("MOHS-0303", "MOHS-0303-1"): ("A6", "21", "MOHS017", "fired"),
            ("MOHS-0304", None): ("A7", "400", "X12002", "fired"),
        }
        for (pcn, _), r in rows.items():
            assert r.claim_id == current_claim(conn, pcn)
        line = conn.execute(
            sa.select(m.ServiceLine.claim_id, m.ServiceLine.line_id).where(
                m.ServiceLine.id == rows[("MOHS-0303", "MOHS-0303-1")].service_line_id
            )
        ).one()
        assert tuple(line) == (current_claim(conn, "MOHS-0303"), "MOHS-0303-1")
        # Accepted claims carry the payer's claim control number and no rejection basis.
        accepted = rows[("MOHS-0301", None)]
        assert (accepted.category, accepted.rejected, accepted.basis) == ("A2", False, None)
        assert accepted.payer_claim_control_number == "SYNCCN0301"


def test_999_rejecting_one_set_of_a_two_set_file_links_to_that_set(store_url: str) -> None:
    run_check([TWO_SETS], all_rules(), RuleOptions(), db_url=store_url)
    (report,) = run_ingest([ACK_999], store_url)
    assert (report.kind, report.status, report.acknowledged, report.rejected) == ("999", "stored", 2, 1)
    with open_store(store_url).connect() as conn:
        ss, sent = m.SetStatus.__table__, m.SentSet.__table__
        statuses = {
            r.set_control: r
            for r in conn.execute(
                sa.select(
                    ss, sent.c.set_control.label("sent_control"), sent.c.group_control, sent.c.first_ordinal
                ).join(sent, sent.c.id == ss.c.sent_set_id)
            )
        }
        assert set(statuses) == {"0001", "0002"}
        assert all(r.sent_control == r.set_control and r.group_control == "8" for r in statuses.values())
        assert (statuses["0001"].status, statuses["0001"].rejected, statuses["0001"].basis) == ("A", False, None)
        rejected = statuses["0002"]
        assert (rejected.status, rejected.rejected, rejected.rule, rejected.basis) == ("R", True, "X12002", "fired")
        # The set as sent holds MOHS-0702, the claim whose CLM02 does not add up, and only it.
        sent_row = conn.execute(sa.select(sent).where(sent.c.id == rejected.sent_set_id)).one()
        claims = conn.execute(
            sa.select(m.Claim.patient_control_number).where(
                m.Claim.file_id == sent_row.file_id,
                m.Claim.ordinal >= sent_row.first_ordinal,
                m.Claim.ordinal < sent_row.first_ordinal + sent_row.claims,
            )
        ).scalars()
        assert list(claims) == ["MOHS-0702"]
        errors = conn.execute(sa.select(m.SetError.__table__)).all()
        assert [
            (e.segment_id, e.segment_code, e.element_position, e.element_reference, e.element_code) for e in errors
        ] == [("CLM", "8", "02", "782", "I12")]
    # IK302 counts from ST = 1 within set 0002 of the file as sent.
    text = Path(TWO_SETS).read_text()
    segments = [s.strip() for s in text.split("~") if s.strip()]
    start = next(i for i, s in enumerate(segments) if s.startswith("ST*837*0002"))
    clm = next(i for i in range(start, len(segments)) if segments[i].startswith("CLM*"))
    assert errors[0].segment_position == str(clm - start + 1)


def test_the_same_acknowledgment_twice_stores_nothing_new(store_url: str, tmp_path: Path) -> None:
    run_check([BATCH_12, TWO_SETS], all_rules(), RuleOptions(), db_url=store_url)
    first = run_ingest([ACK_277, ACK_999, ACCEPTED_999], store_url)
    assert [r.status for r in first] == ["stored"] * 3
    before = counts(store_url)
    assert before == {"acknowledgment": 3, "set_status": 3, "set_error": 1, "claim_status": 5}
    again = run_ingest([ACK_277, ACK_999, ACCEPTED_999], store_url)
    assert [r.status for r in again] == ["already_stored"] * 3
    assert counts(store_url) == before
    # Re-sent in a new envelope: other ISA13, GS06 and ST02, CRLF line endings.
    text = Path(ACK_277).read_text()
    resent = text.replace("000000203", "000000999").replace("*203*X*", "*999*X*").replace("GE*1*203", "GE*1*999")
    resent = resent.replace("ST*277*0001*", "ST*277*0042*").replace("*0001~\nGE", "*0042~\nGE").replace("\n", "\r\n")
    assert resent != text
    path = tmp_path / "resent.277"
    path.write_bytes(resent.encode())
    (report,) = run_ingest([str(path)], store_url)
    assert (report.status, report.error) == ("already_stored", None)
    assert counts(store_url) == before


def test_an_acknowledgment_cut_short_stores_nothing(store_url: str, tmp_path: Path) -> None:
    text = Path(ACK_277).read_text()
    cut = tmp_path / "cut.277"
    cut.write_text(text[: text.index("SE*")])
    (report,) = run_ingest([str(cut)], store_url)
    assert report.status == "refused" and report.error is not None
    assert "nothing was stored" in report.error.message
    assert counts(store_url) == {"acknowledgment": 0, "set_status": 0, "set_error": 0, "claim_status": 0}
    with open_store(store_url).connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(m.StoredFile)).scalar() == 0


def test_acknowledgments_read_before_the_claims_link_when_the_claims_are_checked(store_url: str) -> None:
    run_ingest([ACK_277, ACK_999], store_url)
    report = run_rejection_report(store_url, ALL)
    assert {r["basis"] for r in report["rejections"]} == {"unexplained"}
    assert not any(r["linked"] for r in report["rejections"])
    run_check([BATCH_12, TWO_SETS], all_rules(), RuleOptions(), db_url=store_url)
    report = run_rejection_report(store_url, ALL)
    assert {(r["kind"], r["claim"], r["rule"], r["basis"]) for r in report["rejections"]} == {
        ("999", None, "X12002", "fired"),
        ("277CA", "MOHS-0303", "MOHS017", "fired"),
        ("277CA", "MOHS-0304", "X12002", "fired"),
    }


def test_a_rule_not_run_at_check_time_predicts_and_an_undeclared_status_stays_unexplained(
    store_url: str, tmp_path: Path
) -> None:
    without_clia = [r for r in all_rules() if r.code != "MOHS017"]
    run_check([BATCH_12], without_clia, RuleOptions(), db_url=store_url)
    path = tmp_path / "other.277"
    path.write_text(
        build_277ca(
            [
                ClaimAckSpec("MOHS-0303", Decimal("742.80"), "A6:21:85"),
                # No rule declares an A8 rejection: the queue for new rules.
                ClaimAckSpec("MOHS-0301", Decimal("1485.60"), "A8:562:85"),
            ],
            AckEnvelope(interchange_control=301, group_control=301),
        )
    )
    run_ingest([str(path)], store_url)
    report = run_rejection_report(store_url, ALL)
    got = {r["claim"]: (r["status"], r["rule"], r["basis"]) for r in report["rejections"]}
    assert got == {"MOHS-0303": ("A6:21", "MOHS017", "predicted"), "MOHS-0301": ("A8:562", None, "unexplained")}
    assert [r["claim"] for r in report["unexplained"]] == ["MOHS-0301"]


def test_rejection_report_counts_each_rejection_once(store_url: str) -> None:
    run_check([BATCH_12, TWO_SETS], all_rules(), RuleOptions(), db_url=store_url)
    run_ingest([ACK_277, ACK_999, ACCEPTED_999], store_url)
    report = run_rejection_report(store_url, ALL)
    # Hand count: 999s acknowledge 1 + 2 sets, one rejected (MOHS-0702, CLM02 900.00); the 277CA
    # 4 claims, two rejected: MOHS-0303 (one 17311, 742.80) and MOHS-0304 (CLM02 1400.00), the
    # rejected line of MOHS-0303 not counted again.
    t = report["totals"]
    assert (t["acknowledged"], t["rejected"]) == (7, 3)
    assert (t["sets_acknowledged"], t["sets_rejected"], t["claims_acknowledged"], t["claims_rejected"]) == (3, 1, 4, 2)
    assert t["amount_rejected"] == "3042.80"
    assert sum(Decimal(r["amount"]) for r in report["rejections"]) == Decimal("3042.80")
    assert {r["rule"]: (r["count"], r["amount"]) for r in report["by_rule"]} == {
        "X12002": (2, "2300.00"),
        "MOHS017": (1, "742.80"),
    }
    by_file = {
        (r["file"], r["kind"]): (r["acknowledged"], r["rejected"], r["rejection_rate"]) for r in report["by_file"]
    }
    assert by_file == {
        (BATCH_12, "277CA"): (4, 2, "50.0%"),
        (BATCH_12, "999"): (1, 0, "0.0%"),
        (TWO_SETS, "999"): (2, 1, "50.0%"),
    }
    assert {(r["kind"], r["status"]): r["count"] for r in report["by_status"]} == {
        ("277CA", "A6:21"): 1,
        ("277CA", "A7:400"): 1,
        ("999", "R"): 1,
    }
    assert next(r for r in report["by_status"] if r["status"] == "A6:21")["description"].endswith(
        "rejected for missing information"
    )
    denials = run_denial_report(store_url, ALL)
    assert denials["front_end_rejections"]["totals"] == t


def test_report_rejections_command_in_every_format(store_url: str, tmp_path: Path) -> None:
    run_check([BATCH_12, TWO_SETS], all_rules(), RuleOptions(), db_url=store_url)
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", ACK_277, ACK_999, "--db", store_url, "--format", "json"])
    assert result.exit_code == 0, result.output
    files = json.loads(result.output)["files"]
    assert [(f["kind"], f["status"], f["acknowledged"], f["rejected"]) for f in files] == [
        ("277CA", "stored", 4, 2),
        ("999", "stored", 2, 1),
    ]
    result = runner.invoke(cli, ["report", "rejections", "--db", store_url, "--format", "json"])
    data = json.loads(result.output)
    assert set(data) >= {"period", "rejections", "by_rule", "totals"}
    assert data["totals"]["acknowledged"] == 6 and data["totals"]["rejected"] == 3
    row = next(r for r in data["rejections"] if r["claim"] == "MOHS-0303")
    assert (row["kind"], row["status"], row["amount"], row["rule"], row["basis"]) == (
        "277CA",
        "A6:21",
        "742.80",
        "MOHS017",
        "fired",
    )
    result = runner.invoke(cli, ["report", "rejections", "--db", store_url, "--format", "csv"])
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("kind,payer,claim,set,status")
    assert len(lines) == 1 + 3
    result = runner.invoke(cli, ["report", "rejections", "--db", store_url, "--format", "table"])
    assert "MOHS017" in result.output and "unexplained" in result.output.lower()
    out = tmp_path / "r.html"
    result = runner.invoke(cli, ["report", "rejections", "--db", store_url, "--format", "html", "-o", str(out), "-q"])
    assert result.exit_code == 0
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "MOHS-0303" in html and "<script" not in html
    # The denial report ends with the same rejections, in every format.
    result = runner.invoke(cli, ["report", "denials", "--db", store_url, "--format", "table"])
    tail = result.output[result.output.index("Front-end rejections (999, 277CA)") :]
    assert "MOHS017" in tail and "A6:21" in tail
    result = runner.invoke(cli, ["report", "denials", "--db", store_url, "--format", "json"])
    assert json.loads(result.output)["front_end_rejections"]["totals"]["rejected"] == 3
    out = tmp_path / "d.html"
    runner.invoke(cli, ["report", "denials", "--db", store_url, "--format", "html", "-o", str(out), "-q"])
    assert "Front-end rejections: by rule" in out.read_text()


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.999")) + sorted(SAMPLES.glob("*.277")), ids=lambda p: p.name)
def test_pyx12_validates_every_sample_acknowledgment(path: Path) -> None:
    result = validate_text(path.read_text())
    assert result.failure is None
    assert result.errors == ()
    assert result.valid
